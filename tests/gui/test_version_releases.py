"""The version page: 1.6 LTS is the default choice, 1.5 says that its support ended."""

from __future__ import annotations

from PySide6.QtWidgets import QRadioButton
from pytestqt.qtbot import QtBot

from gui.state import WizardState
from gui.wizard import PageId, SetupWizard


def test_version_page_defaults_to_16_and_marks_15(qtbot: QtBot) -> None:
    assert WizardState().release_key == "1.6"
    w = SetupWizard(None, remember=False)
    qtbot.addWidget(w)
    w.show()
    page = w.page(PageId.VERSION)
    checked = page.group.checkedButton()
    assert checked is not None and checked.objectName() == "version_1.6_linux"
    assert "IoT Edge 1.6 LTS" in page.explanation.text()
    assert "Support ended" not in page.explanation.text()
    page.findChild(QRadioButton, "version_1.5_linux").click()
    assert w.state.release_key == "1.5"
    assert "Support ended November 2026" in page.explanation.text()
