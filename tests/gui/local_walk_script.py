"""The "This computer" keyboard walk, as a program run ON the loopback test device.

``test_walk_local.py`` starts it inside the device's mount namespace (``Device.popen``), as a
technician who runs the wizard on the IoT Edge machine itself: there ``/etc/aziot``,
``/var/lib/aziot``, ``/usr/local/bin/iotedge`` (the strict stand-in runtime), ``sudo`` and
``/tmp`` are the device's own, so the wizard's ``LocalTarget`` changes the device and never the
test machine.

Usage: ``local_walk_script.py OUT_DIR walk|cancel`` with the sudo password as the first line
of standard input (never in arguments: they are visible to every user).

``walk``: launch → version 1.5 → demo chain → device settings → "This computer" (sudo password
typed) → read it → preview → Deploy → Summary → Save report → Finish, by keys only.
``cancel``: the same up to Deploy; once the stand-in runtime is held in ``config apply`` (the
test holds it with ``Device.hold("apply")``) Cancel and Yes, then ``OUT_DIR/cancel-answered``
is written so the test lets the apply go on; the walk waits for the deploy page's verdict.

What the page showed is written to ``OUT_DIR/walk-result.json``; the exit status is 0 when the
walk got through, 1 (with the reason on stderr) when a step did not come.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout (gui, core)

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from walk_support import Keyboard, Modals, Stopwatch, focused, wait_enabled, wait_page

from gui import workers
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

REACHED_APPLY = Path("/etc/iotedge-standin/reached-apply")
"""Written by the stand-in runtime when a held ``config apply`` waits (Device.hold)."""

WATCHDOG = 170
"""Seconds after which the walk gives up (below the test's own limit)."""


class Waiter:
    """``waitUntil`` as pytest-qt's ``qtbot`` has it, for ``walk_support``'s helpers."""

    def waitUntil(self, predicate: Callable[[], object], timeout: int = 5000) -> None:
        deadline = time.monotonic() + timeout / 1000
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout / 1000:.0f} s for "
                                   f"{getattr(predicate, '__name__', 'a condition')}")
            QTest.qWait(10)


def _launch(app: QApplication, state: WizardState, waiter: Waiter) -> SetupWizard:
    w = SetupWizard(state, remember=False)
    w.show()
    w.activateWindow()
    waiter.waitUntil(lambda: app.activeWindow() is w, timeout=5000)
    return w


def _nav(w: SetupWizard, which: str) -> Any:
    return w.button(getattr(w.WizardButton, which))


