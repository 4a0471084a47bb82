"""run_job: results, errors and progress arrive on the GUI thread; nothing is ever lost."""

from __future__ import annotations

import threading
import time

import pytest
from guitest_support import DialogLog
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.errors import CancelledError, ConnectError
from core.progress import CancelToken, ProgressCallback, ProgressEvent, report
from gui import workers


def _gui_thread() -> QThread:
    app = QApplication.instance()
    assert app is not None
    return app.thread()


def test_success_arrives_on_gui_thread(qtbot: QtBot) -> None:
    seen: dict[str, object] = {}

    def work(a: int, b: int) -> tuple[int, str]:
        return a + b, threading.current_thread().name

    def ok(result: tuple[int, str]) -> None:
        seen["result"] = result
        seen["on_gui"] = QThread.currentThread() is _gui_thread()

    handle = workers.run_job(None, work, 2, b=3, on_success=ok)
    with qtbot.waitSignal(handle.done, timeout=5000):
        pass
    value, worker_thread = seen["result"]  # type: ignore[misc]
    assert value == 5
    assert worker_thread != threading.main_thread().name
    assert seen["on_gui"] is True
    assert handle.finished and handle.error is None


def test_failure_reaches_on_failure(qtbot: QtBot) -> None:
    boom = ConnectError("device unreachable", hint="Check the cable.", where="10.0.0.9")
    got: list[BaseException] = []

    def work() -> None:
        raise boom

    handle = workers.run_job(None, work, on_success=lambda r: pytest.fail("no success"),
                             on_failure=got.append)
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    assert got == [boom]


def test_failure_without_handler_shows_error_dialog(qtbot: QtBot,
                                                    dialog_log: DialogLog) -> None:
    def work() -> None:
        raise ValueError("unexpected")

    handle = workers.run_job(None, work)
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    assert [type(e) for e in dialog_log.errors] == [ValueError]


def test_exception_in_callback_reaches_error_dialog(qtbot: QtBot,
                                                   dialog_log: DialogLog) -> None:
    def bad_callback(_: object) -> None:
        raise RuntimeError("callback bug")

    handle = workers.run_job(None, lambda: 1, on_success=bad_callback)
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    assert len(dialog_log.errors) == 1 and "callback bug" in str(dialog_log.errors[0])


def test_progress_events_in_order_on_gui_thread(qtbot: QtBot) -> None:
    events: list[ProgressEvent] = []
    threads: set[bool] = set()

    def work(*, progress: ProgressCallback) -> str:
        for i in range(5):
            report(progress, "upload", done=i, total=4)
        return "ok"

    def on_progress(event: ProgressEvent) -> None:
        events.append(event)
        threads.add(QThread.currentThread() is _gui_thread())

    handle = workers.run_job(None, work, on_progress=on_progress)
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    assert [e.done for e in events] == [0, 1, 2, 3, 4]
    assert threads == {True}
    assert handle.result == "ok"


def test_cancel_reaches_the_core_call(qtbot: QtBot) -> None:
    started = threading.Event()
    got: list[BaseException] = []

    def work(*, cancel: CancelToken) -> None:
        started.set()
        for _ in range(500):
            cancel.raise_if_cancelled()
            time.sleep(0.01)
        raise AssertionError("never cancelled")

    handle = workers.run_job(None, work, on_failure=got.append, cancel=CancelToken())
    assert started.wait(5)
    handle.cancel()
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    assert len(got) == 1 and isinstance(got[0], CancelledError)


def test_results_for_a_closed_window_are_dropped(qtbot: QtBot) -> None:
    release = threading.Event()
    called: list[object] = []
    owner = QWidget()
    token = CancelToken()

    def work(*, cancel: CancelToken) -> int:
        release.wait(5)
        return 1

    workers.run_job(owner, work, on_success=called.append, cancel=token)
    owner.deleteLater()
    qtbot.waitUntil(lambda: token.cancelled, timeout=5000)  # the window's jobs are told to stop
    release.set()
    assert workers.wait_all(5000)
    qtbot.wait(50)
    assert called == []


def test_garbage_is_collected_on_the_gui_thread_only(qtbot: QtBot) -> None:
    import gc
    import weakref

    workers.collect_garbage_on_gui_thread()
    assert not gc.isenabled()
    freed_in: list[str] = []

    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle only the collector frees

    def make_garbage() -> None:
        # enough cyclic garbage to pass the automatic threshold several times over
        for _ in range(2000):
            weakref.finalize(Node(), lambda: freed_in.append(threading.current_thread().name))

    handle = workers.run_job(None, make_garbage)
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    qtbot.waitUntil(lambda: len(freed_in) >= 1000, timeout=5000)
    assert set(freed_in) == {threading.main_thread().name}
