"""Validate a 1.2+ config.toml the way the runtime will read it, and say where and how to fix it.

The runtime silently ignores unknown keys and only fails late (or never) on many mistakes, so
edgecert checks the sections it touches: top-level keys, ``trust_bundle_cert``, ``hostname``,
``[edge_ca]`` and ``[edge_ca.auto_renew]``, ``[aziot_keys]`` and ``[cert_issuance.est]``.
Each problem is a :class:`Finding` with a line, a column and a hint.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.config.errors import ConfigValidationError, RenewalPolicyError, UriError
from core.config.renewal import check_against_lifetime, parse_policy
from core.config.settings import (
    AUTO_RENEW_KEYS,
    AZIOT_KEYS_KEYS,
    EDGE_CA_KEYS,
    EST_AUTH_KEYS,
    EST_KEYS,
    TOP_LEVEL_KEYS,
)
from core.config.toml_edit import parse_toml
from core.config.uris import check_file_uri, is_pkcs11, parse_pkcs11_uri
from core.versions import EdgeRelease

Severity = Literal["error", "warning"]
CN_MAX_LENGTH = 64
"""certd truncates CNs to 64 characters, and ``aziotctl check`` wants a hostname that fits."""
_LABEL = re.compile(r"^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_IGNORED = "the runtime silently ignores keys it does not know"


@dataclass(frozen=True)
class Finding:
    """One problem in a configuration, with where it is and what to do."""

    severity: Severity
    message: str
    hint: str
    key: str | None = None
    """Dotted key the finding is about, e.g. ``edge_ca.auto_renew.threshold``."""
    line: int | None = None
    col: int | None = None

    def describe(self, where: str) -> str:
        """``file:line:col: severity: message`` plus the hint, for the CLI."""
        place = where
        if self.line is not None:
            place += f":{self.line}" + (f":{self.col}" if self.col is not None else "")
        return f"{place}: {self.severity}: {self.message}\n  hint: {self.hint}"


def errors_in(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Only the findings of severity ``error``."""
    return tuple(f for f in findings if f.severity == "error")


def raise_on_errors(findings: Iterable[Finding], *, where: str) -> None:
    """Raise one error listing every error finding (nothing is written after this).

    Raises:
        ConfigValidationError: at least one finding is an error.
    """
    errors = errors_in(findings)
    if errors:
        first = errors[0]
        raise ConfigValidationError(
            f"{len(errors)} configuration error(s); first: {first.message}",
            hint=first.hint, where=where, findings=errors,
        )


# ---- locating keys in the text (read-only) --------------------------------------------------


def locate_keys(text: str) -> dict[str, tuple[int, int]]:
    """Map dotted keys (``edge_ca.cert``) and table headers to their 1-based line and column."""
    where: dict[str, tuple[int, int]] = {}
    table: list[str] = []
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        col = len(raw) - len(raw.lstrip()) + 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            name = line.strip("[").split("]")[0]
            table = [_unquote(p) for p in name.split(".")]
            where.setdefault(".".join(table), (number, col))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        path = [*table, *(_unquote(p) for p in key.split("."))]
        where.setdefault(".".join(path), (number, col))
        for quote in ('"""', "'''"):
            if value.count(quote) % 2 == 1:
                in_multiline = quote
    return where


def _unquote(part: str) -> str:
    return part.strip().strip('"').strip("'")


class _Collector:
    def __init__(self, positions: Mapping[str, tuple[int, int]]) -> None:
        self.positions = positions
        self.findings: list[Finding] = []

    def add(self, severity: Severity, key: str | None, message: str, hint: str) -> None:
        line, col = self.positions.get(key or "", (None, None))
        if line is None and key and "." in key:
            line, col = self.positions.get(key.rsplit(".", 1)[0], (None, None))
        self.findings.append(Finding(severity, message, hint, key, line, col))

    def unknown_keys(self, table: Mapping[str, Any], known: Iterable[str], prefix: str,
                     severity: Severity = "error") -> None:
        known = sorted(known)
        for key in table:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            full = f"{prefix}.{key}" if prefix else key
            hint = f"Did you mean {close[0]!r}? " if close else f"Known keys: {', '.join(known)}. "
            self.add(severity, full, f"unknown key {full!r}: {_IGNORED}",
                     hint + "Fix the spelling or remove the key.")


# ---- individual rules -----------------------------------------------------------------------


