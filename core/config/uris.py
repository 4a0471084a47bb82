"""``file://`` and ``pkcs11:`` URIs as the IoT Edge runtime reads them.

edgecert writes file URIs absolute and percent-encoded (``file:///var/aziot/certs/edge%20ca.pem``;
Windows 1.1: ``file:///C:/ProgramData/iotedge/certs/edge-ca.pem``) and reads them as the runtime
does (the ``url`` crate). PKCS#11 URIs need ``slot-id`` (an unsigned integer) or ``token``;
``object`` and a ``pin-value`` query are optional.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from core.config.diff import redact_line
from core.config.errors import UriError

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def file_uri(path: str) -> str:
    """The percent-encoded ``file://`` URI of an absolute device path.

    Args:
        path: a POSIX path (``/var/aziot/certs/edge-ca.pem``) or a Windows path
            (``C:\\ProgramData\\iotedge\\certs\\edge-ca.pem``).

    Raises:
        DevicePathError: the path is relative, not normalised or holds a control character
            (a ``..`` would be resolved away by the runtime's URL parser, so it is refused
            while the path is still as the user typed it).
    """
    from core.config.device_paths import check_syntax

    windows = bool(_WINDOWS_DRIVE.match(path))
    check_syntax(path, platform="windows" if windows else "linux", what="device path")
    if windows:
        return PureWindowsPath(path).as_uri()
    return PurePosixPath(path).as_uri()


# ---- URLs as the runtime parses them (Rust's ``url`` crate, WHATWG URL rules) -------------------
# Every URL in config.toml is a ``url::Url`` (Azure/iotedge: edgelet/iotedge/src/config/
# super_config.rs; Azure/iot-identity-service: aziotctl/aziotctl-common/src/config/super_config.rs),
# and certd/keyd turn ``file:`` URLs into paths with ``Url::to_file_path`` (aziot-certd-config,
# aziot-keys-common). What follows is the subset of those rules that config files meet.

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):", re.ASCII)
_SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
_FORBIDDEN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_TRIM = "".join(chr(c) for c in range(0x21))  # C0 controls and space, trimmed by the parser


def _whatwg_input(value: str) -> str:
    """Leading/trailing C0 controls and spaces are trimmed; tabs and newlines are removed."""
    return re.sub(r"[\t\n\r]", "", value.strip(_TRIM))


def url_problem(value: str) -> str | None:
    """Why the runtime's URL parser rejects ``value`` (None when it parses).

    Checked: a scheme, and for http(s)/ws(s)/ftp a non-empty host without forbidden characters
    and a numeric port up to 65535.
    """
    text = _whatwg_input(value)
    m = _SCHEME.match(text)
    if not m:
        return "relative URL without a base (no scheme such as https: or file:)"
    scheme = m.group(1).lower()
    if scheme not in _SPECIAL or scheme == "file":
        return None
    rest = text[m.end():].replace("\\", "/")
    rest = rest.lstrip("/")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host_port = authority.rsplit("@", 1)[-1]
    if host_port.startswith("["):
        host, _, port = host_port[1:].partition("]")
        port = port[1:] if port.startswith(":") else port
        if not host or not re.fullmatch(r"[0-9A-Fa-f:.]+", host):
            return "invalid IPv6 address"
    else:
        host, _, port = host_port.partition(":")
        host = urllib.parse.unquote(host)
        if not host:
            return "empty host"
        if _FORBIDDEN_HOST.search(host):
            return "invalid international domain name"
    if port and (not port.isascii() or not port.isdigit() or int(port) > 65535):
        return "invalid port number"
    return None


@dataclass(frozen=True)
class FileUrl:
    """A ``file:`` URL the way the runtime reads it."""

    host: str
    """Empty, or the host named (``to_file_path`` refuses any host but localhost)."""
    path: str
    """The serialized path (percent-encoded as the URL parser writes it)."""
    query: bool
    """Whether a ``?query`` or ``#fragment`` followed the path (the runtime ignores them)."""

    @property
    def canonical(self) -> str:
        return "file://" + self.path

    @property
    def device_path(self) -> str:
        """The path certd/keyd open: the percent-decoded path (Windows drive paths as C:\\…)."""
        raw = urllib.parse.unquote(self.path, errors="strict")
        if re.match(r"^/[A-Za-z]:/", raw):
            return str(PureWindowsPath(raw[1:]))
        return raw


