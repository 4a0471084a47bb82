"""Read certificates and keys from PEM bundles, DER, PKCS#12/PFX, PKCS#1/PKCS#8/SEC1.

Every failure is one of our typed errors naming the file: unreadable, password required,
wrong password, PKCS#12 without MAC, or corrupt. Nothing else escapes, whatever the bytes.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from core.chain.keys import PrivateKey
from core.errors import (
    CorruptFileError,
    PasswordRequiredError,
    Pkcs12MacMissingError,
    UnreadableFileError,
    UsageError,
    WrongPasswordError,
)
from core.fs import MIB, read_input

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL
)
_log = logging.getLogger(__name__)
MAX_FILE = 10 * MIB  # certificate material (even a large trust bundle) is never this large


@dataclass(frozen=True)
class Material:
    """Certificates and keys read from one or more files (in file order)."""

    certs: tuple[x509.Certificate, ...] = ()
    keys: tuple[PrivateKey, ...] = field(default=(), repr=False)
    sources: tuple[str, ...] = ()

    def __add__(self, other: Material) -> Material:
        return Material(self.certs + other.certs, self.keys + other.keys,
                        self.sources + other.sources)


def read_file(path: Path, what: str = "the file", limit: int = MAX_FILE) -> bytes:
    """Bytes of a local input file (a regular file, at most ``limit`` bytes).

    Raises:
        UnreadableFileError: naming the file (missing, not a regular file, too large, ...).
    """
    return read_input(path, limit, what)


def _key_from_der_or_pem(data: bytes, password: bytes | None, where: str, pem: bool
                         ) -> PrivateKey:
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = loader(data, password)
    except TypeError as exc:
        # cryptography: "Password was not given but private key is encrypted" or
        # "Password was given but private key is not encrypted".
        if "not given" in str(exc) or password is None:
            raise PasswordRequiredError("the private key is encrypted", where=where) from None
        key = loader(data, None)
    except ValueError as exc:
        if password is not None and ("decrypt" in str(exc).lower() or "bad" in str(exc).lower()):
            raise WrongPasswordError("the password does not decrypt the private key",
                                     where=where) from None
        raise CorruptFileError("the private key cannot be read", where=where,
                               hint="The file is damaged or not a key.") from None
    except Exception:
        raise CorruptFileError("the private key cannot be read", where=where,
                               hint="The file is damaged or not a key.") from None
    from core.chain.keys import is_signing_key

    if not is_signing_key(key):
        raise UnreadableFileError(
            f"{type(key).__name__.lstrip('_')} keys are not supported", where=where,
            hint="IoT Edge uses RSA or EC (P-256) keys.",
        )
    return key  # type: ignore[return-value]


def _load_pem(data: bytes, password: bytes | None, where: str) -> Material:
    certs: list[x509.Certificate] = []
    keys: list[PrivateKey] = []
    public = False
    for m in _PEM_BLOCK.finditer(data):
        label = m.group(1).decode("ascii", "replace")
        block = m.group(0)
        if label in ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"):
            try:
                certs.append(x509.load_pem_x509_certificate(
                    block.replace(b"TRUSTED CERTIFICATE", b"CERTIFICATE")
                    .replace(b"X509 CERTIFICATE", b"CERTIFICATE")))
            except Exception:
                raise CorruptFileError("a certificate in the file is damaged", where=where,
                                       hint="Export the certificate again.") from None
        elif label.endswith("PRIVATE KEY"):
            encrypted = label == "ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in block
            if encrypted and password is None:
                raise PasswordRequiredError("the private key is encrypted", where=where)
            keys.append(_key_from_der_or_pem(block, password, where, pem=True))
        elif label in ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"):
            raise UnreadableFileError(
                "this is a certificate signing request, not a certificate", where=where,
                hint="Have the CA sign it, then import the signed certificate.",
            )
        elif label in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            public = True
        # other blocks (EC PARAMETERS, ...) are ignored
    if not certs and not keys and public:
        raise _public_key_error(where)
    if not certs and not keys:
        raise UnreadableFileError("no certificate or private key in this PEM file",
                                  where=where, hint="Choose a .pem/.crt/.key/.pfx file.")
    return Material(tuple(certs), tuple(keys), (where,))


def _public_key_error(where: str) -> UnreadableFileError:
    return UnreadableFileError(
        "this is a public key, not a private key or certificate", where=where,
        hint="Choose the private key file (…key.pem, BEGIN PRIVATE KEY), or the certificate; "
             "a public key alone cannot sign or be installed.")


def _is_der_public_key(data: bytes) -> bool:
    try:
        serialization.load_der_public_key(data)
    except Exception:
        return False
    return True


def _load_pkcs12(data: bytes, password: bytes | None, where: str) -> Material:
    attempts: Iterable[bytes | None] = (password,) if password is not None else (None, b"")
    last: Exception | None = None
    for pw in attempts:
        try:
            p12 = pkcs12.load_pkcs12(data, pw)
        except ValueError as exc:
            last = exc
            continue
        except Exception as exc:
            last = exc
            break
        keys: tuple[PrivateKey, ...] = ()
        if p12.key is not None:
            from core.chain.keys import is_signing_key

            if not is_signing_key(p12.key):
                raise UnreadableFileError("the PFX holds an unsupported key type", where=where,
                                          hint="IoT Edge uses RSA or EC keys.")
            keys = (p12.key,)  # type: ignore[assignment]
        certs = ([p12.cert.certificate] if p12.cert else []) + [
            c.certificate for c in p12.additional_certs
        ]
        return Material(tuple(certs), keys, (where,))
    raise _classify_pkcs12_failure(data, password, where, last)


def _classify_pkcs12_failure(data: bytes, password: bytes | None, where: str,
                             exc: Exception | None) -> Exception:
    """Tell apart: no MAC, wrong/missing password, corrupt file."""
    has_mac = _pkcs12_has_mac(data)
    if has_mac is None:
        return CorruptFileError("the PFX/PKCS#12 file is damaged", where=where,
                                hint="Export the PFX again, or import PEM files instead.")
    if not has_mac:
        return Pkcs12MacMissingError("the PFX has no integrity MAC", where=where)
    if password is None:
        return PasswordRequiredError("the PFX is protected by a password", where=where)
    # A failed MAC means a wrong password or altered content: the two cannot be told apart.
    return WrongPasswordError(
        "the password does not open the PFX", where=where,
        hint="Check the password (case-sensitive); if it is right, the file was altered: "
             "export it again.",
    )


def _der_len(data: bytes, i: int) -> tuple[int, int]:
    first = data[i]
    if first < 0x80:
        return first, i + 1
    n = first & 0x7F
    if n == 0 or n > 4 or i + 1 + n > len(data):
        raise ValueError("bad length")
    return int.from_bytes(data[i + 1:i + 1 + n], "big"), i + 1 + n


def _pkcs12_has_mac(data: bytes) -> bool | None:
    """Whether the PFX SEQUENCE has a third element (macData); None if it is not a PFX.

    PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }
    """
    try:
        if not data or data[0] != 0x30:
            return None
        length, i = _der_len(data, 1)
        end = i + length
        if end > len(data):
            return None
        elements = 0
        while i < end:
            i += 1  # tag
            ln, i = _der_len(data, i)
            i += ln
            elements += 1
        if i != end or elements < 2:
            return None
        return elements >= 3
    except (ValueError, IndexError):
        return None


def is_pkcs12(data: bytes) -> bool:
    """Whether ``data`` is a binary PKCS#12/PFX file (a container of certificates and a key)."""
    return b"-----BEGIN " not in data and _pkcs12_has_mac(data) is not None


