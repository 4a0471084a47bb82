"""Edit the ``certificates:`` block of a 1.1 ``config.yaml``; everything else stays byte-for-byte.

ruamel.yaml (round-trip mode, YAML 1.1 as the 1.1 runtime reads it) parses the file, renders the
new block and checks the result. The new block replaces the active ``certificates:`` block, or
the commented-out ``# certificates:`` lines of the template (uncommenting them in place, the
way the docs describe it), or goes at the end when neither exists. The result must load to the
original data with only ``certificates`` changed, or nothing is returned.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import AliasToken, AnchorToken

from core.config.errors import SettingsError
from core.config.settings import CertSettings, Preloaded, Quickstart
from core.config.toml_edit import check_size, newline_of, split_bom
from core.config.validate import Finding, config_finding
from core.errors import ConfigError, ConfigParseError
from core.resources import read_resource

TEMPLATE_RESOURCE = "templates/config.yaml"
TRIPLE = ("device_ca_cert", "device_ca_pk", "trusted_ca_certs")
CERT_KEYS = (*TRIPLE, "auto_generated_ca_lifetime_days")


@dataclass(frozen=True)
class LegacyCertificates:
    """The 1.1 ``certificates:`` values; None leaves a value as it is in the file."""

    device_ca_cert: str | None = None
    device_ca_pk: str | None = field(default=None, repr=False)
    trusted_ca_certs: str | None = None
    auto_generated_ca_lifetime_days: int | None = None


def legacy_from_settings(settings: CertSettings) -> LegacyCertificates:
    """Map 1.2+-style settings onto the 1.1 block (preloaded CA + trust bundle, or quickstart).

    Raises:
        SettingsError: an issued edge CA, auto-renewal or PKCS#11 (none exist in 1.1).
    """
    if settings.auto_renew is not None:
        raise SettingsError("IoT Edge 1.1 cannot renew its device CA automatically",
                            hint="Leave out the renewal options for a 1.1 device.")
    if settings.pkcs11 is not None or settings.est is not None:
        raise SettingsError("IoT Edge 1.1 has no PKCS#11 or EST settings in config.yaml",
                            hint="Use device CA files, or upgrade the device to 1.4 or later.")
    ca = settings.edge_ca
    if isinstance(ca, Preloaded):
        return LegacyCertificates(ca.cert, ca.pk, settings.trust_bundle_cert)
    if isinstance(ca, Quickstart):
        return LegacyCertificates(auto_generated_ca_lifetime_days=ca.expiry_days)
    raise SettingsError(f"IoT Edge 1.1 cannot use an issued device CA (method {ca.method})",
                        hint="Give device CA files, or upgrade the device to 1.4 or later.")


def our_template() -> str:
    """edgecert's own 1.1 config.yaml template (resources/templates/config.yaml)."""
    return read_resource(TEMPLATE_RESOURCE).decode("utf-8")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.version = (1, 1)
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


MAX_ALIASES = 20
"""Anchors plus aliases accepted in a config.yaml: a real one has none; each alias can double
what a naive reader expands (a "billion laughs" file from a hostile device)."""
MAX_NODES = 100_000
"""Values a config.yaml may expand to when compared (far above any real one)."""
_TOML_LINE = re.compile(r"^\s*(\[[A-Za-z0-9_.\"]+\]|[A-Za-z0-9_]+\s*=)", re.MULTILINE)
_TOML_HINT = ("This looks like a 1.2+ config.toml, not IoT Edge 1.1's config.yaml: choose the "
              "device's IoT Edge version (e.g. --iotedge 1.5) for it.")


def looks_like_toml(text: str) -> bool:
    """Whether the text has TOML table headers or ``key = value`` lines (a 1.2+ config)."""
    return bool(_TOML_LINE.search(text))


def _check_aliases(text: str, where: str) -> None:
    """Count anchors and aliases with the scanner (linear; nothing is expanded).

    Raises:
        ConfigParseError: more than ``MAX_ALIASES``.
    """
    if "&" not in text and "*" not in text:
        return
    count = 0
    for token in _yaml().scan(text):
        if isinstance(token, AliasToken | AnchorToken):
            count += 1
            if count > MAX_ALIASES:
                raise ConfigParseError(
                    f"config.yaml uses more than {MAX_ALIASES} YAML anchors/aliases",
                    hint="A device's config.yaml needs none: write the values out (a file "
                         "full of aliases can expand to gigabytes).",
                    where=where, line=token.start_mark.line + 1)


def load_yaml(text: str, *, where: str = "config.yaml") -> Any:
    """Load config.yaml text (round-trip types).

    Raises:
        ConfigParseError: not YAML, with line and column.
    """
    check_size(text, where)
    text = split_bom(text)[1]
    try:
        _check_aliases(text, where)
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigParseError(
            f"not valid YAML: {exc.problem or exc.context}",
            hint=_TOML_HINT if _TOML_LINE.search(text) else
            "Check indentation (spaces only, children two spaces in) and quotes.",
            where=where, line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
        ) from exc
    except YAMLError as exc:
        raise ConfigParseError(f"not valid YAML: {exc}", hint="Check the file's syntax.",
                               where=where) from exc


