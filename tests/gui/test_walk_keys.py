"""Keyboard details and remembered state, by real key events: no stray letter typed by an
Alt combination, labels focus their fields, focus on the checked choice, the import list's
Delete key, focus back to the field a password dialog asked for, the Enter key refuses an
unknown host key, error dialog titles in words, the release's CA name on every page, own-CA
fields remembered however they were filled, one instance at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot
from walk_support import KEPT, Keyboard, Modals, focused, show, wait_enabled, wait_page

from core import errors
from gui import dialogs
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard, settings

CHAINS = Path(__file__).resolve().parents[1] / "fixtures"


def _launch(qtbot: QtBot, state: WizardState | None = None, *, remember: bool = False
            ) -> SetupWizard:
    return show(qtbot, SetupWizard(state, remember=remember))


def test_alt_letters_never_type_into_a_field(qtbot: QtBot, kb: Keyboard,
                                             modals: Modals) -> None:
    """An Alt+letter with no enabled mnemonic (unassigned, or its checkbox disabled) is
    dropped; before, Qt typed the letter into the focused field."""
    state = WizardState(edge_ca_method="quickstart", auto_renew=False, release_key="1.2")
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.DEVICE, modals)
    page = w.page(PageId.DEVICE)
    assert not page.auto_renew.isEnabled()  # type: ignore[attr-defined]  # 1.2: no renewal
    kb.alt("m")  # Lifeti&me: the quickstart days field
    assert focused() is page.quickstart_days  # type: ignore[attr-defined]
    before = page.quickstart_days.text()  # type: ignore[attr-defined]
    kb.alt("t")  # "Renew … au&tomatically" is disabled on 1.2
    kb.alt("j")  # no such mnemonic
    assert page.quickstart_days.text() == before  # type: ignore[attr-defined]
    kb.alt("n")
    wait_page(qtbot, w, PageId.TARGET, modals)
    kb.alt("h")
    kb.type("device.example.org")
    kb.alt("j")
    kb.alt("q")
    assert w.page(PageId.TARGET).host.text() == "device.example.org"  # type: ignore[attr-defined]


@pytest.mark.parametrize("pid", [PageId.VERSION, PageId.CHAIN, PageId.DEVICE, PageId.TARGET])
def test_every_label_mnemonic_focuses_its_field(qtbot: QtBot, kb: Keyboard, pid: PageId,
                                                tmp_path: Path) -> None:
    state = WizardState(output_dir=str(tmp_path / "out"), chain_mode="issue",
                        edge_ca_method="files", target_kind="bundle")
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    KEPT.append(w)
    w.ensure_pages()
    w.setStartId(pid)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    page = w.page(pid)
    checked = 0
    for label in page.findChildren(QLabel):
        buddy = label.buddy()
        text = label.text().replace("&&", "")
        if "&" not in text or buddy is None or not buddy.isVisible() or not buddy.isEnabled():
            continue
        letter = text[text.index("&") + 1]
        kb.alt(letter)
        assert focused() is buddy, f"Alt+{letter} ({label.text()!r}) focused {focused()!r}"
        checked += 1
    assert (checked > 0) == (pid != PageId.VERSION), (pid, checked)


def test_focus_starts_on_the_checked_choice(qtbot: QtBot, kb: Keyboard,
                                            modals: Modals) -> None:
    w = _launch(qtbot, WizardState(release_key="1.4", edge_ca_method="quickstart",
                                   target_kind="local"))
    qtbot.waitUntil(lambda: focused() is not None)
    version = w.page(PageId.VERSION)
    assert focused() is version.group.checkedButton()  # type: ignore[attr-defined]
    assert focused().objectName() == "version_1.4_linux"  # type: ignore[union-attr]
    kb.alt("n")
    wait_page(qtbot, w, PageId.DEVICE, modals)
    qtbot.waitUntil(lambda: focused() is w.page(PageId.DEVICE).methods.checkedButton())  # type: ignore[attr-defined]
    wait_enabled(qtbot, w.button(w.WizardButton.NextButton), modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.TARGET, modals)
    qtbot.waitUntil(lambda: focused() is not None
                    and focused().objectName() == "target_local")  # type: ignore[union-attr]


def test_delete_key_removes_the_selected_import_file(qtbot: QtBot, kb: Keyboard,
                                                     modals: Modals, tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("a.pem", "b.pem")]
    for f in files:
        f.write_text("not a certificate\n")
    state = WizardState(output_dir=str(tmp_path / "out"), chain_mode="import",
                        import_files=[str(f) for f in files])
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    page = w.page(PageId.CHAIN)
    lst = page.import_list  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: focused() is page.modes.checkedButton(), timeout=2000)  # type: ignore[attr-defined]
    lst.setFocus()  # (a person tabs there)
    kb.press(Qt.Key.Key_Home, what="Home")
    lst.setCurrentRow(0)
    modals.expect_keys("", "Enter")  # the files are not certificates: an error per load
    qtbot.waitUntil(lambda: focused() is lst, timeout=2000)
    kb.press(Qt.Key.Key_Delete, what="Delete")
    qtbot.waitUntil(lambda: lst.count() == 1, timeout=2000)
    assert state.import_files == [str(files[1])]


def test_focus_returns_to_the_field_a_password_was_asked_for(
        qtbot: QtBot, kb: Keyboard, modals: Modals, tmp_path: Path) -> None:
    """Issuing from an encrypted CA key: the password dialog closes, the focus is on the CA
    key field (not the Browse button beside it, where Enter would open a file dialog)."""
    from core.chain import generate_demo_chain
    from core.versions import release

    files = generate_demo_chain(tmp_path / "ca", "ownca", release=release("1.5"),
                                password="ca-secret-1")
    state = WizardState(output_dir=str(tmp_path / "out"), chain_mode="issue",
                        ca_cert_file=str(files.intermediate_cert),
                        ca_key_file=str(files.intermediate_key),
                        ca_chain_file=str(files.root_cert))
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    page = w.page(PageId.CHAIN)

    def type_password(dialog: QWidget) -> None:
        assert dialog.objectName() == "passwordDialog" and "password" in dialog.windowTitle()
        kb.type("ca-secret-1")
        assert dialog.textValue() == "ca-secret-1", (dialog.textValue(), focused())  # type: ignore[attr-defined]
        kb.enter()

    modals.expect(str(files.intermediate_key.name), type_password)
    modals.expect("File password", type_password)
    kb.alt("e")  # Issue edge CA
    qtbot.waitUntil(lambda: state.chain is not None or modals.unexpected != [], timeout=60000)
    assert modals.unexpected == []
    # the window's focus (what has the keys once it is active again)
    assert w.focusWidget() is page.ca_key  # type: ignore[attr-defined]
    assert "ca-secret-1" not in json.dumps(__import__("gui.state").state.remembered(state))


def test_enter_refuses_an_unknown_host_key(qtbot: QtBot, kb: Keyboard, modals: Modals) -> None:
    w = _launch(qtbot)
    answers: list[bool] = []
    modals.expect_keys("First connection to", "Enter")
    QTimer.singleShot(0, lambda: answers.append(
        dialogs.confirm_host_key(w, "[127.0.0.1]:2222", "ssh-ed25519", "SHA256:abc")))
    qtbot.waitUntil(lambda: answers != [], timeout=5000)
    assert answers == [False]
    modals.expect_keys("First connection to", "t")
    QTimer.singleShot(0, lambda: answers.append(
        dialogs.confirm_host_key(w, "[127.0.0.1]:2222", "ssh-ed25519", "SHA256:abc")))
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=5000)
    assert answers == [False, True]


def test_error_titles_are_words_not_class_names() -> None:
    cases = {errors.AuthError("x"): "Login refused", errors.ConnectError("x"): "Cannot connect",
             errors.WrongPasswordError("x"): "Wrong password",
             errors.UsageError("x"): "Check the input"}
    for exc, title in cases.items():
        assert dialogs.error_texts(exc)[0] == title
    assert dialogs.error_texts(errors.AuthError("x"))[0] != "Auth"
    text = dialogs.error_texts(errors.ConnectError("cannot reach 10.0.0.5:22: refused",
                                                   where="10.0.0.5:22"))[1]
    assert text.count("10.0.0.5:22") == 1
    text = dialogs.error_texts(errors.UnreadableFileError("cannot read it", where="/x.pem"))[1]
    assert text == "/x.pem: cannot read it"  # where the message does not name it


def test_release_11_pages_say_device_ca(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                        tmp_path: Path) -> None:
    state = WizardState(release_key="1.1", output_dir=str(tmp_path / "out"))
    w = _launch(qtbot, state)
    nxt = w.button(w.WizardButton.NextButton)
    for pid in (PageId.CHAIN, PageId.DEVICE):
        wait_enabled(qtbot, nxt, modals)
        kb.alt("n")
        wait_page(qtbot, w, pid, modals)
        page = w.page(pid)
        texts = [page.title(), page.subTitle()] + [
            t for wid in page.findChildren(QWidget)
            for t in (getattr(wid, "text", lambda: "")(), getattr(wid, "title", lambda: "")(),
                      wid.toolTip()) if isinstance(t, str)
            and not isinstance(wid, QLineEdit)]
        assert not [t for t in texts if "edge CA" in t or "Edge CA" in t], pid
        assert any("device CA" in t or "Device CA" in t for t in texts), pid


def test_own_ca_fields_come_back_however_they_were_filled(
        qtbot: QtBot, kb: Keyboard, modals: Modals, tmp_path: Path) -> None:
    QSettings("edgecert", "edgecert").clear()
    w = _launch(qtbot, WizardState(chain_mode="issue", output_dir=str(tmp_path / "o")),
                remember=True)
    w.state.chain_mode = "issue"
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    page = w.page(PageId.CHAIN)
    kb.alt("t")
    kb.type("/srv/pki/ca.cert.pem")
    page.ca_key.setText("/srv/pki/ca.key.pem")  # # what the Browse button does
    kb.alt("h")
    kb.type("/srv/pki/chain.pem")
    w.close()
    again = _launch(qtbot, remember=True)
    again.next()
    page2 = again.page(PageId.CHAIN)
    assert (page2.ca_cert.text(), page2.ca_key.text(),  # type: ignore[attr-defined]
            page2.ca_chain.text()) == (  # type: ignore[attr-defined]
        "/srv/pki/ca.cert.pem", "/srv/pki/ca.key.pem", "/srv/pki/chain.pem")


def test_a_second_launch_brings_the_first_to_the_front(qtbot: QtBot, tmp_path: Path) -> None:
    """The second process finds the first by its settings file, asks it to come to the front
    and exits; the first counts the request and stays the only window."""
    from gui.single import claim

    settings_file = settings().fileName()
    first = claim(settings_file)
    assert first is not None
    w = _launch(qtbot)
    first.window = w
    w.showMinimized()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    code = ("import sys\nfrom PySide6.QtCore import QCoreApplication\n"
            "app = QCoreApplication(sys.argv)\nfrom gui.single import claim\n"
            f"sys.exit(0 if claim({settings_file!r}) is None else 3)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    assert proc.returncode == 0, "the second launch did not hand over"
    qtbot.waitUntil(lambda: first.requests == 1, timeout=5000)
    assert not w.isMinimized() and w.isVisible()
    first.release()
    # the lock is free again: the next launch is the running instance
    again = claim(settings_file)
    assert again is not None
    again.release()


def test_no_chain_ready_beside_an_empty_chain_view(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                                   tmp_path: Path) -> None:
    state = WizardState(output_dir=str(tmp_path / "out"))
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    page = w.page(PageId.CHAIN)
    qtbot.waitUntil(lambda: state.chain is not None, timeout=60000)
    assert page.status.text().startswith("Chain ready")  # type: ignore[attr-defined]
    kb.alt("i")  # own CA: no chain yet
    qtbot.waitUntil(lambda: state.chain_mode == "issue", timeout=2000)
    assert state.chain is None
    assert "Chain ready" not in page.status.text()  # type: ignore[attr-defined]


def test_target_page_words_and_places_per_kind(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                              tmp_path: Path) -> None:
    state = WizardState(output_dir=str(tmp_path / "out"), edge_ca_method="quickstart",
                        platform="eflow")
    w = _launch(qtbot, state)
    nxt = w.button(w.WizardButton.NextButton)
    for pid in (PageId.DEVICE, PageId.TARGET):
        wait_enabled(qtbot, nxt, modals)
        kb.alt("n")
        wait_page(qtbot, w, pid, modals)
    target = w.page(PageId.TARGET)
    host, detect = target.host, target.detect_button  # type: ignore[attr-defined]
    assert detect.isVisible()
    # beside the Host field it fills: same row, right of it
    assert abs(detect.mapTo(target, detect.rect().center()).y()
               - host.mapTo(target, host.rect().center()).y()) < host.height()
    assert detect.mapTo(target, detect.rect().topLeft()).x() > \
        host.mapTo(target, host.rect().topLeft()).x()
    kb.alt("m")  # This computer
    qtbot.waitUntil(lambda: state.target_kind == "local", timeout=2000)
    text = target.test_button.text()  # type: ignore[attr-defined]
    assert "this computer" in text and "device" not in text
    kb.alt("s")  # SSH device
    qtbot.waitUntil(lambda: state.target_kind == "ssh", timeout=2000)
    assert "device" in target.test_button.text()  # type: ignore[attr-defined]
