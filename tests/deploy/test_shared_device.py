"""Deploy against the project's shared loopback device (tests/device: device15 … device11).

The same scenarios as test_device_e2e.py, on the device the whole project tests against:
layouts of fresh 1.5/1.4/1.2/1.1 installs, its accounts and its stand-in runtime.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chains import make_chain
from device.fixtures import Device

from core.config.planning import build_plan, default_paths
from core.config.settings import CertSettings, Preloaded
from core.config.uris import file_uri
from core.deploy import RollbackFailedError, deploy, read_device_state
from core.plan import Plan
from core.targets.base import Target

ROOTS = ("/etc/aziot", "/etc/iotedge", "/var/aziot", "/var/lib/aziot", "/var/lib/iotedge")


def plan_for(target: Target, cn: str = "edge-device-01-ca.ca") -> Plan:
    chain = make_chain(cn)
    state = read_device_state(target, None)
    paths = default_paths(state.release, "linux")
    settings = CertSettings(edge_ca=Preloaded(file_uri(paths.edge_ca_cert),
                                              file_uri(paths.edge_ca_key)),
                            trust_bundle_cert=file_uri(paths.trust_bundle))
    return build_plan(release=state.release, platform="linux", settings=settings,
                      current_config=state.config, edge_ca_cert=chain.edge_ca_full_chain,
                      edge_ca_key=chain.edge_ca_key, trust_bundle=chain.root,
                      template=state.template)


@pytest.mark.device
@pytest.mark.parametrize("layout", ["device15", "device14", "device12", "device11"])
def test_deploy_each_release(layout: str, request: pytest.FixtureRequest) -> None:
    dev: Device = request.getfixturevalue(layout)
    legacy = layout == "device11"
    with dev.connect("edgeadmin") as target:
        plan = plan_for(target)
        rep = deploy(plan, target)
        assert rep.outcome == "deployed" and rep.checks_ok, rep.describe()
        owner_k = "iotedge" if legacy else "aziotks"
        assert dev.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, owner_k, owner_k)
        assert dev.stat("/var/aziot") == (0o755, "root", "root")
        assert dev.read(plan.config.path) == plan.config.after
        first = dev.snapshot(*ROOTS)
        again = deploy(plan_for_same(target, plan), target)
    assert again.outcome == "already-deployed"
    assert dev.snapshot(*ROOTS) == first


def plan_for_same(target: Target, plan: Plan) -> Plan:
    """The same files, planned again from the device as it is now."""
    state = read_device_state(target, None)
    files = {f.role: f.data for f in plan.files}
    paths = default_paths(state.release, "linux")
    settings = CertSettings(edge_ca=Preloaded(file_uri(paths.edge_ca_cert),
                                              file_uri(paths.edge_ca_key)),
                            trust_bundle_cert=file_uri(paths.trust_bundle))
    return build_plan(release=state.release, platform="linux", settings=settings,
                      current_config=state.config, edge_ca_cert=files["edge-ca-cert"],
                      edge_ca_key=files["edge-ca-key"], trust_bundle=files["trust-bundle"],
                      template=state.template)


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
