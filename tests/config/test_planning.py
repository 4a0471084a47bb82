"""build_plan: a pure, serialisable plan with the right owners, modes, state and commands."""

from __future__ import annotations

import json

import pytest
from certs import make_chain
from configtest_support import fixture_text

from core.config.errors import ConfigValidationError, SettingsError
from core.config.planning import (
    build_plan,
    default_paths,
    edge_ca_state_files,
    plan_diff,
    store_file_name,
)
from core.config.settings import AutoRenew, CertSettings, Issued, Pkcs11, Preloaded, Quickstart
from core.config.uris import file_uri
from core.errors import DevicePathError, UsageError
from core.plan import EnsureDir, ReadableBy
from core.versions import release

R15, R11 = release("1.5"), release("1.1")
MINIMAL = (b'[provisioning]\nsource = "manual"\n'
           b'connection_string = "HostName=h;DeviceId=d;SharedAccessKey=a2V5"\n')


@pytest.fixture(scope="module")
def chain() -> tuple[bytes, bytes, bytes]:
    """A real root → edge CA chain: (edge CA full chain, edge CA key, root)."""
    chain = make_chain()
    return chain.edge_ca_full_chain, chain.edge_ca_key, chain.root


def _preloaded(platform: str = "linux") -> CertSettings:
    paths = default_paths(R11 if platform == "windows" else R15, platform)  # type: ignore[arg-type]
    return CertSettings(Preloaded(file_uri(paths.edge_ca_cert), file_uri(paths.edge_ca_key)),
                        file_uri(paths.trust_bundle))


def test_state_file_names_match_the_runtime() -> None:
    # Values from the identity service's naming rule (facts §8.2).
    assert store_file_name("aziot-edged-ca", "cer") == (
        "aziotedgedca-86f154be7ff14480027f0d00c59c223db6d9e4ab0b559fc523cca36a7c973d6d.cer")
    assert store_file_name("aziot-edged-ca-temp", "key") == (
        "aziotedgedcatemp-ed813d17744064fc9d91ff2fda86284470de6c3f9a63d7b9ce987c5e978bbb39.key")
    files = edge_ca_state_files()
    assert len(files) == 4
    assert all(f.startswith(("/var/lib/aziot/certd/certs/aziotedgedca",
                             "/var/lib/aziot/keyd/keys/aziotedgedca")) for f in files)


def test_linux_1_5_preloaded_plan(chain: tuple[bytes, bytes, bytes]) -> None:
    cert, key, root = chain
    current = fixture_text("dps-x509.toml").encode()
    plan = build_plan(release=R15, platform="linux", settings=_preloaded(),
                      current_config=current, edge_ca_cert=cert, edge_ca_key=key,
                      trust_bundle=root)
    assert plan.dirs == (EnsureDir("/var/aziot", 0o755, "root", "root"),
                         EnsureDir("/var/aziot/certs", 0o755, "aziotcs", "aziotcs"),
                         EnsureDir("/var/aziot/secrets", 0o700, "aziotks", "aziotks"))
    by_role = {f.role: f for f in plan.files}
    assert (by_role["edge-ca-key"].path, by_role["edge-ca-key"].mode,
            by_role["edge-ca-key"].owner, by_role["edge-ca-key"].secret) == (
        "/var/aziot/secrets/edge-ca.key.pem", 0o600, "aziotks", True)
    for role in ("edge-ca-cert", "trust-bundle"):
        assert (by_role[role].mode, by_role[role].owner, by_role[role].group,
                by_role[role].secret) == (0o644, "aziotcs", "aziotcs", False)
    assert by_role["edge-ca-cert"].data == cert
    cfg = plan.config
    assert (cfg.path, cfg.mode, cfg.owner, cfg.group) == ("/etc/aziot/config.toml", 0o600,
                                                          "root", "root")
    assert cfg.before == current and cfg.changed
    assert b'cert = "file:///var/aziot/certs/edge-ca.pem"' in cfg.after
    assert plan.clear.files == edge_ca_state_files() and plan.clear.dir_contents == ()
    assert [c.argv for c in plan.apply] == [
        ("iotedge", "config", "apply", "-c", "/etc/aziot/config.toml")]
    assert plan.apply[0].sudo
    assert [c.argv for c in plan.check] == [("iotedge", "check", "--verbose", "-o", "json")]
    assert {"certs-preloaded", "certs-match-private-keys", "key-pairs-read"} <= set(
        plan.check_ids)
    assert ReadableBy("/var/aziot/secrets/edge-ca.key.pem", "aziotks") in plan.readable
    assert ReadableBy("/var/aziot/certs/trust-bundle.pem", "aziotcs") in plan.readable

    # Serialisable, and no key material in the JSON or the diff.
    text = json.dumps(plan.to_dict())
    assert "PRIVATE KEY" not in text and key.decode()[40:80] not in text
    assert "PRIVATE KEY" not in repr(plan)
    diff = plan_diff(plan)
    assert diff.startswith("--- /etc/aziot/config.toml (device)\n")
    assert "+[edge_ca]" not in diff  # edited in place: the header already existed
    assert '+cert = "file:///var/aziot/certs/edge-ca.pem"' in diff


