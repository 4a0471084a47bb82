"""The deploy plan: pure data saying exactly what will be done on the device.

``build_plan`` (in ``core.config.planning``) computes it without I/O; the preview shows it; the
deploy executes the same object (``core.deploy``). Device paths are plain strings because a
1.1 Windows-containers target uses Windows paths; ``Plan.platform`` says which flavour.
Secret file contents never leave the plan in clear text: ``to_dict`` shows size and sha256 only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

FileRole = Literal["edge-ca-cert", "edge-ca-key", "trust-bundle", "other"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class EnsureDir:
    """A directory that must exist with exactly this owner, group and mode."""

    path: str
    mode: int
    owner: str
    group: str


@dataclass(frozen=True)
class InstallFile:
    """A file to install atomically with owner, group and mode set in the same step."""

    path: str
    data: bytes = field(repr=False)
    mode: int
    owner: str
    group: str
    role: FileRole
    secret: bool = False

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)


@dataclass(frozen=True)
class ConfigChange:
    """The device configuration file before and after (``before`` None: the file is new)."""

    path: str
    before: bytes | None = field(repr=False)
    after: bytes = field(repr=False)
    mode: int = 0o600
    owner: str = "root"
    group: str = "root"

    @property
    def before_sha256(self) -> str | None:
        return None if self.before is None else sha256_hex(self.before)

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class ClearState:
    """Stale runtime state to delete: exact files, and directories whose *contents* go (1.1)."""

    files: tuple[str, ...] = ()
    dir_contents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    """A command to run on the device (argv, never a shell string)."""

    argv: tuple[str, ...]
    sudo: bool
    purpose: str


@dataclass(frozen=True)
class ReadableBy:
    """``path`` and every parent directory must be readable by ``user`` (iotedge check rule)."""

    path: str
    user: str


@dataclass(frozen=True)
class Plan:
    """Everything a deploy does, in order: dirs, files, config, clear, apply, check."""

    release: str
    """Catalog key of the IoT Edge release, e.g. ``"1.5"``."""
    platform: Literal["linux", "windows", "eflow"]
    dirs: tuple[EnsureDir, ...]
    files: tuple[InstallFile, ...]
    config: ConfigChange
    clear: ClearState
    apply: tuple[Command, ...]
    check: tuple[Command, ...]
    check_ids: tuple[str, ...]
    """Certificate-related ``iotedge check`` ids to report after apply."""
    readable: tuple[ReadableBy, ...] = ()
    warnings: tuple[str, ...] = ()
    device_folders: tuple[str, ...] = ()
    """Folders outside the release's own that the user named for the files (--device-folder)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, secrets reduced to size and sha256."""
        return {
            "release": self.release,
            "platform": self.platform,
            "dirs": [
                {"path": d.path, "mode": f"{d.mode:04o}", "owner": d.owner, "group": d.group}
                for d in self.dirs
            ],
            "files": [
                {
                    "path": f.path,
                    "role": f.role,
                    "mode": f"{f.mode:04o}",
                    "owner": f.owner,
                    "group": f.group,
                    "size": len(f.data),
                    "sha256": f.sha256,
                    "secret": f.secret,
                }
                for f in self.files
            ],
            "config": {
                "path": self.config.path,
                "mode": f"{self.config.mode:04o}",
                "owner": self.config.owner,
                "group": self.config.group,
                "before_sha256": self.config.before_sha256,
                "after_sha256": sha256_hex(self.config.after),
                "changed": self.config.changed,
            },
            "clear": {
                "files": list(self.clear.files),
                "dir_contents": list(self.clear.dir_contents),
            },
            "apply": [{"argv": list(c.argv), "sudo": c.sudo, "purpose": c.purpose}
                      for c in self.apply],
            "check": [{"argv": list(c.argv), "sudo": c.sudo, "purpose": c.purpose}
                      for c in self.check],
            "check_ids": list(self.check_ids),
            "readable": [{"path": r.path, "user": r.user} for r in self.readable],
            "warnings": list(self.warnings),
            "device_folders": list(self.device_folders),
        }


# ---- what came of a plan on the device ---------------------------------------------------------

FAILED = frozenset({"error", "fatal"})


@dataclass(frozen=True)
class CheckResult:
    """One ``iotedge check`` result: id, ``ok``/``warning``/``error``/… and its details."""

    id: str
    result: str
    details: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.result in FAILED

    def describe(self) -> str:
        text = f"{self.id}: {self.result}"
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        return text


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
