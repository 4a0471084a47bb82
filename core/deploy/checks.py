"""``iotedge check`` output: the certificate-related results a deploy reports."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from core.plan import FAILED as FAILED  # re-exported
from core.plan import CheckResult as CheckResult  # re-exported


def _details(entry: dict[str, Any]) -> tuple[str, ...]:
    raw = entry.get("details") or ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(d) for d in raw)


def _objects(text: str) -> list[dict[str, Any]]:
    text = text.strip()
    if not text:
        return []
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        out = []
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out
    return [whole] if isinstance(whole, dict) else []


def parse_check_output(text: str, ids: Iterable[str]) -> tuple[CheckResult, ...]:
    """Pick the results for ``ids`` out of ``iotedge check -o json`` (or ``json-stream``) output.

    Args:
        text: stdout of the check command.
        ids: the check ids to report, in order.

    Returns:
        One result per id; ``missing`` when the output does not mention the id (for example text
        output, or a check the release does not have).
    """
    found: dict[str, CheckResult] = {}
    for obj in _objects(text):
        checks = obj.get("checks")
        if isinstance(checks, dict):
            for cid, entry in checks.items():
                if isinstance(entry, dict):
                    found[cid] = CheckResult(cid, str(entry.get("result", "")), _details(entry))
        elif obj.get("kind") == "check" and isinstance(obj.get("id"), str):
            found[obj["id"]] = CheckResult(obj["id"], str(obj.get("result", "")), _details(obj))
    return tuple(found.get(i, CheckResult(i, "missing")) for i in ids)
