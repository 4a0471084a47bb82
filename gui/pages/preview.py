"""Page 5: the configuration diff and the plan checklist. Nothing is written before Deploy."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from gui import backend
from gui.pages.base import Page, note
from gui.shared import Shared
from gui.widgets.diff_view import DiffView
from gui.widgets.plan_checklist import PlanChecklist


class PreviewPage(Page):
    def __init__(self, shared: Shared) -> None:
        super().__init__(shared, "Preview",
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
        self.certs = QTreeWidget()
        self.certs.setObjectName("certChanges")
        self.certs.setHeaderLabels(["", "Now on the device", "After Deploy"])
        self.certs.setRootIsDecorated(False)
        self.certs.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.certs, "Cer&tificates")
        self.tabs.addTab(self.diff, "Configuration d&iff")
        self.tabs.addTab(self.checklist, "&Plan")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.warnings)
        self._waiting = False
        """Waiting for the chain page to settle (connected to ``chain_settled``)."""
        shared.commit_point.connect(self._commit_point)
        layout.addWidget(note("Deploy keeps a backup of every file it replaces and rolls back by "
                              "itself if any step fails."))

    def initializePage(self) -> None:
        from PySide6.QtWidgets import QWizard

        bundle = self.state.target_kind == "bundle"
        self.setButtonText(QWizard.WizardButton.CommitButton,
                           "&Export bundle" if bundle else "&Deploy")
        self.state.forget_plan()
        self.diff.set_diff("(computing the plan…)", "", "")
        self.certs.clear()
        self.checklist.set_plan(None)
        self.warnings.setText("")
        if not self.state.chain_ready():
            if self.shared.chain_busy:
                # Being made again (the device runs another release): plan once it is ready.
                self.status.setText("Waiting for the certificate chain, being made again for "
                                    f"IoT Edge {self.state.release_key}…")
                self.diff.set_diff("(waiting for the certificate chain…)", "", "")
                self._waiting = True
                self.shared.chain_settled.connect(self._chain_changed)
                return
            self.status.setText(
                "The certificate chain is not ready for IoT Edge "
                f"{self.state.release_key} (it has errors): go Back to the Certificate chain "
                "page.")
            self.diff.set_diff("(no plan: the certificate chain is not ready)", "", "")
            return
        self._compute()

    def _commit_point(self, commit: bool) -> None:
        """The deploy page says whether this page is the point of no return just now."""
        if self.isCommitPage() != commit:
            self.setCommitPage(commit)

    def _stop_waiting(self) -> None:
        if self._waiting:
            self.shared.chain_settled.disconnect(self._chain_changed)
            self._waiting = False

    def _chain_changed(self) -> None:
        self._stop_waiting()
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self and self.state.plan is None:
            self.initializePage()

    def cleanupPage(self) -> None:
        self._stop_waiting()
        super().cleanupPage()

    def _compute(self) -> None:
        self.status.setText("Computing the plan…")
        self.run(backend.make_preview, backend.plan_request(self.state),
                 on_success=self._show, on_failure=self._failed)

    def _show(self, preview: Any) -> None:
        self.state.plan = preview
        self.status.setText(backend.describe_preview(preview))
        unified = preview.unified
        if not unified.strip():
            unified = (f"{preview.config_path} itself is unchanged: it already names the same "
                       "files." + ("\nThe certificates in those files are replaced: see "
                                   "Certificates." if preview.certs_changed else ""))
        self.diff.show_diff(unified, preview.side)
        self._show_certs(preview)
        self.checklist.set_plan(preview.plan)
        warnings = backend.preview_warnings(preview)
        self.warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.completeChanged.emit()

    def _show_certs(self, preview: Any) -> None:
        self.certs.clear()
        for change in preview.certs:
            mark = "changes" if change.changed else "unchanged"
            head = QTreeWidgetItem([f"{change.role} ({mark})", change.before.path or "",
                                    change.after.path or ""])
            font = head.font(0)
            font.setBold(True)
            for col in range(3):
                head.setFont(col, font)
            self.certs.addTopLevelItem(head)
            rows = max(len(change.before.certs), len(change.after.certs), 1)
            for i in range(rows):
                old = change.before.certs[i] if i < len(change.before.certs) else None
                new = change.after.certs[i] if i < len(change.after.certs) else None
                for label, get in (("Subject", lambda c: c.subject),
                                   ("Issuer", lambda c: c.issuer),
                                   ("SHA-256", lambda c: c.sha256),
                                   ("Expires", lambda c: f"{c.not_after:%Y-%m-%d %H:%M} UTC")):
                    left = get(old) if old is not None else (change.before.note if i == 0
                                                             else "")
                    right = get(new) if new is not None else (change.after.note if i == 0
                                                              else "")
                    item = QTreeWidgetItem([label, left, right])
                    item.setToolTip(1, left)
                    item.setToolTip(2, right)
                    self.certs.addTopLevelItem(item)
        self.certs.resizeColumnToContents(0)

    def _failed(self, exc: BaseException) -> None:
        from gui import dialogs

        self.status.setText(f"No plan: {exc}")
        if self.state.target_kind == "bundle" and backend.unprovisioned(self.state.device_state):
            self.status.setText(f"No plan: {exc}\nFor a bundle: give the device's own "
                                "config.toml (with its provisioning) on the Target page.")
        # Never "No change" under an error: there is no plan to compare.
        self.diff.set_diff(f"No plan, so nothing to compare: {exc}", "", "")
        self.certs.clear()
        dialogs.show_error(self, exc)

    def ready(self) -> bool:
        return self.state.plan is not None
