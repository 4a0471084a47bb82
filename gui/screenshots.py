"""``edgecert-gui --screenshots DIR``: walk the wizard with demo data and save each page as PNG.

Everything shown is computed by core as in a real run: the demo chain, the validation, the
plan and its redacted diff, the export bundle and the summary. The one thing that cannot
exist on a documentation machine is the device, so the walk exports a bundle built from a
demo copy of a device configuration (below) instead of deploying over SSH.

The work happens in a temporary folder; the pictures show it as ``~/edgecert/demo`` (the texts
of the window are masked for the moment of each grab), so no machine path appears in them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QWidget,
)

from gui import dialogs
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

DEMO_DEVICE_CONFIG = """\
# Device configuration as installed on a demo device (manual provisioning).
hostname = "edge-demo-01"

[provisioning]
source = "manual"
connection_string = "HostName=demo-hub.azure-devices.net;DeviceId=edge-demo-01;\
SharedAccessKey=ZGVtby1vbmx5LW5vdC1hLXJlYWwta2V5LWZvci1kb2Nz"

[agent]
name = "edgeAgent"
type = "docker"

[agent.config]
image = "mcr.microsoft.com/azureiotedge-agent:1.5"

[connect]
workload_uri = "unix:///var/run/iotedge/workload.sock"
management_uri = "unix:///var/run/iotedge/mgmt.sock"

[listen]
workload_uri = "fd://aziot-edged.workload.socket"
management_uri = "fd://aziot-edged.mgmt.socket"
"""

SIZE = (1366, 768)
"""A maximised window on a 1366x768 laptop screen."""

DISPLAY_HOME = "~/edgecert/demo"
"""How the temporary work folder is shown in the pictures."""


def _wait(app: QApplication, done: Callable[[], bool], timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.01)
    for _ in range(5):
        app.processEvents()
    return True


def mask_paths(window: QWidget, real: str, shown: str) -> Callable[[], None]:
    """Show ``real`` as ``shown`` in every text of ``window``; returns what undoes it.

    Only what a picture shows is masked (tooltips are not in a grab).

    Signals are blocked while texts are swapped, so the pages' state never sees the change.
    """
    undo: list[Callable[[], None]] = []

    def swap(obj: QWidget, get: Callable[[], str], put: Callable[[str], None]) -> None:
        old = get()
        if real in old:
            blocked = obj.blockSignals(True)
            put(old.replace(real, shown))
            obj.blockSignals(blocked)

            def restore(obj: QWidget = obj, old: str = old) -> None:
                blocked = obj.blockSignals(True)
                put(old)
                obj.blockSignals(blocked)

            undo.append(restore)

    for label in window.findChildren(QLabel):
        swap(label, label.text, label.setText)
    for edit in window.findChildren(QLineEdit):
        swap(edit, edit.text, edit.setText)
    for text in window.findChildren(QPlainTextEdit):
        swap(text, text.toPlainText, text.setPlainText)
    for tree in window.findChildren(QTreeWidget):
        for item in _items(tree):
            for col in range(tree.columnCount()):
                swap(tree, *_item_text(item, col))

    def restore_all() -> None:
        for fn in reversed(undo):
            fn()

    return restore_all


def _items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    out = []
    it = QTreeWidgetItemIterator(tree)
    while it.value() is not None:
        out.append(it.value())
        it += 1
    return out


def _item_text(item: QTreeWidgetItem, col: int
               ) -> tuple[Callable[[], str], Callable[[str], None]]:
    return (lambda: item.text(col)), (lambda t: item.setText(col, t))


def visible_texts(window: QWidget) -> list[str]:
    """The texts a grab of ``window`` can show (labels, fields, text views, tree items)."""
    out = [w.text() for w in window.findChildren(QLabel) if w.isVisibleTo(window)]
    out += [w.text() for w in window.findChildren(QLineEdit) if w.isVisibleTo(window)]
    out += [w.toPlainText() for w in window.findChildren(QPlainTextEdit)
            if w.isVisibleTo(window)]
    for tree in window.findChildren(QTreeWidget):
        if not tree.isVisibleTo(window):
            continue
        for item in _items(tree):
            out += [item.text(c) for c in range(tree.columnCount())]
    return out


Visit = Callable[[str, "SetupWizard"], None]
"""Called with a picture name and the wizard once a page (or a view of it) is ready."""


def demo_state(work: Path) -> WizardState:
    """The walk's inputs: a demo chain, exported as a bundle from a demo device configuration."""
    copy = work / "config.toml"
    copy.write_text(DEMO_DEVICE_CONFIG, encoding="utf-8")
    return WizardState(release_key="1.5", device_id="edge-demo-01",
                       output_dir=str(work / "out"), target_kind="bundle",
                       bundle_dir=str(work / "bundle"), config_copy=str(copy),
                       host="192.0.2.10", user="admin")


