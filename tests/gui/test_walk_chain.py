"""The chain page by keyboard: one demo chain per run, reused on Back/Next and mode changes,
replaced (old folder removed) when an input it depends on changes; no empty-password PFX;
the busy bar is not a frozen "0%"; Stop during generation; import list keys."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from walk_support import Keyboard, Modals, focused, show, wait_enabled, wait_page

from gui.state import WizardState
from gui.wizard import PageId, SetupWizard


def _launch(qtbot: QtBot, state: WizardState) -> SetupWizard:
    return show(qtbot, SetupWizard(state, remember=False))


def _demo_folders(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("demo-chain-*") if p.is_dir())


def test_demo_chain_is_made_once_and_replaced_only_when_needed(
        qtbot: QtBot, kb: Keyboard, modals: Modals, tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = WizardState(output_dir=str(out))
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    chain_page = w.page(PageId.CHAIN)
    assert focused() is chain_page.modes.checkedButton()  # type: ignore[attr-defined]
    next_button = w.button(w.WizardButton.NextButton)
    wait_enabled(qtbot, next_button, modals)
    first = state.chain
    [folder] = _demo_folders(out)
    assert not list(folder.rglob("*.pfx")), "a PFX without a password the user gave"
    # Back and Next again: the same chain, no new folder
    kb.alt("b")
    wait_page(qtbot, w, PageId.VERSION, modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    wait_enabled(qtbot, next_button, modals)
    assert state.chain is first and _demo_folders(out) == [folder]
    # Import mode and back to the demo: still the same chain
    kb.alt("p")
    qtbot.waitUntil(lambda: state.chain_mode == "import")
    kb.alt("o")
    qtbot.waitUntil(lambda: state.chain_mode == "demo" and state.chain is not None)
    assert state.chain is first and _demo_folders(out) == [folder]
    # Another key type needs a new chain: made, and the old folder is gone
    kb.alt("y")
    assert focused() is chain_page.key_type  # type: ignore[attr-defined]
    kb.press(Qt.Key.Key_Down, what="Down")
    qtbot.waitUntil(lambda: state.chain is not None and state.chain is not first
                    and not chain_page.busy, timeout=60000)
    assert state.key_type == "ec-p384"
    [new_folder] = _demo_folders(out)
    assert new_folder != folder and not folder.exists()
    assert modals.unexpected == []


def test_demo_pfx_kept_only_with_a_password(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = WizardState(output_dir=str(out), key_password="chosen-by-the-user")
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    wait_enabled(qtbot, w.button(w.WizardButton.NextButton), modals)
    [folder] = _demo_folders(out)
    assert sorted(p.name for p in folder.rglob("*.pfx"))  # written, with the password


def test_generation_shows_busy_not_zero_percent_and_can_be_stopped(
        qtbot: QtBot, kb: Keyboard, modals: Modals, tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = WizardState(output_dir=str(out), key_type="rsa-4096")
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    page = w.page(PageId.CHAIN)
    bar, stop = page.progress, page.stop_button  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.busy)  # type: ignore[attr-defined]
    assert bar.isVisible() and bar.maximum() == 0  # indeterminate while keys are made
    assert stop.isVisible()
    kb.alt("w")  # Stop waiting
    qtbot.waitUntil(lambda: not page.busy, timeout=120000)  # type: ignore[attr-defined]
    assert state.chain is None and not w.button(w.WizardButton.NextButton).isEnabled()
    assert "Stopped" in page.status.text()  # type: ignore[attr-defined]
    assert not bar.isVisible() and not stop.isVisible()
    assert _demo_folders(out) == []  # nothing half-written
