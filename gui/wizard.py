"""The edgecert wizard window: pages, routing, remembered inputs and safe closing."""

from __future__ import annotations

import json
from enum import IntEnum

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, QTimer
from PySide6.QtGui import QCloseEvent, QKeyEvent, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
    QWizard,
    QWizardPage,
)

from gui import dialogs, workers
from gui.pages.base import Page
from gui.shared import Shared
from gui.state import WizardState, remembered, restore

MIN_SIZE = QSize(800, 540)
"""Fits a 1280x720 screen at 125 % scale (1024x576 logical pixels) with a window frame."""


class PageId(IntEnum):
    VERSION = 0
    CHAIN = 1
    DEVICE = 2
    TARGET = 3
    PREVIEW = 4
    DEPLOY = 5
    SUMMARY = 6


def settings() -> QSettings:
    """Where geometry and the non-secret last inputs are kept."""
    return QSettings("edgecert", "edgecert")


class _NoStrayMnemonicLetters(QObject):
    """Alt+letter that no enabled mnemonic took is dropped, not typed into the focused field
    (Qt would insert the letter, e.g. when the mnemonic's widget is disabled)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            from PySide6.QtCore import Qt  # not at import time: cold start

            mods = event.modifiers()
            alt = Qt.KeyboardModifier.AltModifier
            ctrl = Qt.KeyboardModifier.ControlModifier
            if mods & alt and not mods & ctrl and event.text().isprintable() and event.text():
                return isinstance(obj, QLineEdit | QPlainTextEdit | QTextEdit |
                                  QAbstractSpinBox)
        return False


class SetupWizard(QWizard):
    """Version → chain → device settings → target → preview → deploy → summary."""

    def __init__(self, state: WizardState | None = None, *, remember: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state if state is not None else WizardState()
        self.shared = Shared(self.state, self)
        self._remember = remember
        self.setObjectName("edgecertWizard")
        self.setWindowTitle("edgecert: IoT Edge certificates")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Deploy")
        self.setButtonText(QWizard.WizardButton.NextButton, "&Next >")
        self.setButtonText(QWizard.WizardButton.BackButton, "< &Back")
        self.setButtonText(QWizard.WizardButton.CancelButton, "&Cancel")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Finish")
        self.setMinimumSize(MIN_SIZE)
        if remember:
            self._restore_settings()

        from gui.pages.version import VersionPage

        # The first page is built now; the others right after it is on screen (cold start).
        self.setPage(PageId.VERSION, VersionPage(self.shared))
        self.setStartId(PageId.VERSION)
        self._pages_built = False
        self._build_scheduled = False
        self.currentIdChanged.connect(self._page_shown)
        self._letters = _NoStrayMnemonicLetters(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._letters)

    def _page_shown(self, _page_id: int) -> None:
        page = self.currentPage()
        if not isinstance(page, Page):
            return
        page.use_ca_term(self.state.release.ca_term)
        # After QWizard focused the page's first widget: focus where the technician starts.
        QTimer.singleShot(0, page, page.focus_start)  # dropped if the page is gone

    def ensure_pages(self) -> None:
        """Build the pages after the first one (idempotent)."""
        if self._pages_built:
            return
        self._pages_built = True
        from gui.pages.chain import ChainPage
        from gui.pages.deploy import DeployPage
        from gui.pages.device import DevicePage
        from gui.pages.preview import PreviewPage
        from gui.pages.summary import SummaryPage
        from gui.pages.target import TargetPage

        self.setPage(PageId.CHAIN, ChainPage(self.shared))
        self.setPage(PageId.DEVICE, DevicePage(self.shared))
        self.setPage(PageId.TARGET, TargetPage(self.shared))
        self.setPage(PageId.PREVIEW, PreviewPage(self.shared))
        self.setPage(PageId.DEPLOY, DeployPage(self.shared))
        self.setPage(PageId.SUMMARY, SummaryPage(self.shared))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._build_scheduled:
            self._build_scheduled = True
            QTimer.singleShot(0, self.ensure_pages)

    def validateCurrentPage(self) -> bool:
        self.ensure_pages()  # Next may come before the deferred build ran
        return super().validateCurrentPage()

    def page(self, page_id: int) -> QWizardPage:
        if page_id != PageId.VERSION:
            self.ensure_pages()
        return super().page(page_id)

    # -- routing ---------------------------------------------------------------------------------
    def nextId(self) -> int:
        current = self.currentId()
        if current < 0:
            return int(PageId.VERSION)
        if current == PageId.SUMMARY:
            return -1
        if current == PageId.VERSION and self.state.edge_ca_method != "files":
            return int(PageId.DEVICE)  # the device makes or enrols its own edge CA
        # The deploy page always leads on to the summary (Next is enabled once the deploy or
        # export succeeded); only the summary has Finish.
        return current + 1

    # -- remembered inputs -----------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = settings()
        geometry = s.value("geometry")
        if isinstance(geometry, QByteArray | bytes):
            self.restoreGeometry(QByteArray(geometry))
        raw = s.value("last_inputs")
        if isinstance(raw, str):
            try:
                values = json.loads(raw)
            except ValueError:
                values = {}
            if isinstance(values, dict):
                restore(self.state, values)

    def save_settings(self) -> None:
        """Store geometry and the non-secret inputs (never passwords)."""
        if not self._remember:
            return
        s = settings()
        s.setValue("geometry", self.saveGeometry())
        s.setValue("last_inputs", json.dumps(remembered(self.state)))
        s.sync()

    # -- closing -------------------------------------------------------------------------------
    def work_would_be_lost(self) -> bool:
        page = self.currentPage()
        return isinstance(page, Page) and page.loses_work_on_cancel()

    def close_question(self) -> str:
        """What to ask before closing now (empty: close without asking)."""
        page = self.currentPage()
        return page.close_question() if isinstance(page, Page) else ""

    def _intercepted(self) -> bool:
        page = self.currentPage()
        return isinstance(page, Page) and page.intercept_cancel()

    def reject(self) -> None:
        if self._intercepted():
            return
        question = self.close_question()
        if question and not dialogs.ask_yes_no(self, "Close edgecert", question):
            return
        self._shutdown()
        super().reject()

    def accept(self) -> None:
        self._shutdown()
        super().accept()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._intercepted():
            event.ignore()
            return
        question = self.close_question()
        if question and not dialogs.ask_yes_no(self, "Close edgecert", question):
            event.ignore()
            return
        self._shutdown()
        super().closeEvent(event)

    def _shutdown(self) -> None:
        self.save_settings()
        workers.cancel_all()
