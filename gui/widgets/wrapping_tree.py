"""A tree whose cells wrap their text and whose rows grow to hold it (check details, errors)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QStyle, QTreeWidget, QTreeWidgetItemIterator, QWidget


class WrappingTree(QTreeWidget):
    """Like QTreeWidget, but long cell texts wrap at word boundaries instead of being elided,
    and the rows are laid out again whenever a column or the view changes width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setUniformRowHeights(False)
        self._timer = QTimer(self)  # a child: it cannot fire after the tree is gone
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._relayout)
        # Bound methods (not lambdas): Qt disconnects them when the tree is destroyed.
        self.header().sectionResized.connect(self._relayout_later)
        self.model().rowsInserted.connect(self._relayout_later)
        self.model().dataChanged.connect(self._relayout_later)

    def _relayout_later(self, *_: object) -> None:
        self._timer.start()

    def _relayout(self) -> None:
        """Give each cell the height its wrapped text needs at the column's current width
        (QTreeView does not measure wrapped rows by itself)."""
        header = self.header()
        fm = self.fontMetrics()
        margin = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
        flags = int(Qt.TextFlag.TextWordWrap)
        it = QTreeWidgetItemIterator(self)
        while it.value() is not None:
            item = it.value()
            it += 1
            for col in range(self.columnCount()):
                text = item.text(col)
                if not text:
                    continue
                width = max(1, header.sectionSize(col) - margin -
                            (0 if item.icon(col).isNull() else self.iconSize().width() + 4))
                height = fm.boundingRect(QRect(0, 0, width, 1_000_000), flags, text).height()
                wanted = QSize(0, height + 4)
                if item.sizeHint(col) != wanted:
                    item.setSizeHint(col, wanted)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout_later()