# What the URL parser percent-encodes in a path (WHATWG path percent-encode set).
_PATH_ENCODE = frozenset(" \"<>`{}") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def _encode_path_char(ch: str) -> str:
    if ch in _PATH_ENCODE or ord(ch) > 0x7E:
        return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
    return ch


def _is_dot(segment: str, dots: str) -> bool:
    return segment.lower().replace("%2e", ".") == dots


def parse_file_url(uri: str) -> FileUrl | None:
    """The ``file:`` URL as the runtime's parser sees it, or None when it is not ``file:``."""
    text = _whatwg_input(uri)
    m = _SCHEME.match(text)
    if not m or m.group(1).lower() != "file":
        return None
    rest = text[m.end():].replace("\\", "/")
    query = False
    for mark in ("#", "?"):
        if mark in rest:
            rest, query = rest.split(mark, 1)[0], True
    host = ""
    if rest.startswith("//"):
        rest = rest[2:]
        host, slash, tail = rest.partition("/")
        rest = slash + tail
        if re.fullmatch(r"[A-Za-z][:|]", host):  # file://C:/x: a drive letter, not a host
            rest, host = "/" + host + rest, ""
        if host.lower() == "localhost":
            host = ""
    segments: list[str] = []
    parts = rest.lstrip("/").split("/") if rest else [""]
    for i, segment in enumerate(parts):
        last = i == len(parts) - 1
        if _is_dot(segment, ".."):
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif _is_dot(segment, "."):
            if last:
                segments.append("")
        else:
            segments.append("".join(_encode_path_char(c) for c in segment))
    return FileUrl(host=host, path="/" + "/".join(segments), query=query)


def file_uri_path(uri: str, *, where: str | None = None) -> str:
    """The device path a ``file:`` URI points at, as certd and keyd read it.

    Raises:
        UriError: the runtime rejects the URI (see :func:`check_file_uri`).
    """
    check_file_uri(uri, where=where)
    url = parse_file_url(uri)
    assert url is not None
    return url.device_path


def check_file_uri(uri: str, *, where: str | None = None, key: str = "URI") -> None:
    """Check a ``file:`` URI the way the runtime reads it: only what makes the runtime fail.

    The ``url`` crate accepts spellings that are not canonical (``file:certs/x.pem``, an unencoded
    space, a stray ``%``); :func:`file_uri_advice` says how to write those.

    Raises:
        UriError: not a URL, not ``file:``, a host other than localhost, or a path that is not
            UTF-8 once decoded; the hint gives the corrected URI when one can be derived.
    """
    shown = redact_line(uri)  # a misplaced pkcs11: URI may carry a PIN
    url = parse_file_url(uri)
    if url is None:
        hint = "Write it as file:///absolute/path."
        if uri.startswith("/") or _WINDOWS_DRIVE.match(uri):
            hint = f"Write it as {file_uri(uri)}."
        raise UriError(f"{key} {shown!r} is not a file:// URI", hint=hint, where=where)
    if url.host:
        raise UriError(
            f"{key} {shown!r} names a host ({url.host!r}) instead of an absolute path",
            hint="Use three slashes: file:///var/aziot/certs/edge-ca.pem (certd and keyd "
                 "refuse a file URI with a host).", where=where,
        )
    try:
        urllib.parse.unquote(url.path, errors="strict")
    except UnicodeDecodeError:
        raise UriError(f"{key} {shown!r} decodes to a path that is not UTF-8",
                       hint="Percent-encode the UTF-8 bytes of the file name.",
                       where=where) from None


def file_uri_advice(uri: str) -> str | None:
    """How to write an accepted but non-canonical ``file:`` URI (None when it is canonical).

    The runtime reads ``file:certs/x.pem`` as ``file:///certs/x.pem``, encodes a space, keeps a
    ``%`` that starts no escape as a literal ``%``, and ignores ``?query`` and ``#fragment``.
    """
    url = parse_file_url(uri)
    if url is None or url.host:
        return None
    canonical = url.canonical
    if uri == canonical:
        return None
    try:
        path = url.device_path
        spelled = file_uri(path) if path.startswith("/") or _WINDOWS_DRIVE.match(path) \
            else canonical
    except (UnicodeDecodeError, UriError):
        spelled = canonical
    return f"the runtime reads it as the file {url.device_path!r}; write it as {spelled}"


@dataclass(frozen=True)
class Pkcs11Uri:
    """The parts of a ``pkcs11:`` URI the runtime uses. The PIN is never shown."""

    slot_id: int | None
    token: str | None
    object: str | None
    pin_value: str | None = field(default=None, repr=False)


