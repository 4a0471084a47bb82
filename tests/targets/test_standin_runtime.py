"""The stand-in IoT Edge runtime on the test device rejects what the runtime rejects (facts doc).

Every rejection class it claims is exercised here, next to an accepted twin, so a stand-in that
accepted everything (or nothing) fails.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache

import pytest
from certs import Ca, Key, ec_key, key_pem, make_cert, pem
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from device.fixtures import Device
from device.layouts import CONFIG_TOML, CONFIG_YAML

pytestmark = pytest.mark.device  # the loopback sshd device; never skipped in CI

CERT = "/var/aziot/certs/edge-ca.pem"
KEY = "/var/aziot/secrets/edge-ca.key.pem"
ROOT = "/var/aziot/certs/root.pem"
PRELOADED = (f'trust_bundle_cert = "file://{ROOT}"\n' + CONFIG_TOML
             + f'\n[edge_ca]\ncert = "file://{CERT}"\npk = "file://{KEY}"\n')


@dataclass(frozen=True)
class Pems:
    cert: bytes
    key: bytes
    root: bytes


@cache
def _root() -> Ca:
    now = dt.datetime.now(dt.UTC)
    return make_cert("test root", pathlen=1, not_before=now - dt.timedelta(days=1),
                     not_after=now + dt.timedelta(days=900))


@cache
def chain(kind: str = "ec", days: int = 365, start_days: int = -1) -> Pems:
    """An Edge CA (full chain) signed by the test root: ``kind`` ec | rsa1024 | k1."""
    key: Key
    if kind == "rsa1024":
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the weak key under test)
    elif kind == "k1":
        key = ec.generate_private_key(ec.SECP256K1())
    else:
        key = ec_key()
    now = dt.datetime.now(dt.UTC)
    root = _root()
    edge = make_cert("edge-device-01.ca", issuer=root, key=key, pathlen=0,
                     not_before=now + dt.timedelta(days=start_days),
                     not_after=now + dt.timedelta(days=days))
    return Pems(pem(edge.cert) + pem(root.cert), key_pem(key), pem(root.cert))


def install(device: Device, pems: Pems, *, cert_owner: str = "aziotcs",
            key_owner: str = "aziotks") -> None:
    """The 2023 docs' layout (facts §7): certs 644 aziotcs, secrets 700/600 aziotks."""
    device.sh("install -d -m 755 /var/aziot && "
              "install -d -m 755 -o aziotcs -g aziotcs /var/aziot/certs && "
              "install -d -m 700 -o aziotks -g aziotks /var/aziot/secrets")
    device.write(CERT, pems.cert, mode=0o644, owner=cert_owner)
    device.write(ROOT, pems.root, mode=0o644, owner=cert_owner)
    device.write(KEY, pems.key, mode=0o600, owner=key_owner)


def config(device: Device, text: str) -> None:
    device.write("/etc/aziot/config.toml", text.encode(), mode=0o600)


def apply(device: Device) -> tuple[int, str]:
    res = device.sh("iotedge config apply", check=False)
    return res.returncode, (res.stdout + res.stderr).decode()


def check(device: Device) -> tuple[int, dict[str, dict[str, object]]]:
    res = device.sh("iotedge check --verbose -o json", check=False)
    return res.returncode, json.loads(res.stdout)["checks"]


# ---- config apply: accepted shapes ------------------------------------------------------------


