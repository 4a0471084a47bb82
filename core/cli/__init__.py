"""The ``edgecert`` command line: a thin layer over ``core``.

Each area registers its own sub-commands (``core.cli.chain``, ``core.cli.config``,
``core.cli.deploy``). Exit codes: 0 done, 1 failed (errors found / rolled back), 2 bad input or
usage (nothing touched), 3 failed and rollback failed, 130 interrupted (Ctrl-C, SIGINT), 143
terminated (SIGTERM). A closed standard output (``edgecert … | head -1``) is not an error: the
rest of the output is dropped, the command finishes its work and exits with its own code.

Nothing heavy is imported at module level, so that Ctrl-C while Python is still importing the
libraries is handled like Ctrl-C at any other moment.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

_AREAS = ("core.cli.chain", "core.cli.config", "core.cli.deploy", "core.cli.site")

EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT): 128 + 2, the shell's convention."""
EXIT_TERMINATED = 143
"""SIGTERM: 128 + 15, the shell's convention."""


_progress = {"started": False, "finished": False}


def work_complete() -> None:
    """Say that the command's lasting work is done (files written, device deployed).

    A Ctrl-C or SIGTERM after this (while the summary is still being printed) is reported as
    "its work is complete" rather than as an interrupted command.
    """
    _progress["finished"] = True


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) like Ctrl-C."""


def build_parser() -> argparse.ArgumentParser:
    """The ``edgecert`` parser with every area's sub-commands."""
    import argparse
    import importlib

    from core import __version__

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            self.print_usage(sys.stderr)
            sys.stderr.write(f"{self.prog}: error: {message}\n")
            raise SystemExit(2)

    parser = _Parser(
        prog="edgecert",
        description="Put an Azure IoT Edge device on your own certificate chain.",
    )
    parser.add_argument("--version", action="version", version=f"edgecert {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is being done")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


class _QuietStdout:
    """Standard output that, once the reader has gone (EPIPE), drops the rest silently."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def drop_rest(self) -> None:
        """Send the rest of the output (buffered or not) to the null device."""
        import os

        self.closed_by_reader = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self.drop_rest()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self.drop_rest()
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _say(text: str) -> None:
    """A last line on stderr; a closed stderr is not worth a traceback."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)
        sys.stderr.flush()


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def _install(signum: int, handler: Any) -> Any:
    """Set a signal handler; the previous one, or None where signals cannot be set (a thread)."""
    import signal

    try:
        return signal.signal(signum, handler)
    except ValueError:  # not the main thread: leave the process's handlers alone
        return None


def _run(argv: Sequence[str] | None, progress: dict[str, bool]) -> int:
    """Parse, run the command, print a typed error as text; the exit code."""
    import logging

    from core.errors import EdgecertError, shown

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    progress["started"] = True
    try:
        code: int = args.func(args)
    except EdgecertError as exc:
        sys.stderr.write(f"edgecert: error: {shown(exc.describe(), keep_newlines=True)}\n")
        code = exc.exit_code
    progress["finished"] = True
    sys.stdout.flush()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edgecert`` console script (and ``python -m core``).

    Returns:
        The exit code: the command's own, 130 after Ctrl-C, 143 after SIGTERM.
    """
    import signal

    progress = _progress
    progress.update(started=False, finished=False)
    real_stdout = sys.stdout
    saved: dict[int, Any] = {}
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            saved[signal.SIGINT] = _install(signal.SIGINT, signal.default_int_handler)
        if hasattr(signal, "SIGTERM"):
            saved[signal.SIGTERM] = _install(signal.SIGTERM, _on_sigterm)
        sys.stdout = _QuietStdout(sys.stdout)
        return _run(argv, progress)
    except KeyboardInterrupt as exc:
        if isinstance(sys.stdout, _QuietStdout) and real_stdout is sys.__stdout__:
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.drop_rest()  # a reader that stopped reading must not hang the exit
        terminated = isinstance(exc, Terminated)
        what = "terminated (SIGTERM)" if terminated else "interrupted (Ctrl-C)"
        if progress["finished"]:
            _say(f"edgecert: {what} after the command had finished: its work is complete\n")
        elif progress["started"]:
            _say(f"edgecert: {what} before the command finished\n")
        else:
            _say(f"edgecert: {what} while starting; nothing was done\n")
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    finally:
        with contextlib.suppress(OSError, ValueError, KeyboardInterrupt):
            sys.stdout.flush()
        sys.stdout = real_stdout
        for signum, previous in saved.items():
            if previous is not None:
                _install(signum, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
