"""On the loopback device: 1.6 detected from `iotedge version`, 1.5 shown as support ended, and
the stand-in runtime's `config apply` giving the runtime's own verdict (rtcfg)."""

from __future__ import annotations

import datetime as dt

import pytest
from device.fixtures import Device
from device.layouts import layout
from rtcfg import assert_runtime_accepts

from core.config.planning import build_plan
from core.config.settings import CertSettings, Quickstart
from core.deploy import deploy, read_device_state
from core.deploy.status import device_status

pytestmark = pytest.mark.device


def test_16_device_detected_without_a_notice(device: Device) -> None:
    layout(device, "1.6.0")
    target = device.connect()
    try:
        state = read_device_state(target, None)
        assert state.version == "1.6.0"
        assert state.release.key == "1.6" and state.release.notice == ""
        text = device_status(target).describe(dt.datetime.now(dt.UTC))
        assert "IoT Edge: 1.6.0 (release 1.6)" in text and "support ended" not in text
        # A whole deploy to it: the written config is what the runtime accepts.
        settings = CertSettings(Quickstart(30))
        plan = build_plan(release=state.release, platform="linux", settings=settings,
                          current_config=state.config,
                          template=state.template)
        report = deploy(plan, target)
        assert report.outcome == "deployed" and report.checks_ok, report.describe()
    finally:
        target.close()
    written = device.read("/etc/aziot/config.toml")
    assert_runtime_accepts(written, "config.toml deployed to the device")
    applies = [e for e in device.events() if e["event"] == "apply"]
    assert applies[-1]["ok"] is True and applies[-1]["variant"] == "quickstart"


def test_15_device_says_support_ended(device: Device) -> None:
    layout(device, "1.5.21")
    target = device.connect()
    try:
        text = device_status(target).describe(dt.datetime.now(dt.UTC))
    finally:
        target.close()
    assert "IoT Edge: 1.5.21 (release 1.5, support ended November 2026)" in text


@pytest.mark.parametrize(("config", "message"), [
    ('[provisioning]\nsource = "DPS"\n', "unknown variant `DPS`"),
    ('cloud_timeout_sec = 10\n[provisioning]\nsource = "none"\n', "at least 70 seconds"),
    ('[provisioning]\nsource = "none"\n[aziot_keys]\nfoo = "bar"\n', "unrecognized value"),
    ('[provisioning]\nsource = "none"\n[edge_ca.auto_renew]\nrotate_key = true\n'
     'threshold = "\u0668\u0660%"\nretry = "4%"\n', "EdgeCa"),
])
def test_standin_apply_gives_the_runtimes_verdict(device: Device, config: str,
                                                  message: str) -> None:
    layout(device, "1.6.0")
    device.write("/etc/aziot/config.toml", config.encode(), mode=0o600)
    res = device.sh("iotedge config apply", check=False)
    assert res.returncode != 0
    assert message in res.stderr.decode() + res.stdout.decode()
    assert device.events()[-1] == {**device.events()[-1], "event": "apply", "ok": False}
