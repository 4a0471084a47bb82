"""The PyInstaller onedir build: both executables run, the self-test passes, nothing extra ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

EXE = ".exe" if sys.platform == "win32" else ""
QT_KEPT = {"QtCore", "QtGui", "QtWidgets"}
# Far above today's size (about 160 MB on Linux), low enough to catch a bundled WebEngine/QML.
MAX_APP_MB = 260


def _run(exe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=180,
                          check=False)


def test_frozen_self_test_passes(frozen_app: Path) -> None:
    result = _run(frozen_app / f"edgecert-gui{EXE}", "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "frozen=True" in result.stdout
    assert "all steps passed" in result.stdout
    assert "ok   wizard" in result.stdout and "ok   chain" in result.stdout


def test_frozen_cli_reports_the_project_version(build: ModuleType, frozen_app: Path) -> None:
    result = _run(frozen_app / f"edgecert{EXE}", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"edgecert {build.project_version()}"


def test_frozen_cli_bad_usage_is_exit_2_without_traceback(frozen_app: Path) -> None:
    result = _run(frozen_app / f"edgecert{EXE}", "no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "usage: edgecert" in result.stderr


def test_bundle_has_resources_and_only_the_qt_it_uses(frozen_app: Path) -> None:
    internal = frozen_app / "_internal"
    assert (internal / "resources" / "versions.toml").is_file()
    bindings = {re.split(r"[.]", p.name)[0] for p in (internal / "PySide6").glob("Qt*.*")
                if p.suffix in {".so", ".pyd"} or ".abi3." in p.name}
    assert bindings == QT_KEPT
    names = [p.name for p in frozen_app.rglob("*")]
    for unwanted in ("Qt6Network", "Qt6Qml", "Qt6Quick", "Qt6WebEngine", "Qt6Pdf",
                     "opengl32sw", "tkinter", "_tkinter"):
        assert not [n for n in names if unwanted in n], unwanted
    assert not [n for n in names if n.endswith(".qm")], "Qt translations are not used"
    # Every Qt plugin shipped can load: none needs a Qt library that was left out (e.g. Qt6Svg).
    plugins = internal / "PySide6" / "Qt" / "plugins"
    if sys.platform.startswith("linux") and shutil.which("ldd"):
        for plugin in plugins.rglob("*.so"):
            ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                                 check=False, env={"LD_LIBRARY_PATH": str(internal)})
            missing = [line for line in ldd.stdout.splitlines()
                       if "not found" in line and "Qt6" in line]
            assert not missing, f"{plugin.name}: {missing}"
    size_mb = sum(p.stat().st_size for p in frozen_app.rglob("*")
                  if p.is_file() and not p.is_symlink()) / 1e6
    assert size_mb <= MAX_APP_MB, f"frozen app is {size_mb:.0f} MB"


def test_frozen_self_test_catches_a_broken_bundle(frozen_app: Path, tmp_path: Path) -> None:
    """The self-test is a real gate: a bundle without its release catalog fails it."""
    broken = tmp_path / "edgecert"
    shutil.copytree(frozen_app, broken, symlinks=True)
    (broken / "_internal" / "resources" / "versions.toml").unlink()
    report = tmp_path / "report.txt"
    result = _run(broken / f"edgecert-gui{EXE}", "--self-test", "--self-test-report", str(report))
    assert result.returncode == 1
    text = report.read_text(encoding="utf-8")
    assert "FAIL " in text and "versions.toml" in text
    assert "self-test FAILED at step" in text
