"""One wizard at a time per settings file: a second launch brings the first to the front.

Two wizards open at once would overwrite each other's remembered inputs (the last to close
wins). The first instance holds a lock file beside its settings (``QLockFile``: a lock left
by a crashed instance is taken over) and watches a request file; a later launch that cannot
take the lock writes that file, which brings the first window to the front, and exits.
QtCore only: no network module in the frozen app for this.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QLockFile, QObject
from PySide6.QtWidgets import QWidget

LOCK_NAME = "edgecert.lock"
REQUEST_NAME = "edgecert.front"


class SingleInstance(QObject):
    """The running instance: brings ``window`` to the front when a later launch asks."""

    def __init__(self, folder: Path, lock: QLockFile, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.lock = lock
        self.window: QWidget | None = None
        self.requests = 0
        self.request = folder / REQUEST_NAME
        self.request.unlink(missing_ok=True)
        self.watcher = QFileSystemWatcher([str(folder)], self)
        self.watcher.directoryChanged.connect(self._changed)
        self.watcher.fileChanged.connect(self._changed)

    def _changed(self, _path: str) -> None:
        if not self.request.exists():
            return
        self.request.unlink(missing_ok=True)
        self.requests += 1
        self.bring_to_front()

    def bring_to_front(self) -> None:
        w = self.window
        if w is None:
            return
        w.showNormal()
        w.raise_()
        w.activateWindow()

    def release(self) -> None:
        self.lock.unlock()


def ask_running_instance(folder: Path) -> None:
    """Tell the running instance to come to the front (a new request file each time)."""
    tmp = folder / f".{REQUEST_NAME}.{os.getpid()}"
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, folder / REQUEST_NAME)


def claim(settings_file: str) -> SingleInstance | None:
    """Become the running instance, or (None) hand over to the one already running."""
    folder = Path(settings_file).parent
    folder.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(str(folder / LOCK_NAME))
    lock.setStaleLockTime(0)  # only a dead owner's lock is stale, however old
    if not lock.tryLock(0):
        ask_running_instance(folder)
        return None
    return SingleInstance(folder, lock)
