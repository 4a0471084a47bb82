"""EflowTarget: the IoT Edge for Linux on Windows VM, through the AzureEFLOW PowerShell cmdlets.

Runs on the Windows host. Commands go through ``Invoke-EflowVmCommand`` (non-interactive,
``sudo -n``: EFLOW's iotedge-user has passwordless sudo), files through
``Copy-EflowVmFile -fromFile <plain Windows path> -toFile <VM path> -pushFile`` from a private
temporary file on the host. Pushed files belong to iotedge-user; a deploy never leaves them
there: it installs from the staging directory with ``install -o -g -m`` (facts §9.3–9.5).

When the cmdlets are unavailable but ``C:\\Program Files\\Azure IoT Edge\\id_rsa`` exists,
``connect_eflow`` falls back to ``SshTarget`` as iotedge-user with that key.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any, Protocol

from core.errors import ConnectError, TargetError, UsageError
from core.progress import CancelToken, ProgressCallback, report
from core.targets.base import CommandResult, Target, quote_argv, raise_if_failed

log = logging.getLogger(__name__)

EFLOW_USER = "iotedge-user"
DEFAULT_ID_RSA = PureWindowsPath(r"C:\Program Files\Azure IoT Edge\id_rsa")
_IPV4 = re.compile(r"^\s*((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\s*$")
_RC_MARK = "edgecert-rc="


@dataclass(frozen=True)
class PsResult:
    """What one PowerShell run returned."""

    exit_status: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


class PowerShellRunner(Protocol):
    """Runs one PowerShell script on the Windows host."""

    def __call__(self, script: str, *, timeout: float | None = None) -> PsResult: ...


def run_powershell(script: str, *, timeout: float | None = None) -> PsResult:
    """Run ``script`` with Windows PowerShell, the script on stdin (no quoting through cmd.exe).

    Raises:
        ConnectError: PowerShell is missing or the script timed out.
    """
    # The script goes on stdin (-Command -): a command line is limited to 32767 characters.
    argv = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
            "-Command", "-"]
    try:
        proc = subprocess.run(argv, input=script.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ConnectError("Windows PowerShell is not available", where="EFLOW VM",
                           hint="Run edgecert on the Windows host of the EFLOW VM.") from exc
    except subprocess.TimeoutExpired as exc:
        raise ConnectError(f"PowerShell did not finish within {timeout} s", where="EFLOW VM",
                           hint="Check that the EFLOW VM is running (Get-EflowVm).") from exc
    return PsResult(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                    proc.stderr.decode("utf-8", "replace"))


def ps_quote(text: str) -> str:
    """A PowerShell single-quoted string literal (no expansion; ' doubled)."""
    if any(c in text for c in "\0\r\n"):
        raise UsageError("a PowerShell argument cannot contain line breaks")
    return "'" + text.replace("'", "''").replace("\u2019", "\u2019\u2019") + "'"


def parse_vm_address(output: str) -> str:
    """The VM's IP from ``Get-EflowVmAddr`` output: the last line that is an IPv4 address.

    Raises:
        ConnectError: no IPv4 line (the VM is stopped or has no address yet).
    """
    for line in reversed(output.splitlines()):
        m = _IPV4.match(line)
        if m:
            return m.group(1)
    raise ConnectError(
        "Get-EflowVmAddr returned no IP address", where="EFLOW VM",
        hint="Start the VM (Start-EflowVm) and check Get-EflowVmAddr in PowerShell.",
    )


def _script(line: str) -> str:
    return "$ErrorActionPreference = 'Stop'\nImport-Module AzureEFLOW\n" + line + "\n"


class EflowTarget:
    """The EFLOW VM through PowerShell cmdlets (see module docstring)."""

    def __init__(
        self,
        *,
        runner: PowerShellRunner = run_powershell,
        host_tmp: Path | None = None,
        windows_path: Callable[[Path], str] = str,
    ) -> None:
        """Args:
            runner: runs PowerShell; tests pass the strict stand-in.
            host_tmp: where files are staged on the host before ``Copy-EflowVmFile``
                (default: a new private temporary directory).
            windows_path: how ``Copy-EflowVmFile`` must name a host file (plain Windows path).
        """
        self._runner = runner
        self._own_tmp = host_tmp is None
        self._tmp = host_tmp if host_tmp is not None else Path(
            tempfile.mkdtemp(prefix="edgecert-eflow-"))
        self._winpath = windows_path

    def __repr__(self) -> str:
        return "EflowTarget()"

    @property
    def name(self) -> str:
        return "EFLOW VM"

    @property
    def posix(self) -> bool:
        return True

    def address(self) -> str:
        """The VM's current IP address (``Get-EflowVmAddr``)."""
        res = self._runner(_script("Get-EflowVmAddr"), timeout=60)
        if res.exit_status != 0:
            raise ConnectError(f"Get-EflowVmAddr failed: {res.stderr.strip()[-300:]}",
                               where=self.name, hint="Check the VM with Get-EflowVm.")
        return parse_vm_address(res.stdout)

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
        """Run ``argv`` in the VM through ``Invoke-EflowVmCommand`` (see ``Target.run``).

        stdout and stderr are told apart with a random marker; the exit status is echoed after
        the command (``-ignoreError`` keeps the cmdlet from throwing on it).
        """
        cmd = quote_argv(argv)
        if sudo:
            cmd = "sudo -n " + cmd
        if stdin:
            cmd = f"printf %s {base64.b64encode(stdin).decode()} | base64 -d | {cmd}"
        else:
            cmd += " </dev/null"
        mark = f"{_RC_MARK}{secrets.token_hex(6)}:"
        linux = (f"e=$(mktemp) && {{ {cmd} 2>\"$e\"; rc=$?; printf '\\n%s%s\\n' {mark} $rc; "
                 f"cat \"$e\"; rm -f \"$e\"; }}")
        if "\n" in linux:
            # the cmdlet takes one line: a multi-line script (the device library) travels as
            # base64 and is decoded into sh's program text in the VM
            linux = f"printf %s {base64.b64encode(linux.encode()).decode()} | base64 -d | sh"
        line = f"Invoke-EflowVmCommand -command {ps_quote(linux)} -ignoreError"
        if stdin:
            report(progress, "upload", 0, len(stdin))
        res = self._runner(_script(line), timeout=timeout)
        out, sep, rest = res.stdout.replace("\r\n", "\n").rpartition(mark)
        if not sep:
            raise ConnectError(
                f"Invoke-EflowVmCommand did not run the command: {res.stderr.strip()[-300:]}",
                where=self.name,
                hint="Check that the EFLOW VM is running (Get-EflowVm) and that this is an "
                "elevated PowerShell session on the Windows host.",
            )
        status_text, _, err = rest.partition("\n")
        stdout = out.removesuffix("\n")
        try:
            status = int(status_text.strip())
        except ValueError:
            status = -1
        if sudo and status != 0 and "a password is required" in err:
            raise TargetError(
                "sudo in the EFLOW VM asks for a password", where=self.name,
                hint="EFLOW's iotedge-user normally has passwordless sudo; check /etc/sudoers.d.",
            )
        result = CommandResult(tuple(argv), status, stdout, err)
        if check:
            raise_if_failed(result, where=self.name, place=" in the EFLOW VM")
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
        """Copy ``data`` to ``path`` in the VM with ``Copy-EflowVmFile -pushFile``.

        The bytes go to a private host temp file first; ``path`` must be in a directory only
        iotedge-user can enter (the deploy's ``mktemp -d`` staging directory), and is chmodded to
        ``mode`` right after the copy.
        """
        if cancel is not None:
            cancel.raise_if_cancelled()
        report(progress, "upload", 0, len(data), path)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="push-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            line = (f"Copy-EflowVmFile -fromFile {ps_quote(self._winpath(Path(name)))} "
                    f"-toFile {ps_quote(path)} -pushFile")
            res = self._runner(_script(line), timeout=300)
            if res.exit_status != 0:
                raise ConnectError(
                    f"Copy-EflowVmFile to {path} failed: {res.stderr.strip()[-300:]}",
                    where=self.name, hint="Check that the EFLOW VM is running and has free space.",
                )
        finally:
            Path(name).unlink(missing_ok=True)
        self.run(["chmod", f"{mode:o}", "--", path])
        report(progress, "upload", len(data), len(data), path)

    def close(self) -> None:
        """Remove the host staging directory if this object made it."""
        if self._own_tmp:
            for p in self._tmp.glob("*"):
                p.unlink(missing_ok=True)
            self._tmp.rmdir()