_U64_MAX = 2**64 - 1
_PATH_KEYS = ("object", "slot-id", "token")


def _pkcs11_pair(part: str, known: tuple[str, ...], key: str, where: str | None
                 ) -> tuple[str, str] | None:
    name_raw, _, value_raw = part.partition("=")
    name = urllib.parse.unquote_to_bytes(name_raw)
    if name.decode("latin-1") not in known:
        return None  # unknown attributes are skipped, their values never decoded
    try:
        value = urllib.parse.unquote_to_bytes(value_raw).decode("utf-8")
    except UnicodeDecodeError:
        raise UriError(f"{key}: PKCS#11 attribute {name.decode('latin-1')!r} is not UTF-8 once "
                       "percent-decoded",
                       hint="Percent-encode the UTF-8 bytes of the label (aziot-keyd refuses "
                            "other bytes at start).", where=where) from None
    return name.decode("latin-1"), value


def parse_pkcs11_uri(uri: str, *, where: str | None = None, key: str = "URI") -> Pkcs11Uri:
    """Parse a ``pkcs11:`` URI exactly like aziot-keyd (RFC 7512 as upstream implements it).

    Upstream: Azure/iot-identity-service ``pkcs11/pkcs11/src/lib.rs`` (``Uri::from_str``):
    attribute names and values are percent-decoded, values must be UTF-8, unknown attributes
    are skipped, the last of a repeated attribute wins, ``slot-id`` is an unsigned decimal u64
    (ASCII digits, an optional ``+``), and a slot-id or a token is required.

    Raises:
        UriError: wrong scheme, malformed slot-id, a value that is not UTF-8, or neither
            slot-id nor token. The message never contains the PIN.
    """
    if not uri.startswith("pkcs11:"):
        raise UriError(f"{key} is not a pkcs11: URI",
                       hint='Write it like "pkcs11:slot-id=0;object=edge%20ca".', where=where)
    body = uri[len("pkcs11:"):]
    path, _, query = body.partition("?")
    attrs: dict[str, str] = {}
    for part in path.split(";"):
        pair = _pkcs11_pair(part, _PATH_KEYS, key, where)
        if pair is None:
            continue
        name, value = pair
        digits = value.lstrip("+").lstrip("0")
        if name == "slot-id" and (not re.fullmatch(r"\+?[0-9]+", value, re.ASCII)
                                  or len(digits) > 20 or int(digits or "0") > _U64_MAX):
            raise UriError(f"{key}: PKCS#11 slot-id {value[:40]!r} is malformed",
                           hint="slot-id is an unsigned decimal number (ASCII digits, "
                                "at most 18446744073709551615), e.g. slot-id=0.",
                           where=where)
        attrs[name] = value
    pin = None
    for part in query.split("&"):
        pair = _pkcs11_pair(part, ("pin-value",), key, where)
        if pair is not None:
            pin = pair[1]
    slot = int(attrs["slot-id"]) if "slot-id" in attrs else None
    token = attrs.get("token")
    if slot is None and token is None:
        raise UriError(
            f"{key}: PKCS#11 URI has neither slot-id nor token",
            hint='Add the slot or token label, e.g. "pkcs11:token=edge;object=edge%20ca".',
            where=where,
        )
    return Pkcs11Uri(slot_id=slot, token=token, object=attrs.get("object"), pin_value=pin)


def _is_pin(part: str) -> bool:
    name = part.partition("=")[0]
    return urllib.parse.unquote_to_bytes(name).decode("latin-1").lower() == "pin-value"


def without_pin(uri: str) -> str:
    """A ``pkcs11:`` URI without its ``pin-value`` attribute: what may be shown and stored.

    The attribute names are read as :func:`parse_pkcs11_uri` reads them (percent-decoded), in
    the query where the runtime takes the PIN from and in the path where it does not.
    """
    if not is_pkcs11(uri):
        return uri
    head, sep, query = uri[len("pkcs11:"):].partition("?")
    path = ";".join(p for p in head.split(";") if not _is_pin(p))
    kept = [p for p in query.split("&") if not _is_pin(p)] if sep else []
    return "pkcs11:" + path + ("?" + "&".join(kept) if kept else "")


def is_pkcs11(uri: str) -> bool:
    """True for a ``pkcs11:`` URI."""
    return uri.startswith("pkcs11:")
