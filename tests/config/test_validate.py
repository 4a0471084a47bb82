"""Every validation rule of config.toml has a failing case, with its line and a hint."""

from __future__ import annotations

import datetime as dt

import pytest
from configtest_support import fixture_text

from core.config.errors import ConfigValidationError
from core.config.validate import (
    Finding,
    check_config_toml,
    check_hostname,
    config_finding,
    errors_in,
    locate_keys,
    raise_on_errors,
)
from core.errors import ConfigParseError
from core.versions import release

R15 = release("1.5")
GOOD = '''hostname = "edge-1"
trust_bundle_cert = "file:///var/aziot/certs/trust-bundle.pem"

[provisioning]
source = "manual"
connection_string = "HostName=h;DeviceId=d;SharedAccessKey=a2V5"

[edge_ca]
cert = "file:///var/aziot/certs/edge-ca.pem"
pk = "file:///var/aziot/secrets/edge-ca.key.pem"
'''


PROVISIONING = ('\n[provisioning]\nsource = "manual"\n'
                'connection_string = "HostName=h;DeviceId=d;SharedAccessKey=a2V5"\n')


def _check(text: str, rel: object = R15, **kwargs: object) -> tuple[Finding, ...]:
    """check_config_toml on a snippet, with a valid [provisioning] appended unless it has one."""
    if "[provisioning]" not in text:
        text += PROVISIONING
    return check_config_toml(text, rel, **kwargs)  # type: ignore[arg-type]


def _only(findings: tuple[Finding, ...], severity: str = "error") -> Finding:
    chosen = [f for f in findings if f.severity == severity]
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_good_config_has_no_findings() -> None:
    assert _check(GOOD, R15) == ()


def test_fixture_configs_have_no_errors() -> None:
    for name in ("dps-x509.toml", "manual-crlf.toml", "pkcs11.toml"):
        assert errors_in(check_config_toml(fixture_text(name), R15)) == (), name
    # A device's template is not provisioned yet: the runtime refuses it as it stands.
    f = _only(check_config_toml(fixture_text("template-1.5.toml"), R15))
    assert "no [provisioning]" in f.message


def test_misspelled_top_level_key() -> None:
    text = GOOD.replace("trust_bundle_cert", "trust_bundle_certs")
    f = _only(_check(text, R15), "warning")  # the runtime ignores it: a warning
    assert "trust_bundle_certs" in f.message and "ignores" in f.message
    assert "'trust_bundle_cert'" in f.hint
    assert (f.line, f.col) == (2, 1)


def test_misspelled_edge_ca_key() -> None:
    text = GOOD.replace("pk =", "pkey =")
    findings = _check(text, R15)
    assert any("edge_ca.pkey" in f.message and f.severity == "warning" for f in findings)
    assert [f.message for f in errors_in(findings)] == ["[edge_ca] has cert but no pk"]


def test_misspelled_auto_renew_key() -> None:
    text = ('[edge_ca]\nauto_generated_edge_ca_expiry_days = 90\n[edge_ca.auto_renew]\n'
            'rotate_key = true\nthreshold = "80%"\nretry = "4%"\nretries = "1%"\n')
    findings = _check(text, R15)
    assert errors_in(findings) == ()
    f = next(f for f in findings if "retries" in f.message)
    assert f.severity == "warning" and f.key == "edge_ca.auto_renew.retries" and f.line == 7
    assert "'retry'" in f.hint


@pytest.mark.parametrize(("value", "hint"), [('"4d"', '"4day"'), ('"10m"', '"10min"'),
                                              ('"100%"', "below 100"), ("80", "Quote")])
def test_threshold_grammar(value: str, hint: str) -> None:
    text = ('[edge_ca]\nmethod = "self_signed"\n\n[edge_ca.auto_renew]\nrotate_key = true\n'
            f'threshold = {value}\nretry = "4%"\n')
    f = _only(_check(text, R15))
    assert hint in f.hint and f.line == 6


def test_retry_grammar() -> None:
    text = ('[edge_ca]\nmethod = "self_signed"\n\n[edge_ca.auto_renew]\nrotate_key = true\n'
            'threshold = "80%"\nretry = "0%"\n')
    assert "positive" in _only(_check(text, R15)).message


