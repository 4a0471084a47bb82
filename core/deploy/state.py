"""What is on the device now: IoT Edge version, config file, certificate files, backups."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from core.deploy.shlib import BACKUP_ROOT, LIBRARY
from core.errors import IotEdgeNotDetectedError, RemoteCommandError, UsageError
from core.targets.base import Target
from core.versions import EdgeRelease, release

CONFIG_TOML = "/etc/aziot/config.toml"
CONFIG_YAML = "/etc/iotedge/config.yaml"
TEMPLATE_TOML = "/etc/aziot/config.toml.edge.template"

_VERSION_RE = re.compile(r"iotedge\s+v?(\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class FileState:
    """A path on the device: kind, mode, owner and, for files, size and sha256."""

    path: str
    kind: Literal["file", "dir", "link", "other", "absent"]
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    user: str = ""
    group: str = ""
    size: int | None = None
    sha256: str | None = None
    link_target: str | None = None
    """For a symbolic link: where it points (it is never followed)."""

    @property
    def exists(self) -> bool:
        return self.kind != "absent"


def fingerprint(f: FileState) -> str:
    """What the transaction's drift check compares: ``absent``, ``file:SHA256``, ``dir``,
    ``link:TARGET`` or ``other`` (the library's ``ec_fp``)."""
    if f.kind == "file":
        return f"file:{f.sha256 or 'absent'}"
    if f.kind == "link":
        return f"link:{f.link_target or ''}"
    return f.kind


_ENDED = ("deployed", "rolled-back", "rollback-failed", "refused")


@dataclass(frozen=True)
class BackupInfo:
    """One backup directory edgecert left on the device, and how its deploy ended."""

    path: str
    status: str
    """``started``, ``installed``, ``deployed``, ``rolled-back``, ``rollback-failed`` or, for a
    transaction that touched nothing, ``refused``."""
    live: bool = False
    """The transaction is still running on the device."""
    journal: str = ""
    """The last line of its journal (``STATE<TAB>TIME<TAB>DETAIL…``), empty for old backups."""

    @property
    def state(self) -> str:
        """The transaction's last journal state (``status`` for backups without a journal)."""
        return self.journal.split("\t", 1)[0] if self.journal else self.status

    def describe(self) -> str:
        """One line: folder, how it ended (or that it still runs), when and why."""
        fields = self.journal.split("\t") if self.journal else [self.status]
        text = f"{self.path} ({fields[0]})"
        if len(fields) > 1:
            text += f" at {fields[1]}"
        detail = " ".join(f for f in fields[2:] if f)
        if detail:
            text += f" ({detail})"
        if self.live:
            text += ", still running on the device"
        elif self.journal and fields[0] not in _ENDED:
            text += (", cut off (the device restarted?): put it back with "
                     f"sudo sh {self.path}/restore.sh")
        return text


@dataclass(frozen=True)
class DeviceState:
    """A snapshot of the device as ``read_device_state`` found it."""

    version: str | None
    """IoT Edge version from ``iotedge version`` (e.g. ``"1.5.21"``), None when not installed."""
    release: EdgeRelease
    config_path: str
    config: bytes | None = field(repr=False)
    """The config file's bytes, None when it does not exist."""
    files: tuple[FileState, ...] = ()
    backups: tuple[BackupInfo, ...] = ()
    template: bytes | None = field(default=None, repr=False)
    """``config.toml.edge.template`` when the config does not exist yet (1.2+)."""

    def file(self, path: str) -> FileState:
        """The state of ``path`` (``kind="absent"`` when it was not looked at or is missing)."""
        for f in self.files:
            if f.path == path:
                return f
        return FileState(path, "absent")

    @property
    def last_backup(self) -> BackupInfo | None:
        return self.backups[-1] if self.backups else None


def parse_version(text: str) -> str | None:
    """The version in ``iotedge version`` output (``iotedge 1.5.21 (…)`` → ``"1.5.21"``)."""
    m = _VERSION_RE.search(text)
    return m.group(1) if m else None


def parse_stat(path: str, text: str) -> FileState:
    """Parse one ``ec_stat`` answer for ``path``."""
    parts = text.split()
    if parts[:1] == ["file"] and len(parts) == 8:
        return FileState(path, "file", int(parts[1], 8), int(parts[2]), int(parts[3]), parts[4],
                         parts[5], int(parts[6]), None if parts[7] == "absent" else parts[7])
    if parts[:1] == ["dir"] and len(parts) == 6:
        return FileState(path, "dir", int(parts[1], 8), int(parts[2]), int(parts[3]), parts[4],
                         parts[5])
    if parts[:1] == ["link"] and len(parts) >= 5:
        fields = text.split(" ", 5)
        return FileState(path, "link", None, int(fields[1]), int(fields[2]), fields[3],
                         fields[4], link_target=fields[5] if len(fields) > 5 else "")
    if parts[:1] == ["other"]:
        return FileState(path, "other")
    return FileState(path, "absent")


@dataclass(frozen=True)
class StateLines:
    """``ec_state`` output, parsed."""

    version_line: str
    files: tuple[FileState, ...]
    backups: tuple[BackupInfo, ...]


def parse_state_output(text: str) -> StateLines:
    """Parse the output of the library's ``ec_state``."""
    version = ""
    files: list[FileState] = []
    backups: list[BackupInfo] = []
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "version":
            version = rest
        elif kind == "stat":
            path, _, stat = rest.partition("\t")
            files.append(parse_stat(path, stat))
        elif kind == "backup":
            fields = rest.split("\t", 3)
            path, status = fields[0], (fields[1].strip() if len(fields) > 1 else "")
            live = len(fields) > 2 and fields[2] == "live"
            journal = fields[3] if len(fields) > 3 else ""
            backups.append(BackupInfo(path, status or "unknown", live, journal))
    backups.sort(key=lambda b: b.path)
    return StateLines(version, tuple(files), tuple(backups))


def read_device_state(
    target: Target,
    wanted: EdgeRelease | str | None = None,
    *,
    paths: Iterable[str] = (),
    backup_root: str = BACKUP_ROOT,
    contents: bool = True,
) -> DeviceState:
    """Detect the IoT Edge version and read the config file and the state of ``paths``.

    One ``sudo sh`` call reports version, modes, owners and sha256 of every path; a second one
    reads the config file (0600 root, hence sudo; base64 so the bytes arrive exact).

    Args:
        target: the device.
        wanted: the release to assume; None detects it with ``iotedge version``.
        paths: more device paths to look at (certificate and key files).
        backup_root: where deploys keep their backups (listed in ``backups``).
        contents: also read the config (and template) bytes; False gives stats and sha256
            only, one round trip less.

    Returns:
        The snapshot.

    Raises:
        IotEdgeNotDetectedError: IoT Edge is not installed and ``wanted`` was not given.
        AuthError, ConnectError, RemoteCommandError: from the target.
    """
    look = list(dict.fromkeys([CONFIG_TOML, CONFIG_YAML, TEMPLATE_TOML, *paths]))
    res = target.run(
        ["sh", "-c", LIBRARY + '\nec_state "$@"', "edgecert-state", backup_root, *look],
        sudo=True, check=False,
    )
    if not res.ok:
        # (the argv holds the whole library: name the step, not the command line)
        raise RemoteCommandError(
            f"reading the device state failed with exit status {res.exit_status}: "
            f"{res.stderr.strip()[-300:]}", where=target.name, exit_status=res.exit_status,
            hint="Check that the user may run sudo and that the device has a POSIX shell.",
        )
    lines = parse_state_output(res.stdout)
    version = parse_version(lines.version_line)
    if isinstance(wanted, EdgeRelease):
        rel = wanted
    elif wanted is not None and wanted != "auto":
        rel = release(wanted)
    elif version is not None:
        rel = release(version)
    else:
        raise IotEdgeNotDetectedError(
            "IoT Edge is not installed on the device (`iotedge version` did not answer)"
            + (f": {lines.version_line}" if lines.version_line else ""),
            where=target.name,
            hint="Install IoT Edge first, or name the version with --iotedge if it is installed "
            "but `iotedge` is not on the PATH.",
        )
    config_path = rel.config_path
    files = lines.files
    config = read_file(target, config_path) if contents and _is_file(files, config_path) else None
    template = None
    if contents and config is None and not rel.is_legacy and _is_file(files, TEMPLATE_TOML):
        template = read_file(target, TEMPLATE_TOML)
    return DeviceState(version, rel, config_path, config, files, lines.backups, template)


def _is_file(files: Iterable[FileState], path: str) -> bool:
    return any(f.path == path and f.kind == "file" for f in files)


def read_file(target: Target, path: str) -> bytes:
    """The exact bytes of a root-only device file (``sudo base64``: safe over any channel).

    Raises:
        RemoteCommandError: the file cannot be read.
    """
    b64 = target.run(["base64", "--", path], sudo=True)
    return base64.b64decode("".join(b64.stdout.split()))


def require_linux(target: Target) -> None:
    """Refuse targets the shell library cannot serve (a Windows host)."""
    if not target.posix:
        raise UsageError(
            f"{target.name} is a Windows host; this deploy path needs a Linux device",
            hint="On Windows use the EFLOW target, or export a bundle and install it by hand.",
        )

