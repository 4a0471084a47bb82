"""Deploy page on this computer, against the deploy tests' sandbox device (real shell library,
real sudo-less root installs): success with summary, rollback shown, cancel leaves it as it was."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from guitest_support import DialogLog
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploytest_support import Sandbox, make_sandbox, sandbox_plan

from core.deploy import DeployFailedError, RollbackFailedError, deploy
from core.plan import Plan
from core.targets.local import LocalTarget
from gui import backend
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    yield from make_sandbox()


def _second_plan(sandbox: Sandbox) -> Plan:
    """Give the sandbox an earlier deploy (so a rollback has real files to restore), then
    return a plan that replaces it."""
    deploy(sandbox_plan(sandbox, cert=b"OLD CERT\n", key=b"OLD KEY\n"), LocalTarget(),
           backup_root=str(sandbox.backups))
    old_cfg = Path(sandbox.p("etc/aziot/config.toml")).read_bytes()
    return sandbox_plan(sandbox, cert=b"NEW CERT\n", key=b"NEW KEY\n", before=old_cfg,
                        after=old_cfg + b"# new\n")


def _wizard(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, plan: Plan,
            tmp_path: Path) -> SetupWizard:
    monkeypatch.setitem(backend.DEPLOY_OPTIONS, "backup_root", str(sandbox.backups))
    state = WizardState(target_kind="local", output_dir=str(tmp_path / "out"))
    state.plan = backend.Preview(plan=plan, unified="", before="", after="",
                                 config_path=plan.config.path)
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    w.ensure_pages()
    w.setStartId(PageId.DEPLOY)  # the plan's paths live in the sandbox, not /etc/aziot
    w.show()
    return w


def test_deploy_success_then_summary(qtbot: QtBot, dialog_log: DialogLog, sandbox: Sandbox,
                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plan = sandbox_plan(sandbox)
    w = _wizard(qtbot, monkeypatch, sandbox, plan, tmp_path)
    page = w.page(PageId.DEPLOY)
    qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)
    assert page.outcome == "done", dialog_log.errors
    assert {page.checklist.status(r.key) for r in page.checklist.rows} == {"done"}
    assert "bytes uploaded" in page.bytes_label.text()
    log = page.log.toPlainText()
    assert "uploading" in log and "deployed" in log
    assert Path(sandbox.p("var/aziot/certs/edge-ca.pem")).read_bytes() == plan.files[0].data
    assert page.isComplete()
    w.next()
    summary = w.page(PageId.SUMMARY)
    qtbot.waitUntil(summary.isComplete, timeout=10000)
    assert summary.checks.topLevelItem(0).text(1) == "certs-preloaded"
    assert "ok" in summary.checks.topLevelItem(0).text(0)
    assert str(sandbox.backups) in summary.facts.text()
    assert dialog_log.errors == []


def test_failed_check_is_rolled_back_and_shown(qtbot: QtBot, dialog_log: DialogLog,
                                               sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    plan = _second_plan(sandbox)
    (sandbox.root / "fail-check").write_text("1")
    before = sandbox.snapshot()
    w = _wizard(qtbot, monkeypatch, sandbox, plan, tmp_path)
    page = w.page(PageId.DEPLOY)
    qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)
    assert page.outcome == "rolled back"
    assert "rolled back" in page.banner.text() and "bad cert" in page.banner.text()
    assert [type(e) for e in dialog_log.errors] == [DeployFailedError]
    assert "rolled back" in {page.checklist.status(r.key) for r in page.checklist.rows}
    assert sandbox.snapshot() == before
    # no summary for a failed deploy, but a way on: Back and Retry
    assert not page.isComplete()
    assert not w.button(w.WizardButton.NextButton).isEnabled()
    assert not w.page(PageId.PREVIEW).isCommitPage()  # Back is allowed (walk tests press it)
    assert page.retry_button.isVisible() and page.ended == "before"
    dialog_log.answer_yes = False
    w.reject()
    assert len(dialog_log.questions) == 1 and w.isVisible()  # Cancel asks first
    assert "Nothing was deployed" in dialog_log.questions[0]


def test_cancel_during_deploy_leaves_device_as_before(qtbot: QtBot, dialog_log: DialogLog,
                                                      sandbox: Sandbox,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    apply = sandbox.root / "tools/apply"
    plan = _second_plan(sandbox)
    apply.write_text(apply.read_text().replace("#!/bin/sh\n", "#!/bin/sh\nsleep 2\n", 1))
    before = sandbox.snapshot()
    w = _wizard(qtbot, monkeypatch, sandbox, plan, tmp_path)
    page = w.page(PageId.DEPLOY)
    apply_key = next(r.key for r in page.checklist.rows if r.key.startswith("apply:"))
    qtbot.waitUntil(lambda: page.checklist.status(apply_key) == "running", timeout=60000)
    w.reject()  # the Cancel button, while apply runs
    assert len(dialog_log.questions) == 1 and w.isVisible()  # asked, and stays to show
    qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)
    assert page.outcome == "cancelled"
    assert "as it was" in page.banner.text()
    assert dialog_log.errors == []
    assert sandbox.snapshot() == before


def test_failed_rollback_says_what_to_do(qtbot: QtBot, dialog_log: DialogLog, sandbox: Sandbox,
                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The sandbox's first config has no [edge_ca]: re-applying it after the rollback fails.
    (sandbox.root / "fail-check").write_text("1")
    w = _wizard(qtbot, monkeypatch, sandbox, sandbox_plan(sandbox), tmp_path)
    page = w.page(PageId.DEPLOY)
    qtbot.waitUntil(lambda: page.outcome != "", timeout=60000)
    assert page.outcome == "rollback failed"
    assert "FAILED" in page.banner.text() and "restore.sh" in page.banner.text()
    assert [type(e) for e in dialog_log.errors] == [RollbackFailedError]
