"""Deploy over a real OpenSSH sshd (loopback): end to end, re-run, connection killed mid-upload."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploytest_support import (
    Sandbox,
    require_root,
    sandbox_plan,
    stage_dirs,
    sweep_new_stage_dirs,
)
from sshd_support import Sshd, running_sshd

from core.deploy import deploy
from core.errors import ConnectError, EdgecertError
from core.progress import ProgressEvent
from core.targets.ssh import SshTarget


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    require_root()
    with running_sshd() as d:
        yield d


def _connect(d: Sshd) -> SshTarget:
    fp = subprocess.check_output(["ssh-keygen", "-lf", str(d.key.parent / "host.pub")],
                                 text=True).split()[1]
    return SshTarget.connect(d.host, port=d.port, user=d.user, key_file=d.key,
                             known_hosts=[d.known_hosts], use_agent=False,
                             accept_fingerprint=fp)


def _session_pids(sshd_pid: int) -> list[int]:
    """The per-connection sshd processes our sshd forked (children of its pid)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == sshd_pid:
            out.append(int(stat.parent.name))
    return out


def test_deploy_over_ssh_and_rerun(sshd: Sshd, sandbox: Sandbox) -> None:
    plan = sandbox_plan(sandbox)
    with _connect(sshd) as target:
        rep = deploy(plan, target, backup_root=str(sandbox.backups))
        assert rep.outcome == "deployed" and rep.checks_ok
        first = sandbox.snapshot()
        again = deploy(sandbox_plan(sandbox, before=plan.config.after), target,
                       backup_root=str(sandbox.backups))
    assert again.outcome == "already-deployed"
    assert sandbox.snapshot() == first
    assert Path(plan.files[2].path).read_bytes() == plan.files[2].data


def test_connection_killed_mid_upload_leaves_device_as_before(sshd: Sshd,
                                                             sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    stages = stage_dirs()
    plan = sandbox_plan(sandbox, cert=b"C" * 300_000)
    killed: list[int] = []

    def progress(ev: ProgressEvent) -> None:
        if ev.step == "upload" and 0 < ev.done < ev.total and not killed:
            for pid in _session_pids(sshd.pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    target = _connect(sshd)
    try:
        with pytest.raises((ConnectError, EdgecertError)) as info:
            deploy(plan, target, progress=progress, backup_root=str(sandbox.backups))
    finally:
        target.close()
    assert killed, "the session was never killed"
    assert isinstance(info.value, ConnectError)
    assert sandbox.snapshot() == before
    assert not sandbox.backups.exists()
    # the lost connection could not remove its 0700 staging dir; the next deploy sweeps
    # such dirs after an hour, the test removes it now
    sweep_new_stage_dirs(stages)
    # re-running with a new connection completes the deploy
    with _connect(sshd) as target:
        rep = deploy(plan, target, backup_root=str(sandbox.backups))
    assert rep.outcome == "deployed"
    assert Path(plan.files[0].path).read_bytes() == plan.files[0].data
