"""Without its prerequisites the device fixture fails in CI and skips (with a reason) elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_missing_tools_fail_in_ci_skip_elsewhere(ci: str, outcome: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({"PATH": "/nonexistent", "CI": ci})
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/targets/test_device_isolation.py::test_accounts_as_installed"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert outcome in res.stdout, res.stdout + res.stderr
    assert "missing: unshare, nsenter" in res.stdout
    assert (res.returncode != 0) == (ci == "true")
