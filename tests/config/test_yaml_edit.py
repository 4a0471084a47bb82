"""1.1 config.yaml: the certificates block set or uncommented in place, the rest byte-for-byte."""

from __future__ import annotations

import pytest
from configtest_support import assert_golden, fixture_text
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from core.config.errors import SettingsError
from core.config.settings import AutoRenew, CertSettings, Issued, Preloaded, Quickstart
from core.config.yaml_edit import LegacyCertificates, edit_config_yaml, legacy_from_settings
from core.errors import ConfigParseError

LINUX = LegacyCertificates("file:///var/aziot/certs/edge-ca.pem",
                           "file:///var/aziot/secrets/edge-ca.key.pem",
                           "file:///var/aziot/certs/trust-bundle.pem")
WINDOWS = LegacyCertificates("file:///C:/ProgramData/iotedge/certs/edge-ca.pem",
                             "file:///C:/ProgramData/iotedge/secrets/edge-ca.key.pem",
                             "file:///C:/ProgramData/iotedge/certs/trust-bundle.pem")


def _load(text: str) -> object:
    return YAML(typ="safe").load(text)


def test_commented_block_is_uncommented_in_place() -> None:
    original = fixture_text("legacy-1.1.yaml")
    out, findings = edit_config_yaml(original, LINUX)
    assert_golden("legacy-1.1.files.yaml", out)
    assert findings == ()
    lines = out.splitlines()
    at = lines.index("certificates:")
    assert lines[at - 1] == "# Certificate settings (device CA, trust bundle)."
    assert lines[at + 1] == '  device_ca_cert: "file:///var/aziot/certs/edge-ca.pem"'
    assert "# certificates:" not in out
    # Everything before and after the block is byte-identical.
    head = original[:original.index("# certificates:")]
    tail = original[original.index("\nagent:"):]
    assert out.startswith(head) and out.endswith(tail)
    data = _load(out)
    assert data["certificates"] == {
        "device_ca_cert": "file:///var/aziot/certs/edge-ca.pem",
        "device_ca_pk": "file:///var/aziot/secrets/edge-ca.key.pem",
        "trusted_ca_certs": "file:///var/aziot/certs/trust-bundle.pem"}


def test_active_partial_block_replaced_crlf_and_windows_uris() -> None:
    original = fixture_text("legacy-windows-crlf.yaml")
    out, findings = edit_config_yaml(original, WINDOWS)
    assert_golden("legacy-windows-crlf.files.yaml", out)
    assert out.count("\n") == out.count("\r\n")
    assert findings == ()
    certs = _load(out)["certificates"]
    assert certs["device_ca_cert"] == "file:///C:/ProgramData/iotedge/certs/edge-ca.pem"
    assert certs["auto_generated_ca_lifetime_days"] == 30  # kept: not ours to drop


def test_partial_triple_warns() -> None:
    _, findings = edit_config_yaml(fixture_text("legacy-1.1.yaml"),
                                   LegacyCertificates(device_ca_cert=LINUX.device_ca_cert))
    assert len(findings) == 1 and "falls back to quickstart" in findings[0].message
    assert "trusted_ca_certs" in findings[0].message


def test_quickstart_only_warns_not_for_production() -> None:
    _, findings = edit_config_yaml(fixture_text("legacy-1.1.yaml"),
                                   LegacyCertificates(auto_generated_ca_lifetime_days=60))
    assert "not for production" in findings[0].message


def test_our_template_used_without_current() -> None:
    out, _ = edit_config_yaml(None, LINUX)
    assert_golden("template-1.1.files.yaml", out)


def test_no_anchor_appends_block() -> None:
    out, _ = edit_config_yaml('hostname: "x"', LINUX)
    assert out.startswith('hostname: "x"\n\ncertificates:\n')


def test_parse_error_has_line_and_column() -> None:
    with pytest.raises(ConfigParseError) as info:
        edit_config_yaml("hostname: x\nagent:\n  name: [unclosed\n", LINUX, where="config.yaml")
    assert info.value.line is not None and info.value.col is not None
    assert info.value.exit_code == 2


def test_settings_mapping() -> None:
    pre = CertSettings(Preloaded("file:///c.pem", "file:///k.pem"), "file:///t.pem")
    assert legacy_from_settings(pre) == LegacyCertificates("file:///c.pem", "file:///k.pem",
                                                           "file:///t.pem")
    quick = legacy_from_settings(CertSettings(Quickstart(45)))
    assert quick == LegacyCertificates(auto_generated_ca_lifetime_days=45)
    for bad in (CertSettings(Issued("est")), CertSettings(Quickstart(45), auto_renew=AutoRenew())):
        with pytest.raises(SettingsError):
            legacy_from_settings(bad)


_uri = st.from_regex(r"file:///(var/aziot|C:/ProgramData)/[a-z][a-z0-9%-]{0,10}\.pem",
                     fullmatch=True)


@settings(max_examples=30, deadline=None)
@given(a=st.builds(LegacyCertificates, _uri, _uri, _uri, st.none() | st.integers(1, 3650)),
       b=st.builds(LegacyCertificates, _uri, _uri, _uri, st.none() | st.integers(1, 3650)),
       crlf=st.booleans())
def test_idempotent_and_rest_untouched(a: LegacyCertificates, b: LegacyCertificates,
                                       crlf: bool) -> None:
    original = fixture_text("legacy-1.1.yaml")
    if crlf:
        original = original.replace("\n", "\r\n")
    once, _ = edit_config_yaml(original, a)
    assert edit_config_yaml(once, a)[0] == once
    again = edit_config_yaml(edit_config_yaml(once, b)[0], a)[0]
    base, data = _load(original), _load(again)
    assert {k: v for k, v in data.items() if k != "certificates"} == base
    tail = original[original.index("agent:"):]
    assert again.endswith(tail)
