"""The device-side shell library: the one implementation of backup, install, check, restore
and the device-side transaction.

The library is a real file, ``resources/device/lib.sh`` (linted with shellcheck), with the
bundle's ``install.sh`` / ``install.ps1`` and every backup's ``restore.sh`` beside it. Both
``deploy`` (over any Target) and the export bundle's ``install.sh`` run the same functions, so a
bundle installed from a USB stick does exactly what a deploy does.

Exit codes of the transaction (``ec_txn``; also install.sh's):
    0 deployed; 1 failed and rolled back; 2 refused, nothing touched; 3 the rollback failed.
Exit codes of ``receive.sh`` (upload and start):
    0 started; 11 not started, nothing left behind; 12 a symbolic link on the way to the
    backup root.
"""

from __future__ import annotations

from core.resources import read_resource

EXIT_OK = 0
EXIT_ROLLED_BACK = 1
EXIT_REFUSED = 2
EXIT_ROLLBACK_FAILED = 3
EXIT_NOT_STARTED = 11
EXIT_LINK = 12

BACKUP_ROOT = "/var/backups/edgecert"
"""Root-only (0700) directory holding one transaction (backup) folder per deploy."""

TERMINAL_STATES = ("deployed", "rolled-back", "rollback-failed", "refused")
"""Journal states a transaction ends in."""


def _text(name: str) -> str:
    return read_resource(f"device/{name}").decode("utf-8")


LIBRARY = _text("lib.sh")
"""``resources/device/lib.sh``."""

RECEIVE_SH = _text("receive.sh")
"""``resources/device/receive.sh``: upload (tar on stdin) and start, in one root call."""
RESTORE_SH = _text("restore.sh")
INSTALL_SH = _text("install.sh")
INSTALL_PS1 = _text("install.ps1")
