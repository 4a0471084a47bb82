"""Key types and key generation for the chain (RSA 2048/4096, EC P-256/P-384)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PublicKeyTypes,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class KeyType(enum.Enum):
    """The key types edgecert generates. Never secp256k1 (facts §11.1)."""

    RSA_4096 = "rsa-4096"
    RSA_2048 = "rsa-2048"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"

    @classmethod
    def parse(cls, text: str) -> KeyType:
        """The key type named ``text`` (``rsa-4096`` …); UsageError for anything else."""
        for kt in cls:
            if kt.value == text:
                return kt
        from core.errors import UsageError

        raise UsageError(
            f"unknown key type {text!r}",
            hint="Use one of: " + ", ".join(k.value for k in cls) + ".",
        )

    @property
    def is_rsa(self) -> bool:
        """True for the RSA key types."""
        return self in (KeyType.RSA_2048, KeyType.RSA_4096)

    def hash_algorithm(self) -> hashes.SHA256:
        """SHA-256 for every key type, like Microsoft's scripts (facts §1.1, §11.1)."""
        return hashes.SHA256()


# RSA public exponent: the universal 65537.
_RSA_EXPONENT = 65537


def generate_key(key_type: KeyType) -> PrivateKey:
    """One new private key of ``key_type``."""
    if key_type is KeyType.RSA_4096:
        return rsa.generate_private_key(_RSA_EXPONENT, 4096)
    if key_type is KeyType.RSA_2048:
        return rsa.generate_private_key(_RSA_EXPONENT, 2048)
    if key_type is KeyType.EC_P384:
        return ec.generate_private_key(ec.SECP384R1())
    return ec.generate_private_key(ec.SECP256R1())


def generate_keys(key_types: Sequence[KeyType]) -> list[PrivateKey]:
    """Generate independent keys concurrently, one thread per key.

    cryptography releases the GIL while OpenSSL generates a key, so threads run RSA key
    generation in parallel (bench/chain.py measures serial, thread and process pools: threads
    are fastest, processes pay for fork and key transfer). One thread per key lets the OS
    balance RSA's very uneven prime searches over the cores. Thread-safe to call from a GUI
    worker (no fork).
    """
    if len(key_types) <= 1 or not any(kt.is_rsa for kt in key_types):
        return [generate_key(kt) for kt in key_types]
    with ThreadPoolExecutor(max_workers=len(key_types)) as pool:
        return list(pool.map(generate_key, key_types))


def describe_public_key(key: PublicKeyTypes) -> str:
    """``RSA 4096`` / ``EC P-256`` / the algorithm name."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return f"EC {names.get(key.curve.name, key.curve.name)}"
    return type(key).__name__.lstrip("_")


def is_signing_key(key: object) -> bool:
    """True for the key types that can sign certificates here."""
    return isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)


def as_issuer_key(key: object) -> CertificateIssuerPrivateKeyTypes:
    """``key`` typed as a signing key; ChainError for key types that cannot sign here."""
    from core.errors import ChainError

    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise ChainError(
        f"{type(key).__name__} keys cannot sign certificates here",
        hint="Use an RSA or EC (P-256/P-384) CA key.",
    )


def private_key_pem(key: PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``password`` when given (never a hard-coded one)."""
    enc: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if password:
        enc = serialization.BestAvailableEncryption(password)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
