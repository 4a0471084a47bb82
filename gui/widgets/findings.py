"""Validation findings with their hints: errors block, warnings inform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import QStyle, QTreeWidget, QTreeWidgetItem, QWidget

_ICONS = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
}


def severity_of(finding: Any) -> str:
    value = getattr(finding, "severity", "info")
    value = getattr(value, "value", value)  # an Enum member or a plain string
    return str(value).lower()


class FindingsList(QTreeWidget):
    """One row per finding (severity, message); its hint as a child row and tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findingsList")
        self.setColumnCount(2)
        self.setHeaderLabels(["Severity", "Finding"])
        self.setRootIsDecorated(True)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.findings: tuple[Any, ...] = ()

    def set_findings(self, findings: Sequence[Any]) -> None:
        self.clear()
        self.findings = tuple(findings)
        order = {"error": 0, "warning": 1}
        for f in sorted(self.findings, key=lambda f: order.get(severity_of(f), 2)):
            sev = severity_of(f)
            message = str(getattr(f, "message", f))
            where = getattr(f, "where", None) or getattr(f, "subject", None)
            if where:
                message = f"{where}: {message}"
            item = QTreeWidgetItem([sev, message])
            item.setIcon(0, self.style().standardIcon(_ICONS.get(sev, _ICONS["info"])))
            hint = str(getattr(f, "hint", "") or "")
            if hint:
                item.setToolTip(1, hint)
                child = QTreeWidgetItem(["", f"What to do: {hint}"])
                item.addChild(child)
            self.addTopLevelItem(item)
            item.setExpanded(sev == "error")
        if not self.findings:
            self.addTopLevelItem(QTreeWidgetItem(["ok", "No problems found."]))
        self.resizeColumnToContents(0)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[severity_of(f)] = out.get(severity_of(f), 0) + 1
        return out
