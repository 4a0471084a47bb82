"""Cold start to the first page: under 1 s, and under 2x a bare QWizard importing PySide6."""

from __future__ import annotations

import pytest

from gui.startup import measure


@pytest.mark.slow
def test_cold_start_targets() -> None:
    ours, bare = measure(rounds=3)
    print(f"cold start: edgecert {ours:.3f} s, bare QWizard {bare:.3f} s, "
          f"ratio {ours / bare:.2f}")
    assert ours < 1.0
    assert ours < 2 * bare


def test_heavy_modules_are_not_loaded_for_the_first_page() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication(sys.argv)\n"
        "from gui.wizard import SetupWizard\n"
        "w = SetupWizard(remember=False)\n"
        "heavy = [m for m in ('paramiko', 'cryptography', 'tomlkit', 'ruamel')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"QT_QPA_PLATFORM": "offscreen",
                                          **__import__("os").environ})
    assert out.stdout.strip() == ""