def check_hostname(hostname: str, *, edge_ca_cn: str | None = None) -> list[Finding]:
    """Rules for ``hostname``: RFC 1035, at most 64 characters, not the edge CA's CN.

    Returns:
        Findings without position; :func:`check_config_toml` adds the line.
    """
    out: list[Finding] = []
    if len(hostname) > CN_MAX_LENGTH:
        out.append(Finding(
            "error", f"hostname is {len(hostname)} characters long (at most {CN_MAX_LENGTH})",
            "Use a shorter name: certd truncates certificate names at 64 characters.",
            "hostname"))
    try:
        ipaddress.ip_address(hostname)
        is_ip = True
    except ValueError:
        is_ip = False
    if not is_ip and not all(_LABEL.match(label) for label in hostname.split(".")):
        out.append(Finding(
            "warning", f"hostname {hostname!r} is not a valid RFC 1035 name",
            "Use letters, digits and hyphens; each label starts with a letter and does not end "
            "with a hyphen (no underscores).", "hostname"))
    if edge_ca_cn is not None and hostname.lower() == edge_ca_cn.lower():
        out.append(Finding(
            "error", f"hostname {hostname!r} equals the edge CA common name",
            'Give the edge CA its own name, e.g. "<name>.ca" as Microsoft\'s scripts do, so TLS '
            "clients never confuse the CA with edgeHub's server certificate.", "hostname"))
    return out


def _policy(col: _Collector, value: Any, key: str, field: str,
            lifetime: dt.timedelta | None) -> None:
    if not isinstance(value, str):
        col.add("error", key, f"{field} must be a string such as \"80%\"",
                'Quote the value: the runtime only accepts strings ("80%", "10min", "4day").')
        return
    try:
        policy = parse_policy(value, field=field)
        if lifetime is not None and field == "threshold":
            check_against_lifetime(policy, lifetime, field=field)
    except RenewalPolicyError as exc:
        col.add("error", key, exc.message, exc.hint)


def _uri(col: _Collector, value: Any, key: str, *, pkcs11_ok: bool, has_lib: bool) -> None:
    if not isinstance(value, str):
        col.add("error", key, f"{key} must be a string URI", 'Write it as "file:///path".')
        return
    try:
        if pkcs11_ok and is_pkcs11(value):
            parse_pkcs11_uri(value, key=key)
            if not has_lib:
                col.add("error", key, f"{key} is a PKCS#11 URI but [aziot_keys] has no "
                        "pkcs11_lib_path",
                        "Set [aziot_keys] pkcs11_lib_path to the HSM's PKCS#11 library, e.g. "
                        "--pkcs11-lib /usr/lib/libpkcs11.so.")
        else:
            check_file_uri(value, key=key)
    except UriError as exc:
        col.add("error", key, exc.message, exc.hint)


def _check_auto_renew(col: _Collector, renew: Any, release: EdgeRelease, variant: str,
                      lifetime: dt.timedelta | None) -> None:
    key = "edge_ca.auto_renew"
    if variant == "preloaded":
        col.add("error", key, f"[{key}] next to cert/pk is ignored by the runtime",
                "The runtime cannot renew a CA loaded from files: remove the table and renew "
                "the CA in your PKI (or use an issued edge CA for automatic renewal).")
        return
    if not release.auto_renew:
        col.add("error", key, f"{release.label} does not support [{key}]",
                "Remove the table, or upgrade to IoT Edge 1.3 or later.")
        return
    if not isinstance(renew, Mapping):
        col.add("error", key, f"{key} must be a table", f"Write it as [{key}].")
        return
    col.unknown_keys(renew, AUTO_RENEW_KEYS, key)
    missing = [k for k in AUTO_RENEW_KEYS if k not in renew]
    if missing:
        col.add("error", key, f"[{key}] lacks {', '.join(missing)}",
                "The runtime requires rotate_key, threshold and retry together, e.g. "
                'rotate_key = true, threshold = "80%", retry = "4%".')
    if "rotate_key" in renew:
        if not isinstance(renew["rotate_key"], bool):
            col.add("error", f"{key}.rotate_key", "rotate_key must be true or false",
                    "Write rotate_key = true (no quotes).")
        elif variant == "quickstart" and renew["rotate_key"] is not True:
            col.add("error", f"{key}.rotate_key", "a quickstart edge CA needs rotate_key = true",
                    "Set rotate_key = true: the runtime requires it for auto-generated CAs.")
    for field in ("threshold", "retry"):
        if field in renew:
            _policy(col, renew[field], f"{key}.{field}", field, lifetime)


