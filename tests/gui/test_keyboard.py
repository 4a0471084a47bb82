"""Keyboard use: every page's mnemonics are unique (wizard buttons included) and labels with a
mnemonic focus their field."""

from __future__ import annotations

import re

import pytest
from pytestqt.qtbot import QtBot

from gui.wizard import PageId, SetupWizard

_WIZARD_KEYS = {"b", "n", "c", "d", "f"}  # Back, Next, Cancel, Deploy, Finish


def _mnemonic(text: str) -> str | None:
    m = re.search(r"&([^&])", text.replace("&&", ""))
    return m.group(1).lower() if m else None


@pytest.mark.parametrize("pid", list(PageId))
def test_mnemonics_are_unique_per_page(qtbot: QtBot, pid: PageId) -> None:
    from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QTabWidget

    w = SetupWizard(remember=False)
    qtbot.addWidget(w)
    page = w.page(pid)
    seen: dict[str, str] = {}
    texts: list[str] = [b.text() for b in page.findChildren(QAbstractButton)]
    texts += [g.title() for g in page.findChildren(QGroupBox)]
    texts += [t.tabText(i) for t in page.findChildren(QTabWidget) for i in range(t.count())]
    labels = page.findChildren(QLabel)
    for label in labels:
        if _mnemonic(label.text()) and label.textFormat() != label.textFormat().RichText:
            assert label.buddy() is not None, f"label {label.text()!r} has no buddy"
            texts.append(label.text())
    for text in texts:
        key = _mnemonic(text)
        if key is None:
            continue
        assert key not in _WIZARD_KEYS, f"{text!r} clashes with a wizard button"
        assert key not in seen, f"{text!r} and {seen.get(key)!r} share &{key}"
        seen[key] = text