def walk(app: QApplication, w: SetupWizard, visit: Visit, problems: list[str]) -> None:
    """Go through every page of ``w`` as a person would, calling ``visit`` on each view."""
    state = w.state

    def page_ready(pid: PageId) -> Callable[[], bool]:
        page = w.page(pid)
        return lambda: page.isComplete() or bool(problems)

    visit("1-version", w)
    w.next()
    _wait(app, page_ready(PageId.CHAIN))
    visit("2-chain", w)
    if not w.page(PageId.CHAIN).isComplete():  # no chain in this build: use quickstart
        state.edge_ca_method = "quickstart"
        problems.clear()
    w.next()
    _wait(app, page_ready(PageId.DEVICE))
    visit("3-device", w)
    w.next()
    target = w.page(PageId.TARGET)
    _wait(app, page_ready(PageId.TARGET))
    visit("4-target-bundle", w)
    target.findChild(QWidget, "target_ssh").click()  # type: ignore[union-attr]
    visit("4-target-ssh", w)
    target.findChild(QWidget, "target_bundle").click()  # type: ignore[union-attr]
    target.load_config_copy()  # type: ignore[attr-defined]
    _wait(app, page_ready(PageId.TARGET))
    w.next()
    preview = w.page(PageId.PREVIEW)
    _wait(app, page_ready(PageId.PREVIEW))
    visit("5-preview-diff", w)
    preview.diff.side_button.setChecked(True)  # type: ignore[attr-defined]
    visit("5-preview-side-by-side", w)
    preview.diff.unified_button.setChecked(True)  # type: ignore[attr-defined]
    preview.tabs.setCurrentIndex(1)  # type: ignore[attr-defined]
    visit("5-preview-plan", w)
    preview.tabs.setCurrentIndex(0)  # type: ignore[attr-defined]
    w.next()
    deploy = w.page(PageId.DEPLOY)
    _wait(app, lambda: deploy.outcome != "")  # type: ignore[attr-defined]
    visit("6-deploy", w)
    w.next()
    _wait(app, page_ready(PageId.SUMMARY))
    visit("7-summary", w)


def quiet_dialogs(problems: list[str]) -> None:
    """Errors go to ``problems`` and stderr instead of modal dialogs (nobody to click them)."""

    def show_error(parent: object, exc: BaseException) -> None:
        problems.append(f"{type(exc).__name__}: {exc}")
        print(f"screenshots: {type(exc).__name__}: {exc}", file=sys.stderr)

    dialogs.show_error = show_error
    dialogs.inform = lambda *a: None


def render_all(out: Path, *, on_shot: Callable[[str, list[str]], None] | None = None
               ) -> list[Path]:
    """Render every page with demo data into ``out``; returns the PNG paths in page order.

    ``on_shot`` is called with each picture's name and the texts it shows (for tests).
    """
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="edgecert-screens-"))
    problems: list[str] = []
    quiet_dialogs(problems)
    w = SetupWizard(demo_state(work), remember=False)
    w.resize(*SIZE)
    w.show()
    written: list[Path] = []

    def shot(name: str, wizard: SetupWizard) -> None:
        for _ in range(5):
            app.processEvents()
        restore = mask_paths(wizard, str(work), DISPLAY_HOME)
        try:
            for _ in range(2):
                app.processEvents()
            path = out / f"{name}.png"
            wizard.grab().save(str(path))
            if on_shot is not None:
                on_shot(name, visible_texts(wizard))
            written.append(path)
        finally:
            restore()

    walk(app, w, shot, problems)
    w.hide()
    w.deleteLater()
    return written
