"""Page 6: the deploy itself: per-step progress, bytes, live log, safe Cancel, rollback message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar, QSplitter, QVBoxLayout

from core.deploy import DeployFailedError
from core.errors import CancelledError, DeployError, DriftError, RollbackError
from core.progress import CancelToken, ProgressEvent
from gui import backend, dialogs
from gui.pages.base import Page
from gui.widgets.plan_checklist import PlanChecklist


class DeployPage(Page):
    def __init__(self) -> None:
        super().__init__("Deploy", "Cancel is safe at any time: whatever was changed is put back.")
        self.setObjectName("deployPage")
        self.checklist = PlanChecklist()
        self.progress = QProgressBar()
        self.progress.setObjectName("deployProgress")
        self.bytes_label = QLabel("")
        self.bytes_label.setObjectName("bytesLabel")
        self.step_label = QLabel("")
        self.step_label.setObjectName("stepLabel")
        self.log = QPlainTextEdit()
        self.log.setObjectName("deployLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.banner = QLabel("")
        self.banner.setObjectName("resultBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.checklist)
        split.addWidget(self.log)
        layout = QVBoxLayout(self)
        layout.addWidget(self.step_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.bytes_label)
        layout.addWidget(split, 1)
        layout.addWidget(self.banner)
        self._cancel: CancelToken | None = None
        self.outcome = ""
        """"", "done", "cancelled", "rolled back", "rollback failed" or "failed" (unchanged)."""

    def initializePage(self) -> None:
        self.state.deploy_report = None
        self.state.check_report = None
        self.outcome = ""
        self.log.clear()
        self.banner.setText("")
        self.banner.setStyleSheet("")
        plan = backend.preview_plan(self.state.plan)
        self.checklist.set_plan(plan)
        self.progress.setRange(0, max(1, len(self.checklist.rows)))
        self.progress.setValue(0)
        self._cancel = CancelToken()
        self._log(f"Deploying to {backend.target_label(self.state)}")
        self.run(backend.deploy, backend.target_request(self.state), self.state.plan,
                 on_success=self._done, on_failure=self._failed, on_progress=self._progressed,
                 cancel=self._cancel)

    # -- progress ----------------------------------------------------------------------------
    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{dt.datetime.now():%H:%M:%S}  {text}")

    def _progressed(self, event: ProgressEvent) -> None:
        phase = backend.step_phase(event)
        if event.step == "upload" and event.total:
            self.bytes_label.setText(f"{event.done:,} of {event.total:,} bytes uploaded")
            return  # one line per file would flood the log
        self.step_label.setText(event.message or event.step)
        if phase is not None:
            self.checklist.mark_phase(phase)
            done = sum(1 for r in self.checklist.rows if self.checklist.status(r.key) == "done")
            self.progress.setValue(done)
        self._log(event.message or event.step)

    # -- results -------------------------------------------------------------------------------
    def _done(self, report: Any) -> None:
        self.state.deploy_report = report
        self.outcome = "done"
        self.checklist.set_all("done", only="running")
        self.checklist.set_all("done", only="pending")
        self.progress.setValue(self.progress.maximum())
        text = backend.describe_deploy(report)
        self._log(text)
        self.banner.setText("✔ " + text)
        self.banner.setStyleSheet("color: #2e9d4f; font-weight: bold;")
        self.completeChanged.emit()
        self.wiz.button(self.wiz.WizardButton.CancelButton).setEnabled(False)

    def _failed(self, exc: BaseException) -> None:
        self.checklist.set_all("failed", only="running")
        if isinstance(exc, CancelledError):
            self.outcome = "cancelled"
            self.checklist.set_all("rolled back", only="done")
            text = ("Cancelled. The device is as it was before: every change made so far was "
                    "rolled back.")
            self.banner.setStyleSheet("color: #d79b00; font-weight: bold;")
        elif isinstance(exc, RollbackError):
            self.outcome = "rollback failed"
            text = (f"Deploy FAILED and the rollback FAILED too: {exc}\n"
                    f"What to do: {exc.hint}")
            self.banner.setStyleSheet("color: #d0312d; font-weight: bold;")
        elif isinstance(exc, DeployFailedError):
            self.outcome = "rolled back"
            self.checklist.set_all("rolled back", only="done")
            text = (f"Deploy failed: {exc.failure}\nThe device was rolled back to how it was "
                    "before; nothing of this deploy is left on it.\n"
                    f"What to do: {exc.hint}")
            self.banner.setStyleSheet("color: #d0312d; font-weight: bold;")
        else:
            # Failed before the device was changed (drift, no space for the backup, login…).
            self.outcome = "failed"
            hint = getattr(exc, "hint", "")
            untouched = type(exc) in (DeployError, DriftError)  # core: failed before a change
            text = (f"Deploy failed: {exc}" + ("\nThe device was not changed." if untouched
                                               else "")
                    + (f"\nWhat to do: {hint}" if hint else ""))
            self.banner.setStyleSheet("color: #d0312d; font-weight: bold;")
        self._log(text)
        self.banner.setText(text)
        self.completeChanged.emit()
        if not isinstance(exc, CancelledError):
            dialogs.show_error(self, exc)

    # -- cancel --------------------------------------------------------------------------------
    def intercept_cancel(self) -> bool:
        """Cancel while deploying: stop safely and stay open to show the rollback."""
        if not self.busy:
            return False
        if dialogs.ask_yes_no(self, "Stop the deploy",
                              "Stop the deploy now? Everything changed so far is put back."):
            if self._cancel is not None:
                self._cancel.cancel()
            self._log("Cancelling: rolling back what was changed…")
            self.step_label.setText("Cancelling…")
        return True

    def loses_work_on_cancel(self) -> bool:
        return self.busy

    def ready(self) -> bool:
        return self.state.deploy_report is not None
