"""What a deploy changes in the certificates: the device's edge CA and trust bundle now, and
after the plan, side by side (subject, issuer, SHA-256 fingerprint, expiry).

Pure: the device's current certificate bytes are read elsewhere (:func:`current_cert_paths`
says which files the config names); nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from core.chain.inspect import fingerprint_sha256
from core.deploy.status import _path_of, configured_certs


@dataclass(frozen=True)
class CertFacts:
    """The facts of one certificate a technician compares."""

    subject: str
    issuer: str
    sha256: str
    not_after: dt.datetime


@dataclass(frozen=True)
class CertSide:
    """One side (now, or after the deploy) of one role."""

    path: str
    certs: tuple[CertFacts, ...] = ()
    note: str = ""
    """Why there are no facts: ``"none"``, ``"made by the device"``, ``"cannot be read"``…"""


@dataclass(frozen=True)
class CertChange:
    """One role (the edge CA, the trust bundle's roots): now and after."""

    role: str
    before: CertSide
    after: CertSide

    @property
    def changed(self) -> bool:
        """Whether the certificates differ (by fingerprint) or only one side has any."""
        return [c.sha256 for c in self.before.certs] != [c.sha256 for c in self.after.certs] \
            or self.before.note != self.after.note


def cert_facts(pem: bytes, *, first_only: bool = False) -> tuple[CertFacts, ...]:
    """The certificates in PEM bytes (the first one only for an edge CA chain file).

    Raises:
        ValueError: the bytes hold no PEM certificate.
    """
    certs = x509.load_pem_x509_certificates(pem)
    if first_only:
        certs = certs[:1]
    return tuple(CertFacts(c.subject.rfc4514_string(), c.issuer.rfc4514_string(),
                           fingerprint_sha256(c), c.not_valid_after_utc) for c in certs)


def side(path: str, pem: bytes | None, *, first_only: bool = False, note: str = "") -> CertSide:
    """A side from the bytes found (None: no such file, or ``note`` says why)."""
    if pem is None:
        return CertSide(path, (), note or "none")
    try:
        return CertSide(path, cert_facts(pem, first_only=first_only))
    except ValueError:
        return CertSide(path, (), "not a PEM certificate")


def current_cert_paths(config: bytes | None, legacy: bool) -> tuple[tuple[str, str | None], ...]:
    """The (role, device path) of each certificate file a device config names; the role is
    ``"edge CA"``/``"device CA"`` or ``"trust bundle"``; the path is None when not a file URI."""
    _mode, pairs = configured_certs(config, legacy)
    return tuple((role, _path_of(uri)) for role, uri in pairs)


def compare(before: Sequence[tuple[str, CertSide]], after: Sequence[tuple[str, CertSide]]
            ) -> tuple[CertChange, ...]:
    """Pair the roles of both sides (the plan's roles first); a role the plan does not touch
    stays as it is."""
    now = dict(before)
    then = dict(after)
    roles = list(dict.fromkeys([r for r, _ in after] + [r for r, _ in before]))
    changes = []
    for role in roles:
        old = now.get(role, CertSide("", (), "none"))
        changes.append(CertChange(role, old, then.get(role, old)))
    return tuple(changes)