def cmdlets_available(runner: PowerShellRunner = run_powershell) -> bool:
    """Whether the AzureEFLOW module can be loaded on this host."""
    try:
        res = runner("if (Get-Module -ListAvailable -Name AzureEFLOW) { 'yes' } else { 'no' }\n",
                     timeout=60)
    except ConnectError:
        return False
    return res.exit_status == 0 and res.stdout.strip().endswith("yes")


def connect_eflow(
    *,
    runner: PowerShellRunner = run_powershell,
    host: str | None = None,
    id_rsa: Path | None = None,
    ssh_connect: Callable[..., Target] | None = None,
    **ssh_options: Any,
) -> Target:
    """The EFLOW VM as a Target: the cmdlets when available, else SSH with EFLOW's id_rsa.

    Args:
        runner: runs PowerShell (tests: the stand-in).
        host: the VM's address for the SSH fallback (default: ``Get-EflowVmAddr``).
        id_rsa: the key for the fallback (default ``C:\\Program Files\\Azure IoT Edge\\id_rsa``).
        ssh_connect: ``SshTarget.connect`` or a compatible callable.
        ssh_options: passed to ``ssh_connect`` (port, known_hosts, accept_fingerprint …).

    Raises:
        ConnectError: neither the cmdlets nor the key file are available.
    """
    if cmdlets_available(runner):
        return EflowTarget(runner=runner)
    key = id_rsa if id_rsa is not None else Path(str(DEFAULT_ID_RSA))
    if not key.exists():
        raise ConnectError(
            "neither the AzureEFLOW PowerShell module nor EFLOW's SSH key is available",
            where="EFLOW VM",
            hint="Run edgecert on the EFLOW Windows host in an elevated session, or give the VM's "
            "address and key with the ssh options.",
        )
    if host is None:
        probe = EflowTarget(runner=runner)
        try:
            host = probe.address()
        finally:
            probe.close()
    if ssh_connect is None:
        from core.targets.ssh import SshTarget

        ssh_connect = SshTarget.connect
    log.info("EFLOW cmdlets unavailable; using SSH to %s as %s", host, EFLOW_USER)
    return ssh_connect(host, user=EFLOW_USER, key_file=key, **ssh_options)
