"""Driving the wizard as a person does: key events to the active window, answers to the modal
dialogs that open on the way, and a count of every key pressed.

Keys go to the active window's ``QWindow`` (``QTest.keyClick(window, …)``), so they take the
path a real key press takes: the shortcut map first (mnemonics, default buttons), then the
focused widget. Nothing here calls a page method.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

W = TypeVar("W", bound=QWidget)

KEPT: list[QWidget] = []
"""Windows a walk showed: alive until the test's end (tests/gui/conftest.py clears the list)."""


def show(qtbot: QtBot, window: W) -> W:
    """Show ``window`` as the active window, as a person starts the wizard; kept to the end."""
    qtbot.addWidget(window)
    KEPT.append(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    return window


def _window() -> QWindow:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    top = app.activeModalWidget() or app.activeWindow()
    if top is None:
        # A dialog closed: a window manager gives the activation back to the window below;
        # the offscreen platform has none, so do what it would.
        shown = [w for w in app.topLevelWidgets() if w.isVisible() and w.windowHandle()]
        assert shown, "no window to type into"
        top = shown[-1]
        top.activateWindow()
        QTest.qWaitForWindowActive(top)
    handle = top.windowHandle()
    assert handle is not None
    return handle


@dataclass
class Keyboard:
    """Presses keys in the active window and counts them (typing text is counted apart)."""

    presses: int = 0
    typed: int = 0
    log: list[str] = field(default_factory=list)

    def press(self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
              *, what: str = "") -> None:
        self.presses += 1
        self.log.append(what or f"{modifier.name}+{key.name}")
        QTest.keyClick(_window(), key, modifier)

    def alt(self, letter: str) -> None:
        """Alt+letter: a mnemonic."""
        self.press(Qt.Key(ord(letter.upper())), Qt.KeyboardModifier.AltModifier,
                   what=f"Alt+{letter}")

    def enter(self) -> None:
        self.press(Qt.Key.Key_Return, what="Enter")

    def tab(self, times: int = 1) -> None:
        for _ in range(times):
            self.press(Qt.Key.Key_Tab, what="Tab")

    def type(self, text: str) -> None:
        """Type text into the focused field (each character a real key event)."""
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        for ch in text:
            self.typed += 1
            top = app.activeModalWidget()  # a dialog on top has the keys, active or not
            focus = top.focusWidget() if top is not None else app.focusWidget()
            assert focus is not None, "nothing has the keyboard focus"
            QTest.keyClick(focus, ch)

    def select_all_and_type(self, text: str) -> None:
        self.press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, what="Ctrl+A")
        self.type(text)


def focused() -> QWidget | None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app.focusWidget()


Answer = Callable[[QWidget], None]


@dataclass
class Expected:
    contains: str
    answer: Answer
    seen: bool = False


class Modals(QObject):
    """Answers modal dialogs as they open: each expected one by its text, any other one is
    recorded and closed with Escape (the test then fails on ``unexpected``)."""

    def __init__(self, kb: Keyboard) -> None:
        super().__init__()
        self.kb = kb
        self.expected: list[Expected] = []
        self.unexpected: list[str] = []
        self.answered: list[str] = []
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def expect(self, contains: str, answer: Answer) -> None:
        """The next dialog whose text holds ``contains`` gets ``answer(dialog)``."""
        self.expected.append(Expected(contains, answer))

    def expect_keys(self, contains: str, *keys: str) -> None:
        """Answer by keys: ``"Enter"``, ``"Escape"`` or a mnemonic letter (``"t"`` = Alt+T)."""

        def answer(_dialog: QWidget) -> None:
            for key in keys:
                if key == "Enter":
                    self.kb.enter()
                elif key == "Escape":
                    self.kb.press(Qt.Key.Key_Escape, what="Escape")
                else:
                    self.kb.alt(key)

        self.expect(contains, answer)

    def stop(self) -> None:
        self._timer.stop()

    @staticmethod
    def text_of(dialog: QWidget) -> str:
        if isinstance(dialog, QMessageBox):
            return f"{dialog.windowTitle()}\n{dialog.text()}\n{dialog.informativeText()}"
        return dialog.windowTitle()

    def _poll(self) -> None:
        if self._busy:
            return
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        dialog = app.activeModalWidget()
        if dialog is None or not dialog.isVisible() or dialog.property("walkAnswered"):
            return
        dialog.setProperty("walkAnswered", True)
        text = self.text_of(dialog)
        if app.activeWindow() is not dialog:  # keys go where a person's would: the dialog
            dialog.activateWindow()
            QTest.qWaitForWindowActive(dialog)
        self._busy = True
        try:
            for exp in self.expected:
                if not exp.seen and exp.contains in text:
                    exp.seen = True
                    self.answered.append(text)
                    try:
                        exp.answer(dialog)
                    except Exception as exc:  # a failed check must not leave a modal open
                        self.unexpected.append(f"answer to {exp.contains!r} failed: {exc!r}")
                        QTest.keyClick(dialog, Qt.Key.Key_Escape)
                    return
            self.unexpected.append(text)
            QTest.keyClick(dialog, Qt.Key.Key_Escape)
        finally:
            self._busy = False

    @property
    def pending(self) -> list[str]:
        return [e.contains for e in self.expected if not e.seen]


def wait_page(qtbot: QtBot, wizard: QWidget, page_id: int, modals: Modals,
              timeout: int = 60000) -> None:
    qtbot.waitUntil(lambda: wizard.currentId() == page_id or modals.unexpected != [],  # type: ignore[attr-defined]
                    timeout=timeout)
    assert modals.unexpected == [], modals.unexpected


def wait_enabled(qtbot: QtBot, button: QAbstractButton, modals: Modals,
                 timeout: int = 60000) -> None:
    qtbot.waitUntil(lambda: (button.isEnabled() and button.isVisible())
                    or modals.unexpected != [], timeout=timeout)
    assert modals.unexpected == [], modals.unexpected


@dataclass
class Stopwatch:
    start: float = field(default_factory=time.monotonic)

    def seconds(self) -> float:
        return time.monotonic() - self.start
