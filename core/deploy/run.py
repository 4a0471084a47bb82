"""Deploy: carry out a Plan on a Target, with backup, verification and rollback.

Order (issue 4): read the device and refuse on drift; stage every file in a private temporary
directory; then ONE root shell call (``ec_stage_apply``) backs up, creates directories, installs
files with owner and mode, checks readability for the service users, writes the config
atomically and clears stale state, restoring the backup by itself if any of that fails (and
carrying on if the connection drops). Then apply, then check. A failure in apply or check puts
the backup back and applies the previous configuration again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.deploy.checks import CheckResult, parse_check_output
from core.deploy.preflight import require_preflight
from core.deploy.report import (
    DeployFailedError,
    DeployReport,
    RollbackFailedError,
    RollbackReport,
    failure_hint,
)
from core.deploy.shlib import (
    BACKUP_ROOT,
    EXIT_DRIFT,
    EXIT_OK,
    EXIT_RESTORE_FAILED,
    EXIT_RESTORED,
    EXIT_UNTOUCHED,
)
from core.deploy.state import DeviceState, read_device_state, require_linux
from core.deploy.steps import staged_files
from core.errors import (
    CancelledError,
    ConnectError,
    DeployError,
    DriftError,
    EdgecertError,
    TargetError,
    UsageError,
)
from core.plan import Command, Plan, sha256_hex
from core.progress import CancelToken, ProgressCallback, ProgressEvent, report
from core.targets.base import CommandResult, Target

log = logging.getLogger(__name__)

APPLY_TIMEOUT = 300.0
"""``iotedge config apply`` restarts every service; on a slow device that takes a while."""


@dataclass(frozen=True)
class StageOutput:
    """Parsed lines of ``ec_stage_apply``."""

    backup_dir: str | None
    installed: tuple[str, ...]
    failures: tuple[str, ...]
    problems: tuple[str, ...]
    drift: str | None


def parse_stage_output(text: str) -> StageOutput:
    """Parse what the library's ``ec_stage_apply`` / ``ec_restore`` printed."""
    backup = None
    drift = None
    installed: list[str] = []
    failures: list[str] = []
    problems: list[str] = []
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "backup" and len(f) > 1:
            backup = f[1]
        elif f[0] == "installed" and len(f) > 1:
            installed.append(f[1])
        elif f[0] == "fail" and len(f) > 3:
            failures.append(f[3] if f[2] == "-" else f"{f[3]}")
        elif f[0] == "unreadable" and len(f) > 4:
            failures.append(f"{f[3]} is not readable by user {f[1]} ({f[4]})")
        elif f[0] in ("restore-failed", "left") and len(f) > 2:
            problems.append(f"{f[1]}: {f[2]}")
        elif f[0] == "drift" and len(f) > 3:
            drift = f"{f[1]} (sha256 expected {f[2][:12]}…, now {f[3][:12]}…)"
    return StageOutput(backup, tuple(installed), tuple(failures), tuple(problems), drift)


def already_deployed(plan: Plan, state: DeviceState) -> bool:
    """Whether the device already holds exactly what the plan installs (config, files, modes)."""
    cfg = state.file(plan.config.path)
    if cfg.sha256 != sha256_hex(plan.config.after):
        return False
    for f in plan.files:
        now = state.file(f.path)
        if (now.kind != "file" or now.sha256 != f.sha256 or now.mode != f.mode
                or now.user != f.owner or now.group != f.group):
            return False
    for d in plan.dirs:
        now = state.file(d.path)
        if now.kind != "dir" or (now.mode, now.user, now.group) != (d.mode, d.owner, d.group):
            return False
    return True


def check_drift(plan: Plan, state: DeviceState, where: str) -> None:
    """Refuse when the device config is not the one the plan was computed from.

    Raises:
        DriftError: the sha256 differs (or the file appeared or disappeared).
    """
    now = state.file(plan.config.path)
    expected = plan.config.before_sha256
    if now.sha256 != expected:
        def show(sha: str | None) -> str:
            return "absent" if sha is None else sha[:12] + "…"
        raise DriftError(
            f"{plan.config.path} changed since the preview (sha256 then {show(expected)}, "
            f"now {show(now.sha256)}); nothing was touched",
            where=where,
        )


def _run_commands(target: Target, commands: Sequence[Command]) -> tuple[bool, str]:
    out = []
    for cmd in commands:
        res = target.run(cmd.argv, sudo=cmd.sudo, check=False, timeout=APPLY_TIMEOUT)
        out.append((res.stdout + res.stderr).strip())
        if not res.ok:
            return False, f"{' '.join(cmd.argv)} exited with {res.exit_status}: {out[-1][-800:]}"
    return True, "\n".join(out)


