"""The suite's one certificate factory, made with ``cryptography``.

``make_chain(cn)`` is the good root -> edge CA chain every release accepts (EC P-256, no path
length, SKI/AKI, keyCertSign): what deploy, config and GUI tests install. ``make_cert`` builds any
single certificate with every knob a failing case needs (expired, not a CA, path length, weak or
odd keys, missing extensions, a foreign AKI …); it is test data, not the code under test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
NOW = dt.datetime.now(dt.UTC)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Key, password: str | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``password`` when given."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


@dataclass(frozen=True)
class Ca:
    """A certificate and its private key (a CA or a leaf)."""

    cert: x509.Certificate
    key: Key


def make_cert(
    cn: str,
    *,
    issuer: Ca | None = None,
    key: Key | None = None,
    ca: bool = True,
    pathlen: int | None = None,
    key_cert_sign: bool = True,
    crl_sign: bool = False,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digest: hashes.HashAlgorithm | None = None,
    aki: bytes | None = None,
    subject: x509.Name | None = None,
    san: str | None = None,
    basic_constraints: bool = True,
) -> Ca:
    """One certificate, self-signed when ``issuer`` is None (defaults: EC P-256, a CA, valid from
    a day ago for 60 days, SKI, AKI of the issuer, keyUsage critical)."""
    key = key or ec_key()
    name = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    signer = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else name
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - dt.timedelta(days=1))
        .not_valid_after(not_after or NOW + dt.timedelta(days=60))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca
                                                              else None), True)
    builder = builder.add_extension(
        x509.KeyUsage(True, False, not ca, False, False, ca and key_cert_sign, ca and crl_sign,
                      False, False), True)
    if aki is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(aki, None, None), False)
    elif issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), False)
    return Ca(builder.sign(signer, digest or hashes.SHA256()), key)


@dataclass(frozen=True)
class Chain:
    """PEM bytes of a root -> edge CA chain, as a technician's three files hold them."""

    edge_ca_full_chain: bytes
    edge_ca_key: bytes
    root: bytes

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        """``edge-ca.pem``, ``edge-ca.key.pem``, ``root.pem`` (0600) in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = (folder / "edge-ca.pem", folder / "edge-ca.key.pem", folder / "root.pem")
        for p, data in zip(paths, (self.edge_ca_full_chain, self.edge_ca_key, self.root),
                           strict=True):
            p.write_bytes(data)
            p.chmod(0o600)
        return paths


def make_chain(cn: str = "device1.ca", days: int = 365, root_cn: str = "Test Root") -> Chain:
    """Root -> edge CA (EC P-256) that every release accepts: no pathlen constraint, since a
    1.1 device CA issues a workload CA below itself (pathlen 0 is refused there)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    root = make_cert(root_cn, crl_sign=True, not_before=start,
                     not_after=start + dt.timedelta(days=days * 2))
    edge = make_cert(cn, issuer=root, crl_sign=True, not_before=start,
                     not_after=start + dt.timedelta(days=days))
    return Chain(pem(edge.cert) + pem(root.cert), key_pem(edge.key), pem(root.cert))
