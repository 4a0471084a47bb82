"""The configuration diff: unified or side by side, syntax-highlighted, readable in dark themes.

What it shows is redacted by core: the unified diff comes redacted, and the side-by-side rows
are aligned by core on the real text and redacted there (``core.config.diff.side_by_side``), so a
changed secret is a changed row. This widget only lays them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from core.config.diff import SideBySide


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def _formats(dark: bool) -> dict[str, QTextCharFormat]:
    colours = {
        "add": ("#7ee787", "#12361d") if dark else ("#116329", "#dafbe1"),
        "del": ("#ffa198", "#4a1519") if dark else ("#82071e", "#ffebe9"),
        "hunk": ("#79c0ff", None) if dark else ("#0550ae", None),
        "head": ("#d2a8ff", None) if dark else ("#6639ba", None),
        "secret": ("#e3b341", None) if dark else ("#7d4e00", None),
    }
    out: dict[str, QTextCharFormat] = {}
    for name, (fg, bg) in colours.items():
        fmt = QTextCharFormat()
        fmt.setForeground(QColor(fg))
        if bg:
            fmt.setBackground(QColor(bg))
        if name in {"head", "hunk"}:
            fmt.setFontWeight(QFont.Weight.Bold)
        out[name] = fmt
    return out


def line_kind(line: str) -> str | None:
    """How a unified-diff line is coloured."""
    if line.startswith(("+++", "---")):
        return "head"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return None


class DiffHighlighter(QSyntaxHighlighter):
    """Colours a unified diff; in side-by-side mode, colours whole lines by a per-line kind."""

    def __init__(self, document: QTextDocument, dark: bool) -> None:
        super().__init__(document)
        self.formats = _formats(dark)
        self.line_kinds: list[str | None] | None = None

    def highlightBlock(self, text: str) -> None:
        if self.line_kinds is not None:
            n = self.currentBlock().blockNumber()
            kind = self.line_kinds[n] if n < len(self.line_kinds) else None
        else:
            kind = line_kind(text)
        if kind:
            self.setFormat(0, len(text), self.formats[kind])
        start = text.find("<redacted")
        if start >= 0:
            self.setFormat(start, len(text) - start, self.formats["secret"])


def side_by_side(before: str, after: str) -> tuple[list[str], list[str], list[str | None],
                                                   list[str | None]]:
    """Align two texts line by line (blank filler where one side has nothing), redacted."""
    from core.config.diff import side_by_side as align

    side = align(before, after)
    return list(side.left), list(side.right), list(side.left_kinds), list(side.right_kinds)


def _editor(name: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setObjectName(name)
    edit.setReadOnly(True)
    edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return edit


class DiffView(QWidget):
    """A unified diff and a side-by-side view of the same change, switchable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffView")
        dark = _is_dark(self.palette())
        self.unified_button = QRadioButton("&Unified")
        self.side_button = QRadioButton("Side by &side")
        self.unified_button.setChecked(True)
        self.unified_button.setToolTip("One column: - removed lines, + added lines")
        self.side_button.setToolTip("Before on the left, after on the right")
        self.unified = _editor("unifiedDiff")
        self.left = _editor("beforeText")
        self.right = _editor("afterText")
        self._hl_unified = DiffHighlighter(self.unified.document(), dark)
        self._hl_left = DiffHighlighter(self.left.document(), dark)
        self._hl_right = DiffHighlighter(self.right.document(), dark)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.left)
        split.addWidget(self.right)
        # Scroll both sides together.
        self.left.verticalScrollBar().valueChanged.connect(self.right.verticalScrollBar().setValue)
        self.right.verticalScrollBar().valueChanged.connect(self.left.verticalScrollBar().setValue)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.unified)
        self.stack.addWidget(split)
        switch = QHBoxLayout()
        switch.addWidget(self.unified_button)
        switch.addWidget(self.side_button)
        switch.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(switch)
        layout.addWidget(self.stack, 1)
        self.side_button.toggled.connect(lambda on: self.stack.setCurrentIndex(1 if on else 0))

    def set_diff(self, unified: str, before: str, after: str) -> None:
        """Show a (redacted) unified diff and the texts it was made from, aligned and redacted."""
        from core.config.diff import side_by_side as align

        self.show_diff(unified, align(before, after))

    def show_diff(self, unified: str, side: SideBySide) -> None:
        """Show a (redacted) unified diff and core's redacted side-by-side rows."""
        self.unified.setPlainText(unified or "No change: the configuration is already as wanted.")
        self._hl_left.line_kinds = list(side.left_kinds)
        self._hl_right.line_kinds = list(side.right_kinds)
        self.left.setPlainText("\n".join(side.left))
        self.right.setPlainText("\n".join(side.right))
        self._hl_left.rehighlight()
        self._hl_right.rehighlight()