def test_unchanged_quickstart_clears_nothing() -> None:
    settings = CertSettings(Quickstart(90), auto_renew=AutoRenew())
    current = fixture_text("dps-x509.toml").encode()
    plan = build_plan(release=R15, platform="linux", settings=settings, current_config=current)
    assert not plan.config.changed
    assert plan.files == () and plan.dirs == ()
    assert plan.clear.files == () and plan.clear.dir_contents == ()
    assert any("not for production" in w for w in plan.warnings)
    changed = build_plan(release=R15, platform="linux", settings=CertSettings(
        Quickstart(30), auto_renew=AutoRenew()), current_config=current)
    assert changed.clear.files == edge_ca_state_files()  # a new lifetime needs a new CA


def test_no_config_yet_uses_device_template_but_cannot_deploy_without_provisioning() -> None:
    template = fixture_text("template-1.5.toml").encode()
    with pytest.raises(ConfigValidationError, match="provisioning") as info:
        build_plan(release=R15, platform="eflow", settings=CertSettings(Quickstart(30)),
                   current_config=None, template=template)
    assert "iotedge config mp" in info.value.hint
    with pytest.raises(UsageError, match="always has one"):
        build_plan(release=R11, platform="linux", settings=CertSettings(Quickstart(30)),
                   current_config=None)


def test_pkcs11_key_is_not_a_file(chain: tuple[bytes, bytes, bytes]) -> None:
    cert, _, root = chain
    settings = CertSettings(Preloaded("file:///var/aziot/certs/edge-ca.pem",
                                      "pkcs11:token=edge;object=edge%20ca"),
                            "file:///var/aziot/certs/trust-bundle.pem",
                            pkcs11=Pkcs11("/usr/lib/softhsm/libsofthsm2.so"))
    plan = build_plan(release=R15, platform="linux", settings=settings,
                      current_config=fixture_text("pkcs11.toml").encode(), edge_ca_cert=cert,
                      trust_bundle=root)
    assert {f.role for f in plan.files} == {"edge-ca-cert", "trust-bundle"}
    assert [d.path for d in plan.dirs] == ["/var/aziot", "/var/aziot/certs"]
    assert any("HSM" in w for w in plan.warnings)


def test_legacy_linux_plan(chain: tuple[bytes, bytes, bytes]) -> None:
    cert, key, root = chain
    plan = build_plan(release=R11, platform="linux", settings=_preloaded(),
                      current_config=fixture_text("legacy-1.1.yaml").encode(),
                      edge_ca_cert=cert, edge_ca_key=key, trust_bundle=root)
    assert plan.config.path == "/etc/iotedge/config.yaml"
    assert plan.config.owner == "iotedge"
    assert b"device_ca_pk: \"file:///var/aziot/secrets/edge-ca.key.pem\"" in plan.config.after
    assert {(d.path, d.owner) for d in plan.dirs} == {
        ("/var/aziot", "root"), ("/var/aziot/certs", "iotedge"), ("/var/aziot/secrets", "iotedge")}
    assert all(f.owner == "iotedge" for f in plan.files)
    assert {r.user for r in plan.readable} == {"iotedge"}
    assert plan.clear.files == ()
    assert plan.clear.dir_contents == ("/var/lib/iotedge/hsm/certs",
                                       "/var/lib/iotedge/hsm/cert_keys")
    assert [c.argv for c in plan.apply] == [("systemctl", "restart", "iotedge")]
    assert "certificates-quickstart" in plan.check_ids


