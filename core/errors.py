"""The one error tree of edgecert: every failure a technician can meet, each with a hint.

Rules:
- Every error carries a ``hint``: one sentence the technician can act on.
- ``where`` names the file, file:line:col, or host the error is about.
- No error text ever contains secret material (key bytes, passwords, SAS keys, PINs).
- The CLI maps the classes to exit codes through ``exit_code``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only; core.plan imports nothing of edgecert
    from core.plan import CheckResult, RollbackReport

# C0 controls, DEL, C1 controls, and the bidirectional overrides/isolates that reorder text.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object, *, keep_newlines: bool = False, keep_tabs: bool = False) -> str:
    """``text`` safe to print on a terminal: control characters become ``\\x1b``-style escapes.

    A file name, a device name or a line of a device's config can hold an ANSI escape or a
    newline; echoed raw it could recolour, move or fake lines on the technician's screen. Every
    error text and every echoed path or config line goes through this. ``keep_newlines`` keeps
    line breaks (for whole multi-line texts), ``keep_tabs`` keeps tabs (for file content).
    """
    keep = ("\n" if keep_newlines else "") + ("\t" if keep_tabs else "")
    pattern = _PATTERNS.get(keep)
    if pattern is None:
        pattern = re.compile(f"(?![{keep}])[{_UNSAFE}]" if keep else f"[{_UNSAFE}]")
        _PATTERNS[keep] = pattern
    return pattern.sub(_escape, str(text))


class EdgecertError(Exception):
    """Root of all edgecert errors."""

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, *, hint: str = "", where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint
        self.where = where

    def __str__(self) -> str:
        text = f"{shown(self.where)}: {self.message}" if self.where else self.message
        return text

    def describe(self) -> str:
        """Message plus hint, as shown to a technician."""
        text = str(self)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


# ---- input: files and arguments (CLI exit code 2, nothing touched) ------------------------------


class InputError(EdgecertError):
    """An input file or argument cannot be used as given."""

    exit_code = 2


class UsageError(InputError):
    """The command line or call is malformed."""


class UnreadableFileError(InputError):
    """A file is missing, unreadable or in no format we understand."""


class PasswordRequiredError(InputError):
    """The file is encrypted and no password was given. The GUI answers by asking for one."""

    default_hint = "Give the password for this file (--password-file, or the password prompt)."


class WrongPasswordError(InputError):
    """A password was given but does not decrypt the file."""

    default_hint = "Check the password; passwords are case-sensitive."


class Pkcs12MacMissingError(InputError):
    """A PKCS#12 file has no integrity MAC, so its password cannot be verified."""

    default_hint = (
        "Re-export the PFX with a MAC (openssl pkcs12 -export without -nomac), or import the "
        "PEM certificate and key instead."
    )


class CorruptFileError(UnreadableFileError):
    """The file looks like a known format but its content is damaged."""


class DevicePathError(UsageError):
    """A device path is not absolute and normalised, holds a control character, or lies
    outside the release's folders and the folders named with ``--device-folder``."""


class ReleaseMismatchError(UsageError):
    """The IoT Edge version named on the command line is not the one the device reports."""


class PreflightError(InputError):
    """The files to install failed the pre-flight check; ``findings`` lists every error."""

    def __init__(self, message: str, *, findings: tuple[object, ...] = (), hint: str = "",
                 where: str | None = None) -> None:
        super().__init__(message, hint=hint, where=where)
        self.findings = findings


class OutputError(InputError):
    """An output file or folder cannot be written (no permission, disk full, a folder in the
    way); nothing partial is left behind."""


# ---- certificate chain -------------------------------------------------------------------------


class ChainError(EdgecertError):
    """The certificate chain cannot be built or is unusable."""


# ---- configuration -----------------------------------------------------------------------------


class ConfigError(EdgecertError):
    """A device configuration file cannot be parsed or the requested change is invalid."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        where: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        if where is not None and line is not None:
            where = f"{where}:{line}" + (f":{col}" if col is not None else "")
        super().__init__(message, hint=hint, where=where)
        self.line = line
        self.col = col


class ConfigParseError(ConfigError):
    """The file is not valid TOML or YAML."""

    exit_code = 2


class RenewalPolicyError(ConfigError):
    """A ``threshold`` or ``retry`` value does not follow the runtime's grammar."""


class UriError(ConfigError):
    """A ``file://`` or ``pkcs11:`` URI the runtime would reject."""


class SettingsError(ConfigError):
    """The wanted certificate settings contradict each other or the release."""


class ConfigValidationError(ConfigError):
    """The edited configuration has errors; ``findings`` lists every one of them."""

    def __init__(self, message: str, *, findings: tuple[object, ...] = (), hint: str = "",
                 where: str | None = None) -> None:
        super().__init__(message, hint=hint, where=where)
        self.findings = findings


# ---- targets (devices) -------------------------------------------------------------------------


class TargetError(EdgecertError):
    """Something went wrong talking to the device."""


class ConnectError(TargetError):
    """The device cannot be reached."""

    exit_code = 2


class HostKeyUnknownError(TargetError):
    """First contact: the host key is not known yet. Ask the technician, then retry."""

    exit_code = 2

    def __init__(self, host: str, key_type: str, fingerprint: str) -> None:
        super().__init__(
            f"the host key of {host} is not known yet ({key_type} {fingerprint})",
            hint=(
                "Compare the fingerprint with the device (ssh-keygen -lf "
                "/etc/ssh/ssh_host_*_key.pub on its console) and accept it with "
                f"--accept-host-key {fingerprint}."
            ),
            where=host,
        )
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint


