"""Target page without a device: EFLOW detection errors reach the technician with the hint,
target changes forget what was read, and the bundle needs a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from guitest_support import DialogLog
from pytestqt.qtbot import QtBot

from core.errors import ConnectError
from gui.backend import ConfigCopy
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard


def _target(qtbot: QtBot, state: WizardState) -> tuple[SetupWizard, object]:
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    w.ensure_pages()
    w.setStartId(PageId.TARGET)
    w.show()
    return w, w.page(PageId.TARGET)


@pytest.mark.skipif(shutil.which("powershell.exe") is not None, reason="a real EFLOW host")
def test_eflow_detect_without_powershell_shows_hint(qtbot: QtBot,
                                                    dialog_log: DialogLog) -> None:
    _w, page = _target(qtbot, WizardState(platform="eflow", target_kind="eflow"))
    assert page.detect_button.isVisible()  # type: ignore[attr-defined]
    assert page.user.text() == "iotedge-user"  # type: ignore[attr-defined]
    page.detect_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dialog_log.errors != [], timeout=10000)
    err = dialog_log.errors[0]
    assert isinstance(err, ConnectError) and "Windows host" in err.hint
    assert not page.isComplete()  # type: ignore[attr-defined]


def test_changing_the_host_forgets_the_device_and_host_key(qtbot: QtBot) -> None:
    state = WizardState(target_kind="ssh", host="192.0.2.10")
    state.device_state = ConfigCopy(Path("config.toml"), b'hostname = "x"\n')
    state.accepted_host_key = "SHA256:abc"
    _w, page = _target(qtbot, state)
    assert page.isComplete()  # type: ignore[attr-defined]
    page.host.setText("192.0.2.11")  # type: ignore[attr-defined]
    assert state.device_state is None and state.accepted_host_key == ""
    assert not page.isComplete()  # type: ignore[attr-defined]


def test_passwords_are_masked_and_bundle_needs_a_folder(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLineEdit

    _w, page = _target(qtbot, WizardState(target_kind="bundle", bundle_dir=""))
    for name in ("sshPassword", "sudoPassword"):
        edit = page.findChild(QLineEdit, name)  # type: ignore[attr-defined]
        assert edit.echoMode() == QLineEdit.EchoMode.Password
    page.bundle_dir.setText("")  # type: ignore[attr-defined]
    assert not page.isComplete()  # type: ignore[attr-defined]
    page.bundle_dir.setText("/tmp/somewhere")  # type: ignore[attr-defined]
    assert page.isComplete()  # type: ignore[attr-defined]
