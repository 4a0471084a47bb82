"""config.toml editing: golden files as bytes, placement, variants, round-trips."""

from __future__ import annotations

import difflib
import tomllib

import pytest
from configtest_support import assert_golden, fixture_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config.errors import SettingsError
from core.config.settings import (
    AutoRenew,
    CertSettings,
    EstServer,
    Issued,
    Pkcs11,
    Preloaded,
    Quickstart,
)
from core.config.toml_edit import edit_config_toml, our_template
from core.errors import ConfigParseError
from core.versions import release

R15 = release("1.5")
PRELOADED = CertSettings(
    edge_ca=Preloaded("file:///var/aziot/certs/edge-ca.pem",
                      "file:///var/aziot/secrets/edge-ca.key.pem"),
    trust_bundle_cert="file:///var/aziot/certs/trust-bundle.pem",
)
QUICKSTART = CertSettings(edge_ca=Quickstart(30), auto_renew=AutoRenew(True, "80%", "4%"))
EST = CertSettings(
    edge_ca=Issued("est", common_name="edge-0042.ca"),
    trust_bundle_cert="file:///var/aziot/certs/trust-bundle.pem",
    est=EstServer("https://est.example.org/.well-known/est",
                  ("file:///var/aziot/certs/est-ca.pem",), username="edge", password="pw-1"),
    auto_renew=AutoRenew(True, "70%", "2%"),
)
HSM = CertSettings(
    edge_ca=Preloaded("file:///var/aziot/certs/edge-ca.pem",
                      "pkcs11:token=edge;object=edge%20ca"),
    trust_bundle_cert="file:///var/aziot/certs/trust-bundle.pem",
    pkcs11=Pkcs11("/usr/lib/softhsm/libsofthsm2.so"),
)

CASES = [
    ("template-1.5.toml", PRELOADED, "template-1.5.preloaded.toml"),
    ("template-1.5.toml", QUICKSTART, "template-1.5.quickstart.toml"),
    ("template-1.5.toml", EST, "template-1.5.est.toml"),
    ("template-1.5.toml", HSM, "template-1.5.pkcs11.toml"),
    ("dps-x509.toml", PRELOADED, "dps-x509.preloaded.toml"),
    ("manual-crlf.toml", PRELOADED, "manual-crlf.preloaded.toml"),
    ("manual-crlf.toml", QUICKSTART, "manual-crlf.quickstart.toml"),
    ("pkcs11.toml", HSM, "pkcs11.hsm.toml"),
    ("pkcs11.toml", PRELOADED, "pkcs11.files.toml"),
]


@pytest.mark.parametrize(("source", "wanted", "golden"), CASES, ids=[c[2] for c in CASES])
def test_golden(source: str, wanted: CertSettings, golden: str) -> None:
    original = fixture_text(source)
    out = edit_config_toml(original, wanted, R15)
    assert_golden(golden, out)
    tomllib.loads(out)  # the runtime's parser family must accept it
    # Line endings are the file's own, everywhere.
    if "\r\n" in original:
        assert out.count("\n") == out.count("\r\n")
    else:
        assert "\r" not in out


def _removed_lines(before: str, after: str) -> list[str]:
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    removed: list[str] = []
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            removed += before.splitlines()[i1:i2]
    return removed


def test_template_keeps_every_comment_and_puts_settings_after_their_examples() -> None:
    template = fixture_text("template-1.5.toml")
    out = edit_config_toml(None, PRELOADED, R15, template=template)
    assert _removed_lines(template, out) == []  # nothing of the template is lost
    lines = out.splitlines()
    bundle = lines.index('trust_bundle_cert = "file:///var/aziot/certs/trust-bundle.pem"')
    assert lines[bundle - 1] == '# trust_bundle_cert = "file:///var/secrets/trust-bundle.pem"'
    header = lines.index("[edge_ca]")
    assert lines[header - 1].startswith('# pk = "pkcs11:')  # right after the preloaded example
    assert lines[header + 1].startswith('cert = "file:///var/aziot/certs/edge-ca.pem"')


def test_template_quickstart_goes_after_quickstart_example_and_renew_after_its_example() -> None:
    out = edit_config_toml(None, QUICKSTART, R15, template=fixture_text("template-1.5.toml"))
    lines = out.splitlines()
    header = lines.index("[edge_ca]")
    assert lines[header - 1] == "# auto_generated_edge_ca_expiry_days = 90"
    renew = lines.index("[edge_ca.auto_renew]")
    assert lines[renew - 1] == '# retry = "4%"'
    assert tomllib.loads(out)["edge_ca"] == {
        "auto_generated_edge_ca_expiry_days": 30,
        "auto_renew": {"rotate_key": True, "threshold": "80%", "retry": "4%"},
    }


