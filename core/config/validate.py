"""Validate a 1.2+ config.toml the way the runtime will read it, and say where and how to fix it.

The whole file is checked, not only what edgecert changes: a setting kept from the device that
``iotedge config apply`` (or aziot-keyd / aziot-certd at start) refuses makes the written file
useless. The rules follow the runtime's own types (Azure/iotedge
``edgelet/iotedge/src/config/super_config.rs``, Azure/iot-identity-service
``aziotctl/aziotctl-common/src/config/super_config.rs`` and ``apply.rs``); where edgecert is
stricter than the runtime the finding says why (README, "Stricter than the runtime").
Keys the runtime ignores get a warning, except in ``[aziot_keys]``, where keyd refuses them.
Each problem is a :class:`Finding` with a line, a column and a hint.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.config.errors import ConfigValidationError, RenewalPolicyError, UriError
from core.config.renewal import check_against_lifetime, parse_policy
from core.config.settings import (
    AUTO_RENEW_KEYS,
    EDGE_CA_KEYS,
    EST_AUTH_KEYS,
    EST_KEYS,
    TOP_LEVEL_KEYS,
)
from core.config.toml_edit import parse_toml
from core.config.uris import (
    check_file_uri,
    file_uri_advice,
    is_pkcs11,
    parse_pkcs11_uri,
    url_problem,
)
from core.findings import Finding as Finding  # re-exported
from core.findings import Severity as Severity  # re-exported
from core.versions import EdgeRelease

CN_MAX_LENGTH = 64
"""certd truncates CNs to 64 characters, and ``aziotctl check`` wants a hostname that fits."""
_LABEL = re.compile(r"^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_IGNORED = "the runtime silently ignores keys it does not know"
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
MAX_TIMEDELTA_DAYS = 999_999_999
"""Beyond this a lifetime in days cannot be a ``datetime.timedelta``: no lifetime check then."""


def config_finding(severity: Severity, message: str, hint: str, key: str | None = None,
                   line: int | None = None, col: int | None = None) -> Finding:
    """A configuration finding: about ``key``, at ``line``:``col`` once known."""
    return Finding(severity, "config", message, hint, key=key, line=line, col=col)


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
        self.findings.append(config_finding(severity, message, hint, key, line, col))

    def unknown_keys(self, table: Mapping[str, Any], known: Iterable[str], prefix: str,
                     severity: Severity = "warning", reason: str = _IGNORED) -> None:
        known = sorted(known)
        for key in table:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            full = f"{prefix}.{key}" if prefix else key
            hint = f"Did you mean {close[0]!r}? " if close else f"Known keys: {', '.join(known)}. "
            self.add(severity, full, f"unknown key {full!r}: {reason}",
                     hint + "Fix the spelling or remove the key.")


# ---- individual rules -----------------------------------------------------------------------


def check_hostname(hostname: str, *, edge_ca_cn: str | None = None) -> list[Finding]:
    """Rules for ``hostname``: RFC 1035, at most 64 characters, not the edge CA's CN.

    Returns:
        Findings without position; :func:`check_config_toml` adds the line.
    """
    out: list[Finding] = []
    if len(hostname) > CN_MAX_LENGTH:
        out.append(config_finding(
            "error", f"hostname is {len(hostname)} characters long (at most {CN_MAX_LENGTH})",
            "Use a shorter name: certd truncates certificate names at 64 characters.",
            "hostname"))
    try:
        ipaddress.ip_address(hostname)
        is_ip = True
    except ValueError:
        is_ip = False
    if not is_ip and not all(_LABEL.match(label) for label in hostname.split(".")):
        out.append(config_finding(
            "warning", f"hostname {hostname!r} is not a valid RFC 1035 name",
            "Use letters, digits and hyphens; each label starts with a letter and does not end "
            "with a hyphen (no underscores).", "hostname"))
    if edge_ca_cn is not None and hostname.lower() == edge_ca_cn.lower():
        out.append(config_finding(
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
                # The runtime parses such a config, but keyd cannot open the HSM without the
                # library: the first use of the key fails (facts §12.4).
                col.add("error", key, f"{key} is a PKCS#11 URI but [aziot_keys] has no "
                        "pkcs11_lib_path",
                        "Set [aziot_keys] pkcs11_lib_path to the HSM's PKCS#11 library, e.g. "
                        "--pkcs11-lib /usr/lib/libpkcs11.so: without it aziot-keyd cannot "
                        "load the key.")
        else:
            check_file_uri(value, key=key)
            advice = file_uri_advice(value)
            if advice:
                col.add("warning", key, f"{key} {value!r} is not written canonically",
                        advice[0].upper() + advice[1:] + ".")
    except UriError as exc:
        col.add("error", key, exc.message, exc.hint)


def _url(col: _Collector, value: Any, key: str, *, schemes: tuple[str, ...] = ()) -> None:
    """A value the runtime deserializes as ``url::Url`` (optionally of given schemes)."""
    if not isinstance(value, str):
        col.add("error", key, f"{key} must be a string URL", 'Write it as "https://host/path".')
        return
    problem = url_problem(value)
    if problem:
        col.add("error", key, f"{key} {value!r} is not a URL the runtime accepts ({problem})",
                "Write a full URL with its scheme, e.g. https://est.example.org/.well-known/est.")
        return
    scheme = value.strip().split(":", 1)[0].lower()
    if schemes and scheme not in schemes:
        col.add("error", key, f"{key}: the runtime does not support the {scheme!r} scheme here",
                f"Use a {' or '.join(s + ':' for s in schemes)} URL.")


def _check_auto_renew(col: _Collector, renew: Any, release: EdgeRelease, variant: str,
                      lifetime: dt.timedelta | None) -> None:
    key = "edge_ca.auto_renew"
    if variant == "preloaded":
        col.add("warning", key, f"[{key}] next to cert/pk is ignored by the runtime",
                "The runtime cannot renew a CA loaded from files: remove the table and renew "
                "the CA in your PKI (or use an issued edge CA for automatic renewal).")
        return
    if not release.auto_renew:
        col.add("warning", key, f"{release.label} does not support [{key}]: it is ignored",
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
            col.add("warning", f"edge_ca.{other}", f"edge_ca.{other} mixed with method: the "
                    "runtime uses the issued variant and ignores it",
                    "Keep exactly one [edge_ca] variant: remove this key or the method.")
        method = ca["method"]
        if method not in ("est", "local_ca", "self_signed"):
            col.add("error", "edge_ca.method", f"edge_ca.method {method!r} is not known",
                    'Use "est", "local_ca" or "self_signed".')
        expiry = ca.get("expiry_days")
        if expiry is not None and (not _is_int(expiry) or not 1 <= expiry <= U32_MAX):
            col.add("error", "edge_ca.expiry_days",
                    "expiry_days must be greater than 0 and at most 4294967295 (the runtime's "
                    "u32)", "Give a whole number of days, e.g. 90.")
        elif isinstance(expiry, int) and lifetime is None and expiry <= MAX_TIMEDELTA_DAYS:
            lifetime = dt.timedelta(days=expiry)
        if method == "est":
            if expiry is not None:
                col.add("warning", "edge_ca.expiry_days", "expiry_days is ignored for EST",
                        "The EST server decides the lifetime; remove expiry_days.")
            urls = data.get("cert_issuance", {}).get("est", {}).get("urls", {})
            if "url" not in ca and "default" not in urls:
                col.add("error", "edge_ca", "EST edge CA without a server URL",
                        "Set edge_ca.url or [cert_issuance.est.urls] default: the runtime "
                        "parses the file without one, but certd then has no server to ask "
                        "and the edge CA is never issued.")
            if "url" in ca:
                _url(col, ca["url"], "edge_ca.url")
            if str(ca.get("url", "https:")).startswith("http:"):
                col.add("warning", "edge_ca.url", "EST URL is not HTTPS",
                        "Use https:// so the EST password and keys are not sent in clear.")
        if method == "local_ca" and "local_ca" not in data.get("cert_issuance", {}):
            col.add("error", "edge_ca.method", 'method = "local_ca" needs [cert_issuance.local_ca]',
                    "Configure the local CA's cert and pk in [cert_issuance.local_ca]: "
                    "without it certd has no CA to issue the edge CA from.")
        for key in ("identity_cert", "bootstrap_identity_cert"):
            if key in ca:
                _uri(col, ca[key], f"edge_ca.{key}", pkcs11_ok=False, has_lib=has_lib)
        for key in ("identity_pk", "bootstrap_identity_pk"):
            if key in ca:
                _uri(col, ca[key], f"edge_ca.{key}", pkcs11_ok=True, has_lib=has_lib)
    elif preloaded:
        variant = "preloaded"
        if quick:
            col.add("warning", "edge_ca.auto_generated_edge_ca_expiry_days",
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
                col.add("warning", f"edge_ca.{key}", f"edge_ca.{key} is ignored with cert/pk",
                        "The subject comes from the certificate file; remove this key.")
    elif quick:
        variant = "quickstart"
        days = ca["auto_generated_edge_ca_expiry_days"]
        if not _is_int(days) or not 1 <= days <= U32_MAX:
            # The runtime's parser takes 0 (a u32), but certd then refuses expiry_days = 0 when
            # it loads its own config (facts §3.5): refused here with that reason.
            col.add("error", "edge_ca.auto_generated_edge_ca_expiry_days",
                    "auto_generated_edge_ca_expiry_days must be from 1 to 4294967295",
                    "Give a whole number of days, e.g. 90 (certd refuses 0; the runtime reads "
                    "at most a u32).")
        elif lifetime is None and days <= MAX_TIMEDELTA_DAYS:
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
            col.add("warning", f"{key}.auth", "EST authentication is empty",
                    "Give username + password and/or an identity (or bootstrap identity) "
                    "cert + pk, unless the EST server needs none.")
    urls = est.get("urls", {})
    if isinstance(urls, Mapping):
        for name, url in urls.items():
            _url(col, url, f"{key}.urls.{name}")
            if isinstance(url, str) and url.startswith("http:"):
                col.add("warning", f"{key}.urls.{name}", "EST URL is not HTTPS",
                        "Use https:// so credentials are not sent in clear.")


# ---- the rest of the file: what the runtime reads besides the certificates -----------------

_SOURCES = ("manual", "dps", "none")
_ATTESTATIONS = ("symmetric_key", "x509", "tpm")
_REPROVISIONING = ("Dynamic", "AlwaysOnStartup", "OnErrorOnly")
_CLEANUP_TIME = re.compile(r"\A\s*([0-9]{1,2}):([0-9]{2})\Z", re.ASCII)
_DAYS = re.compile(r"\A\s*[0-9]+\s*(d|day|days|w|week|weeks)\s*\Z", re.ASCII)
_KEYD_KEYS = frozenset({"pkcs11_lib_path", "pkcs11_base_slot", "homedir_path"})
"""What aziot-keyd accepts in ``[aziot_keys]`` (homedir_path is the one apply sets itself)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def base64_ok(text: str) -> bool:
    """Whether the runtime decodes ``text`` as base64 (standard alphabet, padded or not).

    Upstream ``base64_decode_ignore_pad`` (aziotctl-common ``config/mod.rs``): the ``base64``
    crate's STANDARD engine, then STANDARD_NO_PAD; both refuse non-zero trailing bits.
    """
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text, re.ASCII):
        return False
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if len(body) % 4 == 1 or (padding and (len(body) + padding) % 4):
        return False
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return base64.b64encode(data).decode("ascii").rstrip("=") == body


