"""Export bundle: contents, modes, and install.sh giving the same end state as a deploy."""

from __future__ import annotations

import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from deploytest_support import Sandbox, make_sandbox, sandbox_plan

from core.bundle import export_bundle
from core.deploy import deploy
from core.errors import UsageError
from core.targets.local import LocalTarget


def run_install(bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(bundle / "install.sh")], capture_output=True, text=True,
                          check=False, timeout=60)


def test_bundle_folder_is_private_and_complete(tmp_path: Path) -> None:
    sb_iter = make_sandbox()
    sb = next(sb_iter)
    try:
        plan = sandbox_plan(sb)
        rep = export_bundle(plan, tmp_path / "b", backup_root=str(sb.backups))
        b = tmp_path / "b"
        assert stat.S_IMODE(b.stat().st_mode) == 0o700
        names = sorted(p.name for p in b.iterdir())
        assert names == sorted(rep.names)
        wanted = {"install.sh", "install.ps1", "README.txt", "lib.sh", "steps", "config", "f3"}
        assert wanted <= set(names)
        for p in b.iterdir():
            mode = stat.S_IMODE(p.stat().st_mode)
            assert mode == (0o700 if p.name == "install.sh" else 0o600), p.name
        assert (b / "f3").read_bytes() == plan.files[2].data
        readme = (b / "README.txt").read_text()
        assert "KEY 1" not in readme and "sudo sh install.sh" in readme
        ps1 = (b / "install.ps1").read_text()
        assert "Copy-EflowVmFile -fromFile (Join-Path $here $name)" in ps1 and "-pushFile" in ps1
        assert "'f3'" in ps1 and "'install.sh'" in ps1
        with pytest.raises(UsageError):
            export_bundle(plan, tmp_path / "b")  # not empty: never overwritten
    finally:
        sb_iter.close()


def test_bundle_zip_keeps_modes(tmp_path: Path) -> None:
    sb_iter = make_sandbox()
    sb = next(sb_iter)
    try:
        rep = export_bundle(sandbox_plan(sb), tmp_path / "dev1.zip")
        assert rep.zipped
        with zipfile.ZipFile(tmp_path / "dev1.zip") as zf:
            infos = {i.filename: i for i in zf.infolist()}
        assert stat.S_IMODE(infos["dev1/install.sh"].external_attr >> 16) == 0o700
        assert stat.S_IMODE(infos["dev1/f3"].external_attr >> 16) == 0o600
        assert not list(tmp_path.glob(".*.tmp"))
    finally:
        sb_iter.close()


def _end_state_by_deploy() -> dict[str, tuple[str, int, int, int, str]]:
    sb_iter = make_sandbox()
    sb = next(sb_iter)
    try:
        deploy(sandbox_plan(sb), LocalTarget(), backup_root=str(sb.backups))
        return sb.snapshot()
    finally:
        sb_iter.close()


def test_install_sh_gives_the_same_end_state_as_deploy(sandbox: Sandbox, tmp_path: Path) -> None:
    expected = _end_state_by_deploy()
    export_bundle(sandbox_plan(sandbox), tmp_path / "b", backup_root=str(sandbox.backups))
    res = run_install(tmp_path / "b")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "check\tcerts-preloaded\tok" in res.stdout
    assert sandbox.snapshot() == expected
    backups = [p for p in sandbox.backups.iterdir() if p.is_dir()]
    assert len(backups) == 1 and (backups[0] / "status").read_text().strip() == "deployed"
    assert len(sandbox.apply_log()) == 1


def test_install_sh_refuses_on_drift(sandbox: Sandbox, tmp_path: Path) -> None:
    export_bundle(sandbox_plan(sandbox), tmp_path / "b", backup_root=str(sandbox.backups))
    Path(sandbox.p("etc/aziot/config.toml")).write_bytes(b'hostname = "edited meanwhile"\n')
    before = sandbox.snapshot()
    res = run_install(tmp_path / "b")
    assert res.returncode == 2
    assert "nothing was changed" in res.stdout
    assert sandbox.snapshot() == before


def test_install_sh_rolls_back_when_apply_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    before = sandbox.snapshot()
    plan = sandbox_plan(sandbox, after=b'hostname = "dev"\n[edge_ca]\n# new\n')
    (sandbox.root / "fail-apply").write_text("# new\n")
    export_bundle(plan, tmp_path / "b", backup_root=str(sandbox.backups))
    res = run_install(tmp_path / "b")
    # the restored config has no [edge_ca], so the sandbox refuses the re-apply: exit 3 and
    # the backup named; files are back nonetheless
    assert res.returncode == 3, res.stdout + res.stderr
    assert "restore.sh" in res.stdout
    after = sandbox.snapshot()
    after.pop("fail-apply")
    assert after == before


def test_install_sh_check_failure_restores_and_reapplies(sandbox: Sandbox, tmp_path: Path) -> None:
    # first a good install, then a bundle whose check fails: back to the first state, exit 1
    export_bundle(sandbox_plan(sandbox), tmp_path / "b1", backup_root=str(sandbox.backups))
    assert run_install(tmp_path / "b1").returncode == 0
    before = sandbox.snapshot()
    cfg = Path(sandbox.p("etc/aziot/config.toml")).read_bytes()
    (sandbox.root / "fail-check").touch()
    plan = sandbox_plan(sandbox, cert=b"CERT 2\n", before=cfg, after=cfg + b"# two\n")
    export_bundle(plan, tmp_path / "b2", backup_root=str(sandbox.backups))
    res = run_install(tmp_path / "b2")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "check\tcerts-preloaded\terror" in res.stdout
    after = sandbox.snapshot()
    after.pop("fail-check")
    before.pop("fail-check", None)
    assert after == before
    assert len(sandbox.apply_log()) == 3
