"""Helpers for the chain tests: the openssl CLI, a free-form certificate builder, TLS loopback."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from ci import unavailable
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

KEY_TYPES = ["rsa-4096", "rsa-2048", "ec-p256", "ec-p384"]
VERSIONS = ["1.1", "1.5"]
NOW = dt.datetime.now(dt.UTC)


def openssl_bin() -> str:
    """The openssl CLI; a test needing it fails in CI when it is missing, else skips."""
    path = shutil.which("openssl")
    if path is None:
        unavailable("openssl CLI missing (apt-get install openssl)")
    return path


def openssl(*args: str | Path, cwd: Path | None = None, check: bool = True,
            input_: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([openssl_bin(), *map(str, args)], cwd=cwd, capture_output=True,
                          input=input_, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed:\n"
                             f"{proc.stderr.decode(errors='replace')}")
    return proc


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def make_cert(
    cn: str,
    *,
    issuer: Ca | None = None,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    ca: bool = True,
    pathlen: int | None = None,
    key_cert_sign: bool = True,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digest: hashes.HashAlgorithm | None = None,
    aki: bytes | None = None,
    subject: x509.Name | None = None,
    san: str | None = None,
    basic_constraints: bool = True,
) -> Ca:
    """A certificate with every knob a failing case needs (not the code under test)."""
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
        x509.KeyUsage(True, False, not ca, False, False, ca and key_cert_sign, False, False,
                      False), True)
    if aki is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(aki, None, None), False)
    elif issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), False)
    return Ca(builder.sign(signer, digest or hashes.SHA256()), key)


def tls_handshake(server_chain_pem: bytes, server_key_pem: bytes, trusted_root_pem: bytes,
                  hostname: str, tmp: Path) -> None:
    """A real TLS handshake over a loopback socket; raises ssl.SSLError when it fails.

    The server sends its certificate chain; the client trusts only ``trusted_root_pem`` and
    checks the hostname, as a downstream device does with edgeHub.
    """
    chain_file, key_file = tmp / "server-chain.pem", tmp / "server.key.pem"
    chain_file.write_bytes(server_chain_pem)
    key_file.write_bytes(server_key_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(chain_file, key_file)
    client_ctx = ssl.create_default_context(cadata=trusted_root_pem.decode())
    # Intermediates come from the server, the anchor from cadata: the default X509 strictness
    # of Python 3.13 also requires AKI on every cert, which ours have.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello")
            except (ssl.SSLError, OSError) as exc:
                errors.append(exc)
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=hostname) as tls:
            assert tls.recv(5) == b"hello"
    finally:
        thread.join(10)
