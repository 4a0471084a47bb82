"""The chain as cards, root → intermediate → edge CA: validity bars, days left, fingerprints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
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


def _pretty_fingerprint(hexdigest: str) -> str:
    """Colon-separated hex pairs on two lines (a SHA-256 fingerprint is 95 characters)."""
    h = hexdigest.replace(":", "").upper()
    pairs = [h[i:i + 2] for i in range(0, len(h), 2)]
    half = (len(pairs) + 1) // 2
    return ":".join(pairs[:half]) + ":\n" + ":".join(pairs[half:]) if len(pairs) > 16 \
        else ":".join(pairs)


class CertCard(QFrame):
    def __init__(self, row: CertRow, now: dt.datetime, warning_days: int) -> None:
        super().__init__()
        self.row = row
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"certCard_{row.role.replace(' ', '_')}")
        grid = QGridLayout(self)
        title = QLabel(f"<b>{row.role}</b>: {_esc(row.subject)}")
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(title, 0, 0, 1, 2)
        grid.addWidget(QLabel("Issued by"), 1, 0)
        grid.addWidget(_selectable(row.issuer), 1, 1)
        grid.addWidget(QLabel("Valid"), 2, 0)
        grid.addWidget(QLabel(f"{row.not_before:%Y-%m-%d} to {row.not_after:%Y-%m-%d %H:%M} UTC"),
                       2, 1)
        self.level = bar_level(row, now, warning_days)
        self.days = days_left(row, now)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(elapsed_fraction(row, now) * 1000))
        self.bar.setTextVisible(True)
        self.bar.setFormat("expired" if self.level == "expired" and self.days < 0
                           else f"{self.days} days left")
        self.bar.setStyleSheet(
            "QProgressBar { border: 1px solid palette(mid); border-radius: 3px; "
            "text-align: center; min-height: 1.2em; }"
            f"QProgressBar::chunk {{ background-color: {_BAR_COLOURS[self.level]}; }}")
        self.bar.setToolTip("How much of the validity period has passed; amber from 80 % or "
                            f"under {warning_days} days left, red when expired.")
        self.bar.setAccessibleName(f"{row.role} validity: {self.bar.format()}")
        grid.addWidget(QLabel("Lifetime"), 3, 0)
        grid.addWidget(self.bar, 3, 1)
        grid.addWidget(QLabel("SHA-256"), 4, 0)
        fp = _selectable(_pretty_fingerprint(row.sha256))
        fp.setObjectName("fingerprint")
        fp.setStyleSheet("font-family: monospace;")
        grid.addWidget(fp, 4, 1)
        details = []
        if row.key:
            details.append(row.key)
        if row.is_ca:
            details.append("CA" + ("" if row.pathlen is None else f", pathlen {row.pathlen}"))
        else:
            details.append("not a CA")
        grid.addWidget(QLabel("Key"), 5, 0)
        grid.addWidget(QLabel(", ".join(details)), 5, 1)
        grid.setColumnStretch(1, 1)


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def _selectable(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


class ChainView(QScrollArea):
    """Cards top to bottom from the root down to the edge CA."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chainView")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards: list[CertCard] = []
        self._empty = QLabel("No chain loaded yet.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_rows([])

    def set_rows(self, rows: Sequence[CertRow], *, warning_days: int = 7,
                 now: dt.datetime | None = None) -> None:
        when = now or dt.datetime.now(dt.UTC)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        self.cards = [CertCard(r, when, warning_days) for r in rows]
        if not self.cards:
            self._empty = QLabel("No chain loaded yet.")
            self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(self._empty)
        for i, card in enumerate(self.cards):
            if i:
                arrow = QLabel("↓ signs")
                arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
                layout.addWidget(arrow)
            layout.addWidget(card)
        layout.addStretch(1)
        self.setWidget(inner)
