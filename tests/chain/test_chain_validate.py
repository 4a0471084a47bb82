"""Findings: every rule has a failing case; foreign chains (trustme, openssl CLI) validate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import trustme
from certs import NOW, Ca, ec_key, key_pem, make_cert, pem
from chainkit import openssl
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from core.chain import (
    ChainFiles,
    ChainReport,
    Material,
    check_files,
    load_bytes,
    load_file,
    validate_chain,
)
from core.errors import UnreadableFileError
from core.versions import release

R15, R11 = release("1.5"), release("1.1")


def _m(*certs: x509.Certificate) -> Material:
    if not certs:
        return Material()
    return load_bytes(b"".join(pem(c) for c in certs), where="test")


def _chain(*, root_kw: dict | None = None, inter_kw: dict | None = None,
           edge_kw: dict | None = None) -> tuple[Ca, Ca, Ca]:
    root = make_cert("Root CA", **(root_kw or {}))
    inter = make_cert("Intermediate CA", issuer=root, **{"pathlen": 1, **(inter_kw or {})})
    edge = make_cert("dev.ca", issuer=inter, **{"pathlen": 0, **(edge_kw or {})})
    return root, inter, edge


def _validate(root: Ca, inter: Ca, edge: Ca, *, rel: object = R15, hostname: str | None = None,
              edge_file: tuple[x509.Certificate, ...] | None = None,
              trust: tuple[x509.Certificate, ...] | None = None,
              key: object = "edge") -> ChainReport:
    return validate_chain(
        _m(*(edge_file if edge_file is not None else (edge.cert, inter.cert, root.cert))),
        key=edge.key if key == "edge" else key,  # type: ignore[arg-type]
        trust_bundle=_m(*(trust if trust is not None else (root.cert,))),
        release=rel, hostname=hostname)  # type: ignore[arg-type]


def _codes(report: ChainReport) -> set[str]:
    return {f.code for f in report.findings}


def test_clean_chain_has_no_findings() -> None:
    report = _validate(*_chain())
    assert report.findings == () and report.ok
    assert [c.subject.rfc4514_string() for c in report.chain] == [
        "CN=dev.ca", "CN=Intermediate CA", "CN=Root CA"]


def test_key_mismatch_and_missing_key() -> None:
    root, inter, edge = _chain()
    report = _validate(root, inter, edge, key=ec_key())
    f = next(f for f in report.findings if f.code == "key-mismatch")
    assert f.severity == "error" and "certs-match-private-keys" in f.hint
    assert "edge CA" in f.message and f.subject == "dev.ca"
    assert "no-key" in _codes(_validate(root, inter, edge, key=None))


def test_not_a_ca_and_no_keycertsign() -> None:
    root, inter, _ = _chain()
    leafish = make_cert("dev.ca", issuer=inter, ca=False)
    report = _validate(root, inter, leafish)
    assert "not-ca" in _codes(report) and not report.ok
    no_bc = make_cert("dev.ca", issuer=inter, basic_constraints=False)
    assert "not-ca" in _codes(_validate(root, inter, no_bc))
    no_sign = make_cert("dev.ca", issuer=inter, key_cert_sign=False, pathlen=0)
    assert "no-keycertsign" in _codes(_validate(root, inter, no_sign))


def test_broken_links() -> None:
    root, inter, edge = _chain()
    # Same issuer name, different key: the signature does not verify.
    impostor = make_cert("Intermediate CA", issuer=root, pathlen=1)
    report = _validate(root, impostor, edge, edge_file=(edge.cert, impostor.cert, root.cert))
    assert any(f.code == "broken-link" and "signature" in f.message for f in report.findings)
    # AKI naming another key.
    bad_aki = make_cert("dev.ca", issuer=inter, pathlen=0, aki=b"\x01" * 20)
    report = _validate(root, inter, bad_aki)
    assert any(f.code == "broken-link" and "key identifier" in f.message
               for f in report.findings)
    # An edge CA from another intermediate: the chain never reaches this root.
    other_inter = make_cert("Other Intermediate", issuer=make_cert("Other Root"), pathlen=1)
    stray = make_cert("dev.ca", issuer=other_inter, pathlen=0)
    report = _validate(root, inter, stray, edge_file=(stray.cert, inter.cert))
    assert "root-missing" in _codes(report)


def test_pathlen_depends_on_the_release() -> None:
    # 1.2+: an edge CA with pathlen 0 is right; a root with pathlen 0 above an intermediate is not.
    root, inter, edge = _chain(root_kw={"pathlen": 0})
    report = _validate(root, inter, edge)
    assert [f.subject for f in report.findings if f.code == "pathlen"] == ["Root CA"]
    # 1.1: the device CA issues a workload CA, so pathlen 0 on it is an error there, not on 1.5.
    root, inter, edge = _chain()
    assert "pathlen" not in _codes(_validate(root, inter, edge, rel=R15))
    report = _validate(root, inter, edge, rel=R11)
    f = next(f for f in report.findings if f.code == "pathlen")
    assert f.subject == "dev.ca" and "device CA" in f.message and "1.1" in f.hint
    # Intermediate with pathlen 1 is too small on 1.1 (edge CA + workload CA below it).
    root, inter, edge = _chain(edge_kw={"pathlen": None})
    assert [f.subject for f in _validate(root, inter, edge, rel=R11).findings
            if f.code == "pathlen"] == ["Intermediate CA"]


def test_dates() -> None:
    root, inter, _ = _chain()
    future = make_cert("dev.ca", issuer=inter, pathlen=0,
                       not_before=NOW + dt.timedelta(days=1))
    assert "not-yet-valid" in _codes(_validate(root, inter, future))
    expired = make_cert("dev.ca", issuer=inter, pathlen=0,
                        not_before=NOW - dt.timedelta(days=10),
                        not_after=NOW - dt.timedelta(days=1))
    assert "expired" in _codes(_validate(root, inter, expired))
    soon = make_cert("dev.ca", issuer=inter, pathlen=0, not_after=NOW + dt.timedelta(days=5))
    report = _validate(root, inter, soon)
    f = next(f for f in report.findings if f.code == "expires-soon")
    assert f.severity == "warning" and report.ok
    # 30 days left: fine on 1.5 (7-day window), a warning on 1.1 (90-day window).
    month = make_cert("dev.ca", issuer=inter, not_after=NOW + dt.timedelta(days=30))
    assert "expires-soon" not in _codes(_validate(root, inter, month))
    assert "expires-soon" in _codes(_validate(root, inter, month, rel=R11))


def test_2038_and_2050_on_1_1_only() -> None:
    far = {"not_after": dt.datetime(2040, 1, 1, tzinfo=dt.UTC)}
    root, inter, edge = _chain(root_kw=far, inter_kw=far)
    assert [f.subject for f in _validate(root, inter, edge, rel=R11).findings
            if f.code == "y2038"] == ["Intermediate CA", "Root CA"]
    assert _validate(root, inter, edge).findings == ()
    very_far = {"not_after": dt.datetime(2051, 1, 1, tzinfo=dt.UTC)}
    root, inter, edge = _chain(root_kw=very_far)
    report = _validate(root, inter, edge, rel=R11)
    assert {f.code for f in report.findings if f.subject == "Root CA"} == {"y2050"}


def test_weak_keys_and_sha1() -> None:
    root, inter, _ = _chain()
    small = make_cert("dev.ca", issuer=inter, pathlen=0,
                      key=rsa.generate_private_key(65537, 1024))  # noqa: S505 - the case
    assert "weak-key" in _codes(_validate(root, inter, small))
    k1 = ec.generate_private_key(ec.SECP256K1())
    koblitz = make_cert("dev.ca", issuer=inter, pathlen=0, key=k1)
    f = next(f for f in _validate(root, inter, koblitz).findings if f.code == "weak-key")
    assert "secp256k1" in f.message
    assert "weak-signature" not in _codes(_validate(root, inter, small))


def test_sha1_signature(tmp_path: Path) -> None:
    """cryptography refuses to sign with SHA-1, so the openssl CLI makes the bad certificate."""
    root, inter, _ = _chain()
    (tmp_path / "inter.pem").write_bytes(pem(inter.cert))
    (tmp_path / "inter.key").write_bytes(key_pem(inter.key))
    (tmp_path / "ext.cnf").write_text(
        "[e]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tmp_path / "edge.key", "-subj", "/CN=dev.ca", "-out", tmp_path / "e.csr")
    openssl("x509", "-req", "-sha1", "-in", tmp_path / "e.csr", "-CA", tmp_path / "inter.pem",
            "-CAkey", tmp_path / "inter.key", "-days", "30", "-extfile", tmp_path / "ext.cnf",
            "-extensions", "e", "-out", tmp_path / "edge.pem")
    edge_cert = load_file(tmp_path / "edge.pem").certs[0]
    edge = Ca(edge_cert, load_file(tmp_path / "edge.key").keys[0])
    report = _validate(root, inter, edge)
    f = next(f for f in report.findings if f.code == "weak-signature")
    assert "SHA1" in f.message and f.severity == "error" and not report.ok


@pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")
def test_names() -> None:
    root, inter, edge = _chain()
    report = _validate(root, inter, edge, hostname="DEV.CA")
    assert "cn-equals-hostname" in _codes(report)
    assert "cn-equals-hostname" not in _codes(_validate(root, inter, edge, hostname="dev"))
    long_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x" * 70, _validate=False)])
    long_cn = make_cert("", issuer=inter, pathlen=0, subject=long_name)
    assert "cn-too-long" in _codes(_validate(root, inter, long_cn))


def test_trust_bundle_and_intermediates() -> None:
    root, inter, edge = _chain()
    other_root = make_cert("Other Root")
    report = _validate(root, inter, edge, trust=(other_root.cert,))
    assert "root-not-in-trust-bundle" in _codes(report)
    # Root only in the edge CA file: still not anchored by the trust bundle.
    assert "root-not-in-trust-bundle" in _codes(
        _validate(root, inter, edge, trust=(other_root.cert,)))
    assert "empty-trust-bundle" in _codes(_validate(root, inter, edge, trust=()))
    # The edge CA file without its intermediate, intermediate only in the bundle.
    report = _validate(root, inter, edge, edge_file=(edge.cert,),
                       trust=(root.cert, inter.cert))
    f = next(f for f in report.findings if f.code == "missing-intermediates")
    assert "Intermediate CA" in f.message and "full-chain" in f.hint
    # Without root in the edge file (edge + intermediate): fine, the bundle has the root.
    assert _validate(root, inter, edge, edge_file=(edge.cert, inter.cert)).findings == ()


def test_version_term_in_messages() -> None:
    root, inter, _ = _chain()
    expired = make_cert("dev.ca", issuer=inter, not_before=NOW - dt.timedelta(days=10),
                        not_after=NOW - dt.timedelta(days=1))
    msg11 = next(f.message for f in _validate(root, inter, expired, rel=R11).findings
                 if f.code == "expired")
    msg15 = next(f.message for f in _validate(root, inter, expired).findings
                 if f.code == "expired")
    assert "device CA" in msg11 and "edge CA" in msg15


def test_trustme_chain_imports_and_validates(tmp_path: Path) -> None:
    root = trustme.CA()
    inter = root.create_child_ca()
    edge = inter.create_child_ca()
    full = tmp_path / "edge-full.pem"
    full.write_bytes(b"".join(b.bytes() for b in (inter.cert_pem, edge.cert_pem)))
    # Bundle in reverse order (intermediate first): the loader orders it.
    key = tmp_path / "edge.key"
    edge.private_key_pem.write_to_path(str(key))
    bundle = tmp_path / "root.pem"
    root.cert_pem.write_to_path(str(bundle))
    report = check_files(load_file(full), load_file(key), load_file(bundle), release=R15)
    assert report.ok and report.findings == (), report.findings
    assert len(report.chain) == 3 and report.root is not None
    # trustme's year-3000 expiry is fatal for 1.1 (2038 and GeneralizedTime limits).
    report11 = check_files(load_file(full), load_file(key), load_file(bundle), release=R11)
    assert "y2050" in {f.code for f in report11.findings} and not report11.ok


def test_openssl_cli_chain_imports_and_validates(tmp_path: Path) -> None:
    cnf = tmp_path / "ext.cnf"
    cnf.write_text(
        "[root]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\n"
        "[edge]\nbasicConstraints=critical,CA:TRUE,pathlen:0\n"
        "keyUsage=critical,digitalSignature,keyCertSign\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n")
    o = tmp_path
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", o / "root.key",
            "-subj", "/CN=Customer Root", "-days", "30", "-config", cnf, "-extensions", "root",
            "-out", o / "root.pem")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", o / "edge.key", "-subj", "/CN=gw.ca", "-out", o / "edge.csr")
    openssl("x509", "-req", "-in", o / "edge.csr", "-CA", o / "root.pem", "-CAkey",
            o / "root.key", "-CAcreateserial", "-days", "20", "-extfile", cnf, "-extensions",
            "edge", "-out", o / "edge.pem")
    openssl("pkcs12", "-export", "-in", o / "edge.pem", "-inkey", o / "edge.key", "-certfile",
            o / "root.pem", "-passout", "pass:pfx-pw", "-out", o / "edge.pfx")
    # PEM files, and the same chain as one PFX (cert + key + root in one file).
    report = check_files(load_file(o / "edge.pem"), load_file(o / "edge.key"),
                         load_file(o / "root.pem"), release=R15, hostname="gw")
    assert report.findings == (), report.findings
    pfx = load_file(o / "edge.pfx", "pfx-pw")
    report = check_files(pfx, pfx, load_file(o / "root.pem"), release=R15)
    assert report.ok and report.key is not None


def test_validate_a_dropped_pfx_and_bytes(ec_chain: ChainFiles, tmp_path: Path) -> None:
    """The wizard's drop path: one PFX with key, edge CA, intermediate and root."""
    from core.chain import export_pfx, load_material, validate

    target, count = export_pfx(cert=ec_chain.edge_ca_full_chain, key=ec_chain.edge_ca_key,
                               out=tmp_path / "all.pfx", password="pw")
    assert count == 3
    report = validate(load_material([target], password="pw"), release=R15)
    assert report.ok and report.findings == () and report.key is not None
    assert report.root is not None and len(report.chain) == 3
    # Bytes without the root: reported, not guessed.
    partial = load_material([ec_chain.edge_ca_cert.read_bytes(),
                             ec_chain.edge_ca_key.read_bytes()])
    report = validate(partial, release=R15)
    assert not report.ok and "root-missing" in {f.code for f in report.findings}
    with pytest.raises(UnreadableFileError, match="<bytes #2>"):
        load_material([ec_chain.edge_ca_cert.read_bytes(), b"garbage"])


def test_sha1_self_signed_root_is_only_a_warning(tmp_path: Path) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-sha1", "-keyout", tmp_path / "root.key", "-subj", "/CN=Old Root", "-days", "60",
            "-out", tmp_path / "root.pem")
    root = Ca(load_file(tmp_path / "root.pem").certs[0], load_file(tmp_path / "root.key").keys[0])
    edge = make_cert("dev.ca", issuer=root, pathlen=0)
    report = validate_chain(_m(edge.cert), key=edge.key, trust_bundle=_m(root.cert),
                            release=R15)
    f = next(f for f in report.findings if f.code == "weak-signature")
    assert f.severity == "warning" and f.subject == "Old Root" and report.ok