def connection_string_problem(text: str) -> str | None:
    """Why the runtime refuses a device connection string (``parse_manual_connection_string``)."""
    parts: dict[str, str] = {}
    for section in text.split(";"):
        name, sep, value = section.partition("=")
        if sep and name in ("HostName", "DeviceId", "SharedAccessKey"):
            parts[name] = value
    for need in ("HostName", "DeviceId", "SharedAccessKey"):
        if need not in parts:
            return f'required parameter "{need}" is missing'
    if not base64_ok(parts["SharedAccessKey"]):
        return '"SharedAccessKey" is not base64'
    return None


def _string(col: _Collector, table: Mapping[str, Any], key: str, prefix: str,
            required: bool = False) -> None:
    full = f"{prefix}.{key}" if prefix else key
    if key not in table:
        if required:
            col.add("error", prefix or None, f"[{prefix}] lacks {key}",
                    f"Add {key} = \"…\": the runtime requires it.")
        return
    if not isinstance(table[key], str):
        col.add("error", full, f"{full} must be a string", f'Write it as {key} = "…" (quoted).')


def _symmetric_key(col: _Collector, value: Any, key: str) -> None:
    if not isinstance(value, Mapping) or not ("value" in value or "uri" in value):
        col.add("error", key, f"{key} must be a table with value (base64) or uri",
                f'Write it as {key.rsplit(".", 1)[-1]} = {{ value = "<base64 key>" }}.')
        return
    if "value" in value:
        raw = value["value"]
        if not isinstance(raw, str) or not base64_ok(raw):
            col.add("error", f"{key}.value", f"{key}.value is not base64",
                    "Copy the key exactly as the portal shows it (standard base64).")
    elif not isinstance(value["uri"], str):
        col.add("error", f"{key}.uri", f"{key}.uri must be a string URI",
                'Write it as uri = "file:///path" or a pkcs11: URI.')


