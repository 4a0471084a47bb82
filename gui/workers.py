"""Background jobs: the only module of edgecert that touches threads.

Every long core call runs through :func:`run_job`. The call happens on a ``QThreadPool`` thread;
its result, its exception and its progress events come back as queued signals, so callbacks
always run on the GUI thread. An exception is never lost: it reaches ``on_failure`` or, when no
``on_failure`` is given, the error dialog. An exception raised *by a callback* also reaches the
error dialog.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from core.progress import CancelToken, ProgressEvent

log = logging.getLogger(__name__)

SuccessCallback = Callable[[Any], None]
FailureCallback = Callable[[BaseException], None]
ProgressHandler = Callable[[ProgressEvent], None]

_POOL: QThreadPool | None = None
_ACTIVE: set[JobHandle] = set()


def pool() -> QThreadPool:
    """The pool every job runs on (created on first use)."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setObjectName("edgecert-jobs")
        _POOL.setMaxThreadCount(4)
    return _POOL


class _Emitter(QObject):
    """Lives on the GUI thread; its signals are emitted from the worker thread."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)


class JobHandle(QObject):
    """One running job: cancel it, or wait for ``done``.

    The handle is a child of the ``parent`` given to :func:`run_job`; if the parent goes away
    first, the results are dropped (the job still finishes, and its cancel token is set).
    """

    done = Signal()
    """Emitted on the GUI thread after the success or failure callback ran."""

    def __init__(
        self,
        parent: QObject | None,
        name: str,
        on_success: SuccessCallback | None,
        on_failure: FailureCallback | None,
        on_progress: ProgressHandler | None,
        cancel: CancelToken,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_token = cancel
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._on_success = on_success
        self._on_failure = on_failure
        self._on_progress = on_progress
        self._owner = parent
        self.emitter = _Emitter()
        # Queued: the slots run on this handle's (the GUI) thread, whatever thread emits.
        # (Qt's namespace enums are imported here, not at module level: ~10 ms of cold start.)
        from PySide6.QtCore import Qt

        queued = Qt.ConnectionType.QueuedConnection
        self.emitter.succeeded.connect(self._succeeded, queued)
        self.emitter.failed.connect(self._failed, queued)
        self.emitter.progressed.connect(self._progressed, queued)
        self.destroyed.connect(cancel.cancel)
        self.destroyed.connect(lambda *_: _ACTIVE.discard(self))

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point (the core decides where that is)."""
        self.cancel_token.cancel()

    @Slot(object)
    def _progressed(self, event: ProgressEvent) -> None:
        if self._on_progress is not None:
            self._guard(self._on_progress, event)

    @Slot(object)
    def _succeeded(self, result: Any) -> None:
        self.result = result
        if self._on_success is not None:
            self._guard(self._on_success, result)
        self._finish()

    @Slot(object)
    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        log.info("job %s failed: %s", self.name, exc.__class__.__name__)
        if self._on_failure is not None:
            self._guard(self._on_failure, exc)
        else:
            _show_error(self._owner, exc)
        self._finish()

    def _guard(self, callback: Callable[[Any], None], value: Any) -> None:
        try:
            callback(value)
        except Exception as exc:  # a GUI callback failed: still reaches the technician
            log.exception("callback of job %s failed", self.name)
            _show_error(self._owner, exc)

    def _finish(self) -> None:
        self.finished = True
        _ACTIVE.discard(self)
        self.done.emit()


def _show_error(parent: QObject | None, exc: BaseException) -> None:
    from PySide6.QtWidgets import QWidget

    from gui import dialogs

    dialogs.show_error(parent if isinstance(parent, QWidget) else None, exc)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], emitter: _Emitter, name: str) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._emitter = emitter
        self._name = name

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # delivered, never lost
            self._emitter.failed.emit(exc)
        except BaseException as exc:  # SystemExit/KeyboardInterrupt in a worker: report them too
            self._emitter.failed.emit(RuntimeError(f"job {self._name} aborted: {exc!r}"))
        else:
            self._emitter.succeeded.emit(result)


def run_job(
    parent: QObject | None,
    fn: Callable[..., Any],
    *args: Any,
    on_success: SuccessCallback | None = None,
    on_failure: FailureCallback | None = None,
    on_progress: ProgressHandler | None = None,
    cancel: CancelToken | None = None,
    **kwargs: Any,
) -> JobHandle:
    """Run ``fn(*args, **kwargs)`` on a worker thread; report back on the GUI thread.

    Args:
        parent: the widget the job belongs to (error dialogs are parented to it).
        fn: a synchronous, thread-agnostic core function.
        *args: positional arguments for ``fn``.
        on_success: called with the return value.
        on_failure: called with the exception; without it the error dialog is shown.
        on_progress: called with each ``ProgressEvent``; when given, ``fn`` receives a
            ``progress=`` keyword argument.
        cancel: when given, ``fn`` receives it as ``cancel=``; ``JobHandle.cancel`` sets it.
        **kwargs: keyword arguments for ``fn``.

    Returns:
        The handle; its ``done`` signal fires after the callback ran.
    """
    token = cancel if cancel is not None else CancelToken()
    name = getattr(fn, "__qualname__", repr(fn))
    handle = JobHandle(parent, name, on_success, on_failure, on_progress, token)
    emitter = handle.emitter
    call_kwargs = dict(kwargs)
    if on_progress is not None:
        call_kwargs["progress"] = emitter.progressed.emit
    if cancel is not None:
        call_kwargs["cancel"] = token

    def call() -> Any:
        return fn(*args, **call_kwargs)

    _ACTIVE.add(handle)
    pool().start(_Runnable(call, emitter, name))
    return handle


class _GuiThreadGarbageCollector(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    Automatic collection can start in whichever thread happens to allocate; if it frees a
    cycle holding a widget on a worker thread, Qt deletes that widget off its thread and the
    process crashes. So automatic collection is switched off and this timer does it instead,
    generation by generation, as often as the automatic thresholds would.
    """

    def __init__(self, interval_ms: int) -> None:
        super().__init__()
        self.threshold = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        counts = gc.get_count()
        if counts[0] > self.threshold[0]:
            gen = 2 if counts[2] > self.threshold[2] else 1 if counts[1] > self.threshold[1] \
                else 0
            gc.collect(gen)


_COLLECTOR: _GuiThreadGarbageCollector | None = None


def collect_garbage_on_gui_thread(interval_ms: int = 500) -> None:
    """Switch automatic garbage collection to a GUI-thread timer (call once, on that thread)."""
    global _COLLECTOR
    if _COLLECTOR is None:
        _COLLECTOR = _GuiThreadGarbageCollector(interval_ms)


def restore_automatic_garbage_collection() -> None:
    """Undo :func:`collect_garbage_on_gui_thread` (tests that share a process with others)."""
    global _COLLECTOR
    if _COLLECTOR is not None:
        _COLLECTOR.deleteLater()
        _COLLECTOR = None
        gc.collect()
        gc.enable()


def active_jobs() -> list[JobHandle]:
    """Jobs whose callbacks have not run yet."""
    return [h for h in _ACTIVE if not h.finished]


def cancel_all() -> None:
    """Set the cancel token of every running job (the window is closing)."""
    for handle in list(_ACTIVE):
        handle.cancel_token.cancel()


def wait_all(timeout_ms: int = 30000) -> bool:
    """Block until the worker threads are idle (used at exit and in tests)."""
    return pool().waitForDone(timeout_ms)