def test_preloaded_apply_writes_daemon_configs(device15: Device) -> None:
    install(device15, chain())
    config(device15, PRELOADED)
    code, out = apply(device15)
    assert code == 0, out
    assert "configured successfully" in out
    owners = {"keyd": "aziotks", "certd": "aziotcs", "identityd": "aziotid",
              "tpmd": "aziottpm", "edged": "iotedge"}
    for svc, owner in owners.items():
        path = f"/etc/aziot/{svc}/config.d/00-super.toml"
        assert device15.stat(path) == (0o600, owner, owner)
        assert device15.read(path).startswith(b"# This file is auto-generated")
    certd = device15.read("/etc/aziot/certd/config.d/00-super.toml").decode()
    assert f'"aziot-edged-ca" = "file://{CERT}"' in certd
    assert f'"trust-bundle-user" = "file://{ROOT}"' in certd
    [last] = [e for e in device15.events() if e["event"] == "apply"][-1:]
    assert last["ok"] is True and last["variant"] == "preloaded" and last["euid"] == 0
    code, checks = check(device15)
    assert code == 0, checks
    for cid in ("certs-preloaded", "certs-read", "key-pairs-read", "certs-match-private-keys",
                "configs-up-to-date", "hostname"):
        assert checks[cid] == {"result": "ok", "additional_info": None}, cid


def test_apply_through_ssh_sudo_with_password(device15: Device) -> None:
    install(device15, chain())
    config(device15, PRELOADED)
    with device15.connect("pwadmin") as t:
        res = t.run(["iotedge", "config", "apply"], sudo=True)
        assert "configured successfully" in res.stdout
        assert t.run(["iotedge", "version"]).stdout == "iotedge 1.5.21 (stand-in)\n"
        denied = t.run(["iotedge", "config", "apply"], check=False)
    assert denied.exit_status == 1 and "must be run as root" in denied.stderr


@pytest.mark.parametrize("edge_ca", [
    "auto_generated_edge_ca_expiry_days = 30\n[edge_ca.auto_renew]\nrotate_key = true\n"
    'threshold = "80%"\nretry = "4%"',
    'auto_generated_edge_ca_expiry_days = 30\n[edge_ca.auto_renew]\nrotate_key = true\n'
    'threshold = "4day"\nretry = "+10min"',
    'method = "self_signed"\nexpiry_days = 90',
    'method = "local_ca"\n[cert_issuance.local_ca]\ncert = "file:///x"\npk = "file:///y"',
])
def test_accepted_variants(device15: Device, edge_ca: str) -> None:
    config(device15, CONFIG_TOML + "\n[edge_ca]\n" + edge_ca + "\n")
    code, out = apply(device15)
    assert code == 0, out


# ---- config apply: rejections -----------------------------------------------------------------


@pytest.mark.parametrize(("threshold", "message"), [
    ('"4d"', "bad units for policy"),
    ('"10m"', "bad units for policy"),
    ('"10Min"', "bad units for policy"),
    ('"4days"', "policy could not be parsed as number"),  # 's' is popped as the unit
    ('"100%"', "lifetime percentage must be less than 100"),
    ('"0%"', "renewal policy values must be positive"),
    ('"-5%"', "renewal policy values must be positive"),
    ('"1.5%"', "policy could not be parsed as number"),
    ('" 80%"', "policy could not be parsed as number"),
    ('""', "policy not specified"),
    ("80", "expected a string"),
])
def test_bad_renewal_strings(device15: Device, threshold: str, message: str) -> None:
    # The runtime's parser (rtcfg) names the policy error where the table is not inside an
    # untagged enum; in [edge_ca] every mistake surfaces as "did not match any variant".
    config(device15, CONFIG_TOML + "\n[cert_issuance.est.identity_auto_renew]\nrotate_key = true\n"
           f'threshold = {threshold}\nretry = "4%"\n')
    before = device15.snapshot("/etc/aziot/certd")
    code, out = apply(device15)
    assert code == 1 and message in out, out
    assert device15.snapshot("/etc/aziot/certd") == before  # nothing written
    config(device15, CONFIG_TOML + "\n[edge_ca]\nauto_generated_edge_ca_expiry_days = 30\n"
           f'[edge_ca.auto_renew]\nrotate_key = true\nthreshold = {threshold}\nretry = "4%"\n')
    code, out = apply(device15)
    assert code == 1 and "did not match any variant of untagged enum EdgeCa" in out, out
    assert device15.snapshot("/etc/aziot/certd") == before


