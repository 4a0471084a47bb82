"""The views: diff layout and colours, plan checklist phases, chain validity bars, report HTML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from pytestqt.qtbot import QtBot

from core.plan import ClearState, Command, ConfigChange, EnsureDir, InstallFile, Plan
from gui import report
from gui.widgets.chain_view import CertRow, ChainView, bar_level
from gui.widgets.diff_view import DiffView, line_kind, side_by_side
from gui.widgets.plan_checklist import PlanChecklist, plan_rows


def _plan() -> Plan:
    return Plan(
        release="1.5",
        platform="linux",
        dirs=(EnsureDir("/var/aziot/certs", 0o755, "aziotcs", "aziotcs"),),
        files=(
            InstallFile("/var/aziot/certs/edge-ca.pem", b"CERT" * 10, 0o644, "aziotcs",
                        "aziotcs", "edge-ca-cert"),
            InstallFile("/var/aziot/secrets/edge-ca.key.pem", b"SECRET-KEY-BYTES", 0o600,
                        "aziotks", "aziotks", "edge-ca-key", secret=True),
        ),
        config=ConfigChange("/etc/aziot/config.toml", b"a = 1\n", b"a = 2\n"),
        clear=ClearState(files=("/var/lib/aziot/certd/certs/aziot-edged-ca.cer",)),
        apply=(Command(("iotedge", "config", "apply"), True, "apply the configuration"),),
        check=(Command(("iotedge", "check", "-o", "json"), True, "verify"),),
        check_ids=("certs-preloaded",),
    )


def test_plan_checklist_shows_every_step_with_owner_and_mode(qtbot: QtBot) -> None:
    view = PlanChecklist()
    qtbot.addWidget(view)
    view.set_plan(_plan())
    keys = [r.key for r in view.rows]
    assert keys[0] == "dir:/var/aziot/certs"
    assert "file:/var/aziot/secrets/edge-ca.key.pem" in keys
    assert keys[-1].startswith("check:")
    key_row = next(r for r in plan_rows(_plan()) if r.key.endswith("edge-ca.key.pem"))
    assert (key_row.owner, key_row.mode) == ("aziotks:aziotks", "0600")
    assert "secret" in key_row.action.lower()
    # never the key bytes
    assert all("SECRET-KEY" not in r.subject for r in view.rows)


def test_plan_checklist_phases(qtbot: QtBot) -> None:
    view = PlanChecklist()
    qtbot.addWidget(view)
    view.set_plan(_plan())
    view.mark_phase("install")
    assert view.status("config") == "running"
    assert view.status("apply:iotedge config apply") == "pending"
    view.mark_phase("apply")
    assert view.status("config") == "done"
    assert view.status("apply:iotedge config apply") == "running"
    view.mark_phase("done")
    assert {view.status(r.key) for r in view.rows} == {"done"}


def test_side_by_side_aligns_changes() -> None:
    left, right, lk, rk = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    assert len(left) == len(right) == len(lk) == len(rk)
    assert left[1] == "b" and right[1] == "B" and lk[1] == "del" and rk[1] == "add"
    assert left[3] == "" and right[3] == "d" and rk[3] == "add" and lk[3] is None
    assert lk[0] is None and rk[0] is None


def test_diff_view_switches_and_colours(qtbot: QtBot) -> None:
    view = DiffView()
    qtbot.addWidget(view)
    unified = "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n"
    view.set_diff(unified, "old\n", "new\n")
    assert view.unified.toPlainText() == unified
    assert [line_kind(x) for x in unified.splitlines()] == ["head", "head", "hunk", "del", "add"]
    view.side_button.setChecked(True)
    assert view.stack.currentIndex() == 1
    assert view.left.toPlainText() == "old" and view.right.toPlainText() == "new"
    # the highlighter coloured the added line
    block = view.unified.document().findBlockByNumber(4)
    formats = block.layout().formats()
    assert formats and formats[0].format.foreground().color().isValid()


def test_diff_colours_follow_a_dark_palette() -> None:
    from gui.widgets.diff_view import _formats, _is_dark

    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    assert _is_dark(dark)
    light = QPalette()
    light.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    assert not _is_dark(light)
    light_add = _formats(False)["add"].foreground().color()
    dark_add = _formats(True)["add"].foreground().color()
    assert dark_add.lightness() > light_add.lightness()


def _row(role: str, days_before: int, days_after: int, now: dt.datetime) -> CertRow:
    return CertRow(role=role, subject=f"CN={role}", issuer="CN=root",
                   not_before=now - dt.timedelta(days=days_before),
                   not_after=now + dt.timedelta(days=days_after), sha256="ab" * 32)


def test_chain_view_validity_levels(qtbot: QtBot) -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert bar_level(_row("root", 10, 3000, now), now, 7) == "ok"
    assert bar_level(_row("edge CA", 85, 5, now), now, 7) == "warning"  # 5 days left
    assert bar_level(_row("edge CA", 90, 20, now), now, 7) == "warning"  # 80 % used
    assert bar_level(_row("edge CA", 30, -1, now), now, 7) == "expired"
    view = ChainView()
    qtbot.addWidget(view)
    view.set_rows([_row("root", 10, 3000, now), _row("edge CA", 30, -1, now)], now=now)
    assert [c.level for c in view.cards] == ["ok", "expired"]
    assert view.cards[0].bar.format() == "3000 days left"
    assert view.cards[1].bar.format() == "expired"


def test_report_html_is_escaped_and_atomic(tmp_path: Path) -> None:
    s = report.Summary(
        target="root@<dev>", release="1.5", ca_term="edge CA",
        edge_ca_expiry=dt.datetime(2031, 5, 1, tzinfo=dt.UTC), renewal="replace by 2031-04-24",
        backup_location="/var/lib/edgecert/backup/1", output_dir=str(tmp_path),
        checks=(report.CheckLine("certs-preloaded", "ok"),
                report.CheckLine("certs-match-private-keys", "error", ("<bad>",))),
        thumbprints=(report.Thumbprint("edge CA", "CN=x.ca", "ab" * 32),),
    )
    path = report.write_report(s, tmp_path / "r" / "report.html")
    text = path.read_text()
    assert "root@&lt;dev&gt;" in text and "<dev>" not in text
    assert "&lt;bad&gt;" in text and "Some checks FAILED" in text
    assert "ab" * 32 in text
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
