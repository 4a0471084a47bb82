"""Unified diff of a device configuration, with every secret redacted.

Redacted: SAS keys (``SharedAccessKey=`` in connection strings), symmetric keys, passwords
(EST and others), ``pin-value`` in PKCS#11 URIs, and anything that looks like PEM or base64
key material. The diff is computed on the real text, so a changed secret still shows as a
changed line, but only the redacted lines are ever printed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

REDACTED = "<redacted>"

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
    old_shown = redact_lines(old)
    new_shown = redact_lines(new)
    header_old = "/dev/null" if before is None else f"{device_path} (device)"
    lines = [f"--- {header_old}", f"+++ {device_path} (edgecert)"]
    if old == new:
        lines.append("@@ line endings or final newline change only @@")
        return "\n".join(lines) + "\n"
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
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


def _range(start: int, end: int) -> str:
    length = end - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"
