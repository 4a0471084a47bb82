"""PKCS#12 (PFX) export, modern (AES-256) or legacy (3DES/SHA-1) for old Windows importers."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from core.chain.keys import PrivateKey


def pfx_bytes(
    *,
    name: str,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    password: bytes | None = None,
    legacy: bool = False,
) -> bytes:
    """A PFX holding ``key``, ``cert`` and the issuer ``chain``.

    Args:
        legacy: PBESv1 SHA1 + 3DES with a SHA-1 MAC: what Windows Server 2016, older macOS and
            many appliances still require (OpenSSL 3's AES default fails there).
    """
    enc: serialization.KeySerializationEncryption
    if legacy:
        enc = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - legacy format on explicit request
            .build(password or b"")
        )
    elif password:
        enc = serialization.BestAvailableEncryption(password)
    else:
        enc = serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), key, cert, list(chain) or None, enc
    )
