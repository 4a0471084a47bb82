"""Loaders: PEM bundles, DER, PKCS#12, PKCS#1/PKCS#8/SEC1 keys made by the openssl CLI."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from chainkit import openssl
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.chain import ChainFiles, load_bytes, load_file, order_chain
from core.errors import (
    CorruptFileError,
    EdgecertError,
    PasswordRequiredError,
    Pkcs12MacMissingError,
    UnreadableFileError,
    WrongPasswordError,
)


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys in every format, written by the openssl CLI (not by the code under test)."""
    d = tmp_path_factory.mktemp("keys")
    openssl("genrsa", "-traditional", "-out", d / "pkcs1.pem", "2048")
    openssl("rsa", "-in", d / "pkcs1.pem", "-traditional", "-aes256", "-passout", "pass:pw",
            "-out", d / "pkcs1-enc.pem")
    openssl("rsa", "-in", d / "pkcs1.pem", "-traditional", "-outform", "DER",
            "-out", d / "pkcs1.der")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d / "sec1.pem")
    openssl("ec", "-in", d / "sec1.pem", "-aes256", "-passout", "pass:pw",
            "-out", d / "sec1-enc.pem")
    openssl("pkcs8", "-topk8", "-in", d / "sec1.pem", "-nocrypt", "-out", d / "pkcs8.pem")
    openssl("pkcs8", "-topk8", "-in", d / "pkcs1.pem", "-v2", "aes256", "-passout", "pass:pw",
            "-out", d / "pkcs8-enc.pem")
    openssl("pkcs8", "-topk8", "-in", d / "pkcs1.pem", "-v2", "aes256", "-passout", "pass:pw",
            "-outform", "DER", "-out", d / "pkcs8-enc.der")
    openssl("pkcs8", "-topk8", "-in", d / "sec1.pem", "-nocrypt", "-outform", "DER",
            "-out", d / "pkcs8.der")
    openssl("genpkey", "-algorithm", "ed25519", "-out", d / "ed25519.pem")
    return d


@pytest.mark.parametrize("name,kind", [
    ("pkcs1.pem", rsa.RSAPrivateKey), ("pkcs1.der", rsa.RSAPrivateKey),
    ("sec1.pem", ec.EllipticCurvePrivateKey), ("pkcs8.pem", ec.EllipticCurvePrivateKey),
    ("pkcs8.der", ec.EllipticCurvePrivateKey),
])
def test_plain_keys(keys_dir: Path, name: str, kind: type) -> None:
    material = load_file(keys_dir / name)
    assert len(material.keys) == 1 and isinstance(material.keys[0], kind)
    assert material.certs == ()
    assert "key" not in repr(material).replace("keys", "")  # keys are not in the repr


@pytest.mark.parametrize("name", ["pkcs1-enc.pem", "sec1-enc.pem", "pkcs8-enc.pem",
                                  "pkcs8-enc.der"])
def test_encrypted_keys(keys_dir: Path, name: str) -> None:
    path = keys_dir / name
    with pytest.raises(PasswordRequiredError) as err:
        load_file(path)
    assert err.value.where == str(path) and err.value.hint
    with pytest.raises(WrongPasswordError) as werr:
        load_file(path, "wrong-pw")
    assert "wrong-pw" not in werr.value.describe()
    assert len(load_file(path, "pw").keys) == 1


def test_unsupported_key_type(keys_dir: Path) -> None:
    with pytest.raises(UnreadableFileError, match="not supported") as err:
        load_file(keys_dir / "ed25519.pem")
    assert "RSA or EC" in err.value.hint


def test_pem_bundle_in_any_order_and_der(ec_chain: ChainFiles, tmp_path: Path) -> None:
    in_order = load_file(ec_chain.edge_ca_full_chain).certs
    shuffled = list(in_order)
    random.Random(4).shuffle(shuffled)
    shuffled = [shuffled[1], shuffled[2], shuffled[0]] if shuffled == list(in_order) else shuffled
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"junk before\n" + b"\r\n".join(
        c.public_bytes(serialization.Encoding.PEM) for c in shuffled).replace(b"\n", b"\r\n"))
    material = load_file(bundle)
    assert order_chain(material.certs) == list(in_order)
    der = tmp_path / "edge.cer"
    der.write_bytes(in_order[0].public_bytes(serialization.Encoding.DER))
    assert load_file(der).certs == (in_order[0],)