def test_no_current_and_no_template_uses_our_template() -> None:
    out = edit_config_toml(None, PRELOADED, R15)
    assert _removed_lines(our_template(), out) == []
    assert tomllib.loads(out) == {
        "trust_bundle_cert": "file:///var/aziot/certs/trust-bundle.pem",
        "edge_ca": {"cert": "file:///var/aziot/certs/edge-ca.pem",
                    "pk": "file:///var/aziot/secrets/edge-ca.key.pem"},
    }


def test_switching_variant_removes_old_keys_and_keeps_everything_else() -> None:
    original = fixture_text("dps-x509.toml")
    out = edit_config_toml(original, PRELOADED, R15)
    data, before = tomllib.loads(out), tomllib.loads(original)
    assert data["edge_ca"] == {"cert": "file:///var/aziot/certs/edge-ca.pem",
                               "pk": "file:///var/aziot/secrets/edge-ca.key.pem"}
    for key in ("provisioning", "agent", "connect", "listen", "hostname"):
        assert data[key] == before[key]
    # Only the edge_ca lines went away; the [provisioning] text is byte-identical.
    assert set(_removed_lines(original, out)) == {
        "auto_generated_edge_ca_expiry_days = 90", "[edge_ca.auto_renew]", "rotate_key = true",
        'threshold = "80%"', 'retry = "4%"'}
    start = original.index("[provisioning]")
    end = original.index("[agent]")
    assert original[start:end] in out


def test_existing_value_keeps_its_trailing_comment() -> None:
    src = '[edge_ca]\ncert = "file:///old.pem"   # from the PKI\npk = "file:///old.key"\n'
    out = edit_config_toml(src, PRELOADED, R15)
    assert 'cert = "file:///var/aziot/certs/edge-ca.pem"   # from the PKI\n' in out


def test_pkcs11_sets_aziot_keys_in_place() -> None:
    out = edit_config_toml(fixture_text("pkcs11.toml"), HSM, R15)
    assert ('pkcs11_lib_path = "/usr/lib/softhsm/libsofthsm2.so"   # SoftHSM on the bench'
            in out)
    assert tomllib.loads(out)["aziot_keys"]["pkcs11_base_slot"] == (
        "pkcs11:token=edge?pin-value=4321")


def test_auto_renew_next_to_cert_and_pk_is_refused_with_reason() -> None:
    wanted = CertSettings(edge_ca=PRELOADED.edge_ca, auto_renew=AutoRenew())
    with pytest.raises(SettingsError) as info:
        edit_config_toml(None, wanted, R15)
    assert "ignores" in info.value.message
    assert "PKI" in info.value.hint


def test_auto_renew_refused_on_1_2() -> None:
    with pytest.raises(SettingsError, match="does not support"):
        edit_config_toml(None, QUICKSTART, release("1.2"))


def test_quickstart_auto_renew_without_rotate_key_refused() -> None:
    wanted = CertSettings(edge_ca=Quickstart(30), auto_renew=AutoRenew(False, "80%", "4%"))
    with pytest.raises(SettingsError, match="rotate_key"):
        edit_config_toml(None, wanted, R15)


def test_quickstart_zero_days_refused() -> None:
    with pytest.raises(SettingsError, match="at least 1"):
        edit_config_toml(None, CertSettings(edge_ca=Quickstart(0)), R15)


def test_legacy_release_refused() -> None:
    with pytest.raises(SettingsError, match=r"config\.yaml"):
        edit_config_toml(None, PRELOADED, release("1.1"))


def test_parse_error_has_line_and_column() -> None:
    src = 'hostname = "a"\n[edge_ca\ncert = "x"\n'
    with pytest.raises(ConfigParseError) as info:
        edit_config_toml(src, PRELOADED, R15, where="config.toml")
    assert info.value.line == 2
    assert info.value.col is not None
    assert info.value.where is not None and info.value.where.startswith("config.toml:2:")
    assert info.value.exit_code == 2


