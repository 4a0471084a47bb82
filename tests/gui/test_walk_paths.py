"""The other chain paths and targets walked by keyboard to a saved report: own CA, imported
files, a CSR signed by an external CA (openssl), all exported as a bundle; and the EFLOW VM
(reached over SSH as iotedge-user, its stand-in being the loopback device)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from device.fixtures import Device
from guitest_support import sign_csr_with_openssl
from pytestqt.qtbot import QtBot
from walk_support import Keyboard, Modals, focused, show, wait_enabled, wait_page

from core.chain import generate_demo_chain
from core.versions import release
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"


# no known hosts and no remembered inputs: every device is met for the first time
pytestmark = pytest.mark.usefixtures("isolated_home")


def _launch(qtbot: QtBot, state: WizardState) -> SetupWizard:
    return show(qtbot, SetupWizard(state, remember=False))


def _finish_with_report(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals,
                        commit_key: str) -> str:
    """Preview → commit → deploy page → Summary → saved report → Finish; the report text."""
    nxt = w.button(w.WizardButton.NextButton)
    kb.alt("n")
    wait_page(qtbot, w, PageId.PREVIEW, modals)
    wait_enabled(qtbot, w.button(w.WizardButton.CommitButton), modals)
    kb.alt(commit_key)
    wait_page(qtbot, w, PageId.DEPLOY, modals)
    wait_enabled(qtbot, nxt, modals, timeout=120000)
    kb.alt("n")
    wait_page(qtbot, w, PageId.SUMMARY, modals)
    qtbot.waitUntil(w.page(PageId.SUMMARY).isComplete, timeout=30000)
    modals.expect_keys("Save report", "Enter")
    modals.expect_keys("Report written to", "Enter")
    kb.alt("s")
    qtbot.waitUntil(lambda: modals.pending == [] or modals.unexpected != [], timeout=30000)
    assert modals.unexpected == []
    report = w.state.resolved_output_dir() / f"edgecert-report-{w.state.device_id}.html"
    html = report.read_text()
    kb.alt("f")
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    return html


def _bundle_target(qtbot: QtBot, w: SetupWizard, kb: Keyboard, modals: Modals) -> None:
    nxt = w.button(w.WizardButton.NextButton)
    kb.alt("n")
    wait_page(qtbot, w, PageId.DEVICE, modals)
    wait_enabled(qtbot, nxt, modals)
    kb.alt("n")
    wait_page(qtbot, w, PageId.TARGET, modals)
    kb.alt("x")
    qtbot.waitUntil(lambda: w.state.target_kind == "bundle", timeout=2000)
    kb.alt("i")
    kb.type(str(FIXTURES / "dps-x509.toml"))
    kb.tab()
    wait_enabled(qtbot, nxt, modals)


def _own_ca(tmp_path: Path) -> tuple[Path, Path, Path]:
    files = generate_demo_chain(tmp_path / "pki", "ownca", release=release("1.5"))
    return files.intermediate_cert, files.intermediate_key, files.root_cert


def _chain_own_ca(qtbot: QtBot, w: SetupWizard, kb: Keyboard, tmp_path: Path) -> None:
    cert, key, root = _own_ca(tmp_path)
    kb.alt("i")  # Issue from my own CA
    qtbot.waitUntil(lambda: w.state.chain_mode == "issue", timeout=2000)
    kb.alt("t")
    kb.type(str(cert))
    kb.alt("k")
    kb.type(str(key))
    kb.alt("h")
    kb.type(str(root))
    kb.alt("x")
    assert focused().objectName() == "issueDays"  # type: ignore[union-attr]
    kb.select_all_and_type("30")
    kb.alt("e")  # Issue edge CA


def _given_files(tmp_path: Path) -> list[str]:
    files = generate_demo_chain(tmp_path / "given", "edge-device-1", release=release("1.5"))
    return [str(files.edge_ca_full_chain), str(files.edge_ca_key), str(files.root_cert)]


def _chain_import(qtbot: QtBot, w: SetupWizard, kb: Keyboard, tmp_path: Path) -> None:
    assert w.page(PageId.CHAIN).import_list.count() == 3  # type: ignore[attr-defined]
    kb.alt("p")  # Import existing files
    qtbot.waitUntil(lambda: w.state.chain_mode == "import", timeout=2000)
    kb.alt("l")  # Load


def _chain_csr(qtbot: QtBot, w: SetupWizard, kb: Keyboard, tmp_path: Path) -> None:
    kb.alt("r")  # Certificate request for an external CA
    qtbot.waitUntil(lambda: w.state.chain_mode == "csr", timeout=2000)
    kb.alt("q")  # Create request (CSR)
    page = w.page(PageId.CHAIN)
    qtbot.waitUntil(lambda: w.state.csr_pem != b"", timeout=60000)
    csr = Path(page.csr_path.text())  # type: ignore[attr-defined]
    signed = sign_csr_with_openssl(csr, tmp_path)
    kb.alt("s")
    kb.type(str(signed))
    kb.alt("g")  # Import signed certificate


PATHS: dict[str, Callable[[QtBot, SetupWizard, Keyboard, Path], None]] = {
    "own-ca": _chain_own_ca, "import": _chain_import, "csr": _chain_csr}


@pytest.mark.parametrize("path", list(PATHS))
def test_chain_path_by_keyboard_to_a_saved_report(path: str, qtbot: QtBot, kb: Keyboard,
                                                  modals: Modals, tmp_path: Path) -> None:
    state = WizardState(output_dir=str(tmp_path / "out"), chain_mode="demo")
    if path == "import":  # the files given last time (remembered), loaded by keyboard
        state.import_files = _given_files(tmp_path)
    w = _launch(qtbot, state)
    kb.alt("n")
    wait_page(qtbot, w, PageId.CHAIN, modals)
    qtbot.waitUntil(lambda: state.chain is not None, timeout=60000)  # the demo, first
    demo = state.chain
    PATHS[path](qtbot, w, kb, tmp_path)
    qtbot.waitUntil(lambda: (state.chain is not None and state.chain is not demo
                             and not w.page(PageId.CHAIN).busy) or modals.unexpected != [],
                    timeout=60000)
    assert modals.unexpected == []
    assert state.chain_ready(), state.findings
    if path == "own-ca":
        edge = state.chain.edge_ca
        assert 29 <= (edge.not_after - edge.not_before).days <= 31  # the lifetime typed
    _bundle_target(qtbot, w, kb, modals)
    html = _finish_with_report(qtbot, w, kb, modals, "e")
    assert state.chain.edge_ca.sha256 in html and "install.sh" in html


def test_eflow_vm_by_keyboard_to_a_saved_report(qtbot: QtBot, kb: Keyboard, modals: Modals,
                                               device15: Device, tmp_path: Path) -> None:
    account = device15.accounts["iotedge-user"]
    state = WizardState(output_dir=str(tmp_path / "out"), device_id="edge-device-01-id")
    w = _launch(qtbot, state)
    kb.alt("e")  # EFLOW on the version page
    qtbot.waitUntil(lambda: state.platform == "eflow", timeout=2000)
    nxt = w.button(w.WizardButton.NextButton)
    for pid in (PageId.CHAIN, PageId.DEVICE, PageId.TARGET):
        wait_enabled(qtbot, nxt, modals)
        kb.alt("n")
        wait_page(qtbot, w, pid, modals)
    assert state.target_kind == "eflow"
    target = w.page(PageId.TARGET)
    assert target.detect_button.isVisible()  # type: ignore[attr-defined]
    kb.alt("h")
    kb.type(f"{device15.host}:{device15.port}")
    assert target.user.text() == "iotedge-user"  # type: ignore[attr-defined]
    kb.alt("k")
    kb.type(str(account.key))
    modals.expect_keys("First connection to", "t")
    kb.alt("t")
    wait_enabled(qtbot, nxt, modals)
    assert "EFLOW VM" in target.status.text()  # type: ignore[attr-defined]
    html = _finish_with_report(qtbot, w, kb, modals, "d")
    assert "certs-preloaded" in html
    assert device15.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")
