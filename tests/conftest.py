"""Shared test settings: headless Qt, and the rule that CI never skips device tests."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The loopback test device (real sshd in a mount namespace): fixtures `device`, `device15` …
# and the runtime's own config parser as the oracle for every config edgecert writes (rtcfg.py).
pytest_plugins = ["rtcfg", "device.fixtures"]
