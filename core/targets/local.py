"""LocalTarget: deploy to this computer (a local Linux device; 1.1 Windows containers host)."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence

from core.errors import AuthError, ConnectError, RemoteCommandError
from core.progress import CancelToken, ProgressCallback, report
from core.targets.base import CommandResult, quote_argv, raise_if_failed

log = logging.getLogger(__name__)

SUDO_PROMPT = "[edgecert sudo password]"
"""A prompt no program prints by itself, so a second prompt means the password was refused."""
_CHUNK = 64 * 1024


def sudo_refused(stderr: str) -> bool:
    """Whether sudo's stderr says the password was refused or is needed."""
    return (
        stderr.count(SUDO_PROMPT) > 1
        or "incorrect password" in stderr
        or "a password is required" in stderr
        or "no password was provided" in stderr
    )


class LocalTarget:
    """This computer, through subprocesses; ``sudo`` when not root (Linux).

    On Windows (1.1 with Windows containers) commands run as they are: the process must be
    elevated ("Run as administrator"), there is no sudo.
    """

    def __init__(self, *, sudo_password: str | None = None) -> None:
        self._password = sudo_password

    def __repr__(self) -> str:
        return "LocalTarget()"

    @property
    def name(self) -> str:
        return "this computer"

    @property
    def posix(self) -> bool:
        return os.name != "nt"

    def _argv(self, argv: Sequence[str], sudo: bool) -> list[str]:
        if not sudo or not self.posix or os.geteuid() == 0:
            return list(argv)
        if self._password is None:
            return ["sudo", "-n", "--", *argv]
        # -k: always ask, so the password line is always consumed by sudo itself.
        return ["sudo", "-k", "-S", "-p", SUDO_PROMPT, "--", *argv]

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
        """Run ``argv`` here (see ``Target.run``)."""
        full = self._argv(argv, sudo)
        feed = stdin or b""
        if full[:1] == ["sudo"] and "-S" in full:
            feed = (self._password or "").encode() + b"\n" + feed
        shown = quote_argv(argv)
        log.info("run on this computer: %s", shown if len(shown) < 300 else shown[:300] + " …")
        try:
            if stdin:
                report(progress, "upload", 0, len(stdin))
            proc = subprocess.run(full, input=feed, capture_output=True, timeout=timeout,
                                  check=False)
        except FileNotFoundError as exc:
            raise RemoteCommandError(
                f"{argv[0]} is not installed here", where=self.name, exit_status=127,
                hint="Install the missing program or check PATH.",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ConnectError(
                f"{quote_argv(argv)} did not finish within {timeout} s", where=self.name,
                hint="Check that the command is not waiting for input.",
            ) from exc
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if full[:1] == ["sudo"] and proc.returncode != 0 and sudo_refused(err):
            raise AuthError(
                "sudo refused the password" if self._password else "sudo needs a password",
                where=self.name,
                hint="Give the right sudo password, or allow passwordless sudo for this user.",
            )
        result = CommandResult(tuple(argv), proc.returncode, out, err.replace(SUDO_PROMPT, ""))
        if check:
            raise_if_failed(result, where=self.name)
        return result

    def put(
        self,
        data: bytes,
        path: str,
        *,
        mode: int = 0o600,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Write ``data`` to ``path``; the file is created with ``mode`` before any byte."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            if self.posix:
                os.fchmod(fd, mode)
            done = 0
            report(progress, "upload", 0, len(data), path)
            while done < len(data):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                done += os.write(fd, data[done:done + _CHUNK])
                report(progress, "upload", done, len(data), path)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Nothing to release."""
