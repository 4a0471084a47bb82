"""Page 5: the configuration diff and the plan checklist. Nothing is written before Deploy."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout

from gui import backend
from gui.pages.base import Page, note
from gui.widgets.diff_view import DiffView
from gui.widgets.plan_checklist import PlanChecklist


class PreviewPage(Page):
    def __init__(self) -> None:
        super().__init__("Preview",
                         "Exactly what Deploy will do. Secrets are shown redacted. Nothing has "
                         "been written yet.")
        self.setObjectName("previewPage")
        self.setCommitPage(True)  # Deploy is the point of no return; Back is gone after it.
        self.diff = DiffView()
        self.checklist = PlanChecklist()
        self.warnings = QLabel("")
        self.warnings.setObjectName("planWarnings")
        self.warnings.setWordWrap(True)
        self.status = QLabel("")
        self.status.setObjectName("previewStatus")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.diff, "Configuration d&iff")
        self.tabs.addTab(self.checklist, "&Plan")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.warnings)
        layout.addWidget(note("Deploy keeps a backup of every file it replaces and rolls back by "
                              "itself if any step fails."))

    def initializePage(self) -> None:
        self.state.forget_plan()
        self.diff.set_diff("", "", "")
        self.checklist.set_plan(None)
        self.warnings.setText("")
        if not self.state.chain_ready():
            self.status.setText(
                "The certificate chain is not ready for IoT Edge "
                f"{self.state.release_key} (still being made, or it has errors): go Back to "
                "the Certificate chain page.")
            return
        self.status.setText("Computing the plan…")
        self.run(backend.make_preview, backend.plan_request(self.state),
                 on_success=self._show, on_failure=self._failed)

    def _show(self, preview: Any) -> None:
        self.state.plan = preview
        self.status.setText(backend.describe_preview(preview))
        unified, before, after = backend.preview_diff(preview)
        self.diff.set_diff(unified, before, after)
        self.checklist.set_plan(backend.preview_plan(preview))
        warnings = backend.preview_warnings(preview)
        self.warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.completeChanged.emit()

    def _failed(self, exc: BaseException) -> None:
        from gui import dialogs

        self.status.setText(f"No plan: {exc}")
        dialogs.show_error(self, exc)

    def ready(self) -> bool:
        return self.state.plan is not None
