"""The wizard walked by keyboard only against the loopback test device (real sshd, sudo and
the stand-in runtime): launch → demo chain → SSH device → preview → Deploy → Summary → saved
report, with the real modal dialogs answered by keys. Also: cancel during apply, failure then
Retry, Back to fix the cause, and close-and-reopen."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from device.fixtures import Device
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot
from walk_support import Keyboard, Modals, Stopwatch, focused, show, wait_enabled, wait_page

from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

ROOTS = ("/etc/aziot", "/var/aziot", "/var/lib/aziot")


# no known hosts and no remembered inputs: every device is met for the first time
pytestmark = pytest.mark.usefixtures("isolated_home")


def _launch(qtbot: QtBot, state: WizardState) -> SetupWizard:
    return show(qtbot, SetupWizard(state, remember=False))


def _nav(w: SetupWizard, which: str) -> object:
    return w.button(getattr(w.WizardButton, which))


def _to_target(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals) -> None:
    """Version (Alt+N) → chain (wait for the demo chain, Alt+N) → device settings (Alt+N)."""
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    wait_enabled(qtbot, _nav(w, "NextButton"), modals)  # type: ignore[arg-type]
    kb.alt("n")
    wait_page(qtbot, w, PageId.DEVICE, modals)
    wait_enabled(qtbot, _nav(w, "NextButton"), modals)  # type: ignore[arg-type]
    kb.alt("n")
    wait_page(qtbot, w, PageId.TARGET, modals)


def _type_connection(kb: Keyboard, device: Device, user: str) -> None:
    """Host (with its port, as ssh users write it), user and key file, each by its label."""
    account = device.accounts[user]
    kb.alt("h")
    assert isinstance(focused(), QLineEdit) and focused().objectName() == "host"  # type: ignore[union-attr]
    kb.type(f"{device.host}:{device.port}")
    kb.alt("u")
    assert focused().objectName() == "user"  # type: ignore[union-attr]
    kb.type(user)
    kb.alt("k")
    assert focused().objectName() == "keyFile"  # type: ignore[union-attr]
    kb.type(str(account.key))


def _connect(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals) -> None:
    modals.expect_keys("First connection to", "t")  # compare, then trust
    kb.alt("t")
    wait_enabled(qtbot, _nav(w, "NextButton"), modals)  # type: ignore[arg-type]
    assert modals.pending == []


def _deploy(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals) -> None:
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    commit = _nav(w, "CommitButton")
    wait_enabled(qtbot, commit, modals)  # type: ignore[arg-type]
    assert commit.text() == "&Deploy"  # type: ignore[attr-defined]
    kb.alt("d")
    wait_page(qtbot, w, PageId.DEPLOY, modals)


def _save_report(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals) -> Path:
    summary = w.page(PageId.SUMMARY)
    save = summary.save_button  # type: ignore[attr-defined]
    wait_enabled(qtbot, save, modals)
    qtbot.waitUntil(summary.isComplete, timeout=30000)
    modals.expect_keys("Save report", "Enter")  # the suggested name in the output folder
    modals.expect_keys("Report written to", "Enter")
    kb.alt("s")
    qtbot.waitUntil(lambda: modals.pending == [] or modals.unexpected != [], timeout=30000)
    assert modals.unexpected == []
    report = w.state.resolved_output_dir() / f"edgecert-report-{w.state.device_id}.html"
    qtbot.waitUntil(report.exists, timeout=10000)
    return report


def test_demo_chain_ssh_deploy_by_keyboard_to_saved_report(
        qtbot: QtBot, kb: Keyboard, modals: Modals, device15: Device, tmp_path: Path) -> None:
    clock = Stopwatch()
    state = WizardState(output_dir=str(tmp_path / "out"), device_id="edge-device-01-id")
    w = _launch(qtbot, state)
    _to_target(qtbot, w, kb, modals)
    assert focused() is w.page(PageId.TARGET).kinds.checkedButton()  # type: ignore[attr-defined]
    _type_connection(kb, device15, "edgeadmin")
    assert (state.host, state.port) == (device15.host, device15.port)
    _connect(qtbot, w, kb, modals)
    assert "Connected; device state read" in w.page(PageId.TARGET).status.text()  # type: ignore[attr-defined]
    _deploy(qtbot, w, kb, modals)
    deploy = w.page(PageId.DEPLOY)
    next_button = _nav(w, "NextButton")
    wait_enabled(qtbot, next_button, modals, timeout=120000)  # type: ignore[arg-type]
    assert not _nav(w, "FinishButton").isVisible()  # type: ignore[attr-defined]
    assert deploy.ended == "after" and "✔" in deploy.banner.text()  # type: ignore[attr-defined]
    kb.alt("n")
    wait_page(qtbot, w, PageId.SUMMARY, modals)
    report = _save_report(qtbot, w, kb, modals)
    html = report.read_text()
    assert "certs-preloaded" in html and "/var/backups/edgecert" in html
    finish = _nav(w, "FinishButton")
    assert finish.isVisible() and finish.isEnabled()  # type: ignore[attr-defined]
    kb.alt("f")
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    seconds = clock.seconds()
    assert device15.read("/var/aziot/certs/edge-ca.pem") == state.chain.edge_ca_chain_pem
    assert modals.unexpected == []
    figures = {"keys": kb.presses, "typed_characters": kb.typed, "seconds": round(seconds, 1),
               "keys_pressed": kb.log}
    print("keyboard walk:", json.dumps(figures))
    out = os.environ.get("EDGECERT_WALK_FIGURES")
    if out:
        Path(out).write_text(json.dumps(figures, indent=1) + "\n")
    assert kb.presses <= 20, kb.log


def _walk_to_preview(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals,
                     device: Device, *, first_contact: bool = True) -> None:
    _to_target(qtbot, w, kb, modals)
    _type_connection(kb, device, "edgeadmin")
    if first_contact:
        _connect(qtbot, w, kb, modals)
    else:
        kb.alt("t")
        wait_enabled(qtbot, _nav(w, "NextButton"), modals)  # type: ignore[arg-type]
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)


def _cert_rows(preview: object) -> dict[str, tuple[str, str]]:
    tree = preview.certs  # type: ignore[attr-defined]
    rows: dict[str, tuple[str, str]] = {}
    role = ""
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        if item.text(0) not in ("Subject", "Issuer", "SHA-256", "Expires"):
            role = item.text(0)
            rows[role] = (item.text(1), item.text(2))
            continue
        rows.setdefault(f"{role}/{item.text(0)}", (item.text(1), item.text(2)))
    return rows


def test_preview_shows_the_certificates_now_and_after(
        qtbot: QtBot, kb: Keyboard, modals: Modals, device15: Device, tmp_path: Path) -> None:
    """A second run replaces the edge CA the first one installed: the preview shows both,
    side by side, and never says "No change" although config.toml itself stays the same."""
    first = WizardState(output_dir=str(tmp_path / "out1"), device_id="edge-device-01-id")
    w1 = _launch(qtbot, first)
    _walk_to_preview(qtbot, w1, kb, modals, device15)
    _deploy(qtbot, w1, kb, modals)
    wait_enabled(qtbot, _nav(w1, "NextButton"), modals, timeout=120000)  # type: ignore[arg-type]
    old_edge = first.chain.edge_ca
    w1.close()

    second = WizardState(output_dir=str(tmp_path / "out2"), device_id="edge-device-01-id")
    w2 = _launch(qtbot, second)
    _walk_to_preview(qtbot, w2, kb, modals, device15, first_contact=False)
    qtbot.waitUntil(lambda: second.plan is not None, timeout=60000)
    preview = w2.page(PageId.PREVIEW)
    new_edge = second.chain.edge_ca
    rows = _cert_rows(preview)
    assert rows["edge CA (changes)"] == ("/var/aziot/certs/edge-ca.pem",
                                         "/var/aziot/certs/edge-ca.pem")
    assert rows["edge CA (changes)/SHA-256"] == (old_edge.sha256, new_edge.sha256)
    assert rows["edge CA (changes)/Subject"][0].startswith("CN=edge-device-01-id.ca")
    assert "Intermediate" in rows["edge CA (changes)/Issuer"][1]
    assert rows["edge CA (changes)/Expires"][1].startswith(f"{new_edge.not_after:%Y-%m-%d}")
    old_root, new_root = first.chain.rows[0], second.chain.rows[0]
    assert rows["trust bundle (changes)/SHA-256"] == (old_root.sha256, new_root.sha256)
    status = preview.status.text()  # type: ignore[attr-defined]
    assert "unchanged" in status and "edge CA and the trust bundle change" in status
    unified = preview.diff.unified.toPlainText()  # type: ignore[attr-defined]
    assert "No change" not in unified and "replaced" in unified
    assert preview.tabs.currentWidget() is preview.certs  # type: ignore[attr-defined]


def test_unprovisioned_device_is_flagged_on_the_target_page(
        qtbot: QtBot, kb: Keyboard, modals: Modals, device15: Device, tmp_path: Path) -> None:
    device15.write("/etc/aziot/config.toml", b'hostname = "edge-device-01"\n', mode=0o600,
                   owner="root", group="root")
    state = WizardState(output_dir=str(tmp_path / "out"), device_id="edge-device-01-id")
    w = _launch(qtbot, state)
    _to_target(qtbot, w, kb, modals)
    _type_connection(kb, device15, "edgeadmin")
    _connect(qtbot, w, kb, modals)
    target = w.page(PageId.TARGET)
    warning = target.warning.text()  # type: ignore[attr-defined]
    assert "not provisioned" in warning and "iotedge config mp" in warning
    modals.expect_keys("provisioning", "Enter")  # core's error at the preview
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    preview = w.page(PageId.PREVIEW)
    qtbot.waitUntil(lambda: modals.pending == [] and not preview.busy, timeout=60000)  # type: ignore[attr-defined]
    unified = preview.diff.unified.toPlainText()  # type: ignore[attr-defined]
    assert "No change" not in unified and "No plan" in unified
    assert not _nav(w, "CommitButton").isEnabled()  # type: ignore[attr-defined]


def test_preview_waits_for_a_chain_remade_for_the_devices_release(
        qtbot: QtBot, kb: Keyboard, modals: Modals, device15: Device, tmp_path: Path) -> None:
    """Chosen 1.4, the device runs 1.5: the demo chain (RSA-4096, slow) is made again, and
    the preview opened meanwhile plans as soon as it is ready instead of giving up."""
    state = WizardState(output_dir=str(tmp_path / "out"), device_id="edge-device-01-id",
                        release_key="1.4", key_type="rsa-4096")
    w = _launch(qtbot, state)
    _to_target(qtbot, w, kb, modals)
    _type_connection(kb, device15, "edgeadmin")
    _connect(qtbot, w, kb, modals)
    assert state.release_key == "1.5"
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    commit = _nav(w, "CommitButton")
    wait_enabled(qtbot, commit, modals, timeout=120000)  # type: ignore[arg-type]
    assert state.plan is not None and state.chain.release_key == "1.5"
