"""File inputs: path fields that show long paths whole, Browse…, a drop list, dialog sizing."""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QFocusEvent,
    QHelpEvent,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QFileSystemModel,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStyle,
    QStyleOptionFrame,
    QToolTip,
    QTreeView,
    QWidget,
)


class PathEdit(QLineEdit):
    """A path field that, when it is not being edited, shows a long path elided in the middle
    (start and file name both visible) instead of only its tail; the full path is its tooltip,
    and it is shown whole, selectable and editable as soon as the field has focus."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._base_tip = ""

    def setToolTip(self, tip: str) -> None:
        """The field's own explanation; the tooltip shows the full path above it."""
        self._base_tip = tip
        super().setToolTip(tip)

    def toolTip(self) -> str:
        """The full path (whatever way it was set, signals blocked or not), then the help."""
        return "\n\n".join(t for t in (self.text(), self._base_tip) if t)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            tip = self.toolTip()
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
                return True
        return super().event(event)

    def displayed_text(self) -> str:
        """What the field shows now (the elided form while it is not focused)."""
        if self.hasFocus():
            return self.text()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle,
                                             self._text_rect().width())

    def _text_rect(self) -> Any:
        opt = QStyleOptionFrame()
        self.initStyleOption(opt)
        r = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, opt, self)
        m = self.textMargins()
        return r.adjusted(m.left() + 2, m.top(), -m.right() - 2, -m.bottom())

    def paintEvent(self, event: QPaintEvent) -> None:
        text = self.text()
        if self.hasFocus() or not text or \
                self.fontMetrics().horizontalAdvance(text) <= self._text_rect().width():
            super().paintEvent(event)
            return
        p = QPainter(self)
        opt = QStyleOptionFrame()
        self.initStyleOption(opt)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelLineEdit, opt, p, self)
        group = QPalette.ColorGroup.Active if self.isEnabled() else QPalette.ColorGroup.Disabled
        p.setPen(self.palette().color(group, QPalette.ColorRole.Text))
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        p.drawText(self._text_rect(), int(align), self.displayed_text())
        p.end()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.setCursorPosition(0)
        self.update()


class PathLabel(PathEdit):
    """A read-only path shown like a label: elided in the middle, the full path as tooltip,
    selectable and copyable whole (click into it, Ctrl+A, Ctrl+C). Never widens its layout."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setReadOnly(True)
        self.setFrame(False)
        self.setProperty("elidesOnPurpose", True)
        self.setStyleSheet("QLineEdit { background: transparent; }")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)


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
        # Long paths: start and file name visible, the whole path as the item's tooltip.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.model().rowsInserted.connect(self._tip_new_rows)

    def _tip_new_rows(self, _parent: Any, first: int, last: int) -> None:
        for row in range(first, last + 1):
            item = self.item(row)
            if item is not None and not item.toolTip():
                item.setToolTip(item.text())

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


# -- Qt's own file dialog at a size where its columns are readable ------------------------------

DIALOG_SHARE = (0.7, 0.7)
"""Share of the screen's available area a file dialog takes (within the limits below)."""
DIALOG_MIN = (760, 460)
DIALOG_MAX = (1200, 800)


def size_file_dialog(dialog: QFileDialog) -> None:
    """Give Qt's file dialog room, and its detail view a Name column wide enough for names."""
    screen = dialog.screen() or QApplication.primaryScreen()
    area = screen.availableGeometry() if screen is not None else None
    if area is not None:
        w = int(min(DIALOG_MAX[0], max(DIALOG_MIN[0], area.width() * DIALOG_SHARE[0])))
        h = int(min(DIALOG_MAX[1], max(DIALOG_MIN[1], area.height() * DIALOG_SHARE[1])))
        w, h = min(w, area.width()), min(h, area.height())
        if dialog.width() < w or dialog.height() < h:
            dialog.resize(max(dialog.width(), w), max(dialog.height(), h))
    for view in dialog.findChildren(QTreeView):
        fit_columns(view)


def fit_columns(view: QTreeView) -> None:
    """Name column as wide as the names (up to 60 % of the view, or all that is left); the
    other columns as wide as their contents, long type descriptions capped."""
    header = view.header()
    if header.count() < 2:
        return
    avail = view.viewport().width()
    cap = view.fontMetrics().horizontalAdvance("M" * 14)
    header.setStretchLastSection(False)
    widths: dict[int, int] = {}
    for col in range(header.count()):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        if col and not header.isSectionHidden(col):
            content = max(view.sizeHintForColumn(col), header.sectionSizeHint(col))
            widths[col] = min(content, max(cap, header.sectionSizeHint(col)))
    name_need = max(view.sizeHintForColumn(0), header.sectionSizeHint(0))
    name = max(avail - sum(widths.values()), min(name_need, int(avail * 0.6)))
    header.resizeSection(0, name)
    for col, width in widths.items():
        header.resizeSection(col, width)


class FileDialogSizer(QObject):
    """An application event filter that sizes every Qt file dialog as it is shown."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QFileDialog):
            size_file_dialog(watched)
            QTimer.singleShot(0, lambda d=watched: _resize_later(d))
            model = watched.findChild(QFileSystemModel)
            if model is not None and not model.property("edgecertSized"):
                model.setProperty("edgecertSized", True)
                model.directoryLoaded.connect(lambda _p, d=watched: _resize_later(d))
        return False


def _resize_later(dialog: QFileDialog) -> None:
    with contextlib.suppress(RuntimeError):  # the dialog was closed and deleted meanwhile
        size_file_dialog(dialog)


_sizer: FileDialogSizer | None = None


def install_file_dialog_sizing(app: QApplication) -> FileDialogSizer:
    """Size Qt's file dialogs (Browse…, Save report…) for the whole application (idempotent)."""
    global _sizer
    if _sizer is None:
        _sizer = FileDialogSizer(app)
        app.installEventFilter(_sizer)
    return _sizer
