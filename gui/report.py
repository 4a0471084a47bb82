"""The work-order report: the summary as plain values, rendered as self-contained HTML.

Everything in a :class:`Summary` is public information (fingerprints, dates, paths); no key,
password or PIN ever reaches it.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CheckLine:
    check_id: str
    result: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thumbprint:
    role: str
    subject: str
    sha256: str
    sha1: str = ""
    not_after: dt.datetime | None = None


@dataclass(frozen=True)
class Summary:
    """What the summary page and the report show."""

    target: str
    release: str
    ca_term: str
    edge_ca_expiry: dt.datetime | None
    renewal: str
    backup_location: str
    output_dir: str
    checks: tuple[CheckLine, ...] = ()
    checks_note: str = ""
    thumbprints: tuple[Thumbprint, ...] = ()
    files: tuple[str, ...] = ()
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def checks_ok(self) -> bool:
        return all(c.result not in ("error", "fatal") for c in self.checks)


def _e(text: object) -> str:
    return html.escape(str(text))


def facts_html(s: Summary) -> str:
    """The key facts as a small HTML fragment (summary page and report)."""
    rows = [("Target", s.target), ("IoT Edge", s.release)]
    if s.edge_ca_expiry is not None:
        days = (s.edge_ca_expiry - dt.datetime.now(dt.UTC)).days
        rows.append((f"{s.ca_term[:1].upper()}{s.ca_term[1:]} expires",
                     f"{s.edge_ca_expiry:%Y-%m-%d %H:%M} UTC ({days} days)"))
    rows.append(("Renewal", s.renewal))
    rows.append(("Backup on the device", s.backup_location or "none (nothing was replaced)"))
    rows.append(("Output folder", s.output_dir))
    body = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in rows)
    prints = "".join(
        f"<tr><td><b>{_e(t.role)}</b></td><td><code>SHA-256 {_e(t.sha256)}</code>"
        + (f"<br><code>SHA-1 {_e(t.sha1)}</code>" if t.sha1 else "") + "</td></tr>"
        for t in s.thumbprints
    )
    return f"<table cellspacing='4'>{body}{prints}</table>"


def render_html(s: Summary) -> str:
    """A self-contained HTML page for the work order."""
    checks = "".join(
        f"<tr class='{_e(c.result)}'><td>{_e(c.result)}</td><td>{_e(c.check_id)}</td>"
        f"<td>{'<br>'.join(_e(d) for d in c.details)}</td></tr>"
        for c in s.checks
    ) or f"<tr><td colspan='3'>{_e(s.checks_note or 'no checks were run')}</td></tr>"
    files = "".join(f"<li><code>{_e(f)}</code></li>" for f in s.files)
    verdict = "All certificate checks passed." if s.checks_ok else "Some checks FAILED."
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>edgecert report: {_e(s.target)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #999; padding: 4px 8px; vertical-align: top; text-align: left; }}
tr.error td, tr.fatal td {{ background: #ffebe9; }}
tr.warning td {{ background: #fff8c5; }}
code {{ font-size: 90%; }}
</style></head><body>
<h1>edgecert report</h1>
<p>Created {s.created:%Y-%m-%d %H:%M} UTC. {_e(verdict)}</p>
<h2>Summary</h2>
{facts_html(s)}
<h2>iotedge check (certificates)</h2>
<table><tr><th>Result</th><th>Check</th><th>Details</th></tr>{checks}</table>
<h2>Files installed</h2>
<ul>{files or '<li>none</li>'}</ul>
</body></html>
"""


def write_report(s: Summary, path: Path) -> Path:
    """Write the HTML report atomically (``core.fs.write_atomic``)."""
    from core.fs import write_atomic

    return write_atomic(path, render_html(s).encode("utf-8"), 0o600, what="the report",
                        make_parents=True)
