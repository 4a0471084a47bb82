"""What a deploy did: its report, and the two ways it can fail after touching the device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.deploy.checks import CheckResult
from core.errors import CancelledError, DeployError, RollbackError


@dataclass(frozen=True)
class RollbackReport:
    """How putting the backup back went."""

    backup_dir: str
    restored: bool
    problems: tuple[str, ...] = ()
    """One line per path that could not be put back, naming where its backup copy is."""
    reapplied: bool = False
    reapply_output: str = ""

    @property
    def ok(self) -> bool:
        return self.restored and (self.reapplied or not self.reapply_output)

    def describe(self) -> str:
        if self.ok:
            return f"rolled back from {self.backup_dir}" + (
                "; the previous configuration was applied again" if self.reapplied else "")
        lines = [f"ROLLBACK INCOMPLETE; backup kept at {self.backup_dir}"]
        lines += [f"  {p}" for p in self.problems]
        if self.reapply_output:
            lines.append(f"  re-applying the previous configuration failed: {self.reapply_output}")
        lines.append(f"  to retry by hand on the device: sudo sh {self.backup_dir}/restore.sh")
        return "\n".join(lines)


Outcome = Literal["deployed", "already-deployed"]


@dataclass(frozen=True)
class DeployReport:
    """The result of a successful deploy."""

    target: str
    release: str
    outcome: Outcome
    backup_dir: str | None
    installed: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    warnings: tuple[str, ...] = ()

    @property
    def checks_ok(self) -> bool:
        return not any(c.failed for c in self.checks)

    def describe(self) -> str:
        head = {
            "deployed": f"deployed to {self.target} (IoT Edge {self.release})",
            "already-deployed": f"{self.target} already runs this plan; nothing was changed",
        }[self.outcome]
        lines = [head]
        if self.backup_dir:
            lines.append(f"backup: {self.backup_dir}")
        lines += [f"installed {p}" for p in self.installed]
        lines += [f"check {c.describe()}" for c in self.checks]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


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
