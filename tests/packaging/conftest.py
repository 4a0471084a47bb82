"""Fixtures for the packaging tests: the build script and one frozen build per session."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from packaging_support import load_build_script, require_module


@pytest.fixture(scope="session")
def build() -> ModuleType:
    """installer/build.py, imported as a module."""
    return load_build_script()


@pytest.fixture(scope="session")
def frozen_app(build: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PyInstaller build of the app for the whole session (about 15-40 s)."""
    require_module("PyInstaller")
    out = tmp_path_factory.mktemp("frozen")
    return Path(build.freeze(out / "dist", out / "work"))
