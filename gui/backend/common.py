"""Shared helpers of the backend: importing core modules, release facts."""

from __future__ import annotations

import importlib
from types import ModuleType

from core.errors import EdgecertError
from core.versions import catalog


def _core(name: str) -> ModuleType:
    """Import a core module, or say clearly that this build lacks it.

    Left only for the settings builder, which moves into core (``core.config.settings``).
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise EdgecertError(
                f"this build of edgecert has no {name}",
                hint="Install a complete edgecert release; the CLI `edgecert --help` lists "
                     "what this build can do.",
            ) from exc
        raise


def release_label(release_key: str) -> str:
    return catalog()[release_key].label


def warning_days(release_key: str) -> int:
    return catalog()[release_key].expiry_warning_days


