"""``edgecert site status | plan | deploy``: a whole site of devices from one site file.

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
from typing import Any

from core.errors import UsageError
from core.site.connect import DEFAULT_WORKERS, Access


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
    st.add_argument("--warn-days", type=int, default=30, metavar="DAYS",
                    help="warn when an edge CA ends within this many days (default 30)")
    st.add_argument("--html", type=Path, metavar="FILE", help="also write the table as HTML")
    st.set_defaults(func=_cmd_status)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", required=True, type=Path, metavar="FILE", help="the site file")
    p.add_argument("--json", action="store_true", help="JSON on stdout instead of a table")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                   help=f"devices read at once (default {DEFAULT_WORKERS})")
    p.add_argument("--password-stdin", action="store_true",
                   help="read one login/sudo password for every device from stdin")


def _access(args: argparse.Namespace) -> Access:
    if not args.password_stdin:
        return Access()
    line = sys.stdin.readline()
    if not line:
        raise UsageError("--password-stdin given but stdin is empty",
                         hint="Pipe the password in, e.g. from a password manager.")
    return Access(password=line.rstrip("\r\n"))


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
    from core.progress import ProgressEvent
    from core.site import load_site
    from core.site.files import write_atomically
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
        write_atomically(args.html, page.encode("utf-8"))
    if args.json:
        json.dump([h.to_dict(now, args.warn_days) for h in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_table(STATUS_COLUMNS, rows, colour_column=1, colour=_colour()))
    bad = [h for h in results if h.health(now, args.warn_days) != "ok"]
    if bad and not args.json:
        sys.stderr.write(f"{len(bad)} of {len(results)} device(s) need attention\n")
    return 1 if bad else 0