def _plain(data: Any, budget: list[int] | None = None, where: str = "config.yaml") -> Any:
    """Plain Python values of loaded YAML, expanding at most ``MAX_NODES`` values."""
    if budget is None:
        budget = [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigParseError(
            f"config.yaml expands to more than {MAX_NODES} values",
            hint="A device's config.yaml is far smaller: check the file (anchors and aliases "
                 "that repeat each other?).", where=where)
    if isinstance(data, dict):
        return {str(k): _plain(v, budget, where) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v, budget, where) for v in data]
    if isinstance(data, str):
        return str(data)
    return data


def _render_block(values: dict[str, Any], nl: str) -> str:
    block = CommentedMap()
    inner = CommentedMap()
    for key in CERT_KEYS:
        if key in values:
            value = values[key]
            inner[key] = DoubleQuotedScalarString(value) if isinstance(value, str) else value
    block["certificates"] = inner
    out = io.StringIO()
    yaml = _yaml()
    yaml.version = None  # no "%YAML 1.1" directive in a fragment
    yaml.dump(block, out)
    return out.getvalue().replace("\n", nl)


def _uncomment(line: str) -> str | None:
    stripped = line.rstrip("\r\n")
    if not stripped.startswith("#"):
        return None
    return stripped[1:]


def _active_block(lines: list[str]) -> tuple[int, int] | None:
    for i, line in enumerate(lines):
        if line.startswith("certificates:"):
            end = i
            for j in range(i + 1, len(lines)):
                text = lines[j].rstrip("\r\n")
                if not text.strip():
                    continue
                if not text[0].isspace():
                    break
                end = j
            return i, end
    return None


def _commented_block(lines: list[str]) -> tuple[int, int] | None:
    """The ``# certificates:`` line and the commented, indented child lines right after it."""
    for i, line in enumerate(lines):
        body = _uncomment(line)
        if body is None or body.strip() != "certificates:" or body.startswith("  "):
            continue
        end = i
        for j in range(i + 1, len(lines)):
            child = _uncomment(lines[j])
            if child is None or not child.startswith("  ") or ":" not in child:
                break
            key = child.strip().split(":")[0]
            if key not in CERT_KEYS:
                break
            end = j
        return i, end
    return None


def edit_config_yaml(current: str | None, certs: LegacyCertificates, *,
                     where: str = "config.yaml") -> tuple[str, tuple[Finding, ...]]:
    """The new config.yaml with the ``certificates:`` block set.

    Args:
        current: the device's config.yaml text, or None to start from edgecert's template.
        certs: the values to set (None keeps a value already in the file).
        where: file name for messages.

    Returns:
        The new text (same line endings) and warnings, e.g. a partial device CA triple that
        the runtime would silently replace by quickstart certificates.

    Raises:
        ConfigParseError: the file is not YAML or its top level is not a mapping.
        ConfigError: the edit would change more than the certificates block (not expected).
    """
    text = current if current is not None else our_template()
    check_size(text, where)
    bom, text = split_bom(text)
    nl = newline_of(text)
    data = load_yaml(text, where=where)
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise ConfigParseError("config.yaml is not a mapping of settings",
                               hint=_TOML_HINT if _TOML_LINE.search(text) else
                               "Start again from the device's config.yaml template.",
                               where=where)
    existing = data.get("certificates") or {}
    values: dict[str, Any] = {k: existing[k] for k in CERT_KEYS if k in existing}
    for key in CERT_KEYS:
        value = getattr(certs, key)
        if value is not None:
            values[key] = value
    block = _render_block(values, nl)

    lines = text.splitlines(keepends=True)
    span = _active_block(lines) or _commented_block(lines)
    if span is not None:
        start, end = span
        new_text = "".join(lines[:start]) + block + "".join(lines[end + 1:])
    else:
        sep = "" if not text or text.endswith(("\n", "\r")) else nl
        new_text = text + sep + nl + block

    expected = _plain(data, where=where)
    expected["certificates"] = _plain(values, where=where)
    got = _plain(load_yaml(new_text, where=where), where=where)
    if got != expected:
        raise ConfigError(
            "editing the certificates block would change other settings",
            hint="Check the indentation around certificates: in the file, then try again.",
            where=where,
        )
    return bom + new_text, tuple(_legacy_findings(values))


def _legacy_findings(values: dict[str, Any]) -> list[Finding]:
    present = [k for k in TRIPLE if values.get(k)]
    out: list[Finding] = []
    if present and len(present) < len(TRIPLE):
        missing = [k for k in TRIPLE if k not in present]
        out.append(config_finding(
            "warning",
            f"certificates: sets {', '.join(present)} but not {', '.join(missing)}: "
            "the runtime silently falls back to quickstart certificates",
            "Set device_ca_cert, device_ca_pk and trusted_ca_certs together.",
            "certificates"))
    if not present:
        out.append(config_finding(
            "warning", "no device CA files: quickstart certificates are not for production",
            "Give device_ca_cert, device_ca_pk and trusted_ca_certs from your own chain.",
            "certificates"))
    return out

