"""The deploy plan as a checklist: what is done, by whom, with which mode; status per step."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QStyle, QTreeWidget, QTreeWidgetItem, QWidget

from core.plan import Plan
from core.targets import quote_argv


@dataclass(frozen=True)
class PlanRow:
    """One checklist line."""

    key: str
    """Stable id used to mark progress (``dir:/var/aziot``, ``file:/var/aziot/…``, ``config``…)."""
    action: str
    subject: str
    owner: str = ""
    mode: str = ""


def plan_rows(plan: Plan) -> list[PlanRow]:
    """The steps of a plan in the order a deploy runs them (presentation only)."""
    rows = [PlanRow(f"dir:{d.path}", "Directory", d.path, f"{d.owner}:{d.group}", f"{d.mode:04o}")
            for d in plan.dirs]
    for f in plan.files:
        what = "Key file (secret)" if f.secret else "Certificate file"
        rows.append(PlanRow(f"file:{f.path}", what, f"{f.path}  ({len(f.data)} bytes)",
                            f"{f.owner}:{f.group}", f"{f.mode:04o}"))
    c = plan.config
    rows.append(PlanRow("config", "Configuration" + ("" if c.changed else " (unchanged)"),
                        c.path, f"{c.owner}:{c.group}", f"{c.mode:04o}"))
    for path in plan.clear.files:
        rows.append(PlanRow(f"clear:{path}", "Delete stale state", path))
    for path in plan.clear.dir_contents:
        rows.append(PlanRow(f"clear:{path}", "Empty stale state folder", path))
    for cmd in plan.apply:
        rows.append(PlanRow(f"apply:{quote_argv(cmd.argv)}", "Apply: " + cmd.purpose,
                            ("sudo " if cmd.sudo else "") + quote_argv(cmd.argv)))
    for cmd in plan.check:
        rows.append(PlanRow(f"check:{quote_argv(cmd.argv)}", "Check: " + cmd.purpose,
                            ("sudo " if cmd.sudo else "") + quote_argv(cmd.argv)))
    return rows


PHASE_PREFIXES: dict[str, tuple[str, ...]] = {
    "install": ("dir:", "file:", "config", "clear:"),
    "apply": ("apply:",),
    "check": ("check:",),
    "done": (),
}
"""Which checklist rows each deploy phase carries out."""


def phase_of(key: str) -> str | None:
    for phase, prefixes in PHASE_PREFIXES.items():
        if key.startswith(prefixes):
            return phase
    return None


_STATUS_ICONS = {
    "pending": None,
    "running": QStyle.StandardPixmap.SP_BrowserReload,
    "done": QStyle.StandardPixmap.SP_DialogApplyButton,
    "failed": QStyle.StandardPixmap.SP_DialogCancelButton,
    "rolled back": QStyle.StandardPixmap.SP_ArrowBack,
}


class PlanChecklist(QTreeWidget):
    """Rows of the plan with a status column (pending, running, done, failed, rolled back)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planChecklist")
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setHeaderLabels(["Status", "Step", "Path / command", "Owner", "Mode"])
        # Long paths keep their start and file name; the whole path is the cell's tooltip.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setProperty("elidedColumns", [2])
        self.rows: list[PlanRow] = []
        self._items: dict[str, QTreeWidgetItem] = {}

    def set_plan(self, plan: Plan | None) -> None:
        self.clear()
        self._items.clear()
        self.rows = plan_rows(plan) if plan is not None else []
        for row in self.rows:
            item = QTreeWidgetItem(["pending", row.action, row.subject, row.owner, row.mode])
            item.setToolTip(2, row.subject)
            self.addTopLevelItem(item)
            self._items[row.key] = item
        header = self.header()
        header.setStretchLastSection(False)
        for col in (0, 1, 3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

    def status(self, key: str) -> str:
        item = self._items.get(key)
        return item.text(0) if item is not None else ""

    def set_status(self, key: str, status: str) -> bool:
        """Mark a row; returns False when the plan has no such row."""
        item = self._items.get(key)
        if item is None:
            return False
        item.setText(0, status)
        icon = _STATUS_ICONS.get(status)
        if icon is not None:
            item.setIcon(0, self.style().standardIcon(icon))
        self.scrollToItem(item)
        return True

    def mark_phase(self, phase: str) -> None:
        """A deploy phase started: rows of earlier phases are done, its own rows running."""
        order = list(PHASE_PREFIXES)
        if phase not in order:
            return
        current = order.index(phase)
        for row in self.rows:
            row_phase = phase_of(row.key)
            if row_phase is None or self.status(row.key) in ("failed", "rolled back"):
                continue
            index = order.index(row_phase)
            if index < current:
                self.set_status(row.key, "done")
            elif index == current:
                self.set_status(row.key, "running")

    def set_all(self, status: str, *, only: str | None = None) -> None:
        for key, item in self._items.items():
            if only is None or item.text(0) == only:
                self.set_status(key, status)
