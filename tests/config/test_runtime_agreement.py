"""edgecert and the IoT Edge runtime agree on generated settings × existing configs.

Hypothesis (seeded: ``derandomize=True``, no example database, so CI runs the same corpus each
time) draws at least 500 cases from ``runtime_corpus``. For each: edgecert edits the config and
validates the whole file; the runtime's parser (``rtcfg --services``) gives its verdict on the
text. Required: no crash, and nothing edgecert calls valid that the runtime rejects. Where
edgecert refuses a file the runtime would take, that is one of the stricter rules the README
lists; the test prints how many and which.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from rtcfg import require_oracle, verdict
from runtime_corpus import Case, cases, run_edgecert

from core.config import validate
from core.versions import release

EXAMPLES = 800


def test_edgecert_and_the_runtime_agree(capsys: pytest.CaptureFixture[str]) -> None:
    require_oracle()
    tally: Counter[str] = Counter()
    stricter: Counter[str] = Counter()
    wrong: list[str] = []
    crashes: list[str] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def one(case: Case) -> None:
        tally["cases"] += 1
        outcome = run_edgecert(case)
        tally[outcome.edgecert] += 1
        if outcome.crash is not None:
            crashes.append(f"{type(outcome.crash).__name__}: {outcome.crash} for {case!r}")
            return
        if outcome.text is None:
            return
        runtime = verdict(outcome.text)
        if outcome.edgecert == "valid" and not runtime.ok:
            wrong.append(f"{runtime.message}\n{outcome.text}")
        if outcome.edgecert == "refused" and runtime.ok:
            check = validate.check_config_toml
            first = validate.errors_in(getattr(check, "__wrapped__", check)(
                outcome.text, release(case.release)))[0]
            stricter[first.key or first.message] += 1

    one()
    with capsys.disabled():
        print(f"\nruntime agreement: {tally['cases']} cases, {tally['valid']} valid, "
              f"{tally['refused']} refused by edgecert, {len(wrong)} valid but rejected by the "
              f"runtime, {len(crashes)} crashes; stricter than the runtime: {dict(stricter)}")
    assert tally["cases"] >= 500
    assert crashes == [], crashes[:3]
    assert wrong == [], wrong[:3]
    assert tally["valid"] >= 100  # the corpus reaches valid files, not only refusals
