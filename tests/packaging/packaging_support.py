"""Helpers shared by the packaging tests: the checkout root, required tools, the build script."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

from ci import unavailable

ROOT = Path(__file__).resolve().parents[2]


def require_tool(name: str) -> str:
    """Path of a command-line tool; a missing tool fails the test in CI and skips it elsewhere."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed (Debian: nsis / msitools; PyPI: pyinstaller, pipx)")
    return found


def require_module(name: str) -> None:
    """A Python module the packaging needs; missing fails in CI, skips elsewhere."""
    if importlib.util.find_spec(name) is None:
        unavailable(f"Python package {name} is not installed (pip install -e '.[test]')")


def load_build_script() -> ModuleType:
    """installer/build.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("edgecert_build", ROOT / "installer" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