def _check_edge_ca(col: _Collector, data: Mapping[str, Any], release: EdgeRelease,
                   lifetime: dt.timedelta | None, edge_ca_cn: str | None) -> str | None:
    """Returns the edge CA common name found in the config, if any."""
    ca = data["edge_ca"]
    if not isinstance(ca, Mapping):
        col.add("error", "edge_ca", "edge_ca must be a table", "Write it as [edge_ca].")
        return None
    col.unknown_keys(ca, EDGE_CA_KEYS, "edge_ca")
    has_lib = isinstance(data.get("aziot_keys"), Mapping) and "pkcs11_lib_path" in data[
        "aziot_keys"]
    preloaded = [k for k in ("cert", "pk") if k in ca]
    quick = "auto_generated_edge_ca_expiry_days" in ca
    issued = "method" in ca
    variant: str
    if issued:
        variant = "issued"
        for other in [*preloaded, *(["auto_generated_edge_ca_expiry_days"] if quick else [])]:
            col.add("error", f"edge_ca.{other}", f"edge_ca.{other} mixed with method: the "
                    "runtime uses the issued variant and ignores it",
                    "Keep exactly one [edge_ca] variant: remove this key or the method.")
        method = ca["method"]
        if method not in ("est", "local_ca", "self_signed"):
            col.add("error", "edge_ca.method", f"edge_ca.method {method!r} is not known",
                    'Use "est", "local_ca" or "self_signed".')
        expiry = ca.get("expiry_days")
        if expiry is not None and (not isinstance(expiry, int) or expiry < 1):
            col.add("error", "edge_ca.expiry_days", "expiry_days must be greater than 0",
                    "Give a whole number of days, e.g. 90.")
        elif isinstance(expiry, int) and lifetime is None:
            lifetime = dt.timedelta(days=expiry)
        if method == "est":
            if expiry is not None:
                col.add("warning", "edge_ca.expiry_days", "expiry_days is ignored for EST",
                        "The EST server decides the lifetime; remove expiry_days.")
            urls = data.get("cert_issuance", {}).get("est", {}).get("urls", {})
            if "url" not in ca and "default" not in urls:
                col.add("error", "edge_ca", "EST edge CA without a server URL",
                        "Set edge_ca.url or [cert_issuance.est.urls] default.")
            if str(ca.get("url", "https:")).startswith("http:"):
                col.add("warning", "edge_ca.url", "EST URL is not HTTPS",
                        "Use https:// so the EST password and keys are not sent in clear.")
        if method == "local_ca" and "local_ca" not in data.get("cert_issuance", {}):
            col.add("error", "edge_ca.method", 'method = "local_ca" needs [cert_issuance.local_ca]',
                    "Configure the local CA's cert and pk in [cert_issuance.local_ca].")
        for key in ("identity_cert", "bootstrap_identity_cert"):
            if key in ca:
                _uri(col, ca[key], f"edge_ca.{key}", pkcs11_ok=False, has_lib=has_lib)
        for key in ("identity_pk", "bootstrap_identity_pk"):
            if key in ca:
                _uri(col, ca[key], f"edge_ca.{key}", pkcs11_ok=True, has_lib=has_lib)
    elif preloaded:
        variant = "preloaded"
        if quick:
            col.add("error", "edge_ca.auto_generated_edge_ca_expiry_days",
                    "auto_generated_edge_ca_expiry_days mixed with cert/pk: ignored",
                    "Keep exactly one [edge_ca] variant: remove this key or cert/pk.")
        for key in ("cert", "pk"):
            if key not in ca:
                col.add("error", "edge_ca", f"[edge_ca] has {preloaded[0]} but no {key}",
                        "A preloaded edge CA needs both cert and pk.")
        if "cert" in ca:
            _uri(col, ca["cert"], "edge_ca.cert", pkcs11_ok=False, has_lib=has_lib)
        if "pk" in ca:
            _uri(col, ca["pk"], "edge_ca.pk", pkcs11_ok=True, has_lib=has_lib)
        for key in ("common_name", "subject"):
            if key in ca:
                col.add("error", f"edge_ca.{key}", f"edge_ca.{key} is ignored with cert/pk",
                        "The subject comes from the certificate file; remove this key.")
    elif quick:
        variant = "quickstart"
        days = ca["auto_generated_edge_ca_expiry_days"]
        if not isinstance(days, int) or days < 1:
            col.add("error", "edge_ca.auto_generated_edge_ca_expiry_days",
                    "auto_generated_edge_ca_expiry_days must be at least 1",
                    "Give a whole number of days, e.g. 90.")
        elif lifetime is None:
            lifetime = dt.timedelta(days=days)
        col.add("warning", "edge_ca", "quickstart edge CA: not for production",
                "Use your own edge CA (cert/pk from your PKI) or an issued one for production.")
    else:
        col.add("error", "edge_ca", "[edge_ca] matches no variant: the runtime will refuse it",
                "Add cert + pk, a method, or auto_generated_edge_ca_expiry_days; or remove "
                "[edge_ca] entirely to get the default quickstart CA.")
        return None
    if "auto_renew" in ca:
        _check_auto_renew(col, ca["auto_renew"], release, variant, lifetime)
    cn = ca.get("common_name")
    if isinstance(cn, str):
        if len(cn) > CN_MAX_LENGTH:
            col.add("warning", "edge_ca.common_name",
                    f"edge_ca.common_name is longer than {CN_MAX_LENGTH} characters",
                    "certd truncates it; use a shorter name.")
        return cn
    return edge_ca_cn


