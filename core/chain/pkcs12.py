"""PKCS#12 (PFX) export, modern (AES-256) or legacy (3DES/SHA-1) for old Windows importers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from core.chain.keys import PrivateKey
from core.chain.load import load_file
from core.chain.order import key_matches, order_chain
from core.errors import UsageError
from core.fs import write_atomic


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


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as 0600, atomically (``core.fs.write_atomic``)."""
    write_atomic(path, data, 0o600, what="the PFX", make_parents=True)


def export_pfx(
    *,
    cert: Path,
    key: Path,
    out: Path,
    chain: Path | None = None,
    password: str | None = None,
    key_password: str | None = None,
    legacy: bool = False,
    force: bool = False,
) -> tuple[Path, int]:
    """Write a PFX (mode 0600) from certificate, key and optional chain files.

    Args:
        cert: the certificate file (may hold its chain too).
        key: its private key file.
        out: the PFX to write (atomically).
        chain: more issuer certificates; the PFX carries them leaf to root.
        password: protects the PFX (none: unencrypted, as certGen.sh's pfx files).
        key_password: opens an encrypted key file.
        legacy: 3DES/SHA-1 for old Windows importers.
        force: replace an existing ``out``.

    Returns:
        ``out`` and the number of certificates in it.

    Raises:
        UsageError: ``out`` exists, no key, or the key matches no certificate.
    """
    if out.is_dir():
        raise UsageError("--out names a folder; give the PFX file to write", where=str(out),
                         hint=f"E.g. --out {out / (cert.stem + '.pfx')}.")
    if out.exists() and not force:
        raise UsageError("the output file exists", where=str(out),
                         hint="Choose another name, or pass --force to replace it.")
    cert_mat = load_file(cert)
    key_mat = load_file(key, key_password)
    if not key_mat.keys:
        raise UsageError("no private key in the key file", where=str(key),
                         hint="Choose the private key of the certificate.")
    private = key_mat.keys[0]
    leaf = next((c for c in cert_mat.certs if key_matches(private, c)), None)
    if leaf is None:
        raise UsageError("the key does not belong to any certificate in the file",
                         where=str(cert), hint="Choose the matching certificate and key.")
    others = [c for c in cert_mat.certs if c is not leaf]
    if chain is not None:
        others += list(load_file(chain).certs)
    issuers = order_chain([leaf, *others], leaf)[1:]
    data = pfx_bytes(name=out.stem, key=private, cert=leaf, chain=issuers,
                     password=password.encode("utf-8") if password else None, legacy=legacy)
    write_private_file(out, data)
    return out, 1 + len(issuers)
