"""Readability at laptop sizes: every page rendered at 1366x768 and 1280x720, at 100 % and
125 % scale, with realistic data (demo chain, findings with long hints, long paths, a diff),
must show every widget whole and every label uncut (``gui.widgets.layout_audit``).

125 % is tested two ways: in this process as the logical size a 125 % screen gives
(physical size / 1.25), and in a subprocess under ``QT_SCALE_FACTOR=1.25``.

Run as a script (``python tests/gui/test_layout.py W H``) it walks the wizard at a physical
size and prints what the audit found, one line each (used by the subprocess test).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QTreeView, QVBoxLayout, QWidget

from gui import screenshots
from gui.state import WizardState
from gui.widgets.chain_view import CertRow, ChainView, FingerprintLabel, LifetimeBar
from gui.widgets.file_inputs import PathEdit, PathLabel, install_file_dialog_sizing
from gui.widgets.findings import FindingsList
from gui.widgets.layout_audit import Problem, audit, audit_size
from gui.wizard import PageId, SetupWizard

SCREENS = ((1366, 768), (1280, 720))
SCALES = (1.0, 1.25)
SIZES = tuple((round(w / s), round(h / s), f"{w}x{h}@{round(s * 100)}%")
              for w, h in SCREENS for s in SCALES)
"""Logical window sizes of a maximised window: (width, height, label)."""

LONG_HINT = ("Pick the key that was generated with this certificate; if the certificate came "
             "from your PKI, ask for the key file that belongs to it and import both together "
             "(iotedge check: certs-match-private-keys would fail on the device otherwise).")


def _long_folder(base: Path) -> Path:
    folder = base / "customer-site-with-a-long-name" / "field-laptop-2026-12-03" / \
        "edge-gateways-building-7-floor-3" / "certificates-for-the-line-controllers"
    folder.mkdir(parents=True)
    return folder


def _settle(app: QApplication, n: int = 6) -> None:
    for _ in range(n):
        app.processEvents()


def audit_at_sizes(app: QApplication, w: QWidget, view: str,
                   sizes: tuple[tuple[int, int, str], ...] = SIZES) -> list[str]:
    """Resize ``w`` to each size, audit it, come back to the first size."""
    found: list[str] = []
    for width, height, label in sizes:
        w.resize(width, height)
        _settle(app)
        found += [f"{view} at {label}: {p}" for p in audit_size(w, width, height)]
    w.resize(sizes[0][0], sizes[0][1])
    _settle(app)
    return found


def _walk_and_audit(app: QApplication, work: Path,
                    sizes: tuple[tuple[int, int, str], ...]) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    screenshots.quiet_dialogs(problems)
    state = screenshots.demo_state(work)
    state.output_dir = str(_long_folder(work))
    state.bundle_dir = str(_long_folder(work / "usb") / "bundle")
    w = SetupWizard(state, remember=False)
    w.resize(sizes[0][0], sizes[0][1])
    w.show()
    found: list[str] = []
    seen: list[str] = []

    def visit(name: str, wizard: SetupWizard) -> None:
        seen.append(name)
        assert wizard.currentId() == int(name[0]) - 1, (name, wizard.currentId())
        found.extend(audit_at_sizes(app, wizard, name, sizes))
        if name == "4-target-bundle":  # the long bundle folder: its start and its end shown
            field = wizard.page(PageId.TARGET).bundle_dir  # type: ignore[attr-defined]
            if not field.hasFocus():
                shown = field.displayed_text()
                assert "…" in shown and shown.endswith("bundle"), shown
            assert field.toolTip().startswith(state.bundle_dir)

    screenshots.walk(app, w, visit, problems)
    w.hide()
    w.deleteLater()
    assert problems == [], problems
    return seen, found


@pytest.fixture
def wizard_factory(qtbot: object, dialog_log: object) -> Iterator[Callable[..., SetupWizard]]:
    made: list[SetupWizard] = []

    def make(state: WizardState, start: PageId = PageId.VERSION) -> SetupWizard:
        w = SetupWizard(state, remember=False)
        qtbot.addWidget(w)  # type: ignore[attr-defined]
        made.append(w)
        w.ensure_pages()
        w.setStartId(start)
        w.resize(1366, 768)
        w.show()
        return w

    yield make
    made.clear()


# -- the render test -------------------------------------------------------------------------

def test_every_page_is_readable_at_laptop_sizes(qapp: QApplication, dialog_log: object,
                                                tmp_path: Path) -> None:
    seen, found = _walk_and_audit(qapp, tmp_path, SIZES)
    assert seen == ["1-version", "2-chain", "3-device", "4-target-bundle", "4-target-ssh",
                    "5-preview-diff", "5-preview-side-by-side", "5-preview-plan", "6-deploy",
                    "7-summary"]
    assert found == [], "\n".join(found)


def test_chain_page_with_long_hints_and_a_long_path_is_readable(
        qtbot: object, qapp: QApplication, wizard_factory: Callable[..., SetupWizard],
        tmp_path: Path) -> None:
    from core.chain import KeyType, generate_demo_chain
    from core.versions import release

    given = generate_demo_chain(tmp_path / "given", "edge-7", release=release("1.5"),
                                key_type=KeyType.EC_P256)
    other = generate_demo_chain(tmp_path / "other", "edge-8", release=release("1.5"),
                                key_type=KeyType.EC_P256)
    folder = _long_folder(tmp_path)
    wrong_key = folder / "edge-gateway-building-7-line-controller-3.key.pem"
    wrong_key.write_bytes(other.edge_ca_key.read_bytes())
    state = WizardState(chain_mode="import", output_dir=str(folder), device_id="edge-7")
    w = wizard_factory(state, PageId.CHAIN)
    page = w.page(PageId.CHAIN)
    page.add_import_files([str(given.edge_ca_full_chain), str(wrong_key),  # type: ignore
                           str(given.trust_bundle)])
    qtbot.waitUntil(lambda: state.chain is not None and not page.busy,  # type: ignore
                    timeout=60000)
    entries = page.findings.entries  # type: ignore[attr-defined]
    mismatch = [e for e in entries if "does not belong" in e.message_label.text()]
    assert mismatch, [e.message_label.text() for e in entries]
    # the finding names the file that held the wrong key, in the panel itself
    assert str(wrong_key) in mismatch[0].message_label.text()
    assert mismatch[0].hint_label.text().startswith("What to do: Pick the key")
    found = audit_at_sizes(qapp, w, "chain page, import with a wrong key")
    assert found == [], "\n".join(found)


def test_a_long_csr_path_never_squeezes_the_chain_view(
        qtbot: object, qapp: QApplication, wizard_factory: Callable[..., SetupWizard],
        tmp_path: Path) -> None:
    state = WizardState(chain_mode="demo", device_id="edge-gateway-building-7-controller-3",
                        output_dir=str(_long_folder(tmp_path)))
    w = wizard_factory(state, PageId.CHAIN)
    page = w.page(PageId.CHAIN)
    qtbot.waitUntil(lambda: state.chain is not None and not page.busy,  # type: ignore
                    timeout=60000)
    _settle(qapp)
    view = page.chain_view  # type: ignore[attr-defined]
    before = view.width()
    assert before > 0.4 * page.width()
    page.findChild(QWidget, "mode_csr").click()  # type: ignore[union-attr]
    page.csr_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: state.csr_pem != b"" and not page.busy,  # type: ignore
                    timeout=60000)
    _settle(qapp)
    csr_path = page.csr_path  # type: ignore[attr-defined]
    full = csr_path.text()
    assert full.endswith(".csr.pem")
    assert Path(full).is_file()
    assert csr_path.toolTip().startswith(full)
    shown = csr_path.displayed_text()
    assert "…" in shown and shown.startswith(full[:4]) and shown.endswith(full[-6:])
    assert view.width() > 0.4 * page.width(), (view.width(), page.width())
    found = audit_at_sizes(qapp, w, "chain page after Create request")
    page.findChild(QWidget, "mode_import").click()  # type: ignore[union-attr]
    _settle(qapp)
    assert view.width() > 0.4 * page.width()
    found += audit_at_sizes(qapp, w, "chain page back in import mode")
    assert found == [], "\n".join(found)


def test_edge_ca_card_is_in_sight_when_maximised_at_1366x768(
        qtbot: object, qapp: QApplication, wizard_factory: Callable[..., SetupWizard],
        tmp_path: Path) -> None:
    state = WizardState(chain_mode="demo", output_dir=str(tmp_path / "out"))
    w = wizard_factory(state, PageId.CHAIN)
    page = w.page(PageId.CHAIN)
    qtbot.waitUntil(lambda: state.chain is not None and not page.busy,  # type: ignore
                    timeout=60000)
    for width, height, label in SIZES:
        w.resize(width, height)
        _settle(qapp)
        view = page.chain_view  # type: ignore[attr-defined]
        card = view.edge_card
        assert card is not None and card.row.role == "Edge CA"
        top_left = card.mapTo(view.viewport(), QPoint(0, 0))
        assert view.viewport().rect().contains(QRect(top_left, card.size())), label


def test_summary_with_failed_checks_is_readable(
        qtbot: object, qapp: QApplication, wizard_factory: Callable[..., SetupWizard],
        tmp_path: Path) -> None:
    from gui import report

    w = wizard_factory(WizardState(output_dir=str(tmp_path / "out")), PageId.SUMMARY)
    page = w.page(PageId.SUMMARY)
    qtbot.waitUntil(lambda: not page.busy, timeout=30000)  # type: ignore
    details = ("The certificate files and their private keys do not match: "
               "/var/aziot/certs/edge-ca.pem was issued for a different key than "
               "/var/aziot/secrets/edge-ca.key.pem. Replace both files with a matching pair "
               "and run iotedge config apply again.",)
    summary = report.Summary(
        target="admin@192.0.2.10", release="1.5", ca_term="edge CA",
        edge_ca_expiry=dt.datetime(2027, 3, 3, tzinfo=dt.UTC),
        renewal="Not renewed by the device: replace the edge CA before it expires.",
        backup_location="/var/lib/edgecert/backup/20261203-115735", output_dir=str(tmp_path),
        checks=(report.CheckLine("certs-preloaded", "ok"),
                report.CheckLine("certs-match-private-keys", "error", details),
                report.CheckLine("edge-ca-expiry", "warning",
                                 ("The edge CA expires in 89 days, on 2027-03-03.",))),
        thumbprints=(report.Thumbprint("Edge CA", "CN=edge-demo-01.ca", "ab" * 32),))
    page._show(summary)  # type: ignore[attr-defined]  # what the page shows after the check
    assert page.checks.isVisibleTo(w)  # type: ignore[attr-defined]
    found = audit_at_sizes(qapp, w, "summary with a failed check")
    assert found == [], "\n".join(found)


def test_the_audit_is_run_under_a_real_125_percent_scale_factor(tmp_path: Path) -> None:
    env = dict(os.environ, QT_SCALE_FACTOR="1.25", QT_QPA_PLATFORM="offscreen")
    for width, height in SCREENS:
        done = subprocess.run([sys.executable, __file__, str(width), str(height)], env=env,
                              capture_output=True, text=True, timeout=240, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "walked 10 views" in done.stdout, done.stdout + done.stderr
        lines = [x for x in done.stdout.splitlines() if x.startswith("PROBLEM ")]
        assert lines == [], "\n".join(lines)


# -- the audit is a real check -----------------------------------------------------------------

def test_the_audit_finds_a_clipped_widget_and_a_cut_hint(qtbot: object) -> None:
    box = QWidget()
    qtbot.addWidget(box)  # type: ignore[attr-defined]
    box.resize(300, 200)
    inside = QLabel("fits", box)
    inside.setGeometry(10, 10, 100, 20)
    outside = QLabel("half out", box)
    outside.setObjectName("halfOut")
    outside.setGeometry(250, 10, 100, 20)
    hint = QLabel(f"What to do: {LONG_HINT}", box)
    hint.setObjectName("cutHint")
    hint.setGeometry(10, 50, 280, 20)  # one line, no word wrap: most of it is cut
    box.show()
    found = audit(box)
    kinds = {(p.kind, p.widget.split("#")[-1]) for p in found}
    assert ("clipped", "halfOut") in kinds
    assert ("cut", "cutHint") in kinds
    assert len(found) == 2, found
    hint.setWordWrap(True)
    hint.setGeometry(10, 50, 280, 120)  # wrapped and tall enough: nothing found
    outside.setGeometry(190, 10, 100, 20)
    assert audit(box) == []
    hint.setGeometry(10, 50, 280, 30)  # wrapped but cut at the bottom
    assert [p.kind for p in audit(box)] == ["cut"]


def test_the_audit_fails_a_page_whose_hint_label_cannot_wrap(
        qtbot: object, qapp: QApplication, wizard_factory: Callable[..., SetupWizard],
        tmp_path: Path) -> None:
    state = WizardState(chain_mode="import", output_dir=str(tmp_path / "out"))
    w = wizard_factory(state, PageId.CHAIN)
    page = w.page(PageId.CHAIN)
    _settle(qapp)
    assert audit_size(w, 1366, 768) == []
    status = page.status  # type: ignore[attr-defined]
    status.setText(f"What to do: {LONG_HINT} {LONG_HINT}")
    status.setWordWrap(False)  # the defect: a hint on one line, wider than the window
    _settle(qapp)
    found: list[Problem] = audit_size(w, 1366, 768)
    assert found, "a one-line hint wider than the window was not found"
    assert any(p.kind in {"window", "cut", "clipped"} for p in found), found


def test_the_audit_finds_squeezed_buttons_and_unreachable_content(
        qtbot: object, qapp: QApplication) -> None:
    from PySide6.QtWidgets import QHBoxLayout, QPushButton, QScrollArea

    box = QWidget()
    qtbot.addWidget(box)  # type: ignore[attr-defined]
    box.resize(400, 300)
    strip = QWidget(box)  # a fixed area that its layout cannot fit in
    strip.setObjectName("strip")
    strip.setGeometry(0, 0, 200, 40)
    row = QHBoxLayout(strip)
    for i in range(2):
        button = QPushButton(f"A button with a long text {i}")
        button.setObjectName(f"squeezed{i}")
        row.addWidget(button)
    area = QScrollArea(box)
    area.setObjectName("noScrollBar")
    area.setGeometry(0, 60, 200, 200)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidgetResizable(True)
    wide = QLabel("x" * 200)  # no word wrap: its minimum is wider than the view
    wide.setObjectName("wide")
    area.setWidget(wide)
    box.show()
    _settle(qapp)
    found = audit(box)
    names = sorted((p.kind, p.widget.split("#")[-1]) for p in found)
    assert names == [("clipped", "noScrollBar"), ("cut", "wide"), ("squeezed", "squeezed0"),
                     ("squeezed", "squeezed1"), ("squeezed", "strip")], found


# -- the readability points, one by one ---------------------------------------------------------

def _row(days_before: int, days_after: int, now: dt.datetime) -> CertRow:
    return CertRow(role="Edge CA", subject="CN=edge.ca", issuer="CN=root",
                   not_before=now - dt.timedelta(days=days_before),
                   not_after=now + dt.timedelta(days=days_after),
                   sha256="0123456789abcdef" * 4)


def _colour_share(image: QImage, colour: QColor) -> float:
    """Share of the pixels on the middle row of ``image`` that are close to ``colour``."""
    y = image.height() // 2
    hits = 0
    for x in range(image.width()):
        c = image.pixelColor(x, y)
        if abs(c.red() - colour.red()) + abs(c.green() - colour.green()) + \
                abs(c.blue() - colour.blue()) < 40:
            hits += 1
    return hits / image.width()


def test_lifetime_bar_draws_elapsed_against_remaining(qtbot: object) -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    view = ChainView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(700, 500)
    view.set_rows([_row(100, 300, now)], now=now)  # 25 % used
    view.show()
    QApplication.processEvents()
    card = view.edge_card
    assert card is not None
    bar: LifetimeBar = card.bar
    assert bar.format() == "300 days left" and card.days_label.text() == "300 days left"
    assert bar.value() == 250
    image = bar.grab().toImage()
    green = _colour_share(image, QColor("#2e9d4f"))
    grey = _colour_share(image, bar.palette().color(bar.palette().ColorRole.Mid))
    assert 0.6 < green < 0.8, green  # remaining: three quarters, drawn in the level colour
    assert 0.15 < grey < 0.3, grey  # elapsed: a quarter
    # a new certificate is still drawn: all remaining, not an empty box
    fresh = LifetimeBar(0.0, "ok", "364 days left")
    qtbot.addWidget(fresh)  # type: ignore[attr-defined]
    fresh.resize(300, 12)
    fresh.show()
    assert _colour_share(fresh.grab().toImage(), QColor("#2e9d4f")) > 0.85


def test_fingerprint_is_shown_whole_at_any_width(qtbot: object, qapp: QApplication) -> None:
    digest = "ab12" * 16
    for width in (900, 420, 260):
        holder = QWidget()
        qtbot.addWidget(holder)  # type: ignore[attr-defined]
        layout = QVBoxLayout(holder)
        label = FingerprintLabel(digest)
        layout.addWidget(label)
        layout.addStretch(1)
        holder.resize(width, 300)
        holder.show()
        _settle(qapp)
        text = label.text()
        assert text.replace(":", "").replace("\n", "") == digest.upper()
        assert audit(holder) == [], (width, audit(holder))
        assert label.toolTip().startswith(label.whole()) and label.whole().count(":") == 31
    label.copy_fingerprint()
    assert QApplication.clipboard().text() == label.whole()  # one line, ready to compare


def test_a_long_common_name_wraps_in_a_narrow_chain_view(qtbot: object,
                                                       qapp: QApplication) -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    cn = "CN=" + "edge-gateway-building-7-line-controller-3-plant-north-0123456789"[:61]
    row = CertRow(role="Edge CA", subject=cn, issuer=cn, not_before=now,
                  not_after=now + dt.timedelta(days=90), sha256="cd" * 32)
    view = ChainView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(380, 400)
    view.set_rows([row], now=now)
    view.show()
    _settle(qapp)
    card = view.edge_card
    assert card is not None
    title = card.findChild(QLabel, "cardTitle")
    assert title is not None and cn in title.text()
    assert audit(view) == []


def test_findings_show_long_hints_in_full_when_narrow(qtbot: object, qapp: QApplication) -> None:
    findings = [SimpleNamespace(severity="error", code="not-ca", subject="CN=edge.ca",
                                message="the edge CA is not a CA (basicConstraints CA:FALSE)",
                                hint=LONG_HINT),
                SimpleNamespace(severity="warning", code="cn-too-long", subject="",
                                message="the common name is longer than 64 characters",
                                hint=LONG_HINT)]
    view = FindingsList()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(320, 600)
    view.set_findings(findings)
    view.show()
    _settle(qapp)
    assert [e.severity for e in view.entries] == ["error", "warning"]
    first = view.entries[0]
    assert first.hint_label.text() == f"What to do: {LONG_HINT}"
    assert first.hint_label.isVisible() and first.hint_label.wordWrap()
    assert first.message_label.text().startswith("CN=edge.ca: the edge CA is not a CA")
    assert audit(view) == []  # wrapped in full, not cut, not elided


def test_key_mismatch_names_the_key_file(qtbot: object, tmp_path: Path) -> None:
    from core.chain import KeyType, generate_demo_chain
    from core.versions import release

    files = generate_demo_chain(tmp_path / "c", "edge-1", release=release("1.5"),
                                key_type=KeyType.EC_P256)
    finding = SimpleNamespace(severity="error", code="key-mismatch", subject="CN=edge-1.ca",
                              message="the private key does not belong to the edge CA "
                                      "certificate", hint="Pick the key.")
    view = FindingsList()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.set_findings([finding], files=[files.edge_ca_full_chain, files.edge_ca_key,
                                        files.trust_bundle])
    text = view.entries[0].message_label.text()
    assert f"Key file: {files.edge_ca_key}" in text
    assert str(files.trust_bundle) not in text and str(files.edge_ca_full_chain) not in text
    # a key in DER form is found too; a DER certificate is not a key
    from cryptography.hazmat.primitives import serialization

    from gui.widgets.findings import key_files

    key = serialization.load_pem_private_key(files.edge_ca_key.read_bytes(), None)
    der_key = tmp_path / "edge.key.der"
    der_key.write_bytes(key.private_bytes(serialization.Encoding.DER,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(files.trust_bundle.read_bytes())
    der_cert = tmp_path / "root.der"
    der_cert.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    assert key_files([der_cert, der_key, files.trust_bundle]) == [str(der_key)]


def test_long_paths_are_elided_in_the_middle_with_the_full_path_at_hand(
        qtbot: object, qapp: QApplication, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QPushButton

    path = str(_long_folder(tmp_path) / "bundle")
    holder = QWidget()
    qtbot.addWidget(holder)  # type: ignore[attr-defined]
    layout = QVBoxLayout(holder)
    edit = PathEdit(path)
    edit.setToolTip("Where the bundle is written")
    other = QPushButton("Browse…")
    layout.addWidget(edit)
    layout.addWidget(other)
    holder.resize(280, 100)
    holder.show()
    other.setFocus()
    _settle(qapp)
    shown = edit.displayed_text()
    assert "…" in shown and shown.startswith(path[:4]) and shown.endswith("bundle")
    assert edit.text() == path and edit.toolTip().startswith(path)
    edit.setFocus()
    _settle(qapp)
    assert edit.hasFocus() and edit.displayed_text() == path  # whole while being edited
    label = PathLabel(path)
    qtbot.addWidget(label)  # type: ignore[attr-defined]
    assert label.isReadOnly() and label.minimumSizeHint().width() < 200
    label.selectAll()
    assert label.selectedText() == path  # selecting copies the whole path


def test_file_dialog_is_sized_so_its_columns_are_readable(qtbot: object, qapp: QApplication,
                                                          tmp_path: Path) -> None:
    name = "edge-gateway-building-7-line-controller-3.full-chain.cert.pem"
    (tmp_path / name).write_text("x")
    install_file_dialog_sizing(qapp)
    dialog = QFileDialog(None, "Certificate files", str(tmp_path))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setViewMode(QFileDialog.ViewMode.Detail)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    dialog.show()
    qtbot.waitUntil(lambda: dialog.width() >= 760, timeout=5000)  # type: ignore
    view = next(v for v in dialog.findChildren(QTreeView) if v.isVisible())
    _settle(qapp, 20)
    needed = view.fontMetrics().horizontalAdvance(name) + 40
    assert view.header().sectionSize(0) >= min(needed, view.viewport().width() // 2), \
        (view.header().sectionSize(0), needed)
    for col in range(1, view.header().count()):
        if not view.header().isSectionHidden(col):
            title = str(view.model().headerData(col, Qt.Orientation.Horizontal))
            assert view.header().sectionSize(col) >= view.fontMetrics().horizontalAdvance(title)
    dialog.reject()


def test_screenshots_show_no_machine_paths(qapp: QApplication, dialog_log: object,
                                           tmp_path: Path) -> None:
    shown: dict[str, list[str]] = {}
    temp_root = tempfile.gettempdir()
    shots = screenshots.render_all(tmp_path / "shots",
                                   on_shot=lambda name, texts: shown.__setitem__(name, texts))
    assert shots[0].name == "1-version.png" and len(shots) == 10
    assert all(QImage(str(p)).size().toTuple() == screenshots.SIZE for p in shots)
    leaks = [(name, t) for name, texts in shown.items() for t in texts
             if temp_root in t or str(tmp_path) in t]
    assert leaks == []
    assert any(screenshots.DISPLAY_HOME in t for texts in shown.values() for t in texts)


# -- run as a script: walk at a physical size under the environment's scale factor --------------

def _main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication([])
    scale = float(os.environ.get("QT_SCALE_FACTOR", "1"))
    width, height = int(argv[0]), int(argv[1])
    logical = (round(width / scale), round(height / scale), f"{width}x{height}@{scale:g}")
    with tempfile.TemporaryDirectory() as work:
        seen, found = _walk_and_audit(app, Path(work), (logical,))
    for line in found:
        print(f"PROBLEM {line}")
    print(f"walked {len(seen)} views at {logical[2]} ({logical[0]}x{logical[1]} logical)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
