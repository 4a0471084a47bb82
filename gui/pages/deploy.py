"""Page 6: the deploy itself: per-step progress, bytes, live log, safe Cancel, rollback message.

For an export bundle the same page writes the bundle folder: nothing reaches a device, so
nothing is marked applied or checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWizard,
)

from core.bundle import BundleReport
from core.deploy import DeployFailedError, DeployReport
from core.errors import CancelledError, DeployError, DriftError, EdgecertError, RollbackError
from core.progress import CancelToken, ProgressEvent
from gui import backend, dialogs
from gui.pages.base import Page
from gui.shared import Shared
from gui.widgets.plan_checklist import PlanChecklist, phase_of

DeviceEnded = Literal["", "before", "after", "unknown"]
"""What the device ended as: exactly as before, exactly as previewed, or not known."""

_GREEN = "color: #2e9d4f; font-weight: bold;"
_AMBER = "color: #b07800; font-weight: bold;"
_RED = "color: #d0312d; font-weight: bold;"

WRITTEN = "written"
"""Checklist status of a row an export bundle holds (written to the folder, applied later)."""
NOT_APPLIED = "not applied (install.sh on the device)"


def device_ended(exc: BaseException) -> DeviceEnded:
    """What the device is after a deploy that raised ``exc`` (core's error classes say it)."""
    if isinstance(exc, RollbackError):
        return "unknown"  # the report names what is where
    if isinstance(exc, CancelledError | DeployFailedError | DriftError):
        return "before"
    if type(exc) is DeployError:
        return "before"  # core: failed before any change
    from core.errors import InputError

    if isinstance(exc, InputError):
        return "before"
    return "unknown"


class DeployPage(Page):
    finished = Signal()
    """The deploy (or export) ended, whichever way."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared, "Deploy",
                         "Stop is safe at any time: whatever was changed is put back.")
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
        self.retry_button = QPushButton("&Retry the deploy")
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setToolTip("Deploy the same plan again (the device is read again "
                                     "first). To change something, go Back.")
        self.retry_button.hide()
        self.retry_button.clicked.connect(self.retry)
        retry_row = QHBoxLayout()
        retry_row.addWidget(self.banner, 1)
        retry_row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.checklist)
        split.addWidget(self.log)
        layout = QVBoxLayout(self)
        layout.addWidget(self.step_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.bytes_label)
        layout.addWidget(split, 1)
        layout.addLayout(retry_row)
        self._cancel: CancelToken | None = None
        self._stop_asked = False
        self.outcome = ""
        """"", "done", "cancelled", "rolled back", "rollback failed" or "failed" (unchanged)."""
        self.ended: DeviceEnded = ""
        """What the device ended as (``before``/``after``/``unknown``), from core's outcome."""

    @property
    def is_bundle(self) -> bool:
        return self.state.target_kind == "bundle"

    def initializePage(self) -> None:
        self._start()

    def _start(self) -> None:
        self.state.deploy_report = None
        self.outcome = ""
        self.ended = ""
        self._stop_asked = False
        self.log.clear()
        self.banner.setText("")
        self.banner.setStyleSheet("")
        self.bytes_label.setText("")
        self.retry_button.hide()
        self._preview_commits(True)  # no Back while the device is being changed
        if self.is_bundle:
            self.setTitle("Export the bundle")
            self.setSubTitle("Writes the bundle folder only; nothing is sent to a device. "
                             "install.sh applies it on the device later.")
        else:
            self.setTitle("Deploy")
            self.setSubTitle("Stop is safe at any time: whatever was changed on the device is "
                             "put back.")
        preview = self.state.plan
        self.checklist.set_plan(preview.plan if preview is not None else None)
        self.progress.setRange(0, max(1, len(self.checklist.rows)))
        self.progress.setValue(0)
        self._cancel = CancelToken()
        if self.is_bundle:
            self.step_label.setText("Writing the bundle…")
            self._log(f"Writing the export bundle to {self.state.bundle_dir}")
        else:
            self.step_label.setText("Starting…")
            self._log(f"Deploying to {backend.target_label(self.state)}")
        self.run(backend.deploy, backend.target_request(self.state), self.state.plan,
                 on_success=self._done, on_failure=self._failed, on_progress=self._progressed,
                 cancel=self._cancel)
        self._enable_cancel(True)

    def _enable_cancel(self, on: bool) -> None:
        wizard = self.wizard()
        if wizard is not None:
            wizard.button(QWizard.WizardButton.CancelButton).setEnabled(on)

    def retry(self) -> None:
        """Deploy the same plan again after a failure (core re-reads the device first)."""
        if self.busy:
            return
        self._log("Retrying…")
        self._start()

    def _preview_commits(self, commit: bool) -> None:
        """The preview is the point of no return while a deploy runs; after a failure the
        technician may go Back to fix the cause."""
        self.shared.commit_point.emit(commit)
        self.completeChanged.emit()  # the wizard re-reads whether Back is allowed

    def cleanupPage(self) -> None:
        # Back to the preview: Deploy is its button again.
        self.shared.commit_point.emit(True)
        super().cleanupPage()

    # -- progress ----------------------------------------------------------------------------
    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{dt.datetime.now():%H:%M:%S}  {text}")

    def _progressed(self, event: ProgressEvent) -> None:
        if self.is_bundle:
            if event.total:
                # One event per file; the file names inside the bundle are its own business.
                self.step_label.setText(f"Writing the bundle: {event.done} of {event.total} "
                                        "files")
                self.progress.setRange(0, event.total)
                self.progress.setValue(event.done)
            return
        phase = backend.step_phase(event)
        if event.step == "upload" and event.total:
            self.bytes_label.setText(f"{event.done:,} of {event.total:,} bytes uploaded")
            return  # one line per file would flood the log
        if not self._stop_asked:
            self.step_label.setText(event.message or event.step)
        if phase is not None:
            self.checklist.mark_phase(phase)
            done = sum(1 for r in self.checklist.rows if self.checklist.status(r.key) == "done")
            self.progress.setValue(done)
        self._log(event.message or event.step)

    # -- results -------------------------------------------------------------------------------
    def _done(self, report: DeployReport | BundleReport) -> None:
        self.state.deploy_report = report
        self.outcome = "done"
        self.ended = "after"
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        if isinstance(report, BundleReport):
            for row in self.checklist.rows:
                installs = phase_of(row.key) == "install"
                self.checklist.set_status(row.key, WRITTEN if installs else NOT_APPLIED)
            text = (f"Bundle written to {report.path}. "
                    "Nothing was applied: copy it to the device and run install.sh as root.")
            self.step_label.setText("Bundle written.")
        else:
            self.checklist.set_all("done", only="running")
            self.checklist.set_all("done", only="pending")
            text = backend.describe_deploy(report)
            text = text[:1].upper() + text[1:]
            if self._stop_asked:
                text += (". The stop came too late to take effect: the deploy had finished, "
                         "the device has the new configuration exactly as previewed")
            unchanged = report.outcome == "already-deployed"
            self.step_label.setText("Nothing to change." if unchanged else "Deployed.")
        self._log(text)
        self.banner.setText("✔ " + text)
        self.banner.setStyleSheet(_GREEN)
        self._ended()
        self._enable_cancel(False)

    def _failed(self, exc: BaseException) -> None:
        self.checklist.set_all("failed", only="running")
        self.ended = "unknown" if self.is_bundle else device_ended(exc)
        if self.is_bundle:
            self.outcome = "failed"
            self.step_label.setText("The bundle was not written.")
            hint = exc.hint if isinstance(exc, EdgecertError) else ""
            text = (f"Export failed: {exc}\nNo bundle was left behind; no device was touched."
                    + (f"\nWhat to do: {hint}" if hint else ""))
            self.banner.setStyleSheet(_RED)
        elif isinstance(exc, CancelledError):
            self.outcome = "cancelled"
            self.checklist.set_all("rolled back", only="done")
            self.step_label.setText("Stopped.")
            text = ("Stopped. The device is exactly as it was before: every change made so far "
                    "was rolled back.")
            self.banner.setStyleSheet(_AMBER)
        elif isinstance(exc, RollbackError):
            self.outcome = "rollback failed"
            self.step_label.setText("Deploy failed; rollback incomplete.")
            text = (f"Deploy FAILED and the rollback FAILED too: {exc}\n"
                    f"What to do: {exc.hint}")
            self.banner.setStyleSheet(_RED)
        elif isinstance(exc, DeployFailedError):
            self.outcome = "rolled back"
            self.checklist.set_all("rolled back", only="done")
            self.step_label.setText("Deploy failed; rolled back.")
            text = (f"Deploy failed: {exc.failure}\nThe device was rolled back: it is exactly "
                    "as it was before; nothing of this deploy is left on it.\n"
                    f"What to do: {exc.hint}")
            self.banner.setStyleSheet(_RED)
        else:
            # Failed before the device was changed (drift, no space for the backup, login…).
            self.outcome = "failed"
            self.step_label.setText("Deploy failed.")
            hint = exc.hint if isinstance(exc, EdgecertError) else ""
            untouched = self.ended == "before"
            text = (f"Deploy failed: {exc}" + ("\nThe device was not changed." if untouched
                                               else "")
                    + (f"\nWhat to do: {hint}" if hint else ""))
            self.banner.setStyleSheet(_RED)
        self._log(text)
        self.banner.setText(text)
        self.retry_button.setVisible(True)
        self._ended()
        self._preview_commits(False)  # Back is allowed again: fix the cause, deploy again
        if not isinstance(exc, CancelledError):
            dialogs.show_error(self, exc)

    def _ended(self) -> None:
        self.completeChanged.emit()
        self.finished.emit()

    # -- cancel --------------------------------------------------------------------------------
    def intercept_cancel(self) -> bool:
        """Cancel while deploying: stop safely and stay open to show what the device is."""
        if not self.busy:
            return False
        what = "export" if self.is_bundle else "deploy"
        yes = dialogs.ask_yes_no(
            self, f"Stop the {what}",
            f"Stop the {what} now? Everything changed so far is put back.",
            moot=self.finished)
        if not self.busy:
            # The work ended while the question was open: there is nothing left to stop.
            self._log(f"The {what} had already ended: there was nothing to stop.")
            return True
        if yes:
            self._stop_asked = True
            if self._cancel is not None:
                self._cancel.cancel()
            self._log("Stopping: what was changed is being put back…")
            self.step_label.setText("Stopping at the next safe point…")
        return True

    def close_question(self) -> str:
        if self.busy:
            return "The deploy is still running. Close anyway?"
        if self.outcome in ("failed", "rolled back", "cancelled"):
            return ("Nothing was deployed. Close edgecert anyway? (Back or Retry lets you fix "
                    "the cause and deploy again.)")
        if self.outcome == "rollback failed":
            return ("The rollback did not complete: the page says what to do on the device. "
                    "Close edgecert anyway?")
        return ""

    def loses_work_on_cancel(self) -> bool:
        return self.busy

    def ready(self) -> bool:
        return self.state.deploy_report is not None
