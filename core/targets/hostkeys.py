"""SSH host keys: OpenSSH known_hosts lookup, fingerprints, and edgecert's own known-hosts file.

Reads ``~/.ssh/known_hosts`` (plain and hashed ``|1|salt|hash`` names, ``[host]:port`` entries,
``*``/``?`` patterns and ``!`` negations, ``@revoked`` markers) and writes accepted keys only to
edgecert's own file, atomically (lock, temporary file in the same directory, rename), so a
crash or a second edgecert never leaves a truncated file behind.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from core.errors import (
    HostKeyChangedError,
    HostKeyUnknownError,
    OutputError,
    UnreadableFileError,
)
from core.fs import write_atomic

log = logging.getLogger(__name__)

APP_DIR_NAME = "edgecert"


def user_config_dir() -> Path:
    """edgecert's per-user configuration directory for this platform.

    Returns:
        ``%APPDATA%\\edgecert`` on Windows, ``~/Library/Application Support/edgecert`` on macOS,
        ``$XDG_CONFIG_HOME/edgecert`` (default ``~/.config/edgecert``) elsewhere.
    """
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / APP_DIR_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / APP_DIR_NAME


def own_known_hosts_file() -> Path:
    """The file where edgecert saves host keys the technician accepted."""
    return user_config_dir() / "known_hosts"


def default_known_hosts_files() -> tuple[Path, ...]:
    """The files read by default: OpenSSH's user file first, then edgecert's own (written)."""
    return (Path.home() / ".ssh" / "known_hosts", own_known_hosts_file())


def host_entry_name(host: str, port: int) -> str:
    """The name OpenSSH records for ``host`` on ``port`` (``host`` or ``[host]:port``)."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key_blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob, e.g. ``SHA256:47DEQpj8…``.

    Args:
        key_blob: The SSH wire encoding of the public key (what ``ssh-keygen -lf`` hashes).

    Returns:
        ``SHA256:`` followed by unpadded base64 of the digest, as ``ssh-keygen -l`` prints it.
    """
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def key_type_of(key_blob: bytes) -> str:
    """The algorithm name at the start of an SSH public key blob (``ssh-ed25519`` …)."""
    if len(key_blob) < 4:
        return "unknown"
    n = int.from_bytes(key_blob[:4], "big")
    return key_blob[4 : 4 + n].decode("ascii", "replace")


@dataclass(frozen=True)
class KnownKey:
    """One key line of a known_hosts file that names our host."""

    file: Path
    line: int
    key_type: str
    blob: bytes
    revoked: bool = False


class HostKeyStatus(Enum):
    """Outcome of looking a presented key up."""

    KNOWN = "known"
    UNKNOWN = "unknown"


def _matches_hashed(pattern: str, name: str) -> bool:
    # |1|base64(salt)|base64(HMAC-SHA1(salt, name)), OpenSSH's HashKnownHosts format.
    parts = pattern.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt = base64.b64decode(parts[2], validate=True)
        want = base64.b64decode(parts[3], validate=True)
    except ValueError:
        return False
    got = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(got, want)


def _glob_match(pattern: str, name: str) -> bool:
    """OpenSSH's ``match_pattern``: only ``*`` and ``?`` are special (``[`` is literal, as in
    ``[host]:port``)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, flags=re.DOTALL) is not None


def _names_match(field: str, name: str) -> bool:
    """OpenSSH host-pattern matching: comma list, ``!`` negation wins, hashed names."""
    matched = False
    for raw in field.split(","):
        negated = raw.startswith("!")
        pattern = raw[1:] if negated else raw
        if pattern.startswith("|1|"):
            hit = _matches_hashed(pattern, name)
        else:
            hit = _glob_match(pattern.lower(), name.lower())
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UnreadableFileError(
            f"cannot read known-hosts file: {exc.strerror}", where=str(path),
            hint="Check the file's permissions, or pass another file with --known-hosts.",
        ) from exc


