"""``edgecert-gui --self-test``: passes on a good installation, names the step that fails."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gui import selftest


def test_self_test_passes_from_the_checkout(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    result = subprocess.run(
        [sys.executable, "-m", "gui", "--self-test", "--self-test-report", str(report)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = report.read_text(encoding="utf-8")
    assert text == result.stdout
    for name, _ in selftest.STEPS:
        assert f"ok   {name}" in text
    assert "all steps passed" in text
    # The real wizard was rendered with its pages, including those built after the first paint.
    pages = re.search(r"SetupWizard \d+x\d+, (\d+) pages", text)
    assert pages is not None and int(pages.group(1)) >= 2, text
    if importlib.util.find_spec("core.cli.chain") is not None:
        # Once the chain commands exist, the self-test must use them, not its stand-in.
        assert "edgecert chain demo + check passed" in text


def test_self_test_sets_offscreen_itself(tmp_path: Path) -> None:
    """No display and no QT_QPA_PLATFORM: the self-test must still render (CI, build agents)."""
    env = {k: v for k, v in _env().items() if k not in {"QT_QPA_PLATFORM", "DISPLAY",
                                                        "WAYLAND_DISPLAY"}}
    result = subprocess.run(
        [sys.executable, "-m", "gui", "--self-test"],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   wizard" in result.stdout


def test_failing_step_is_named_and_later_steps_do_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []

    def good() -> str:
        ran.append("good")
        return "fine"

    def bad() -> str:
        raise ValueError("boom")

    def later() -> str:
        ran.append("later")
        return "never"

    monkeypatch.setattr(selftest, "STEPS", (("good", good), ("bad", bad), ("later", later)))
    assert selftest.run(["--self-test"]) == 1
    out = capsys.readouterr().out
    assert "ok   good" in out
    assert "FAIL bad" in out and "ValueError: boom" in out
    assert "FAILED at step bad" in out
    assert ran == ["good"]


def test_report_option_needs_a_file() -> None:
    assert selftest.run(["--self-test", "--self-test-report"]) == 2


def test_broken_resource_fails_the_resources_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import core.resources

    (tmp_path / "versions.toml").write_text("[releases\n", encoding="utf-8")
    monkeypatch.setattr(core.resources, "resources_dir", lambda: tmp_path)
    with pytest.raises(selftest.SelfTestFailed, match=r"versions\.toml"):
        selftest.step_resources()


def test_missing_module_fails_the_imports_step(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = selftest.importlib.import_module

    def import_module(name: str, package: str | None = None) -> object:
        if name == "core.versions":
            raise ImportError("left out by the freezer")
        return real_import(name, package)

    monkeypatch.setattr(selftest.importlib, "import_module", import_module)
    with pytest.raises(selftest.SelfTestFailed, match=r"core\.versions.*left out"):
        selftest.step_imports()


def test_chain_step_generates_and_verifies() -> None:
    detail = selftest.step_chain()
    assert "valid" in detail or "verified" in detail


def _env() -> dict[str, str]:
    return dict(os.environ)


def test_broken_yaml_template_fails_the_resources_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import core.resources

    (tmp_path / "versions.toml").write_text("[releases]\n", encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "config.yaml").write_text("a: [1, 2\n", encoding="utf-8")
    monkeypatch.setattr(core.resources, "resources_dir", lambda: tmp_path)
    with pytest.raises(selftest.SelfTestFailed, match=r"config\.yaml"):
        selftest.step_resources()
