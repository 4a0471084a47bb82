"""Deploy a Plan to a device: stage, back up, install, apply, verify, roll back."""

from core.deploy.checks import CheckResult, parse_check_output
from core.deploy.report import (
    DeployFailedError,
    DeployReport,
    DeviceLockedError,
    InterruptedBeforeInstallError,
    LinkRefusedError,
    NothingTouchedError,
    OutcomeUnknownError,
    RollbackFailedError,
    RollbackReport,
)
from core.deploy.run import deploy, rollback
from core.deploy.state import (
    BackupInfo,
    DeviceState,
    FileState,
    parse_version,
    read_device_state,
)
from core.deploy.status import DeviceStatus, device_status
from core.deploy.steps import render_steps, staged_files

__all__ = [
    "BackupInfo",
    "CheckResult",
    "DeployFailedError",
    "DeployReport",
    "DeviceLockedError",
    "DeviceState",
    "DeviceStatus",
    "FileState",
    "InterruptedBeforeInstallError",
    "LinkRefusedError",
    "NothingTouchedError",
    "OutcomeUnknownError",
    "RollbackFailedError",
    "RollbackReport",
    "deploy",
    "device_status",
    "parse_check_output",
    "parse_version",
    "read_device_state",
    "render_steps",
    "rollback",
    "staged_files",
]
