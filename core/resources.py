"""Locate edgecert's data files the same way in a checkout, an installed wheel and a frozen app."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding ``versions.toml`` and the config templates."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    import resources  # the data package beside core/

    return Path(resources.__file__).resolve().parent


def read_resource(name: str) -> bytes:
    """Bytes of one file below ``resources/``."""
    return (resources_dir() / name).read_bytes()
