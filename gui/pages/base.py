"""What every page shares: access to the WizardState, background jobs and the busy flag."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from core.progress import CancelToken
from gui import workers

if TYPE_CHECKING:
    from gui.shared import Shared
    from gui.state import WizardState


class Page(QWizardPage):
    """A wizard page whose Next is blocked while its own background jobs run."""

    def __init__(self, shared: Shared, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.shared = shared
        # Fill the wizard's height (QWizard gives a page without expanding items its hint).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setTitle(title)
        if subtitle:
            self.setSubTitle(subtitle)
        self._jobs: list[workers.JobHandle] = []

    # -- wiring ------------------------------------------------------------------------------
    @property
    def state(self) -> WizardState:
        return self.shared.state

    # -- background work ---------------------------------------------------------------------
    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
        **kwargs: Any,
    ) -> workers.JobHandle:
        """Start a job that belongs to this page; Next waits for it."""
        handle = workers.run_job(
            self, fn, *args, on_success=on_success, on_failure=on_failure,
            on_progress=on_progress, cancel=cancel, **kwargs,
        )
        self._jobs.append(handle)
        handle.done.connect(self._job_done)
        self.completeChanged.emit()
        return handle

    def _job_done(self) -> None:
        self._jobs = [j for j in self._jobs if not j.finished]
        self.completeChanged.emit()

    @property
    def busy(self) -> bool:
        return any(not j.finished for j in self._jobs)

    def cancel_jobs(self) -> None:
        for job in self._jobs:
            job.cancel()

    def isComplete(self) -> bool:
        return not self.busy and self.ready()

    def ready(self) -> bool:
        """Page-specific completeness (besides 'no job running')."""
        return True

    def loses_work_on_cancel(self) -> bool:
        """Whether closing the wizard now would throw away something (asked before closing)."""
        return self.busy

    def close_question(self) -> str:
        """What to ask before closing on this page (empty: close without asking)."""
        if self.loses_work_on_cancel():
            return "Work in progress will be stopped and its results discarded. Close anyway?"
        return ""

    def intercept_cancel(self) -> bool:
        """Handle Cancel or closing here instead (True: the wizard stays open)."""
        return False

    def refresh(self) -> None:
        """Re-read the state into the widgets (after Back, or restored settings)."""

    def use_ca_term(self, term: str) -> None:
        """Say the release's name of the CA (``edge CA``; ``device CA`` on 1.1) in every fixed
        text of the page: title, labels, buttons, group titles and tooltips."""
        from PySide6.QtWidgets import QAbstractButton, QGroupBox

        title = term[:1].upper() + term[1:]

        def swap(obj: Any, prop: str, getter: str, setter: str) -> None:
            original = obj.property(prop)
            if original is None:
                original = getattr(obj, getter)()
                obj.setProperty(prop, original)
            if original:
                getattr(obj, setter)(str(original).replace("edge CA", term)
                                     .replace("Edge CA", title))

        swap(self, "edgecertTitle", "title", "setTitle")
        swap(self, "edgecertSubTitle", "subTitle", "setSubTitle")
        for w in self.findChildren(QWidget):
            if isinstance(w, QLabel | QAbstractButton):
                swap(w, "edgecertText", "text", "setText")
            elif isinstance(w, QGroupBox):
                swap(w, "edgecertText", "title", "setTitle")
            swap(w, "edgecertTip", "toolTip", "setToolTip")

    def focus_start(self) -> None:
        """Put the keyboard focus where the technician starts on this page: the checked
        choice of the page's first radio group (not the first, unchecked, radio button)."""
        for group in self.findChildren(QButtonGroup):
            button = group.checkedButton()
            if button is not None and button.isVisibleTo(self) and button.isEnabled():
                button.setFocus()
                return


def buddy_label(text: str, buddy: QWidget) -> QLabel:
    """A form label whose mnemonic focuses ``buddy`` (for rows that hold a layout)."""
    label = QLabel(text)
    label.setBuddy(buddy)
    return label


def note(text: str, *, object_name: str = "") -> QLabel:
    """A wrapped explanatory label."""
    label = QLabel(text)
    label.setWordWrap(True)
    if object_name:
        label.setObjectName(object_name)
    return label


def radio_group(owner: QWidget, title: str,
                choices: Sequence[tuple[str, str, str]]) -> tuple[QButtonGroup, QGroupBox]:
    """A titled group of radio buttons, one per ``(object name, text, tooltip)``.

    Button ids are the choices' positions; the group belongs to ``owner``.
    """
    group = QButtonGroup(owner)
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for i, (name, text, tip) in enumerate(choices):
        button = QRadioButton(text)
        button.setObjectName(name)
        if tip:
            button.setToolTip(tip)
        group.addButton(button, i)
        layout.addWidget(button)
    return group, box


def line_edit(name: str, *, tip: str = "", placeholder: str = "",
              secret: bool = False) -> QLineEdit:
    """A named line edit with its tooltip and placeholder; ``secret`` hides what is typed."""
    edit = QLineEdit()
    edit.setObjectName(name)
    if tip:
        edit.setToolTip(tip)
    if placeholder:
        edit.setPlaceholderText(placeholder)
    if secret:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit
