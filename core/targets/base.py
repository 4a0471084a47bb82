"""The Target protocol: the few operations a deploy needs from any device.

A deploy only ever (1) runs argv commands, optionally with sudo, and (2) puts bytes into a
user-writable staging path. Everything else (install with owner and mode, backup, atomic
rename, apply) is a command built by ``core.deploy``. That keeps SSH, EFLOW and local targets
small and the deploy logic in one place.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.progress import CancelToken, ProgressCallback


@dataclass(frozen=True)
class CommandResult:
    """What a command on the target returned."""

    argv: tuple[str, ...]
    exit_status: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def quote_argv(argv: Sequence[str]) -> str:
    """One shell-safe command line from an argv: every argument quoted."""
    return " ".join(shlex.quote(a) for a in argv)


def raise_if_failed(result: CommandResult, *, where: str, place: str = "") -> CommandResult:
    """``result`` unchanged, or RemoteCommandError when it exited non-zero (every target).

    ``place`` is added to the message (e.g. ``" in the EFLOW VM"``); the message ends with the
    last of what the command said (stderr, else stdout), the error's ``output`` holds both.
    """
    if not result.ok:
        from core.errors import RemoteCommandError

        said = (result.stderr.strip() or result.stdout.strip())[-500:]
        raise RemoteCommandError(
            f"{quote_argv(result.argv)} failed{place} with exit status {result.exit_status}"
            + (f": {said}" if said else ""),
            where=where, exit_status=result.exit_status,
            output=(result.stdout + result.stderr)[-4000:],
            hint="Read the command output above; nothing else was run after it.",
        )
    return result


@runtime_checkable
class Target(Protocol):
    """A device edgecert can deploy to."""

    @property
    def name(self) -> str:
        """How messages name the target (``user@host:port``, ``EFLOW VM``, ``this computer``)."""
        ...

    @property
    def posix(self) -> bool:
        """True for Linux targets; False for a Windows host (1.1 Windows containers)."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        check: bool = True,
        timeout: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> CommandResult:
        """Run ``argv`` (quoted; never a shell string) on the target.

        ``progress`` receives ``upload`` events (bytes of ``stdin`` sent so far).

        Raises:
            RemoteCommandError: ``check`` and a non-zero exit status.
            AuthError: sudo refused the password.
            ConnectError: the connection is gone.
        """
        ...

    def put(
        self,
        data: bytes,
        path: str,
        *,
        mode: int = 0o600,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Write ``data`` to ``path`` (a user-writable staging path), created with ``mode``
        before any byte is written."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
