"""Certificate files of every wrong-file class of the deploy pre-flight, made with cryptography.

``case_files(name, folder)`` writes the files of one case and returns the CLI arguments that
name them (``--edge-ca-cert``, ``--edge-ca-key``, ``--trust-bundle`` and, when the case needs
it, ``--password-file``). The good chain is root -> edge CA, EC P-256 (RSA-1024 for the weak
key case), valid for a year, CN ``edge-device-01.ca`` (the loopback device's hostname plus
``.ca``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from certs import Ca, Key, key_pem, make_cert, pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

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


def make_ca(cn: str, issuer: Ca | None = None, *, ca: bool = True, key: Key | None = None,
            not_before: dt.datetime | None = None, days: float = 365) -> Ca:
    """A CA certificate (self-signed when ``issuer`` is None) with SKI/AKI and keyCertSign."""
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    return make_cert(cn, issuer=issuer, ca=ca, key=key, crl_sign=True, not_before=start,
                     not_after=start + dt.timedelta(days=days))


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
