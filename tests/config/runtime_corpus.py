"""Generated settings × existing configs, and edgecert's verdict next to the runtime's.

The strategies draw the device's current ``config.toml`` (every section the runtime reads, with
the mistakes found on real devices and in the issue's list: wrong case, quoted numbers, plain
paths for URLs, bad base64, DPS under a parent, …) and the certificate settings edgecert is asked
to write (every edge CA variant, file and PKCS#11 URIs, renewal values in and out of the
runtime's grammar, lifetimes up to past u32). :func:`judge` runs edgecert's edit and validation
and sorts the outcome against the runtime's verdict (``tests/rtcfg.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from core.config import validate
from core.config.settings import (
    AutoRenew,
    CertSettings,
    EdgeCa,
    EstServer,
    Issued,
    Pkcs11,
    Preloaded,
    Quickstart,
)
from core.config.toml_edit import edit_config_toml
from core.config.uris import file_uri
from core.errors import EdgecertError
from core.versions import release


def q(value: str) -> str:
    """A TOML basic string (JSON escapes are TOML escapes for these characters)."""
    return json.dumps(value, ensure_ascii=False)


KEY = "a2V5LWZvci10ZXN0cw=="
CS = f"HostName=hub.azure-devices.net;DeviceId=edge-1;SharedAccessKey={KEY}"



def mostly(good: st.SearchStrategy[Any], *odd: Any) -> st.SearchStrategy[Any]:
    """``good`` four times in five, else one of the odd values: cases mix few faults."""
    return st.integers(0, 4).flatmap(lambda i: st.sampled_from(odd) if i == 4 else good)


# ---- existing configs ---------------------------------------------------------------------

hostnames = mostly(st.sampled_from(["edge-1", "edge-1.plant.example", "10.0.0.7", "EDGE-1"]),
                   "edge_1", "a" * 70, "")
timeouts = mostly(st.integers(60, 200), '"70"', "-1", "true", "70.5", "0")
reprovisioning = mostly(st.sampled_from(["Dynamic", "AlwaysOnStartup", "OnErrorOnly"]),
                        "dynamic", "ALWAYSONSTARTUP", "")
additional = mostly(st.just("file:///etc/aziot/info.toml"), "https://info.example/x",
                    "/etc/aziot/info.toml", "file:info.toml", "info")
base64_keys = mostly(st.sampled_from([KEY, KEY.rstrip("="), "a2V5", "YQ==", ""]),
                     "a2V", "a2V5*", "not base64!", "a2V5=", "YR==", "YQ=")


@st.composite
def connection_strings(draw: st.DrawFn) -> str:
    parts = {"HostName": "hub.azure-devices.net", "DeviceId": "edge-1",
             "SharedAccessKey": draw(base64_keys)}
    if draw(st.integers(0, 3)) == 0:
        for name in draw(st.lists(st.sampled_from(list(parts)), max_size=2, unique=True)):
            del parts[name]
    text = ";".join(f"{k}={v}" for k, v in parts.items())
    return draw(mostly(st.sampled_from([text, text + ";GatewayHostName=gw"]), text.lower()))


@st.composite
def provisioning(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["manual"] * 8 + ["explicit", "dps-sym", "dps-x509", "dps-tpm",
                                                  "none", "missing", "bad-source"]))
    if kind == "missing":
        return ""
    if kind == "bad-source":
        source = draw(st.sampled_from(["DPS", "Manual", "file", ""]))
        return f'[provisioning]\nsource = {q(source)}\nconnection_string = {q(CS)}\n'
    if kind == "none":
        return '[provisioning]\nsource = "none"\n'
    if kind == "manual":
        cs = draw(st.one_of(st.just(CS), connection_strings()))
        return f'[provisioning]\nsource = "manual"\nconnection_string = {q(cs)}\n'
    if kind == "explicit":
        method = draw(mostly(st.sampled_from(["sas", "x509"]), "SAS"))
        auth = (f'method = {q(method)}\ndevice_id_pk = {{ value = {q(draw(base64_keys))} }}\n'
                if method != "x509" else
                'method = "x509"\nidentity_cert = "file:///var/aziot/id.pem"\n'
                'identity_pk = "file:///var/aziot/id.key.pem"\n')
        return ('[provisioning]\nsource = "manual"\niothub_hostname = "hub.azure-devices.net"\n'
                f'device_id = "edge-1"\n[provisioning.authentication]\n{auth}')
    endpoint = draw(mostly(st.just("https://global.azure-devices-provisioning.net"),
                           "global.azure-devices-provisioning.net"))
    head = (f'[provisioning]\nsource = "dps"\nglobal_endpoint = {q(endpoint)}\n'
            'id_scope = "0ne00000000"\n')
    if kind == "dps-sym":
        return head + ('[provisioning.attestation]\nmethod = "symmetric_key"\n'
                       f'registration_id = "edge-1"\nsymmetric_key = {{ value = '
                       f'{q(draw(base64_keys))} }}\n')
    if kind == "dps-x509":
        return head + ('[provisioning.attestation]\nmethod = "x509"\nregistration_id = "edge-1"\n'
                       'identity_cert = "file:///var/aziot/id.pem"\n'
                       'identity_pk = "file:///var/aziot/id.key.pem"\n')
    return head + '[provisioning.attestation]\nmethod = "tpm"\nregistration_id = "edge-1"\n'


@st.composite
def existing_configs(draw: st.DrawFn) -> str | None:
    """The device's current config.toml, or None (no file yet: edgecert's template)."""
    if draw(st.integers(0, 19)) == 0:
        return None
    top: list[str] = []
    if draw(st.booleans()):
        top.append(f"hostname = {q(draw(hostnames))}")
    if draw(st.integers(0, 5)) == 0:
        top.append('parent_hostname = "parent.example"')
    if draw(st.integers(0, 3)) == 0:
        top.append(f"cloud_timeout_sec = {draw(timeouts)}")
    if draw(st.integers(0, 5)) == 0:
        retries = draw(mostly(st.sampled_from(["1", "0", "4294967295"]), "-1", "4294967296",
                              '"1"'))
        top.append(f"cloud_retries = {retries}")
    if draw(st.integers(0, 4)) == 0:
        top.append(f"auto_reprovisioning_mode = {q(draw(reprovisioning))}")
    if draw(st.integers(0, 4)) == 0:
        top.append(f"additional_info = {q(draw(additional))}")
    if draw(st.integers(0, 5)) == 0:
        top.append('manifest_trust_bundle_cert = "file:///var/aziot/manifest-ca.pem"')
    if draw(st.integers(0, 5)) == 0:
        top.append(f"{draw(st.sampled_from(['trust_bundle_certs', 'hostnme', 'foo']))} = 1")
    if draw(st.integers(0, 5)) == 0:
        allow = draw(mostly(st.sampled_from(["true", "false"]), '"yes"'))
        top.append(f"allow_elevated_docker_permissions = {allow}")
    tables = [draw(provisioning())]
    if draw(st.integers(0, 5)) == 0:
        tables.append('[cert_issuance.local_ca]\ncert = "file:///var/aziot/local-ca.pem"\n'
                      'pk = "file:///var/aziot/local-ca.key.pem"\n')
    if draw(st.integers(0, 3)) == 0:
        index = draw(mostly(st.sampled_from(["1", "0x01_00_01"]), '"1"', "-1", "4294967296"))
        tables.append(f"[tpm]\nauth_key_index = {index}\n")
    if draw(st.integers(0, 3)) == 0:
        uri = draw(mostly(st.just("unix:///var/run/docker.sock"), "/var/run/docker.sock",
                          "npipe://./pipe/docker_engine"))
        network = draw(mostly(st.just('network = "azure-iot-edge"\n'), ""))
        tables.append(f"[moby_runtime]\nuri = {q(uri)}\n{network}")
    if draw(st.integers(0, 3)) == 0:
        time = draw(mostly(st.sampled_from(["03:00", "3:00", "23:59", "00:00"]), "24:00",
                           "25:00", "23:60", "0300", "03:00:00", "٠٣:00"))
        recur = draw(mostly(st.sampled_from(["", 'cleanup_recurrence = "1d"\n',
                                             'image_age_cleanup_threshold = "7 days"\n']),
                            'cleanup_recurrence = "10m"\n', 'cleanup_recurrence = "x"\n'))
        tables.append(f"[image_garbage_collection]\nenabled = true\ncleanup_time = {q(time)}\n"
                      + recur)
    if draw(st.integers(0, 3)) == 0:
        entries = draw(st.lists(mostly(st.sampled_from([
            'pkcs11_lib_path = "/usr/lib/libsofthsm2.so"', 'pkcs11_base_slot = "pkcs11:slot-id=0"',
            'pkcs11_base_slot = "pkcs11:tok%65n=edge"']),
            'pkcs11_lib_paths = "/usr/lib/libsofthsm2.so"', 'foo = "bar"',
            'pkcs11_base_slot = "pkcs11:slot-id=-1"', 'pkcs11_base_slot = "pkcs11:token=%FF"',
            "pkcs11_lib_path = 5"),
            min_size=1, max_size=3, unique_by=lambda e: e.split(" =")[0]))
        tables.append("[aziot_keys]\n" + "\n".join(entries) + "\n")
    if draw(st.integers(0, 3)) == 0:
        tables.append(draw(st.sampled_from([
            '[edge_ca]\ncert = "file:///old/edge-ca.pem"\npk = "file:///old/edge-ca.key.pem"\n',
            "[edge_ca]\nauto_generated_edge_ca_expiry_days = 30\n",
            '[edge_ca]\nmethod = "self_signed"\nexpiry_days = 0\n'])))
    return "\n".join(top) + ("\n\n" if top else "") + "\n".join(tables)


# ---- settings -----------------------------------------------------------------------------

paths = st.sampled_from(["/var/aziot/certs/edge-ca.pem", "/var/aziot/certs/edge ca.pem",
                         "/var/aziot/certs/ä.pem", "/var/aziot/certs/%41.pem"])
file_uris = mostly(
    paths.map(file_uri),
    "file:///var/aziot/certs/edge ca.pem", "file:///var/aziot/%zz.pem", "file:certs/edge-ca.pem",
    "file://localhost/var/aziot/e.pem", "file://host/var/aziot/e.pem",
    "file:///var/aziot/e.pem?x=1", "/var/aziot/certs/edge-ca.pem",
    "https://pki.example/edge-ca.pem", "file:///var/aziot/%FF.pem", "FILE:///var/aziot/e.pem")
slot_ids = mostly(st.sampled_from(["0", "1", "+1", "18446744073709551615"]),
                  "-1", "1_0", " 1", "٣", "18446744073709551616", "", "0x1")
pkcs11_uris = st.one_of(
    st.builds(lambda s, o: f"pkcs11:slot-id={s};object={o}?pin-value=1234", slot_ids,
              mostly(st.sampled_from(["edge-ca", "edge%20ca"]), "%FF")),
    st.sampled_from(["pkcs11:token=edge;object=ca", "pkcs11:token=%FF;object=ca",
                     "pkcs11:tok%65n=edge;object=ca", "pkcs11:object=ca", "pkcs11:",
                     "pkcs11:token=a b;object=c", "pkcs11:foo=%FF;token=t"]))
digits = mostly(st.sampled_from(["80", "1", "99", "+80", "080", "4", "30"]),
                "100", "0", "-5", "٨٠", "９０", "9223372036854775807", "9223372036854775808",
                "153722867280912930", "106751991167300", "1" * 30)
units = mostly(st.sampled_from(["%", "min", "day"]), "d", "m", "Day", "days", "")
policies = mostly(
    st.builds(lambda n, u: n + u, digits, units),
    "80%\n", " 80%", "80 %", "1.5%", "", "+", "%", "day")
days = mostly(st.integers(1, 400), 0, 999_999_999, 1_000_000_000, 2**32 - 1, 2**32, 2**40)
est_urls = mostly(st.sampled_from(["https://est.example.org/.well-known/est",
                                   "http://est.example/x"]),
                  "est.example.org", "not a url", "https://", "https://a b/",
                  "https://est.example:99999/")


@st.composite
def edge_cas(draw: st.DrawFn) -> EdgeCa:
    kind = draw(st.sampled_from(["preloaded", "preloaded", "quickstart", "issued"]))
    if kind == "preloaded":
        pk = draw(mostly(file_uris, "pkcs11:token=edge;object=ca")
                  if draw(st.booleans()) else pkcs11_uris)
        return Preloaded(draw(file_uris), pk)
    if kind == "quickstart":
        return Quickstart(draw(days))
    method = draw(mostly(st.sampled_from(["self_signed", "est"]), "local_ca"))
    return Issued(method, common_name=draw(st.sampled_from([None, "edge-1.ca", "edge-1"])),
                  expiry_days=draw(st.one_of(st.none(), days)),
                  url=draw(st.one_of(st.none(), est_urls)) if method == "est" else None)


@st.composite
def cert_settings(draw: st.DrawFn) -> CertSettings:
    edge_ca = draw(edge_cas())
    renew = None
    if not isinstance(edge_ca, Preloaded) and draw(st.booleans()):
        renew = AutoRenew(draw(mostly(st.just(True), False)), draw(policies), draw(policies))
    hsm = isinstance(edge_ca, Preloaded) and edge_ca.pk.startswith("pkcs11:")
    pkcs11 = Pkcs11(draw(st.sampled_from(["/usr/lib/libsofthsm2.so", "/usr/lib/p.so"]))) \
        if draw(mostly(st.just(hsm), not hsm)) else None
    est = None
    if isinstance(edge_ca, Issued) and edge_ca.method == "est" and draw(st.booleans()):
        est = EstServer(draw(est_urls), tuple(draw(st.lists(file_uris, max_size=2))))
    bundle = draw(st.one_of(st.none(), file_uris))
    return CertSettings(edge_ca=edge_ca, trust_bundle_cert=bundle, auto_renew=renew,
                        pkcs11=pkcs11, est=est)


@dataclass(frozen=True)
class Case:
    release: str
    current: str | None
    settings: CertSettings


cases = st.builds(Case, st.sampled_from(["1.6", "1.5", "1.4"]), existing_configs(),
                  cert_settings())


# ---- judging ------------------------------------------------------------------------------

_check = getattr(validate.check_config_toml, "__wrapped__", validate.check_config_toml)


@dataclass(frozen=True)
class Outcome:
    """``refused`` (typed error or error findings) or ``valid``; ``text`` is what was written."""

    edgecert: str
    text: str | None
    crash: BaseException | None = None


def run_edgecert(case: Case) -> Outcome:
    """edgecert's edit and whole-file validation; a non-edgecert exception is a crash."""
    rel = release(case.release)
    try:
        text = edit_config_toml(case.current, case.settings, rel)
        findings: Any = _check(text, rel)
    except EdgecertError:
        return Outcome("refused", None)
    except Exception as exc:  # a crash is what this corpus hunts for
        return Outcome("crash", None, exc)
    errors = validate.errors_in(findings)
    return Outcome("refused" if errors else "valid", text)
