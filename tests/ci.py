"""The suite's one rule for a missing prerequisite: in CI (``CI=true``) the test fails, elsewhere
it is skipped with the reason, so a machine without root, a tool or a package still runs the rest
while CI can never pass by skipping."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Stop the current test (or fixture) for a missing prerequisite: fail in CI, else skip."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)