def _load_der(data: bytes, password: bytes | None, where: str) -> Material:
    with contextlib.suppress(Exception):
        return Material((x509.load_der_x509_certificate(data),), (), (where,))
    try:
        return Material((), (_key_from_der_or_pem(data, password, where, pem=False),), (where,))
    except (PasswordRequiredError, WrongPasswordError):
        raise
    except Exception:  # not a key either: try PKCS#12 next
        _log.debug("not a DER key: %s", where)
    if _is_der_public_key(data):
        raise _public_key_error(where)
    if _pkcs12_has_mac(data) is not None:
        return _load_pkcs12(data, password, where)
    if data[:1] == b"\x30" and len(data) > 16:
        raise CorruptFileError(
            "the file looks like a DER certificate, key or PFX but is damaged", where=where,
            hint="Copy or export the file again (a truncated download looks like this).",
        )
    raise UnreadableFileError(
        "not a certificate, key or PFX file (no PEM header, not DER)", where=where,
        hint="Choose a .pem, .crt, .cer, .der, .key, .pfx or .p12 file.",
    )


def load_bytes(data: bytes, *, where: str, password: str | bytes | None = None) -> Material:
    """Certificates and keys from one file's bytes, whatever the format.

    Raises:
        UnreadableFileError, CorruptFileError, PasswordRequiredError, WrongPasswordError,
        Pkcs12MacMissingError: with ``where`` naming the file.
    """
    pw = password.encode("utf-8") if isinstance(password, str) else password
    try:
        if b"-----BEGIN " in data:
            return _load_pem(data, pw, where)
        stripped = data.strip()
        # Bare base64 DER without PEM headers (seen in exports from some tools).
        if stripped and re.fullmatch(rb"[A-Za-z0-9+/=\r\n]+", stripped) and len(stripped) > 64:
            import base64
            import binascii

            try:
                raw = base64.b64decode(stripped, validate=False)
            except (binascii.Error, ValueError):
                raw = b""
            if raw:
                return _load_der(raw, pw, where)
        return _load_der(data, pw, where)
    except (UnreadableFileError, PasswordRequiredError, WrongPasswordError,
            Pkcs12MacMissingError):
        raise
    except RecursionError:
        raise CorruptFileError("the file is damaged", where=where,
                               hint="Export it again.") from None
    except Exception:
        raise CorruptFileError("the file cannot be read", where=where,
                               hint="The file is damaged or in an unknown format.") from None


