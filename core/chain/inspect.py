"""A readable summary of one certificate (for `chain inspect` and the GUI's chain view)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from core.chain.keys import describe_public_key


@dataclass(frozen=True)
class CertSummary:
    """What a technician wants to see of a certificate."""

    subject: str
    issuer: str
    common_name: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: int
    lifetime_used: float
    """Share of the lifetime used, 0.0–1.0 (above 1.0 once expired)."""
    key: str
    sha256: str
    is_ca: bool
    path_length: int | None
    key_usage: tuple[str, ...]
    san: tuple[str, ...]
    self_signed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (dates as ISO 8601 strings)."""
        d = asdict(self)
        d["not_before"] = self.not_before.isoformat()
        d["not_after"] = self.not_after.isoformat()
        d["key_usage"] = list(self.key_usage)
        d["san"] = list(self.san)
        return d


_KU_FIELDS = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def key_usage_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The keyUsage bits set, by their RFC 5280 names (empty without the extension)."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(label for attr, label in _KU_FIELDS if getattr(ku, attr))


def basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    """The basicConstraints extension value, or None when absent."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def common_name(cert: x509.Certificate) -> str:
    """The subject CN (empty when there is none)."""
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint, colon-separated upper-case hex (as ``openssl x509 -fingerprint``)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def inspect_certificate(cert: x509.Certificate, now: dt.datetime | None = None) -> CertSummary:
    """Summarise ``cert`` as of ``now`` (default: the current time)."""
    now = now or dt.datetime.now(dt.UTC)
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    life = (na - nb).total_seconds()
    used = (now - nb).total_seconds() / life if life > 0 else 1.0
    bc = basic_constraints(cert)
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = tuple(str(getattr(g, "value", g)) for g in san_ext)
    except x509.ExtensionNotFound:
        san = ()
    return CertSummary(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=common_name(cert),
        serial=format(cert.serial_number, "X"),
        not_before=nb,
        not_after=na,
        days_left=int((na - now).total_seconds() // 86400),
        lifetime_used=max(0.0, used),
        key=describe_public_key(cert.public_key()),
        sha256=fingerprint_sha256(cert),
        is_ca=bool(bc and bc.ca),
        path_length=bc.path_length if bc else None,
        key_usage=key_usage_names(cert),
        san=san,
        self_signed=cert.issuer == cert.subject,
    )


def format_summary(s: CertSummary) -> str:
    """Multi-line text for the CLI."""
    ca = "yes" + (f" (pathlen {s.path_length})" if s.path_length is not None else "") if s.is_ca \
        else "no"
    lines = [
        f"subject:     {s.subject}",
        f"issuer:      {s.issuer}" + ("  (self-signed)" if s.self_signed else ""),
        f"serial:      {s.serial}",
        f"valid:       {s.not_before:%Y-%m-%d %H:%M} → {s.not_after:%Y-%m-%d %H:%M} UTC",
        f"days left:   {s.days_left} ({s.lifetime_used:.0%} of lifetime used)",
        f"key:         {s.key}",
        f"SHA-256:     {s.sha256}",
        f"CA:          {ca}",
        f"key usage:   {', '.join(s.key_usage) or '-'}",
        f"SAN:         {', '.join(s.san) or '-'}",
    ]
    return "\n".join(lines)