def walk(out: Path, mode: str, sudo_password: str, result: dict[str, Any]) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    waiter = Waiter()
    kb = Keyboard()
    modals = Modals(kb)
    clock = Stopwatch()
    state = WizardState(output_dir=str(out / "output"), device_id="edge-device-01-id")
    w = _launch(app, state, waiter)
    nxt = _nav(w, "NextButton")
    try:
        kb.alt("5")  # the release the device runs: IoT Edge 1.&5 LTS
        waiter.waitUntil(lambda: state.release_key == "1.5", timeout=2000)
        # version → chain (the demo chain is made once) → device settings → target
        for page_id in (PageId.CHAIN, PageId.DEVICE, PageId.TARGET):
            wait_enabled(waiter, nxt, modals)  # type: ignore[arg-type]
            kb.alt("n")
            wait_page(waiter, w, page_id, modals)  # type: ignore[arg-type]
        target = w.page(PageId.TARGET)
        kb.alt("m")  # This co&mputer
        waiter.waitUntil(lambda: state.target_kind == "local", timeout=2000)
        result["test_button"] = target.test_button.text()  # type: ignore[attr-defined]
        kb.alt("p")  # Sudo &password
        field = focused()
        assert field is not None and field.objectName() == "sudoPassword", field
        kb.type(sudo_password)
        kb.alt("t")  # &Test: read this computer's IoT Edge
        wait_enabled(waiter, nxt, modals)  # type: ignore[arg-type]
        result["target_status"] = target.status.text()  # type: ignore[attr-defined]
        result["target_warning"] = target.warning.text()  # type: ignore[attr-defined]
        result["device_state"] = target.device_view.toPlainText()  # type: ignore[attr-defined]
        kb.alt("n")
        wait_page(waiter, w, PageId.PREVIEW, modals)  # type: ignore[arg-type]
        commit = _nav(w, "CommitButton")
        wait_enabled(waiter, commit, modals, timeout=120000)  # type: ignore[arg-type]
        assert state.plan is not None
        plan = state.plan.plan
        result["plan_files"] = [[f.path, f"{f.mode:o}", f.owner, f.group,
                                 hashlib.sha256(f.data).hexdigest()] for f in plan.files]
        result["plan_config"] = [plan.config.path, f"{plan.config.mode:o}", plan.config.owner,
                                 plan.config.group, hashlib.sha256(plan.config.after).hexdigest()]
        result["edge_ca_sha256"] = state.chain.edge_ca.sha256
        page = w.page(PageId.DEPLOY)
        if mode == "cancel":
            modals.expect_keys("Stop the deploy now?", "y")
        kb.alt("d")  # &Deploy
        wait_page(waiter, w, PageId.DEPLOY, modals)  # type: ignore[arg-type]
        if mode == "cancel":
            waiter.waitUntil(REACHED_APPLY.exists, timeout=120000)
            # the page follows the device's journal: Cancel once it says the apply runs
            waiter.waitUntil(lambda: "applying" in page.step_label.text(),  # type: ignore[attr-defined]
                             timeout=30000)
            result["step_while_held"] = page.step_label.text()  # type: ignore[attr-defined]
            kb.alt("c")
            waiter.waitUntil(lambda: modals.pending == [] or modals.unexpected != [],
                             timeout=10000)
            assert modals.unexpected == [], modals.unexpected
            (out / "cancel-answered").write_text("yes\n")
        waiter.waitUntil(lambda: page.outcome != "", timeout=90000)  # type: ignore[attr-defined]
        waiter.waitUntil(lambda: app.activeModalWidget() is None or modals.unexpected != [],
                         timeout=10000)
        result["outcome"] = page.outcome  # type: ignore[attr-defined]
        result["ended"] = page.ended  # type: ignore[attr-defined]
        result["banner"] = page.banner.text()  # type: ignore[attr-defined]
        result["step"] = page.step_label.text()  # type: ignore[attr-defined]
        result["deploy_log"] = page.log.toPlainText()  # type: ignore[attr-defined]
        result["next_enabled"] = nxt.isEnabled()
        assert modals.unexpected == [], modals.unexpected
        if mode == "cancel":  # Cancel once more closes the wizard, after asking
            modals.expect_keys("Nothing was deployed", "y")
            kb.alt("c")
            waiter.waitUntil(lambda: not w.isVisible() or modals.unexpected != [],
                             timeout=10000)
            assert modals.unexpected == [], modals.unexpected
            result["closed"] = True
            return
        wait_enabled(waiter, nxt, modals, timeout=60000)  # type: ignore[arg-type]
        kb.alt("n")
        wait_page(waiter, w, PageId.SUMMARY, modals)  # type: ignore[arg-type]
        summary = w.page(PageId.SUMMARY)
        wait_enabled(waiter, summary.save_button, modals)  # type: ignore[attr-defined,arg-type]
        waiter.waitUntil(summary.isComplete, timeout=30000)
        result["summary_facts"] = summary.facts.text()  # type: ignore[attr-defined]
        modals.expect_keys("Save report", "Enter")  # the suggested name in the output folder
        modals.expect_keys("Report written to", "Enter")
        kb.alt("s")  # &Save report…
        waiter.waitUntil(lambda: modals.pending == [] or modals.unexpected != [],
                         timeout=30000)
        assert modals.unexpected == [], modals.unexpected
        report = state.resolved_output_dir() / f"edgecert-report-{state.device_id}.html"
        waiter.waitUntil(report.exists, timeout=10000)
        result["report"] = str(report)
        kb.alt("f")  # &Finish
        waiter.waitUntil(lambda: not w.isVisible(), timeout=5000)
        result["seconds"] = round(clock.seconds(), 1)
    finally:
        result["keys"] = kb.presses
        result["typed_characters"] = kb.typed
        result["keys_pressed"] = kb.log
        result["answered"] = modals.answered
        result["unexpected"] = modals.unexpected
        modals.stop()
        w.hide()  # after a failed step: gone without the close question


def main(argv: list[str]) -> int:
    out, mode = Path(argv[1]), argv[2]
    if mode not in ("walk", "cancel"):
        print(f"unknown mode {mode!r}: walk or cancel", file=sys.stderr)
        return 2
    sudo_password = sys.stdin.readline().rstrip("\n")
    # never hang: after WATCHDOG seconds every thread's stack goes to stderr and the walk ends
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(argv[:1])
    app.setApplicationName("edgecert")
    app.setOrganizationName("edgecert")
    workers.collect_garbage_on_gui_thread()
    result: dict[str, Any] = {"mode": mode, "euid": os.geteuid()}
    code = 0
    try:
        walk(out, mode, sudo_password, result)
    except Exception as exc:  # the test reads the reason; the walk must not hang
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
        code = 1
    finally:
        workers.cancel_all()
        workers.wait_all(30000)
    (out / "walk-result.json").write_text(json.dumps(result, indent=1) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
