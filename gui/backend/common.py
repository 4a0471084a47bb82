"""Shared helpers of the backend: release facts."""

from __future__ import annotations

from core.versions import catalog


def release_label(release_key: str) -> str:
    return catalog()[release_key].label


def warning_days(release_key: str) -> int:
    return catalog()[release_key].expiry_warning_days


