"""Find what a person could not read in a window: clipped widgets and cut-off labels.

Used by the render test (every page at laptop sizes) and by ``--screenshots``. A widget is
*clipped* when part of it lies outside the visible area of its parent (and no scroll area
between them lets the user reach it), or when the layout squeezed it below its minimum size.
A label is *cut* when its text needs more room than it has: wider than the label without word
wrap, or taller than the label with it. Labels that elide on purpose (``PathLabel``) keep the
full text in their tooltip and are not counted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PySide6 import QtGui
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSplitterHandle,
    QStyle,
    QTabBar,
    QTreeWidget,
    QTreeWidgetItemIterator,
    QWidget,
)


@dataclass(frozen=True)
class Problem:
    """One thing the audit found."""

    kind: str
    """``clipped``, ``squeezed``, ``cut`` or ``window``."""
    widget: str
    """A readable path to the widget (object names and classes)."""
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.widget}: {self.detail}"


def describe(widget: QWidget) -> str:
    """``SetupWizard/chainPage/QLabel#chainStatus`` style name of a widget."""
    parts: list[str] = []
    w: QWidget | None = widget
    while w is not None and len(parts) < 4:
        name = w.objectName()
        parts.append(f"{type(w).__name__}#{name}" if name else type(w).__name__)
        w = w.parentWidget()
    return "/".join(reversed(parts))


def _in_scroll_viewport(widget: QWidget, top: QWidget) -> bool:
    """Whether a scroll area between ``widget`` and ``top`` makes hidden parts reachable."""
    w = widget.parentWidget()
    while w is not None and w is not top:
        parent = w.parentWidget()
        if isinstance(parent, QAbstractScrollArea) and w is parent.viewport():
            return True
        w = parent
    return False


def _elides_on_purpose(widget: QWidget) -> bool:
    return bool(widget.property("elidesOnPurpose"))


def _is_rich(label: QLabel) -> bool:
    fmt = label.textFormat()
    if fmt == Qt.TextFormat.AutoText:
        return bool(QtGui.Qt.mightBeRichText(label.text()))
    return fmt in (Qt.TextFormat.RichText, Qt.TextFormat.MarkdownText)


def _label_text_width(label: QLabel) -> int:
    """Width the label's text needs, unwrapped (plain or rich text), in pixels."""
    if _is_rich(label):
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        if label.textFormat() == Qt.TextFormat.MarkdownText:
            doc.setMarkdown(label.text())
        else:
            doc.setHtml(label.text())
        return math.ceil(doc.idealWidth())
    fm = label.fontMetrics()
    text = label.text()
    if label.buddy() is not None:  # "&Host:" shows as "Host:" with H underlined
        text = re.sub(r"&(.)", r"\1", text)
    return max(fm.horizontalAdvance(line) for line in text.split("\n"))


def _label_text_height(label: QLabel) -> int:
    """Height the label's text needs, unwrapped."""
    if _is_rich(label):
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(label.text())
        return math.ceil(doc.size().height())
    lines = label.text().count("\n") + 1
    fm = label.fontMetrics()
    return fm.height() + (lines - 1) * fm.lineSpacing()


def _label_room(label: QLabel) -> int:
    """Width the label has for its text."""
    indent = max(0, label.indent())
    return label.contentsRect().width() - 2 * label.margin() - indent


def _check_label(label: QLabel) -> str | None:
    if _elides_on_purpose(label) or not label.text():
        return None
    if not label.wordWrap():
        need, room = _label_text_width(label), _label_room(label)
        if need > room:
            return f"text needs {need} px, has {room} px (no word wrap): " \
                   f"{label.text()[:80]!r}"
        need_h = _label_text_height(label)
        room_h = label.contentsRect().height() - 2 * label.margin()
        if need_h > room_h + 1:
            return f"text needs {need_h} px high, has {room_h} px: {label.text()[:80]!r}"
        return None
    need_w = label.minimumSizeHint().width()
    if need_w > label.width():
        return f"a word needs {need_w} px, label has {label.width()} px: {label.text()[:80]!r}"
    need_h = label.heightForWidth(label.width())
    if need_h > label.height() + 1:
        return f"wrapped text needs {need_h} px high, label has {label.height()} px: " \
               f"{label.text()[:80]!r}"
    return None


def _squeezed(widget: QWidget) -> str | None:
    """A widget below its own minimum size (a layout that ran out of room)."""
    if isinstance(widget, QSplitterHandle | QTabBar) or _elides_on_purpose(widget):
        return None
    policy = widget.sizePolicy()
    minimum = widget.minimumSizeHint()
    explicit = widget.minimumSize()
    short: list[str] = []
    ignored = QSizePolicy.Policy.Ignored
    # Fields with text show part of it by design (they scroll); what matters is their frame.
    if isinstance(widget, QLineEdit | QComboBox | QAbstractSpinBox | QAbstractScrollArea):
        return None
    if policy.horizontalPolicy() != ignored and minimum.width() > 0 and \
            widget.width() < max(minimum.width(), explicit.width()):
        short.append(f"width {widget.width()} < minimum {minimum.width()}")
    min_height = minimum.height()
    if policy.verticalPolicy() != ignored and min_height > 0 and \
            widget.height() < max(min_height, explicit.height()):
        short.append(f"height {widget.height()} < minimum {min_height}")
    return ", ".join(short) or None


