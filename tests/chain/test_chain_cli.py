"""`edgecert chain ...` end to end: exit codes 0/1/2, production paths, PFX export."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from chainkit import openssl
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from core.chain import ChainFiles, load_file
from core.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _check_args(files: ChainFiles) -> list[str | Path]:
    return ["chain", "check", "--cert", files.edge_ca_full_chain, "--key", files.edge_ca_key,
            "--trust-bundle", files.trust_bundle]


def test_demo_then_check_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "chain"
    pw = tmp_path / "pw.txt"
    pw.write_text("correct horse\n")
    code, stdout, _ = run(capsys, "chain", "demo", "--out", out, "--name", "gw1", "--key-type",
                          "ec-p256", "--iotedge", "1.1", "--password-file", pw)
    assert code == 0, stdout
    assert "certs/iot-edge-device-ca-gw1-full-chain.cert.pem" in stdout
    assert "Device CA for IoT Edge 1.1" in stdout and "correct horse" not in stdout
    key = out / "private/azure-iot-test-only.root.ca.key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    files = ChainFiles(out_dir=out,
                       edge_ca_cert=out / "certs/iot-edge-device-ca-gw1.cert.pem",
                       edge_ca_full_chain=out / "certs/iot-edge-device-ca-gw1-full-chain.cert.pem",
                       edge_ca_key=out / "private/iot-edge-device-ca-gw1.key.pem",
                       trust_bundle=out / "certs/azure-iot-test-only.root.ca.cert.pem")
    # 0: usable.
    code, stdout, _ = run(capsys, *_check_args(files), "--iotedge", "1.1")
    assert code == 0 and "usable: 0 error(s), 0 warning(s)" in stdout
    # 1: errors (hostname equals the CN), JSON report.
    code, stdout, _ = run(capsys, *_check_args(files), "--hostname", "gw1.ca", "--json")
    assert code == 1
    report = json.loads(stdout)
    assert report["ok"] is False
    assert [f["code"] for f in report["findings"]] == ["cn-equals-hostname"]
    assert [c["common_name"] for c in report["chain"]] == [
        "gw1.ca", "Azure_IoT_Hub_Intermediate_Cert_Test_Only", "Azure_IoT_Hub_CA_Cert_Test_Only"]
    # 2: unreadable input, with the file and a hint; nothing else printed.
    code, stdout, err = run(capsys, "chain", "check", "--cert", tmp_path / "nope.pem", "--key",
                            files.edge_ca_key, "--trust-bundle", files.trust_bundle)
    assert code == 2 and "nope.pem: file not found" in err and "hint:" in err
    # 2: an encrypted key without a password; the password never shows.
    code, _, err = run(capsys, "chain", "check", "--cert", files.edge_ca_full_chain, "--key",
                       key, "--trust-bundle", files.trust_bundle)
    assert code == 2 and "encrypted" in err
    code, _, err = run(capsys, "chain", "check", "--cert", files.edge_ca_full_chain, "--key",
                       key, "--trust-bundle", files.trust_bundle, "--password-file", pw)
    assert code == 1  # the root key does not belong to the edge CA
    # 2: usage.
    with pytest.raises(SystemExit) as exc:
        main(["chain", "check", "--cert", "x"])
    assert exc.value.code == 2
    code, _, err = run(capsys, *_check_args(files), "--iotedge", "1.0")
    assert code == 2 and "not supported" in err
    # Output folder exists: 2, untouched.
    code, _, err = run(capsys, "chain", "demo", "--out", out, "--name", "gw1", "--key-type",
                       "ec-p256")
    assert code == 2 and "--force" in err


def test_issue_edge_ca_with_an_encrypted_ca_key(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    pw = tmp_path / "pw.txt"
    pw.write_text("ca-pass")
    ca_dir = tmp_path / "ca"
    assert run(capsys, "chain", "demo", "--out", ca_dir, "--name", "x", "--key-type", "ec-p256",
               "--password-file", pw)[0] == 0
    inter = ca_dir / "certs/azure-iot-test-only.intermediate.cert.pem"
    inter_key = ca_dir / "private/azure-iot-test-only.intermediate.key.pem"
    chain = ca_dir / "certs/azure-iot-test-only.intermediate-full-chain.cert.pem"
    out = tmp_path / "edge"
    base = ["chain", "issue-edge-ca", "--ca-cert", inter, "--ca-key", inter_key, "--ca-chain",
            chain, "--out", out, "--name", "gw2", "--key-type", "ec-p256"]
    code, _, err = run(capsys, *base)
    assert code == 2 and "encrypted" in err and not out.exists()
    code, stdout, _ = run(capsys, *base, "--ca-password-file", pw)
    assert code == 0, stdout
    root = out / "certs/trust-bundle.cert.pem"
    edge = out / "certs/iot-edge-device-ca-gw2.cert.pem"
    openssl("verify", "-CAfile", root, "-untrusted", inter, edge)
    full = x509.load_pem_x509_certificates(
        (out / "certs/iot-edge-device-ca-gw2-full-chain.cert.pem").read_bytes())
    assert [c.subject.rfc4514_string() for c in full] == [
        "CN=gw2.ca", "CN=Azure_IoT_Hub_Intermediate_Cert_Test_Only",
        "CN=Azure_IoT_Hub_CA_Cert_Test_Only"]
    # The edge CA itself (pathlen 0) cannot issue another edge CA.
    code, _, err = run(capsys, "chain", "issue-edge-ca", "--ca-cert", edge, "--ca-key",
                       out / "private/iot-edge-device-ca-gw2.key.pem", "--ca-chain",
                       out / "certs/iot-edge-device-ca-gw2-full-chain.cert.pem",
                       "--out", tmp_path / "nested", "--name", "n", "--key-type", "ec-p256")
    assert code == 1 and "pathlen" in err and not (tmp_path / "nested").exists()
    # Without the root above the intermediate: a clear error.
    code, _, err = run(capsys, "chain", "issue-edge-ca", "--ca-cert", inter, "--ca-key",
                       inter_key, "--ca-password-file", pw, "--out", tmp_path / "noroot",
                       "--name", "n", "--key-type", "ec-p256")
    assert code == 1 and "--ca-chain" in err


def test_csr_signed_by_openssl_then_import(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    out = tmp_path / "req"
    code, stdout, _ = run(capsys, "chain", "csr", "--out", out, "--name", "gw3",
                          "--key-type", "ec-p256")
    assert code == 0
    csr = out / "csr/iot-edge-device-ca-gw3.csr.pem"
    key = out / "private/iot-edge-device-ca-gw3.key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    openssl("req", "-in", csr, "-verify", "-noout")
    # The external CA (openssl CLI), with its own root.
    ext = tmp_path / "ext.cnf"
    ext.write_text("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n"
                   "subjectKeyIdentifier=hash\n"
                   "[sub]\nbasicConstraints=critical,CA:TRUE,pathlen:0\n"
                   "keyUsage=critical,digitalSignature,keyCertSign\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"
                   "[leaf]\nbasicConstraints=critical,CA:FALSE\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tmp_path / "ca.key", "-subj", "/CN=Corp Root", "-days", "60", "-config",
            ext, "-extensions", "ca", "-out", tmp_path / "ca.pem")
    for profile, name in (("sub", "signed.pem"), ("leaf", "leaf.pem")):
        openssl("x509", "-req", "-in", csr, "-CA", tmp_path / "ca.pem", "-CAkey",
                tmp_path / "ca.key", "-CAcreateserial", "-days", "30", "-extfile", ext,
                "-extensions", profile, "-out", tmp_path / name)
    # Signed as a leaf (CA:FALSE): refused, nothing written.
    final = tmp_path / "final"
    code, _, err = run(capsys, "chain", "import-signed", "--cert", tmp_path / "leaf.pem",
                       "--key", key, "--chain", tmp_path / "ca.pem", "--out", final,
                       "--name", "gw3")
    assert code == 1 and "CA:TRUE" in err and not final.exists()
    # Someone else's certificate: refused.
    code, _, err = run(capsys, "chain", "import-signed", "--cert", tmp_path / "ca.pem",
                       "--key", key, "--chain", tmp_path / "ca.pem", "--out", final,
                       "--name", "gw3")
    assert code == 1 and "does not match" in err
    code, stdout, _ = run(capsys, "chain", "import-signed", "--cert", tmp_path / "signed.pem",
                          "--key", key, "--chain", tmp_path / "ca.pem", "--out", final,
                          "--name", "gw3")
    assert code == 0, stdout
    openssl("verify", "-CAfile", final / "certs/trust-bundle.cert.pem",
            final / "certs/iot-edge-device-ca-gw3-full-chain.cert.pem")
    assert (final / "private/iot-edge-device-ca-gw3.key.pem").read_bytes() == key.read_bytes()
    # Into the folder `chain csr` wrote: its CSR is kept.
    code, _, _ = run(capsys, "chain", "import-signed", "--cert", tmp_path / "signed.pem",
                     "--key", key, "--chain", tmp_path / "ca.pem", "--out", out, "--name", "gw3")
    assert code == 0 and csr.is_file() and (out / "certs/trust-bundle.cert.pem").is_file()


@pytest.mark.parametrize("legacy", [False, True])
def test_export_pfx_read_by_openssl_and_by_us(
    capsys: pytest.CaptureFixture[str], ec_chain: ChainFiles, tmp_path: Path, legacy: bool
) -> None:
    pw = tmp_path / "pw"
    pw.write_text("pfx-secret\n")
    target = tmp_path / "edge.pfx"
    args = ["chain", "export-pfx", "--cert", ec_chain.edge_ca_cert, "--key",
            ec_chain.edge_ca_key, "--chain", ec_chain.intermediate_full_chain, "--out", target,
            "--password-file", pw] + (["--legacy"] if legacy else [])
    code, stdout, _ = run(capsys, *args)
    assert code == 0 and "3 certificate(s)" in stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    info = openssl("pkcs12", "-in", target, "-info", "-noout", "-passin", "pass:pfx-secret")
    text = info.stderr + info.stdout
    if legacy:
        assert b"pbeWithSHA1And3-KeyTripleDES-CBC" in text and b"MAC: sha1" in text
    else:
        assert b"AES-256-CBC" in text and b"MAC: sha256" in text
    dump = openssl("pkcs12", "-in", target, "-nodes", "-passin", "pass:pfx-secret").stdout
    assert dump.count(b"BEGIN CERTIFICATE") == 3 and b"BEGIN PRIVATE KEY" in dump
    material = load_file(target, "pfx-secret")
    assert material.certs[0] == load_file(ec_chain.edge_ca_cert).certs[0]
    assert len(material.keys) == 1
    # Refuses to overwrite without --force.
    code, _, err = run(capsys, *args)
    assert code == 2 and "--force" in err
    assert run(capsys, *args, "--force")[0] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_pfx_written_by_openssl_reads_back(ec_chain: ChainFiles, tmp_path: Path) -> None:
    assert ec_chain.edge_ca_pfx is not None
    loaded = pkcs12.load_pkcs12(ec_chain.edge_ca_pfx.read_bytes(), None)
    assert loaded.cert is not None and loaded.key is not None
    assert [c.certificate for c in loaded.additional_certs] == list(
        load_file(ec_chain.intermediate_full_chain).certs)
    target = tmp_path / "again.pem"
    openssl("pkcs12", "-in", ec_chain.edge_ca_pfx, "-nodes", "-passin", "pass:", "-out", target)
    again = load_file(target)
    assert again.certs[0] == loaded.cert.certificate and len(again.keys) == 1


def test_inspect(capsys: pytest.CaptureFixture[str], ec_chain: ChainFiles) -> None:
    code, stdout, _ = run(capsys, "chain", "inspect", ec_chain.edge_ca_full_chain, "--json")
    assert code == 0
    entries = json.loads(stdout)
    assert [e["common_name"] for e in entries] == [
        "dev-01.ca", "Azure_IoT_Hub_Intermediate_Cert_Test_Only", "Azure_IoT_Hub_CA_Cert_Test_Only"]
    edge = entries[0]
    assert edge["is_ca"] and edge["path_length"] == 0
    assert edge["key_usage"] == ["digitalSignature", "keyCertSign"]
    assert edge["key"] == "EC P-256" and 88 <= edge["days_left"] <= 90
    assert 0 <= edge["lifetime_used"] < 0.05
    fp = openssl("x509", "-in", ec_chain.edge_ca_cert, "-noout", "-fingerprint", "-sha256")
    assert fp.stdout.decode().strip().split("=", 1)[1] == edge["sha256"]
    code, stdout, _ = run(capsys, "chain", "inspect", ec_chain.edge_ca_key)
    assert code == 0 and "no certificate; 1 private key(s)" in stdout
    assert "PRIVATE" not in stdout


def test_console_script_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("edgecert", path=str(Path(sys.executable).parent))
    assert exe is not None, "the edgecert console script is not installed in this venv"
    proc = subprocess.run([exe, "chain", "demo", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0
    assert "90 days" in proc.stdout and "2038" in proc.stdout


@pytest.mark.parametrize("profile,version,expect", [
    ("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n", "1.1",
     "pathlen 0"),
    ("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n", "1.5",
     "keyCertSign"),
])
def test_import_signed_refuses_an_unusable_edge_ca(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, profile: str, version: str, expect: str
) -> None:
    out = tmp_path / "req"
    assert run(capsys, "chain", "csr", "--out", out, "--name", "gw4", "--key-type", "ec-p256",
               "--iotedge", version)[0] == 0
    ext = tmp_path / "ext.cnf"
    ext.write_text("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n"
                   f"[sub]\n{profile}")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tmp_path / "ca.key", "-subj", "/CN=Corp Root", "-days", "60", "-config",
            ext, "-extensions", "ca", "-out", tmp_path / "ca.pem")
    openssl("x509", "-req", "-in", out / "csr/iot-edge-device-ca-gw4.csr.pem", "-CA",
            tmp_path / "ca.pem", "-CAkey", tmp_path / "ca.key", "-days", "30", "-extfile", ext,
            "-extensions", "sub", "-out", tmp_path / "signed.pem")
    final = tmp_path / "final"
    code, _, err = run(capsys, "chain", "import-signed", "--cert", tmp_path / "signed.pem",
                       "--key", out / "private/iot-edge-device-ca-gw4.key.pem", "--chain",
                       tmp_path / "ca.pem", "--out", final, "--name", "gw4",
                       "--iotedge", version)
    assert code == 1 and expect in err and "hint:" in err
    assert not final.exists()


def test_inspect_asks_for_a_pfx_password(capsys: pytest.CaptureFixture[str],
                                          ec_chain: ChainFiles, tmp_path: Path) -> None:
    pfx = tmp_path / "p.pfx"
    openssl("pkcs12", "-export", "-in", ec_chain.edge_ca_cert, "-inkey", ec_chain.edge_ca_key,
            "-passout", "pass:hunter2", "-out", pfx)
    code, _, err = run(capsys, "chain", "inspect", pfx)
    assert code == 2 and "password" in err and "--password-file" in err
    pw = tmp_path / "pw"
    pw.write_text("hunter2")
    code, stdout, _ = run(capsys, "chain", "inspect", pfx, "--password-file", pw)
    assert code == 0 and "CN=dev-01.ca" in stdout and "hunter2" not in stdout


def test_demo_warns_below_the_release_window(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    code, stdout, _ = run(capsys, "chain", "demo", "--out", tmp_path / "a", "--name", "gw",
                          "--key-type", "ec-p256", "--days", "5")
    assert code == 0 and "warning expires-soon [gw.ca]" in stdout and "under 7 days" in stdout
    code, stdout, _ = run(capsys, "chain", "demo", "--out", tmp_path / "b", "--name", "gw",
                          "--key-type", "ec-p256", "--days", "60", "--iotedge", "1.1")
    assert code == 0 and "device CA expires in" in stdout and "under 90 days" in stdout
    code, stdout, _ = run(capsys, "chain", "demo", "--out", tmp_path / "c", "--name", "gw",
                          "--key-type", "ec-p256", "--days", "60")
    assert code == 0 and "expires-soon" not in stdout
