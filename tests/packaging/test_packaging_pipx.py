"""Linux users: ``pipx install <checkout>`` gives working ``edgecert`` and ``edgecert-gui``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging_support import ROOT, require_module

pytestmark = pytest.mark.slow


def _copy_checkout(dest: Path) -> Path:
    """The files a fresh clone has (tracked files), so nothing local (.venv, build/) leaks in."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                            check=False)
    if listed.returncode != 0:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
            ".venv", "build", "dist", "*.egg-info", "__pycache__", ".git", ".*_cache"))
        return dest
    for rel in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def pipx_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("pipx")
    root = tmp_path_factory.mktemp("pipx")
    checkout = _copy_checkout(root / "checkout")
    env = {**os.environ, "PIPX_HOME": str(root / "home"), "PIPX_BIN_DIR": str(root / "bin"),
           "PIPX_MAN_DIR": str(root / "man"), "PIPX_DEFAULT_PYTHON": sys.executable}
    result = subprocess.run([sys.executable, "-m", "pipx", "install", str(checkout)],
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "bin"


def test_pipx_installs_both_commands(pipx_bin: Path, build: ModuleType) -> None:
    assert (pipx_bin / "edgecert").is_file() and (pipx_bin / "edgecert-gui").is_file()
    result = subprocess.run([str(pipx_bin / "edgecert"), "--version"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"edgecert {build.project_version()}"


def test_pipx_installed_gui_starts_and_passes_its_self_test(pipx_bin: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    result = subprocess.run([str(pipx_bin / "edgecert-gui"), "--self-test"], capture_output=True,
                            text=True, timeout=120, check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "frozen=False" in result.stdout and "all steps passed" in result.stdout
    assert "ok   resources" in result.stdout  # data files came along in the wheel