def _needs_sideways_scroll(label: QLabel) -> str | None:
    """A label wider than the scroll area it is in: read only by scrolling sideways."""
    if _elides_on_purpose(label) or not label.text():
        return None
    w = label.parentWidget()
    while w is not None:
        area = w.parentWidget()
        if isinstance(area, QAbstractScrollArea) and w is area.viewport():
            left = label.mapTo(w, QPoint(0, 0)).x()
            if left + label.width() > w.width() + 1 and label.width() > 0:
                return f"reaches {left + label.width()} px in a {w.width()} px wide view: " \
                       f"read only by scrolling sideways: {label.text()[:80]!r}"
            return None
        w = area
    return None


def _unreachable(area: QScrollArea) -> str | None:
    """Content of a scroll area beyond a scroll bar that is switched off."""
    inner = area.widget()
    if inner is None or not inner.isVisible():
        return None
    off = Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    view = area.viewport()
    if area.horizontalScrollBarPolicy() == off and inner.width() > view.width():
        return f"content {inner.width()} px wide in a {view.width()} px view without a " \
               "horizontal scroll bar"
    if area.verticalScrollBarPolicy() == off and inner.height() > view.height():
        return f"content {inner.height()} px high in a {view.height()} px view without a " \
               "vertical scroll bar"
    return None


def _cut_items(tree: QTreeWidget) -> list[str]:
    """Tree cells whose text is elided (wider than the column), except in columns the tree
    declares elided on purpose (property ``elidedColumns``: the full text is the tooltip)."""
    allowed = set(tree.property("elidedColumns") or ())
    header = tree.header()
    fm = tree.fontMetrics()
    margin = 2 * (tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
    out: list[str] = []
    it = QTreeWidgetItemIterator(tree)
    while it.value() is not None:
        item = it.value()
        it += 1
        up = item.parent()
        if item.isHidden() or (up is not None and not up.isExpanded()):
            continue
        depth = 0
        parent = item.parent()
        while parent is not None:
            depth += 1
            parent = parent.parent()
        for col in range(tree.columnCount()):
            if col in allowed or header.isSectionHidden(col) or not item.text(col):
                continue
            need = max(fm.horizontalAdvance(line) for line in item.text(col).split("\n"))
            need += margin
            if not item.icon(col).isNull():
                need += tree.iconSize().width() if tree.iconSize().isValid() else 16
                need += 4
            if col == header.logicalIndex(0):
                need += tree.indentation() * (depth + (1 if tree.rootIsDecorated() else 0))
            have = header.sectionSize(col)
            if need > have and tree.wordWrap():  # wrapped: cut only if the row is too low
                room = QRect(0, 0, max(1, have - (need - fm.horizontalAdvance(
                    item.text(col).split("\n")[0]))), 100000)
                flags = int(Qt.TextFlag.TextWordWrap)
                if fm.boundingRect(room, flags, item.text(col)).height() <= \
                        tree.visualItemRect(item).height():
                    continue
            if need > have:
                out.append(f"column {col} needs {need} px, has {have} px: "
                           f"{item.text(col)[:80]!r}")
    return out


def audit(window: QWidget) -> list[Problem]:
    """Every visible widget of ``window`` that a person could not read in full."""
    problems: list[Problem] = []
    if isinstance(window, QTreeWidget):
        problems += [Problem("cut", describe(window), c) for c in _cut_items(window)]
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window) or widget.isWindow():
            continue
        parent = widget.parentWidget()
        if parent is None:
            continue
        name = describe(widget)
        scrolls = _in_scroll_viewport(widget, window)
        if not scrolls:
            inside = parent.rect()
            geo: QRect = widget.geometry()
            if widget.width() > 0 and widget.height() > 0 and not inside.contains(geo):
                problems.append(Problem(
                    "clipped", name,
                    f"geometry {geo.x()},{geo.y()} {geo.width()}x{geo.height()} outside its "
                    f"parent's {inside.width()}x{inside.height()}"))
                continue
            top_left = widget.mapTo(window, QPoint(0, 0))
            if not window.rect().contains(QRect(top_left, widget.size())):
                problems.append(Problem("clipped", name, "outside the window"))
                continue
            squeezed = None if isinstance(widget, QLabel) else _squeezed(widget)
            if squeezed:
                problems.append(Problem("squeezed", name, squeezed))
                continue
        if isinstance(widget, QScrollArea):
            hidden = _unreachable(widget)
            if hidden:
                problems.append(Problem("clipped", name, hidden))
        if isinstance(widget, QTreeWidget):
            problems += [Problem("cut", name, c) for c in _cut_items(widget)]
        if isinstance(widget, QLabel):
            cut = _check_label(widget) or (_needs_sideways_scroll(widget) if scrolls else None)
            if cut:
                problems.append(Problem("cut", name, cut))
    return problems


def audit_size(window: QWidget, width: int, height: int) -> list[Problem]:
    """``audit`` plus: the window could take the size asked for (its minimum fits the screen)."""
    problems = []
    if window.width() > width or window.height() > height:
        problems.append(Problem(
            "window", describe(window),
            f"is {window.width()}x{window.height()}, more than the {width}x{height} screen "
            f"(minimum {window.minimumSizeHint().width()}x{window.minimumSizeHint().height()})"))
    return problems + audit(window)
