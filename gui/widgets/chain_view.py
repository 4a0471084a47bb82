"""The chain as cards, edge CA first (the certificate being installed), then its issuers.

Each card shows the subject, issuer, validity with a drawn lifetime bar (elapsed against
remaining, days left as text), the whole SHA-256 fingerprint and the key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFontDatabase,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class CertRow:
    """What one card shows; built from core's certificate summary by ``gui.backend``."""

    role: str
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    key: str = ""
    is_ca: bool = True
    pathlen: int | None = None


def days_left(row: CertRow, now: dt.datetime) -> int:
    return (row.not_after - now).days


def elapsed_fraction(row: CertRow, now: dt.datetime) -> float:
    total = (row.not_after - row.not_before).total_seconds()
    if total <= 0:
        return 1.0
    return min(1.0, max(0.0, (now - row.not_before).total_seconds() / total))


def bar_level(row: CertRow, now: dt.datetime, warning_days: int) -> str:
    """``expired``, ``warning`` (under the release's warning days or 80 % used) or ``ok``."""
    if now >= row.not_after or now < row.not_before:
        return "expired"
    if days_left(row, now) < warning_days or elapsed_fraction(row, now) >= 0.8:
        return "warning"
    return "ok"


_BAR_COLOURS = {"ok": "#2e9d4f", "warning": "#d79b00", "expired": "#d0312d"}


def fingerprint_pairs(hexdigest: str) -> list[str]:
    """``AB``, ``CD``… from a hex digest with or without colons."""
    h = hexdigest.replace(":", "").upper()
    return [h[i:i + 2] for i in range(0, len(h), 2)]


def fingerprint_lines(hexdigest: str, per_line: int) -> list[str]:
    """The fingerprint as colon-separated pairs, ``per_line`` pairs a line (colon at line ends)."""
    pairs = fingerprint_pairs(hexdigest)
    lines = [":".join(pairs[i:i + per_line]) for i in range(0, len(pairs), per_line)]
    return [line + ":" for line in lines[:-1]] + lines[-1:]


class FingerprintLabel(QLabel):
    """A whole fingerprint in monospace: as many pairs a line as the width allows (8, 16, 32).

    Never cut: it asks for the height its lines need and for the width of 8 pairs at least.
    """

    STEPS = (32, 16, 8)

    def __init__(self, hexdigest: str) -> None:
        super().__init__()
        self.setObjectName("fingerprint")
        self.digest = hexdigest
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        whole = ":".join(fingerprint_pairs(hexdigest))
        self.setToolTip(f"{whole}\n(right-click: Copy fingerprint, on one line)")
        self.setAccessibleName(f"SHA-256 fingerprint {whole}")
        self._per_line = 16
        super().setText("\n".join(fingerprint_lines(hexdigest, self._per_line)))

    def whole(self) -> str:
        """The fingerprint on one line, colon-separated (what "Copy fingerprint" copies)."""
        return ":".join(fingerprint_pairs(self.digest))

    def copy_fingerprint(self) -> None:
        QApplication.clipboard().setText(self.whole())

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = QMenu(self)
        menu.addAction("Copy fingerprint", self.copy_fingerprint)
        if self.hasSelectedText():
            menu.addAction("Copy selection",
                           lambda: QApplication.clipboard().setText(self.selectedText()))
        menu.exec(event.globalPos())

    def _line_width(self, per_line: int) -> int:
        chars = per_line * 3  # "AB:" each, the last colon of a line included
        m = self.contentsMargins()
        return self.fontMetrics().horizontalAdvance("0" * chars) + m.left() + m.right() + 2

    def _per_line_for(self, width: int) -> int:
        for n in self.STEPS:
            if self._line_width(n) <= width:
                return n
        return self.STEPS[-1]

    def _height_for(self, per_line: int) -> int:
        lines = len(fingerprint_lines(self.digest, per_line))
        m = self.contentsMargins()
        return lines * self.fontMetrics().lineSpacing() + m.top() + m.bottom() + 2

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._height_for(self._per_line_for(width))

    def minimumSizeHint(self) -> QSize:
        n = self.STEPS[-1]
        return QSize(self._line_width(n), self._height_for(self.STEPS[1]))

    def sizeHint(self) -> QSize:
        n = self.STEPS[1]
        return QSize(self._line_width(n), self._height_for(n))

    def resizeEvent(self, event: QResizeEvent) -> None:
        per_line = self._per_line_for(event.size().width())
        if per_line != self._per_line:
            self._per_line = per_line
            super().setText("\n".join(fingerprint_lines(self.digest, per_line)))
            self.updateGeometry()
        super().resizeEvent(event)


