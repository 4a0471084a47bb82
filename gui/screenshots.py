"""``edgecert-gui --screenshots DIR``: walk the wizard with demo data and save each page as PNG.

Everything shown is computed by core as in a real run: the demo chain, the validation, the
plan and its redacted diff, the export bundle and the summary. The one thing that cannot
exist on a documentation machine is the device, so the walk exports a bundle built from a
demo copy of a device configuration (below) instead of deploying over SSH.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

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

SIZE = (1100, 720)


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


def _shot(app: QApplication, widget: QWidget, path: Path) -> Path:
    for _ in range(5):
        app.processEvents()
    widget.grab().save(str(path))
    return path


def render_all(out: Path) -> list[Path]:
    """Render every page with demo data into ``out``; returns the PNG paths in page order."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="edgecert-screens-"))
    copy = work / "config.toml"
    copy.write_text(DEMO_DEVICE_CONFIG, encoding="utf-8")
    problems: list[str] = []

    def show_error(parent: object, exc: BaseException) -> None:  # no modal dialogs here
        problems.append(f"{type(exc).__name__}: {exc}")
        print(f"screenshots: {type(exc).__name__}: {exc}", file=sys.stderr)

    dialogs.show_error = show_error
    dialogs.inform = lambda *a: None

    state = WizardState(release_key="1.5", device_id="edge-demo-01", output_dir=str(work / "out"),
                        target_kind="bundle", bundle_dir=str(work / "bundle"),
                        config_copy=str(copy), host="192.0.2.10", user="admin")
    w = SetupWizard(state, remember=False)
    w.resize(*SIZE)
    w.show()
    written: list[Path] = []

    def page_ready(pid: PageId) -> Callable[[], bool]:
        page = w.page(pid)
        return lambda: page.isComplete() or bool(problems)

    written.append(_shot(app, w, out / "1-version.png"))
    w.next()
    _wait(app, page_ready(PageId.CHAIN))
    written.append(_shot(app, w, out / "2-chain.png"))
    if not w.page(PageId.CHAIN).isComplete():  # no chain in this build: use quickstart
        state.edge_ca_method = "quickstart"
        problems.clear()
    w.next()
    _wait(app, page_ready(PageId.DEVICE))
    written.append(_shot(app, w, out / "3-device.png"))
    w.next()
    target = w.page(PageId.TARGET)
    _wait(app, page_ready(PageId.TARGET))
    written.append(_shot(app, w, out / "4-target-bundle.png"))
    target.findChild(QWidget, "target_ssh").click()  # type: ignore[union-attr]
    written.append(_shot(app, w, out / "4-target-ssh.png"))
    target.findChild(QWidget, "target_bundle").click()  # type: ignore[union-attr]
    target.load_config_copy()  # type: ignore[attr-defined]
    _wait(app, page_ready(PageId.TARGET))
    w.next()
    preview = w.page(PageId.PREVIEW)
    _wait(app, page_ready(PageId.PREVIEW))
    written.append(_shot(app, w, out / "5-preview-diff.png"))
    preview.diff.side_button.setChecked(True)  # type: ignore[attr-defined]
    written.append(_shot(app, w, out / "5-preview-side-by-side.png"))
    preview.diff.unified_button.setChecked(True)  # type: ignore[attr-defined]
    preview.tabs.setCurrentIndex(1)  # type: ignore[attr-defined]
    written.append(_shot(app, w, out / "5-preview-plan.png"))
    preview.tabs.setCurrentIndex(0)  # type: ignore[attr-defined]
    w.next()
    deploy = w.page(PageId.DEPLOY)
    _wait(app, lambda: deploy.outcome != "")  # type: ignore[attr-defined]
    written.append(_shot(app, w, out / "6-deploy.png"))
    w.next()
    _wait(app, page_ready(PageId.SUMMARY))
    written.append(_shot(app, w, out / "7-summary.png"))
    w.hide()
    w.deleteLater()
    return written
