"""One wizard at a time per settings file: a second launch brings the first to the front.

Two wizards open at once would overwrite each other's remembered inputs (the last to close
wins). The first instance listens on a local socket named after its settings file; a later
launch connects to it, asks it to come to the front, and exits.
"""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

RAISE = b"raise\n"


def instance_name(settings_file: str) -> str:
    """The local socket name for the settings file this instance would use."""
    digest = hashlib.sha256(settings_file.encode("utf-8")).hexdigest()[:16]
    return f"edgecert-{digest}"


def ask_running_instance(name: str, timeout_ms: int = 1000) -> bool:
    """Ask the instance listening on ``name`` to come to the front; False when none runs."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(RAISE)
    sock.waitForBytesWritten(timeout_ms)
    sock.disconnectFromServer()
    return True


class SingleInstance(QObject):
    """The running instance: brings ``window`` to the front when a later launch asks."""

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.window: QWidget | None = None
        self.requests = 0
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # a socket left by an instance that crashed
            self.server.listen(name)
        self.server.newConnection.connect(self._connected)

    def _connected(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        if bytes(sock.readAll().data()).startswith(RAISE.strip()):
            self.requests += 1
            self.bring_to_front()

    def bring_to_front(self) -> None:
        w = self.window
        if w is None:
            return
        w.showNormal()
        w.raise_()
        w.activateWindow()


def claim(settings_file: str) -> SingleInstance | None:
    """Become the running instance, or (None) hand over to the one already running."""
    name = instance_name(settings_file)
    if ask_running_instance(name):
        return None
    return SingleInstance(name)
