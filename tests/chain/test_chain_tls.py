"""A server certificate from the generated edge CA completes a real TLS handshake (loopback)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from certs import key_pem, make_cert, pem
from chainkit import tls_handshake
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from core.chain import ChainFiles, load_file
from core.chain.builder import build_server_cert
from core.chain.keys import as_issuer_key

HOST = "edge-gw.example.net"


def _server_cert(files: ChainFiles) -> tuple[bytes, bytes]:
    """edgeHub's server cert the way the runtime issues it: CN and SAN = hostname, 30 days."""
    material = load_file(files.edge_ca_full_chain) + load_file(files.edge_ca_key)
    edge_ca, *issuers = material.certs
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = build_server_cert(hostname=HOST, public_key=key.public_key(),
                             issuer_key=as_issuer_key(material.keys[0]), issuer_cert=edge_ca,
                             not_before=now - dt.timedelta(minutes=5),
                             not_after=now + dt.timedelta(days=30),
                             hash_algorithm=edge_ca.signature_hash_algorithm)  # type: ignore[arg-type]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]
    # Server sends leaf + edge CA + intermediate (not the root), as edgeHub does.
    chain = pem(cert) + pem(edge_ca) + b"".join(pem(c) for c in issuers[:-1])
    return chain, key_pem(key)


@pytest.mark.parametrize("chain_key", [("ec-p256", "1.5"), ("rsa-4096", "1.5"),
                                       ("rsa-2048", "1.1"), ("ec-p384", "1.1")])
def test_handshake_trusting_only_the_root(
    demo_chains: dict[tuple[str, str], ChainFiles], chain_key: tuple[str, str], tmp_path: Path
) -> None:
    files = demo_chains[chain_key]
    chain, key = _server_cert(files)
    tls_handshake(chain, key, files.trust_bundle.read_bytes(), HOST, tmp_path)


def test_handshake_fails_with_an_unrelated_root(ec_chain: ChainFiles, tmp_path: Path) -> None:
    chain, key = _server_cert(ec_chain)
    unrelated = make_cert("Azure_IoT_Hub_CA_Cert_Test_Only")  # same name, other key
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_handshake(chain, key, pem(unrelated.cert), HOST, tmp_path)


def test_handshake_fails_for_another_hostname(ec_chain: ChainFiles, tmp_path: Path) -> None:
    chain, key = _server_cert(ec_chain)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        tls_handshake(chain, key, ec_chain.trust_bundle.read_bytes(), "other.example.net",
                      tmp_path)


def test_edge_ca_pathlen_0_blocks_a_further_sub_ca(ec_chain: ChainFiles, tmp_path: Path) -> None:
    """On 1.2+ the edge CA has pathlen 0: a CA below it must not be accepted by TLS clients."""
    material = load_file(ec_chain.edge_ca_full_chain) + load_file(ec_chain.edge_ca_key)
    edge_ca = material.certs[0]
    edge_key = material.keys[0]
    assert isinstance(edge_key, ec.EllipticCurvePrivateKey)
    from certs import Ca

    sub = make_cert("sub.ca", issuer=Ca(edge_ca, edge_key), ca=True)
    leaf = make_cert(HOST, issuer=sub, ca=False, san=HOST)
    chain = pem(leaf.cert) + pem(sub.cert) + pem(edge_ca) + pem(material.certs[1])
    with pytest.raises(ssl.SSLCertVerificationError, match="path length"):
        tls_handshake(chain, key_pem(leaf.key), ec_chain.trust_bundle.read_bytes(), HOST,
                      tmp_path)
