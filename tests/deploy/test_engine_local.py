"""The deploy engine end to end on this computer: real shell library, install, chown, rename."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from deploytest_support import (
    CERT_GROUP,
    CERT_USER,
    KEY_GROUP,
    KEY_USER,
    Sandbox,
    sandbox_plan,
)

from core.deploy import (
    DeployFailedError,
    InterruptedBeforeInstallError,
    OutcomeUnknownError,
    deploy,
    read_device_state,
    rollback,
)
from core.errors import CancelledError, ConnectError, DriftError
from core.progress import CancelToken, ProgressEvent
from core.targets.local import LocalTarget


def owner(path: Path) -> tuple[str, str, int]:
    out = subprocess.run(["stat", "-c", "%U %G %a", str(path)], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], out[1], int(out[2], 8)


def test_deploy_installs_everything_with_modes_and_owners(sandbox: Sandbox) -> None:
    plan = sandbox_plan(sandbox)
    events: list[ProgressEvent] = []
    rep = deploy(plan, LocalTarget(), progress=events.append, backup_root=str(sandbox.backups))
    assert rep.outcome == "deployed"
    assert [c.result for c in rep.checks] == ["ok"]
    r = sandbox.root
    assert (r / "var/aziot/certs/edge-ca.pem").read_bytes() == plan.files[0].data
    assert owner(r / "var/aziot/certs/edge-ca.pem") == (CERT_USER, CERT_GROUP, 0o644)
    assert owner(r / "var/aziot/secrets/edge-ca.key.pem") == (KEY_USER, KEY_GROUP, 0o600)
    assert owner(r / "var/aziot/secrets") == (KEY_USER, KEY_GROUP, 0o700)
    assert owner(r / "var/aziot") == ("root", "root", 0o755)
    assert owner(r / "etc/aziot/config.toml") == ("root", "root", 0o600)
    assert (r / "etc/aziot/config.toml").read_bytes() == plan.config.after
    # exactly the stale file went; the module server cert next to it stays
    assert not (r / "var/lib/aziot/certd/certs/aziotedgedca-old.cer").exists()
    assert (r / "var/lib/aziot/certd/certs/module-server.cer").exists()
    assert len(sandbox.apply_log()) == 1
    # no temporary names left next to the installed files
    leftovers = [p for p in r.rglob(".edgecert-*")]
    assert leftovers == []
    # the backup: root-only, manifest, restore.sh, status deployed
    assert rep.backup_dir is not None
    b = Path(rep.backup_dir)
    assert b.parent == sandbox.backups
    assert owner(b)[2] == 0o700
    assert (b / "status").read_text().strip() == "deployed"
    manifest = (b / "manifest").read_text()
    assert f"\tabsent\t-\t{plan.files[0].path}\n" in manifest
    assert f"\tfile\t600:0:0\t{plan.config.path}" in manifest
    steps = [e.step for e in events]
    assert steps[0] == "read" and steps[-1] == "done"
    uploads = [e for e in events if e.step == "upload"]
    assert uploads[-1].done == uploads[-1].total > 0
    # this deploy's staging folder (root-only, inside the transaction folder) is gone
    stage = Path(uploads[-1].message)
    assert stage == b / "stage" and not stage.exists()
    journal = [line.split("\t")[0] for line in (b / "journal").read_text().splitlines()]
    assert journal == ["started", "waiting", "backing-up", "backed-up", "installing",
                       "installed", "applying", "applied", "checking", "checked", "deployed"]


def test_second_run_is_detected_and_changes_nothing(sandbox: Sandbox) -> None:
    target = LocalTarget()
    deploy(sandbox_plan(sandbox), target, backup_root=str(sandbox.backups))
    after_first = sandbox.snapshot()
    # the preview of a second run reads the deployed config as "before"
    plan2 = sandbox_plan(sandbox, before=sandbox_plan(sandbox).config.after)
    rep = deploy(plan2, target, backup_root=str(sandbox.backups))
    assert rep.outcome == "already-deployed"
    assert rep.backup_dir is None
    assert [c.result for c in rep.checks] == ["ok"]
    assert sandbox.snapshot() == after_first
    assert len(sandbox.apply_log()) == 1
    # a directory mode changed by hand is not "already deployed": the deploy repairs it
    Path(sandbox.p("var/aziot")).chmod(0o750)
    rep = deploy(plan2, target, backup_root=str(sandbox.backups))
    assert rep.outcome == "deployed"
    assert sandbox.snapshot() == after_first


def test_drift_refuses_and_touches_nothing(sandbox: Sandbox) -> None:
    plan = sandbox_plan(sandbox, before=b'hostname = "what the preview saw"\n')
    before = sandbox.snapshot()
    with pytest.raises(DriftError) as info:
        deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert "changed since the preview" in str(info.value)
    assert info.value.exit_code == 2
    assert sandbox.snapshot() == before
    assert sandbox.apply_log() == []


def _replace_everything_first(sandbox: Sandbox) -> None:
    """Give the device an older deploy, so a failed deploy has real files to restore."""
    deploy(sandbox_plan(sandbox, cert=b"OLD CERT\n", key=b"OLD KEY\n"), LocalTarget(),
           backup_root=str(sandbox.backups))
    # make the old state distinctive: odd modes the rollback must bring back
    os.chmod(sandbox.p("var/aziot/certs/edge-ca.pem"), 0o444)
    os.chmod(sandbox.p("var/aziot/secrets/edge-ca.key.pem"), 0o440)
    Path(sandbox.p("var/lib/aziot/certd/certs/aziotedgedca-old.cer")).write_bytes(b"regenerated")


def test_apply_failure_rolls_back_byte_for_byte(sandbox: Sandbox) -> None:
    _replace_everything_first(sandbox)
    before = sandbox.snapshot()
    old_cfg = Path(sandbox.p("etc/aziot/config.toml")).read_bytes()
    (sandbox.root / "fail-apply").write_text("# new\n")
    plan = sandbox_plan(sandbox, cert=b"NEW CERT\n", key=b"NEW KEY\n", before=old_cfg,
                        after=old_cfg + b"# new\n")
    with pytest.raises(DeployFailedError) as info:
        deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    err = info.value
    assert err.exit_code == 1
    assert "apply refused by test knob" in err.failure
    assert err.rollback is not None and err.rollback.ok
    after = sandbox.snapshot()
    after.pop("fail-apply")
    before.pop("fail-apply", None)
    assert after == before
    # apply ran for the new config, then again for the restored one
    log = sandbox.apply_log()
    assert len(log) == 3 and log[-1] == log[0]


def test_check_failure_rolls_back(sandbox: Sandbox) -> None:
    _replace_everything_first(sandbox)
    old_cfg = Path(sandbox.p("etc/aziot/config.toml")).read_bytes()
    (sandbox.root / "fail-check").touch()
    before = sandbox.snapshot()
    plan = sandbox_plan(sandbox, cert=b"NEW CERT\n", before=old_cfg, after=old_cfg + b"# x\n")
    with pytest.raises(DeployFailedError) as info:
        deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert "certs-preloaded: error (bad cert)" in info.value.failure
    assert [c.result for c in info.value.checks] == ["error"]
    assert sandbox.snapshot() == before


def test_unreadable_parent_is_caught_on_the_device_and_rolled_back(sandbox: Sandbox) -> None:
    # /var/aziot as 0750 root:root: the EFLOW mkdir -p trap (facts §7). The plan "forgets" the
    # directory, so only the on-device stat walk can notice.
    Path(sandbox.p("var/aziot")).mkdir(mode=0o750)
    Path(sandbox.p("var/aziot")).chmod(0o750)
    before = sandbox.snapshot()
    plan = sandbox_plan(sandbox)
    plan = type(plan)(**{**plan.__dict__, "dirs": plan.dirs[1:]})
    with pytest.raises(DeployFailedError) as info:
        deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert f"{sandbox.p('var/aziot')} is not readable by user {CERT_USER}" in info.value.failure
    assert sandbox.snapshot() == before
    assert sandbox.apply_log() == []


def test_supplementary_groups_do_not_count(sandbox: Sandbox) -> None:
    # a cert readable only through group "daemon": KEY_USER's primary group passes, CERT_USER
    # (nobody, primary group nogroup) fails even if it were a member of daemon.
    from core.deploy.shlib import LIBRARY

    d = sandbox.root / "g"
    d.mkdir(mode=0o750)
    os.chown(d, 0, int(subprocess.check_output(["id", "-g", KEY_USER]).strip()))
    (d / "f").write_text("x")
    os.chmod(d / "f", 0o640)
    os.chown(d / "f", 0, int(subprocess.check_output(["id", "-g", KEY_USER]).strip()))

    def readable(user: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", "-c", LIBRARY + '\nec_readable "$@"', "t", user,
                               str(d / "f")], capture_output=True, text=True, check=False)

    assert readable(KEY_USER).returncode == 0
    res = readable(CERT_USER)
    assert res.returncode == 1
    assert f"\t{d}\t" in res.stdout and f"\t{d / 'f'}\t" in res.stdout
    d.chmod(0o754)  # world r but no x: still not traversable
    assert readable(CERT_USER).returncode == 1
    d.chmod(0o755)
    os.chmod(d / "f", 0o644)
    assert readable(CERT_USER).returncode == 0


def test_rollback_by_hand_with_restore_sh(sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    plan = sandbox_plan(sandbox)
    rep = deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert rep.backup_dir
    # (the sandbox's apply refuses the old config, which has no [edge_ca]: files only here)
    res = subprocess.run(["sh", f"{rep.backup_dir}/restore.sh", "--no-apply"], check=True,
                         capture_output=True, text=True)
    assert f"restored {plan.config.path}" in res.stdout
    assert f"removed {plan.files[0].path}" in res.stdout
    after = sandbox.snapshot()
    assert {k: v for k, v in after.items() if not k.startswith("backups")} == {
        k: v for k, v in before.items() if not k.startswith("backups")}
    assert Path(rep.backup_dir, "status").read_text().strip() == "rolled-back"


def test_rollback_api_reapplies(sandbox: Sandbox) -> None:
    plan = sandbox_plan(sandbox)
    rep = deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert rep.backup_dir
    # the restored config has no [edge_ca]: the sandbox apply refuses it -> reported, not hidden
    rb = rollback(LocalTarget(), rep.backup_dir, reapply=plan.apply)
    assert rb.restored and not rb.reapplied
    assert "config has no [edge_ca]" in rb.reapply_output
    assert not rb.ok


def test_cancel_before_install_leaves_device_untouched(sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    token = CancelToken()

    def progress(ev: ProgressEvent) -> None:
        if ev.step == "stage":
            token.cancel()

    with pytest.raises(InterruptedBeforeInstallError) as info:
        deploy(sandbox_plan(sandbox), LocalTarget(), progress=progress, cancel=token,
               backup_root=str(sandbox.backups))
    assert info.value.exit_code == 130
    assert sandbox.snapshot() == before
    # no transaction folder (and so no staging folder) was left
    assert not sandbox.backups.exists()


def test_cancel_after_install_rolls_back(sandbox: Sandbox) -> None:
    _replace_everything_first(sandbox)
    old_cfg = Path(sandbox.p("etc/aziot/config.toml")).read_bytes()
    before = sandbox.snapshot()
    token = CancelToken()
    (sandbox.root / "slow-apply").write_text("1")  # the cancel lands while apply runs

    def progress(ev: ProgressEvent) -> None:
        if ev.step == "apply":
            token.cancel()

    plan = sandbox_plan(sandbox, cert=b"NEW\n", before=old_cfg, after=old_cfg + b"#\n")
    with pytest.raises(CancelledError) as info:
        deploy(plan, LocalTarget(), progress=progress, cancel=token,
               backup_root=str(sandbox.backups))
    assert "rolled back" in str(info.value)
    assert info.value.exit_code == 1
    after = sandbox.snapshot()
    after.pop("slow-apply")
    assert after == before
    assert len(sandbox.apply_log()) == 3  # old, new, old again


def test_device_state_reports_files_and_backups(sandbox: Sandbox) -> None:
    plan = sandbox_plan(sandbox)
    deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    state = read_device_state(LocalTarget(), "1.5", paths=[f.path for f in plan.files],
                              backup_root=str(sandbox.backups))
    key = state.file(plan.files[2].path)
    assert (key.kind, key.mode, key.user, key.group) == ("file", 0o600, KEY_USER, KEY_GROUP)
    assert key.sha256 == plan.files[2].sha256
    assert state.last_backup is not None and state.last_backup.status == "deployed"
    assert state.release.key == "1.5"


def test_legacy_clear_of_directory_contents_is_restored_on_failure(sandbox: Sandbox) -> None:
    """1.1 clears hsm/certs and hsm/cert_keys (facts §8.1); a failed apply brings them back."""
    hsm = sandbox.root / "var/lib/iotedge/hsm"
    for sub in ("certs", "cert_keys"):
        (hsm / sub).mkdir(parents=True, mode=0o700)
        (hsm / sub / f"device_ca_alias_{sub}.pem").write_bytes(sub.encode() * 10)
        (hsm / sub / f"device_ca_alias_{sub}.pem").chmod(0o600)
    cfg = Path(sandbox.p("etc/aziot/config.toml"))
    cfg.write_bytes(b"[edge_ca]\n")
    old = cfg.read_bytes()
    base = sandbox_plan(sandbox, before=old, after=old + b"# new\n", release="1.1")
    plan = type(base)(**{**base.__dict__,
                         "clear": type(base.clear)(dir_contents=(str(hsm / "certs"),
                                                                 str(hsm / "cert_keys")))})
    (sandbox.root / "fail-apply").write_text("# new\n")
    before = sandbox.snapshot()
    with pytest.raises(DeployFailedError):
        deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert sandbox.snapshot() == before
    # and a good run empties exactly those directories, keeping the directories themselves
    (sandbox.root / "fail-apply").unlink()
    deploy(plan, LocalTarget(), backup_root=str(sandbox.backups))
    assert list((hsm / "certs").iterdir()) == [] and list((hsm / "cert_keys").iterdir()) == []
    assert owner(hsm / "certs")[2] == 0o700


def test_connection_lost_during_the_transaction_the_device_finishes_alone(
        sandbox: Sandbox) -> None:
    """The transaction runs on the device by itself: losing edgecert's side during apply
    neither stops nor half-does it; the outcome is unknown to this run (exit 3) and the next
    run reads it: already deployed."""
    plan = sandbox_plan(sandbox)

    def lost(ev: ProgressEvent) -> None:
        if ev.step == "apply":
            raise ConnectError("connection lost (simulated)")

    with pytest.raises(OutcomeUnknownError) as info:
        deploy(plan, LocalTarget(), progress=lost, backup_root=str(sandbox.backups))
    assert info.value.exit_code == 3
    (backup,) = [p for p in sandbox.backups.iterdir() if p.is_dir()]
    journal = backup / "journal"
    for _ in range(400):  # its last journal line is written once the staging folder is gone
        if journal.read_text().splitlines()[-1].startswith("deployed\t"):
            break
        time.sleep(0.05)
    assert (backup / "status").read_text().strip() == "deployed"
    assert not (backup / "stage").exists()
    rep = deploy(sandbox_plan(sandbox, before=plan.config.after), LocalTarget(),
                 backup_root=str(sandbox.backups))
    assert rep.outcome == "already-deployed"
    assert len(sandbox.apply_log()) == 1
