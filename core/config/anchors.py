"""Where a new config.toml setting goes: right after the template's commented example.

A technician following the template uncomments (or copies) the example next to its
documentation. These functions find that place in the comment text only: an *anchor* returns
the index of the line after which the new item goes. The inserted text itself is always
rendered by tomlkit (``core.config.toml_edit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.config.settings import CertSettings, Preloaded, Quickstart

Anchor = Callable[[list[str]], int | None]


@dataclass(frozen=True)
class Pending:
    """A setting the file does not have yet, and where the template documents it."""

    key: str
    """Dotted key of what is missing: ``trust_bundle_cert``, ``edge_ca``, ``edge_ca.auto_renew``."""
    value: Any
    anchor: Anchor
    """Index of the line after which the fragment goes, or None."""


def _uncommented(line: str) -> str | None:
    stripped = line.strip()
    if not stripped.startswith("#"):
        return None
    return stripped.lstrip("#").strip()


def _is_active_header(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("[")


def _comment_blocks(lines: list[str]) -> list[tuple[int, int]]:
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    for i, line in enumerate(lines):
        if _uncommented(line) is not None:
            if start is None:
                start = i
        elif start is not None:
            blocks.append((start, i - 1))
            start = None
    if start is not None:
        blocks.append((start, len(lines) - 1))
    return blocks


def block_anchor(header: str, marker: Callable[[str], bool] | None = None) -> Anchor:
    """After the commented block that shows ``# [header]`` (and a line matching ``marker``)."""

    def find(lines: list[str]) -> int | None:
        fallback: int | None = None
        for start, end in _comment_blocks(lines):
            body = [_uncommented(lines[i]) or "" for i in range(start, end + 1)]
            if not any(b.split("#")[0].strip() == f"[{header}]" for b in body):
                continue
            if marker is None or any(marker(b) for b in body):
                return end
            fallback = end if fallback is None else fallback
        return fallback

    return find


def key_anchor(key: str) -> Anchor:
    """After the commented line ``# key = …``, only while no table has started yet."""

    def find(lines: list[str]) -> int | None:
        for i, line in enumerate(lines):
            if _is_active_header(line):
                return None
            body = _uncommented(line)
            if body is not None and body.replace(" ", "").startswith(f"{key}="):
                return i
        return None

    return find


def _starts(prefix: str) -> Callable[[str], bool]:
    def match(body: str) -> bool:
        return body.replace(" ", "").startswith(prefix)

    return match


def edge_ca_anchor(settings: CertSettings) -> Anchor:
    """After the commented ``[edge_ca]`` example of the wanted variant (any one, if missing)."""
    ca = settings.edge_ca
    if isinstance(ca, Preloaded):
        return block_anchor("edge_ca", _starts("cert="))
    if isinstance(ca, Quickstart):
        return block_anchor("edge_ca", _starts("auto_generated_edge_ca_expiry_days="))
    if ca.method == "self_signed":
        return block_anchor("edge_ca", _starts("auto_generated_edge_ca_expiry_days="))
    return block_anchor("edge_ca", _starts(f'method="{ca.method}"'))


def splice(text: str, anchor: Anchor, fragment: str, nl: str) -> str | None:
    """``fragment`` (rendered by tomlkit) inserted after the anchor line, or None without one."""
    lines = text.splitlines(keepends=True)
    index = anchor(lines)
    if index is None:
        return None
    head = "".join(lines[: index + 1])
    if head and not head.endswith(("\n", "\r")):
        head += nl
    return head + fragment + "".join(lines[index + 1:])
