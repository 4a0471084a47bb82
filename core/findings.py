"""One finding of a check (certificate chain, configuration, pre-flight), and its severity.

Chain and pre-flight findings carry a ``code`` (``expired``, ``key-mismatch`` …) and the
``subject`` they are about; configuration findings carry the dotted ``key`` and, once known,
its ``line`` and ``col`` in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One thing a check found, with what to do about it."""

    severity: Severity
    code: str
    message: str
    hint: str
    subject: str = ""
    key: str | None = None
    """Dotted configuration key the finding is about, e.g. ``edge_ca.auto_renew.threshold``."""
    line: int | None = None
    col: int | None = None

    def describe(self, where: str) -> str:
        """``file:line:col: severity: message`` plus the hint, for the CLI."""
        place = where
        if self.line is not None:
            place += f":{self.line}" + (f":{self.col}" if self.col is not None else "")
        return f"{place}: {self.severity}: {self.message}\n  hint: {self.hint}"

    def to_dict(self) -> dict[str, str | int]:
        """JSON-ready values (the position only where there is one)."""
        out: dict[str, str | int] = {"severity": self.severity, "code": self.code,
                                     "message": self.message, "hint": self.hint,
                                     "subject": self.subject}
        for name in ("key", "line", "col"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out