def test_time_threshold_beyond_lifetime() -> None:
    text = ('[edge_ca]\nauto_generated_edge_ca_expiry_days = 30\n[edge_ca.auto_renew]\n'
            'rotate_key = true\nthreshold = "30day"\nretry = "1day"\n')
    assert "lifetime" in _only(_check(text, R15)).message
    issued = text.replace("auto_generated_edge_ca_expiry_days = 30",
                          'method = "self_signed"\nexpiry_days = 10')
    assert "lifetime" in _only(_check(issued.replace("30day", "12day"),
                                                 R15)).message
    ok = text.replace("30day", "29day")
    assert errors_in(_check(ok, R15)) == ()
    # The caller's certificate lifetime wins.
    assert errors_in(_check(ok, R15, cert_lifetime=dt.timedelta(days=20)))


def test_auto_renew_needs_all_three_keys() -> None:
    text = '[edge_ca]\nmethod = "self_signed"\n[edge_ca.auto_renew]\nthreshold = "80%"\n'
    f = _only(_check(text, R15))
    assert "rotate_key, retry" in f.message and f.line == 3


def test_auto_renew_next_to_cert_pk_explained() -> None:
    text = GOOD + '\n[edge_ca.auto_renew]\nrotate_key = true\nthreshold = "80%"\nretry = "4%"\n'
    f = _only(_check(text, R15), "warning")  # ignored by the runtime, so not an error
    assert "ignored" in f.message and "PKI" in f.hint


def test_auto_renew_on_1_2() -> None:
    text = ('[edge_ca]\nauto_generated_edge_ca_expiry_days = 30\n[edge_ca.auto_renew]\n'
            'rotate_key = true\nthreshold = "80%"\nretry = "4%"\n')
    findings = _check(text, release("1.2"))
    assert errors_in(findings) == ()
    assert any("does not support" in f.message for f in findings)


def test_quickstart_rotate_key_false() -> None:
    text = ('[edge_ca]\nauto_generated_edge_ca_expiry_days = 30\n[edge_ca.auto_renew]\n'
            'rotate_key = false\nthreshold = "80%"\nretry = "4%"\n')
    assert "rotate_key = true" in _only(_check(text, R15)).message


def test_quickstart_flagged_not_for_production() -> None:
    text = '[provisioning]\nsource = "dps"\n[edge_ca]\nauto_generated_edge_ca_expiry_days = 90\n'
    f = _only(_check(text, R15), "warning")
    assert "not for production" in f.message


def test_missing_provisioning_warns_and_blocks_deploy() -> None:
    text = "[edge_ca]\nmethod = \"self_signed\"\n"
    f = _only(check_config_toml(text, R15))
    assert "config apply refuses" in f.message and "config mp" in f.hint


def test_mixed_variants() -> None:
    # The runtime takes the first variant that matches and ignores the rest: warnings.
    text = GOOD + "auto_generated_edge_ca_expiry_days = 90\n"
    assert "mixed" in _only(_check(text, R15), "warning").message
    text = GOOD + 'method = "est"\nurl = "https://est"\n'
    findings = _check(text, R15)
    assert errors_in(findings) == ()
    assert len([f for f in findings if "mixed with method" in f.message]) == 2


def test_edge_ca_matching_no_variant() -> None:
    text = '[edge_ca.auto_renew]\nrotate_key = true\nthreshold = "80%"\nretry = "4%"\n'
    assert "no variant" in _only(_check(text, R15)).message


def test_file_uri_must_be_absolute_and_encoded() -> None:
    text = GOOD.replace("file:///var/aziot/certs/edge-ca.pem",
                        "file:///var/aziot/certs/edge ca.pem")
    # The runtime encodes the space itself: accepted, with the canonical spelling as advice.
    f = _only(_check(text, R15), "warning")
    assert "canonically" in f.message and "edge%20ca" in f.hint and f.line == 9
    text = GOOD.replace('"file:///var/aziot/certs/trust-bundle.pem"', '"/var/aziot/tb.pem"')
    assert "file://" in _only(_check(text, R15)).message