def rollback(target: Target, backup_dir: str, *, reapply: Sequence[Command] = ()) -> RollbackReport:
    """Put the backup in ``backup_dir`` back (``restore.sh``), then run ``reapply``.

    Args:
        target: the device.
        backup_dir: a backup directory made by a deploy (it holds ``manifest`` and
            ``restore.sh``).
        reapply: the apply commands to run after the files are back (empty when apply had not
            run yet).

    Returns:
        What was restored and what could not be.
    """
    try:
        res = target.run(["sh", f"{backup_dir}/restore.sh"], sudo=True, check=False)
    except TargetError as exc:
        return RollbackReport(backup_dir, False, (f"restore did not run: {exc}",))
    parsed = parse_stage_output(res.stdout)
    if not res.ok:
        problems = parsed.problems or ((res.stderr.strip() or f"exit {res.exit_status}")[-400:],)
        return RollbackReport(backup_dir, False, problems)
    if not reapply:
        return RollbackReport(backup_dir, True, parsed.problems)
    try:
        ok, output = _run_commands(target, reapply)
    except TargetError as exc:
        ok, output = False, str(exc)
    return RollbackReport(backup_dir, True, parsed.problems, ok, "" if ok else output)


def _fail(target: Target, plan: Plan, backup: str, failure: str, applied: bool,
          checks: tuple[CheckResult, ...] = ()) -> EdgecertError:
    rb = rollback(target, backup, reapply=plan.apply if applied else ())
    if rb.ok:
        return DeployFailedError(failure, rb, where=target.name, checks=checks,
                                 hint=failure_hint(failure))
    return RollbackFailedError(failure, rb, where=target.name)


def _bytes_progress(progress: ProgressCallback | None, base: int, total: int) -> ProgressCallback:
    def cb(ev: ProgressEvent) -> None:
        report(progress, "upload", base + ev.done, total, ev.message)
    return cb


_MKSTAGE = (
    "find /tmp -maxdepth 1 -name 'edgecert-stage.*' -user \"$(id -u)\" -mmin +60 "
    "-exec rm -rf {} + 2>/dev/null; mktemp -d /tmp/edgecert-stage.XXXXXXXX"
)


def _make_stage(target: Target) -> str:
    # also sweeps this user's staging dirs left by a connection lost an hour ago or more
    return target.run(["sh", "-c", _MKSTAGE, "edgecert-stage"]).stdout.strip()


def _upload(target: Target, stage: str, plan: Plan, backup_root: str,
            progress: ProgressCallback | None, cancel: CancelToken | None) -> None:
    files = staged_files(plan, backup_root=backup_root)
    total = sum(len(f.data) for f in files)
    base = 0
    for f in files:
        if cancel is not None:
            cancel.raise_if_cancelled()
        target.put(f.data, f"{stage}/{f.name}", mode=0o600,
                   progress=_bytes_progress(progress, base, total), cancel=cancel)
        base += len(f.data)


def _cleanup(target: Target, stage: str | None) -> None:
    if stage is None:
        return
    try:
        target.run(["rm", "-rf", "--", stage], check=False)
    except EdgecertError as exc:  # the connection may be gone; the dir is 0700 in /tmp
        log.warning("could not remove the staging directory %s: %s", stage, exc)


def _check(target: Target, plan: Plan) -> tuple[CheckResult, ...]:
    results: tuple[CheckResult, ...] = ()
    for cmd in plan.check:
        res: CommandResult = target.run(cmd.argv, sudo=cmd.sudo, check=False,
                                        timeout=APPLY_TIMEOUT)
        results = parse_check_output(res.stdout, plan.check_ids)
    return results


