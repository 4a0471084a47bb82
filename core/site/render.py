"""Tables of site results for a terminal (colours optional) and as a stand-alone HTML page."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from core.site.status import DeviceHealth

_COLOURS = {"ok": "32", "expiring": "33", "expired": "31", "foreign": "35",
            "no-edge-ca": "33", "unreachable": "31", "error": "31"}
STATUS_COLUMNS = ("device", "health", "days left", "expires", "IoT Edge", "site CA",
                  "trust bundle", "edge CA subject")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def status_rows(results: Sequence[DeviceHealth], now: dt.datetime, warn_days: int
                ) -> list[list[str]]:
    """The status table as text cells, one row per device (in the given order)."""
    rows = []
    for h in results:
        days = h.days_left(now)
        rows.append([
            h.name, h.health(now, warn_days), "-" if days is None else str(days),
            "-" if h.edge_ca_not_after is None else f"{h.edge_ca_not_after:%Y-%m-%d}",
            h.version or "-", _yes(h.issued_by_site_ca) if h.reachable else "-",
            _yes(h.trust_bundle_ok) if h.reachable else "-",
            h.edge_ca_subject or (h.error or "-"),
        ])
    return rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, colour_column:
               int | None = None, colour: bool = False) -> str:
    """Columns padded to width; the ``colour_column`` cell coloured by its word."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = []
    for i, row in enumerate([list(header), *map(list, rows)]):
        cells = []
        for j, cell in enumerate(row):
            last = j == len(row) - 1
            text = str(cell) if last else str(cell).ljust(widths[j])
            if colour and i > 0 and j == colour_column and cell in _COLOURS:
                text = f"\x1b[{_COLOURS[cell]}m{text}\x1b[0m"
            cells.append(text)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left}th{background:#eee}
.ok{background:#dfd}.expiring,.no-edge-ca{background:#ffd}.expired,.unreachable,.error{background:#fdd}
.foreign{background:#fdf}"""


def html_page(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], *,
              class_column: int | None = None, generated: dt.datetime | None = None) -> str:
    """A self-contained HTML page with the table; every cell escaped."""
    when = f"<p>generated {html.escape(generated.isoformat())}</p>" if generated else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cls = ""
        if class_column is not None and row[class_column] in _COLOURS:
            cls = f' class="{row[class_column]}"'
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                    + "</tr>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{when}<table><thead><tr>{head}</tr></thead><tbody>"
            + "\n".join(body) + "</tbody></table></body></html>\n")
