"""1.1 → 1.2+: the certificate mapping of `iotedge config import`."""

from __future__ import annotations

import tomllib

import pytest
from configtest_support import fixture_text

from core.config.errors import UriError
from core.config.migrate import migrate_config_yaml
from core.config.settings import AutoRenew, Preloaded, Quickstart
from core.errors import ConfigParseError

FULL = """certificates:
  device_ca_cert: "file:///var/aziot/certs/edge-ca.pem"
  device_ca_pk: "/var/aziot/secrets/edge ca.key.pem"
  trusted_ca_certs: "file:///var/aziot/certs/root.pem"
"""


def test_all_three_become_preloaded_and_trust_bundle() -> None:
    m = migrate_config_yaml(FULL)
    assert m.findings == ()
    assert m.settings is not None
    assert m.settings.edge_ca == Preloaded("file:///var/aziot/certs/edge-ca.pem",
                                           "file:///var/aziot/secrets/edge%20ca.key.pem")
    assert tomllib.loads(m.to_toml()) == {
        "trust_bundle_cert": "file:///var/aziot/certs/root.pem",
        "edge_ca": {"cert": "file:///var/aziot/certs/edge-ca.pem",
                    "pk": "file:///var/aziot/secrets/edge%20ca.key.pem"}}


def test_partial_triple_becomes_quickstart_with_warning() -> None:
    m = migrate_config_yaml(fixture_text("legacy-windows-crlf.yaml"))
    assert m.settings is not None
    assert m.settings.edge_ca == Quickstart(30)
    assert m.settings.auto_renew == AutoRenew(True, "80%", "4%")
    assert "device_ca_pk, trusted_ca_certs" in m.findings[0].message
    assert tomllib.loads(m.to_toml())["edge_ca"]["auto_generated_edge_ca_expiry_days"] == 30


def test_commented_section_means_no_edge_ca() -> None:
    m = migrate_config_yaml(fixture_text("legacy-1.1.yaml"))
    assert m.settings is None
    assert "quickstart" in m.findings[0].message
    assert tomllib.loads(m.to_toml()) == {}


def test_empty_section_is_quickstart_90() -> None:
    m = migrate_config_yaml("certificates:\n")
    assert m.settings is not None and m.settings.edge_ca == Quickstart(90)


def test_other_scheme_rejected_like_import() -> None:
    with pytest.raises(UriError, match="https"):
        migrate_config_yaml(FULL.replace("file:///var/aziot/certs/root.pem",
                                         "https://example.org/root.pem"))


def test_windows_plain_path() -> None:
    m = migrate_config_yaml(FULL.replace('"/var/aziot/secrets/edge ca.key.pem"',
                                         '"C:\\\\certs\\\\ca.key.pem"'))
    assert m.settings is not None and isinstance(m.settings.edge_ca, Preloaded)
    assert m.settings.edge_ca.pk == "file:///C:/certs/ca.key.pem"


def test_bad_lifetime() -> None:
    with pytest.raises(ConfigParseError, match="whole number"):
        migrate_config_yaml("certificates:\n  auto_generated_ca_lifetime_days: 70000\n")
