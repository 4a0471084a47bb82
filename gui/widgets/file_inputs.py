"""File inputs: a path field with Browse…, and a list that accepts dropped files."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)


def file_row(parent: QWidget, edit: QLineEdit, caption: str, filt: str) -> QHBoxLayout:
    """``edit`` with a Browse… button that fills it from an open-file dialog."""
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    browse = QPushButton("Browse…")
    browse.setToolTip(caption)

    def pick() -> None:
        path, _ = QFileDialog.getOpenFileName(parent, caption, edit.text(), filt)
        if path:
            edit.setText(path)
            edit.editingFinished.emit()

    browse.clicked.connect(pick)
    row.addWidget(browse)
    return row


CERT_FILTER = "Certificates and keys (*.pem *.crt *.cer *.der *.key *.pfx *.p12);;All files (*)"


class DropList(QListWidget):
    """A file list that accepts drag and drop from the file manager."""

    files_dropped = Signal(list)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("importList")
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setToolTip("Drop certificate, key or PFX files here")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
