"""The installed ``edgecert deploy`` against the loopback device: every wrong-file class and
every bad device path is refused with exit 2 and the device is byte for byte as before; the
files the pre-flight accepts (reordered chain, encrypted key with its password, PFX and DER)
are deployed and the strict stand-in runtime applies them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from badfiles import ACCEPTED, REFUSED, case_files
from device.fixtures import Device

from core.chain.load import load_bytes
from core.chain.order import key_matches

EDGECERT = str(Path(sys.executable).with_name("edgecert"))
WATCHED = ("/etc/aziot", "/etc/iotedge", "/var/aziot", "/var/lib/aziot", "/var/lib/iotedge",
           "/var/backups", "/var/edge-certs", "/tmp")


def run_deploy(dev: Device, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    account = dev.accounts["edgeadmin"]
    return subprocess.run(
        [EDGECERT, "deploy", "--host", dev.host, "--port", str(dev.port), "--user", "edgeadmin",
         "--identity", str(account.key), "--known-hosts", str(dev.known_hosts), *args],
        capture_output=True, text=True, input=stdin, timeout=180, check=False)


def applied(dev: Device) -> list[object]:
    return [e for e in dev.events() if "apply" in str(e)]


@pytest.mark.device
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_deploy_refuses_wrong_files_and_touches_nothing(case: str, device15: Device,
                                                        tmp_path: Path) -> None:
    before, events = device15.snapshot(*WATCHED), applied(device15)
    res = run_deploy(device15, "--iotedge", "auto", "--yes",
                     *case_files(case, tmp_path / "in"))
    assert res.returncode == 2, res.stdout + res.stderr
    assert REFUSED[case] in res.stderr and "hint:" in res.stderr
    assert "Traceback" not in res.stderr
    assert device15.snapshot(*WATCHED) == before
    assert applied(device15) == events


@pytest.mark.device
@pytest.mark.parametrize("case", ACCEPTED)
def test_deploy_installs_what_the_preflight_accepts(case: str, device15: Device,
                                                    tmp_path: Path) -> None:
    events = applied(device15)
    res = run_deploy(device15, "--iotedge", "auto", "--yes",
                     *case_files(case, tmp_path / "in"))
    assert res.returncode == 0, res.stdout + res.stderr
    chain = load_bytes(device15.read("/var/aziot/certs/edge-ca.pem"), where="edge")
    key = load_bytes(device15.read("/var/aziot/secrets/edge-ca.key.pem"), where="key")
    assert [c.subject.rfc4514_string() for c in chain.certs] == [
        "CN=edge-device-01.ca", "CN=Pre-flight Test Root"]
    assert key_matches(key.keys[0], chain.certs[0])
    assert device15.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")
    assert device15.stat("/var/aziot/certs/trust-bundle.pem") == (0o644, "aziotcs", "aziotcs")
    assert b"PRIVATE KEY" not in device15.read("/var/aziot/certs/trust-bundle.pem")
    assert len(applied(device15)) == len(events) + 1
    if case == "wrong-order":
        assert "not in chain order" in res.stderr


@pytest.mark.device
def test_expiring_edge_ca_needs_yes_on_deploy(device15: Device, tmp_path: Path) -> None:
    files = case_files("good", tmp_path / "in", edge_days=20)
    before, events = device15.snapshot(*WATCHED), applied(device15)
    res = run_deploy(device15, "--iotedge", "auto", *files)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "expires-soon" in res.stderr and "despite 1 pre-flight warning" in res.stderr
    assert device15.snapshot(*WATCHED) == before and applied(device15) == events
    res = run_deploy(device15, "--iotedge", "auto", "--yes", *files)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "expires-soon" in res.stderr
    assert len(applied(device15)) == len(events) + 1


@pytest.mark.device
def test_named_release_other_than_the_device_is_refused(device15: Device, tmp_path: Path
                                                        ) -> None:
    before, events = device15.snapshot(*WATCHED), applied(device15)
    res = run_deploy(device15, "--iotedge", "1.4", "--yes", *case_files("good", tmp_path))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "the device reports IoT Edge 1.5" in res.stderr and "--iotedge 1.5" in res.stderr
    assert device15.snapshot(*WATCHED) == before and applied(device15) == events


BAD_FOLDERS = ("/var/aziot/certs/../../../etc", "var/aziot/certs", "/var/edge\ncerts",
               "/var/edge\tcerts", "/var/edge\x1bcerts", "/etc",
               "/usr", "/var", "/", "/var/lib/aziot/keyd")


@pytest.mark.device
@pytest.mark.parametrize("folder", BAD_FOLDERS)
def test_bad_device_folders_are_refused_before_connecting(folder: str, device15: Device,
                                                          tmp_path: Path) -> None:
    before, events = device15.snapshot(*WATCHED), applied(device15)
    res = run_deploy(device15, "--iotedge", "auto", "--yes", "--device-folder", folder,
                     *case_files("good", tmp_path))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "hint:" in res.stderr and "Traceback" not in res.stderr
    assert device15.snapshot(*WATCHED) == before and applied(device15) == events


@pytest.mark.device
def test_a_named_device_folder_is_deployed(device15: Device, tmp_path: Path) -> None:
    res = run_deploy(device15, "--iotedge", "auto", "--yes", "--device-folder",
                     "/var/edge-certs", *case_files("good", tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert device15.stat("/var/edge-certs/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")
    assert b'pk = "file:///var/edge-certs/edge-ca.key.pem"' in device15.read(
        "/etc/aziot/config.toml")
    assert not device15.exists("/var/aziot/certs/edge-ca.pem")
