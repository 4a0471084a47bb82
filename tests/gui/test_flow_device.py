"""Whole wizard runs against the loopback test device (real sshd, sudo, stand-in runtime):
demo chain → device settings → target (host key confirmed) → preview → deploy → summary,
for an SSH device (passwordless and password sudo), the EFLOW VM (SSH as iotedge-user) and
1.1; and an apply the runtime keeps refusing, shown with what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from device.fixtures import Device
from device.layouts import CONNECTION_STRING
from guitest_support import DialogLog
from pytestqt.qtbot import QtBot

from gui.pages.base import Page
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

_KEEP: list[SetupWizard] = []
ROOTS = ("/etc/aziot", "/var/aziot", "/var/lib/aziot", "/etc/iotedge", "/var/lib/iotedge")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No known hosts yet: every run meets the device for the first time."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield
    _KEEP.clear()


def _next(qtbot: QtBot, w: SetupWizard, expected: PageId, dialog_log: DialogLog) -> Page:
    page = w.currentPage()
    assert isinstance(page, Page)
    qtbot.waitUntil(lambda: page.isComplete() or dialog_log.errors != [], timeout=60000)
    assert dialog_log.errors == [], dialog_log.errors
    w.next()
    assert w.currentId() == expected
    current = w.currentPage()
    assert isinstance(current, Page)
    return current


def _run(qtbot: QtBot, dialog_log: DialogLog, state: WizardState) -> tuple[SetupWizard, Page]:
    """Walk from the first page to the deploy page; returns the deploy page once it ended."""
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    _KEEP.append(w)
    w.show()
    chain = _next(qtbot, w, PageId.CHAIN, dialog_log)
    qtbot.waitUntil(lambda: state.chain is not None or dialog_log.errors != [], timeout=60000)
    _next(qtbot, w, PageId.DEVICE, dialog_log)
    target = _next(qtbot, w, PageId.TARGET, dialog_log)
    assert chain is not None
    target.test_button.click()  # type: ignore[attr-defined]
    preview = _next(qtbot, w, PageId.PREVIEW, dialog_log)
    qtbot.waitUntil(lambda: state.plan is not None or dialog_log.errors != [], timeout=60000)
    assert dialog_log.errors == []
    assert preview.isComplete()
    deploy = _next(qtbot, w, PageId.DEPLOY, dialog_log)
    qtbot.waitUntil(lambda: deploy.outcome != "", timeout=120000)  # type: ignore[attr-defined]
    return w, deploy


def _state(device: Device, tmp_path: Path, user: str, **kw: object) -> WizardState:
    account = device.accounts[user]
    values: dict[str, object] = {
        "release_key": "1.5", "device_id": "edge-device-01-id", "key_type": "ec-p256",
        "output_dir": str(tmp_path / "out"), "target_kind": "ssh", "host": device.host,
        "port": device.port, "user": user, "key_file": str(account.key)}
    values.update(kw)
    return WizardState(**values)  # type: ignore[arg-type]


def test_ssh_device_demo_chain_to_summary(qtbot: QtBot, dialog_log: DialogLog,
                                          device15: Device, tmp_path: Path) -> None:
    state = _state(device15, tmp_path, "edgeadmin")
    w, deploy = _run(qtbot, dialog_log, state)
    assert deploy.outcome == "done", dialog_log.errors  # type: ignore[attr-defined]
    # the technician confirmed the device's real host key, once
    assert [fp for _h, _t, fp in dialog_log.host_keys] == [device15.fingerprint()]
    preview = w.page(PageId.PREVIEW)
    unified = preview.diff.unified.toPlainText()  # type: ignore[attr-defined]
    assert 'cert = "file:///var/aziot/certs/edge-ca.pem"' in unified
    # the connection string is context of the first hunk: shown, with its key redacted
    sas_key = CONNECTION_STRING.split("SharedAccessKey=")[1]
    redacted = CONNECTION_STRING.replace(sas_key, "<redacted>")
    assert f' connection_string = "{redacted}"' in unified.splitlines()
    assert sas_key not in unified
    side = preview.diff.left.toPlainText()  # type: ignore[attr-defined]
    assert f'connection_string = "{redacted}"' in side.splitlines()
    assert sas_key not in side
    # installed with the right owners and modes
    assert device15.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")
    assert device15.stat("/var/aziot/certs/edge-ca.pem")[1:] == ("aziotcs", "aziotcs")
    assert device15.read("/var/aziot/certs/edge-ca.pem") == state.chain.edge_ca_chain_pem
    applies = [e for e in device15.events() if e["event"] == "apply"]
    assert applies and applies[-1]["ok"] is True and applies[-1]["variant"] == "preloaded"
    summary = _next(qtbot, w, PageId.SUMMARY, dialog_log)
    qtbot.waitUntil(summary.isComplete, timeout=30000)
    results = {summary.checks.topLevelItem(i).text(1):  # type: ignore[attr-defined]
               summary.checks.topLevelItem(i).text(0)  # type: ignore[attr-defined]
               for i in range(summary.checks.topLevelItemCount())}  # type: ignore
    assert "certs-preloaded" in results and "ok" in results["certs-preloaded"]
    facts = summary.facts.text()  # type: ignore[attr-defined]
    assert "/var/backups/edgecert" in facts and "Edge CA expires" in facts


def test_password_login_and_sudo_password_never_shown(qtbot: QtBot, dialog_log: DialogLog,
                                               device15: Device, tmp_path: Path) -> None:
    account = device15.accounts["pwadmin"]
    assert account.password
    # password login (no key) and the same password for sudo
    state = _state(device15, tmp_path, "pwadmin", sudo_password=account.password,
                   use_password=True, ssh_password=account.password, key_file="")
    _w, deploy = _run(qtbot, dialog_log, state)
    assert deploy.outcome == "done", dialog_log.errors  # type: ignore[attr-defined]
    log = deploy.log.toPlainText()  # type: ignore[attr-defined]
    assert account.password not in log and account.password not in repr(state)
    assert device15.exists("/var/aziot/secrets/edge-ca.key.pem")


def test_eflow_vm_over_ssh_as_iotedge_user(qtbot: QtBot, dialog_log: DialogLog,
                                           device15: Device, tmp_path: Path) -> None:
    state = _state(device15, tmp_path, "iotedge-user", platform="eflow", target_kind="eflow")
    _w, deploy = _run(qtbot, dialog_log, state)
    assert deploy.outcome == "done", dialog_log.errors  # type: ignore[attr-defined]
    assert device15.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")


def test_release_11_device(qtbot: QtBot, dialog_log: DialogLog, device11: Device,
                           tmp_path: Path) -> None:
    state = _state(device11, tmp_path, "edgeadmin", release_key="1.1")
    _w, deploy = _run(qtbot, dialog_log, state)
    assert deploy.outcome == "done", dialog_log.errors  # type: ignore[attr-defined]
    assert b"device_ca_cert" in device11.read("/etc/iotedge/config.yaml")
    restarts = [e for e in device11.events() if e["event"] == "restart"]
    assert restarts and restarts[-1]["ok"] is True and restarts[-1]["quickstart"] is False
    assert state.chain.rows[-1].role == "Device CA"


def test_apply_that_keeps_failing_is_shown_with_what_to_do(
        qtbot: QtBot, dialog_log: DialogLog, device15: Device, tmp_path: Path) -> None:
    """The runtime refuses every apply, so the files are put back but the old configuration
    cannot be applied again either: the page says so and names restore.sh."""
    before = device15.snapshot(*ROOTS)
    device15.fail_next_apply("stand-in: refused for the test")
    state = _state(device15, tmp_path, "edgeadmin")
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    _KEEP.append(w)
    w.show()
    # the same walk as _run, but the deploy error is expected
    for expected in (PageId.CHAIN, PageId.DEVICE, PageId.TARGET):
        _next(qtbot, w, expected, dialog_log)
    w.page(PageId.TARGET).test_button.click()  # type: ignore[attr-defined]
    _next(qtbot, w, PageId.PREVIEW, dialog_log)
    qtbot.waitUntil(lambda: state.plan is not None, timeout=60000)
    deploy = _next(qtbot, w, PageId.DEPLOY, dialog_log)
    qtbot.waitUntil(lambda: deploy.outcome != "", timeout=120000)  # type: ignore[attr-defined]
    assert deploy.outcome == "rollback failed"  # type: ignore[attr-defined]
    banner = deploy.banner.text()  # type: ignore[attr-defined]
    assert "refused for the test" in banner and "restore.sh" in banner
    assert [type(e).__name__ for e in dialog_log.errors] == ["RollbackFailedError"]
    device15.fail_apply_off()
    after = device15.snapshot(*ROOTS)
    assert {k: v for k, v in after.items() if not k.startswith("/var/backups")} == before


def test_version_detected_on_the_device_rechecks_the_chain(
        qtbot: QtBot, dialog_log: DialogLog, device11: Device, tmp_path: Path) -> None:
    """Chosen 1.5 on page 1, but the device runs 1.1: the wizard switches and remakes the demo
    chain for 1.1's rules (a device CA without pathlen) before the preview."""
    state = _state(device11, tmp_path, "edgeadmin", release_key="1.5")
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    _KEEP.append(w)
    w.show()
    for expected in (PageId.CHAIN, PageId.DEVICE, PageId.TARGET):
        _next(qtbot, w, expected, dialog_log)
    assert state.chain.rows[-1].pathlen == 0
    w.page(PageId.TARGET).test_button.click()  # type: ignore[attr-defined]
    chain_page = w.page(PageId.CHAIN)
    qtbot.waitUntil(lambda: state.release_key == "1.1", timeout=30000)
    assert "1.1" in w.page(PageId.TARGET).status.text()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not chain_page.busy and state.chain is not None, timeout=60000)
    assert state.chain.rows[-1].role == "Device CA" and state.chain.rows[-1].pathlen is None
    preview = _next(qtbot, w, PageId.PREVIEW, dialog_log)
    qtbot.waitUntil(lambda: state.plan is not None or dialog_log.errors != [], timeout=60000)
    assert dialog_log.errors == []
    assert state.plan.plan.config.path == "/etc/iotedge/config.yaml"
    assert preview.isComplete()
