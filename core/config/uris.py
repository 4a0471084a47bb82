"""``file://`` and ``pkcs11:`` URIs as the IoT Edge runtime reads them.

file URIs must be absolute and percent-encoded (``file:///var/aziot/certs/edge%20ca.pem``;
Windows 1.1: ``file:///C:/ProgramData/iotedge/certs/edge-ca.pem``). PKCS#11 URIs need
``slot-id`` (an integer) or ``token``; ``object`` and a ``pin-value`` query are optional.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from core.config.diff import redact_line
from core.config.errors import UriError

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
# Characters that may appear unencoded in the path of a file URI (RFC 3986 pchar + "/").
_PATH_SAFE = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$")
_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def file_uri(path: str) -> str:
    """The percent-encoded ``file://`` URI of an absolute device path.

    Args:
        path: a POSIX path (``/var/aziot/certs/edge-ca.pem``) or a Windows path
            (``C:\\ProgramData\\iotedge\\certs\\edge-ca.pem``).

    Raises:
        UriError: the path is relative.
    """
    if _WINDOWS_DRIVE.match(path):
        return PureWindowsPath(path).as_uri()
    posix = PurePosixPath(path)
    if not posix.is_absolute():
        raise UriError(
            f"device path {path!r} is relative",
            hint="Give an absolute path on the device, e.g. /var/aziot/certs/edge-ca.pem.",
        )
    return posix.as_uri()


def file_uri_path(uri: str, *, where: str | None = None) -> str:
    """The device path a ``file://`` URI points at (decoded).

    Raises:
        UriError: not a file URI, not absolute, or not percent-encoded.
    """
    check_file_uri(uri, where=where)
    raw = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
    if re.match(r"^/[A-Za-z]:/", raw):
        return str(PureWindowsPath(raw[1:]))
    return raw


def check_file_uri(uri: str, *, where: str | None = None, key: str = "URI") -> None:
    """Check a ``file://`` URI the way the runtime and ``iotedge check`` will read it.

    Raises:
        UriError: with a hint giving the corrected URI when one can be derived.
    """
    shown = redact_line(uri)  # a misplaced pkcs11: URI may carry a PIN
    if not uri.startswith("file://"):
        hint = "Write it as file:///absolute/path."
        if uri.startswith("/") or _WINDOWS_DRIVE.match(uri):
            hint = f"Write it as {file_uri(uri)}."
        raise UriError(f"{key} {shown!r} is not a file:// URI", hint=hint, where=where)
    parts = urllib.parse.urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise UriError(
            f"{key} {shown!r} names a host ({parts.netloc!r}) instead of an absolute path",
            hint="Use three slashes: file:///var/aziot/certs/edge-ca.pem.", where=where,
        )
    if not parts.path.startswith("/"):
        raise UriError(f"{key} {shown!r} is not absolute",
                       hint="Use file:/// followed by the absolute device path.", where=where)
    if parts.query or parts.fragment or not _PATH_SAFE.match(parts.path) or _PCT.search(
            parts.path):
        decoded = urllib.parse.unquote(parts.path)
        if re.match(r"^/[A-Za-z]:/", decoded):
            decoded = decoded[1:]
        raise UriError(
            f"{key} {shown!r} is not percent-encoded",
            hint=f"Write it as {file_uri(decoded)}.",
            where=where,
        )


@dataclass(frozen=True)
class Pkcs11Uri:
    """The parts of a ``pkcs11:`` URI the runtime uses. The PIN is never shown."""

    slot_id: int | None
    token: str | None
    object: str | None
    pin_value: str | None = field(default=None, repr=False)


def parse_pkcs11_uri(uri: str, *, where: str | None = None, key: str = "URI") -> Pkcs11Uri:
    """Parse a ``pkcs11:`` URI like the runtime's parser (percent-decoded values).

    Raises:
        UriError: wrong scheme, malformed slot-id, or neither slot-id nor token. The message
            never contains the PIN.
    """
    if not uri.startswith("pkcs11:"):
        raise UriError(f"{key} is not a pkcs11: URI",
                       hint='Write it like "pkcs11:slot-id=0;object=edge%20ca".', where=where)
    body = uri[len("pkcs11:"):]
    path, _, query = body.partition("?")
    attrs: dict[str, str] = {}
    for part in path.split(";"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise UriError(f"{key}: PKCS#11 attribute {name!r} has no value",
                           hint="Attributes are written name=value, separated by ';'.",
                           where=where)
        attrs[name] = urllib.parse.unquote(value)
    pin = None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "pin-value":
            pin = urllib.parse.unquote(value)
    slot: int | None = None
    if "slot-id" in attrs:
        try:
            slot = int(attrs["slot-id"])
        except ValueError:
            raise UriError(f"{key}: PKCS#11 slot-id {attrs['slot-id']!r} is malformed",
                           hint="slot-id is a whole number, e.g. slot-id=0.",
                           where=where) from None
    token = attrs.get("token")
    if slot is None and token is None:
        raise UriError(
            f"{key}: PKCS#11 URI has neither slot-id nor token",
            hint='Add the slot or token label, e.g. "pkcs11:token=edge;object=edge%20ca".',
            where=where,
        )
    return Pkcs11Uri(slot_id=slot, token=token, object=attrs.get("object"), pin_value=pin)


def is_pkcs11(uri: str) -> bool:
    """True for a ``pkcs11:`` URI."""
    return uri.startswith("pkcs11:")