def _x509_identity(col: _Collector, table: Mapping[str, Any], prefix: str) -> None:
    cert = table.get("identity_cert")
    if isinstance(cert, Mapping):
        return  # an issued identity certificate: method and options, checked by certd
    if cert is None or "identity_pk" not in table:
        col.add("error", prefix, f"[{prefix}] needs identity_cert and identity_pk",
                "Give the device identity certificate and key as file:// (or pkcs11:) URIs.")
        return
    _url(col, cert, f"{prefix}.identity_cert")
    _url(col, table["identity_pk"], f"{prefix}.identity_pk")


def _check_provisioning(col: _Collector, data: Mapping[str, Any]) -> None:
    prov = data.get("provisioning")
    if prov is None:
        col.add("error", None, "no [provisioning] section: iotedge config apply refuses the file",
                "Provision the device first (e.g. sudo iotedge config mp --connection-string "
                "'…'), then set the certificates on that config.")
        return
    if not isinstance(prov, Mapping):
        col.add("error", "provisioning", "provisioning must be a table",
                "Write it as [provisioning].")
        return
    source = prov.get("source")
    if source not in _SOURCES:
        hint = 'Use source = "manual", "dps" or "none" (lowercase).'
        if isinstance(source, str) and source.lower() in _SOURCES:
            hint = f'Write source = "{source.lower()}": the runtime is case-sensitive.'
        col.add("error", "provisioning.source",
                f"provisioning.source {source!r} is not one the runtime knows", hint)
        return
    if source == "manual":
        if "connection_string" in prov:
            cs = prov["connection_string"]
            problem = "it is not a string" if not isinstance(cs, str) else \
                connection_string_problem(cs)
            if problem:
                col.add("error", "provisioning.connection_string",
                        f"the device connection string is refused by the runtime: {problem}",
                        "Copy the device's primary connection string from IoT Hub "
                        "(HostName=…;DeviceId=…;SharedAccessKey=…).")
        elif all(k in prov for k in ("iothub_hostname", "device_id", "authentication")):
            _string(col, prov, "iothub_hostname", "provisioning")
            _string(col, prov, "device_id", "provisioning")
            auth = prov["authentication"]
            key = "provisioning.authentication"
            method = auth.get("method") if isinstance(auth, Mapping) else None
            if method == "sas":
                _symmetric_key(col, auth.get("device_id_pk"), f"{key}.device_id_pk")
            elif method == "x509":
                _x509_identity(col, auth, key)
            else:
                col.add("error", f"{key}.method", f"{key}.method {method!r} is not known",
                        'Use method = "sas" or "x509".')
        else:
            col.add("error", "provisioning", "manual provisioning without a connection string "
                    "or iothub_hostname, device_id and authentication",
                    "Give connection_string = \"HostName=…;DeviceId=…;SharedAccessKey=…\".")
    elif source == "dps":
        for key in ("global_endpoint", "id_scope"):
            _string(col, prov, key, "provisioning", required=True)
        if isinstance(prov.get("global_endpoint"), str):
            _url(col, prov["global_endpoint"], "provisioning.global_endpoint")
        payload = prov.get("payload")
        if payload is not None:
            if not isinstance(payload, Mapping) or "uri" not in payload:
                col.add("error", "provisioning.payload", "provisioning.payload needs uri",
                        'Write it as [provisioning.payload] uri = "file:///path".')
            else:
                _url(col, payload["uri"], "provisioning.payload.uri")
        att = prov.get("attestation")
        key = "provisioning.attestation"
        method = att.get("method") if isinstance(att, Mapping) else None
        if not isinstance(att, Mapping) or method not in _ATTESTATIONS:
            col.add("error", key, f"{key}.method {method!r} is not known",
                    'Use method = "symmetric_key", "x509" or "tpm".')
        elif method == "symmetric_key":
            _string(col, att, "registration_id", key, required=True)
            _symmetric_key(col, att.get("symmetric_key"), f"{key}.symmetric_key")
        elif method == "x509":
            _string(col, att, "registration_id", key)
            _x509_identity(col, att, key)
        else:
            _string(col, att, "registration_id", key, required=True)
        if data.get("parent_hostname") is not None:
            col.add("error", "parent_hostname", "DPS provisioning is not supported in nested "
                    "mode (parent_hostname is set)",
                    "A child device is provisioned manually (connection string or x509); "
                    "or remove parent_hostname.")


