"""``site plan`` and ``site deploy``: every device planned, and deployed through ``deploy()``.

Deploy order: parents before children, at most ``workers`` devices at a time; a child whose
parent did not end ``deployed`` or ``unchanged`` is skipped, saying why. Each device goes
through the one single-device path (``plan_device`` → ``core.deploy.deploy``): drift check,
backup, atomic install, apply, check, rollback. One device failing never stops the others.
``stop`` (Ctrl-C in the CLI): devices in flight finish (or roll back) as ``deploy()`` does, the
rest are not started. The results file is rewritten atomically after every device.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.config.planning import plan_diff
from core.deploy import DeployFailedError, RollbackFailedError, deploy
from core.errors import CancelledError, EdgecertError, UsageError
from core.fs import write_atomic
from core.progress import ProgressEvent
from core.site.authority import Authority, load_authority
from core.site.connect import Access, open_device, parallel_map
from core.site.defaults import DEFAULT_WORKERS
from core.site.model import Site, SiteDevice
from core.site.planning import DevicePlan, plan_device
from core.site.status import UNREACHABLE
from core.targets.base import Target

Outcome = Literal["deployed", "unchanged", "rolled_back", "rollback_failed", "skipped",
                  "unreachable"]
SiteProgress = Callable[[str, str], None]
"""Called with (device name, what it is doing now), from worker threads."""
Opener = Callable[[SiteDevice], Target]
GOOD: tuple[Outcome, ...] = ("deployed", "unchanged")


@dataclass(frozen=True)
class PlanResult:
    """``site plan`` for one device: its plan, or why it could not be planned."""

    name: str
    host: str
    reachable: bool
    plan: DevicePlan | None = field(default=None, repr=False)
    error: str | None = None

    def to_dict(self, *, diff: bool = False) -> dict[str, Any]:
        p = self.plan
        out: dict[str, Any] = {"name": self.name, "host": self.host,
                               "reachable": self.reachable, "error": self.error}
        if p is not None:
            cur = p.current
            out.update({
                "version": p.version, "release": p.release, "action": p.action,
                "reason": p.reason, "hostname": p.hostname,
                "parent_hostname": p.parent_hostname,
                "edge_ca_subject": cur.subject if cur else None,
                "edge_ca_not_after": cur.not_after.isoformat() if cur else None,
                "edge_ca_from_site_ca": cur.from_site_ca if cur else False,
                "changes": list(p.changes()),
                "warnings": list(p.plan.warnings) if p.plan else [],
            })
            if diff:
                out["diff"] = plan_diff(p.plan) if p.plan else ""
        return out


@dataclass(frozen=True)
class DeviceResult:
    """How ``site deploy`` ended for one device (one entry of the results file)."""

    name: str
    host: str
    outcome: Outcome
    reason: str = ""
    edge_ca_serial: str | None = None
    edge_ca_not_after: dt.datetime | None = None
    backup: str | None = None
    checks: tuple[str, ...] = ()
    parent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "outcome": self.outcome,
                "reason": self.reason, "parent": self.parent,
                "edge_ca_serial": self.edge_ca_serial,
                "edge_ca_not_after": None if self.edge_ca_not_after is None
                else self.edge_ca_not_after.isoformat(),
                "backup": self.backup, "checks": list(self.checks)}


def exit_code(results: Sequence[DeviceResult]) -> int:
    """0 all deployed or unchanged; 3 any rollback failed; 1 otherwise."""
    if any(r.outcome == "rollback_failed" for r in results):
        return 3
    return 0 if all(r.outcome in GOOD for r in results) else 1


def select(site: Site, only: Sequence[str] | None) -> tuple[SiteDevice, ...]:
    """The devices named by ``--only`` (all when None), parents first.

    Raises:
        UsageError: a name that is not a device of the site.
    """
    if not only:
        return site.ordered()
    names = {n.strip() for item in only for n in item.split(",") if n.strip()}
    unknown = sorted(n for n in names if n not in {d.name for d in site.devices})
    if unknown:
        raise UsageError("not devices of the site: " + ", ".join(unknown), where=str(site.path),
                         hint="Use the names of the site file's devices.")
    return tuple(d for d in site.ordered() if d.name in names)


def _opener(access: Access | None, opener: Opener | None) -> Opener:
    return opener or (lambda d: open_device(d, access))


# ---- plan ---------------------------------------------------------------------------------------


def site_plan(site: Site, *, access: Access | None = None, workers: int = DEFAULT_WORKERS,
              only: Sequence[str] | None = None, now: dt.datetime | None = None,
              opener: Opener | None = None, reissue: bool = False) -> tuple[PlanResult, ...]:
    """Read and plan every device in parallel; nothing is written anywhere."""
    auth = load_authority(site.ca)
    open_ = _opener(access, opener)

    def one(device: SiteDevice) -> PlanResult:
        try:
            target = open_(device)
        except (*UNREACHABLE, UsageError) as exc:
            return PlanResult(device.name, device.host, False, error=str(exc))
        try:
            return PlanResult(device.name, device.host, True,
                              plan_device(target, device, site, auth, now=now,
                                          reissue=reissue))
        except UNREACHABLE as exc:
            return PlanResult(device.name, device.host, False, error=str(exc))
        except EdgecertError as exc:
            return PlanResult(device.name, device.host, True, error=exc.describe())
        finally:
            target.close()

    return tuple(parallel_map(one, select(site, only), workers))


# ---- deploy -------------------------------------------------------------------------------------


def _deploy_one(device: SiteDevice, site: Site, auth: Authority, open_: Opener,
                stop: threading.Event, progress: SiteProgress | None, reissue: bool,
                now: dt.datetime | None) -> DeviceResult:
    def result(outcome: Outcome, reason: str, **kw: Any) -> DeviceResult:
        return DeviceResult(device.name, device.host, outcome, reason, parent=device.parent,
                            **kw)

    def say(what: str) -> None:
        if progress is not None:
            progress(device.name, what)

    if stop.is_set():
        return result("skipped", "not started: the deploy was interrupted")
    say("connecting")
    try:
        target = open_(device)
    except (*UNREACHABLE, UsageError) as exc:
        return result("unreachable", str(exc))
    try:
        say("reading")
        dp = plan_device(target, device, site, auth, now=now, reissue=reissue)
        if dp.action == "unchanged" or dp.plan is None:
            cur = dp.current
            return result("unchanged", dp.reason, edge_ca_serial=cur.serial if cur else None,
                          edge_ca_not_after=cur.not_after if cur else None)
        if stop.is_set():
            return result("skipped", "not started: the deploy was interrupted")
        assert dp.edge is not None

        def step(ev: ProgressEvent) -> None:
            if ev.step != "upload":
                say(ev.step)

        report = deploy(dp.plan, target, progress=step)
        return result("deployed", dp.reason, edge_ca_serial=format(dp.edge.serial, "x"),
                      edge_ca_not_after=dp.edge.not_after, backup=report.backup_dir,
                      checks=tuple(c.describe() for c in report.checks))
    except DeployFailedError as exc:
        rb = exc.rollback
        return result("rolled_back", exc.message, backup=rb.backup_dir if rb else None,
                      checks=tuple(c.describe() for c in exc.checks))
    except RollbackFailedError as exc:
        return result("rollback_failed", exc.describe(), backup=exc.rollback.backup_dir)
    except UNREACHABLE as exc:
        return result("unreachable", str(exc))
    except CancelledError as exc:
        return result("skipped", exc.message)
    except EdgecertError as exc:
        return result("skipped", f"nothing was written: {exc.describe()}")
    finally:
        target.close()


@dataclass
class _Run:
    site: Site
    results_path: Path
    results: dict[str, DeviceResult] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, r: DeviceResult, order: Sequence[SiteDevice]) -> None:
        with self.lock:
            self.results[r.name] = r
            rows = [self.results[d.name].to_dict() for d in order if d.name in self.results]
            doc = {"site": self.site.name, "site_file": str(self.site.path),
                   "written": dt.datetime.now(dt.UTC).isoformat(), "devices": rows}
            write_atomic(self.results_path, (json.dumps(doc, indent=2) + "\n").encode(), 0o644,
                         what="the results file")


def site_deploy(site: Site, *, access: Access | None = None, workers: int = DEFAULT_WORKERS,
                only: Sequence[str] | None = None, stop: threading.Event | None = None,
                progress: SiteProgress | None = None, results_path: Path | None = None,
                opener: Opener | None = None, reissue: bool = False,
                now: dt.datetime | None = None) -> tuple[DeviceResult, ...]:
    """Deploy every (selected) device: parents first, ``workers`` at a time.

    Args:
        stop: set it (from any thread, or by Ctrl-C in the caller) to start no further device;
            devices in flight finish or roll back.
        results_path: the results file (default ``site.results``), rewritten atomically after
            each device.

    Returns:
        One result per selected device, parents first.

    A Ctrl-C (KeyboardInterrupt in the calling thread) while devices are in flight sets
    ``stop``: they finish, the rest are ``skipped``, and the results are returned as usual
    (``stop.is_set()`` tells the caller it happened).

    Raises:
        SiteError, InputError: the site CA files (before any device is contacted).
    """
    if workers < 1:
        raise UsageError("--workers must be at least 1", hint="The default is 8.")
    auth = load_authority(site.ca)
    open_ = _opener(access, opener)
    stop = stop or threading.Event()
    order = select(site, only)
    chosen = {d.name for d in order}
    run = _Run(site, results_path or site.results)
    pending = list(order)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="site-deploy") as pool:
        running: dict[Future[DeviceResult], SiteDevice] = {}
        while pending or running:
            for d in list(pending):
                if stop.is_set():
                    break
                parent = d.parent if d.parent in chosen else None
                if parent is not None:
                    if parent not in run.results:
                        continue
                    got = run.results[parent].outcome
                    if got not in GOOD:
                        pending.remove(d)
                        run.record(DeviceResult(d.name, d.host, "skipped",
                                                f"not started: its parent {parent} ended "
                                                f"{got}", parent=d.parent), order)
                        continue
                pending.remove(d)
                running[pool.submit(_deploy_one, d, site, auth, open_, stop, progress,
                                    reissue, now)] = d
            if stop.is_set():
                for d in pending:
                    run.record(DeviceResult(d.name, d.host, "skipped",
                                            "not started: the deploy was interrupted",
                                            parent=d.parent), order)
                pending.clear()
            if not running:
                continue
            try:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                stop.set()
                continue
            for fut in done:
                d = running.pop(fut)
                run.record(fut.result(), order)
    return tuple(run.results[d.name] for d in order)
