"""Stopping by keyboard, and the truth afterwards: the stop question closes itself when the
deploy ends meanwhile; a stop answered too late changes nothing and says so; a stop during
upload or apply leaves the device exactly as before or exactly as previewed, and the page
says which; a connect can be stopped; after a failure Back and Retry lead to a deploy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from device.fixtures import Device
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from walk_support import Keyboard, Modals, show, wait_enabled, wait_page

from gui import backend, dialogs
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploytest_support import Sandbox, make_sandbox, sandbox_plan

from core.deploy import deploy
from core.targets.local import LocalTarget

ROOTS = ("/etc/aziot", "/var/aziot", "/var/lib/aziot")


# no known hosts and no remembered inputs: every device is met for the first time
pytestmark = pytest.mark.usefixtures("isolated_home")


def _show(qtbot: QtBot, w: SetupWizard) -> SetupWizard:
    return show(qtbot, w)


# -- this computer, against the deploy tests' sandbox (apply made slow) -------------------------
@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    yield from make_sandbox()


def _local_deploy(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox,
                  tmp_path: Path, apply_seconds: int) -> SetupWizard:
    apply = sandbox.root / "tools/apply"
    apply.write_text(apply.read_text().replace("#!/bin/sh\n",
                                               f"#!/bin/sh\nsleep {apply_seconds}\n", 1))
    # an earlier deploy, so a rollback re-applies a configuration the runtime accepts
    deploy(sandbox_plan(sandbox, cert=b"OLD CERT\n", key=b"OLD KEY\n"), LocalTarget(),
           backup_root=str(sandbox.backups))
    old_cfg = Path(sandbox.p("etc/aziot/config.toml")).read_bytes()
    plan = sandbox_plan(sandbox, cert=b"NEW CERT\n", key=b"NEW KEY\n", before=old_cfg,
                        after=old_cfg + b"# new\n")
    monkeypatch.setitem(backend.DEPLOY_OPTIONS, "backup_root", str(sandbox.backups))
    state = WizardState(target_kind="local", output_dir=str(tmp_path / "out"))
    state.plan = backend.Preview(plan=plan, unified="", before="", after="",
                                 config_path=plan.config.path)
    w = SetupWizard(state, remember=False)
    w.ensure_pages()
    w.setStartId(PageId.DEPLOY)  # the plan's paths live in the sandbox, not /etc/aziot
    return _show(qtbot, w)


def _apply_running(page: Any) -> bool:
    key = next(r.key for r in page.checklist.rows if r.key.startswith("apply:"))
    return bool(page.checklist.status(key) == "running")


def test_stop_question_closes_itself_when_the_deploy_ends(
        qtbot: QtBot, kb: Keyboard, modals: Modals, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    w = _local_deploy(qtbot, monkeypatch, sandbox, tmp_path, apply_seconds=1)
    page = w.page(PageId.DEPLOY)
    qtbot.waitUntil(lambda: _apply_running(page), timeout=60000)
    seen: list[str] = []
    modals.expect("Stop the deploy now?", lambda d: seen.append(d.objectName()))  # no answer
    kb.alt("c")
    qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=5000)
    assert seen == ["questionDialog"]  # it was open while the deploy ended
    assert page.outcome == "done" and page.ended == "after"  # type: ignore[attr-defined]
    assert "✔" in page.banner.text()  # type: ignore[attr-defined]
    step = page.step_label.text()  # type: ignore[attr-defined]
    assert "Cancel" not in step and "Stopping" not in step
    assert "nothing to stop" in page.log.toPlainText()  # type: ignore[attr-defined]
    assert w.isVisible() and w.button(w.WizardButton.NextButton).isEnabled()


def test_stop_answered_after_the_deploy_ended_does_nothing(
        qtbot: QtBot, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """A question box that returns Yes only after the deploy ended (as a slow answer would
    with a dialog that does not close itself): nothing is rolled back, and the page says so."""
    w = _local_deploy(qtbot, monkeypatch, sandbox, tmp_path, apply_seconds=1)
    page = w.page(PageId.DEPLOY)

    def late_yes(parent: Any, title: str, text: str, **_kw: Any) -> bool:
        qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)  # type: ignore[attr-defined]
        return True

    monkeypatch.setattr(dialogs, "ask_yes_no", late_yes)
    qtbot.waitUntil(lambda: _apply_running(page), timeout=60000)
    w.button(w.WizardButton.CancelButton).click()
    assert page.outcome == "done" and page.ended == "after"  # type: ignore[attr-defined]
    assert "Stopping" not in page.step_label.text()  # type: ignore[attr-defined]
    assert "nothing to stop" in page.log.toPlainText()  # type: ignore[attr-defined]
    # the new edge CA file: its label, then the real chain the pre-flight checked
    assert Path(sandbox.p("var/aziot/certs/edge-ca.pem")).read_bytes().startswith(b"NEW CERT\n")
    assert w.isVisible()


def test_stop_during_apply_on_this_computer_rolls_back_and_says_so(
        qtbot: QtBot, kb: Keyboard, modals: Modals, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    w = _local_deploy(qtbot, monkeypatch, sandbox, tmp_path, apply_seconds=3)
    page = w.page(PageId.DEPLOY)
    before = sandbox.snapshot()
    qtbot.waitUntil(lambda: _apply_running(page), timeout=60000)
    modals.expect_keys("Stop the deploy now?", "y")
    kb.alt("c")
    qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)  # type: ignore[attr-defined]
    assert page.outcome == "cancelled" and page.ended == "before"  # type: ignore[attr-defined]
    assert "exactly as it was before" in page.banner.text()  # type: ignore[attr-defined]
    assert sandbox.snapshot() == before
    # Cancel now asks before closing; No keeps the window
    modals.expect_keys("Nothing was deployed", "Escape")
    kb.alt("c")
    qtbot.waitUntil(lambda: modals.pending == [], timeout=5000)
    assert w.isVisible() and modals.unexpected == []


# -- the loopback device ---------------------------------------------------------------------
def _walk_to_deploy(qtbot: QtBot, kb: Keyboard, modals: Modals, device: Device,
                    tmp_path: Path) -> SetupWizard:
    account = device.accounts["edgeadmin"]
    state = WizardState(output_dir=str(tmp_path / "out"), device_id="edge-device-01-id")
    w = _show(qtbot, SetupWizard(state, remember=False))
    nxt = w.button(w.WizardButton.NextButton)
    for page_id in (PageId.CHAIN, PageId.DEVICE, PageId.TARGET):
        wait_enabled(qtbot, nxt, modals)
        kb.alt("n")
        wait_page(qtbot, w, page_id, modals)
    kb.alt("h")
    kb.type(f"{device.host}:{device.port}")
    kb.alt("u")
    kb.type("edgeadmin")
    kb.alt("k")
    kb.type(str(account.key))
    modals.expect_keys("First connection to", "t")
    kb.alt("t")
    wait_enabled(qtbot, nxt, modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    wait_enabled(qtbot, w.button(w.WizardButton.CommitButton), modals)
    return w


def _after_matches_plan(device: Device, plan: Any) -> bool:
    if device.read(plan.config.path) != plan.config.after:
        return False
    return all(device.read(f.path) == f.data and device.stat(f.path)[0] == f.mode
               for f in plan.files)


@pytest.mark.parametrize("step", ["stage", "apply"])
def test_stop_during_a_device_step_leaves_it_exactly_before_or_after(
        step: str, qtbot: QtBot, kb: Keyboard, modals: Modals, device15: Device,
        tmp_path: Path) -> None:
    w = _walk_to_deploy(qtbot, kb, modals, device15, tmp_path)
    before = device15.snapshot(*ROOTS)
    plan = w.state.plan.plan
    page = w.page(PageId.DEPLOY)
    modals.expect_keys("Stop the deploy now?", "y")

    def stop_at_step() -> None:
        # the first progress line of that step is on the page: press Cancel, answer Yes
        if step in page.log.toPlainText() or (step == "stage" and "uploading" in
                                               page.log.toPlainText()):
            timer.stop()
            kb.alt("c")

    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(stop_at_step)
    timer.start()
    kb.alt("d")
    qtbot.waitUntil(lambda: page.outcome != "", timeout=120000)  # type: ignore[attr-defined]
    timer.stop()
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=5000)
    ended = page.ended  # type: ignore[attr-defined]
    print(f"stopped during {step}: the device ended {ended}")
    banner = page.banner.text()  # type: ignore[attr-defined]
    if ended == "before":
        assert page.outcome == "cancelled"  # type: ignore[attr-defined]
        assert {k: v for k, v in device15.snapshot(*ROOTS).items()} == before
        assert "exactly as it was before" in banner
    else:
        assert ended == "after" and page.outcome == "done"  # type: ignore[attr-defined]
        assert _after_matches_plan(device15, plan)
        # exactly one story: the stop came too late (banner), or the deploy had already ended
        # while the question was open (log)
        too_late = "exactly as previewed" in banner
        already_ended = "nothing to stop" in page.log.toPlainText()  # type: ignore[attr-defined]
        assert too_late != already_ended, (banner, page.log.toPlainText())  # type: ignore
    assert "Cancelling" not in page.step_label.text()  # type: ignore[attr-defined]


def test_stop_connecting_to_a_device_that_does_not_answer(
        qtbot: QtBot, kb: Keyboard, modals: Modals, tmp_path: Path) -> None:
    """A host that takes the TCP connection but never speaks SSH (a hung device): the page
    shows it is waiting, with a way out, and Stop gives the page back at once."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        state = WizardState(output_dir=str(tmp_path / "out"), edge_ca_method="quickstart",
                            host="127.0.0.1", port=port, user="edgeadmin")
        w = _show(qtbot, SetupWizard(state, remember=False))
        nxt = w.button(w.WizardButton.NextButton)
        for page_id in (PageId.DEVICE, PageId.TARGET):
            wait_enabled(qtbot, nxt, modals)
            kb.alt("n")
            wait_page(qtbot, w, page_id, modals)
        target = w.page(PageId.TARGET)
        kb.alt("t")
        bar, stop = target.busy_bar, target.stop_button  # type: ignore[attr-defined]
        qtbot.waitUntil(bar.isVisible, timeout=2000)
        assert bar.maximum() == 0 and stop.isVisible()  # indeterminate, and a way out
        assert not target.test_button.isEnabled()  # type: ignore[attr-defined]
        kb.alt("g")  # Stop waiting
        qtbot.waitUntil(lambda: not bar.isVisible(), timeout=2000)
        assert target.test_button.isEnabled()  # type: ignore[attr-defined]
        assert "Stopped" in target.status.text()  # type: ignore[attr-defined]
        assert not nxt.isEnabled() and state.device_state is None
        assert not target.busy  # type: ignore[attr-defined]
    # the listener is closed: the abandoned attempt ends by itself
    assert modals.unexpected == []


