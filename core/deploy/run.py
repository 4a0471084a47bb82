"""Deploy: carry out a Plan on a Target as a device-side transaction, and report its outcome.

Order (issue 10): read the device and refuse on drift (every file the plan replaces, against the
preview); stream one archive of the staged files into ONE root call (``receive.sh``) that
unpacks it into a new root-only transaction folder in the backup root and starts the
transaction (``ec_txn``) detached from the connection. From then on the device finishes the
deploy (lock, link and drift checks, backup, install, apply, check) or rolls itself back,
whatever happens to edgecert or the connection; edgecert polls the transaction's journal and
reports how it ended. An interrupt (Ctrl-C, SIGTERM, SIGHUP, the GUI's Cancel) is passed to the
device as a cancel file: before the install the transaction stops with nothing touched, after
it the device rolls back. A lost connection is opened again to read the outcome.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import socket
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.deploy.checks import CheckResult, parse_check_output
from core.deploy.preflight import require_preflight
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
    failure_hint,
)
from core.deploy.shlib import (
    BACKUP_ROOT,
    EXIT_LINK,
    EXIT_NOT_STARTED,
    EXIT_OK,
    RECEIVE_SH,
    TERMINAL_STATES,
)
from core.deploy.state import DeviceState, fingerprint, read_device_state, require_linux
from core.deploy.steps import LOCK_WAIT, StagedFile, staged_files
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
from core.progress import CancelToken, ProgressCallback, report
from core.targets.base import CommandResult, Target

log = logging.getLogger(__name__)

APPLY_TIMEOUT = 300.0
"""``iotedge config apply`` restarts every service; on a slow device that takes a while."""

POLL_MAX = 0.2
"""Pause between two journal polls when one came back with nothing new (each poll already
waits on the device, checking every 20 ms for about a second, for a new journal line)."""

RECONNECT_SECONDS = 30.0
"""How long a deploy tries to open a lost connection again to read the outcome."""

START_GRACE = 30.0
"""How long a transaction folder may stay without a journal (unpacking) before the deploy
stops waiting for it."""


@runtime_checkable
class Reconnectable(Protocol):
    """A target that can open its connection again (``SshTarget``)."""

    def reconnect(self) -> None: ...


@dataclass(frozen=True)
class StageOutput:
    """Parsed lines of what the library printed (``out`` of a transaction, ``restore.sh``)."""

    backup_dir: str | None
    installed: tuple[str, ...]
    failures: tuple[str, ...]
    problems: tuple[str, ...]
    drift: str | None
    restored: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


def parse_stage_output(text: str) -> StageOutput:
    """Parse what the library's transaction or ``ec_restore`` printed."""
    backup = None
    drift = None
    installed: list[str] = []
    failures: list[str] = []
    problems: list[str] = []
    restored: list[str] = []
    links: list[str] = []
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] in ("backup", "txn", "started") and len(f) > 1:
            backup = f[1]
        elif f[0] == "installed" and len(f) > 1:
            installed.append(f[1])
        elif f[0] == "fail" and len(f) > 3:
            failures.append(f[3])
        elif f[0] == "unreadable" and len(f) > 4:
            failures.append(f"{f[3]} is not readable by user {f[1]} ({f[4]})")
        elif f[0] in ("restore-failed", "left") and len(f) > 2:
            problems.append(f"{f[1]}: {f[2]}")
        elif f[0] == "reapply-failed" and len(f) > 1:
            problems.append(f"re-applying the previous configuration failed: {f[1]}")
        elif f[0] in ("restored", "removed") and len(f) > 1:
            restored.append(f"{f[0]} {f[1]}")
        elif f[0] == "link" and len(f) > 2:
            links.append(f"{f[1]} is a symbolic link to {f[2]}")
        elif f[0] == "drift" and len(f) > 3:
            drift = f"{f[1]} (then {f[2][:18]}…, now {f[3][:18]}…)"
    return StageOutput(backup, tuple(installed), tuple(failures), tuple(problems), drift,
                       tuple(restored), tuple(links))