def _check_est(col: _Collector, est: Any) -> None:
    key = "cert_issuance.est"
    if not isinstance(est, Mapping):
        col.add("error", key, f"{key} must be a table", f"Write it as [{key}].")
        return
    col.unknown_keys(est, EST_KEYS, key)
    for uri in est.get("trusted_certs", []):
        _uri(col, uri, f"{key}.trusted_certs", pkcs11_ok=False, has_lib=True)
    auth = est.get("auth", {})
    if isinstance(auth, Mapping):
        col.unknown_keys(auth, EST_AUTH_KEYS, f"{key}.auth")
        if not auth:
            col.add("error", f"{key}.auth", "EST authentication is empty",
                    "Give username + password and/or an identity (or bootstrap identity) "
                    "cert + pk.")
    urls = est.get("urls", {})
    if isinstance(urls, Mapping):
        for name, url in urls.items():
            if isinstance(url, str) and url.startswith("http:"):
                col.add("warning", f"{key}.urls.{name}", "EST URL is not HTTPS",
                        "Use https:// so credentials are not sent in clear.")


def check_config_toml(text: str, release: EdgeRelease, *, where: str = "config.toml",
                      cert_lifetime: dt.timedelta | None = None,
                      edge_ca_cn: str | None = None,
                      for_deploy: bool = False) -> tuple[Finding, ...]:
    """Check a config.toml (typically the one edgecert is about to write).

    Args:
        text: the file text.
        release: the device's IoT Edge release.
        where: file name for messages.
        cert_lifetime: lifetime of the edge CA certificate, to check a time threshold.
        edge_ca_cn: CN of the edge CA certificate, to compare with ``hostname``.
        for_deploy: the file is about to be applied: a missing ``[provisioning]`` is an error
            (``iotedge config apply`` refuses it) instead of a warning.

    Returns:
        Every finding, errors and warnings, in file order where known.

    Raises:
        ConfigParseError: the text is not TOML (line and column in ``where``).
    """
    data = parse_toml(text, where=where).unwrap()
    col = _Collector(locate_keys(text))
    col.unknown_keys(data, TOP_LEVEL_KEYS, "")
    if "provisioning" not in data:
        col.add("error" if for_deploy else "warning", None,
                "no [provisioning] section: iotedge config apply refuses the file",
                "Provision the device first (e.g. sudo iotedge config mp --connection-string "
                "'…'), then set the certificates on that config.")
    if "trust_bundle_cert" in data:
        _uri(col, data["trust_bundle_cert"], "trust_bundle_cert", pkcs11_ok=False, has_lib=True)
    aziot_keys = data.get("aziot_keys")
    if isinstance(aziot_keys, Mapping):
        col.unknown_keys(aziot_keys, AZIOT_KEYS_KEYS, "aziot_keys", severity="warning")
        slot = aziot_keys.get("pkcs11_base_slot")
        if isinstance(slot, str):
            _uri(col, slot, "aziot_keys.pkcs11_base_slot", pkcs11_ok=True,
                 has_lib="pkcs11_lib_path" in aziot_keys)
    issuance = data.get("cert_issuance")
    if isinstance(issuance, Mapping) and "est" in issuance:
        _check_est(col, issuance["est"])
    cn = edge_ca_cn
    if "edge_ca" in data:
        cn = _check_edge_ca(col, data, release, cert_lifetime, edge_ca_cn)
    hostname = data.get("hostname")
    if isinstance(hostname, str):
        for finding in check_hostname(hostname, edge_ca_cn=cn):
            col.add(finding.severity, "hostname", finding.message, finding.hint)
    return tuple(sorted(col.findings, key=lambda f: (f.line or 0, f.col or 0)))