def deploy(
    plan: Plan,
    target: Target,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    backup_root: str = BACKUP_ROOT,
) -> DeployReport:
    """Carry out ``plan`` on ``target``: stage, back up, install, apply, check; roll back on error.

    Args:
        plan: the plan from the preview (``core.config`` ``build_plan``).
        target: the device (SSH, EFLOW or this computer).
        progress: receives step names and uploaded bytes.
        cancel: checked between steps. Cancelling before the install leaves the device
            untouched; cancelling after it rolls the device back.
        backup_root: where on the device the timestamped backup directories go.

    Returns:
        What was done and the certificate-related check results.

    Raises:
        PreflightError: the plan's files fail the pre-flight; the device is not contacted.
        DriftError: the device config changed since the preview; nothing was touched.
        DeployError: a step failed before anything on the device changed.
        DeployFailedError: a step failed; the device was rolled back.
        RollbackFailedError: a step failed and the rollback failed too.
        CancelledError: cancelled; the device is as it was.
        AuthError, ConnectError: from the target.
    """
    require_preflight(plan)
    if plan.platform == "windows":
        return _deploy_windows(plan, target, progress, cancel, backup_root)
    require_linux(target)
    where = target.name
    report(progress, "read", message="reading the device")
    state = read_device_state(
        target, plan.release,
        paths=[plan.config.path, *(f.path for f in plan.files), *(d.path for d in plan.dirs)],
        backup_root=backup_root, contents=False,
    )
    check_drift(plan, state, where)
    if already_deployed(plan, state):
        last = state.last_backup
        if last is not None and last.status == "installed":
            return _finish_interrupted(plan, target, last.path, progress)
        report(progress, "check", message="already deployed; checking")
        return DeployReport(where, plan.release, "already-deployed", None, (),
                            _check(target, plan), plan.warnings)
    stage: str | None = None
    try:
        report(progress, "stage", message="uploading to a private staging directory")
        stage = _make_stage(target)
        _upload(target, stage, plan, backup_root, progress, cancel)
        if cancel is not None:
            cancel.raise_if_cancelled()
        report(progress, "install", message="backup, install, config, clear")
        try:
            res = target.run(["sh", "-c", '. "$1/lib.sh" && ec_stage_apply "$1"',
                              "edgecert-deploy", stage], sudo=True, check=False)
        except ConnectError as exc:
            raise ConnectError(
                f"the connection was lost during the install: {exc.message}", where=where,
                hint="The device finishes or undoes the install by itself; run the deploy "
                "again to complete it (it detects what is already in place).",
            ) from exc
        out = parse_stage_output(res.stdout)
        failure = "; ".join(out.failures) or res.stderr.strip()[-400:] or f"exit {res.exit_status}"
        if res.exit_status == EXIT_DRIFT:
            raise DriftError(f"{out.drift} changed since the preview; nothing was touched",
                             where=where)
        if res.exit_status == EXIT_UNTOUCHED:
            raise DeployError(f"deploy failed before any change: {failure}", where=where,
                              hint="Free space on the device (df -h) and deploy again.")
        if res.exit_status == EXIT_RESTORED:
            rb = RollbackReport(out.backup_dir or "?", True, out.problems)
            raise DeployFailedError(failure, rb, where=where)
        if res.exit_status == EXIT_RESTORE_FAILED:
            rb = RollbackReport(out.backup_dir or "?", False, out.problems)
            raise RollbackFailedError(failure, rb, where=where)
        if res.exit_status != EXIT_OK or out.backup_dir is None:
            raise DeployError(f"the install step ended unexpectedly: {failure}", where=where,
                              hint="Run `edgecert device status` to see the last backup.")
        backup = out.backup_dir
        if cancel is not None and cancel.cancelled:
            raise _cancelled(target, plan, backup, applied=False)
        report(progress, "apply", message=" ".join(plan.apply[0].argv) if plan.apply else "")
        ok, output = _run_commands(target, plan.apply)
        if not ok:
            raise _fail(target, plan, backup, output, applied=True)
        if cancel is not None and cancel.cancelled:
            raise _cancelled(target, plan, backup, applied=True)
        report(progress, "check", message="iotedge check")
        checks = _check(target, plan)
        bad = [c for c in checks if c.failed]
        if bad:
            raise _fail(target, plan, backup,
                        "iotedge check: " + "; ".join(c.describe() for c in bad),
                        applied=True, checks=checks)
        # one call marks the backup and removes the staging directory
        target.run(["sh", "-c", 'echo deployed > "$1/status"; rm -rf -- "$2"', "edgecert-done",
                    backup, stage], sudo=True, check=False)
        stage = None
        report(progress, "done", message="deployed")
        return DeployReport(where, plan.release, "deployed", backup, out.installed, checks,
                            plan.warnings)
    finally:
        _cleanup(target, stage)


def _finish_interrupted(plan: Plan, target: Target, backup: str,
                        progress: ProgressCallback | None) -> DeployReport:
    """The files are in place but the last deploy was cut off before apply: apply and check
    now; on failure its backup (the state before that deploy) is put back."""
    report(progress, "apply", message="completing an interrupted deploy")
    ok, output = _run_commands(target, plan.apply)
    if not ok:
        raise _fail(target, plan, backup, output, applied=True)
    report(progress, "check", message="iotedge check")
    checks = _check(target, plan)
    bad = [c for c in checks if c.failed]
    if bad:
        raise _fail(target, plan, backup, "iotedge check: " + "; ".join(
            c.describe() for c in bad), applied=True, checks=checks)
    target.run(["sh", "-c", 'echo deployed > "$1/status"', "edgecert-done", backup],
               sudo=True, check=False)
    report(progress, "done", message="deployed")
    return DeployReport(target.name, plan.release, "deployed", backup, (), checks,
                        (*plan.warnings, "completed a deploy that was interrupted before apply"))


def _deploy_windows(plan: Plan, target: Target, progress: ProgressCallback | None,
                    cancel: CancelToken | None, backup_root: str) -> DeployReport:
    from core.deploy.windows import DEFAULT_BACKUP_ROOT, deploy_windows
    from core.targets.local import LocalTarget

    if not isinstance(target, LocalTarget):
        raise UsageError(
            "a Windows-containers (1.1) plan is carried out on the Windows computer itself",
            hint="Run edgecert on that computer and choose 'this computer' as the target.",
        )
    root = DEFAULT_BACKUP_ROOT if backup_root == BACKUP_ROOT else Path(backup_root)
    return deploy_windows(plan, target, progress=progress, cancel=cancel, backup_root=root)


def _cancelled(target: Target, plan: Plan, backup: str, *, applied: bool) -> EdgecertError:
    rb = rollback(target, backup, reapply=plan.apply if applied else ())
    if not rb.ok:
        return RollbackFailedError("cancelled by the user", rb, where=target.name)
    return CancelledError(f"cancelled by the user; {rb.describe()}", where=target.name,
                          hint="The device is as it was before the deploy.")
