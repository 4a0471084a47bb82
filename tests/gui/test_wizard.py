"""The wizard without a device: version rules, live validation, remembered inputs, Cancel."""

from __future__ import annotations

import json
import threading

from guitest_support import DialogLog
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QRadioButton
from pytestqt.qtbot import QtBot

from gui.pages.base import Page
from gui.state import WizardState
from gui.wizard import MIN_SIZE, PageId, SetupWizard, settings


def _wizard(qtbot: QtBot, state: WizardState | None = None, remember: bool = False
            ) -> SetupWizard:
    w = SetupWizard(state, remember=remember)
    qtbot.addWidget(w)
    w.show()
    return w


def test_first_page_and_minimum_size(qtbot: QtBot) -> None:
    w = _wizard(qtbot)
    assert w.currentId() == PageId.VERSION
    assert MIN_SIZE.width() <= 1366 and MIN_SIZE.height() <= 768 - 80
    assert w.minimumSize() == MIN_SIZE
    assert w.currentPage().isComplete()


def test_version_choice_changes_state_and_explanation(qtbot: QtBot) -> None:
    w = _wizard(qtbot)
    page = w.page(PageId.VERSION)
    page.findChild(type(page.buttons[0]), "version_1.1_windows").click()
    assert (w.state.release_key, w.state.platform) == ("1.1", "windows")
    text = page.explanation.text()
    assert "device CA" in text and "config.yaml" in text and "2038" in text
    page.findChild(type(page.buttons[0]), "version_1.4_linux").click()
    text = page.explanation.text()
    assert w.state.release_key == "1.4" and "edge CA" in text and "config apply" in text


def _device_page(qtbot: QtBot, state: WizardState) -> tuple[SetupWizard, Page]:
    w = _wizard(qtbot, state)
    page = w.page(PageId.DEVICE)
    page.initializePage()  # shown directly: the chain page is tested with a real chain
    return w, page


def test_renewal_spellings_are_checked_live(qtbot: QtBot) -> None:
    state = WizardState(edge_ca_method="quickstart", auto_renew=True)
    _w, page = _device_page(qtbot, state)
    qtbot.waitUntil(lambda: not page.busy)
    assert page.isComplete()
    for bad in ("4d", "10m", "100%", " 80%"):
        page.threshold.setText(bad)
        qtbot.waitUntil(lambda: not page.busy and "threshold" in page.problems)
        assert not page.isComplete(), bad
        assert page.threshold_error.text()
    page.threshold.setText("4d")
    qtbot.waitUntil(lambda: not page.busy and "threshold" in page.problems)
    assert '"4day"' in page.threshold_error.text()  # the hint names the accepted spelling
    page.threshold.setText("4day")
    qtbot.waitUntil(lambda: not page.busy and not page.problems)
    assert page.isComplete() and page.threshold_error.text() == ""
    assert state.renew_threshold == "4day"
    page.retry.setText("0%")
    qtbot.waitUntil(lambda: not page.busy and "retry" in page.problems)
    assert not page.isComplete()


def test_auto_renew_not_offered_for_files_or_old_releases(qtbot: QtBot) -> None:
    _w, page = _device_page(qtbot, WizardState(edge_ca_method="files"))
    assert not page.renew_box.isEnabled()
    _w2, page2 = _device_page(qtbot, WizardState(release_key="1.2",
                                                 edge_ca_method="quickstart"))
    assert not page2.renew_box.isEnabled() and "cannot renew" in page2.renew_note.text()
    _w3, page3 = _device_page(qtbot, WizardState(release_key="1.1"))
    assert not page3.methods.button(2).isEnabled()  # no EST on 1.1


def test_device_paths_and_pkcs11_checked(qtbot: QtBot) -> None:
    _w, page = _device_page(qtbot, WizardState())
    page.cert_dir.setText("var/aziot/certs")
    qtbot.waitUntil(lambda: not page.busy and "cert_dir" in page.problems)
    assert not page.isComplete()
    page.cert_dir.setText("/var/aziot/certs")
    page.pkcs11_uri.setText("pkcs11:object=edge?pin-value=1234")
    qtbot.waitUntil(lambda: not page.busy and "pkcs11_uri" in page.problems)
    assert "1234" not in page.problems["pkcs11_uri"]  # the PIN never shows
    page.pkcs11_uri.setText("pkcs11:slot-id=0;object=edge")
    qtbot.waitUntil(lambda: not page.busy and not page.problems)
    assert page.isComplete() is False  # files method, and no chain made yet


def test_remembers_inputs_but_never_secrets(qtbot: QtBot) -> None:
    QSettings("edgecert", "edgecert").clear()
    state = WizardState(host="device.example.org", user="tech", release_key="1.4",
                        ssh_password="ssh-pw-123", sudo_password="sudo-pw-456",
                        est_password="est-pw-789",
                        pkcs11_uri="pkcs11:slot-id=0;object=ca?pin-value=4321")
    w = _wizard(qtbot, state, remember=True)
    w.save_settings()
    raw = settings().value("last_inputs")
    assert isinstance(raw, str)
    for secret in ("ssh-pw-123", "sudo-pw-456", "est-pw-789", "4321"):
        assert secret not in raw
    stored = json.loads(raw)
    assert stored["host"] == "device.example.org" and stored["release_key"] == "1.4"
    assert stored["pkcs11_uri"] == "pkcs11:slot-id=0;object=ca"
    again = _wizard(qtbot, remember=True)
    assert (again.state.host, again.state.user, again.state.release_key) == \
        ("device.example.org", "tech", "1.4")
    assert again.state.ssh_password == "" and again.state.sudo_password == ""
    assert "ssh-pw-123" not in repr(state) and "4321" not in repr(state)


def test_cancel_asks_only_when_work_would_be_lost(qtbot: QtBot,
                                                  dialog_log: DialogLog) -> None:
    w = _wizard(qtbot)
    w.reject()
    assert dialog_log.questions == [] and not w.isVisible()

    w2 = _wizard(qtbot)
    page = w2.currentPage()
    assert isinstance(page, Page)
    release = threading.Event()
    page.run(lambda: release.wait(10))
    dialog_log.answer_yes = False
    w2.reject()
    assert len(dialog_log.questions) == 1 and w2.isVisible()
    release.set()
    qtbot.waitUntil(lambda: not page.busy)
    w2.reject()
    assert len(dialog_log.questions) == 1 and not w2.isVisible()


def test_back_and_next_keep_state(qtbot: QtBot) -> None:
    state = WizardState(edge_ca_method="quickstart", target_kind="bundle")
    w = _wizard(qtbot, state)
    w.page(PageId.VERSION).findChild(QRadioButton, "version_1.4_linux").click()
    w.next()
    assert w.currentId() == PageId.DEVICE  # quickstart: no chain to make
    page = w.currentPage()
    qtbot.waitUntil(lambda: not page.busy)
    page.quickstart_days.setValue(30)
    page.auto_renew.setChecked(True)
    page.threshold.setText("10day")
    qtbot.waitUntil(lambda: not page.busy and page.isComplete())
    w.next()
    assert w.currentId() == PageId.TARGET
    w.back()
    w.back()
    assert w.currentId() == PageId.VERSION
    assert w.page(PageId.VERSION).findChild(QRadioButton, "version_1.4_linux").isChecked()
    w.next()
    page = w.currentPage()
    assert page.quickstart_days.value() == 30 and page.threshold.text() == "10day"
    assert page.auto_renew.isChecked()
    assert (state.release_key, state.quickstart_days, state.renew_threshold) == \
        ("1.4", 30, "10day")
