"""Whole-file validation: settings kept from the device that the runtime refuses are errors,
named with their line; each case is also refused by the runtime's own parser (rtcfg)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rtcfg import oracle_path, verdict

from core.cli import main
from core.config.validate import Finding, base64_ok, check_config_toml, errors_in
from core.versions import release

R16 = release("1.6")
CS = "HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=a2V5"
MANUAL = f'[provisioning]\nsource = "manual"\nconnection_string = "{CS}"\n'
DPS = ('[provisioning]\nsource = "dps"\nglobal_endpoint = '
       '"https://global.azure-devices-provisioning.net"\nid_scope = "0ne"\n'
       '[provisioning.attestation]\nmethod = "symmetric_key"\nregistration_id = "r"\n'
       'symmetric_key = { value = "a2V5" }\n')

CASES = [
    ('[provisioning]\nsource = "DPS"\n', "provisioning.source", 2, "case-sensitive"),
    (MANUAL.replace("a2V5", "not base64!"), "provisioning.connection_string", 3, "base64"),
    (DPS.replace('"a2V5"', '"a2V5*"'), "provisioning.attestation.symmetric_key.value", 8,
     "base64"),
    ("cloud_timeout_sec = 10\n" + MANUAL, "cloud_timeout_sec", 1, "at least 70"),
    ('parent_hostname = "parent"\n' + DPS, "parent_hostname", 1, "nested"),
    (MANUAL + '[tpm]\nauth_key_index = "1"\n', "tpm.auth_key_index", 5, "whole number"),
    (MANUAL + '[moby_runtime]\nuri = "/var/run/docker.sock"\nnetwork = "azure-iot-edge"\n',
     "moby_runtime.uri", 5, "not a URL"),
    (MANUAL + '[image_garbage_collection]\nenabled = true\ncleanup_time = "25:00"\n',
     "image_garbage_collection.cleanup_time", 6, "time of day"),
    ('additional_info = "https://info.example/x"\n' + MANUAL, "additional_info", 1, "scheme"),
    ('hostname = "edge-1"\n', None, None, "no [provisioning]"),
    (MANUAL + '[aziot_keys]\nfoo = "bar"\n', "aziot_keys.foo", 5, "refuses to start"),
    ('auto_reprovisioning_mode = "dynamic"\n' + MANUAL, "auto_reprovisioning_mode", 1,
     "not known"),
    (MANUAL + '[edge_ca]\nmethod = "est"\nurl = "est.example.org"\n', "edge_ca.url", 6,
     "not a URL"),
    (MANUAL + '[edge_ca]\nauto_generated_edge_ca_expiry_days = 4294967296\n',
     "edge_ca.auto_generated_edge_ca_expiry_days", 5, "4294967295"),
]


def _error(text: str) -> Finding:
    errors = errors_in(check_config_toml(text, R16))
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(("text", "key", "line", "words"), CASES)
def test_kept_settings_the_runtime_refuses_are_errors(text: str, key: str | None,
                                                      line: int | None, words: str) -> None:
    f = _error(text)
    assert (f.key, f.line) == (key, line)
    assert words in f.message + " " + f.hint and f.hint
    if oracle_path() is not None:
        assert not verdict(text).ok, "the runtime accepts it: the rule would be stricter"


@pytest.mark.parametrize("value", ["a2V5", "YQ==", "YQ", "", "a2V5LWZvci10ZXN0cw=="])
def test_base64_as_the_runtime_decodes(value: str) -> None:
    assert base64_ok(value)


@pytest.mark.parametrize("value", ["a2V", "YR==", "YQ=", "a2V5=", "a 2V5", "a2V5\n", "*"])
def test_not_base64_for_the_runtime(value: str) -> None:
    assert not base64_ok(value)


def test_16_flags_manifest_trust_bundle_cert_as_ignored() -> None:
    text = 'manifest_trust_bundle_cert = "file:///var/aziot/manifest-ca.pem"\n' + MANUAL
    findings = check_config_toml(text, R16)
    assert errors_in(findings) == ()
    assert [f.message for f in findings] == [
        "manifest_trust_bundle_cert is gone in IoT Edge 1.6 LTS: the runtime ignores it"]
    assert check_config_toml(text, release("1.5")) == ()


@pytest.mark.parametrize("extra", [
    ["--quickstart-days", "1000000000"], ["--quickstart-days", "4294967296"],
    ["--edge-ca-method", "self_signed", "--expiry-days", "4294967296"],
    ["--quickstart-days", "30", "--renew-threshold", "\u0668\u0660%", "--renew-retry", "4%"],
    ["--quickstart-days", "30", "--renew-threshold", "9223372036854775808day",
     "--renew-retry", "4%"],
])
def test_out_of_range_values_are_typed_errors(tmp_path: Path, extra: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    current = tmp_path / "config.toml"
    current.write_text(MANUAL)
    out = tmp_path / "new.toml"
    code = main(["config", "diff", "--iotedge", "1.6", "--current", str(current), *extra,
                 "--output", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "OverflowError" not in err
    if extra[1] == "1000000000":  # a u32: the runtime takes it, and so does edgecert
        assert code == 0 and out.exists()
    else:
        assert code == 1 and "error:" in err and not out.exists()


@pytest.mark.parametrize(("agent", "key"), [
    ('[agent]\nname = "edgeAgent"\ntype = "docker"\n[agent.config]\nimage = "x"\n'
     '[agent.env]\nA = 1\n', "agent.env.A"),
    ('[agent]\nname = "edgeAgent"\ntype = "docker"\n[agent.config]\nimage = "x"\n'
     '[agent.env.extra]\nvalue = "v"\n', "agent.env.extra"),
    ('[agent]\nname = "edgeAgent"\n[agent.config]\nimage = "x"\n', "agent"),
    ('[agent]\nname = "edgeAgent"\ntype = "docker"\n', "agent"),
    ('[agent]\nname = "edgeAgent"\ntype = "docker"\nimagePullPolicy = "sometimes"\n'
     '[agent.config]\nimage = "x"\n', "agent.imagePullPolicy"),
])
def test_agent_table_is_read_as_the_runtime_reads_it(agent: str, key: str) -> None:
    text = MANUAL + "\n" + agent
    findings = [f for f in check_config_toml(text, release("1.6")) if f.severity == "error"]
    assert [f.key for f in findings] == [key]
    assert not verdict(text).ok  # and the runtime refuses the same file


def test_a_whole_agent_table_is_valid() -> None:
    text = (MANUAL + '\n[agent]\nname = "edgeAgent"\ntype = "docker"\n'
            'imagePullPolicy = "never"\n[agent.config]\nimage = "x"\n[agent.env]\nA = "b"\n')
    assert not [f for f in check_config_toml(text, release("1.6")) if f.severity == "error"]