def test_pkcs12_three_distinct_errors(ec_chain: ChainFiles, tmp_path: Path) -> None:
    cert, key = ec_chain.edge_ca_cert, ec_chain.edge_ca_key
    good = tmp_path / "good.pfx"
    openssl("pkcs12", "-export", "-in", cert, "-inkey", key, "-certfile",
            ec_chain.intermediate_full_chain, "-passout", "pass:pw", "-out", good)
    material = load_file(good, "pw")
    assert len(material.certs) == 3 and len(material.keys) == 1
    with pytest.raises(PasswordRequiredError):
        load_file(good)
    with pytest.raises(WrongPasswordError):
        load_file(good, "nope")
    nomac = tmp_path / "nomac.pfx"
    openssl("pkcs12", "-export", "-nomac", "-in", cert, "-inkey", key, "-passout", "pass:pw",
            "-out", nomac)
    with pytest.raises(Pkcs12MacMissingError) as merr:
        load_file(nomac, "nope")
    assert "MAC" in merr.value.hint
    corrupt = tmp_path / "corrupt.pfx"
    data = bytearray(good.read_bytes())
    data[4:12] = b"\xff" * 8  # the PFX structure itself is damaged
    corrupt.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError):
        load_file(corrupt, "pw")
    truncated = tmp_path / "truncated.pfx"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CorruptFileError):
        load_file(truncated, "pw")
    # Altered content behind a valid structure fails the MAC: the hint says both causes.
    data = bytearray(good.read_bytes())
    data[len(data) // 2: len(data) // 2 + 40] = bytes(40)
    altered = tmp_path / "altered.pfx"
    altered.write_bytes(bytes(data))
    with pytest.raises(WrongPasswordError) as aerr:
        load_file(altered, "pw")
    assert "altered" in aerr.value.hint
    # Empty password and no password at all both open an unprotected PFX.
    plain = tmp_path / "plain.pfx"
    openssl("pkcs12", "-export", "-in", cert, "-inkey", key, "-passout", "pass:", "-out", plain)
    assert len(load_file(plain).keys) == 1


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="not found") as err:
        load_file(tmp_path / "missing.pem")
    assert err.value.where == str(tmp_path / "missing.pem")
    with pytest.raises(UnreadableFileError, match="folder"):
        load_file(tmp_path)
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFileError):
        load_file(empty)
    csr = tmp_path / "req.pem"
    csr.write_bytes(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                    b"-----END CERTIFICATE REQUEST-----\n")
    with pytest.raises(UnreadableFileError, match="signing request"):
        load_file(csr)
    damaged = tmp_path / "damaged.pem"
    damaged.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(CorruptFileError):
        load_file(damaged)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.one_of(st.none(), st.text(max_size=8)))
def test_arbitrary_bytes_raise_only_our_errors(data: bytes, password: str | None) -> None:
    try:
        load_bytes(data, where="fuzz", password=password)
    except EdgecertError as exc:
        assert exc.where == "fuzz" and exc.hint


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    d = tmp_path_factory.mktemp("seeds")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d / "k.pem")
    openssl("req", "-x509", "-new", "-key", d / "k.pem", "-subj", "/CN=seed", "-days", "2",
            "-out", d / "c.pem")
    openssl("pkcs12", "-export", "-in", d / "c.pem", "-inkey", d / "k.pem", "-passout",
            "pass:pw", "-out", d / "c.pfx")
    openssl("x509", "-in", d / "c.pem", "-outform", "DER", "-out", d / "c.der")
    return [(d / n).read_bytes() for n in ("k.pem", "c.pem", "c.pfx", "c.der")]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.integers(0, 3), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                   min_size=1, max_size=6),
       st.integers(0, 10_000), st.sampled_from([None, "pw", "x"]))
def test_mutated_real_files_raise_only_our_errors(
    seeds: list[bytes], which: int, flips: list[tuple[int, int]], cut: int,
    password: str | None,
) -> None:
    data = bytearray(seeds[which])
    for pos, value in flips:
        data[pos % len(data)] = value
    try:
        load_bytes(bytes(data[: max(1, cut % (len(data) + 1))]), where="m", password=password)
    except EdgecertError as exc:
        assert exc.where == "m"
