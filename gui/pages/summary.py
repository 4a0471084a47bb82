"""Page 7: verify and summary: check results, expiry and renewal, thumbprints, backup, report."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
)

from gui import backend, dialogs, report
from gui.pages.base import Page
from gui.shared import Shared
from gui.widgets.wrapping_tree import WrappingTree

_RESULT_ICON = {"ok": "✔", "warning": "⚠", "error": "✖", "fatal": "✖", "skipped": "–",
                "ignored": "–"}


class SummaryPage(Page):
    def __init__(self, shared: Shared) -> None:
        super().__init__(shared, "Verified: summary",
                         "What the device reports now, and what to remember for the work order.")
        self.setObjectName("summaryPage")
        self.checks = WrappingTree()  # details of a failed check wrap, never elided
        self.checks.setObjectName("checkResults")
        self.checks.setHeaderLabels(["Result", "Check", "Details"])
        self.checks.setRootIsDecorated(False)
        self.note = QLabel("")
        self.note.setObjectName("summaryNote")
        self.note.setWordWrap(True)
        self.facts = QLabel("")
        self.facts.setObjectName("summaryFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.save_button = QPushButton("&Save report…")
        self.save_button.setObjectName("saveReport")
        self.save_button.setToolTip("An HTML report for the work order (no secrets in it)")
        self.open_button = QPushButton("&Open output folder")
        self.open_button.setObjectName("openFolder")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        self.checks_title = QLabel("<b>iotedge check</b>, certificate checks:")
        layout.addWidget(self.checks_title)
        layout.addWidget(self.checks, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.facts)
        layout.addLayout(buttons)
        layout.addStretch(0)
        self._layout = layout
        self.summary: report.Summary | None = None
        self.save_button.clicked.connect(self._save_clicked)
        self.open_button.clicked.connect(self.open_output_folder)

    def initializePage(self) -> None:
        self.summary = None
        self.checks.clear()
        self.facts.setText("Collecting the results…")
        self.run(backend.summarize, backend.summary_request(self.state), on_success=self._show)

    def _show(self, summary: report.Summary) -> None:
        self.summary = summary
        self.checks.clear()
        for check in summary.checks:
            item = QTreeWidgetItem([f"{_RESULT_ICON.get(check.result, '?')} {check.result}",
                                    check.check_id, " ".join(check.details)])
            item.setToolTip(2, "\n".join(check.details))
            self.checks.addTopLevelItem(item)
        self.note.setText("" if summary.checks else summary.checks_note)
        self.checks.setVisible(bool(summary.checks))
        self.checks_title.setVisible(bool(summary.checks))
        self._layout.setStretch(self._layout.count() - 1, 0 if summary.checks else 1)
        for col in (0, 1):
            self.checks.resizeColumnToContents(col)
        self.facts.setText(report.facts_html(summary))
        self.completeChanged.emit()

    def _save_clicked(self) -> None:
        if self.summary is None:
            return
        default = self.state.resolved_output_dir() / f"edgecert-report-{self.state.device_id}.html"
        path, _ = QFileDialog.getSaveFileName(self, "Save report", str(default),
                                              "HTML (*.html)")
        if path:
            self.save_report(Path(path))

    def save_report(self, path: Path) -> None:
        assert self.summary is not None

        def saved(_: object) -> None:
            dialogs.inform(self, "Report saved", f"Report written to {path}")

        self.run(report.write_report, self.summary, path, on_success=saved)

    def open_output_folder(self) -> None:
        folder = self.state.resolved_output_dir()
        if not folder.is_dir():
            dialogs.inform(self, "Output folder",
                           f"Nothing has been written to {folder} in this run.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def ready(self) -> bool:
        return self.summary is not None
