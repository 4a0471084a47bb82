"""The IoT Edge runtime's own config parser (``rtcfg``) as the test suite's oracle.

``rtcfg`` (``../shared/tools/rtcfg/rtcfg`` beside the checkout; its README) runs the runtime's
config types, the identity service's apply step and what aziot-keyd / aziot-certd do at start on
a ``config.toml``. Its path comes from ``EDGECERT_RTCFG`` (``.ci/run`` sets it). With ``CI=true`` a
missing oracle fails; elsewhere the tests that need it skip, with the reason.

Registered as a plugin in ``tests/conftest.py``. For the whole session it wraps
``core.config.validate.check_config_toml`` wherever it is imported: whenever edgecert calls a
config valid (no error findings), the runtime must accept that exact text, or the test fails.
Every config edgecert writes goes through that check first (``config diff --output``,
``build_plan`` and so every deploy, bundle export and preview), so the whole suite asserts the
runtime's verdict. The loopback device's stand-in runtime runs the same binary for
``iotedge config apply`` (``standin/iotedge``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ci import IN_CI, unavailable

ENV = "EDGECERT_RTCFG"


@dataclass(frozen=True)
class Verdict:
    """What the runtime says about one file: ``ok``, or the runtime's message."""

    ok: bool
    message: str


@dataclass
class _Tally:
    checked: int = 0
    """Configs that edgecert called valid or wrote, and the runtime was asked about."""
    rejected: int = 0
    """Of those, how many the runtime rejected (each one fails its test)."""


TALLY = _Tally()


def oracle_path() -> Path | None:
    """The rtcfg binary named by ``EDGECERT_RTCFG``, or None when unset or not executable."""
    value = os.environ.get(ENV)
    if not value:
        return None
    path = Path(value)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def missing_reason() -> str:
    value = os.environ.get(ENV)
    if not value:
        return f"the runtime's config parser is not configured: set {ENV} to rtcfg's path"
    return f"{ENV}={value} is not an executable file"


def require_oracle() -> Path:
    """The oracle's path; fails the test in CI and skips it elsewhere when it is missing."""
    path = oracle_path()
    if path is None:
        unavailable(missing_reason())
    return path


def verdicts(texts: Iterable[str], *, services: bool = True) -> list[Verdict]:
    """The runtime's verdict on each text, in one rtcfg run (``--services`` by default)."""
    oracle = require_oracle()
    texts = list(texts)
    if not texts:
        return []
    with tempfile.TemporaryDirectory(prefix="rtcfg-") as folder:
        names = []
        for i, text in enumerate(texts):
            name = os.path.join(folder, f"{i}.toml")
            Path(name).write_bytes(text.encode("utf-8"))
            names.append(name)
        argv = [str(oracle), *(["--services"] if services else []), *names]
        done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    out: dict[str, Verdict] = {}
    for line in lines:
        if len(names) == 1:
            name, rest = names[0], line
        else:
            name, _, rest = line.partition(": ")
        if rest == "OK":
            out[name] = Verdict(True, "")
        elif rest.startswith("ERR "):
            out[name] = Verdict(False, rest[4:])
    missing = [n for n in names if n not in out]
    if missing:
        raise AssertionError(f"rtcfg gave no verdict for {len(missing)} file(s): exit "
                             f"{done.returncode}, {done.stderr.decode(errors='replace')[:500]}")
    return [out[n] for n in names]


def verdict(text: str, *, services: bool = True) -> Verdict:
    """The runtime's verdict on one config text."""
    return verdicts([text], services=services)[0]


def assert_runtime_accepts(text: str | bytes, what: str = "config") -> None:
    """Fail unless the runtime accepts the config (``rtcfg --services``)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    result = verdict(text)
    TALLY.checked += 1
    TALLY.rejected += not result.ok
    assert result.ok, f"the runtime rejects the {what} edgecert wrote: {result.message}"


# ---- the session-wide hook -----------------------------------------------------------------


def _checked_validator(original: Any) -> Any:
    from core.config.validate import errors_in

    def check_config_toml(text: str, *args: Any, **kwargs: Any) -> Any:
        findings = original(text, *args, **kwargs)
        if not errors_in(findings):
            result = verdict(text)
            TALLY.checked += 1
            if not result.ok:
                TALLY.rejected += 1
                raise AssertionError(
                    "edgecert calls this config valid but the runtime rejects it: "
                    f"{result.message}\n--- config ---\n{text}")
        return findings

    check_config_toml.__wrapped__ = original  # type: ignore[attr-defined]
    return check_config_toml


@pytest.fixture(autouse=True, scope="session")
def runtime_verdict_on_every_config() -> Iterator[None]:
    """Wrap ``check_config_toml`` everywhere for the session (see the module docstring)."""
    if oracle_path() is None:
        if IN_CI:
            unavailable(missing_reason())
        yield
        return
    from core.config import validate

    original = validate.check_config_toml
    wrapped = _checked_validator(original)
    with pytest.MonkeyPatch.context() as mp:
        for module in list(sys.modules.values()):
            if getattr(module, "check_config_toml", None) is original:
                mp.setattr(module, "check_config_toml", wrapped)
        yield


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if oracle_path() is None:
        terminalreporter.write_line(f"rtcfg oracle: not run ({missing_reason()})")
    else:
        terminalreporter.write_line(
            f"rtcfg oracle: {TALLY.checked} configs edgecert called valid or wrote, "
            f"{TALLY.rejected} rejected by the runtime's parser")
