"""The deploy pre-flight without a device: the installed CLI's export-bundle, the path rule,
and core's own refusal of a plan that skipped the pre-flight (deploy() and export_bundle())."""

from __future__ import annotations

import dataclasses
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from badfiles import ACCEPTED, REFUSED, case_files
from deploytest_support import Sandbox, sandbox_plan

from core.bundle import export_bundle
from core.chain.load import load_bytes
from core.chain.order import key_matches
from core.config.device_paths import check_device_folder, check_install_path
from core.config.planning import build_plan
from core.config.settings import CertSettings, Preloaded
from core.deploy import deploy, render_steps
from core.deploy.preflight import check_device_release, load_inputs, preflight
from core.errors import DevicePathError, PreflightError, ReleaseMismatchError
from core.plan import InstallFile
from core.targets.local import LocalTarget
from core.versions import release

EDGECERT = str(Path(sys.executable).with_name("edgecert"))
CONFIG = (b'hostname = "edge-device-01"\n\n[provisioning]\nsource = "manual"\n'
          b'connection_string = "HostName=h.azure-devices.net;DeviceId=d;'
          b'SharedAccessKey=c2VjcmV0"\n')
R15 = release("1.5")


def edgecert(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed ``edgecert`` command (stdin is not a terminal)."""
    return subprocess.run([EDGECERT, *args], capture_output=True, text=True, input=stdin,
                          timeout=120, check=False)


def export(tmp_path: Path, files: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(CONFIG)
    return edgecert("export-bundle", "--out", str(tmp_path / "bundle"), "--iotedge", "1.5",
                    "--current", str(cfg), *files, *extra)


def bundle_file(tmp_path: Path, role_path: str) -> bytes:
    """The staged bytes the bundle installs at ``role_path`` (README maps names to paths)."""
    readme = (tmp_path / "bundle" / "README.txt").read_text()
    for line in readme.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == "->" and parts[2] == role_path:
            return (tmp_path / "bundle" / parts[0]).read_bytes()
    raise AssertionError(f"{role_path} not in the bundle README:\n{readme}")


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_export_bundle_refuses_every_wrong_file_class(case: str, tmp_path: Path) -> None:
    files = case_files(case, tmp_path / "in")
    res = export(tmp_path, files)
    assert res.returncode == 2, res.stdout + res.stderr
    assert REFUSED[case] in res.stderr
    assert "hint:" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "bundle").exists()
    key_body = (tmp_path / "in" / "edge-ca.key.pem").read_text().splitlines()[1]
    assert key_body not in res.stdout + res.stderr  # no secret in any message


def test_encrypted_key_names_the_password_option(tmp_path: Path) -> None:
    res = export(tmp_path, case_files("encrypted-key-no-password", tmp_path / "in"))
    assert res.returncode == 2
    assert "edge CA key file is encrypted" in res.stderr and "--password-file" in res.stderr


@pytest.mark.parametrize("case", ACCEPTED)
def test_export_bundle_installs_checked_pem(case: str, tmp_path: Path) -> None:
    res = export(tmp_path, case_files(case, tmp_path / "in"))
    assert res.returncode == 0, res.stdout + res.stderr
    chain = load_bytes(bundle_file(tmp_path, "/var/aziot/certs/edge-ca.pem"), where="edge")
    key = load_bytes(bundle_file(tmp_path, "/var/aziot/secrets/edge-ca.key.pem"), where="key")
    bundle = bundle_file(tmp_path, "/var/aziot/certs/trust-bundle.pem")
    # PEM, edge CA first, the key decrypted and matching, the trust bundle the root
    assert [c.subject.rfc4514_string() for c in chain.certs] == [
        "CN=edge-device-01.ca", "CN=Pre-flight Test Root"]
    assert key_matches(key.keys[0], chain.certs[0])
    assert bundle.startswith(b"-----BEGIN CERTIFICATE-----")
    assert load_bytes(bundle, where="bundle").certs == chain.certs[1:]
    if case == "wrong-order":
        assert "notice: the edge CA file" in res.stderr and "not in chain order" in res.stderr
    else:
        assert "not in chain order" not in res.stderr


def test_expiring_edge_ca_needs_yes(tmp_path: Path) -> None:
    files = case_files("good", tmp_path / "in", edge_days=20)
    res = export(tmp_path, files)
    assert res.returncode == 2
    assert "expires-soon" in res.stderr and "at least 30 days" in res.stderr
    assert "--yes" in res.stderr
    assert not (tmp_path / "bundle").exists()
    res = export(tmp_path, files, "--yes")
    assert res.returncode == 0, res.stderr
    assert "expires-soon" in res.stderr and "despite 1 pre-flight warning" in res.stderr
    assert (tmp_path / "bundle" / "install.sh").exists()


@pytest.mark.parametrize(("answer", "code"), [("n", 2), ("y", 0)])
def test_expiring_edge_ca_asks_at_a_terminal(answer: str, code: int, tmp_path: Path) -> None:
    files = case_files("good", tmp_path / "in", edge_days=20)
    (tmp_path / "config.toml").write_bytes(CONFIG)
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [EDGECERT, "export-bundle", "--out", str(tmp_path / "bundle"), "--iotedge", "1.5",
             "--current", str(tmp_path / "config.toml"), *files],
            stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(primary, f"{answer}\n".encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(primary)
        os.close(secondary)
    assert proc.returncode == code, out + err
    assert "Write the bundle despite 1 pre-flight warning(s)? [y/N]" in out
    assert (tmp_path / "bundle").exists() == (code == 0)


def test_good_files_need_no_confirmation(tmp_path: Path) -> None:
    res = export(tmp_path, case_files("good", tmp_path / "in"))
    assert res.returncode == 0, res.stderr
    assert "pre-flight warning" not in res.stderr


BAD_FOLDERS = {
    "dotdot": "/var/aziot/certs/../../../etc",
    "dot": "/var/aziot/./certs",
    "double-slash": "/var/aziot//certs",
    "relative": "var/aziot/certs",
    "newline": "/opt/edge\ncerts",
    "tab": "/opt/edge\tcerts",
    "del": "/opt/edge\x7fcerts",
    "c1": "/opt/edge\x85certs",
    "root": "/",
    "etc": "/etc",
    "usr": "/usr",
    "var": "/var",
    "usr-sub": "/usr/share/certs",
    "home": "/home/iotedge-user/certs",
    "package-folder": "/etc/ssh",
    "runtime-state": "/var/lib/aziot/certd",
}


@pytest.mark.parametrize("name", sorted(BAD_FOLDERS))
def test_export_bundle_refuses_bad_device_folders(name: str, tmp_path: Path) -> None:
    res = export(tmp_path, case_files("good", tmp_path / "in"), "--device-folder",
                 BAD_FOLDERS[name])
    assert res.returncode == 2, res.stdout + res.stderr
    assert "hint:" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "bundle").exists()


def test_a_named_device_folder_holds_the_files(tmp_path: Path) -> None:
    res = export(tmp_path, case_files("good", tmp_path / "in"), "--device-folder",
                 "/opt/edge-certs")
    assert res.returncode == 0, res.stderr
    assert bundle_file(tmp_path, "/opt/edge-certs/edge-ca.pem").startswith(b"-----BEGIN")
    assert "file:///opt/edge-certs/edge-ca.key.pem" in res.stdout


@pytest.mark.parametrize("device_path", [
    "/var/aziot/certs/../../../etc/shadow", "/srv/edge-ca.pem", "/etc/shadow",
    "/var/lib/aziot/certd/certs/x.pem", "/etc/aziot/keyd/config.d/x.toml"])
def test_plan_refuses_paths_outside_the_release_folders(device_path: str, tmp_path: Path
                                                        ) -> None:
    case_files("good", tmp_path / "in")
    (tmp_path / "config.toml").write_bytes(CONFIG)
    res = edgecert("plan", "--iotedge", "1.5", "--current", str(tmp_path / "config.toml"),
                   "--cert-file", str(tmp_path / "in/edge-ca.pem"),
                   "--key-file", str(tmp_path / "in/edge-ca.key.pem"),
                   "--bundle-file", str(tmp_path / "in/root.pem"),
                   "--edge-ca-cert", device_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert repr(device_path) in res.stderr
    assert "hint:" in res.stderr and "Traceback" not in res.stderr


def test_path_rule_per_release_and_platform() -> None:
    r11 = release("1.1")
    ok = check_install_path("/etc/iotedge/certs/ca.pem", rel=r11, platform="linux",
                            what="the path")
    assert ok == "/etc/iotedge/certs/ca.pem"
    with pytest.raises(DevicePathError, match="outside"):
        check_install_path("/etc/aziot/certs/ca.pem", rel=r11, platform="linux", what="the path")
    with pytest.raises(DevicePathError, match="runtime's own files"):
        check_install_path("/var/lib/iotedge/hsm/certs/x.pem", rel=r11, platform="linux",
                           what="the path")
    assert check_install_path("/var/aziot/certs/x.pem", rel=R15, platform="eflow",
                              what="the path")
    win = "C:\\ProgramData\\iotedge\\certs\\ca.pem"
    assert check_install_path(win, rel=r11, platform="windows", what="the path") == win
    for bad in ("C:\\ProgramData\\iotedge\\..\\x.pem", "C:/ProgramData/iotedge/certs/x.pem",
                "C:\\Windows\\x.pem", "C:\\ProgramData\\iotedge\\hsm\\certs\\x.pem",
                "ProgramData\\iotedge\\x.pem"):
        with pytest.raises(DevicePathError):
            check_install_path(bad, rel=r11, platform="windows", what="the path")
    assert check_install_path("D:\\edge\\certs\\x.pem", rel=r11, platform="windows",
                              folders=(check_device_folder("D:\\edge\\certs",
                                                           platform="windows"),),
                              what="the path")
    with pytest.raises(DevicePathError):
        check_device_folder("C:\\Windows\\System32\\certs", platform="windows")


def _plan(tmp_path: Path) -> object:
    case_files("good", tmp_path / "in")
    inputs = load_inputs(edge_ca_cert=tmp_path / "in/edge-ca.pem",
                         edge_ca_key=tmp_path / "in/edge-ca.key.pem",
                         trust_bundle=tmp_path / "in/root.pem")
    pf = preflight(inputs, release=R15)
    settings = CertSettings(Preloaded("file:///var/aziot/certs/edge-ca.pem",
                                      "file:///var/aziot/secrets/edge-ca.key.pem"),
                            trust_bundle_cert="file:///var/aziot/certs/trust-bundle.pem")
    return build_plan(release=R15, platform="linux", settings=settings, current_config=CONFIG,
                      edge_ca_cert=pf.edge_ca_cert, edge_ca_key=pf.edge_ca_key,
                      trust_bundle=pf.trust_bundle)


@pytest.mark.parametrize("bad", ["/etc/shadow", "/var/aziot/certs/../../../etc/shadow",
                                 "/var/aziot/certs/a\nb.pem", "/var/aziot/certs/a\tb.pem"])
def test_steps_file_rechecks_every_path(bad: str, tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert render_steps(plan)  # type: ignore[arg-type]
    f0 = plan.files[0]  # type: ignore[attr-defined]
    hacked = dataclasses.replace(plan, files=(dataclasses.replace(f0, path=bad),  # type: ignore
                                              *plan.files[1:]))  # type: ignore[attr-defined]
    with pytest.raises(DevicePathError):
        render_steps(hacked)
    with pytest.raises(DevicePathError):
        export_bundle(hacked, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_core_refuses_a_plan_that_skipped_the_preflight(sandbox: Sandbox, tmp_path: Path
                                                        ) -> None:
    """A plan built by hand with a key as its trust bundle: deploy() and export_bundle()
    check the plan's own files again and touch nothing."""
    plan = sandbox_plan(sandbox)
    key = next(f for f in plan.files if f.role == "edge-ca-key")
    files = tuple(InstallFile(f.path, key.data, f.mode, f.owner, f.group, f.role)
                  if f.role == "trust-bundle" else f for f in plan.files)
    bad = dataclasses.replace(plan, files=files)
    before = sandbox.snapshot()
    with pytest.raises(PreflightError) as info:
        deploy(bad, LocalTarget(), backup_root=str(sandbox.backups))
    assert info.value.exit_code == 2
    assert "private-key-in-trust-bundle" in str(info.value)
    assert sandbox.snapshot() == before and not sandbox.backups.exists()
    assert sandbox.apply_log() == []
    with pytest.raises(PreflightError):
        export_bundle(bad, tmp_path / "b")
    assert not (tmp_path / "b").exists()
    # a world-readable key is refused the same way
    open_key = tuple(dataclasses.replace(f, mode=0o644) if f.role == "edge-ca-key" else f
                     for f in plan.files)
    with pytest.raises(PreflightError, match="secret-world-readable"):
        deploy(dataclasses.replace(plan, files=open_key), LocalTarget(),
               backup_root=str(sandbox.backups))
    assert sandbox.snapshot() == before


def test_named_release_must_match_the_device() -> None:
    check_device_release("1.5", "1.5.21", where="dev")
    check_device_release(None, "1.5.21", where="dev")
    check_device_release("1.4", None, where="dev")  # no answer: the named release is used
    with pytest.raises(ReleaseMismatchError) as info:
        check_device_release("1.4", "1.5.21", where="dev")
    assert info.value.exit_code == 2 and "--iotedge 1.5" in info.value.hint
