"""Progress reporting and cancellation for long-running core calls (thread-agnostic)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import CancelledError


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report: a named step, and optionally bytes or items done of a total."""

    step: str
    done: int = 0
    total: int = 0
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """Set from any thread; checked by the core between safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("cancelled by the user", hint="Nothing was left half-done.")


def report(progress: ProgressCallback | None, step: str, done: int = 0, total: int = 0,
           message: str = "") -> None:
    """Send a progress event if someone listens."""
    if progress is not None:
        progress(ProgressEvent(step=step, done=done, total=total, message=message))