def already_deployed(plan: Plan, state: DeviceState) -> bool:
    """Whether the device already holds exactly what the plan installs (config, files, modes)."""
    cfg = state.file(plan.config.path)
    if cfg.kind != "file" or cfg.sha256 != sha256_hex(plan.config.after):
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
    now_sha = now.sha256 if now.kind == "file" else None
    if now_sha != expected or (expected is not None and now.kind != "file"):
        def show(sha: str | None) -> str:
            return "absent" if sha is None else sha[:12] + "…"
        shown_now = show(now_sha) if now.kind in ("file", "absent") else f"a {now.kind}"
        raise DriftError(
            f"{plan.config.path} changed since the preview (sha256 then {show(expected)}, "
            f"now {shown_now}); nothing was touched",
            where=where,
        )


def check_preview_drift(plan: Plan, preview: DeviceState, now: DeviceState, where: str) -> None:
    """Refuse when a path the plan replaces is not what the preview saw (type and sha256).

    Only paths the preview looked at are compared.

    Raises:
        DriftError: naming the first path that changed.
    """
    looked = {f.path for f in preview.files}
    for path in [f.path for f in plan.files]:
        if path not in looked:
            continue
        then, cur = fingerprint(preview.file(path)), fingerprint(now.file(path))
        if then != cur:
            raise DriftError(
                f"{path} changed since the preview (then {_show_fp(then)}, now {_show_fp(cur)}); "
                "nothing was touched", where=where)


def _show_fp(fp: str) -> str:
    kind, _, rest = fp.partition(":")
    if kind == "file":
        return f"a file, sha256 {rest[:12]}…"
    if kind == "link":
        return f"a symbolic link to {rest}"
    return {"absent": "absent", "dir": "a folder"}.get(kind, f"a {kind}")


def _run_commands(target: Target, commands: Sequence[Command]) -> tuple[bool, str]:
    out = []
    for cmd in commands:
        res = target.run(cmd.argv, sudo=cmd.sudo, check=False, timeout=APPLY_TIMEOUT)
        out.append((res.stdout + res.stderr).strip())
        if not res.ok:
            return False, f"{' '.join(cmd.argv)} exited with {res.exit_status}: {out[-1][-800:]}"
    return True, "\n".join(out)


def rollback(target: Target, backup_dir: str, *, reapply: Sequence[Command] = ()) -> RollbackReport:
    """Put the backup in ``backup_dir`` back with its ``restore.sh`` (forced: it is the caller's
    decision), re-applying the previous configuration when ``reapply`` is not empty.

    Args:
        target: the device.
        backup_dir: a transaction folder made by a deploy (``manifest``, ``restore.sh``).
        reapply: the apply commands (empty when apply had not run: then nothing is applied).

    Returns:
        What was restored and what could not be.
    """
    argv = ["sh", f"{backup_dir}/restore.sh", "--force"]
    if not reapply:
        argv.append("--no-apply")
    try:
        res = target.run(argv, sudo=True, check=False, timeout=APPLY_TIMEOUT * 2)
    except TargetError as exc:
        return RollbackReport(backup_dir, False, (f"restore did not run: {exc}",))
    parsed = parse_stage_output(res.stdout.replace(" ", "\t", 1))
    if res.exit_status == 0:
        return RollbackReport(backup_dir, True, (), bool(reapply), "")
    text = (res.stdout + res.stderr).strip()[-600:] or f"exit {res.exit_status}"
    restored = "the files are back" in res.stdout
    if restored:
        return RollbackReport(backup_dir, True, parsed.problems, False, text)
    return RollbackReport(backup_dir, False, parsed.problems or (text,))


def _check(target: Target, plan: Plan) -> tuple[CheckResult, ...]:
    results: tuple[CheckResult, ...] = ()
    for cmd in plan.check:
        res: CommandResult = target.run(cmd.argv, sudo=cmd.sudo, check=False,
                                        timeout=APPLY_TIMEOUT)
        results = parse_check_output(res.stdout, plan.check_ids)
    return results


