"""The wizard's backend runs the same pre-flight: its preview refuses the wrong files, shows the
warnings, and its deploy/export call refuses a plan whose files fail the check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from badfiles import case_files

from core.errors import PreflightError
from core.plan import InstallFile
from gui.backend.chain import ChainOutcome, ChainRequest, import_files
from gui.backend.deploy import deploy as gui_deploy
from gui.backend.plan import PlanRequest, Preview, make_preview, preview_warnings
from gui.backend.settings import SettingsRequest
from gui.backend.target import ConfigCopy, TargetRequest, read_config_copy

CONFIG = (b'hostname = "edge-device-01"\n\n[provisioning]\nsource = "manual"\n'
          b'connection_string = "HostName=h.azure-devices.net;DeviceId=d;'
          b'SharedAccessKey=c2VjcmV0"\n')
SETTINGS = SettingsRequest(release_key="1.5", method="files", cert_dir="", key_dir="",
                           quickstart_days=90, auto_renew=False, threshold="80%", retry="4%",
                           est_url="", est_username="", pkcs11_uri="", pkcs11_lib_path="")


def dropped(case: str, folder: Path, **kw: float) -> ChainOutcome:
    """The chain page's import of the case's three files (in any order)."""
    case_files(case, folder, **kw)
    req = ChainRequest(mode="import", device_id="edge-device-01", key_type="ec-p256",
                       release_key="1.5", out_dir=folder,
                       import_files=tuple(str(folder / n) for n in
                                          ("root.pem", "edge-ca.key.pem", "edge-ca.pem")))
    return import_files(req)


def request(chain: ChainOutcome, tmp_path: Path) -> PlanRequest:
    (tmp_path / "config.toml").write_bytes(CONFIG)
    copy: ConfigCopy = read_config_copy(str(tmp_path / "config.toml"), "1.5")
    return PlanRequest(release_key="1.5", platform="linux", chain=chain, settings=SETTINGS,
                       device=copy, target_kind="bundle")


def bundle_target(folder: Path) -> TargetRequest:
    return TargetRequest(kind="bundle", host="", port=22, user="", key_file="",
                         use_password=False, bundle_dir=str(folder), accepted_host_key="",
                         release_key="1.5", platform="linux")


@pytest.mark.parametrize(("case", "code"), [
    ("expired", "expired"), ("ca-false", "not-ca"), ("mismatched-key", "key-mismatch"),
    ("weak-key", "weak-key")])
def test_preview_refuses_the_wrong_files(case: str, code: str, tmp_path: Path) -> None:
    chain = dropped(case, tmp_path / "in")
    with pytest.raises(PreflightError) as info:
        make_preview(request(chain, tmp_path))
    assert code in str(info.value) and info.value.exit_code == 2


def test_preview_shows_the_preflight_warnings(tmp_path: Path) -> None:
    preview = make_preview(request(dropped("good", tmp_path / "in", edge_days=20), tmp_path))
    assert any("expires in" in w and "at least 30 days" in w for w in preview_warnings(preview))


def test_deploy_call_refuses_a_plan_that_fails_the_preflight(tmp_path: Path) -> None:
    good = make_preview(request(dropped("good", tmp_path / "in"), tmp_path))
    plan = good.plan
    key = next(f for f in plan.files if f.role == "edge-ca-key")
    files = tuple(InstallFile(f.path, key.data, f.mode, f.owner, f.group, f.role)
                  if f.role == "trust-bundle" else f for f in plan.files)
    bad = dataclasses.replace(good, plan=dataclasses.replace(plan, files=files))
    assert isinstance(bad, Preview)
    with pytest.raises(PreflightError, match="private-key-in-trust-bundle"):
        gui_deploy(bundle_target(tmp_path / "bad"), bad)
    assert not (tmp_path / "bad").exists()
    report = gui_deploy(bundle_target(tmp_path / "good"), good)
    assert (tmp_path / "good" / "install.sh").exists() and report.names
