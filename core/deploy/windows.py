"""Deploy on this Windows computer (IoT Edge 1.1 with Windows containers), in Python.

The device shell library needs a POSIX shell; on the Windows host edgecert runs on the device
itself, so the same steps are done with Python file operations: drift check (sha256), backup
with the same manifest format, each file written to a temporary name in its directory and
renamed over the old one, the config likewise, the state directories emptied, then the
plan's apply (``Restart-Service iotedge``) and check commands through the target, and the
backup put back (then apply again) on any failure. File access on Windows is governed by the
ACLs inherited from ``C:\\ProgramData\\iotedge`` (Administrators and SYSTEM), not by modes.
The process must be elevated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from core.deploy.checks import CheckResult, parse_check_output
from core.deploy.report import DeployFailedError, DeployReport, RollbackFailedError, RollbackReport
from core.errors import DeployError, DriftError, EdgecertError, OutputError
from core.fs import write_atomic
from core.plan import Command, Plan
from core.progress import CancelToken, ProgressCallback, report
from core.targets.base import Target

DEFAULT_BACKUP_ROOT = Path(os.environ.get("PROGRAMDATA", "C:\\ProgramData"), "edgecert", "backups")


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def backup(plan: Plan, root: Path) -> Path:
    """Copy everything the plan replaces or clears into a new timestamped directory.

    Returns:
        The backup directory (holding ``manifest`` in the device library's format).
    """
    root.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    b = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=root))
    lines = ["edgecert-backup\t1", f"created\t{stamp}", f"release\t{plan.release}"]
    entries = [("file", f.path) for f in plan.files] + [("file", plan.config.path)]
    entries += [("file", p) for p in plan.clear.files]
    entries += [("contents", p) for p in plan.clear.dir_contents]
    for i, (kind, raw) in enumerate(entries, 1):
        p = Path(raw)
        state = "absent"
        if kind == "file" and p.is_file():
            shutil.copy2(p, b / str(i))
            state = "present"
        elif kind == "contents" and p.is_dir():
            shutil.copytree(p, b / str(i))
            state = "present"
        lines.append(f"{kind}\t{i}\t{state}\t{raw}")
    (b / "manifest").write_text("\n".join(lines) + "\n")
    (b / "status").write_text("started\n")
    return b


def restore(b: Path) -> tuple[str, ...]:
    """Put back what ``backup`` saved; returns the paths that could not be restored."""
    problems = []
    for line in (b / "manifest").read_text().splitlines():
        f = line.split("\t")
        if len(f) != 4:
            continue
        kind, i, state, raw = f
        p = Path(raw)
        try:
            if kind == "file":
                if state == "absent":
                    p.unlink(missing_ok=True)
                else:
                    write_atomic(p, (b / i).read_bytes(), 0o600, what=raw)
                    shutil.copystat(b / i, p)
            elif kind == "contents":
                if p.is_dir():
                    _empty(p)
                if state == "present":
                    shutil.copytree(b / i, p, dirs_exist_ok=True)
        except OSError as exc:
            problems.append(f"{raw}: {exc.strerror} (backup copy: {b / i})")
        except OutputError as exc:
            problems.append(f"{raw}: {exc.message} (backup copy: {b / i})")
    (b / "status").write_text(("rolled-back" if not problems else "rollback-failed") + "\n")
    return tuple(problems)


def _empty(d: Path) -> None:
    for child in d.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _run(target: Target, commands: tuple[Command, ...]) -> tuple[bool, str]:
    for cmd in commands:
        res = target.run(cmd.argv, sudo=cmd.sudo, check=False, timeout=300)
        if not res.ok:
            text = (res.stdout + res.stderr).strip()[-800:]
            return False, f"{' '.join(cmd.argv)} exited with {res.exit_status}: {text}"
    return True, ""


def deploy_windows(
    plan: Plan,
    target: Target,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    backup_root: Path = DEFAULT_BACKUP_ROOT,
) -> DeployReport:
    """Carry out a ``windows`` plan on this computer (see module docstring).

    Raises:
        DriftError: the config changed since the preview; nothing touched.
        DeployFailedError / RollbackFailedError: as ``core.deploy.deploy``.
        CancelledError: cancelled before anything changed.
    """
    where = target.name
    cfg = Path(plan.config.path)
    report(progress, "read", message="reading this computer")
    if _sha(cfg) != plan.config.before_sha256:
        raise DriftError(f"{cfg} changed since the preview; nothing was touched", where=where)
    after = hashlib.sha256(plan.config.after).hexdigest()
    if _sha(cfg) == after and all(_sha(Path(f.path)) == f.sha256 for f in plan.files):
        return DeployReport(where, plan.release, "already-deployed", None, (),
                            _checks(target, plan), plan.warnings)
    if cancel is not None:
        cancel.raise_if_cancelled()
    report(progress, "install", message="backup, install, config, clear")
    try:
        b = backup(plan, backup_root)
    except OSError as exc:
        raise DeployError(f"deploy failed before any change: cannot write the backup "
                          f"({exc.strerror})", where=str(backup_root),
                          hint="Free disk space and run edgecert as administrator.") from exc
    installed: list[str] = []
    failure = ""
    try:
        for d in plan.dirs:
            Path(d.path).mkdir(parents=True, exist_ok=True)
        for f in plan.files:
            write_atomic(Path(f.path), f.data, f.mode, what=f.path)
            installed.append(f.path)
        write_atomic(cfg, plan.config.after, plan.config.mode, what=str(cfg))
        installed.append(str(cfg))
        for p in plan.clear.files:
            Path(p).unlink(missing_ok=True)
        for p in plan.clear.dir_contents:
            if Path(p).is_dir():
                _empty(Path(p))
    except OSError as exc:
        failure = f"cannot write {exc.filename}: {exc.strerror}"
    except OutputError as exc:
        failure = exc.message
    applied = False
    checks: tuple[CheckResult, ...] = ()
    if not failure:
        report(progress, "apply", message=" ".join(plan.apply[0].argv) if plan.apply else "")
        applied = True
        ok, failure = _run(target, plan.apply)
        if ok:
            report(progress, "check", message="iotedge check")
            checks = _checks(target, plan)
            bad = [c for c in checks if c.failed]
            failure = "iotedge check: " + "; ".join(c.describe() for c in bad) if bad else ""
    if not failure:
        (b / "status").write_text("deployed\n")
        report(progress, "done", message="deployed")
        return DeployReport(where, plan.release, "deployed", str(b), tuple(installed), checks,
                            plan.warnings)
    problems = restore(b)
    ok, out = _run(target, plan.apply) if applied and not problems else (not problems, "")
    rb = RollbackReport(str(b), not problems, problems, applied and ok, "" if ok else out)
    err: EdgecertError
    if rb.ok:
        err = DeployFailedError(failure, rb, where=where, checks=checks)
    else:
        err = RollbackFailedError(failure, rb, where=where)
    raise err


def _checks(target: Target, plan: Plan) -> tuple[CheckResult, ...]:
    results: tuple[CheckResult, ...] = ()
    for cmd in plan.check:
        res = target.run(cmd.argv, sudo=cmd.sudo, check=False, timeout=300)
        results = parse_check_output(res.stdout, plan.check_ids)
    return results
