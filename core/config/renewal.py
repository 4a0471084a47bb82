"""The ``threshold`` / ``retry`` grammar of ``[edge_ca.auto_renew]``, as the runtime parses it.

The runtime (Azure/iot-identity-service ``cert/cert-renewal/src/policy.rs``) pops the unit
(``%``, ``min`` or ``day``, case-sensitive) and parses the rest as a Rust ``i64``: ASCII digits
with an optional ``+``, nothing else (no spaces, no ``_``, no other scripts' digits, no trailing
newline). A percentage is 1 to 99, every value greater than zero. This module is the one grammar
for those values: the CLI, the wizard and the config validation all call :func:`parse_policy`.
Spellings shown in some Microsoft docs (``4d``, ``10m``, ``100%``) are rejected by the runtime,
so they are rejected here with the accepted spelling in the hint.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from core.config.errors import RenewalPolicyError

_GRAMMAR = re.compile(r"\A\+?([0-9]+)(%|min|day)\Z", re.ASCII)
_NUMBER_UNIT = re.compile(r"\A\s*\+?([0-9]+)\s*([A-Za-z%]*)\s*\Z", re.ASCII)
I64_MAX = 2**63 - 1
_UNIT_SECONDS = {"min": 60, "day": 86400}
_UNIT_SPELLINGS = {
    "d": "day", "days": "day", "day": "day", "D": "day", "DAY": "day", "Day": "day",
    "DAYS": "day", "Days": "day",
    "m": "min", "min": "min", "mins": "min", "minute": "min", "minutes": "min", "M": "min",
    "MIN": "min", "Min": "min",
    "h": "hour", "hr": "hour", "hour": "hour", "hours": "hour",
}


@dataclass(frozen=True)
class RenewalPolicy:
    """A parsed ``threshold`` or ``retry`` value."""

    kind: Literal["percent", "time"]
    value: int
    """Percent (1..99) for ``percent``; seconds for ``time``."""
    text: str
    """The accepted spelling, e.g. ``"80%"`` or ``"4day"``."""


def _suggest(text: str) -> str:
    """An accepted spelling close to what the technician typed, or the general rule."""
    general = 'Write "N%" with N from 1 to 99 (preferred), "Nmin" or "Nday", e.g. "80%" or "4day".'
    m = _NUMBER_UNIT.match(text)
    if not m or len(m.group(1)) > 19:
        return general
    number, unit = int(m.group(1)), m.group(2)
    if unit == "%":
        if number >= 100:
            return 'A percentage must be below 100, e.g. "80%" (renew at 80% of the lifetime).'
        return general
    fixed = _UNIT_SPELLINGS.get(unit)
    if fixed == "hour":
        return f'Hours are not accepted; write "{number * 60}min".'
    if fixed and number > 0:
        return f'Write "{number}{fixed}" (units are exactly %, min or day).'
    return general


def parse_policy(text: str, *, field: str = "threshold", where: str | None = None
                 ) -> RenewalPolicy:
    """Parse one ``threshold`` or ``retry`` value with the runtime's rules.

    Args:
        text: the value as it would appear in config.toml, e.g. ``"80%"``.
        field: ``"threshold"`` or ``"retry"``, used in the message.
        where: file or option the value came from, for the error.

    Returns:
        The parsed policy.

    Raises:
        RenewalPolicyError: the runtime would reject the value; the hint gives the accepted
            spelling.
    """
    m = _GRAMMAR.match(text)
    if not m:
        raise RenewalPolicyError(
            f"{field} {text!r} is not accepted by the IoT Edge runtime (bad units or number)",
            hint=_suggest(text), where=where,
        )
    digits, unit = m.group(1).lstrip("0") or "0", m.group(2)
    number = int(digits) if len(digits) <= 19 else I64_MAX + 1  # no huge int() on hostile input
    if number > I64_MAX:
        raise RenewalPolicyError(
            f"{field} {text[:40]!r}: the number does not fit the runtime's 64-bit integer",
            hint=_suggest(text[:40]), where=where,
        )
    if number <= 0:
        raise RenewalPolicyError(
            f"{field} {text!r}: renewal policy values must be positive",
            hint=_suggest(text) if unit != "%" else 'Use a percentage from 1 to 99, e.g. "80%".',
            where=where,
        )
    if unit == "%":
        if number > 99:
            raise RenewalPolicyError(
                f"{field} {text!r}: lifetime percentage must be less than 100",
                hint=_suggest(text), where=where,
            )
        return RenewalPolicy("percent", number, f"{number}%")
    seconds = number * _UNIT_SECONDS[unit]
    if seconds > I64_MAX:
        # The runtime multiplies without a check (policy.rs): the seconds wrap around and the
        # device renews at a nonsense time, so this is refused although parsing succeeds.
        raise RenewalPolicyError(
            f"{field} {text!r}: {number}{unit} overflows the runtime's 64-bit count of seconds",
            hint='Use a percentage such as "80%", or a time below the certificate lifetime.',
            where=where,
        )
    return RenewalPolicy("time", seconds, f"{number}{unit}")


def check_against_lifetime(policy: RenewalPolicy, lifetime: dt.timedelta, *,
                           field: str = "threshold", where: str | None = None) -> None:
    """Reject a time threshold at or beyond the certificate lifetime.

    The runtime does not check this: such a threshold means "renew immediately, forever".

    Raises:
        RenewalPolicyError: the time value is not shorter than ``lifetime``.
    """
    if policy.kind != "time":
        return
    if policy.value >= lifetime.total_seconds():
        days = lifetime.total_seconds() / 86400
        raise RenewalPolicyError(
            f"{field} {policy.text!r} is at or beyond the certificate lifetime "
            f"({days:g} days): the runtime would renew on every start",
            hint='Use a percentage such as "80%", or a time well below the lifetime.',
            where=where,
        )
