"""Unified config diff: device path in the header, secrets never shown."""

from __future__ import annotations

import pytest
from configtest_support import fixture_text
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.config.diff import REDACTED, config_diff, redact
from core.config.settings import CertSettings, Preloaded
from core.config.toml_edit import edit_config_toml
from core.versions import release

PRELOADED = CertSettings(Preloaded("file:///var/aziot/certs/edge-ca.pem",
                                   "file:///var/aziot/secrets/edge-ca.key.pem"),
                         "file:///var/aziot/certs/trust-bundle.pem")


def test_header_names_device_path_and_hunks_are_unified() -> None:
    out = config_diff("a = 1\nb = 2\n", "a = 1\nb = 3\n", device_path="/etc/aziot/config.toml")
    assert out.splitlines() == ["--- /etc/aziot/config.toml (device)",
                                "+++ /etc/aziot/config.toml (edgecert)",
                                "@@ -1,2 +1,2 @@", " a = 1", "-b = 2", "+b = 3"]


def test_new_file_and_no_change() -> None:
    out = config_diff(None, "a = 1\n", device_path="/etc/aziot/config.toml")
    assert out.splitlines()[:3] == ["--- /dev/null", "+++ /etc/aziot/config.toml (edgecert)",
                                    "@@ -0,0 +1 @@"]
    assert config_diff("a = 1\n", "a = 1\n", device_path="x") == ""
    assert "line endings" in config_diff("a = 1\n", "a = 1\r\n", device_path="x")


@pytest.mark.parametrize(("name", "secrets", "redacted_lines"), [
    # the connection string is outside every hunk: not shown at all
    ("manual-crlf.toml", ["QmFzZTY0U2VjcmV0S2V5VmFsdWU9PQ=="], []),
    # two PKCS#11 URIs with a PIN are in the hunks (context and removed), the SAS key is not
    ("pkcs11.toml", ["U0FTS2V5U2VjcmV0VmFsdWVGb3JUZXN0cw==", "4321"],
     [' pkcs11_base_slot = "pkcs11:token=edge?pin-value=<redacted>"',
      '-pk = "pkcs11:token=edge;object=old%20ca?pin-value=<redacted>"']),
])
def test_fixture_secrets_redacted_in_real_edit(name: str, secrets: list[str],
                                               redacted_lines: list[str]) -> None:
    before = fixture_text(name)
    assert all(secret in before for secret in secrets)
    after = edit_config_toml(before, PRELOADED, release("1.5"))
    out = config_diff(before, after, device_path="/etc/aziot/config.toml")
    for secret in secrets:
        assert secret not in out
    assert [line for line in out.splitlines() if REDACTED in line] == redacted_lines


def test_redact_hides_a_connection_strings_key() -> None:
    text = redact(fixture_text("manual-crlf.toml"))
    assert "QmFzZTY0U2VjcmV0S2V5VmFsdWU9PQ==" not in text
    assert 'DeviceId=gateway-7;SharedAccessKey=<redacted>"' in text


def test_changed_secret_still_shows_as_changed() -> None:
    out = config_diff('password = "old-one"\n', 'password = "new-one"\n', device_path="x")
    assert f'-password = "{REDACTED}"' in out and f'+password = "{REDACTED}"' in out
    assert "old-one" not in out and "new-one" not in out


def test_pem_key_material_redacted() -> None:
    pem = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAbCdEf0123\n"
           "-----END PRIVATE KEY-----\n")
    out = config_diff(None, 'key = """\n' + pem + '"""\n', device_path="x")
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in out and "AbCdEf0123" not in out


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_b64 = st.text(_B64, min_size=12, max_size=60).map(lambda s: s + "==")
_password = st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                  exclude_characters='"\\'), min_size=12, max_size=40)
_pin = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=12, max_size=30)


@settings(max_examples=150, deadline=None)
@given(sas=_b64, password=_password, pin=_pin, sym=_b64, pem_body=_b64, yaml_key=_b64)
def test_nothing_secret_ever_appears(sas: str, password: str, pin: str, sym: str,
                                     pem_body: str, yaml_key: str) -> None:
    literal = password.replace("'", "Q")  # a TOML literal string cannot hold a quote
    before = _secret_lines(sas, password, literal, pin, sym, pem_body, yaml_key)
    after = before.replace("HostName=h", "HostName=g") + 'hostname = "x"\n'
    secrets = (sas, password, literal, pin, sym, pem_body, yaml_key)
    # A "secret" that is also ordinary text of the file (e.g. "SharedAccess") proves nothing.
    skeleton = (_secret_lines(*[""] * 7).replace("HostName=h", "HostName=g") + 'hostname = "x"\n'
                + "/etc/aziot/config.toml (device) (edgecert) <redacted>")
    assume(not any(secret in skeleton for secret in secrets))
    for old, new in ((None, before), (before, after), (after, before)):
        out = config_diff(old, new, device_path="/etc/aziot/config.toml")
        for secret in secrets:
            assert secret not in out


def _secret_lines(sas: str, password: str, literal: str, pin: str, sym: str, pem_body: str,
                  yaml_key: str) -> str:
    return "\n".join([
        f'connection_string = "HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey={sas}"',
        f'password = "{password}"',
        f"password = '{literal}'",
        f'pk = "pkcs11:token=t;object=o?pin-value={pin}"',
        f'pkcs11_base_slot = "pkcs11:slot-id=0?pin-value={pin}"',
        f'device_id_pk = {{ value = "{sym}" }}',
        f'symmetric_key: "{yaml_key}"',
        f'device_connection_string: "HostName=h;DeviceId=d;SharedAccessKey={sas}"',
        "-----BEGIN EC PRIVATE KEY-----", pem_body, "-----END EC PRIVATE KEY-----",
    ]) + "\n"


@pytest.mark.parametrize(("line", "shown"), [
    ('pkcs11_base_slot = "pkcs11:slot-id=0?pin-value=1234"',
     'pkcs11_base_slot = "pkcs11:slot-id=0?pin-value=<redacted>"'),
    ('password = "a#b\\"c"  # EST', 'password = "<redacted>"  # EST'),
    ("  password: plain # yaml", "  password: <redacted># yaml"),
    ('device_id_pk = { value = "a2V5" }', 'device_id_pk = { value = "<redacted>" }'),
    ('cert = "file:///var/aziot/certs/edge-ca.pem"', 'cert = "file:///var/aziot/certs/edge-ca.pem"'),
    ('token = "SharedAccessSignature sr=h&sig=abc%2F&se=1"',
     'token = "SharedAccessSignature sr=h&sig=<redacted>&se=1"'),
])
def test_redaction_keeps_the_line_shape(line: str, shown: str) -> None:
    assert redact(line) == shown
