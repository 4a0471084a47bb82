"""Helpers for the configuration tests: fixture files and golden-file comparison as bytes."""

from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"
GOLDEN = FIXTURES / "golden"
# Set EDGECERT_REGEN_GOLDEN=1 to rewrite the golden files after a deliberate change (then
# review the git diff of tests/fixtures/config/golden before committing).
REGEN = os.environ.get("EDGECERT_REGEN_GOLDEN") == "1"


def fixture_text(name: str) -> str:
    """A fixture file as text with its own line endings (no newline translation)."""
    return (FIXTURES / name).read_bytes().decode("utf-8")


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with the golden file byte for byte (CRLF included)."""
    path = GOLDEN / name
    data = text.encode("utf-8")
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"missing golden file {path.name}; run with EDGECERT_REGEN_GOLDEN=1"
    assert data == path.read_bytes(), f"output differs from golden file {path.name}"
