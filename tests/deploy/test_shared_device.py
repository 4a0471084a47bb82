"""End to end against the project's loopback device (tests/device: device15 … device11).

Real sshd, sudo and accounts; stand-in runtime. Plans come from the real planner
(core.config.planning.build_plan) fed with what read_device_state found on the device, exactly
as the CLI and the wizard do; layouts are fresh 1.5/1.4/1.2/1.1 installs.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from certs import Chain, make_chain
from deploytest_support import device_plan, plan_for
from device.fixtures import Device
from device.layouts import EDGE_CA_CER, MASTER_KEYS, layout
from device.rootfs import PW_ADMIN_PASSWORD
from eflow_standin import PowerShellStandIn

from core.bundle import export_bundle
from core.deploy import (
    DeployFailedError,
    RollbackFailedError,
    deploy,
    read_device_state,
)
from core.deploy.status import device_status
from core.errors import AuthError, DriftError
from core.plan import Plan
from core.targets.base import Target
from core.targets.eflow import EflowTarget, connect_eflow
from core.targets.local import LocalTarget
from core.targets.ssh import SshTarget

ROOTS = ("/etc/aziot", "/etc/iotedge", "/var/aziot", "/var/lib/aziot", "/var/lib/iotedge")


@pytest.mark.device
@pytest.mark.parametrize("layout", ["device15", "device14", "device12", "device11"])
def test_deploy_each_release(layout: str, request: pytest.FixtureRequest) -> None:
    dev: Device = request.getfixturevalue(layout)
    legacy = layout == "device11"
    with dev.connect("edgeadmin") as target:
        plan = plan_for(target)
        rep = deploy(plan, target)
        assert rep.outcome == "deployed" and rep.checks_ok, rep.describe()
        owner_c, owner_k = ("iotedge", "iotedge") if legacy else ("aziotcs", "aziotks")
        assert dev.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, owner_k, owner_k)
        assert dev.stat("/var/aziot/secrets") == (0o700, owner_k, owner_k)
        assert dev.stat("/var/aziot/certs/edge-ca.pem") == (0o644, owner_c, owner_c)
        assert dev.stat("/var/aziot") == (0o755, "root", "root")
        files = {f.role: f.data for f in plan.files}
        assert dev.read("/var/aziot/secrets/edge-ca.key.pem") == files["edge-ca-key"]
        assert dev.read(plan.config.path) == plan.config.after
        assert dev.stat(plan.config.path) == ((0o600, "iotedge", "iotedge") if legacy
                                              else (0o600, "root", "root"))
        if legacy:
            hsm = "/var/lib/iotedge/hsm"
            # the stale device CA is gone, the master encryption key is kept
            assert dev.sh(f"find {hsm}/certs {hsm}/cert_keys -mindepth 1").stdout == b""
            assert dev.stat(f"{hsm}/certs") == (0o700, "iotedge", "iotedge")
            assert dev.sh(f"ls {hsm}/enc_keys").stdout.decode().split() == [
                "edgelet-masterWt5mT2xpO72EPKlt2Tt0Sq4uJCrMvfl2rzzKRB3pnyo_.enc.key"]
            assert [e["ok"] for e in dev.events() if e["event"] == "restart"][-1] is True
        else:
            assert not dev.exists(f"/var/lib/aziot/certd/certs/{EDGE_CA_CER}")
            for name in MASTER_KEYS:
                assert dev.exists(f"/var/lib/aziot/keyd/keys/{name}.key")
            assert {c.id: c.result for c in rep.checks}["certs-match-private-keys"] == "ok"
        first = dev.snapshot(*ROOTS)
        again = deploy(plan_for_same(target, plan), target)
        assert again.outcome == "already-deployed"
        assert dev.snapshot(*ROOTS) == first
        text = device_status(target).describe()
    assert ("device CA" if legacy else "edge CA: own edge CA") in text
    assert "(deployed)" in text


def plan_for_same(target: Target, plan: Plan) -> Plan:
    """The same files, planned again from the device as it is now."""
    files = {f.role: f.data for f in plan.files}
    return device_plan(target, Chain(files["edge-ca-cert"], files["edge-ca-key"],
                                     files["trust-bundle"]))


@pytest.mark.device
def test_sudo_password_account(device15: Device) -> None:
    with device15.connect("pwadmin") as target:
        rep = deploy(plan_for(target), target)
    assert rep.outcome == "deployed" and rep.checks_ok


@pytest.mark.device
def test_forced_apply_failure_puts_every_file_back(device15: Device) -> None:
    before = device15.snapshot(*ROOTS)
    device15.fail_next_apply("stand-in: forced failure")
    with device15.connect("edgeadmin") as target, pytest.raises(RollbackFailedError) as info:
        deploy(plan_for(target), target)
    # every apply fails while the knob is on, the re-apply too: exit 3, files restored
    assert info.value.exit_code == 3 and info.value.rollback.restored
    assert device15.snapshot(*ROOTS) == before


@pytest.mark.device
def test_restore_sh_then_install_sh_reach_the_deploy_state(device15: Device,
                                                           tmp_path: Path) -> None:
    from core.bundle import export_bundle

    with device15.connect("edgeadmin") as target:
        original = device15.snapshot(*ROOTS)
        plan = plan_for(target)
        rep = deploy(plan, target)
        deployed = device15.snapshot(*ROOTS)
        # a technician's rollback by hand
        res = target.run(["sh", f"{rep.backup_dir}/restore.sh"], sudo=True, check=False)
        assert res.ok, res.stdout + res.stderr
        assert {k: v for k, v in device15.snapshot(*ROOTS).items()
                if not k.startswith("/etc/aziot/") or "config.d" not in k} == {
            k: v for k, v in original.items()
            if not k.startswith("/etc/aziot/") or "config.d" not in k}
        # the same plan again, through the bundle's install.sh
        bundle = export_bundle(plan, tmp_path / "bundle")
        stage = target.run(["mktemp", "-d"]).stdout.strip()
        for name in bundle.names:
            target.put((tmp_path / "bundle" / name).read_bytes(), f"{stage}/{name}")
        res = target.run(["sh", f"{stage}/install.sh"], sudo=True, check=False)
        assert res.exit_status == 0, res.stdout + res.stderr
    assert device15.snapshot(*ROOTS) == deployed


@pytest.mark.device
def test_wrong_sudo_password_touches_nothing(device15: Device) -> None:
    before = device15.snapshot(*ROOTS, "/var/backups")
    with device15.connect("pwadmin", sudo_password="not-the-password") as target, \
            pytest.raises(AuthError) as info:
        read_device_state(target, None)
    assert "not-the-password" not in str(info.value) + info.value.hint
    assert info.value.exit_code == 2
    assert device15.snapshot(*ROOTS, "/var/backups") == before


@pytest.mark.device
@pytest.mark.parametrize("layout_name", ["device15", "device11"])
def test_apply_failure_restores_byte_for_byte(layout_name: str,
                                              request: pytest.FixtureRequest) -> None:
    dev: Device = request.getfixturevalue(layout_name)
    step = "restart" if layout_name == "device11" else "apply"
    with dev.connect() as target:
        deploy(plan_for(target, "old.ca"), target)
        before = dev.snapshot(*ROOTS)
        seen = len(dev.events())
        plan = plan_for(target, "new.ca")
        dev.fail_apply_for("new.ca")
        with pytest.raises(DeployFailedError) as info:
            deploy(plan, target)
        assert info.value.rollback is not None and info.value.rollback.reapplied
    # files, config, modes and owners exactly as before, and the old chain applied again
    assert dev.snapshot(*ROOTS) == before
    runs = [e for e in dev.events()[seen:] if e["event"] == step]
    assert [e["ok"] for e in runs] == [False, True]
    reason = "forced failure for the edge CA new.ca"
    assert reason in str(runs[0]["error"])
    # 1.2+ prints the runtime's reason; 1.1's systemctl only says the unit failed
    assert (reason in info.value.failure) == (step == "apply")


@pytest.mark.device
def test_drift_is_refused_and_nothing_touched(device15: Device) -> None:
    with device15.connect() as target:
        plan = plan_for(target)
        device15.sh("echo '# edited by hand' >> /etc/aziot/config.toml")
        before = device15.snapshot(*ROOTS, "/var/backups")
        with pytest.raises(DriftError):
            deploy(plan, target)
    assert device15.snapshot(*ROOTS, "/var/backups") == before


@pytest.mark.device
def test_bundle_install_sh_equals_deploy_on_11(device11: Device, tmp_path: Path) -> None:
    """What install.sh leaves equals what a deploy of the same plan leaves (1.5: above)."""
    with device11.connect() as target:
        plan = plan_for(target)
        deploy(plan, target)
    expected = device11.snapshot(*ROOTS)
    device11.reset()
    layout(device11, "1.1")
    rep = export_bundle(plan, tmp_path / "bundle")
    with device11.connect() as target:
        stage = target.run(["mktemp", "-d"]).stdout.strip()
        for name in rep.names:
            target.put((tmp_path / "bundle" / name).read_bytes(), f"{stage}/{name}")
        res = target.run(["sh", f"{stage}/install.sh"], sudo=True, check=False)
    assert res.exit_status == 0, res.stdout + res.stderr
    assert device11.snapshot(*ROOTS) == expected


@pytest.mark.device
def test_eflow_ssh_fallback_as_iotedge_user(device15: Device, tmp_path: Path) -> None:
    standin = PowerShellStandIn(vm=LocalTarget(), host_dir=tmp_path, module_installed=False)
    target = connect_eflow(runner=standin, host=device15.host,
                           id_rsa=device15.accounts["iotedge-user"].key,
                           ssh_connect=SshTarget.connect, port=device15.port,
                           known_hosts=[device15.known_hosts], use_agent=False,
                           accept_fingerprint=device15.fingerprint())
    try:
        assert isinstance(target, SshTarget) and target.user == "iotedge-user"
        rep = deploy(plan_for(target), target)
    finally:
        target.close()
    assert rep.outcome == "deployed"
    # nothing left owned by iotedge-user outside its home
    assert device15.sh("find /var/aziot /etc/aziot -user iotedge-user").stdout == b""


@pytest.mark.device
def test_eflow_cmdlets_stand_in_over_the_device(device15: Device, tmp_path: Path) -> None:
    """EFLOW through the strict PowerShell stand-in whose VM is the loopback device."""
    with device15.connect("iotedge-user") as vm:
        standin = PowerShellStandIn(vm=vm, host_dir=tmp_path)
        target = EflowTarget(runner=standin, host_tmp=tmp_path,
                             windows_path=standin.windows_path)
        plan = plan_for(target)
        assert plan.config.before is not None and b"connection_string" in plan.config.before
        rep = deploy(plan, target)
    assert rep.outcome == "deployed" and rep.checks_ok
    assert device15.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")
    assert device15.read(plan.config.path) == plan.config.after
    assert not any("Copy-EflowVmFile" in s for s in standin.scripts)  # one archive on stdin
    assert device15.sh("find /var/aziot /etc/aziot -user iotedge-user").stdout == b""


def test_no_host_file_was_touched() -> None:
    assert not Path("/etc/aziot").exists() and not Path("/var/aziot").exists()
    assert subprocess.run(["id", "aziotcs"], capture_output=True, check=False).returncode != 0


def _cli_target(dev: Device, user: str = "edgeadmin") -> list[str]:
    return ["--host", dev.host, "--port", str(dev.port), "--user", user,
            "--identity", str(dev.accounts[user].key), "--known-hosts", str(dev.known_hosts),
            "--accept-host-key", dev.fingerprint()]


@pytest.mark.device
def test_cli_deploy_dry_run_then_deploy_then_status(device15: Device, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from core.cli import main

    cert, key, root = make_chain().write(tmp_path / "chain")
    files = ["--edge-ca-cert", str(cert), "--edge-ca-key", str(key), "--trust-bundle", str(root)]
    before = device15.snapshot(*ROOTS, "/var/backups")
    assert main(["deploy", *_cli_target(device15), "--iotedge", "auto", *files,
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "IoT Edge 1.5.21" in out and "+[edge_ca]" in out
    assert "c2VjcmV0LWtleS1vZi10aGUtdGVzdC1kZXZpY2U=" not in out
    assert device15.snapshot(*ROOTS, "/var/backups") == before
    # with the sudo password on stdin (never on a command line)
    monkeypatch.setattr("sys.stdin", io.StringIO(PW_ADMIN_PASSWORD + "\n"))
    assert main(["deploy", *_cli_target(device15, "pwadmin"), "--password-stdin",
                 "--iotedge", "auto", *files, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "deployed to pwadmin@" in out and "certs-match-private-keys: ok" in out
    assert PW_ADMIN_PASSWORD not in out
    assert main(["device", "status", *_cli_target(device15)]) == 0
    out = capsys.readouterr().out
    assert "own edge CA" in out and "days left" in out and "(deployed)" in out


@pytest.mark.device
def test_cli_exit_code_1_when_rolled_back(device15: Device, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    cert, key, root = make_chain().write(tmp_path / "chain")
    args = ["deploy", *_cli_target(device15), "--iotedge", "1.5", "--edge-ca-cert", str(cert),
            "--edge-ca-key", str(key), "--trust-bundle", str(root), "--yes"]
    device15.fail_next_apply()
    code = main(args)
    err = capsys.readouterr().err
    # the re-apply of the old config is refused too: exit 3, and the message says where the
    # backup and restore.sh are
    assert code == 3
    assert "ROLLBACK INCOMPLETE" in err and "restore.sh" in err and "Traceback" not in err
    device15.fail_apply_off()
    device15.fail_apply_for("device1.ca")
    assert main(args) == 1
    assert "rolled back from /var/backups/edgecert/" in capsys.readouterr().err


@pytest.mark.device
def test_hostname_change_refusal_is_explained(device15: Device) -> None:
    # the config already names a new hostname (edited by hand, never applied) and Edge
    # containers exist: the runtime refuses every apply, the old one included
    device15.sh("sed -i 's/^hostname = .*/hostname = \"olddev\"/' "
                "/etc/aziot/identityd/config.d/00-super.toml")
    device15.add_edge_containers()
    before = device15.snapshot(*ROOTS)
    with device15.connect() as target, pytest.raises(RollbackFailedError) as info:
        deploy(plan_for(target), target)
    err = info.value
    assert err.exit_code == 3
    assert err.rollback.restored and not err.rollback.reapplied
    assert "sudo iotedge system stop" in err.hint and "files are back" in err.hint
    assert device15.snapshot(*ROOTS) == before
