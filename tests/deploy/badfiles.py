"""Certificate files of every wrong-file class of the deploy pre-flight, made with cryptography.

``case_files(name, folder)`` writes the files of one case and returns the CLI arguments that
name them (``--edge-ca-cert``, ``--edge-ca-key``, ``--trust-bundle`` and, when the case needs
it, ``--password-file``). The good chain is root -> edge CA, EC P-256 (RSA-1024 for the weak
key case), valid for a year, CN ``edge-device-01.ca`` (the loopback device's hostname plus
``.ca``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PASSWORD = "correct horse battery"

REFUSED = {
    # case: a word the refusal must contain (the finding code or the loader's message)
    "expired": "expired",
    "ca-false": "not-ca",
    "other-root": "root-not-in-trust-bundle",
    "mismatched-key": "key-mismatch",
    "key-as-trust-bundle": "private-key-in-trust-bundle",
    "cert-as-key": "a certificate, not a private key",
    "encrypted-key-no-password": "encrypted",
    "weak-key": "weak-key",
}
ACCEPTED = ("wrong-order", "encrypted-key-with-password", "pfx-and-der")


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: Key


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str, issuer: Ca | None = None, *, ca: bool = True, key: Key | None = None,
            not_before: dt.datetime | None = None, days: float = 365) -> Ca:
    """A CA certificate (self-signed when ``issuer`` is None) with SKI/AKI and keyCertSign."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    key = key or ec.generate_private_key(ec.SECP256R1())
    start = not_before or now
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder().subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, ca, ca, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False)
    return Ca(builder.sign(signer, hashes.SHA256()), key)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Key, password: str | None = None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def case_files(case: str, folder: Path, *, cn: str = "edge-device-01.ca",
               edge_days: float = 365) -> list[str]:
    """Write the files of ``case`` into ``folder``; the CLI arguments naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    root = make_ca("Pre-flight Test Root")
    now = dt.datetime.now(dt.UTC)
    if case == "expired":
        edge = make_ca(cn, root, not_before=now - dt.timedelta(days=400), days=399)
    elif case == "ca-false":
        edge = make_ca(cn, root, ca=False)
    elif case == "weak-key":
        edge = make_ca(cn, root, key=rsa.generate_private_key(65537, 1024))  # noqa: S505
    else:
        edge = make_ca(cn, root, days=edge_days)
    chain = pem(edge.cert) + pem(root.cert)
    key = key_pem(edge.key)
    bundle = pem(root.cert)
    if case == "other-root":
        bundle = pem(make_ca("Some Other Root").cert)
    elif case == "mismatched-key":
        key = key_pem(ec.generate_private_key(ec.SECP256R1()))
    elif case == "wrong-order":
        chain = pem(root.cert) + pem(edge.cert)
    elif case in ("encrypted-key-no-password", "encrypted-key-with-password"):
        key = key_pem(edge.key, PASSWORD)
    files = {"edge-ca.pem": chain, "edge-ca.key.pem": key, "root.pem": bundle}
    if case == "pfx-and-der":
        pfx = pkcs12.serialize_key_and_certificates(
            b"edge", edge.key, edge.cert, [root.cert],
            serialization.BestAvailableEncryption(PASSWORD.encode()))
        files = {"edge-ca.pfx": pfx,
                 "root.der": root.cert.public_bytes(serialization.Encoding.DER)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o600)
    (folder / "password.txt").write_text(PASSWORD + "\n")
    f = {name: str(folder / name) for name in files}
    if case == "pfx-and-der":
        return ["--edge-ca-cert", f["edge-ca.pfx"], "--edge-ca-key", f["edge-ca.pfx"],
                "--trust-bundle", f["root.der"], "--password-file", str(folder / "password.txt")]
    cert_arg, key_arg, bundle_arg = f["edge-ca.pem"], f["edge-ca.key.pem"], f["root.pem"]
    if case == "key-as-trust-bundle":
        bundle_arg = key_arg
    elif case == "cert-as-key":
        key_arg = cert_arg
    args = ["--edge-ca-cert", cert_arg, "--edge-ca-key", key_arg, "--trust-bundle", bundle_arg]
    if case == "encrypted-key-with-password":
        args += ["--password-file", str(folder / "password.txt")]
    return args
