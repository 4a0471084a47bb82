"""Disk full on the device: a small tmpfs under the sandbox; nothing is left half-written."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci import unavailable
from deploytest_support import Sandbox, sandbox_plan

from core.deploy import DeployFailedError, deploy
from core.errors import DeployError
from core.targets.local import LocalTarget


@pytest.fixture
def small_fs(sandbox: Sandbox) -> Iterator[Path]:
    """sandbox/var/aziot/certs on a 16 KiB tmpfs (needs root and mount)."""
    where = sandbox.root / "var/aziot/certs"
    where.mkdir(parents=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs",
                          str(where)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        unavailable(f"cannot mount a tmpfs: {res.stderr}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_full_disk_during_install_rolls_back(sandbox: Sandbox, small_fs: Path) -> None:
    # an old cert that the deploy would replace, and a filler that leaves almost no room
    (small_fs / "edge-ca.pem").write_bytes(b"OLD CERT\n")
    (small_fs / "filler").write_bytes(b"x" * 8 * 1024)
    before = sandbox.snapshot()
    plan = sandbox_plan(sandbox, cert=b"N" * 12 * 1024)
    with pytest.raises(DeployFailedError) as info:
        deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert "disk full" in info.value.failure
    assert info.value.rollback is not None and info.value.rollback.ok
    assert sandbox.snapshot() == before
    assert not list(small_fs.glob(".edgecert-*"))
    assert sandbox.apply_log() == []


def test_no_room_for_the_backup_touches_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    backups = sandbox.root / "backups"
    backups.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(backups)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        unavailable(f"cannot mount a tmpfs: {res.stderr}")
    try:
        (backups / "filler").write_bytes(b"x" * 4096)
        before = sandbox.snapshot()
        with pytest.raises(DeployError) as info:
            deploy(sandbox_plan(sandbox), LocalTarget(), backup_root=str(backups))
        assert "nothing was touched" in str(info.value)
        assert info.value.exit_code == 2
        assert sandbox.snapshot() == before
        assert sorted(p.name for p in backups.iterdir() if not p.name.startswith(".")) == [
            "filler"]
    finally:
        subprocess.run(["umount", str(backups)], check=False)
