"""threshold/retry grammar: the runtime's exact rules, with the accepted spelling as the hint."""

from __future__ import annotations

import datetime as dt

import pytest

from core.config.errors import RenewalPolicyError
from core.config.renewal import RenewalPolicy, check_against_lifetime, parse_policy


@pytest.mark.parametrize(("text", "expected"), [
    ("80%", RenewalPolicy("percent", 80, "80%")),
    ("1%", RenewalPolicy("percent", 1, "1%")),
    ("99%", RenewalPolicy("percent", 99, "99%")),
    ("+5%", RenewalPolicy("percent", 5, "5%")),
    ("10min", RenewalPolicy("time", 600, "10min")),
    ("4day", RenewalPolicy("time", 345600, "4day")),
])
def test_accepted(text: str, expected: RenewalPolicy) -> None:
    assert parse_policy(text) == expected


@pytest.mark.parametrize(("text", "hint_part"), [
    ("4d", '"4day"'),
    ("10m", '"10min"'),
    ("4days", '"4day"'),
    ("10Min", '"10min"'),
    ("3DAY", '"3day"'),
    ("2h", '"120min"'),
    ("100%", "below 100"),
    ("150%", "below 100"),
    ("1year", "Nday"),
    ("", "Nday"),
    ("day", "Nday"),
    ("a%", "Nday"),
    (" 80%", "Nday"),
    ("80 %", "Nday"),
    ("1.5%", "Nday"),
    ("-5%", "Nday"),
])
def test_rejected_with_accepted_spelling(text: str, hint_part: str) -> None:
    with pytest.raises(RenewalPolicyError) as info:
        parse_policy(text, field="threshold", where="--renew-threshold")
    assert hint_part in info.value.hint
    assert info.value.where == "--renew-threshold"


@pytest.mark.parametrize("text", ["0%", "0min", "0day", "+0%"])
def test_zero_rejected_as_not_positive(text: str) -> None:
    with pytest.raises(RenewalPolicyError, match="positive"):
        parse_policy(text)


def test_time_threshold_at_or_beyond_lifetime_rejected() -> None:
    lifetime = dt.timedelta(days=30)
    check_against_lifetime(parse_policy("29day"), lifetime)
    check_against_lifetime(parse_policy("99%"), lifetime)  # percentages always fit
    for text in ("30day", "43200min", "31day"):
        with pytest.raises(RenewalPolicyError, match="lifetime") as info:
            check_against_lifetime(parse_policy(text), lifetime)
        assert "%" in info.value.hint
