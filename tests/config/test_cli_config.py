"""`edgecert config diff`, `config migrate` and `plan`: output, exit codes, safe writing."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
from certs import make_chain
from configtest_support import FIXTURES

from core.cli import main

DEVICE = ["--edge-ca-cert", "/var/aziot/certs/edge-ca.pem",
          "--edge-ca-key", "/var/aziot/secrets/edge-ca.key.pem",
          "--trust-bundle", "/var/aziot/certs/trust-bundle.pem"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_diff_ok_and_output_written_0600(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "config.toml"
    code, out, err = _run(capsys, "config", "diff", "--iotedge", "1.5", "--current",
                          str(FIXTURES / "manual-crlf.toml"), *DEVICE, "--output", str(new))
    assert code == 0, err
    assert out.startswith("--- /etc/aziot/config.toml (device)\n+++ /etc/aziot/config.toml")
    assert "QmFzZTY0U2VjcmV0S2V5VmFsdWU9PQ==" not in out  # SAS key redacted
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    data = tomllib.loads(new.read_text())
    assert data["edge_ca"]["pk"] == "file:///var/aziot/secrets/edge-ca.key.pem"
    assert b"\r\n" in new.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left


def test_diff_validation_error_exit_1_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "config.toml"
    code, _, err = _run(capsys, "config", "diff", "--iotedge", "1.5", "--current", "-",
                        "--quickstart-days", "30", "--renew-threshold", "4d",
                        "--renew-retry", "4%", "--rotate-key", "yes", "--output", str(new))
    assert code == 1
    assert '"4day"' in err and "not written" in err
    assert not new.exists()


def test_diff_settings_error_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "config", "diff", "--iotedge", "1.5", "--current", "-", *DEVICE,
                        "--renew-threshold", "80%", "--renew-retry", "4%")
    assert code == 1 and "ignores" in err and "hint:" in err


@pytest.mark.parametrize("argv", [
    ["--current", "/nonexistent/config.toml", *DEVICE],
    ["--current", "-"],  # no edge CA given
    ["--current", "-", "--quickstart-days", "3", "--edge-ca-method", "est"],
    ["--current", "-", "--quickstart-days", "3", "--renew-threshold", "80%"],
])
def test_diff_bad_input_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "config", "diff", "--iotedge", "1.5", *argv)
    assert code == 2 and out == "" and "hint:" in err


def test_diff_unparsable_current_exit_2(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('hostname = "x"\n[edge_ca\n')
    code, _, err = _run(capsys, "config", "diff", "--iotedge", "1.5", "--current", str(bad),
                        *DEVICE)
    assert code == 2 and f"{bad}:2:" in err


def test_diff_with_device_template(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "config", "diff", "--iotedge", "1.4", "--current", "-",
                          "--template", str(FIXTURES / "template-1.5.toml"), *DEVICE)
    # The diff is shown, but the template is not provisioned: the runtime would refuse it.
    assert code == 1 and "no [provisioning] section" in err
    assert out.startswith("--- /dev/null\n")
    assert '+# trust_bundle_cert = "file:///var/secrets/trust-bundle.pem"' in out


def test_diff_legacy_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "config", "diff", "--iotedge", "1.1", "--current",
                          str(FIXTURES / "legacy-1.1.yaml"), *DEVICE)
    assert code == 0, err
    assert "-# certificates:" in out and "+certificates:" in out
    assert "U3ltbWV0cmljS2V5U2VjcmV0VmFsdWU=" not in out


def test_migrate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "config", "migrate", str(FIXTURES / "legacy-windows-crlf.yaml"))
    assert code == 0
    assert tomllib.loads(out)["edge_ca"]["auto_generated_edge_ca_expiry_days"] == 30
    assert "warning" in err and "quickstart" in err


@pytest.fixture(scope="module")
def chain_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("chain")
    cert, key, bundle = make_chain().write(folder)
    return {"cert": cert, "key": key, "bundle": bundle}


def test_plan_json(chain_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "plan", "--iotedge", "1.5", "--platform", "eflow",
                          "--current", str(FIXTURES / "dps-x509.toml"),
                          "--cert-file", str(chain_files["cert"]),
                          "--key-file", str(chain_files["key"]),
                          "--bundle-file", str(chain_files["bundle"]), "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["platform"] == "eflow"
    assert {f["role"]: (f["path"], f["mode"]) for f in plan["files"]} == {
        "edge-ca-cert": ("/var/aziot/certs/edge-ca.pem", "0644"),
        "edge-ca-key": ("/var/aziot/secrets/edge-ca.key.pem", "0600"),
        "trust-bundle": ("/var/aziot/certs/trust-bundle.pem", "0644")}
    assert "PRIVATE KEY" not in out


def test_plan_text(chain_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "plan", "--iotedge", "1.1", "--current",
                        str(FIXTURES / "legacy-1.1.yaml"),
                        "--cert-file", str(chain_files["cert"]),
                        "--key-file", str(chain_files["key"]),
                        "--bundle-file", str(chain_files["bundle"]))
    assert code == 0
    assert "/var/aziot/secrets  0700 iotedge:iotedge" in out
    assert "sudo systemctl restart iotedge" in out
    assert "empty  /var/lib/iotedge/hsm/certs" in out
    assert "-----BEGIN" not in out


def test_plan_quickstart_needs_no_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "plan", "--iotedge", "1.5", "--current",
                          str(FIXTURES / "manual-crlf.toml"), "--quickstart-days", "30", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["files"] == [] and plan["apply"][0]["argv"][:3] == ["iotedge", "config", "apply"]


def test_plan_rejects_non_certificate(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    code, _, err = _run(capsys, "plan", "--iotedge", "1.5", "--current", "-",
                        "--cert-file", str(junk), "--key-file", str(junk))
    assert code == 2 and "not a PEM certificate" in err


def test_est_edge_ca_with_password_file(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "est-password"
    secret.write_text("Est-Pa55word-Secret\n")
    new = tmp_path / "config.toml"
    code, out, err = _run(capsys, "config", "diff", "--iotedge", "1.5", "--current",
                          str(FIXTURES / "dps-x509.toml"), "--edge-ca-method", "est",
                          "--common-name", "edge-0042.ca", "--est-url",
                          "https://est.example.org/.well-known/est", "--est-username", "edge",
                          "--est-password-file", str(secret), "--renew-threshold", "80%",
                          "--renew-retry", "4%", "--rotate-key", "no", "--output", str(new))
    assert code == 0, err
    assert "Est-Pa55word-Secret" not in out + err
    data = tomllib.loads(new.read_text())
    assert data["cert_issuance"]["est"]["auth"]["password"] == "Est-Pa55word-Secret"
    assert data["edge_ca"]["auto_renew"]["rotate_key"] is False
    assert data["edge_ca"]["method"] == "est"
