"""The deploy CLI: export-bundle end to end, and bad input exits 2 without touching anything."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from certs import make_chain

from core.cli import main

CONFIG = (b'hostname = "dev1"\n\n[provisioning]\nsource = "manual"\n'
          b'connection_string = "HostName=h.azure-devices.net;DeviceId=d;'
          b'SharedAccessKey=c2VjcmV0"\n')


def _files(tmp_path: Path) -> list[str]:
    cert, key, root = make_chain().write(tmp_path / "chain")
    return ["--edge-ca-cert", str(cert), "--edge-ca-key", str(key), "--trust-bundle", str(root)]


def test_export_bundle_cli_writes_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    (tmp_path / "config.toml").write_bytes(CONFIG)
    out = tmp_path / "dev1.zip"
    code = main(["export-bundle", "--out", str(out), "--iotedge", "1.5", "--current",
                 str(tmp_path / "config.toml"), *_files(tmp_path)])
    assert code == 0
    text = capsys.readouterr().out
    assert "bundle zip written" in text and "/var/aziot/secrets/edge-ca.key.pem" in text
    assert "c2VjcmV0" not in text  # the SAS key stays redacted in the shown diff
    assert out.exists()


def test_host_without_user_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    code = main(["deploy", "--host", "192.0.2.1", "--iotedge", "1.5", *_files(tmp_path)])
    assert code == 2
    assert "--user is required" in capsys.readouterr().err


def test_password_stdin_empty_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = main(["deploy", "--host", "192.0.2.1", "--user", "admin", "--password-stdin",
                 "--iotedge", "1.5", *_files(tmp_path)])
    assert code == 2
    assert "stdin is empty" in capsys.readouterr().err


def test_unreadable_local_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    (tmp_path / "config.toml").write_bytes(CONFIG)
    code = main(["export-bundle", "--out", str(tmp_path / "b"), "--iotedge", "1.5",
                 "--current", str(tmp_path / "config.toml"),
                 "--edge-ca-cert", str(tmp_path / "missing.pem"),
                 "--edge-ca-key", str(tmp_path / "k"), "--trust-bundle", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.pem" in err and "hint:" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()


def test_eflow_commands_off_windows_fail_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eflow", "address"]) == 2
    assert "PowerShell is not available" in capsys.readouterr().err
    assert main(["eflow", "status", "--id-rsa", "/nonexistent/id_rsa"]) == 2
    err = capsys.readouterr().err
    assert "neither the AzureEFLOW PowerShell module nor EFLOW's SSH key" in err
    assert "Traceback" not in err
