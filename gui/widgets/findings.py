"""Validation findings with their hints, in full: errors block, warnings inform.

Each finding is a small panel: an icon, the message (with the certificate it is about) and the
hint, all word-wrapped and selectable, so nothing is cut off or only in a tooltip. A finding
about the key names the file(s) the key came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

_ICONS = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
}

KEY_CODES = frozenset({"key-mismatch"})
"""Findings about the private key: they name the file(s) that held a key."""

_MAX_SNIFF = 4 * 1024 * 1024


def severity_of(finding: Any) -> str:
    value = getattr(finding, "severity", "info")
    value = getattr(value, "value", value)  # an Enum member or a plain string
    return str(value).lower()


def holds_private_key(path: Path) -> bool:
    """Whether a local file holds a private key (PEM block, PFX, or a plain DER key)."""
    if path.suffix.lower() in {".pfx", ".p12"}:
        return True
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_SNIFF)
    except OSError:
        return False
    if b"PRIVATE KEY-----" in data:
        return True
    if b"-----BEGIN" in data:
        return False
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        load_der_private_key(data, None)
    except (ValueError, TypeError):
        return False
    return True


def key_files(files: Sequence[str | Path]) -> list[str]:
    """The files of ``files`` that hold a private key, in order."""
    return [str(f) for f in files if holds_private_key(Path(f).expanduser())]


def _wrapped(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


class FindingEntry(QFrame):
    """One finding: icon, message, and "What to do: …"."""

    def __init__(self, severity: str, message: str, hint: str, style: QStyle) -> None:
        super().__init__()
        self.severity = severity
        self.setObjectName(f"finding_{severity}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        icon = QLabel()
        icon.setObjectName("findingIcon")
        size = style.pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(style.standardIcon(_ICONS.get(severity, _ICONS["info"])).pixmap(size))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setAccessibleName(severity)
        self.message_label = _wrapped(message, "findingMessage")
        if severity == "error":
            self.message_label.setStyleSheet("font-weight: bold;")
        self.hint_label = _wrapped(f"What to do: {hint}" if hint else "", "findingHint")
        self.hint_label.setVisible(bool(hint))
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(2)
        text.addWidget(self.message_label)
        text.addWidget(self.hint_label)
        text.addStretch(1)  # spare height below the hint, never between message and hint
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)


class FindingsList(QScrollArea):
    """The findings, errors first, each with its hint shown in full."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findingsList")
        self.setWidgetResizable(True)
        # Cards and panels fit the width; a scroll bar only if a name has no break in it.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.findings: tuple[Any, ...] = ()
        self.entries: list[FindingEntry] = []
        self._show([])

    def _show(self, entries: list[FindingEntry], empty: str = "") -> None:
        inner = QWidget()
        inner.setObjectName("findingEntries")
        # The scroll area sizes the panels by height-for-width at its width; the minimum of
        # wrapped labels (their height at their narrowest) would add blank space and a bar.
        inner.setMinimumHeight(1)
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(3)
        title = QLabel("<b>Findings</b>")
        title.setObjectName("findingsTitle")
        layout.addWidget(title)
        if empty:
            ok = _wrapped(empty, "findingsEmpty")
            layout.addWidget(ok)
        for entry in entries:
            layout.addWidget(entry)
        layout.addStretch(1)
        self.entries = entries
        self.setWidget(inner)

    def set_findings(self, findings: Sequence[Any], *,
                     files: Sequence[str | Path] = ()) -> None:
        """Show ``findings``; ``files`` are the input files, named in findings about the key."""
        self.findings = tuple(findings)
        order = {"error": 0, "warning": 1}
        entries = []
        holders: list[str] | None = None
        for f in sorted(self.findings, key=lambda f: order.get(severity_of(f), 2)):
            sev = severity_of(f)
            message = str(getattr(f, "message", f))
            where = getattr(f, "where", None) or getattr(f, "subject", None)
            if where:
                message = f"{where}: {message}"
            if getattr(f, "code", "") in KEY_CODES and files:
                holders = key_files(files) if holders is None else holders
                if len(holders) == 1:
                    message += f"\nKey file: {holders[0]}"
                elif holders:
                    message += "\nKey files: " + ", ".join(holders)
            hint = str(getattr(f, "hint", "") or "")
            entries.append(FindingEntry(sev, message, hint, self.style()))
        self._show(entries, "" if self.findings else "No problems found.")

    def clear(self) -> None:
        """Nothing to show (no chain)."""
        self.findings = ()
        self._show([])

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[severity_of(f)] = out.get(severity_of(f), 0) + 1
        return out