def test_failure_then_retry(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                     device15: Device, tmp_path: Path) -> None:
    w = _walk_to_deploy(qtbot, kb, modals, device15, tmp_path)
    page = w.page(PageId.DEPLOY)
    nxt = w.button(w.WizardButton.NextButton)
    device15.fail_next_apply("stand-in: refused for the test")
    modals.expect_keys("refused for the test", "Enter")  # the error dialog
    kb.alt("d")
    qtbot.waitUntil(lambda: page.outcome != "" and modals.pending == [], timeout=120000)  # type: ignore[attr-defined]
    assert page.outcome in ("rolled back", "rollback failed")  # type: ignore[attr-defined]
    assert not nxt.isEnabled() and page.retry_button.isVisible()  # type: ignore[attr-defined]
    device15.fail_apply_off()  # the technician fixed the cause on the device
    kb.alt("r")  # Retry
    wait_enabled(qtbot, nxt, modals, timeout=120000)
    assert page.outcome == "done" and page.ended == "after"  # type: ignore[attr-defined]
    assert _after_matches_plan(device15, w.state.plan.plan)
    kb.alt("n")
    wait_page(qtbot, w, PageId.SUMMARY, modals)
    assert modals.unexpected == []


def test_failure_then_back_to_fix_and_deploy_again(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                                   device15: Device, tmp_path: Path) -> None:
    """The runtime refuses the apply: the deploy fails and is rolled back; the technician
    fixes the device, goes Back twice to the Target page, Next, Deploy: no walk through every
    page."""
    w = _walk_to_deploy(qtbot, kb, modals, device15, tmp_path)
    page = w.page(PageId.DEPLOY)
    nxt = w.button(w.WizardButton.NextButton)
    device15.fail_next_apply("stand-in: refused for the test")
    modals.expect_keys("refused for the test", "Enter")
    kb.alt("d")
    qtbot.waitUntil(lambda: page.outcome != "" and modals.pending == [], timeout=120000)  # type: ignore[attr-defined]
    device15.fail_apply_off()
    back = w.button(w.WizardButton.BackButton)
    assert back.isEnabled()
    kb.alt("b")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    assert w.button(w.WizardButton.CommitButton).isVisible()  # Deploy is its button again
    kb.alt("b")
    wait_page(qtbot, w, PageId.TARGET, modals)
    wait_enabled(qtbot, nxt, modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    wait_enabled(qtbot, w.button(w.WizardButton.CommitButton), modals)
    kb.alt("d")
    wait_page(qtbot, w, PageId.DEPLOY, modals)
    wait_enabled(qtbot, nxt, modals, timeout=120000)
    assert page.outcome == "done"  # type: ignore[attr-defined]
    assert not back.isEnabled()  # done: the preview is the point of no return again
    assert _after_matches_plan(device15, w.state.plan.plan)