@pytest.mark.parametrize(("edge_ca", "message"), [
    ('[edge_ca.auto_renew]\nrotate_key = true\nthreshold = "80%"\nretry = "4%"',
     "did not match any variant"),
    ("[edge_ca]", "did not match any variant"),
    ('[edge_ca]\nauto_generated_edge_ca_expiry_days = 30\n[edge_ca.auto_renew]\n'
     'rotate_key = true\nthreshold = "80%"', "did not match any variant"),
    ('[edge_ca]\nmethod = "self_signed"\nexpiry_days = 0', "did not match any variant"),
    ("[edge_ca]\nauto_generated_edge_ca_expiry_days = 0", "expiry_days must be greater than 0"),
    ('[edge_ca]\nmethod = "selfsigned"', "did not match any variant"),
    ('[edge_ca]\nmethod = "local_ca"', "requires [cert_issuance.local_ca]"),
    (f'[edge_ca]\ncert = "file://{CERT}"', "did not match any variant"),
    ('[edge_ca]\ncert = "https://example.org/ca.pem"\npk = "file:///k"',
     'unrecognized scheme "https"'),
    (f'[edge_ca]\ncert = "{CERT}"\npk = "file:///k"', "did not match any variant"),
    ('[cert_issuance.est]\ntrusted_certs = ["/var/aziot/certs/est.pem"]', "relative URL"),
    (f'[edge_ca]\ncert = "file://{CERT}"\npk = "pkcs11:slot-id=0;object=edge%20ca"',
     "requires PKCS#11 lib path"),
    (f'[aziot_keys]\npkcs11_lib_path = "/usr/lib/p11.so"\n[edge_ca]\ncert = "file://{CERT}"\n'
     'pk = "pkcs11:object=edge%20ca"', "neither [slot-id] nor [token]"),
    ('[edge_ca]\ncert = "file:///var/aziot/certs/missing.pem"\npk = "file:///k"',
     "No such file or directory"),
])
def test_bad_edge_ca_shapes(device15: Device, edge_ca: str, message: str) -> None:
    install(device15, chain())
    config(device15, CONFIG_TOML + "\n" + edge_ca + "\n")
    code, out = apply(device15)
    assert code == 1 and message in out, out


def test_pkcs11_key_with_lib_path_accepted(device15: Device) -> None:
    install(device15, chain())
    config(device15, CONFIG_TOML + '\n[aziot_keys]\npkcs11_lib_path = "/usr/lib/p11.so"\n'
           f'[edge_ca]\ncert = "file://{CERT}"\npk = "pkcs11:slot-id=0;object=edge%20ca"\n')
    assert apply(device15)[0] == 0


def test_missing_provisioning(device15: Device) -> None:
    config(device15, 'hostname = "edge-device-01"\n')
    code, out = apply(device15)
    assert code == 1 and "missing field `provisioning`" in out


def test_not_toml(device15: Device) -> None:
    config(device15, CONFIG_TOML + "\n[edge_ca\n")
    code, out = apply(device15)
    assert code == 1 and "could not parse config file" in out


def test_key_not_matching_cert(device15: Device) -> None:
    install(device15, chain())
    device15.write(KEY, chain("ec", 366).key, mode=0o600, owner="aziotks")
    config(device15, PRELOADED)
    code, out = apply(device15)
    assert code == 1 and "does not match certificate" in out


@pytest.mark.parametrize(("setup", "path", "user"), [
    ("chmod 750 /var/aziot", "/var/aziot", "aziotcs"),
    ("chown root:root /var/aziot/certs && chmod 751 /var/aziot/certs", "/var/aziot/certs",
     "aziotcs"),
    # group-readable by aziotks: aziotcs is a member, but only the PRIMARY group counts (§6.2)
    (f"chown root:aziotks {CERT} && chmod 640 {CERT}", CERT, "aziotcs"),
    ("chown root:root /var/aziot/secrets", "/var/aziot/secrets", "aziotks"),
    (f"chown root:root {KEY}", KEY, "aziotks"),
])
def test_unreadable_for_service_users(device15: Device, setup: str, path: str,
                                      user: str) -> None:
    install(device15, chain())
    device15.sh(setup)
    config(device15, PRELOADED)
    code, out = apply(device15)
    assert code == 1
    assert f"{path} is not readable by user {user}" in out
    assert "aka.ms/iotedge/cert-permissions" in out


