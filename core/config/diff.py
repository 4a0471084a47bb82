"""Unified diff of a device configuration, with every secret redacted.

Redacted: SAS keys (``SharedAccessKey=`` in connection strings), symmetric keys, passwords
(EST and others), ``pin-value`` in PKCS#11 URIs, and anything that looks like PEM or base64
key material. The diff is computed on the real text, so a changed secret still shows as a
changed line, but only the redacted lines are ever printed.

The diff is Myers' O((N+M)·D) algorithm after stripping the common head and tail: linear in the
file's size for the handful of lines edgecert changes (``difflib`` is quadratic on a large
config with many equal lines). Past ``MAX_EDITS`` changed lines the middle is shown as one
replaced block, still a correct diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from core.errors import shown

REDACTED = "<redacted>"
MAX_EDITS = 2000
"""Changed lines beyond which the diff stops looking for the smallest edit."""

Opcode = tuple[str, int, int, int, int]

def _quoted_redaction(match: re.Match[str]) -> str:
    value = match.group("v")
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match.group('k')}{quote}{REDACTED}{quote}"


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # SharedAccessKey=… in connection strings (TOML or YAML, quoted or not).
    (re.compile(r"(SharedAccessKey\s*=\s*)[^;\"'\s]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # sig=… in SAS tokens (SharedAccessSignature sr=…&sig=…&se=…).
    (re.compile(r"\b(sig=)[^&\"'\s;]+"), rf"\1{REDACTED}"),
    # pin-value=… in PKCS#11 URIs.
    (re.compile(r"(pin-value=)[^&\"'\s;]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # key = "secret" for secret-looking key names (TOML ``=`` and YAML ``:``); the whole value
    # goes, quoted (quotes and '#' inside allowed) or bare.
    (re.compile(
        r"""(?P<k>(?<![-\w])(?:[A-Za-z0-9_]*password|[A-Za-z0-9_]*passphrase|symmetric_key|"""
        r"""device_id_pk|sas_key|shared_access_key|secret|value|pin)\b["']?\s*[=:]\s*)"""
        r"""(?P<v>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'#{\[][^#"'\r\n]*)""", re.IGNORECASE),
     _quoted_redaction),
)
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*-----")


def redact_line(line: str) -> str:
    """One line with its secrets replaced by ``<redacted>``."""
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    return _BASE64_BLOB.sub(REDACTED, line)


def redact_lines(lines: list[str]) -> list[str]:
    """Redact every line; lines inside a PEM block (between BEGIN and END) are replaced whole."""
    out: list[str] = []
    in_pem = False
    for line in lines:
        if in_pem:
            if _PEM_END.search(line):
                in_pem = False
                out.append(_PEM_END.sub("-----END " + REDACTED + "-----", redact_line(line)))
            else:
                ending = line[len(line.rstrip("\r\n")):]
                out.append(REDACTED + ending)
            continue
        if _PEM_BEGIN.search(line) and not _PEM_END.search(line):
            in_pem = True
        out.append(redact_line(line))
    return out


