"""Helpers for the chain tests: the openssl CLI and a TLS loopback (certificates: ``certs``)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

from ci import unavailable

KEY_TYPES = ["rsa-4096", "rsa-2048", "ec-p256", "ec-p384"]
VERSIONS = ["1.1", "1.5"]


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
