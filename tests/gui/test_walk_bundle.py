"""The export bundle walked by keyboard: demo chain → Export a bundle with the device's config
copy → preview → Export → Summary → saved report. The page marks only what happened (files
written, nothing applied), speaks of exporting, and never shows the bundle's internal names."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot
from walk_support import Keyboard, Modals, focused, show, wait_enabled, wait_page

from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"


def _launch(qtbot: QtBot, state: WizardState) -> SetupWizard:
    return show(qtbot, SetupWizard(state, remember=False))


def _to_bundle_target(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals,
                      copy: Path) -> None:
    nxt = w.button(w.WizardButton.NextButton)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    wait_enabled(qtbot, nxt, modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.DEVICE, modals)
    wait_enabled(qtbot, nxt, modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.TARGET, modals)
    kb.alt("x")  # a mnemonic clicks after the button's short press animation
    qtbot.waitUntil(lambda: w.state.target_kind == "bundle", timeout=2000)
    kb.alt("i")
    assert focused().objectName() == "configCopy"  # type: ignore[union-attr]
    kb.type(str(copy))
    kb.tab()  # leaving the field reads the copy


def test_bundle_by_keyboard_to_saved_report(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = WizardState(output_dir=str(out))
    w = _launch(qtbot, state)
    _to_bundle_target(qtbot, w, kb, modals, FIXTURES / "dps-x509.toml")
    target = w.page(PageId.TARGET)
    nxt = w.button(w.WizardButton.NextButton)
    wait_enabled(qtbot, nxt, modals)
    status = target.status.text()  # type: ignore[attr-defined]
    assert "Connected" not in status and "no device is contacted" in status
    assert target.warning.text() == ""  # type: ignore[attr-defined]
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    commit = w.button(w.WizardButton.CommitButton)
    wait_enabled(qtbot, commit, modals)
    assert commit.text() == "&Export bundle"
    kb.alt("e")
    wait_page(qtbot, w, PageId.DEPLOY, modals)
    wait_enabled(qtbot, nxt, modals)
    deploy = w.page(PageId.DEPLOY)
    statuses = {deploy.checklist.status(r.key) for r in deploy.checklist.rows}  # type: ignore[attr-defined]
    assert statuses == {"written", "not applied (install.sh on the device)"}
    assert "done" not in statuses
    head = f"{deploy.title()} {deploy.subTitle()}"
    assert "Cancel is safe" not in head and "Deploy" not in head
    log = deploy.log.toPlainText()  # type: ignore[attr-defined]
    for internal in ("lib.sh", "f1", "f2"):
        assert internal not in log, log
    banner = deploy.banner.text()  # type: ignore[attr-defined]
    assert "Nothing was applied" in banner and "deployed" not in banner.lower()
    bundle = out / "bundle"
    assert (bundle / "install.sh").exists()
    kb.alt("n")
    wait_page(qtbot, w, PageId.SUMMARY, modals)
    summary = w.page(PageId.SUMMARY)
    qtbot.waitUntil(summary.isComplete, timeout=30000)
    modals.expect_keys("Save report", "Enter")
    modals.expect_keys("Report written to", "Enter")
    kb.alt("s")
    qtbot.waitUntil(lambda: modals.pending == [] or modals.unexpected != [], timeout=30000)
    assert modals.unexpected == []
    html = (out / f"edgecert-report-{state.device_id}.html").read_text()
    assert "install.sh" in html
    kb.alt("f")
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)


def test_unprovisioned_config_copy_asks_for_the_devices_config(
        qtbot: QtBot, kb: Keyboard, modals: Modals, tmp_path: Path) -> None:
    copy = tmp_path / "config.toml"
    copy.write_text('hostname = "edge-device-01"\n')
    state = WizardState(output_dir=str(tmp_path / "out"))
    w = _launch(qtbot, state)
    _to_bundle_target(qtbot, w, kb, modals, copy)
    target = w.page(PageId.TARGET)
    qtbot.waitUntil(lambda: state.device_state is not None, timeout=10000)
    warning = target.warning.text()  # type: ignore[attr-defined]
    assert "not provisioned" in warning and "Give the device's config.toml" in warning
    assert "Provision it first" not in warning