def _check_top_level(col: _Collector, data: Mapping[str, Any], release: EdgeRelease) -> None:
    known = set(TOP_LEVEL_KEYS) - set(release.removed_keys)
    col.unknown_keys({k: v for k, v in data.items() if k not in release.removed_keys},
                     known, "")
    for key in release.removed_keys:
        if key in data:
            col.add("warning", key, f"{key} is gone in {release.label}: the runtime ignores it",
                    "Remove the line (content trust was removed in IoT Edge 1.6).")
    for key in ("hostname", "parent_hostname", "local_gateway_hostname",
                "imported_master_encryption_key"):
        if key in data and not isinstance(data[key], str):
            col.add("error", key, f"{key} must be a string", f'Write it as {key} = "…".')
    for key in ("allow_elevated_docker_permissions", "prefer_module_identity_cache"):
        if key in data and not isinstance(data[key], bool):
            col.add("error", key, f"{key} must be true or false", "Write it without quotes.")
    if "cloud_timeout_sec" in data:
        value = data["cloud_timeout_sec"]
        if not _is_int(value) or not 70 <= value <= U64_MAX:
            col.add("error", "cloud_timeout_sec",
                    f"cloud_timeout_sec = {value!r}: the runtime needs a whole number of at "
                    "least 70 seconds", "Write cloud_timeout_sec = 70 or more (no quotes).")
    if "cloud_retries" in data:
        value = data["cloud_retries"]
        if not _is_int(value) or not 0 <= value <= U32_MAX:
            col.add("error", "cloud_retries", f"cloud_retries = {value!r} is not a whole number "
                    "from 0 to 4294967295", "Write e.g. cloud_retries = 1 (no quotes).")
    if "auto_reprovisioning_mode" in data and \
            data["auto_reprovisioning_mode"] not in _REPROVISIONING:
        col.add("error", "auto_reprovisioning_mode",
                f"auto_reprovisioning_mode {data['auto_reprovisioning_mode']!r} is not known",
                "Use Dynamic, AlwaysOnStartup or OnErrorOnly (case-sensitive).")
    if "additional_info" in data:
        _url(col, data["additional_info"], "additional_info", schemes=("file",))


