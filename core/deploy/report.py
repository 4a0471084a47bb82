"""What a deploy did: its report, and the two ways it can fail after touching the device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.deploy.checks import CheckResult
from core.errors import HOSTNAME_HINT as HOSTNAME_HINT  # re-exported
from core.errors import DeployFailedError as DeployFailedError  # re-exported
from core.errors import DeviceLockedError as DeviceLockedError  # re-exported
from core.errors import InterruptedBeforeInstallError as InterruptedBeforeInstallError
from core.errors import LinkRefusedError as LinkRefusedError  # re-exported
from core.errors import NothingTouchedError as NothingTouchedError  # re-exported
from core.errors import OutcomeUnknownError as OutcomeUnknownError  # re-exported
from core.errors import RollbackFailedError as RollbackFailedError  # re-exported
from core.errors import failure_hint as failure_hint  # re-exported
from core.plan import RollbackReport as RollbackReport  # re-exported

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


