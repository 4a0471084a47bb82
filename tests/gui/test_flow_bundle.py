"""A whole run without a device: quickstart edge CA, export bundle, summary and report."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from guitest_support import DialogLog
from pytestqt.qtbot import QtBot

from gui.pages.base import Page
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"


def _next(qtbot: QtBot, w: SetupWizard, expected: PageId) -> Page:
    page = w.currentPage()
    assert isinstance(page, Page)
    qtbot.waitUntil(page.isComplete, timeout=20000)
    w.next()
    assert w.currentId() == expected
    current = w.currentPage()
    assert isinstance(current, Page)
    return current


def test_quickstart_bundle_flow(qtbot: QtBot, dialog_log: DialogLog, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    state = WizardState(release_key="1.5", edge_ca_method="quickstart", auto_renew=True,
                        quickstart_days=120,
                        renew_threshold="75%", renew_retry="5%", target_kind="bundle",
                        bundle_dir=str(bundle), output_dir=str(tmp_path / "out"),
                        config_copy=str(FIXTURES / "dps-x509.toml"))
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    w.show()

    device = _next(qtbot, w, PageId.DEVICE)  # no chain page: the device makes its own CA
    qtbot.waitUntil(lambda: not device.busy)
    assert device.isComplete(), device.problems  # type: ignore[attr-defined]

    target = _next(qtbot, w, PageId.TARGET)
    qtbot.waitUntil(lambda: state.device_state is not None, timeout=10000)
    assert "dps-x509.toml" in target.device_view.toPlainText()  # type: ignore[attr-defined]
    assert not target.test_button.isVisible()  # type: ignore[attr-defined]

    preview = _next(qtbot, w, PageId.PREVIEW)
    qtbot.waitUntil(lambda: state.plan is not None, timeout=20000)
    assert dialog_log.errors == []
    unified = preview.diff.unified.toPlainText()  # type: ignore[attr-defined]
    assert 'registration_id = "edge-0042"' not in unified  # provisioning untouched
    assert "+auto_generated_edge_ca_expiry_days = 120" in unified and 'threshold = "75%"' in unified
    assert not bundle.exists()  # nothing written before Deploy
    assert w.button(w.WizardButton.CommitButton).text() == "&Export bundle"  # no device

    deploy = _next(qtbot, w, PageId.DEPLOY)
    qtbot.waitUntil(lambda: deploy.outcome != "", timeout=20000)  # type: ignore[attr-defined]
    assert deploy.outcome == "done", dialog_log.errors  # type: ignore[attr-defined]
    assert (bundle / "install.sh").exists()
    assert stat.S_IMODE(os.stat(bundle).st_mode) == 0o700
    assert "bundle" in deploy.banner.text()  # type: ignore[attr-defined]

    summary = _next(qtbot, w, PageId.SUMMARY)
    qtbot.waitUntil(summary.isComplete, timeout=20000)
    facts = summary.facts.text()  # type: ignore[attr-defined]
    assert "75%" in facts and "renews" in facts
    report_path = tmp_path / "report.html"
    summary.save_report(report_path)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dialog_log.infos != [], timeout=10000)
    html = report_path.read_text()
    assert "install.sh" in html and "IoT Edge 1.5" in html
    assert dialog_log.errors == []


def test_preview_redacts_secrets_and_screenshots_render(qtbot: QtBot, dialog_log: DialogLog,
                                                       tmp_path: Path) -> None:
    from gui.screenshots import DEMO_DEVICE_CONFIG, render_all

    key = "ZGVtby1vbmx5LW5vdC1hLXJlYWwta2V5LWZvci1kb2Nz"
    assert key in DEMO_DEVICE_CONFIG
    shots = render_all(tmp_path / "shots")
    names = [p.name for p in shots]
    assert names[0] == "1-version.png" and names[-1] == "7-summary.png"
    assert all(p.stat().st_size > 5000 for p in shots)
    # the preview showed the connection string, but never its key
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    texts = [e.toPlainText() for top in QApplication.topLevelWidgets()
             for e in top.findChildren(QPlainTextEdit)]
    assert any("SharedAccessKey=" in t for t in texts)
    assert not any(key in t for t in texts)


def test_pkcs11_key_without_library_is_stopped_by_core_at_preview(
        qtbot: QtBot, dialog_log: DialogLog, tmp_path: Path) -> None:
    state = WizardState(release_key="1.5", target_kind="bundle", bundle_dir=str(tmp_path / "b"),
                        output_dir=str(tmp_path / "out"),
                        config_copy=str(FIXTURES / "dps-x509.toml"),
                        pkcs11_uri="pkcs11:slot-id=0;object=edge-ca?pin-value=1234")
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    w.show()
    _next(qtbot, w, PageId.CHAIN)  # demo chain
    _next(qtbot, w, PageId.DEVICE)
    _next(qtbot, w, PageId.TARGET)
    preview = _next(qtbot, w, PageId.PREVIEW)
    qtbot.waitUntil(lambda: dialog_log.errors != [], timeout=30000)
    qtbot.waitUntil(lambda: not preview.busy)
    [err] = dialog_log.errors
    assert "pkcs11_lib_path" in str(err) + getattr(err, "hint", "")
    assert "1234" not in str(err)  # the PIN never shows
    assert not preview.isComplete() and state.plan is None
