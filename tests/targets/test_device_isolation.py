"""The test device is real and isolated: its accounts and files never reach the machine."""

from __future__ import annotations

import hashlib
import json
import pwd
import subprocess
from pathlib import Path

import pytest
from device.fixtures import Device
from device.layouts import EDGE_CA_CER, EDGE_CA_KEY, MASTER_KEYS

pytestmark = pytest.mark.device  # the loopback sshd device; never skipped in CI


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_machine_files_untouched_by_device(device15: Device) -> None:
    before = {p: _digest(p) for p in ("/etc/passwd", "/etc/group", "/etc/shadow")}
    device15.write("/etc/aziot/marker", b"x")
    device15.sh("useradd -M -N -s /usr/sbin/nologin probeuser")
    assert device15.sh("getent passwd aziotcs probeuser").returncode == 0
    after = {p: _digest(p) for p in before}
    assert before == after
    for user in ("aziotcs", "probeuser"):
        try:
            pwd.getpwnam(user)
            raise AssertionError(f"{user} leaked onto the test machine")
        except KeyError:
            pass
    assert not Path("/etc/aziot/marker").exists()
    assert subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip() \
        != device15.hostname


def test_accounts_as_installed(device: Device) -> None:
    out = device.sh("id aziotcs; id aziotks; id iotedge; hostname").stdout.decode()
    assert "gid=9902(aziotcs)" in out and "9901(aziotks)" in out.splitlines()[0]
    assert out.splitlines()[3] == "edge-device-01"
    assert device.sh("stat -c %a /run/sshd").stdout.strip() == b"755"


def test_layout_15(device15: Device) -> None:
    assert device15.stat("/etc/aziot/config.toml") == (0o600, "root", "root")
    assert device15.stat("/etc/aziot/config.toml.edge.template")[0] == 0o600
    assert device15.stat("/var/lib/aziot/certd") == (0o700, "aziotcs", "aziotcs")
    assert device15.stat("/var/lib/aziot/keyd") == (0o700, "aziotks", "aziotks")
    assert device15.exists(f"/var/lib/aziot/certd/certs/{EDGE_CA_CER}")
    assert device15.stat(f"/var/lib/aziot/keyd/keys/{EDGE_CA_KEY}") == (0o600, "aziotks",
                                                                         "aziotks")
    for name in MASTER_KEYS:
        assert device15.exists(f"/var/lib/aziot/keyd/keys/{name}.key")
    assert device15.stat("/etc/aziot/certd/config.d/00-super.toml") == (0o600, "aziotcs",
                                                                       "aziotcs")
    out = device15.sh("iotedge version").stdout.decode()
    assert out == "iotedge 1.5.21 (stand-in)\n"


def test_layout_11(device11: Device) -> None:
    assert b"provisioning:" in device11.read("/etc/iotedge/config.yaml")
    for sub in ("certs", "cert_keys"):
        assert device11.stat(f"/var/lib/iotedge/hsm/{sub}") == (0o700, "iotedge", "iotedge")
    assert device11.sh("iotedge version").stdout.startswith(b"iotedge 1.1.")
    assert not device11.exists("/etc/aziot")


def test_reset_clears_state(device15: Device) -> None:
    device15.write("/home/edgeadmin/stage/file", b"x", owner="edgeadmin")
    device15.reset()
    assert not device15.exists("/etc/aziot")
    assert not device15.exists("/home/edgeadmin/stage")
    assert device15.exists("/home/edgeadmin/.ssh/authorized_keys")


def test_small_fs_fills_up(device: Device) -> None:
    device.mount_small_fs("/var/full", 64)
    res = device.sh("head -c 200000 /dev/zero > /var/full/big", check=False)
    assert res.returncode != 0 and b"No space left" in res.stderr
    device.reset()
    assert device.sh("mountpoint -q /var/full", check=False).returncode != 0


@pytest.mark.parametrize(("fixture", "version"), [("device15", "1.5.21"), ("device14", "1.4.27"),
                                                  ("device12", "1.2.10")])
def test_layouts_12plus_apply_and_check(request: pytest.FixtureRequest, fixture: str,
                                        version: str) -> None:
    dev: Device = request.getfixturevalue(fixture)
    assert dev.sh("iotedge version").stdout.decode() == f"iotedge {version} (stand-in)\n"
    res = dev.sh("iotedge check -o json", check=False)
    checks = json.loads(res.stdout)["checks"]
    assert res.returncode == 0, checks
    assert checks["configs-up-to-date"]["result"] == "ok"
    assert checks["hostname"]["result"] == "ok"
    assert [e["event"] for e in dev.events()] == ["apply", "check"]
