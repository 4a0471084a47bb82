"""The Windows (1.1 Windows containers) deploy path, run here with local temporary paths."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from certs import make_chain

from core.deploy import DeployFailedError, deploy
from core.errors import DriftError, UsageError
from core.plan import ClearState, Command, ConfigChange, EnsureDir, InstallFile, Plan
from core.targets.local import LocalTarget

PY = sys.executable
APPLY = ("import pathlib,sys; p=pathlib.Path(sys.argv[1]); "
         "sys.exit(3 if b'fail' in p.read_bytes() else 0)")
CHECK = ("print('{\"checks\": {\"config-yaml-well-formed\": {\"result\": \"ok\"}}}')")
DEVICE_CA = make_chain("windows-device.ca").edge_ca_full_chain
"""A real 1.1 device CA chain: deploy checks the plan's files before touching anything."""


def windows_plan(root: Path, before: bytes | None, after: bytes) -> Plan:
    cfg = root / "iotedge" / "config.yaml"
    return Plan(
        release="1.1", platform="windows",
        dirs=(EnsureDir(str(root / "iotedge/certs"), 0o755, "Administrators", "Administrators"),),
        files=(InstallFile(str(root / "iotedge/certs/device-ca.pem"), DEVICE_CA, 0o644,
                           "Administrators", "Administrators", "edge-ca-cert"),),
        config=ConfigChange(str(cfg), before, after, owner="Administrators",
                            group="Administrators"),
        clear=ClearState(dir_contents=(str(root / "iotedge/hsm/certs"),)),
        apply=(Command((PY, "-c", APPLY, str(cfg)), False, "Restart-Service iotedge"),),
        check=(Command((PY, "-c", CHECK), False, "check"),),
        check_ids=("config-yaml-well-formed",),
    )


@pytest.fixture
def host(tmp_path: Path) -> Path:
    (tmp_path / "iotedge/hsm/certs").mkdir(parents=True)
    (tmp_path / "iotedge/hsm/certs/device_ca_alias.cert.pem").write_bytes(b"old")
    (tmp_path / "iotedge/config.yaml").write_bytes(b"hostname: x\n")
    return tmp_path


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and "backups" not in p.parts}


def test_windows_deploy_backup_install_apply(host: Path) -> None:
    plan = windows_plan(host, b"hostname: x\n", b"hostname: x\ncertificates: {}\n")
    rep = deploy(plan, LocalTarget(), backup_root=str(host / "backups"))
    assert rep.outcome == "deployed" and rep.checks_ok
    assert (host / "iotedge/certs/device-ca.pem").read_bytes() == DEVICE_CA
    assert (host / "iotedge/config.yaml").read_bytes() == plan.config.after
    assert list((host / "iotedge/hsm/certs").iterdir()) == []
    assert rep.backup_dir and (Path(rep.backup_dir) / "status").read_text() == "deployed\n"
    again = windows_plan(host, plan.config.after, plan.config.after)
    assert deploy(again, LocalTarget(), backup_root=str(host / "backups")).outcome == \
        "already-deployed"


def test_windows_apply_failure_restores(host: Path) -> None:
    before = tree(host)
    plan = windows_plan(host, b"hostname: x\n", b"hostname: x\n# fail\n")
    with pytest.raises(DeployFailedError) as info:
        deploy(plan, LocalTarget(), backup_root=str(host / "backups"))
    assert info.value.rollback is not None and info.value.rollback.reapplied
    assert tree(host) == before
    assert not (host / "iotedge/certs/device-ca.pem").exists()


def test_windows_drift_and_remote_target_refused(host: Path) -> None:
    before = tree(host)
    with pytest.raises(DriftError):
        deploy(windows_plan(host, b"other\n", b"x\n"), LocalTarget(),
               backup_root=str(host / "backups"))
    assert tree(host) == before

    with pytest.raises(UsageError):
        deploy(windows_plan(host, b"hostname: x\n", b"x\n"), object(),  # type: ignore[arg-type]
               backup_root=str(host / "backups"))
