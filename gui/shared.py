"""What the wizard's pages share: the WizardState and the signals by which one page tells the
others that something they depend on changed. Pages never reach for another page."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gui.state import WizardState


class Shared(QObject):
    """The state every page reads and writes, and the page-to-page signals.

    Signals:
        release_changed: the IoT Edge release changed (chosen, or detected on the device); the
            loaded chain is checked again against its rules.
        chain_settled: the chain page's background work ended (its result is in the state).
        commit_point: True when the preview is the point of no return (a deploy may run),
            False after a failure (Back is allowed again).
    """

    release_changed = Signal()
    chain_settled = Signal()
    commit_point = Signal(bool)

    def __init__(self, state: WizardState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.chain_busy = False
        """Whether the chain page is making or checking a chain now."""

    def set_chain_busy(self, busy: bool) -> None:
        was = self.chain_busy
        self.chain_busy = busy
        if was and not busy:
            self.chain_settled.emit()