class HostKeyChangedError(TargetError):
    """The host key differs from the one recorded: possible interception. Never bypassed."""

    exit_code = 2

    def __init__(self, host: str, key_type: str, fingerprint: str, known_file: str) -> None:
        super().__init__(
            f"WARNING: the host key of {host} has CHANGED (now {key_type} {fingerprint}); "
            "refusing to connect",
            hint=(
                "If the device was reinstalled, remove its old entry from "
                f"{known_file} after confirming the new fingerprint on the device itself."
            ),
            where=host,
        )
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint
        self.known_file = known_file


class AuthError(TargetError):
    """Login or sudo authentication failed."""

    exit_code = 2


class RemoteCommandError(TargetError):
    """A command on the device failed."""

    def __init__(
        self, message: str, *, hint: str = "", where: str | None = None, exit_status: int = -1,
        output: str = "",
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.exit_status = exit_status
        self.output = output


class SftpUploadError(TargetError):
    """An upload could not be completed (device full, not writable, size mismatch)."""


class IotEdgeNotDetectedError(TargetError):
    """``iotedge version`` did not answer on the device: IoT Edge is not installed (or not
    on the PATH), so its release cannot be read."""


# ---- deploy --------------------------------------------------------------------------------------


class DeployError(EdgecertError):
    """The deploy failed; the device was rolled back."""

    exit_code = 1


class DriftError(DeployError):
    """The device changed since the preview; nothing was touched."""

    exit_code = 2
    default_hint = "Read the device again and review the new preview before deploying."


class RollbackError(DeployError):
    """The deploy failed AND the rollback failed: the report says exactly what is where."""

    exit_code = 3


class CancelledError(EdgecertError):
    """The technician cancelled; the device is as it was."""

    exit_code = 1


class DeployFailedError(DeployError):
    """A step failed after the device was touched; the backup was put back (exit code 1)."""

    def __init__(self, failure: str, rollback: RollbackReport | None, *, where: str,
                 checks: tuple[CheckResult, ...] = (), hint: str = "") -> None:
        text = f"deploy failed: {failure}"
        if rollback is not None:
            text += f"; {rollback.describe()}"
        super().__init__(
            text, where=where,
            hint=hint or "The device is as it was before. Fix the cause named above and deploy "
            "again.",
        )
        self.failure = failure
        self.rollback = rollback
        self.checks = checks


HOSTNAME_HINT = (
    "IoT Edge refuses to apply a new hostname while Edge containers exist (facts §3.6). The "
    "device is as it was. On the device run: sudo iotedge system stop && sudo docker rm -f "
    "$(sudo docker ps -aq -f \"label=net.azure-devices.edge.owner=Microsoft.Azure.Devices."
    "Edge.Agent\"), then deploy again."
)


def failure_hint(failure: str) -> str:
    """A specific hint for failures the runtime explains in its own words (else empty)."""
    low = failure.lower()
    if "hostname" in low and ("docker rm" in low or "system stop" in low or "containers" in low):
        return HOSTNAME_HINT
    return ""


class RollbackFailedError(RollbackError):
    """A step failed and putting the backup back failed too (exit code 3)."""

    def __init__(self, failure: str, rollback: RollbackReport, *, where: str) -> None:
        hint = (f"Restore by hand with `sudo sh {rollback.backup_dir}/restore.sh` on the device, "
                "then run `iotedge config apply` (or restart iotedge on 1.1).")
        if rollback.restored:
            hint = (f"The files are back as they were (backup {rollback.backup_dir}); only "
                    "applying the previous configuration failed. "
                    + (failure_hint(rollback.reapply_output) or
                       "Fix the cause and run `sudo iotedge config apply` (1.1: restart iotedge)."))
        super().__init__(f"deploy failed: {failure}\n{rollback.describe()}", where=where,
                         hint=hint)
        self.failure = failure
        self.rollback = rollback


class NothingTouchedError(DeployError):
    """The device-side transaction refused to start its change; nothing was touched (exit 2)."""

    exit_code = 2


class LinkRefusedError(NothingTouchedError):
    """A symbolic link on the way to a target path, the backup root or the staging folder."""

    default_hint = ("edgecert never follows a link it did not make. Replace the link by the "
                    "folder or file itself, or allow exactly that link with --allow-link PATH "
                    "(its target's owner and mode are then left as they are).")


class DeviceLockedError(NothingTouchedError):
    """Another deploy (or restore.sh) holds the device's lock."""

    default_hint = ("Wait for the other deploy to finish (edgecert device status shows it), "
                    "then deploy again.")


class InterruptedBeforeInstallError(CancelledError):
    """Interrupted (Ctrl-C, SIGTERM, SIGHUP, Cancel) before the install step; cleaned up,
    nothing touched (exit 130)."""

    exit_code = 130
    default_hint = "Nothing on the device was changed; deploy again when ready."


class OutcomeUnknownError(DeployError):
    """The connection was lost after the device-side transaction started and could not be
    opened again: the device finishes or rolls back by itself, but edgecert cannot say which
    (exit 3: look at the device)."""

    exit_code = 3
    default_hint = ("The device completes or undoes the deploy by itself. Run `edgecert device "
                    "status` when it is reachable again: it reads the transaction's journal.")


# ---- sites (many devices) ------------------------------------------------------------------------


class SiteError(InputError):
    """A site file or one of its device lists cannot be used as given; nothing was touched.

    ``where`` names the file and line (``site.toml:12``) of the entry at fault.
    """

    def __init__(self, message: str, *, hint: str = "", where: str | None = None,
                 line: int | None = None) -> None:
        if where is not None and line is not None:
            where = f"{where}:{line}"
        super().__init__(message, hint=hint, where=where)
        self.line = line
