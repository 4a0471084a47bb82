"""Put certificates in chain order (leaf → root) and pair keys with certificates."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from core.chain.keys import PrivateKey


def is_self_issued(cert: x509.Certificate) -> bool:
    """True when issuer and subject are the same name (a root, for our purposes)."""
    return cert.issuer == cert.subject


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer`` names and signs ``cert`` (signature checked)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:
        return False
    return True


def dedupe(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """``certs`` without repeats (same DER), first occurrence kept."""
    seen: set[bytes] = set()
    out = []
    for c in certs:
        fp = c.public_bytes(serialization.Encoding.DER)
        if fp not in seen:
            seen.add(fp)
            out.append(c)
    return out


def leaf_candidates(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates that issued none of the others (file order); all of them if none."""
    pool = dedupe(certs)
    issuers = {id(i) for c in pool for i in pool if i is not c and signed_by(c, i)}
    return [c for c in pool if id(c) not in issuers] or pool


def order_chain(certs: Sequence[x509.Certificate],
                leaf: x509.Certificate | None = None) -> list[x509.Certificate]:
    """Certificates from the leaf up to the last issuer found (the root when present).

    The leaf is ``leaf`` when given, else the certificate that issued none of the others.
    Certificates that are not part of the path are dropped.
    """
    pool = dedupe(certs)
    if not pool:
        return []
    if leaf is None:
        leaf = leaf_candidates(pool)[0]
    path = [leaf]
    while not is_self_issued(path[-1]):
        nxt = next((c for c in pool if c not in path and signed_by(path[-1], c)), None)
        if nxt is None:
            nxt = next((c for c in pool if c not in path and c.subject == path[-1].issuer), None)
        if nxt is None:
            break
        path.append(nxt)
    return path


def key_matches(key: PrivateKey, cert: x509.Certificate) -> bool:
    """Whether ``key`` is the private half of ``cert``'s public key."""
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pub == cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def find_key_cert(keys: Sequence[PrivateKey], certs: Sequence[x509.Certificate]
                  ) -> tuple[PrivateKey, x509.Certificate] | None:
    """The first (key, certificate) pair that belong together."""
    for k in keys:
        for c in certs:
            if key_matches(k, c):
                return k, c
    return None