class LifetimeBar(QWidget):
    """Elapsed (grey) against remaining (green, amber or red) time of a certificate."""

    def __init__(self, fraction: float, level: str, text: str) -> None:
        super().__init__()
        self.setObjectName("lifetimeBar")
        self.fraction = min(1.0, max(0.0, fraction))
        self.level = level
        self._text = text
        self.colour = QColor(_BAR_COLOURS[level])
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(text)

    def format(self) -> str:
        """The text shown beside the bar (``N days left`` or ``expired``)."""
        return self._text

    def value(self) -> int:
        """Elapsed share in per mille."""
        return round(self.fraction * 1000)

    def sizeHint(self) -> QSize:
        return QSize(160, max(10, self.fontMetrics().height() // 2 + 4))

    def minimumSizeHint(self) -> QSize:
        return QSize(60, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = r.height() / 2
        outline = QPainterPath()
        outline.addRoundedRect(r, radius, radius)
        p.setPen(Qt.PenStyle.NoPen)
        p.fillPath(outline, self.colour)  # remaining: the whole bar, elapsed drawn over it
        x = r.left() + r.width() * self.fraction
        if self.fraction > 0:
            p.save()
            p.setClipPath(outline)
            p.fillRect(QRectF(r.left(), r.top(), x - r.left(), r.height()),
                       self.palette().color(QPalette.ColorRole.Mid))
            p.restore()
        if 0 < self.fraction < 1:  # "now"
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        p.setPen(self.palette().color(QPalette.ColorRole.Dark))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(r, radius, radius)
        p.end()


class CertCard(QFrame):
    def __init__(self, row: CertRow, now: dt.datetime, warning_days: int,
                 note: str = "") -> None:
        super().__init__()
        self.row = row
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"certCard_{row.role.replace(' ', '_')}")
        grid = QGridLayout(self)
        grid.setVerticalSpacing(3)
        title = QLabel(f"<b>{_esc(row.role)}</b>{_esc(note)}: {_esc(row.subject)}")
        title.setObjectName("cardTitle")
        title.setWordWrap(True)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(title, 0, 0, 1, 2)
        grid.addWidget(QLabel("Issued by"), 1, 0)
        grid.addWidget(_selectable(row.issuer), 1, 1)
        self.level = bar_level(row, now, warning_days)
        self.days = days_left(row, now)
        text = "expired" if self.level == "expired" and self.days < 0 else \
            ("not yet valid" if now < row.not_before else f"{self.days} days left")
        valid = _selectable(f"{row.not_before:%Y-%m-%d} to {row.not_after:%Y-%m-%d %H:%M} UTC",
                            wrap=False)
        grid.addWidget(QLabel("Valid"), 2, 0)
        grid.addWidget(valid, 2, 1)
        self.bar = LifetimeBar(elapsed_fraction(row, now), self.level, text)
        self.bar.setToolTip("Time passed (grey) and left (coloured) of the validity period; "
                            f"amber from 80 % or under {warning_days} days left, red when "
                            "expired.")
        self.bar.setAccessibleName(f"{row.role} validity: {text}")
        self.days_label = QLabel(text)
        self.days_label.setObjectName("daysLeft")
        self.days_label.setStyleSheet(f"color: {_BAR_COLOURS[self.level]}; font-weight: bold;"
                                      if self.level != "ok" else "")
        life = QHBoxLayout()
        life.setContentsMargins(0, 0, 0, 0)
        life.setSpacing(8)
        life.addWidget(self.bar, 1)
        life.addWidget(self.days_label)
        grid.addWidget(QLabel("Lifetime"), 3, 0)
        grid.addLayout(life, 3, 1)
        grid.addWidget(QLabel("SHA-256"), 4, 0, Qt.AlignmentFlag.AlignTop)
        self.fingerprint = FingerprintLabel(row.sha256)
        grid.addWidget(self.fingerprint, 4, 1)
        details = []
        if row.key:
            details.append(row.key)
        if row.is_ca:
            details.append("CA" + ("" if row.pathlen is None else f", pathlen {row.pathlen}"))
        else:
            details.append("not a CA")
        grid.addWidget(QLabel("Key"), 5, 0)
        grid.addWidget(_selectable(", ".join(details), wrap=False), 5, 1)
        grid.setColumnStretch(1, 1)


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def _selectable(text: str, *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


class ChainView(QScrollArea):
    """Cards from the edge CA (installed on the device) up to the root that signed it.

    ``set_rows`` takes the rows root first (as the backend builds them) and ``cards`` keeps
    that order; the view draws them edge CA first, so the certificate being installed is the
    one in sight.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chainView")
        self.setWidgetResizable(True)
        # Cards and panels fit the width; a scroll bar only if a name has no break in it.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.cards: list[CertCard] = []
        self._empty = QLabel("No chain loaded yet.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_rows([])

    @property
    def edge_card(self) -> CertCard | None:
        return self.cards[-1] if self.cards else None

    def set_rows(self, rows: Sequence[CertRow], *, warning_days: int = 7,
                 now: dt.datetime | None = None) -> None:
        when = now or dt.datetime.now(dt.UTC)
        inner = QWidget()
        inner.setObjectName("chainCards")
        inner.setMinimumHeight(1)  # height for the view's width, not the labels' narrowest
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(4)
        last = len(rows) - 1
        self.cards = [CertCard(r, when, warning_days,
                               " (installed on the device)" if i == last and last > 0 else "")
                      for i, r in enumerate(rows)]
        if not self.cards:
            self._empty = QLabel("No chain loaded yet.")
            self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(self._empty)
        for i, card in enumerate(reversed(self.cards)):
            if i:
                arrow = QLabel("↓ issued by")
                arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
                layout.addWidget(arrow)
            layout.addWidget(card)
        layout.addStretch(1)
        self.setWidget(inner)