class _LazyRedacted:
    """``redact_lines(lines)[i:j]`` computed only for the lines a diff shows.

    Which lines lie inside a PEM block is found in one cheap pass; the redaction rules run
    only on the few lines around the changes (a big config has thousands of unchanged lines).
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.in_pem: list[bool] = []
        inside = False
        for line in lines:
            self.in_pem.append(inside)
            if "-----" not in line:
                continue
            if inside:
                inside = not _PEM_END.search(line)
            elif _PEM_BEGIN.search(line) and not _PEM_END.search(line):
                inside = True

    def __getitem__(self, span: slice) -> list[str]:
        out: list[str] = []
        for i in range(*span.indices(len(self.lines))):
            line = shown(self.lines[i], keep_tabs=True)  # a hostile file's escapes stay inert
            if not self.in_pem[i]:
                out.append(redact_line(line))
            elif _PEM_END.search(line):
                out.append(_PEM_END.sub("-----END " + REDACTED + "-----", redact_line(line)))
            else:
                out.append(REDACTED + line[len(line.rstrip("\r\n")):])
        return out


def redact(text: str) -> str:
    """The whole text with secrets redacted (line structure kept)."""
    return "".join(redact_lines(text.splitlines(keepends=True)))


def config_diff(before: str | None, after: str, *, device_path: str, context: int = 3) -> str:
    """Unified diff of the device's config before and after, secrets redacted.

    Args:
        before: current text, or None when the device has no config file yet.
        after: new text.
        device_path: path of the file on the device, named in the header.
        context: lines of context around each change.

    Returns:
        The diff text (LF line endings); empty when nothing changes.
    """
    old = [] if before is None else before.splitlines()
    new = after.splitlines()
    if old == new and (before or "") == after:
        return ""
    old_shown = _LazyRedacted(old)
    new_shown = _LazyRedacted(new)
    header_old = "/dev/null" if before is None else f"{shown(device_path)} (device)"
    lines = [f"--- {header_old}", f"+++ {shown(device_path)} (edgecert)"]
    if old == new:
        lines.append("@@ line endings or final newline change only @@")
        return "\n".join(lines) + "\n"
    for group in grouped_opcodes(opcodes(old, new), context):
        first, last = group[0], group[-1]
        a_start, a_end = first[1], last[2]
        b_start, b_end = first[3], last[4]
        lines.append(f"@@ -{_range(a_start, a_end)} +{_range(b_start, b_end)} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(" " + line for line in old_shown[i1:i2])
                continue
            lines.extend("-" + line for line in old_shown[i1:i2])
            lines.extend("+" + line for line in new_shown[j1:j2])
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SideBySide:
    """Before and after aligned row by row for a two-column view, secrets redacted.

    The alignment is computed on the real text, so a line whose only change is a secret is a
    changed row (redacted on both sides); only the redacted lines are kept.
    """

    left: tuple[str, ...]
    right: tuple[str, ...]
    left_kinds: tuple[str | None, ...]
    """``"del"`` for a removed or replaced line, None for an equal line or blank filler."""
    right_kinds: tuple[str | None, ...]
    """``"add"`` for an added or replacing line, None for an equal line or blank filler."""


def side_by_side(before: str | None, after: str) -> SideBySide:
    """Align ``before`` (None: no file yet) and ``after`` line by line, then redact each side."""
    old = [] if before is None else before.splitlines()
    new = after.splitlines()
    old_shown = _LazyRedacted(old)
    new_shown = _LazyRedacted(new)
    left: list[str] = []
    right: list[str] = []
    lk: list[str | None] = []
    rk: list[str | None] = []
    for tag, i1, i2, j1, j2 in opcodes(old, new):
        if tag == "equal":
            left += old_shown[i1:i2]
            right += new_shown[j1:j2]
            lk += [None] * (i2 - i1)
            rk += [None] * (j2 - j1)
            continue
        rows = max(i2 - i1, j2 - j1)
        left += old_shown[i1:i2] + [""] * (rows - (i2 - i1))
        right += new_shown[j1:j2] + [""] * (rows - (j2 - j1))
        lk += ["del"] * (i2 - i1) + [None] * (rows - (i2 - i1))
        rk += ["add"] * (j2 - j1) + [None] * (rows - (j2 - j1))
    return SideBySide(tuple(left), tuple(right), tuple(lk), tuple(rk))


def _range(start: int, end: int) -> str:
    length = end - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


# ---- the diff itself ----------------------------------------------------------------------------


def opcodes(a: Sequence[str], b: Sequence[str], max_edits: int = MAX_EDITS) -> list[Opcode]:
    """``difflib``-style opcodes (equal/replace/delete/insert) turning ``a`` into ``b``."""
    n, m = len(a), len(b)
    head = 0
    while head < n and head < m and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    codes: list[Opcode] = []
    if head:
        codes.append(("equal", 0, head, 0, head))
    mid_a, mid_b = a[head:n - tail], b[head:m - tail]
    script = _myers(mid_a, mid_b, max_edits)
    if script is None:
        codes.append(("replace", head, n - tail, head, m - tail))
    else:
        codes.extend(_merge(script, head))
    if tail:
        codes.append(("equal", n - tail, n, m - tail, m))
    return codes


def _myers(a: Sequence[str], b: Sequence[str], max_edits: int) -> list[str] | None:
    """The shortest edit script as one of "=", "-", "+" per step; None past ``max_edits``."""
    n, m = len(a), len(b)
    if not n and not m:
        return []
    if not n:
        return ["+"] * m
    if not m:
        return ["-"] * n
    limit = min(n + m, max_edits)
    offset = limit + 1
    v = [0] * (2 * limit + 3)
    trace: list[list[int]] = []
    for d in range(limit + 1):
        trace.append(v[offset - d - 1:offset + d + 2])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m)
    return None


def _backtrack(trace: list[list[int]], n: int, m: int) -> list[str]:
    steps: list[str] = []
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        v = trace[d]  # the furthest x per diagonal before step d, from diagonal -d-1

        def at(k: int, v: list[int] = v, d: int = d) -> int:
            return v[k + d + 1]

        k = x - y
        prev_k = k + 1 if k == -d or (k != d and at(k - 1) < at(k + 1)) else k - 1
        prev_x = at(prev_k)
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            steps.append("=")
            x -= 1
            y -= 1
        if d > 0:
            steps.append("+" if x == prev_x else "-")
        x, y = prev_x, prev_y
    steps.reverse()
    return steps


def _merge(script: list[str], base: int) -> Iterator[Opcode]:
    """Runs of the edit script as opcodes, offset by ``base`` lines on both sides."""
    i = j = base
    pos = 0
    while pos < len(script):
        if script[pos] == "=":
            start = pos
            while pos < len(script) and script[pos] == "=":
                pos += 1
            yield ("equal", i, i + pos - start, j, j + pos - start)
            i += pos - start
            j += pos - start
            continue
        dels = adds = 0
        while pos < len(script) and script[pos] != "=":
            if script[pos] == "-":
                dels += 1
            else:
                adds += 1
            pos += 1
        tag = "replace" if dels and adds else ("delete" if dels else "insert")
        yield (tag, i, i + dels, j, j + adds)
        i += dels
        j += adds


def grouped_opcodes(codes: list[Opcode], context: int) -> Iterator[list[Opcode]]:
    """Hunks: changes with up to ``context`` equal lines around them (as ``diff -u``)."""
    codes = list(codes) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group
