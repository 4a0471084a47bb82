"""End to end against the loopback device (real sshd, sudo, users; stand-in iotedge).

Plans come from the real planner (core.config.planning.build_plan) fed with what
read_device_state found on the device, exactly as the CLI and the wizard do.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from chains import Chain, make_chain
from deploytest_support import require_root
from eflow_standin import PowerShellStandIn
from nsdevice import ADMIN_PASSWORD, NsDevice, ns_device

from core.bundle import export_bundle
from core.config.planning import build_plan, default_paths, store_file_name
from core.config.settings import CertSettings, Preloaded
from core.config.uris import file_uri
from core.deploy import DeployFailedError, RollbackFailedError, deploy, read_device_state
from core.deploy.status import device_status
from core.errors import AuthError, DeployError, DriftError
from core.plan import Plan
from core.targets.base import Target
from core.targets.eflow import connect_eflow
from core.targets.local import LocalTarget
from core.targets.ssh import SshTarget

VERSIONS = ["1.5.21", "1.4.27", "1.2.10", "1.1.16"]
ROOTS = ("/etc/aziot", "/etc/iotedge", "/var/aziot", "/var/lib/aziot", "/var/lib/iotedge")
CA_CER = f"/var/lib/aziot/certd/certs/{store_file_name('aziot-edged-ca', 'cer')}"


@pytest.fixture
def nsdev(request: pytest.FixtureRequest) -> Iterator[NsDevice]:
    require_root()
    version = getattr(request, "param", "1.5.21")
    with ns_device(version) as dev:
        yield dev


def connect(dev: NsDevice, user: str = "edgeops", sudo_password: str | None = None
            ) -> SshTarget:
    return SshTarget.connect(dev.host, port=dev.port, user=user, key_file=dev.key,
                             known_hosts=[dev.known_hosts], use_agent=False,
                             accept_fingerprint=dev.fingerprint, sudo_password=sudo_password)


def make_plan(target: Target, chain: Chain) -> Plan:
    state = read_device_state(target, None)
    paths = default_paths(state.release, "linux")
    settings = CertSettings(edge_ca=Preloaded(file_uri(paths.edge_ca_cert),
                                              file_uri(paths.edge_ca_key)),
                            trust_bundle_cert=file_uri(paths.trust_bundle))
    return build_plan(release=state.release, platform="linux", settings=settings,
                      current_config=state.config, edge_ca_cert=chain.edge_ca_full_chain,
                      edge_ca_key=chain.edge_ca_key, trust_bundle=chain.root,
                      template=state.template)


def stat(dev: NsDevice, path: str) -> str:
    return dev.sh('stat -c "%a %U:%G" -- "$1"', path).stdout.strip()


@pytest.mark.device
@pytest.mark.parametrize("nsdev", VERSIONS, indirect=True)
def test_end_to_end_and_idempotent_rerun(nsdev: NsDevice) -> None:
    chain = make_chain()
    with connect(nsdev) as target:
        plan = make_plan(target, chain)
        rep = deploy(plan, target)
        assert rep.outcome == "deployed"
        legacy = nsdev.version.startswith("1.1")
        owner_c, owner_k = ("iotedge", "iotedge") if legacy else ("aziotcs", "aziotks")
        assert stat(nsdev, "/var/aziot") == "755 root:root"
        assert stat(nsdev, "/var/aziot/certs/edge-ca.pem") == f"644 {owner_c}:{owner_c}"
        assert stat(nsdev, "/var/aziot/secrets/edge-ca.key.pem") == f"600 {owner_k}:{owner_k}"
        assert stat(nsdev, "/var/aziot/secrets") == f"700 {owner_k}:{owner_k}"
        assert nsdev.read("/var/aziot/secrets/edge-ca.key.pem") == chain.edge_ca_key
        cfg = plan.config.path
        assert nsdev.read(cfg) == plan.config.after
        assert stat(nsdev, cfg) == ("600 iotedge:iotedge" if legacy else "600 root:root")
        if legacy:
            hsm = "/var/lib/iotedge/hsm"
            assert nsdev.sh(f"find {hsm}/certs {hsm}/cert_keys -mindepth 1").stdout == ""
            assert stat(nsdev, f"{hsm}/certs") == "700 iotedge:iotedge"
            assert nsdev.read("/var/lib/iotedge/hsm/enc_keys/edgelet-master.enc.key")
            assert "restart" in nsdev.read("/etc/edgecert-standin/applied.log").decode()
        else:
            assert nsdev.sh('test -e "$1"', CA_CER).returncode == 1  # stale edge CA gone
            assert nsdev.read("/var/lib/aziot/keyd/keys/aziot_identityd_master_id")  # kept
            assert {c.id: c.result for c in rep.checks}["certs-match-private-keys"] == "ok"
        assert rep.checks_ok
        first = nsdev.snapshot(*ROOTS)
        again = deploy(make_plan(target, chain), target)
        assert again.outcome == "already-deployed"
        assert nsdev.snapshot(*ROOTS) == first
        status = device_status(target)
    text = status.describe()
    assert "device CA" in text if legacy else "edge CA: own edge CA" in text
    assert "(deployed)" in text


@pytest.mark.device
def test_sudo_with_password(nsdev: NsDevice) -> None:
    with connect(nsdev, "edgeadmin", sudo_password=ADMIN_PASSWORD) as target:
        rep = deploy(make_plan(target, make_chain()), target)
    assert rep.outcome == "deployed" and rep.checks_ok


@pytest.mark.device
def test_wrong_sudo_password_touches_nothing(nsdev: NsDevice) -> None:
    before = nsdev.snapshot(*ROOTS, "/var/backups")
    with connect(nsdev, "edgeadmin", sudo_password="not-the-password") as target, \
            pytest.raises(AuthError) as info:
        read_device_state(target, None)
    assert "not-the-password" not in str(info.value) + info.value.hint
    assert info.value.exit_code == 2
    assert nsdev.snapshot(*ROOTS, "/var/backups") == before


@pytest.mark.device
@pytest.mark.parametrize("nsdev", ["1.5.21", "1.1.16"], indirect=True)
def test_apply_failure_restores_byte_for_byte(nsdev: NsDevice) -> None:
    with connect(nsdev) as target:
        deploy(make_plan(target, make_chain("old.ca")), target)
        before = nsdev.snapshot(*ROOTS)
        plan = make_plan(target, make_chain("new.ca"))
        nsdev.sh("echo new.ca > /etc/edgecert-standin/fail-apply")
        with pytest.raises(DeployFailedError) as info:
            deploy(plan, target)
        assert "stand-in knob" in info.value.failure
        assert info.value.rollback is not None and info.value.rollback.reapplied
    # files, config, modes and owners exactly as before, and the old chain applied again
    assert nsdev.snapshot(*ROOTS) == before
    log = nsdev.read("/etc/edgecert-standin/applied.log").decode().split()
    assert len(log) == 2  # the first deploy, then the re-apply after the restore


@pytest.mark.device
def test_drift_is_refused_and_nothing_touched(nsdev: NsDevice) -> None:
    with connect(nsdev) as target:
        plan = make_plan(target, make_chain())
        nsdev.sh("echo '# edited by hand' >> /etc/aziot/config.toml")
        before = nsdev.snapshot(*ROOTS, "/var/backups")
        with pytest.raises(DriftError):
            deploy(plan, target)
    assert nsdev.snapshot(*ROOTS, "/var/backups") == before


@pytest.mark.device
def test_disk_full_on_the_device(nsdev: NsDevice) -> None:
    nsdev.sh("install -d -m 755 /var/aziot /var/aziot/certs && "
              "mount -t tmpfs -o size=8k,mode=0755 tmpfs /var/aziot/certs && "
              "head -c 6000 /dev/zero > /var/aziot/certs/filler")
    before = nsdev.snapshot(*ROOTS)
    big = make_chain()
    big = Chain(big.edge_ca_full_chain * 3, big.edge_ca_key, big.root)
    with connect(nsdev) as target, pytest.raises(DeployError) as info:
        deploy(make_plan(target, big), target)
    assert isinstance(info.value, DeployFailedError)
    assert nsdev.snapshot(*ROOTS) == before


@pytest.mark.device
@pytest.mark.parametrize("nsdev", ["1.5.21", "1.1.16"], indirect=True)
def test_bundle_install_sh_equals_deploy(nsdev: NsDevice, tmp_path: Path) -> None:
    chain = make_chain()
    with connect(nsdev) as target:
        plan = make_plan(target, chain)
    # the same plan on a second, identical device, through deploy
    with ns_device(nsdev.version) as twin, connect(twin) as t2:
        deploy(plan, t2)
        expected = twin.snapshot(*ROOTS)
    rep = export_bundle(plan, tmp_path / "bundle")
    with connect(nsdev) as target:
        stage = target.run(["mktemp", "-d"]).stdout.strip()
        for name in rep.names:
            target.put((tmp_path / "bundle" / name).read_bytes(), f"{stage}/{name}")
        res = target.run(["sh", f"{stage}/install.sh"], sudo=True, check=False)
    assert res.exit_status == 0, res.stdout + res.stderr
    assert "check\tcerts-match-private-keys\tok" in res.stdout or nsdev.version.startswith("1.1")
    assert nsdev.snapshot(*ROOTS) == expected


@pytest.mark.device
def test_eflow_ssh_fallback_as_iotedge_user(nsdev: NsDevice, tmp_path: Path) -> None:
    standin = PowerShellStandIn(vm=LocalTarget(), host_dir=tmp_path, module_installed=False)
    target = connect_eflow(runner=standin, host=nsdev.host, id_rsa=nsdev.key,
                           ssh_connect=SshTarget.connect, port=nsdev.port,
                           known_hosts=[nsdev.known_hosts], use_agent=False,
                           accept_fingerprint=nsdev.fingerprint)
    try:
        assert isinstance(target, SshTarget) and target.user == "iotedge-user"
        rep = deploy(make_plan(target, make_chain()), target)
    finally:
        target.close()
    assert rep.outcome == "deployed"
    # nothing left owned by iotedge-user outside its home
    assert nsdev.sh("find /var/aziot /etc/aziot -user iotedge-user").stdout == ""


def test_no_host_file_was_touched() -> None:
    assert not Path("/etc/aziot").exists() and not Path("/var/aziot").exists()
    assert subprocess.run(["id", "aziotcs"], capture_output=True, check=False).returncode != 0


def _cli_target(dev: NsDevice, user: str = "edgeops") -> list[str]:
    return ["--host", dev.host, "--port", str(dev.port), "--user", user,
            "--identity", str(dev.key), "--known-hosts", str(dev.known_hosts),
            "--accept-host-key", dev.fingerprint]


@pytest.mark.device
def test_cli_deploy_dry_run_then_deploy_then_status(nsdev: NsDevice, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from core.cli import main

    cert, key, root = make_chain().write(tmp_path / "chain")
    files = ["--edge-ca-cert", str(cert), "--edge-ca-key", str(key), "--trust-bundle", str(root)]
    before = nsdev.snapshot(*ROOTS, "/var/backups")
    assert main(["deploy", *_cli_target(nsdev), "--iotedge", "auto", *files,
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "IoT Edge 1.5.21" in out and "+[edge_ca]" in out and "c2VjcmV0a2V5" not in out
    assert nsdev.snapshot(*ROOTS, "/var/backups") == before
    # with the sudo password on stdin (never on a command line)
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    assert main(["deploy", *_cli_target(nsdev, "edgeadmin"), "--password-stdin",
                 "--iotedge", "auto", *files, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "deployed to edgeadmin@" in out and "certs-match-private-keys: ok" in out
    assert ADMIN_PASSWORD not in out
    assert main(["device", "status", *_cli_target(nsdev)]) == 0
    out = capsys.readouterr().out
    assert "own edge CA" in out and "days left" in out and "(deployed)" in out


@pytest.mark.device
def test_cli_exit_code_1_when_rolled_back(nsdev: NsDevice, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    cert, key, root = make_chain().write(tmp_path / "chain")
    nsdev.sh("touch /etc/edgecert-standin/fail-apply")
    code = main(["deploy", *_cli_target(nsdev), "--iotedge", "1.5", "--edge-ca-cert", str(cert),
                 "--edge-ca-key", str(key), "--trust-bundle", str(root), "--yes"])
    err = capsys.readouterr().err
    # the re-apply of the old config is refused too (knob without a subject): exit 3, and the
    # message says where the backup and restore.sh are
    assert code == 3
    assert "ROLLBACK INCOMPLETE" in err and "restore.sh" in err and "Traceback" not in err
    nsdev.sh("echo device1.ca > /etc/edgecert-standin/fail-apply")
    code = main(["deploy", *_cli_target(nsdev), "--iotedge", "1.5", "--edge-ca-cert", str(cert),
                 "--edge-ca-key", str(key), "--trust-bundle", str(root), "--yes"])
    assert code == 1
    assert "rolled back from /var/backups/edgecert/" in capsys.readouterr().err


@pytest.mark.device
def test_eflow_cmdlets_stand_in_over_the_device(nsdev: NsDevice, tmp_path: Path) -> None:
    """EFLOW through the strict PowerShell stand-in whose VM is the loopback device."""
    from core.targets.eflow import EflowTarget

    with connect(nsdev, "iotedge-user") as vm:
        standin = PowerShellStandIn(vm=vm, host_dir=tmp_path)
        target = EflowTarget(runner=standin, host_tmp=tmp_path,
                             windows_path=standin.windows_path)
        plan = make_plan(target, make_chain())
        assert plan.config.before is not None and b"connection_string" in plan.config.before
        rep = deploy(plan, target)
    assert rep.outcome == "deployed" and rep.checks_ok
    assert stat(nsdev, "/var/aziot/secrets/edge-ca.key.pem") == "600 aziotks:aziotks"
    assert nsdev.read(plan.config.path) == plan.config.after
    assert not any("Copy-EflowVmFile" in s for s in standin.scripts)  # one archive on stdin
    assert nsdev.sh("find /var/aziot /etc/aziot -user iotedge-user").stdout == ""


@pytest.mark.device
def test_hostname_change_refusal_is_explained(nsdev: NsDevice) -> None:
    # the config already names a new hostname (edited by hand, never applied) and Edge
    # containers exist: the runtime refuses every apply, the old one included
    nsdev.sh("echo olddev > /etc/edgecert-standin/applied-hostname && "
              "touch /etc/edgecert-standin/edge-containers")
    before = nsdev.snapshot(*ROOTS)
    with connect(nsdev) as target, pytest.raises(RollbackFailedError) as info:
        deploy(make_plan(target, make_chain()), target)
    err = info.value
    assert err.exit_code == 3
    assert err.rollback.restored and not err.rollback.reapplied
    assert "sudo iotedge system stop" in err.hint and "files are back" in err.hint
    assert nsdev.snapshot(*ROOTS) == before
