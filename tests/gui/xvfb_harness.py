"""The wizard as ``edgecert-gui`` starts it, on a real X server, with a read-only probe.

Run as ``python xvfb_harness.py`` with ``DISPLAY`` set and ``QT_QPA_PLATFORM=xcb``: it starts
the application's own ``gui.app.main`` and prints one JSON line each time what a person sees
changes (page, which wizard buttons are enabled, the modal dialog on top and its X window id).
It never presses anything: the keys come from ``xdotool`` as real X key events.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def _probe() -> None:
    from gui.wizard import SetupWizard

    last = [""]

    def look() -> None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        wizards = [w for w in app.topLevelWidgets() if isinstance(w, SetupWizard)]
        if not wizards:
            return
        w = wizards[0]
        modal = app.activeModalWidget() or next(
            (d for d in app.topLevelWidgets() if d.isVisible() and d.isModal()), None)
        b = w.WizardButton
        seen = {
            "page": w.currentId(), "visible": w.isVisible(), "window": int(w.winId()),
            "next": w.button(b.NextButton).isEnabled() and w.button(b.NextButton).isVisible(),
            "commit": w.button(b.CommitButton).isEnabled()
            and w.button(b.CommitButton).isVisible(),
            "finish": w.button(b.FinishButton).isEnabled()
            and w.button(b.FinishButton).isVisible(),
            "modal": modal.windowTitle() if modal is not None else "",
            "modal_window": int(modal.winId()) if modal is not None else 0,
            "focus": (app.focusWidget().objectName() if app.focusWidget() else ""),
            "status": getattr(w.currentPage(), "status", None) and
            w.currentPage().status.text()[:80],  # type: ignore[attr-defined]
        }
        line = json.dumps(seen)
        if line != last[0]:
            last[0] = line
            print(line, flush=True)

    timer = QTimer(QApplication.instance())
    timer.timeout.connect(look)
    timer.start(50)


def main() -> int:
    from gui.app import main as app_main

    app = QApplication(sys.argv)  # gui.app.main takes this instance
    QTimer.singleShot(0, _probe)
    code = app_main(["edgecert-gui"])
    app.quit()
    return code


if __name__ == "__main__":
    sys.exit(main())
