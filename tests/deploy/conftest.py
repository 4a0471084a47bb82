"""Fixtures for deploy tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from deploytest_support import Sandbox, make_sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    yield from make_sandbox()
