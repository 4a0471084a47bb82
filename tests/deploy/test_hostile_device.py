"""Hostile device layouts on the shared loopback device: symbolic links, odd modes and owners,
files that appear between preview and deploy, a full disk, two deploys at once, restore.sh.

Every refusal is exit 2 with the device untouched; a link the user allows is used but its
target keeps its owner and mode; rollback restores links as links and modes and owners exactly.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from certs import make_chain
from deploytest_support import plan_for
from device.fixtures import Device
from device.layouts import layout

from core.deploy import (
    DeployFailedError,
    DeviceLockedError,
    LinkRefusedError,
    deploy,
    read_device_state,
)
from core.errors import CancelledError, DriftError
from core.plan import Plan
from core.progress import CancelToken, ProgressEvent
from core.targets.base import Target

ROOTS = ("/etc/aziot", "/var/aziot", "/var/lib/aziot")
EDGECERT = str(Path(sys.executable).with_name("edgecert"))
CERTS = "/var/aziot/certs"


def snap(dev: Device, *extra: str) -> dict[str, str]:
    out = dev.snapshot(*ROOTS, *extra)
    for p in ("/", "/etc", "/var", "/var/lib"):
        out[p] = dev.sh('stat -c "%F %a %U:%G" -- "$1"', p).stdout.decode().strip()
    return out


def cli(dev: Device, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cert, key, root = make_chain().write(tmp)
    acc = dev.accounts["edgeadmin"]
    return subprocess.run(
        [EDGECERT, "deploy", "--host", dev.host, "--port", str(dev.port), "--user", acc.user,
         "--identity", str(acc.key), "--known-hosts", str(dev.known_hosts), "--edge-ca-cert",
         str(cert), "--edge-ca-key", str(key), "--trust-bundle", str(root), "--iotedge", "auto",
         "--yes", *extra],
        capture_output=True, text=True, timeout=120, check=False)


def rolled_back_during_apply(dev: Device, target: Target, plan: Plan,
                             **kwargs: Any) -> BaseException:
    """Deploy, and cancel while the runtime applies: the device rolls back (re-applying the
    old configuration). Returns the error the deploy raised."""
    dev.hold("apply")
    token = CancelToken()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            deploy(plan, target, cancel=token, **kwargs)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    dev.wait_reached("apply")
    token.cancel()
    for _ in range(1500):
        if dev.sh("ls /var/backups/edgecert/.cancel-* 2>/dev/null", check=False).stdout:
            break
        time.sleep(0.02)
    dev.release("apply")
    t.join(60)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.device
def test_symlinked_cert_folder_to_etc_is_refused_and_nothing_changes(device15: Device,
                                                                     tmp_path: Path) -> None:
    device15.sh(f"mkdir -p /var/aziot && ln -s /etc {CERTS}")
    before = snap(device15)
    etc = device15.stat("/etc")
    res = cli(device15, tmp_path)
    assert res.returncode == 2, res.stderr
    assert f"{CERTS} is a symbolic link to /etc" in res.stderr
    assert "--allow-link" in res.stderr and "Traceback" not in res.stderr
    assert snap(device15) == before and device15.stat("/etc") == etc
    assert device15.stage_folders() == []


@pytest.mark.device
def test_allowed_link_is_used_but_its_target_keeps_owner_and_mode(device15: Device,
                                                                  tmp_path: Path) -> None:
    device15.sh(f"mkdir -p -m 0755 /var/edge-certs /var/aziot && ln -s /var/edge-certs {CERTS}")
    target_dir = device15.stat("/var/edge-certs")
    res = cli(device15, tmp_path, "--allow-link", CERTS)
    assert res.returncode == 0, res.stderr
    assert device15.stat("/var/edge-certs") == target_dir == (0o755, "root", "root")
    assert device15.sh(f"readlink {CERTS}").stdout.strip() == b"/var/edge-certs"
    assert device15.stat("/var/edge-certs/edge-ca.pem")[1:] == ("aziotcs", "aziotcs")


@pytest.mark.device
def test_symlinked_trust_bundle_comes_back_as_a_link_on_rollback(device15: Device) -> None:
    device15.write("/var/other/root.pem", b"not ours\n", mode=0o640, owner="edgeadmin")
    device15.sh(f"mkdir -p {CERTS} && ln -s /var/other/root.pem {CERTS}/trust-bundle.pem && "
                f"chown -h aziotcs:aziotcs {CERTS}/trust-bundle.pem")
    before = snap(device15, "/var/other")
    link_owner = device15.sh(f"stat -c %U:%G {CERTS}/trust-bundle.pem").stdout
    with device15.connect() as target:
        plan = plan_for(target)
        with pytest.raises(LinkRefusedError) as info:
            deploy(plan, target)
        assert info.value.exit_code == 2
        assert f"{CERTS}/trust-bundle.pem is a symbolic link" in str(info.value)
        assert snap(device15, "/var/other") == before
        # allowed, then rolled back after apply: the link comes back as a link, its target
        # untouched
        err = rolled_back_during_apply(device15, target, plan,
                                       allow_links=[f"{CERTS}/trust-bundle.pem"])
        assert isinstance(err, CancelledError) and err.exit_code == 1, err
    assert device15.sh(f"readlink {CERTS}/trust-bundle.pem").stdout.strip() == \
        b"/var/other/root.pem"
    assert device15.sh(f"stat -c %U:%G {CERTS}/trust-bundle.pem").stdout == link_owner
    assert snap(device15, "/var/other") == before


@pytest.mark.device
def test_odd_modes_and_owners_are_restored_exactly(device15: Device) -> None:
    device15.write(f"{CERTS}/edge-ca.pem", b"old\n", mode=0o666, owner="edgeadmin",
                   group="aziotks")
    device15.sh(f"chmod 0777 {CERTS} && chown edgeadmin:aziotcs {CERTS} && "
                "chmod 0711 /var/aziot")
    before = snap(device15)
    with device15.connect() as target:
        err = rolled_back_during_apply(device15, target, plan_for(target))
    assert isinstance(err, CancelledError) and err.exit_code == 1, err
    assert "rolled back" in str(err)
    assert snap(device15) == before


@pytest.mark.device
def test_file_appearing_between_preview_and_deploy_is_not_overwritten(device15: Device) -> None:
    with device15.connect() as target:
        preview = read_device_state(target, None, paths=[f"{CERTS}/trust-bundle.pem"])
        plan = plan_for(target)
        device15.write(f"{CERTS}/trust-bundle.pem", b"somebody else's\n")
        before = snap(device15)
        with pytest.raises(DriftError) as info:
            deploy(plan, target, preview=preview)
    assert info.value.exit_code == 2
    assert "trust-bundle.pem changed since the preview" in str(info.value)
    assert snap(device15) == before


@pytest.mark.device
def test_file_appearing_after_the_deploy_read_is_caught_on_the_device(device15: Device) -> None:
    """The transaction compares every replaced path again under the lock."""
    device15.hold("flock", "-w")
    with device15.connect() as target:
        plan = plan_for(target)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                deploy(plan, target)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=run)
        t.start()
        device15.wait_reached("flock")
        device15.write("/var/aziot/secrets/edge-ca.key.pem", b"appeared\n", mode=0o600)
        before = snap(device15)
        device15.release("flock")
        t.join(60)
    assert len(errors) == 1 and isinstance(errors[0], DriftError), errors
    assert "edge-ca.key.pem" in str(errors[0]) and errors[0].exit_code == 2
    assert snap(device15) == before
    assert device15.stage_folders() == []


@pytest.mark.device
def test_full_disk_during_install_rolls_back_exactly(device15: Device) -> None:
    device15.mount_small_fs("/var/aziot", size_kib=8)
    device15.write("/var/aziot/filler", b"x" * 6 * 1024)
    before = snap(device15)
    with device15.connect() as target, pytest.raises(DeployFailedError) as info:
        deploy(plan_for(target), target)
    assert info.value.exit_code == 1
    assert "disk full" in info.value.failure
    assert snap(device15) == before
    assert device15.stage_folders() == []


@pytest.mark.device
def test_full_backup_disk_touches_nothing(device15: Device, tmp_path: Path) -> None:
    device15.mount_small_fs("/var/backups", size_kib=8)
    device15.write("/var/backups/filler", b"x" * 7 * 1024)
    before = snap(device15)
    res = cli(device15, tmp_path)
    assert res.returncode == 2, res.stderr
    assert "nothing was touched" in res.stderr
    assert snap(device15) == before
    assert device15.stage_folders() == []


@pytest.mark.device
def test_two_concurrent_deploys_one_waits_then_refuses_naming_the_holder(
        device15: Device) -> None:
    device15.hold("apply")
    results: list[object] = []
    with device15.connect() as first, device15.connect() as second:
        plan = plan_for(first)

        def run() -> None:
            try:
                results.append(deploy(plan, first))
            except BaseException as exc:
                results.append(exc)

        t = threading.Thread(target=run)
        t.start()
        device15.wait_reached("apply")
        progress: list[ProgressEvent] = []
        with pytest.raises(DeviceLockedError) as info:
            deploy(plan_for(second, cn="other-device-ca.ca"), second, lock_wait=1,
                   progress=progress.append)
        device15.release("apply")
        t.join(60)
    err = info.value
    assert err.exit_code == 2
    assert "another deploy holds the device lock: edgecert on" in str(err)
    assert "since 20" in str(err)  # when it started, in UTC
    assert any("another deploy runs" in e.message for e in progress)
    assert len(results) == 1 and getattr(results[0], "outcome", None) == "deployed"
    # the refused one left no folder; the first one's backup is the only one
    txns = device15.transactions()
    (states,) = txns.values()
    assert states[-1] == "deployed"


@pytest.mark.device
def test_restore_sh_applies_says_what_it_did_and_refuses_over_a_newer_deploy(
        device15: Device) -> None:
    before = snap(device15)
    with device15.connect() as target:
        first = deploy(plan_for(target), target)
        after_first = snap(device15)
        second = deploy(plan_for(target, cn="second-ca.ca"), target)
        assert first.backup_dir and second.backup_dir
        res = target.run(["sh", f"{first.backup_dir}/restore.sh"], sudo=True, check=False)
        assert res.exit_status == 2 and "newer deploy" in res.stdout
        assert second.backup_dir.rsplit("/", 1)[1] in res.stdout
        applies = len([e for e in device15.events() if e.get("event") == "apply"])
        res = target.run(["sh", f"{second.backup_dir}/restore.sh"], sudo=True, check=False)
        assert res.exit_status == 0, res.stdout + res.stderr
        assert "restored /etc/aziot/config.toml" in res.stdout
        assert "applying: iotedge config apply" in res.stdout
        assert "applied the previous configuration" in res.stdout
        assert len([e for e in device15.events() if e.get("event") == "apply"]) == applies + 1
        assert snap(device15) == after_first
        res = target.run(["sh", f"{first.backup_dir}/restore.sh"], sudo=True, check=False)
        assert res.exit_status == 0, res.stdout + res.stderr
    assert snap(device15) == before


@pytest.mark.device
def test_restore_sh_force_goes_back_over_a_newer_deploy(device15: Device) -> None:
    before = snap(device15)
    with device15.connect() as target:
        first = deploy(plan_for(target), target)
        deploy(plan_for(target, cn="second-ca.ca"), target)
        res = target.run(["sh", f"{first.backup_dir}/restore.sh", "--force"], sudo=True,
                         check=False)
    assert res.exit_status == 0, res.stdout + res.stderr
    assert snap(device15) == before


@pytest.mark.device
def test_bundle_install_sh_uses_the_same_transaction_lock_and_journal(device15: Device,
                                                                      tmp_path: Path) -> None:
    from core.bundle import export_bundle

    with device15.connect() as target:
        plan = plan_for(target)
    rep = export_bundle(plan, tmp_path / "b")

    def copy_bundle() -> None:
        for name in rep.names:
            data = (tmp_path / "b" / name).read_bytes()
            device15.write(f"/home/edgeadmin/bundle/{name}", data, mode=0o600,
                           owner="edgeadmin")

    copy_bundle()
    # a deploy holds the device: install.sh waits briefly, then refuses, touching nothing
    device15.hold("apply")
    results: list[object] = []
    with device15.connect() as target:
        t = threading.Thread(target=lambda: results.append(deploy(plan_for(target), target)))
        t.start()
        device15.wait_reached("apply")
        before = snap(device15)
        res = device15.sh("sh /home/edgeadmin/bundle/install.sh", check=False)
        after_refusal = snap(device15)
        device15.release("apply")
        t.join(60)
    assert res.returncode == 2, res.stdout + res.stderr
    assert b"another deploy holds the device lock: edgecert on" in res.stdout
    assert after_refusal == before
    # its own transaction folder says so in its journal
    txns = device15.transactions()
    assert sorted(states[-1] for states in txns.values()) == ["deployed", "refused"]
    # with the device free, install.sh runs the transaction to its end and prints the journal
    device15.reset()
    layout(device15, "1.5")
    copy_bundle()
    res = device15.sh("sh /home/edgeadmin/bundle/install.sh", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.decode()
    for state in ("started", "backing-up", "installing", "applying", "checking", "deployed"):
        assert f" {state}" in out
    (states,) = device15.transactions().values()
    assert states[-1] == "deployed" and device15.stage_folders() == []
    assert device15.read(plan.config.path) == plan.config.after


@pytest.mark.device
def test_the_next_run_removes_staging_folders_of_ended_runs(device15: Device) -> None:
    """A transaction folder whose process is gone: its stage goes at once; one that touched
    nothing (no manifest) goes entirely; a backup (manifest) stays."""
    b = "/var/backups/edgecert"
    device15.sh(f"""set -e; umask 077; mkdir -p {b}/20200101T000000Z-aaaa/stage \\
        {b}/20200101T000001Z-bbbb/stage
      echo 2147483000 > {b}/20200101T000000Z-aaaa/pid
      echo 2147483000 > {b}/20200101T000001Z-bbbb/pid
      printf 'installing\\tt\\n' > {b}/20200101T000000Z-aaaa/journal
      printf 'backed-up\\tt\\n' > {b}/20200101T000001Z-bbbb/journal
      echo secret > {b}/20200101T000000Z-aaaa/stage/config
      : > {b}/20200101T000000Z-aaaa/manifest""")
    with device15.connect() as target:
        read_device_state(target, None)
    assert device15.stage_folders() == []
    assert device15.exists(f"{b}/20200101T000000Z-aaaa/manifest")
    assert not device15.exists(f"{b}/20200101T000001Z-bbbb")


@pytest.mark.device
def test_bundle_with_an_allowed_link(device15: Device, tmp_path: Path) -> None:
    from core.bundle import export_bundle

    device15.sh(f"mkdir -p -m 0755 /var/edge-certs /var/aziot && ln -s /var/edge-certs {CERTS}")
    with device15.connect() as target:
        plan = plan_for(target)
    for allow, code in (((), 2), ((CERTS,), 0)):
        out = tmp_path / f"b{code}"
        rep = export_bundle(plan, out, allow_links=allow)
        for name in rep.names:
            device15.write(f"/home/edgeadmin/b/{name}", (out / name).read_bytes(), mode=0o600)
        res = device15.sh("sh /home/edgeadmin/b/install.sh", check=False)
        assert res.returncode == code, res.stdout + res.stderr
        if code == 2:
            assert f"{CERTS} is a symbolic link to /var/edge-certs".encode() in res.stdout
    assert device15.stat("/var/edge-certs") == (0o755, "root", "root")
