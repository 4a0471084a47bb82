"""Shared test settings: headless Qt; the loopback device and the runtime oracle as plugins.

A missing prerequisite goes through ``ci.unavailable``: it fails in CI and skips elsewhere.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The loopback test device (real sshd in a mount namespace): fixtures `device`, `device15` …
# and the runtime's own config parser as the oracle for every config edgecert writes (rtcfg.py).
pytest_plugins = ["rtcfg", "device.fixtures"]