_PULL_POLICIES = ("on-create", "never")


def _check_agent(col: _Collector, agent: Any) -> None:
    """``[agent]`` as the runtime's ``ModuleSpec`` reads it (Azure/iotedge:
    edgelet/edgelet-settings/src/module/mod.rs, docker/config.rs): name, type and
    ``[agent.config]`` with image are required; ``env`` maps names to strings."""
    if not isinstance(agent, Mapping):
        return  # the runtime falls back to its default agent (rtcfg accepts it)
    _string(col, agent, "name", "agent", required=True)
    _string(col, agent, "type", "agent", required=True)
    policy = agent.get("imagePullPolicy")
    if policy is not None and policy not in _PULL_POLICIES:
        col.add("error", "agent.imagePullPolicy", f"agent.imagePullPolicy {policy!r} is not "
                "known", 'Use "on-create" or "never".')
    config = agent.get("config")
    if not isinstance(config, Mapping):
        col.add("error", "agent" if config is None else "agent.config",
                "[agent.config] is missing or not a table",
                'Add [agent.config] with image = "mcr.microsoft.com/azureiotedge-agent:1.6".')
    else:
        _string(col, config, "image", "agent.config", required=True)
        auth = config.get("auth")
        if isinstance(auth, Mapping):
            for key in ("username", "password", "serveraddress"):
                _string(col, auth, key, "agent.config.auth")
        elif auth is not None:
            col.add("error", "agent.config.auth", "agent.config.auth must be a table",
                    "Write it as [agent.config.auth].")
    env = agent.get("env")
    if isinstance(env, Mapping):
        for name, value in env.items():
            if not isinstance(value, str):
                col.add("error", f"agent.env.{name}", f"agent.env.{name} must be a string "
                        "(the runtime reads [agent.env] as names and text values)",
                        f'Write it as {name} = "…" (quoted), one line per variable.')
    elif env is not None:
        col.add("error", "agent.env", "agent.env must be a table", "Write it as [agent.env].")