def test_group_modes_of_the_2022_docs_pass(device15: Device) -> None:
    install(device15, chain())
    device15.sh(f"chown root:aziotks {KEY} && chmod 440 {KEY} && chmod 755 /var/aziot/secrets "
                f"&& chown root:aziotcs {CERT} && chmod 444 {CERT}")
    config(device15, PRELOADED)
    assert apply(device15)[0] == 0


def test_forced_failure_knob_and_non_root(device15: Device) -> None:
    install(device15, chain())
    config(device15, PRELOADED)
    device15.fail_next_apply("stand-in: apply broken for rollback test")
    code, out = apply(device15)
    assert code == 1 and "apply broken for rollback test" in out
    assert f"file://{CERT}".encode() not in device15.read(
        "/etc/aziot/certd/config.d/00-super.toml")
    device15.fail_apply_off()
    res = device15.sh("iotedge config apply", user="edgeadmin", check=False)
    assert res.returncode == 1 and b"must be run as root" in res.stderr
    assert apply(device15)[0] == 0


# ---- check ------------------------------------------------------------------------------------


def _deployed(device: Device, pems: Pems) -> tuple[int, dict[str, dict[str, object]]]:
    install(device, pems)
    config(device, PRELOADED)
    code, out = apply(device)
    assert code == 0, out
    return check(device)


@pytest.mark.parametrize(("pems", "cid", "result", "detail"), [
    (chain("rsa1024"), "key-pairs-read", "warning", "RSA 1024-bit"),
    (chain("k1"), "key-pairs-read", "warning", "recommended: P-256"),
    (chain("ec", 3), "certs-preloaded", "warning", "expires in"),
    (chain("ec", -1, -30), "certs-preloaded", "error", "expired"),
    (chain("ec", 90, 5), "certs-preloaded", "error", "not yet valid"),
])
def test_check_reports(device15: Device, pems: Pems, cid: str, result: str,
                       detail: str) -> None:
    code, checks = _deployed(device15, pems)
    assert checks[cid]["result"] == result
    assert any(detail in d for d in checks[cid]["details"])  # type: ignore[attr-defined]
    assert code == (1 if result == "error" else 0)


def test_check_mismatch_unreadable_stale_and_hostname(device15: Device) -> None:
    code, checks = _deployed(device15, chain())
    assert code == 0
    device15.write(KEY, chain("ec", 367).key, mode=0o600, owner="aziotks")
    code, checks = check(device15)
    assert code == 1 and checks["certs-match-private-keys"]["result"] == "error"
    device15.sh("chown root:root /var/aziot/certs && chmod 700 /var/aziot/certs")
    code, checks = check(device15)
    assert checks["certs-preloaded"]["result"] == "error"
    assert "not readable by user aziotcs" in str(checks["certs-preloaded"]["details"])
    device15.sh("chown aziotcs:aziotcs /var/aziot/certs && chmod 755 /var/aziot/certs")
    config(device15, PRELOADED.replace('hostname = "edge-device-01"', 'hostname = "other"'))
    code, checks = check(device15)
    assert checks["configs-up-to-date"]["result"] == "warning"
    assert checks["hostname"]["result"] == "ok"  # identityd still has the applied name
    install(device15, chain())
    assert apply(device15)[0] == 0
    code, checks = check(device15)
    assert checks["configs-up-to-date"]["result"] == "ok"
    assert checks["hostname"]["result"] == "error" and code == 1


def test_check_output_forms(device15: Device) -> None:
    stream = device15.sh("iotedge check -o json-stream").stdout.decode().splitlines()
    kinds = [json.loads(line)["kind"] for line in stream]
    assert kinds[0] == "additional_info" and "check" in kinds
    text = device15.sh("iotedge check").stdout.decode()
    assert "preloaded certificates are valid - OK" in text
    bad = device15.sh("iotedge check -o yaml", check=False)
    assert bad.returncode == 2


