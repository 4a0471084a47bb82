"""Key types and key generation for the chain (RSA 2048/4096, EC P-256/P-384)."""

from __future__ import annotations

import enum
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

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


def _generate_der(key_type_value: str) -> bytes:
    key = generate_key(KeyType(key_type_value))
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _executor(count: int) -> tuple[Executor, bool]:
    """A pool for ``count`` RSA keys: processes where that is safe, else threads.

    RSA generation holds the GIL, so only processes run it in parallel. ``fork`` is used only
    while this process has a single thread (the CLI); a GUI process with worker threads uses a
    thread pool instead, since forking a multi-threaded process is unsafe.
    """
    if (
        os.name == "posix"
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        ctx = multiprocessing.get_context("fork")
        workers = min(count, os.cpu_count() or 1)
        return ProcessPoolExecutor(max_workers=workers, mp_context=ctx), True
    return ThreadPoolExecutor(max_workers=count), False


def generate_keys(key_types: Sequence[KeyType]) -> list[PrivateKey]:
    """Generate independent keys concurrently (RSA in worker processes when possible)."""
    rsa_jobs = [i for i, kt in enumerate(key_types) if kt.is_rsa]
    keys: list[PrivateKey | None] = [None] * len(key_types)
    for i, kt in enumerate(key_types):
        if not kt.is_rsa:
            keys[i] = generate_key(kt)
    if len(rsa_jobs) == 1:
        keys[rsa_jobs[0]] = generate_key(key_types[rsa_jobs[0]])
    elif rsa_jobs:
        pool, processes = _executor(len(rsa_jobs))
        with pool:
            if processes:
                futures = [pool.submit(_generate_der, key_types[i].value) for i in rsa_jobs]
                for i, fut in zip(rsa_jobs, futures, strict=True):
                    loaded = serialization.load_der_private_key(fut.result(), None)
                    assert isinstance(loaded, rsa.RSAPrivateKey)
                    keys[i] = loaded
            else:
                tfutures = [pool.submit(generate_key, key_types[i]) for i in rsa_jobs]
                for i, tfut in zip(rsa_jobs, tfutures, strict=True):
                    keys[i] = tfut.result()
    return [k for k in keys if k is not None]


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