def _check_runtime_tables(col: _Collector, data: Mapping[str, Any]) -> None:
    if "agent" in data:
        _check_agent(col, data["agent"])
    tpm = data.get("tpm")
    if isinstance(tpm, Mapping):
        index = tpm.get("auth_key_index")
        if index is not None and (not _is_int(index) or not 0 <= index <= U32_MAX):
            col.add("error", "tpm.auth_key_index", f"tpm.auth_key_index {index!r} is not a "
                    "whole number from 0 to 4294967295",
                    "Write it without quotes, e.g. auth_key_index = 0x01_00_01 or 65537.")
        if "tcti" in tpm and not isinstance(tpm["tcti"], str):
            col.add("error", "tpm.tcti", "tpm.tcti must be a string", 'Write tcti = "device".')
    elif tpm is not None:
        col.add("error", "tpm", "tpm must be a table", "Write it as [tpm].")
    moby = data.get("moby_runtime")
    if isinstance(moby, Mapping):
        if "uri" not in moby or "network" not in moby:
            col.add("error", "moby_runtime", "[moby_runtime] needs both uri and network",
                    'E.g. uri = "unix:///var/run/docker.sock", network = "azure-iot-edge".')
        if "uri" in moby:
            _url(col, moby["uri"], "moby_runtime.uri")
    elif moby is not None:
        col.add("error", "moby_runtime", "moby_runtime must be a table",
                "Write it as [moby_runtime].")
    gc = data.get("image_garbage_collection")
    if isinstance(gc, Mapping):
        key = "image_garbage_collection"
        if "enabled" in gc and not isinstance(gc["enabled"], bool):
            col.add("error", f"{key}.enabled", "enabled must be true or false",
                    "Write it without quotes.")
        if "cleanup_time" in gc:
            value = gc["cleanup_time"]
            m = _CLEANUP_TIME.match(value) if isinstance(value, str) else None
            if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
                col.add("error", f"{key}.cleanup_time", f"cleanup_time {value!r} is not a time "
                        "of day the runtime reads", 'Write "HH:MM" from "00:00" to "23:59".')
        for field in ("cleanup_recurrence", "image_age_cleanup_threshold"):
            value = gc.get(field)
            if value is not None and not (isinstance(value, str) and _DAYS.match(value)):
                col.add("error", f"{key}.{field}", f"{field} {value!r} is not a whole number "
                        "of days", 'Write e.g. "1d" or "7d" (the runtime needs whole days).')
    keys = data.get("aziot_keys")
    if keys is not None and not isinstance(keys, Mapping):
        col.add("error", "aziot_keys", "aziot_keys must be a table", "Write it as [aziot_keys].")
    elif isinstance(keys, Mapping):
        for name, value in keys.items():
            if not isinstance(value, str):
                col.add("error", f"aziot_keys.{name}", f"aziot_keys.{name} must be a string",
                        'Write it as name = "…" (quoted).')
        col.unknown_keys(keys, _KEYD_KEYS, "aziot_keys", severity="error",
                         reason="aziot-keyd refuses to start with a key it does not know")


def check_config_toml(text: str, release: EdgeRelease, *, where: str = "config.toml",
                      cert_lifetime: dt.timedelta | None = None,
                      edge_ca_cn: str | None = None) -> tuple[Finding, ...]:
    """Check a whole config.toml (typically the one edgecert is about to write).

    No error finding means the runtime accepts the file: the tests hold this against the
    runtime's own parser for every config the suite writes and for a generated corpus.

    Args:
        text: the file text.
        release: the device's IoT Edge release.
        where: file name for messages.
        cert_lifetime: lifetime of the edge CA certificate, to check a time threshold.
        edge_ca_cn: CN of the edge CA certificate, to compare with ``hostname``.

    Returns:
        Every finding, errors and warnings, in file order where known.

    Raises:
        ConfigParseError: the text is not TOML (line and column in ``where``).
    """
    data = parse_toml(text, where=where).unwrap()
    col = _Collector(locate_keys(text))
    _check_top_level(col, data, release)
    _check_provisioning(col, data)
    _check_runtime_tables(col, data)
    if "trust_bundle_cert" in data:
        _uri(col, data["trust_bundle_cert"], "trust_bundle_cert", pkcs11_ok=False, has_lib=True)
    aziot_keys = data.get("aziot_keys")
    if isinstance(aziot_keys, Mapping):
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