def known_keys(host: str, port: int, files: Sequence[Path]) -> list[KnownKey]:
    """Every key recorded for ``host``/``port`` in ``files`` (missing files are empty).

    Args:
        host: Host name or address as the technician typed it.
        port: TCP port; entries for a port other than 22 are ``[host]:port``.
        files: known_hosts files, read in order.

    Returns:
        The matching keys, ``@cert-authority`` lines excluded (edgecert does not use host
        certificates).

    Raises:
        UnreadableFileError: A file exists but cannot be read.
    """
    name = host_entry_name(host, port)
    found: list[KnownKey] = []
    for path in files:
        for lineno, raw in enumerate(_read_lines(path), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            revoked = False
            if fields[0].startswith("@"):
                if fields[0] != "@revoked":
                    continue
                revoked = True
                fields = fields[1:]
            if len(fields) < 3 or not _names_match(fields[0], name):
                continue
            try:
                blob = base64.b64decode(fields[2], validate=True)
            except ValueError:
                log.warning("%s:%d: unreadable key, line ignored", path, lineno)
                continue
            found.append(KnownKey(path, lineno, fields[1], blob, revoked))
    return found


def preferred_key_types(host: str, port: int, files: Sequence[Path]) -> list[str]:
    """Key types already recorded for the host, so the server is asked for one of those first."""
    types: list[str] = []
    for k in known_keys(host, port, files):
        if not k.revoked and k.key_type not in types:
            types.append(k.key_type)
    return types


def verify_host_key(host: str, port: int, key_blob: bytes, files: Sequence[Path]) -> HostKeyStatus:
    """Check a presented host key against the known_hosts files.

    Args:
        host: Host as typed (for messages and lookup).
        port: TCP port.
        key_blob: The server's public key blob.
        files: known_hosts files to read.

    Returns:
        ``KNOWN`` when a recorded key equals the presented one, ``UNKNOWN`` when the host has
        no entry at all (first contact).

    Raises:
        HostKeyChangedError: The host has entries but none equals the presented key, or the
            presented key is marked ``@revoked``. Never bypassed.
    """
    kinds = key_type_of(key_blob)
    fp = fingerprint(key_blob)
    entries = known_keys(host, port, files)
    for k in entries:
        if k.blob == key_blob and k.revoked:
            raise HostKeyChangedError(host_entry_name(host, port), kinds, fp, str(k.file))
    if any(k.blob == key_blob for k in entries):
        return HostKeyStatus.KNOWN
    live = [k for k in entries if not k.revoked]
    if live:
        # Same type or not: the device no longer presents any key we recorded.
        same = [k for k in live if k.key_type == kinds] or live
        raise HostKeyChangedError(
            host_entry_name(host, port), kinds, fp, f"{same[0].file}:{same[0].line}"
        )
    return HostKeyStatus.UNKNOWN


def unknown_host_key_error(host: str, port: int, key_blob: bytes) -> HostKeyUnknownError:
    """The typed error a first contact raises; carries the fingerprint to show the technician."""
    return HostKeyUnknownError(host_entry_name(host, port), key_type_of(key_blob),
                               fingerprint(key_blob))


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive lock on ``lock_path`` (fcntl on POSIX, msvcrt on Windows)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock on both platforms


def save_host_key(host: str, port: int, key_blob: bytes, path: Path | None = None) -> Path:
    """Append an accepted host key to edgecert's own known-hosts file, atomically.

    The file is rewritten under an exclusive lock through a temporary file in the same
    directory and ``os.replace``; readers see either the old or the new file.

    Args:
        host: Host as typed.
        port: TCP port (non-22 ports are written as ``[host]:port``).
        key_blob: The accepted public key blob.
        path: The file to write; default: ``own_known_hosts_file()``.

    Returns:
        The file written.

    Raises:
        UnreadableFileError: The directory or file cannot be written.
    """
    target = path or own_known_hosts_file()
    line = (f"{host_entry_name(host, port)} {key_type_of(key_blob)} "
            f"{base64.b64encode(key_blob).decode('ascii')}\n")
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(target.with_name(target.name + ".lock")):
            try:
                old = target.read_bytes()
            except FileNotFoundError:
                old = b""
            if line.encode() in old.splitlines(keepends=True) or line.encode() == old:
                return target
            if old and not old.endswith(b"\n"):
                old += b"\n"
            write_atomic(target, old + line.encode(), 0o644, what="the known_hosts file")
    except (OSError, OutputError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc.message
        raise UnreadableFileError(
            f"cannot save the host key: {reason}", where=str(target),
            hint="Check that the edgecert configuration folder is writable.",
        ) from exc
    log.info("saved host key %s for %s in %s", fingerprint(key_blob),
             host_entry_name(host, port), target)
    return target
