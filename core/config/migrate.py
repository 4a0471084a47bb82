"""Show what ``iotedge config import`` makes of a 1.1 ``certificates:`` block, before running it.

The mapping follows the runtime's import code: all three of ``device_ca_cert``,
``device_ca_pk`` and ``trusted_ca_certs`` become a preloaded edge CA plus ``trust_bundle_cert``;
a section with an incomplete triple silently becomes a quickstart CA (lifetime from
``auto_generated_ca_lifetime_days``, default 90, with the default auto-renewal); no section
means no ``[edge_ca]`` at all (the runtime then uses quickstart with 90 days).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

import tomlkit

from core.config.errors import UriError
from core.config.settings import (
    DEFAULT_QUICKSTART_DAYS,
    AutoRenew,
    CertSettings,
    Preloaded,
    Quickstart,
    edge_ca_table,
)
from core.config.uris import file_uri
from core.config.validate import Finding, config_finding
from core.config.yaml_edit import TRIPLE, load_yaml
from core.errors import ConfigParseError

U16_MAX = 65535
"""``auto_generated_ca_lifetime_days`` is a u16 in the import code."""


@dataclass(frozen=True)
class Migration:
    """The 1.2+ certificate settings ``iotedge config import`` would write."""

    settings: CertSettings | None
    """None: no ``[edge_ca]`` is written (quickstart, 90 days, at apply time)."""
    findings: tuple[Finding, ...]

    def to_toml(self) -> str:
        """The certificate part of the config.toml import writes, rendered by tomlkit."""
        doc = tomlkit.document()
        if self.settings is None:
            doc.add(tomlkit.comment("no [edge_ca]: the runtime uses a quickstart edge CA, "
                                    f"{DEFAULT_QUICKSTART_DAYS} days, with auto-renewal"))
            return tomlkit.dumps(doc)
        if self.settings.trust_bundle_cert is not None:
            doc.add("trust_bundle_cert", self.settings.trust_bundle_cert)
            doc.add(tomlkit.nl())
        table = tomlkit.table()
        for key, value in edge_ca_table(self.settings.edge_ca).items():
            table.add(key, value)
        if self.settings.auto_renew is not None:
            renew = tomlkit.table()
            renew.add("rotate_key", self.settings.auto_renew.rotate_key)
            renew.add("threshold", self.settings.auto_renew.threshold)
            renew.add("retry", self.settings.auto_renew.retry)
            table.add("auto_renew", renew)
        doc.add("edge_ca", table)
        return tomlkit.dumps(doc)


def _as_uri(value: Any, key: str, where: str) -> str:
    """A plain path or file:// URI, as the import reads it, as a file:// URI."""
    text = str(value)
    scheme = urllib.parse.urlsplit(text).scheme
    if scheme == "file":
        return text
    if scheme and len(scheme) > 1:
        raise UriError(
            f"certificates.{key} has the scheme {scheme!r}",
            hint='iotedge config import only accepts plain paths and "file://" URIs.',
            where=where,
        )
    return file_uri(text)


def migrate_config_yaml(text: str, *, where: str = "config.yaml") -> Migration:
    """Map a 1.1 config.yaml's certificates the way ``iotedge config import`` does.

    Args:
        text: the 1.1 config.yaml text.
        where: file name for messages.

    Returns:
        The resulting settings and warnings (partial triple, quickstart, no certificates).

    Raises:
        ConfigParseError: the file is not YAML, or the lifetime is not a number import accepts.
        UriError: a certificate path uses a scheme other than file://.
    """
    data = load_yaml(text, where=where) or {}
    if not isinstance(data, dict):
        raise ConfigParseError("config.yaml is not a mapping of settings",
                               hint="Check the file is the device's 1.1 config.yaml.",
                               where=where)
    if "certificates" not in data:
        return Migration(None, (config_finding(
            "warning", "no certificates: section: after import the device uses a quickstart "
            "edge CA (90 days), not for production",
            "Give the device your own edge CA after the upgrade (edgecert config diff).",
            "certificates"),))
    certs = data.get("certificates") or {}
    present = {k: certs[k] for k in TRIPLE if certs.get(k)}
    if len(present) == len(TRIPLE):
        return Migration(CertSettings(
            edge_ca=Preloaded(_as_uri(present["device_ca_cert"], "device_ca_cert", where),
                              _as_uri(present["device_ca_pk"], "device_ca_pk", where)),
            trust_bundle_cert=_as_uri(present["trusted_ca_certs"], "trusted_ca_certs", where),
        ), ())
    days = certs.get("auto_generated_ca_lifetime_days", DEFAULT_QUICKSTART_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= U16_MAX:
        raise ConfigParseError(
            f"auto_generated_ca_lifetime_days {days!r} is not a whole number of days",
            hint=f"Use a number from 1 to {U16_MAX}; import refuses anything else.",
            where=where,
        )
    findings = [config_finding(
        "warning", "quickstart edge CA after import: not for production",
        "Give the device your own edge CA after the upgrade (edgecert config diff).",
        "certificates")]
    if present:
        missing = [k for k in TRIPLE if k not in present]
        findings.insert(0, config_finding(
            "warning",
            f"certificates: has {', '.join(present)} but not {', '.join(missing)}: import "
            "silently turns this into a quickstart edge CA and drops your files",
            "Add the missing keys before running iotedge config import.", "certificates"))
    return Migration(CertSettings(edge_ca=Quickstart(days), auto_renew=AutoRenew()),
                     tuple(findings))