def test_inserted_item_falls_back_to_plain_tomlkit_when_anchor_is_unsafe() -> None:
    # The commented [edge_ca] example is followed by active keys of [agent]: inserting the
    # table there would swallow them, so the plain tomlkit placement must be used.
    src = '[agent]\nname = "edgeAgent"\n# [edge_ca]\n# cert = "file:///x"\ntype = "docker"\n'
    out = edit_config_toml(src, PRELOADED, R15)
    data = tomllib.loads(out)
    assert data["agent"] == {"name": "edgeAgent", "type": "docker"}
    assert data["edge_ca"]["cert"] == "file:///var/aziot/certs/edge-ca.pem"


# ---- hypothesis: idempotence and untouched sections ------------------------------------------

_days = st.integers(min_value=1, max_value=3650)
_policy = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 99), st.sampled_from(["%", "min",
                                                                                "day"]))
_path = st.from_regex(r"/var/aziot/(certs|secrets)/[a-z][a-z0-9 _-]{0,12}\.pem", fullmatch=True)


@st.composite
def _settings(draw: st.DrawFn) -> CertSettings:
    from core.config.uris import file_uri

    kind = draw(st.sampled_from(["preloaded", "quickstart", "self_signed", "local_ca"]))
    bundle = draw(st.none() | _path.map(file_uri))
    if kind == "preloaded":
        return CertSettings(Preloaded(file_uri(draw(_path)), file_uri(draw(_path))), bundle)
    renew = draw(st.none() | st.builds(AutoRenew, st.just(True), _policy, _policy))
    if kind == "quickstart":
        return CertSettings(Quickstart(draw(_days)), bundle, renew)
    return CertSettings(Issued(kind, common_name=draw(st.none() | st.just("edge.ca")),  # type: ignore[arg-type]
                               expiry_days=draw(st.none() | _days)), bundle, renew)


_SOURCES = ["template-1.5.toml", "dps-x509.toml", "manual-crlf.toml", "pkcs11.toml"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(_SOURCES), first=_settings(), second=_settings())
def test_edit_is_idempotent_and_leaves_other_sections_alone(
        source: str, first: CertSettings, second: CertSettings) -> None:
    original = fixture_text(source)
    once = edit_config_toml(original, first, R15)
    assert edit_config_toml(once, first, R15) == once
    again = edit_config_toml(edit_config_toml(once, second, R15), first, R15)
    # Settings describe the certificate state; a trust bundle left as None is left alone.
    ignored = {"trust_bundle_cert"} if first.trust_bundle_cert is None else set()
    assert ({k: v for k, v in tomllib.loads(again).items() if k not in ignored}
            == {k: v for k, v in tomllib.loads(once).items() if k not in ignored})
    data, base = tomllib.loads(again), tomllib.loads(original)
    for key in set(base) - {"edge_ca", "trust_bundle_cert"}:
        assert data[key] == base[key]
    if first.trust_bundle_cert is not None:
        assert data["trust_bundle_cert"] == first.trust_bundle_cert
    assert _provisioning_text(original) in again  # byte-for-byte


def _provisioning_text(text: str) -> str:
    """The [provisioning] tables' lines exactly as in the file ("" when there are none)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("["):
            inside = line.startswith("[provisioning")
        if inside:
            out.append(line)
    return "".join(out)


def test_inline_edge_ca_stays_inline_in_place() -> None:
    src = ('edge_ca = { cert = "file:///a.pem", pk = "file:///b.pem" }  # ours\n'
           '[provisioning]\nsource = "manual"\n')
    out = edit_config_toml(src, QUICKSTART, R15)
    first = out.splitlines()[0]
    assert first.startswith("edge_ca = {") and first.endswith("}  # ours")
    assert tomllib.loads(out)["edge_ca"] == {
        "auto_generated_edge_ca_expiry_days": 30,
        "auto_renew": {"rotate_key": True, "threshold": "80%", "retry": "4%"}}
    assert edit_config_toml(out, QUICKSTART, R15) == out


def test_existing_auto_renew_without_edge_ca_header() -> None:
    src = ('[provisioning]\nsource = "manual"\n\n[edge_ca.auto_renew]\nrotate_key = true\n'
           'threshold = "80%"\nretry = "4%"\n')
    out = edit_config_toml(src, PRELOADED, R15)
    assert tomllib.loads(out)["edge_ca"] == {"cert": "file:///var/aziot/certs/edge-ca.pem",
                                             "pk": "file:///var/aziot/secrets/edge-ca.key.pem"}
    assert out.startswith('trust_bundle_cert = "file:///var/aziot/certs/trust-bundle.pem"\n')