def test_legacy_windows_plan(chain: tuple[bytes, bytes, bytes]) -> None:
    cert, key, root = chain
    plan = build_plan(release=R11, platform="windows", settings=_preloaded("windows"),
                      current_config=fixture_text("legacy-windows-crlf.yaml").encode(),
                      edge_ca_cert=cert, edge_ca_key=key, trust_bundle=root)
    assert plan.config.path == "C:\\ProgramData\\iotedge\\config.yaml"
    assert {f.path for f in plan.files} == {
        "C:\\ProgramData\\iotedge\\certs\\edge-ca.pem",
        "C:\\ProgramData\\iotedge\\secrets\\edge-ca.key.pem",
        "C:\\ProgramData\\iotedge\\certs\\trust-bundle.pem"}
    assert plan.apply[0].argv[0] == "powershell" and "Restart-Service iotedge" in plan.apply[0].argv
    assert not plan.apply[0].sudo
    assert plan.clear.dir_contents[0] == "C:\\ProgramData\\iotedge\\hsm\\certs"
    assert b"\r\n" in plan.config.after and b"file:///C:/ProgramData/iotedge/certs/edge-ca.pem" in (
        plan.config.after)


def test_refusals(chain: tuple[bytes, bytes, bytes]) -> None:
    cert, key, root = chain
    with pytest.raises(UsageError, match="does not run on windows"):
        build_plan(release=R15, platform="windows", settings=_preloaded(), current_config=None)
    with pytest.raises(UsageError, match="do not use one"):
        build_plan(release=R15, platform="linux", settings=CertSettings(Quickstart(30)),
                   current_config=MINIMAL, edge_ca_key=key)
    system = CertSettings(Preloaded("file:///etc/edge-ca.pem", "file:///etc/edge-ca.key"))
    with pytest.raises(DevicePathError, match=r"outside the folders of IoT Edge 1\.5"):
        build_plan(release=R15, platform="linux", settings=system, current_config=MINIMAL,
                   edge_ca_cert=cert, edge_ca_key=key)
    aziot = CertSettings(Preloaded("file:///etc/aziot/edge-ca.pem", "file:///etc/aziot/k.pem"))
    with pytest.raises(UsageError, match="system directory"):
        build_plan(release=R15, platform="linux", settings=aziot, current_config=MINIMAL,
                   edge_ca_cert=cert, edge_ca_key=key)
    with pytest.raises(UsageError, match="empty"):
        build_plan(release=R15, platform="linux", settings=_preloaded(), current_config=MINIMAL,
                   edge_ca_cert=b"  \n", edge_ca_key=key, trust_bundle=root)
    with pytest.raises(SettingsError):
        build_plan(release=R11, platform="linux", settings=CertSettings(Issued("est")),
                   current_config=fixture_text("legacy-1.1.yaml").encode())


def test_validation_errors_stop_the_plan() -> None:
    current = (b'hostname = "edge-1"\n[provisioning]\nsource = "manual"\n'
               b'connection_string = "HostName=h;DeviceId=d;SharedAccessKey=a2V5"\n')
    with pytest.raises(ConfigValidationError) as info:
        build_plan(release=R15, platform="linux", settings=CertSettings(
            Issued("self_signed", common_name="edge-1")), current_config=current)
    assert "common name" in info.value.findings[0].message  # type: ignore[attr-defined]
    renew = CertSettings(Issued("self_signed", expiry_days=90),
                         auto_renew=AutoRenew(True, "400day", "1day"))
    with pytest.raises(ConfigValidationError, match="lifetime"):
        build_plan(release=R15, platform="linux", settings=renew, current_config=current)


def test_cert_and_key_in_one_directory_keep_it_root_owned(
        chain: tuple[bytes, bytes, bytes]) -> None:
    cert, key, _ = chain
    settings = CertSettings(Preloaded("file:///opt/edge/ca.pem", "file:///opt/edge/ca.key"))
    plan = build_plan(release=R15, platform="linux", settings=settings, current_config=MINIMAL,
                      edge_ca_cert=cert, edge_ca_key=key, device_folders=("/opt/edge",))
    assert plan.dirs == (EnsureDir("/opt/edge", 0o755, "root", "root"),)


def test_missing_local_files_are_warned_about() -> None:
    plan = build_plan(release=R15, platform="linux", settings=_preloaded(),
                      current_config=MINIMAL)
    assert plan.files == ()
    assert sum("must already be on the device" in w for w in plan.warnings) == 3
