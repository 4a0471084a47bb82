"""``edgecert site status | plan | deploy | renew``: a whole site of devices from one site file.

Exit codes: ``status`` 0 when every device is fine, 1 when any is expiring within
``--warn-days``, expired, not from the site CA or unreachable; ``deploy`` 0 all fine, 1 some
failed and were rolled back, were skipped or unreachable, 3 any rollback failed; 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import UsageError
from core.site.defaults import DEFAULT_WARN_DAYS, DEFAULT_WORKERS

if TYPE_CHECKING:
    from core.site.connect import Access


def register(subparsers: Any) -> None:
    """Add ``site`` and its commands."""
    site = subparsers.add_parser("site", help="a whole site of devices from one site file")
    sub = site.add_subparsers(dest="site_command", metavar="COMMAND", required=True)

    st = sub.add_parser(
        "status", help="expiry watch: every device's edge CA, days left, site CA, trust bundle",
        description="Read every device in parallel (nothing is written). Exit 0 when all are "
        "fine; 1 when any edge CA expires within --warn-days, has expired, is not from the "
        "site CA, or a device is unreachable (for cron, Task Scheduler or monitoring).")
    _common(st)
    st.add_argument("--warn-days", type=int, default=DEFAULT_WARN_DAYS, metavar="DAYS",
                    help="warn when an edge CA ends within this many days (default "
                    f"{DEFAULT_WARN_DAYS})")
    st.add_argument("--html", type=Path, metavar="FILE", help="also write the table as HTML")
    st.set_defaults(func=_cmd_status)

    pl = sub.add_parser(
        "plan", help="what a deploy would change on every device (nothing is written)",
        description="Read every device in parallel and show its version, current edge CA and "
        "expiry, and what site deploy would change. Nothing is written.")
    _common(pl)
    pl.add_argument("--only", action="append", metavar="NAMES",
                    help="only these devices (comma-separated, repeatable)")
    pl.add_argument("--diff", action="store_true", help="also the full redacted config diff")
    pl.set_defaults(func=_cmd_plan)

    dep = sub.add_parser(
        "deploy", help="issue every device its own edge CA from the site CA and deploy it",
        description="Each device: a new edge CA from the site CA (unless it already has a "
        "good one and the wanted config: unchanged, nothing written), then the single-device "
        "deploy (drift check, backup, install, apply, check, rollback); parents before "
        "children, in parallel. Ctrl-C: devices in flight finish or roll back, the rest do "
        "not start. Exit 0 all fine; 1 some rolled back, skipped or unreachable; 3 a "
        "rollback failed; 2 bad input.")
    _common(dep)
    dep.add_argument("--only", action="append", metavar="NAMES",
                     help="only these devices (comma-separated, repeatable)")
    dep.add_argument("--yes", action="store_true", help="do not ask before deploying")
    dep.add_argument("--results", type=Path, metavar="FILE",
                     help="results file (default: [site] results, or SITE.results.json)")
    dep.set_defaults(func=_cmd_deploy, within=None, renew_all=False)

    ren = sub.add_parser(
        "renew", help="reissue and deploy the edge CAs that end within DAYS (or all of them)",
        description="Like site deploy, with the same safety and results file, but an edge CA "
        "from the site CA is reissued when it ends within --within DAYS (--all: every one).")
    _common(ren)
    which = ren.add_mutually_exclusive_group(required=True)
    which.add_argument("--within", type=int, metavar="DAYS",
                       help="reissue edge CAs that end within this many days")
    which.add_argument("--all", dest="renew_all", action="store_true",
                       help="reissue every device's edge CA")
    ren.add_argument("--only", action="append", metavar="NAMES",
                     help="only these devices (comma-separated, repeatable)")
    ren.add_argument("--yes", action="store_true", help="do not ask before deploying")
    ren.add_argument("--results", type=Path, metavar="FILE",
                     help="results file (default: [site] results, or SITE.results.json)")
    ren.set_defaults(func=_cmd_deploy)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", required=True, type=Path, metavar="FILE", help="the site file")
    p.add_argument("--json", action="store_true", help="JSON on stdout instead of a table")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                   help=f"devices read at once (default {DEFAULT_WORKERS})")
    p.add_argument("--password-stdin", action="store_true",
                   help="read one login/sudo password for every device from stdin")
    p.add_argument("--accept-host-key", action="append", default=[], metavar="NAME=SHA256:…",
                   help="accept this host key fingerprint for device NAME on first contact "
                   "(repeatable)")


def _access(args: argparse.Namespace) -> Access:
    from core.site.connect import Access

    accept = []
    for item in args.accept_host_key:
        name, sep, fingerprint = item.partition("=")
        if not sep or not fingerprint.startswith("SHA256:"):
            raise UsageError(f"--accept-host-key {item!r} is not NAME=SHA256:…",
                             hint="Give the device name and the fingerprint edgecert showed, "
                                  "e.g. gw-01=SHA256:abc….")
        accept.append((name, fingerprint))
    if not args.password_stdin:
        return Access(accept_fingerprints=tuple(accept))
    line = sys.stdin.readline()
    if not line:
        raise UsageError("--password-stdin given but stdin is empty",
                         hint="Pipe the password in, e.g. from a password manager.")
    return Access(password=line.rstrip("\r\n"), accept_fingerprints=tuple(accept))


def _colour() -> bool:
    """Colours only on a terminal, and never with NO_COLOR set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _progress_line(done: int, total: int, name: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K  {done}/{total} {name}")
        if done == total:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _cmd_status(args: argparse.Namespace) -> int:
    from core.fs import write_atomic
    from core.progress import ProgressEvent
    from core.site.load import load_site
    from core.site.render import STATUS_COLUMNS, html_page, status_rows, text_table
    from core.site.status import site_status

    if args.warn_days < 0:
        raise UsageError("--warn-days must be 0 or more", hint="The default is 30.")
    site = load_site(args.site)
    now = dt.datetime.now(dt.UTC)

    def progress(ev: ProgressEvent) -> None:
        _progress_line(ev.done, ev.total, ev.message)

    results = site_status(site, access=_access(args), workers=args.workers, now=now,
                          progress=progress)
    rows = status_rows(results, now, args.warn_days)
    if args.html is not None:
        page = html_page(f"edgecert site status: {site.name}", STATUS_COLUMNS, rows,
                         class_column=1, generated=now)
        write_atomic(args.html, page.encode("utf-8"), 0o644, what="the HTML report")
    if args.json:
        json.dump([h.to_dict(now, args.warn_days) for h in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_table(STATUS_COLUMNS, rows, colour_column=1, colour=_colour()))
    bad = [h for h in results if h.health(now, args.warn_days) != "ok"]
    if bad and not args.json:
        sys.stderr.write(f"{len(bad)} of {len(results)} device(s) need attention\n")
    return 1 if bad else 0


PLAN_COLUMNS = ("device", "action", "IoT Edge", "edge CA until", "site CA", "why / changes")


def _plan_rows(results: Any) -> list[list[str]]:
    rows = []
    for r in results:
        p = r.plan
        if p is None:
            rows.append([r.name, "unreachable" if not r.reachable else "error", "-", "-", "-",
                         (r.error or "").splitlines()[0]])
            continue
        cur = p.current
        rows.append([r.name, p.action, p.version or "-",
                     f"{cur.not_after:%Y-%m-%d}" if cur else "-",
                     ("yes" if cur.from_site_ca else "no") if cur else "-",
                     p.reason + ("; " + ", ".join(p.changes()) if p.changes() else "")])
    return rows


def _cmd_plan(args: argparse.Namespace) -> int:
    from core.site.load import load_site
    from core.site.render import text_table
    from core.site.run import site_plan

    site = load_site(args.site)
    results = site_plan(site, access=_access(args), workers=args.workers, only=args.only)
    if args.json:
        json.dump([r.to_dict(diff=args.diff) for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_table(PLAN_COLUMNS, _plan_rows(results)))
        if args.diff:
            from core.config.planning import plan_diff

            for r in results:
                if r.plan is not None and r.plan.plan is not None:
                    sys.stdout.write(f"\n--- {r.name} ---\n"
                                     + (plan_diff(r.plan.plan) or "(config unchanged)\n"))
        for r in results:
            if r.error:
                sys.stderr.write(f"{r.name}: {r.error}\n")
    return 0 if all(r.plan is not None for r in results) else 1


RESULT_COLUMNS = ("device", "outcome", "edge CA until", "backup", "why")
_OUTCOME_COLOURS = {"deployed": "ok", "unchanged": "ok", "rolled_back": "expiring",
                    "skipped": "expiring", "unreachable": "unreachable",
                    "rollback_failed": "error"}


def _cmd_deploy(args: argparse.Namespace) -> int:
    import dataclasses
    import threading

    from core.site.load import load_site
    from core.site.render import text_table
    from core.site.run import exit_code, select, site_deploy

    site = load_site(args.site)
    if args.within is not None:
        if args.within < 0:
            raise UsageError("--within must be 0 or more", hint="E.g. --within 30.")
        site = dataclasses.replace(site, renew_within_days=args.within)
    access = _access(args)
    chosen = select(site, args.only)
    if not args.yes:
        if args.password_stdin or not sys.stdin.isatty():
            raise UsageError(f"cannot ask for confirmation (deploy {len(chosen)} device(s)?): "
                             "stdin is not a terminal",
                             hint="Review `edgecert site plan`, then add --yes.")
        answer = input(f"Deploy edge CAs from the site CA to {len(chosen)} device(s) of "
                       f"{site.name}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            sys.stderr.write("not deployed\n")
            return 2
    lock = threading.Lock()

    def progress(name: str, what: str) -> None:
        with lock:
            sys.stderr.write(f"{name}: {what}\n")
            sys.stderr.flush()

    stop = threading.Event()
    results = site_deploy(site, access=access, workers=args.workers, only=args.only,
                          stop=stop, progress=progress, results_path=args.results,
                          reissue=args.renew_all)
    if stop.is_set():
        sys.stderr.write("edgecert: interrupted; the devices in flight finished, the rest "
                         "were not started\n")
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rows = [[r.name, r.outcome,
                 f"{r.edge_ca_not_after:%Y-%m-%d}" if r.edge_ca_not_after else "-",
                 r.backup or "-", (r.reason or "").splitlines()[0] if r.reason else ""]
                for r in results]
        table = text_table(RESULT_COLUMNS, rows)
        if _colour():
            for word, colour in _OUTCOME_COLOURS.items():
                table = table.replace(f"  {word} ", f"  {_paint(word, colour)} ")
        sys.stdout.write(table)
        sys.stderr.write(f"results: {args.results or site.results}\n")
    return exit_code(results)


def _paint(word: str, health: str) -> str:
    codes = {"ok": "32", "expiring": "33", "unreachable": "31", "error": "31"}
    return f"\x1b[{codes[health]}m{word}\x1b[0m"
