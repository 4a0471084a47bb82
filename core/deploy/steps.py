"""The steps file: a Plan rendered as tab-separated lines for the device-side shell library.

``render_steps`` is pure. The same text drives a deploy (uploaded to the staging directory) and
an export bundle's ``install.sh``, so both carry out exactly the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.config.device_paths import check_plan_paths, check_syntax
from core.deploy.shlib import BACKUP_ROOT, LIBRARY, RESTORE_SH
from core.errors import UsageError
from core.plan import Plan

STEPS_VERSION = 2
CONFIG_NAME = "config"
LOCK_WAIT = 10
"""Seconds a deploy waits for another one on the same device before it refuses."""
TIME_LIMIT = 300
"""Seconds each apply or check command may take on the device (``timeout``)."""


@dataclass(frozen=True)
class StagedFile:
    """One file of the staging directory: its name there and its bytes."""

    name: str
    data: bytes = field(repr=False)
    secret: bool = False


def _check_path(path: str, what: str) -> str:
    # Each path was confined by check_plan_paths; this keeps every field of a line plain.
    return check_syntax(path, platform="linux", what=f"the plan's {what} path")


def _check_word(value: str, what: str) -> str:
    if not value or any(c in value for c in "\t\n\r\0"):
        raise UsageError(f"the plan's {what} {value!r} is empty or contains a control character")
    return value


def _line(*fields: str) -> str:
    return "\t".join(fields)


def staged_files(plan: Plan, *, backup_root: str = BACKUP_ROOT,
                 expect: Mapping[str, str] | None = None, allow_links: Iterable[str] = (),
                 lock_wait: int = LOCK_WAIT) -> tuple[StagedFile, ...]:
    """The files a deploy uploads: the library, the steps file, restore.sh, each plan file and
    the config (arguments as ``render_steps``)."""
    steps = render_steps(plan, backup_root=backup_root, expect=expect, allow_links=allow_links,
                         lock_wait=lock_wait)
    out = [
        StagedFile("lib.sh", LIBRARY.encode()),
        StagedFile("steps", steps.encode()),
        StagedFile("restore.sh", RESTORE_SH.encode()),
    ]
    out += [StagedFile(f"f{i}", f.data, f.secret) for i, f in enumerate(plan.files, 1)]
    out.append(StagedFile(CONFIG_NAME, plan.config.after, secret=True))
    return tuple(out)


def render_steps(plan: Plan, *, backup_root: str = BACKUP_ROOT,
                 expect: Mapping[str, str] | None = None, allow_links: Iterable[str] = (),
                 lock_wait: int = LOCK_WAIT) -> str:
    """Render ``plan`` as the steps file read by the transaction (``ec_txn``) and install.sh.

    Args:
        plan: a Linux (or EFLOW) plan.
        backup_root: where on the device the transaction (backup) folders go.
        expect: device path -> what it must still be when the transaction starts
            (``core.deploy.state.fingerprint``: ``absent``, ``file:SHA256``, ``dir``,
            ``link:TARGET``); the config file's preview state is always expected.
        allow_links: symbolic links the user allows on the way to a target path.
        lock_wait: seconds to wait for another deploy holding the device.

    Returns:
        The text, one step per line; fields are tab-separated, the device path comes last.

    Raises:
        UsageError: the plan is for Windows.
        DevicePathError: a path is not absolute and normalised, holds a control character,
            or lies outside the release's folders and the plan's named folders.
    """
    if plan.platform == "windows":
        raise UsageError(
            "a Windows-containers plan cannot run through the device shell library",
            hint="Deploy 1.1 on Windows with the local target on that Windows computer.",
        )
    check_plan_paths(plan)
    lines = [
        _line("edgecert-steps", str(STEPS_VERSION)),
        _line("release", plan.release),
        _line("backup-root", _check_path(backup_root, "backup")),
    ]
    lines.append(_line("lock-wait", str(int(lock_wait))))
    lines.append(_line("time-limit", str(TIME_LIMIT)))
    lines += [_line("allow-link", _check_path(p.rstrip("/") or "/", "allowed link"))
              for p in allow_links]
    cfg = plan.config
    want = dict(expect or {})
    before = cfg.before_sha256
    want.setdefault(cfg.path, "absent" if before is None else f"file:{before}")
    for path, fp in want.items():
        lines.append(_line("expect", _check_word(fp, "expected state"),
                           _check_path(path, "expected")))
    for d in plan.dirs:
        lines.append(_line("dir", f"{d.mode:04o}", _check_word(d.owner, "owner"),
                           _check_word(d.group, "group"), _check_path(d.path, "directory")))
    for i, f in enumerate(plan.files, 1):
        lines.append(_line("file", f"f{i}", f"{f.mode:04o}", _check_word(f.owner, "owner"),
                           _check_word(f.group, "group"), _check_path(f.path, "file")))
    for r in plan.readable:
        lines.append(_line("readable", _check_word(r.user, "user"),
                           _check_path(r.path, "readable")))
    lines.append(_line("config", CONFIG_NAME, f"{cfg.mode:04o}", _check_word(cfg.owner, "owner"),
                       _check_word(cfg.group, "group"), _check_path(cfg.path, "config")))
    lines += [_line("clear", _check_path(p, "clear")) for p in plan.clear.files]
    lines += [_line("clear-contents", _check_path(p, "clear")) for p in plan.clear.dir_contents]
    lines += [_line("apply", *_argv(c.argv)) for c in plan.apply]
    lines += [_line("check", *_argv(c.argv)) for c in plan.check]
    lines += [_line("check-id", _check_word(i, "check id")) for i in plan.check_ids]
    return "\n".join(lines) + "\n"


def _argv(argv: Iterable[str]) -> list[str]:
    return [_check_word(a, "command argument") for a in argv]
