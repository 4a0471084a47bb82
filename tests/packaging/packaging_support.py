"""Helpers shared by the packaging tests: the checkout root, required tools, the build script."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Same rule as tests/conftest.py: in CI a missing prerequisite is a failure, never a skip.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str) -> str:
    """Path of a command-line tool; a missing tool fails the test in CI and skips it elsewhere."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian: nsis / msitools; PyPI: pyinstaller, pipx)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_module(name: str) -> None:
    """A Python module the packaging needs; missing fails in CI, skips elsewhere."""
    if importlib.util.find_spec(name) is None:
        message = f"Python package {name} is not installed (pip install -e '.[test]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def load_build_script() -> ModuleType:
    """installer/build.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("edgecert_build", ROOT / "installer" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