# ---- 1.1 --------------------------------------------------------------------------------------


def _yaml_with_certs(cert: str = CERT, key: str = KEY, trusted: str | None = ROOT) -> str:
    block = (f'certificates:\n  device_ca_cert: "file://{cert}"\n'
             f'  device_ca_pk: "file://{key}"\n')
    if trusted is not None:
        block += f'  trusted_ca_certs: "file://{trusted}"\n'
    return CONFIG_YAML.replace("hostname:", block + "\nhostname:")


def _restart(device: Device) -> tuple[int, str]:
    res = device.sh("systemctl restart iotedge", check=False)
    return res.returncode, (res.stdout + res.stderr).decode()


def test_11_restart_with_own_certs(device11: Device) -> None:
    install(device11, chain(), cert_owner="iotedge", key_owner="iotedge")
    device11.sh("chown iotedge /var/aziot/secrets")
    device11.write("/etc/iotedge/config.yaml", _yaml_with_certs().encode())
    assert _restart(device11) == (0, "")
    assert device11.sh("systemctl is-active iotedge").stdout == b"active\n"
    res = device11.sh("iotedge check -o json")
    checks = json.loads(res.stdout)["checks"]
    assert checks["certificates-quickstart"]["result"] == "ok"
    assert res.returncode == 0
    assert device11.sh("iotedge config apply", check=False).returncode == 2


def test_11_partial_triple_is_quickstart(device11: Device) -> None:
    device11.write("/etc/iotedge/config.yaml", _yaml_with_certs(trusted=None).encode())
    assert _restart(device11)[0] == 0
    assert device11.events()[-1]["quickstart"] is True
    checks = json.loads(device11.sh("iotedge check -o json").stdout)["checks"]
    assert checks["certificates-quickstart"]["result"] == "warning"


@pytest.mark.parametrize(("pems", "setup", "message"), [
    (chain("ec", 365 * 30), "", "Unsupported 'not after' time format"),
    (chain("ec", 365 * 15), "touch /etc/iotedge-standin/time32", "32-bit time_t"),
    (chain(), "chmod 700 /var/aziot/certs && chown root /var/aziot/certs",
     "not readable by user iotedge"),
    (chain(), "stand-in: forced", "stand-in: forced"),
])
def test_11_restart_failures(device11: Device, pems: Pems, setup: str, message: str) -> None:
    install(device11, pems, cert_owner="root", key_owner="iotedge")
    device11.sh("chown iotedge /var/aziot/secrets")
    if setup.startswith("stand-in"):
        device11.fail_next_apply(setup)
    elif setup:
        device11.sh(setup)
    device11.write("/etc/iotedge/config.yaml", _yaml_with_certs().encode())
    code, out = _restart(device11)
    assert code == 1 and "iotedge.service failed" in out
    assert message in str(device11.events()[-1]["error"])
    assert device11.sh("systemctl is-active iotedge", check=False).returncode == 3


def test_11_time32_accepts_chain_before_2038(device11: Device) -> None:
    install(device11, chain("ec", 365 * 5), cert_owner="iotedge", key_owner="iotedge")
    device11.sh("chown iotedge /var/aziot/secrets && touch /etc/iotedge-standin/time32")
    device11.write("/etc/iotedge/config.yaml", _yaml_with_certs().encode())
    assert _restart(device11)[0] == 0


def test_11_key_mismatch(device11: Device) -> None:
    install(device11, chain(), cert_owner="iotedge", key_owner="iotedge")
    device11.write(KEY, chain("ec", 368).key, mode=0o600, owner="iotedge")
    device11.sh("chown iotedge /var/aziot/secrets")
    device11.write("/etc/iotedge/config.yaml", _yaml_with_certs().encode())
    code, _out = _restart(device11)
    assert code == 1 and "does not match" in str(device11.events()[-1]["error"])
