"""The side-by-side diff is aligned on the real text: a changed secret is a changed row, and
neither side ever shows the secret itself."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from core.config.diff import REDACTED, side_by_side
from gui.widgets.diff_view import DiffView

OLD_KEY = "c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3JldC1vbmUtMDE="
NEW_KEY = "c2VjcmV0LXR3by1zZWNyZXQtdHdvLXNlY3JldC10d28tMDI="
BEFORE = (
    '[provisioning]\nsource = "manual"\n'
    f'connection_string = "HostName=hub.example;DeviceId=d1;SharedAccessKey={OLD_KEY}"\n'
    'hostname = "edge-1"\n'
)
AFTER = BEFORE.replace(OLD_KEY, NEW_KEY)


def test_a_changed_secret_is_a_changed_row_redacted_on_both_sides() -> None:
    side = side_by_side(BEFORE, AFTER)
    row = next(i for i, line in enumerate(side.left) if "SharedAccessKey" in line)
    assert side.left_kinds[row] == "del"
    assert side.right_kinds[row] == "add"
    assert REDACTED in side.left[row] and REDACTED in side.right[row]
    shown = "\n".join(side.left + side.right)
    assert OLD_KEY not in shown and NEW_KEY not in shown
    # the lines around it are equal rows
    assert side.left_kinds[0] is None and side.right_kinds[0] is None
    assert side.left[3] == side.right[3] == 'hostname = "edge-1"'


def test_an_unchanged_secret_stays_an_equal_row() -> None:
    side = side_by_side(BEFORE, BEFORE.replace("edge-1", "edge-2"))
    kinds = dict(zip(side.left, side.left_kinds, strict=True))
    secret_row = next(line for line in side.left if "SharedAccessKey" in line)
    assert kinds[secret_row] is None
    assert kinds['hostname = "edge-1"'] == "del"


def test_a_new_file_has_only_added_rows() -> None:
    side = side_by_side(None, AFTER)
    assert side.right_kinds == ("add",) * 4
    assert side.left == ("",) * 4 and side.left_kinds == (None,) * 4
    assert NEW_KEY not in "\n".join(side.right)


def test_pem_lines_are_redacted_in_the_rows() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkq\n-----END PRIVATE KEY-----\n"
    side = side_by_side("a = 1\n", "a = 1\n" + pem)
    assert "MIIBVQIBADANBgkq" not in "\n".join(side.right)
    assert side.right[2] == REDACTED


def test_the_diff_view_shows_the_changed_secret_as_changed(qtbot: QtBot) -> None:
    view = DiffView()
    qtbot.addWidget(view)
    view.set_diff("--- a\n+++ b\n", BEFORE, AFTER)
    view.side_button.setChecked(True)
    left, right = view.left.toPlainText(), view.right.toPlainText()
    assert OLD_KEY not in left and NEW_KEY not in right
    row = left.splitlines().index(next(x for x in left.splitlines() if "SharedAccessKey" in x))
    block = view.left.document().findBlockByNumber(row)
    formats = block.layout().formats()
    assert formats and formats[0].start == 0
    removed = view._hl_left.formats["del"].background().color()
    assert formats[0].format.background().color() == removed
