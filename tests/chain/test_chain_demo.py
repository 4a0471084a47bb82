"""`chain demo`: certGen.sh layout, extensions per release, openssl verify, atomic output."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from certs import pem
from chainkit import KEY_TYPES, VERSIONS, openssl
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import core.chain.demo as demo_mod
from core.chain import ChainFiles, KeyType, generate_demo_chain, load_file
from core.errors import CancelledError, OutputError, UsageError
from core.progress import CancelToken, ProgressEvent
from core.versions import release

EXPECTED = {
    "certs/azure-iot-test-only.root.ca.cert.pem",
    "certs/azure-iot-test-only.intermediate.cert.pem",
    "certs/azure-iot-test-only.intermediate-full-chain.cert.pem",
    "certs/azure-iot-test-only.intermediate.cert.pfx",
    "certs/iot-edge-device-ca-dev-01.cert.pem",
    "certs/iot-edge-device-ca-dev-01-full-chain.cert.pem",
    "certs/iot-edge-device-ca-dev-01.cert.pfx",
    "private/azure-iot-test-only.root.ca.key.pem",
    "private/azure-iot-test-only.intermediate.key.pem",
    "private/iot-edge-device-ca-dev-01.key.pem",
}


def _certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_every_generated_chain_verifies_with_openssl(
    demo_chains: dict[tuple[str, str], ChainFiles], key_type: str, version: str
) -> None:
    files = demo_chains[(key_type, version)]
    assert _tree(files.out_dir) == EXPECTED
    proc = openssl("verify", "-CAfile", files.root_cert, "-untrusted", files.intermediate_cert,
                   files.edge_ca_cert)
    assert proc.stdout.strip().endswith(b": OK")
    # The full-chain file verifies too, edge CA first (openssl verify takes the first cert).
    proc = openssl("verify", "-CAfile", files.root_cert, "-untrusted",
                   files.edge_ca_full_chain, files.edge_ca_full_chain)
    assert proc.returncode == 0


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_profile_matches_facts(
    demo_chains: dict[tuple[str, str], ChainFiles], key_type: str, version: str
) -> None:
    files = demo_chains[(key_type, version)]
    assert files.edge_ca_full_chain is not None and files.root_cert is not None
    edge, inter, root = _certs(files.edge_ca_full_chain)
    assert [c.subject for c in (edge, inter, root)] == [
        c.subject for c in (*_certs(files.edge_ca_cert), *_certs(files.intermediate_full_chain))
    ]
    assert _certs(files.root_cert) == [root]
    assert edge.subject.rfc4514_string() == "CN=dev-01.ca"
    rel = release(version)
    expected_pathlen = {"edge": rel.edge_ca_pathlen,
                        "inter": None if rel.edge_ca_pathlen is None else 1, "root": None}
    for role, cert, parent in (("edge", edge, inter), ("inter", inter, root),
                               ("root", root, root)):
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca
        assert bc.value.path_length == expected_pathlen[role]
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.digital_signature
        assert ku.value.crl_sign is (role != "edge")
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = parent.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ski.digest
        assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
        assert cert.not_valid_after_utc <= parent.not_valid_after_utc
        if rel.not_after_limit is not None:
            assert cert.not_valid_after_utc < rel.not_after_limit
    days = (edge.not_valid_after_utc - edge.not_valid_before_utc).days
    assert days == (180 if version == "1.1" else 90)


def test_keys_are_pkcs8_0600_and_ca_keys_encrypted_only_with_a_password(
    ec_chain: ChainFiles, tmp_path: Path
) -> None:
    for key in (ec_chain.root_key, ec_chain.intermediate_key, ec_chain.edge_ca_key):
        assert key is not None
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(ec_chain.out_dir.stat().st_mode) == 0o700
    files = generate_demo_chain(tmp_path / "pw", "dev-01", release=release("1.5"),
                                key_type=KeyType.EC_P256, password="s3cret")
    assert files.root_key is not None and files.intermediate_key is not None
    for key in (files.root_key, files.intermediate_key):
        assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert b"s3cret" not in key.read_bytes()
        serialization.load_pem_private_key(key.read_bytes(), b"s3cret")
    # The edge CA key stays plain: the runtime reads it without a password (facts §1.1).
    assert files.edge_ca_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert files.edge_ca_pfx is not None
    proc = openssl("pkcs12", "-in", files.edge_ca_pfx, "-passin", "pass:s3cret", "-nokeys")
    assert proc.stdout.count(b"BEGIN CERTIFICATE") == 3


def test_name_rules(tmp_path: Path) -> None:
    rel = release("1.5")
    generate_demo_chain(tmp_path / "ok", "d" * 61, release=rel, key_type=KeyType.EC_P256)
    with pytest.raises(UsageError, match="at most 64") as err:
        generate_demo_chain(tmp_path / "long", "d" * 62, release=rel, key_type=KeyType.EC_P256)
    assert err.value.hint
    for bad in ("", "../x", ".hidden"):
        with pytest.raises(UsageError):
            generate_demo_chain(tmp_path / "bad", bad, release=rel, key_type=KeyType.EC_P256)
    assert not (tmp_path / "long").exists() and not (tmp_path / "bad").exists()


def test_on_1_1_the_whole_chain_ends_before_2038(tmp_path: Path) -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    files = generate_demo_chain(tmp_path / "a", "dev", release=release("1.1"),
                                key_type=KeyType.EC_P256, days=2000, now=now)
    for cert in _certs(files.edge_ca_full_chain):
        assert cert.not_valid_after_utc < dt.datetime(2038, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(UsageError, match="2038"):
        generate_demo_chain(tmp_path / "b", "dev", release=release("1.1"),
                            key_type=KeyType.EC_P256, days=3000, now=now)
    # 1.5 has no such limit.
    files = generate_demo_chain(tmp_path / "c", "dev", release=release("1.5"),
                                key_type=KeyType.EC_P256, days=3000, now=now)
    assert _certs(files.edge_ca_cert)[0].not_valid_after_utc.year == 2038
    with pytest.raises(UsageError, match="at least 1"):
        generate_demo_chain(tmp_path / "d", "dev", release=release("1.5"),
                            key_type=KeyType.EC_P256, days=0)


def test_refuses_a_non_empty_folder_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty") as err:
        generate_demo_chain(out, "dev", release=release("1.5"), key_type=KeyType.EC_P256)
    assert "--force" in err.value.hint
    assert _tree(out) == {"keep.txt"}
    files = generate_demo_chain(out, "dev", release=release("1.5"), key_type=KeyType.EC_P256,
                                force=True)
    assert "keep.txt" not in _tree(out) and files.edge_ca_key.is_file()
    # An existing empty folder is fine.
    (tmp_path / "empty").mkdir()
    generate_demo_chain(tmp_path / "empty", "dev", release=release("1.5"),
                        key_type=KeyType.EC_P256)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "out"]


def test_failure_mid_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = demo_mod.pfx_bytes

    def failing_pfx(**kwargs: object) -> bytes:
        calls.append(kwargs["name"])
        if len(calls) == 2:  # the intermediate PFX and several files are already written
            raise OSError(28, "No space left on device")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(demo_mod, "pfx_bytes", failing_pfx)
    with pytest.raises(OutputError, match="No space"):
        generate_demo_chain(tmp_path / "out", "dev", release=release("1.5"),
                            key_type=KeyType.EC_P256)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []  # no output, no staging folder

    # With --force, the old chain survives a failed replacement untouched.
    monkeypatch.setattr(demo_mod, "pfx_bytes", real)
    old = generate_demo_chain(tmp_path / "out", "dev", release=release("1.5"),
                              key_type=KeyType.EC_P256)
    before = old.edge_ca_cert.read_bytes()
    calls.clear()
    monkeypatch.setattr(demo_mod, "pfx_bytes", failing_pfx)
    with pytest.raises(OutputError):
        generate_demo_chain(tmp_path / "out", "dev", release=release("1.5"),
                            key_type=KeyType.EC_P256, force=True)
    assert old.edge_ca_cert.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_cancel_and_progress(tmp_path: Path) -> None:
    token = CancelToken()
    events: list[ProgressEvent] = []

    def progress(ev: ProgressEvent) -> None:
        events.append(ev)
        if ev.step == "keys" and ev.done == ev.total:
            token.cancel()

    with pytest.raises(CancelledError):
        generate_demo_chain(tmp_path / "out", "dev", release=release("1.5"),
                            key_type=KeyType.EC_P256, progress=progress, cancel=token)
    assert list(tmp_path.iterdir()) == []
    assert [e.step for e in events] == ["keys", "keys"]


def test_generated_chain_validates_clean(demo_chains: dict[tuple[str, str], ChainFiles]) -> None:
    from core.chain import check_files

    for (_kt, version), files in demo_chains.items():
        report = check_files(load_file(files.edge_ca_full_chain), load_file(files.edge_ca_key),
                             load_file(files.trust_bundle), release=release(version),
                             hostname="dev-01")
        assert report.findings == (), report.findings
        assert [pem(c) for c in report.chain] == [
            pem(c) for c in _certs(files.edge_ca_full_chain)]


def test_keys_are_independent(demo_chains: dict[tuple[str, str], ChainFiles]) -> None:
    for files in demo_chains.values():
        assert files.root_key and files.intermediate_key
        keys = [serialization.load_pem_private_key(p.read_bytes(), None)
                for p in (files.root_key, files.intermediate_key, files.edge_ca_key)]
        spki = {k.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
                for k in keys}
        assert len(spki) == 3


def test_independent_keys_are_generated_concurrently(monkeypatch: pytest.MonkeyPatch) -> None:
    """One thread per key: three slow key generations overlap instead of adding up."""
    import threading
    import time

    import core.chain.keys as keys_mod

    threads: set[int] = set()
    real = keys_mod.generate_key

    def slow(kt: KeyType) -> object:
        threads.add(threading.get_ident())
        time.sleep(0.3)
        return real(KeyType.EC_P256)

    monkeypatch.setattr(keys_mod, "generate_key", slow)
    start = time.perf_counter()
    keys = keys_mod.generate_keys([KeyType.RSA_4096] * 3)
    assert time.perf_counter() - start < 0.8
    assert len(threads) == 3 and len(keys) == 3
