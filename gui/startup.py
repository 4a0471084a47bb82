"""Cold-start measurement: seconds from process start to the first wizard page on screen.

``python -m gui.startup`` starts a fresh interpreter twice per round: once for the wizard,
once for a bare ``QWizard`` that only imports PySide6 (the floor any PySide6 wizard pays),
and prints both times and their ratio. Each child prints ``shown`` as soon as its first page
has been painted and exits, so the figure includes interpreter start-up and imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Both children report the first paint of their window's first page, then exit at once.
_FIRST_PAINT = """
import os
from PySide6.QtCore import QEvent, QObject
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("shown", flush=True)
            os._exit(0)
        return False
"""

BARE = _FIRST_PAINT + """
import sys
from PySide6.QtWidgets import QApplication, QWizard, QWizardPage, QLabel, QVBoxLayout
app = QApplication(sys.argv)
w = QWizard()
p = QWizardPage(); p.setTitle("bare"); QVBoxLayout(p).addWidget(QLabel("bare"))
w.addPage(p)
f = FirstPaint(); p.installEventFilter(f)
w.show()
app.exec()
"""

OURS = _FIRST_PAINT + """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from gui.wizard import SetupWizard
w = SetupWizard()
f = FirstPaint(); w.page(w.startId()).installEventFilter(f)
w.show()
app.exec()
"""


def time_child(code: str) -> float:
    """Wall-clock seconds from spawning ``python -c code`` to its ``shown`` line."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Real settings code path, but not the technician's own remembered inputs.
    env["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="edgecert-startup-")
    start = time.perf_counter()
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env,
                          text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "shown":
                elapsed = time.perf_counter() - start
                proc.kill()
                return elapsed
        proc.wait()
    raise RuntimeError(f"the child exited with {proc.returncode} before showing a window")


def measure(rounds: int = 3) -> tuple[float, float]:
    """Median start-up seconds of (edgecert wizard, bare QWizard), interleaved runs."""
    ours: list[float] = []
    bare: list[float] = []
    time_child(BARE)  # warm the file cache once, so neither side pays for it alone
    for _ in range(rounds):
        bare.append(time_child(BARE))
        ours.append(time_child(OURS))
    return statistics.median(ours), statistics.median(bare)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.startup", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    ours, bare = measure(args.rounds)
    print(f"edgecert wizard: {ours:.3f} s   bare QWizard: {bare:.3f} s   ratio {ours / bare:.2f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