def test_pkcs11_key_needs_lib_path_and_slot_or_token() -> None:
    text = GOOD.replace('"file:///var/aziot/secrets/edge-ca.key.pem"',
                        '"pkcs11:token=edge;object=ca?pin-value=5555"')
    f = _only(_check(text, R15))
    assert "pkcs11_lib_path" in f.message and "5555" not in f.describe("x")
    with_lib = text + '\n[aziot_keys]\npkcs11_lib_path = "/usr/lib/p.so"\n'
    assert errors_in(_check(with_lib, R15)) == ()
    no_slot = with_lib.replace("token=edge;", "")
    assert "neither slot-id nor token" in _only(_check(no_slot, R15)).message


def test_misspelled_aziot_keys_is_a_warning() -> None:
    text = GOOD + '\n[aziot_keys]\npkcs11_lib_paths = "/usr/lib/p.so"\n'
    f = _only(_check(text, R15))  # aziot-keyd refuses to start with an unknown key
    assert "'pkcs11_lib_path'" in f.hint and "refuses to start" in f.message


def test_est_checks() -> None:
    text = ('[edge_ca]\nmethod = "est"\n\n[cert_issuance.est]\ntrusted_cert = ["file:///a.pem"]\n'
            '[cert_issuance.est.auth]\n[cert_issuance.est.urls]\ndefault = "http://est"\n')
    findings = _check(text, R15)
    messages = " | ".join(f.message for f in findings)
    assert "cert_issuance.est.trusted_cert" in messages
    assert "authentication is empty" in messages
    assert "not HTTPS" in messages
    no_url = '[edge_ca]\nmethod = "est"\n'
    assert "without a server URL" in _only(_check(no_url, R15)).message


def test_local_ca_needs_its_section() -> None:
    text = '[edge_ca]\nmethod = "local_ca"\n'
    assert "cert_issuance.local_ca" in _only(_check(text, R15)).message


def test_expiry_days_zero() -> None:
    text = '[edge_ca]\nmethod = "self_signed"\nexpiry_days = 0\n'
    assert "greater than 0" in _only(_check(text, R15)).message
    text = "[edge_ca]\nauto_generated_edge_ca_expiry_days = 0\n"
    assert "from 1 to 4294967295" in _only(_check(text, R15)).message


def test_hostname_rules() -> None:
    assert check_hostname("edge-1.plant.example") == []
    assert check_hostname("10.0.0.7") == []
    assert [f.severity for f in check_hostname("edge_1")] == ["warning"]
    long = "a" * 65
    assert "at most 64" in check_hostname(long)[0].message
    same = check_hostname("edge-1", edge_ca_cn="EDGE-1")
    assert [f.severity for f in same] == ["error"] and ".ca" in same[0].hint


def test_hostname_equal_to_edge_ca_common_name_in_file() -> None:
    text = 'hostname = "edge-1"\n[edge_ca]\nmethod = "self_signed"\ncommon_name = "edge-1"\n'
    f = _only(_check(text, R15))
    assert f.key == "hostname" and f.line == 1


def test_parse_error_line_and_column() -> None:
    with pytest.raises(ConfigParseError) as info:
        check_config_toml('a = 1\nb = "unterminated\n', R15, where="config.toml")
    assert info.value.line == 2 and info.value.where and info.value.where.startswith(
        "config.toml:2")


def test_raise_on_errors_lists_all() -> None:
    text = GOOD.replace("trust_bundle_cert", "trust_bundle_certs").replace("pk =", "pkk =")
    with pytest.raises(ConfigValidationError) as info:
        raise_on_errors(_check(text, R15), where="config.toml")
    assert len(info.value.findings) == 1  # the misspelled keys themselves are warnings
    raise_on_errors((config_finding("warning", "w", "h"),), where="x")  # warnings alone pass


def test_locate_keys() -> None:
    where = locate_keys('a = 1\n[x."y"]\n  b = """\nc = 2\n"""\nd = 3\n')
    assert where == {"a": (1, 1), "x.y": (2, 1), "x.y.b": (3, 3), "x.y.d": (6, 1)}