def _fail(target: Target, plan: Plan, backup: str, failure: str, applied: bool,
          checks: tuple[CheckResult, ...] = ()) -> EdgecertError:
    rb = rollback(target, backup, reapply=plan.apply if applied else ())
    if rb.ok:
        return DeployFailedError(failure, rb, where=target.name, checks=checks,
                                 hint=failure_hint(failure))
    return RollbackFailedError(failure, rb, where=target.name)


def build_archive(files: Sequence[StagedFile]) -> bytes:
    """One tar archive of the staged files (0600 each) plus their ``SHA256SUMS``, so the device
    unpacks exactly these bytes or nothing."""
    sums = "".join(f"{hashlib.sha256(f.data).hexdigest()}  {f.name}\n" for f in files)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in [*((f.name, f.data) for f in files), ("SHA256SUMS", sums.encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = 1577836800
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


_POLL = r"""
T=$1; tok=${T##*-}; seen=${2:-0}; i=0
# wait on the device (about 1 s at most) for a journal line beyond the SEEN ones
while [ -d "$T" ] && [ $i -lt 50 ]; do
  n=0; [ -f "$T/journal" ] && n=$(wc -l < "$T/journal")
  [ "$n" -gt "$seen" ] && break
  sleep 0.02 2>/dev/null || sleep 1
  i=$((i + 1))
done
[ -d "$T" ] || { echo 'gone'; exit 0; }
cat -- "$T/journal" 2>/dev/null
case $(tail -n 1 -- "$T/journal" 2>/dev/null | cut -f1) in
  deployed|rolled-back|rollback-failed|refused)
    for f in out failure check.out; do printf '\036%s\n' "$f"; cat -- "$T/$f" 2>/dev/null; done
    rm -f -- "${T%/*}/.cancel-$tok"
    [ "$(tail -n 1 -- "$T/journal" | cut -f1)" = refused ] && rm -rf -- "$T" ;;
esac
exit 0
"""

_CANCEL = r"""
root=$1; tok=$2
[ -L "$root" ] && exit 0
mkdir -p -m 700 -- "$root" && : > "$root/.cancel-$tok"
for d in "$root"/*-"$tok"; do [ -d "$d" ] && printf '%s\n' "$d"; done
exit 0
"""


@dataclass
class _Journal:
    lines: list[list[str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    gone: bool = False

    @property
    def state(self) -> str | None:
        return self.lines[-1][0] if self.lines else None

    @property
    def ended(self) -> bool:
        return self.gone or self.state in TERMINAL_STATES

    def had(self, state: str) -> bool:
        return any(line[0] == state for line in self.lines)


def parse_poll(text: str) -> _Journal:
    """Parse the poll command's answer: journal lines, then (when ended) ``\\x1eNAME`` sections."""
    j = _Journal()
    if text.strip() == "gone":
        j.gone = True
        return j
    head, *sections = text.split("\x1e")
    j.lines = [line.split("\t") for line in head.splitlines() if line.strip()]
    for sec in sections:
        name, _, body = sec.partition("\n")
        j.files[name] = body
    return j


_PHASE = {
    "waiting": ("stage", "waiting for the device lock"),
    "backing-up": ("install", "backup"),
    "installing": ("install", "install files and config"),
    "applying": ("apply", "applying the configuration"),
    "checking": ("check", "iotedge check"),
    "rolling-back": ("rollback", "rolling back"),
}


def _failure_text(failure: str, out: StageOutput, checks: tuple[CheckResult, ...]) -> str:
    """The device's short reason, made specific: unreadable paths, failed checks' details."""
    if failure.startswith("some paths are not") and out.failures:
        return "; ".join(out.failures)
    if failure.startswith("iotedge check failed"):
        bad = [c for c in checks if c.failed]
        if bad:
            return "iotedge check: " + "; ".join(c.describe() for c in bad)
    return failure


class _Transaction:
    """One deploy's device-side transaction: start it, follow its journal, map its outcome."""

    def __init__(self, plan: Plan, target: Target, backup_root: str,
                 progress: ProgressCallback | None, cancel: CancelToken | None) -> None:
        self.plan = plan
        self.target = target
        self.root = backup_root
        self.progress = progress
        self.cancel = cancel
        self.token = secrets.token_hex(6)
        self.folder: str | None = None
        self.cancel_wanted = False
        self.cancel_sent = False
        self.lost = False

    # ---- start ----------------------------------------------------------------------------

    def who(self) -> str:
        text = f"edgecert on {socket.gethostname()} (pid {os.getpid()}) as {self.target.name}"
        return "".join(c if c.isprintable() and c != "\t" else " " for c in text)

    def start(self, archive: bytes, allow_links: Sequence[str]) -> None:
        """Upload and start; on an interrupt or a lost connection find out whether it started."""
        report(self.progress, "upload", 0, len(archive), "transaction archive")
        try:
            res = self.target.run(
                ["sh", "-c", RECEIVE_SH, "edgecert-receive", self.root,
                 self.token, self.who(), *allow_links],
                sudo=True, stdin=archive, check=False, timeout=APPLY_TIMEOUT,
                progress=self.progress)
        except KeyboardInterrupt:
            self.cancel_wanted = True
            self._settle_start(interrupted=True)
            return
        except ConnectError:
            self.lost = True
            self._reconnect()
            self._settle_start(interrupted=False)
            return
        out = parse_stage_output(res.stdout)
        if res.exit_status == EXIT_LINK:
            raise LinkRefusedError(
                "; ".join(out.links) + ": refused, nothing was touched", where=self.target.name)
        if res.exit_status == EXIT_NOT_STARTED:
            failure = "; ".join(out.failures) or res.stderr.strip()[-300:] or "not started"
            raise NothingTouchedError(
                f"the deploy did not start: {failure}; nothing was touched",
                where=self.target.name,
                hint="Free space on the device (df -h /var/backups) and deploy again.")
        if res.exit_status != EXIT_OK or out.backup_dir is None:
            # did it start? the folder tells
            self._settle_start(interrupted=False)
            if self.folder is None:
                raise NothingTouchedError(
                    f"the device could not start the deploy (exit {res.exit_status}): "
                    f"{res.stderr.strip()[-300:]}", where=self.target.name,
                    hint="Check that the device has tar, sha256sum and a POSIX shell.")
            return
        self.folder = out.backup_dir
        report(self.progress, "upload", len(archive), len(archive), f"{self.folder}/stage")

    def _settle_start(self, *, interrupted: bool) -> None:
        """After the start call was cut off: ask a cancel if interrupted and find the folder.
        No folder, or one that disappears without a journal: the transaction never started."""
        deadline = time.monotonic() + START_GRACE
        while True:
            try:
                if interrupted:
                    res = self._root_sh(_CANCEL, self.root, self.token)
                    self.cancel_sent = True
                else:
                    res = self._root_sh(
                        'for d in "$1"/*-"$2"; do [ -d "$d" ] && printf "%s\\n" "$d"; done; '
                        "exit 0", self.root, self.token)
            except KeyboardInterrupt:
                interrupted = self.cancel_wanted = True
                continue
            except ConnectError:
                self._reconnect()
                continue
            found = [line for line in res.stdout.splitlines() if line.startswith("/")]
            if not found:
                self.folder = None
                return
            self.folder = found[-1]
            j = self._poll_once()
            if j.gone:
                self.folder = None
                return
            if j.lines:
                return
            if time.monotonic() > deadline:
                raise OutcomeUnknownError(
                    f"the device did not start or finish unpacking the deploy in "
                    f"{self.folder} within {START_GRACE:g} s", where=self.target.name)
            time.sleep(POLL_MAX)

    # ---- follow ---------------------------------------------------------------------------

    def _root_sh(self, script: str, *args: str) -> CommandResult:
        return self.target.run(["sh", "-c", script, "edgecert", *args], sudo=True, check=False,
                               timeout=60)

    def _poll_once(self, seen: int = 0) -> _Journal:
        assert self.folder is not None
        return parse_poll(self._root_sh(_POLL, self.folder, str(seen)).stdout)

    def _reconnect(self) -> None:
        if not isinstance(self.target, Reconnectable):
            raise OutcomeUnknownError(
                f"lost the connection to {self.target.name} after the deploy started",
                where=self.target.name)
        deadline = time.monotonic() + RECONNECT_SECONDS
        report(self.progress, "reconnect", message="connection lost; opening it again")
        while True:
            try:
                self.target.reconnect()
                return
            except ConnectError as exc:
                if time.monotonic() > deadline:
                    raise OutcomeUnknownError(
                        f"lost the connection to {self.target.name} after the deploy started "
                        f"and could not open it again ({exc.message})",
                        where=self.target.name) from exc
                time.sleep(1.0)

    def follow(self) -> _Journal:
        """Poll the journal until the transaction ends, passing on a cancel or an interrupt."""
        shown = 0
        no_journal_since = time.monotonic()
        while True:
            try:
                if self.cancel is not None and self.cancel.cancelled:
                    self.cancel_wanted = True
                if self.cancel_wanted and not self.cancel_sent:
                    report(self.progress, "cancel",
                           message="cancelling: the device stops or rolls back at its next step")
                    self._root_sh(_CANCEL, self.root, self.token)
                    self.cancel_sent = True
                j = self._poll_once(shown)
                fresh = len(j.lines) > shown
                for line in j.lines[shown:]:
                    phase = _PHASE.get(line[0])
                    if phase is not None:
                        report(self.progress, phase[0], message=phase[1])
                shown = max(shown, len(j.lines))
                if j.ended:
                    return j
                if not j.lines and time.monotonic() - no_journal_since > START_GRACE:
                    raise OutcomeUnknownError(
                        f"the transaction in {self.folder} has not started", where=self.target.name)
                if not fresh:
                    time.sleep(POLL_MAX)
            except KeyboardInterrupt:
                self.cancel_wanted = True
            except ConnectError:
                self._reconnect()

    # ---- outcome --------------------------------------------------------------------------

    def outcome(self, j: _Journal) -> DeployReport:
        where = self.target.name
        plan = self.plan
        folder = self.folder or "?"
        if j.gone:
            return self._untouched("the deploy stopped before it started")
        last = j.lines[-1]
        out = parse_stage_output(j.files.get("out", ""))
        failure = j.files.get("failure", "").strip() or (last[2] if len(last) > 2 else last[0])
        checks = parse_check_output(j.files.get("check.out", ""), plan.check_ids) \
            if "check.out" in j.files and j.files["check.out"].strip() else ()
        if last[0] == "deployed":
            report(self.progress, "done", message="deployed")
            warnings = plan.warnings
            if self.cancel_sent:
                warnings = (*warnings, "the cancel reached the device after its last step: the "
                            "deploy is live")
            return DeployReport(where, plan.release, "deployed", folder, out.installed, checks,
                                warnings)
        if last[0] == "refused":
            kind = last[2] if len(last) > 2 else ""
            detail = last[3] if len(last) > 3 else failure
            if kind == "cancelled" or (self.cancel_sent and kind not in ("link", "drift")):
                return self._untouched(detail)
            if kind == "locked":
                raise DeviceLockedError(f"{detail}; nothing was touched", where=where)
            if kind == "link":
                raise LinkRefusedError(f"{detail}: refused, nothing was touched", where=where)
            if kind == "drift":
                raise DriftError(f"{out.drift or detail}: changed since the preview; nothing "
                                 "was touched", where=where)
            raise NothingTouchedError(f"{detail}; nothing was touched", where=where,
                                      hint="Free space on the device (df -h) and deploy again.")
        applied = j.had("applying")
        if last[0] == "rolled-back":
            rb = RollbackReport(folder, True, out.problems, applied, "")
            if self.cancel_sent and "cancelled" in failure:
                raise CancelledError(f"cancelled by the user; {rb.describe()}", where=where,
                                     hint="The device is as it was before the deploy.")
            failure = _failure_text(failure, out, checks)
            raise DeployFailedError(failure, rb, where=where, checks=checks,
                                    hint=failure_hint(failure))
        # rollback-failed
        reapply = [p for p in out.problems if p.startswith("re-applying")]
        files = [p for p in out.problems if not p.startswith("re-applying")]
        rb = RollbackReport(folder, not files, tuple(files), False,
                            "; ".join(reapply) or ("" if files else "failed"))
        raise RollbackFailedError(_failure_text(failure, out, checks), rb, where=where)

    def _untouched(self, detail: str) -> DeployReport:
        if self.cancel_sent or self.cancel_wanted:
            raise InterruptedBeforeInstallError(
                f"interrupted before the install ({detail}); nothing on the device was changed",
                where=self.target.name)
        if self.lost:
            raise ConnectError(
                f"the connection to {self.target.name} was lost during the upload; the deploy "
                "never started, nothing on the device was changed", where=self.target.name,
                hint="Check the network, then run the same command again.")
        raise NothingTouchedError(f"{detail}; nothing was touched", where=self.target.name)


def deploy(
    plan: Plan,
    target: Target,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    backup_root: str = BACKUP_ROOT,
    preview: DeviceState | None = None,
    allow_links: Sequence[str] = (),
    lock_wait: int = LOCK_WAIT,
) -> DeployReport:
    """Carry out ``plan`` on ``target`` as a device-side transaction; report how it ended.

    Args:
        plan: the plan from the preview (``core.config`` ``build_plan``).
        target: the device (SSH, EFLOW or this computer).
        progress: receives step names, uploaded bytes and the transaction's steps.
        cancel: checked throughout. Cancelling before the install leaves the device
            untouched (``InterruptedBeforeInstallError``); after it the device rolls back.
            A KeyboardInterrupt (Ctrl-C, or SIGTERM/SIGHUP turned into one) does the same.
        backup_root: where on the device the transaction (backup) folders go.
        preview: the device state the plan was computed from; every path the plan replaces
            must still be the same (type and sha256), else ``DriftError``.
        allow_links: symbolic links the user allows on the way to the target paths.
        lock_wait: seconds to wait for another deploy on the same device.

    Returns:
        What was done and the certificate-related check results.

    Raises:
        PreflightError: the plan's files fail the pre-flight; the device is not contacted.
        DriftError: the device changed since the preview; nothing was touched.
        LinkRefusedError, DeviceLockedError, NothingTouchedError: refused, nothing touched.
        InterruptedBeforeInstallError: interrupted or cancelled before the install; nothing
            touched.
        DeployFailedError: a step failed; the device rolled back.
        CancelledError: cancelled after the install; the device rolled back.
        RollbackFailedError: a step failed and the rollback failed too.
        OutcomeUnknownError: the connection was lost for good after the start.
        AuthError, ConnectError: from the target, before anything started.
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
    if preview is not None:
        check_preview_drift(plan, preview, state, where)
    check_drift(plan, state, where)
    last = state.last_backup
    if last is not None and last.live:
        report(progress, "stage", message=f"another deploy runs: {last.describe()}")
    if already_deployed(plan, state):
        if last is not None and last.status == "installed" and not last.live:
            return _finish_interrupted(plan, target, last.path, progress)
        report(progress, "check", message="already deployed; checking")
        return DeployReport(where, plan.release, "already-deployed", None, (),
                            _check(target, plan), plan.warnings)
    expect = {f.path: fingerprint(state.file(f.path)) for f in plan.files}
    files = staged_files(plan, backup_root=backup_root, expect=expect, allow_links=allow_links,
                         lock_wait=lock_wait)
    txn = _Transaction(plan, target, backup_root, progress, cancel)
    report(progress, "stage", message="uploading into a root-only transaction folder")
    try:
        if cancel is not None:
            cancel.raise_if_cancelled()
    except CancelledError as exc:
        raise InterruptedBeforeInstallError("cancelled before anything was sent; nothing on "
                                            "the device was changed", where=where) from exc
    txn.start(build_archive(files), allow_links)
    if txn.folder is None:
        return txn._untouched("the deploy never started on the device")
    return txn.outcome(txn.follow())


def _finish_interrupted(plan: Plan, target: Target, backup: str,
                        progress: ProgressCallback | None) -> DeployReport:
    """The files are in place but the last deploy was cut off before apply (the device
    restarted): apply and check now; on failure its backup (the state before that deploy) is
    put back."""
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


__all__ = ["DeployError", "build_archive", "check_drift", "check_preview_drift", "deploy",
           "parse_poll", "parse_stage_output", "rollback"]