def load_file(path: Path, password: str | bytes | None = None, what: str = "the file"
              ) -> Material:
    """``load_bytes`` for a local file (a regular file of at most ``MAX_FILE`` bytes)."""
    return load_bytes(read_file(path, what), where=str(path), password=password)


def load_files(paths: Iterable[Path], passwords: dict[str, str] | None = None) -> Material:
    """All material from several files; ``passwords`` maps a path to its password."""
    total = Material()
    for p in paths:
        total = total + load_file(p, (passwords or {}).get(str(p)))
    return total


def load_material(sources: Iterable[Path | bytes], password: str | bytes | None = None
                  ) -> Material:
    """All certificates and keys from files or raw bytes (e.g. a drop in the wizard).

    Args:
        sources: paths, or bytes (named ``<bytes #N>`` in errors).
        password: tried on every encrypted item (keys, PFX).

    Raises:
        The loader errors of ``load_bytes``, naming the file.
    """
    total = Material()
    for n, src in enumerate(sources, 1):
        if isinstance(src, bytes):
            total = total + load_bytes(src, where=f"<bytes #{n}>", password=password)
        else:
            total = total + load_file(src, password)
    return total


PASSWORD_FILE_MAX = 64 * 1024
"""What a password file may hold (its first line is the password)."""

def read_password_file(path: Path | None) -> str | None:
    """The first line of a password file (never logged), or None when no file is given."""
    if path is None:
        return None
    data = read_file(path, "the password file", PASSWORD_FILE_MAX)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableFileError("the password file is not UTF-8 text", where=str(path),
                                  hint="Write the password as plain text on the first line.") \
            from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise UsageError("the password file is empty", where=str(path),
                         hint="Write the password on the first line.")
    return lines[0]
