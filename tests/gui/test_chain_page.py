"""The chain page with real chains from core: demo generation, imports good and bad, passwords,
drag and drop; errors block Next, warnings do not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from certs import key_pem, make_cert, pem
from cryptography.hazmat.primitives import serialization
from guitest_support import DialogLog, sign_csr_with_openssl
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.chain import KeyType, generate_demo_chain
from core.errors import EdgecertError
from core.versions import release
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard

_KEEP: list[SetupWizard] = []


@pytest.fixture(autouse=True)
def _release_wizards() -> object:
    yield
    _KEEP.clear()


def _chain_page(qtbot: QtBot, state: WizardState) -> object:
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    _KEEP.append(w)
    w.ensure_pages()
    w.setStartId(PageId.CHAIN)
    w.show()
    return w.page(PageId.CHAIN)


@pytest.fixture
def demo_files(tmp_path: Path) -> dict[str, Path]:
    files = generate_demo_chain(tmp_path / "given", "edge-7", release=release("1.5"),
                                key_type=KeyType.EC_P256)
    return {"chain": files.edge_ca_full_chain, "key": files.edge_ca_key,
            "root": files.trust_bundle}


def _settle(qtbot: QtBot, page: object, dialog_log: DialogLog) -> None:
    qtbot.waitUntil(lambda: not page.busy, timeout=60000)  # type: ignore[attr-defined]


def test_demo_chain_starts_at_once_and_unblocks_next(qtbot: QtBot, dialog_log: DialogLog,
                                                     tmp_path: Path) -> None:
    state = WizardState(device_id="edge-9", output_dir=str(tmp_path / "out"))
    page = _chain_page(qtbot, state)
    assert page.busy and not page.isComplete()  # type: ignore[attr-defined]
    _settle(qtbot, page, dialog_log)
    assert dialog_log.errors == []
    assert page.isComplete()  # type: ignore[attr-defined]
    roles = [c.row.role for c in page.chain_view.cards]  # type: ignore[attr-defined]
    assert roles == ["Root CA", "Intermediate CA", "Edge CA"]
    edge = page.chain_view.cards[-1].row  # type: ignore[attr-defined]
    assert edge.subject.endswith("edge-9.ca") and edge.pathlen == 0
    assert state.chain.edge_ca_cn == "edge-9.ca"
    keys = [p for p in state.chain.files if p.name.endswith(".key.pem")]
    assert keys and all(stat.S_IMODE(os.stat(k).st_mode) == 0o600 for k in keys)
    assert b"PRIVATE KEY" in state.chain.edge_ca_key_pem
    assert "PRIVATE" not in repr(state.chain)


def test_release_change_remakes_the_demo_chain(qtbot: QtBot, dialog_log: DialogLog,
                                               tmp_path: Path) -> None:
    state = WizardState(output_dir=str(tmp_path / "out"))
    page = _chain_page(qtbot, state)
    _settle(qtbot, page, dialog_log)
    state.release_key = "1.1"
    page.revalidate()  # type: ignore[attr-defined]
    _settle(qtbot, page, dialog_log)
    qtbot.waitUntil(lambda: state.chain is not None, timeout=60000)
    assert page.chain_view.cards[-1].row.role == "Device CA"  # type: ignore[attr-defined]
    assert page.chain_view.cards[-1].row.pathlen is None  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_import_good_files_by_drag_and_drop(qtbot: QtBot, dialog_log: DialogLog,
                                           demo_files: dict[str, Path]) -> None:
    state = WizardState(chain_mode="import")
    page = _chain_page(qtbot, state)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in demo_files.values()])
    target = page.import_list  # type: ignore[attr-defined]
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    # What a file manager drag delivers to the list: enter, move, drop.
    enter = QDragEnterEvent(QPoint(5, 5), *args)
    QApplication.sendEvent(target.viewport(), enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target.viewport(), QDragMoveEvent(QPoint(5, 5), *args))
    QApplication.sendEvent(target.viewport(), QDropEvent(QPointF(5, 5), *args))
    assert target.count() == 3
    _settle(qtbot, page, dialog_log)
    assert dialog_log.errors == []
    assert page.isComplete()  # type: ignore[attr-defined]
    assert state.chain.edge_ca_cn == "edge-7.ca"


def test_unreadable_file_shows_error_and_blocks_next(qtbot: QtBot, dialog_log: DialogLog,
                                                     tmp_path: Path) -> None:
    junk = tmp_path / "edge-ca.pem"
    junk.write_bytes(b"this is not a certificate\n")
    page = _chain_page(qtbot, WizardState(chain_mode="import"))
    page.add_import_files([str(junk)])  # type: ignore[attr-defined]
    _settle(qtbot, page, dialog_log)
    [err] = dialog_log.errors
    assert isinstance(err, EdgecertError) and err.hint and str(junk) in str(err)
    assert not page.isComplete()  # type: ignore[attr-defined]


def test_wrong_key_is_an_error_finding(qtbot: QtBot, dialog_log: DialogLog,
                                       demo_files: dict[str, Path], tmp_path: Path) -> None:
    other = generate_demo_chain(tmp_path / "other", "edge-8", release=release("1.5"),
                                key_type=KeyType.EC_P256)
    state = WizardState(chain_mode="import")
    page = _chain_page(qtbot, state)
    page.add_import_files([str(demo_files["chain"]), str(other.edge_ca_key),  # type: ignore
                           str(demo_files["root"])])
    _settle(qtbot, page, dialog_log)
    codes = {f.code for f in state.findings if f.severity == "error"}
    assert "key-mismatch" in codes and "no-key" not in codes
    assert not page.isComplete()  # type: ignore[attr-defined]
    assert "must be fixed" in page.status.text()  # type: ignore[attr-defined]


def test_leaf_that_is_no_ca_is_an_error(qtbot: QtBot, dialog_log: DialogLog,
                                        tmp_path: Path) -> None:
    ca = make_cert("Test Root")
    leaf = make_cert("edge-1.example", issuer=ca, ca=False, san="edge-1.example")
    (tmp_path / "leaf.pem").write_bytes(pem(leaf.cert))
    (tmp_path / "leaf.key").write_bytes(key_pem(leaf.key))
    (tmp_path / "root.pem").write_bytes(pem(ca.cert))
    state = WizardState(chain_mode="import")
    page = _chain_page(qtbot, state)
    page.add_import_files([str(tmp_path / n) for n in ("leaf.pem", "leaf.key", "root.pem")])  # type: ignore[attr-defined]
    _settle(qtbot, page, dialog_log)
    assert "not-ca" in {f.code for f in state.findings if f.severity == "error"}
    assert not page.isComplete()  # type: ignore[attr-defined]
    first = page.findings.entries[0]  # type: ignore[attr-defined]
    assert first.severity == "error"
    assert first.hint_label.text().startswith("What to do:")


def test_encrypted_key_asks_for_the_password(qtbot: QtBot, dialog_log: DialogLog,
                                             demo_files: dict[str, Path], tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(demo_files["key"].read_bytes(), None)
    locked = tmp_path / "locked.key.pem"
    locked.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right horse")))
    dialog_log.password_answers = ["wrong", "right horse"]
    state = WizardState(chain_mode="import")
    page = _chain_page(qtbot, state)
    page.add_import_files([str(demo_files["chain"]), str(locked),  # type: ignore[attr-defined]
                           str(demo_files["root"])])
    qtbot.waitUntil(lambda: state.chain is not None or len(dialog_log.passwords) > 2,
                    timeout=60000)
    _settle(qtbot, page, dialog_log)
    assert len(dialog_log.passwords) == 2 and str(locked) in dialog_log.passwords[0]
    assert [type(e).__name__ for e in dialog_log.errors] == ["WrongPasswordError"]
    assert page.isComplete()  # type: ignore[attr-defined]
    assert "right horse" not in repr(state)


def test_issue_from_own_ca_with_encrypted_key(qtbot: QtBot, dialog_log: DialogLog,
                                              tmp_path: Path) -> None:
    pki = generate_demo_chain(tmp_path / "pki", "pki", release=release("1.5"),
                              key_type=KeyType.EC_P256, password="ca secret")
    assert pki.intermediate_full_chain is not None and pki.intermediate_key is not None
    dialog_log.password_answers = ["ca secret"]
    state = WizardState(chain_mode="issue", device_id="edge-5", output_dir=str(tmp_path / "o"),
                        ca_cert_file=str(pki.intermediate_full_chain),
                        ca_key_file=str(pki.intermediate_key))
    page = _chain_page(qtbot, state)
    page.issue_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: state.chain is not None or dialog_log.errors != [], timeout=60000)
    _settle(qtbot, page, dialog_log)
    assert dialog_log.errors == [] and len(dialog_log.passwords) == 1
    assert page.isComplete()  # type: ignore[attr-defined]
    roles = [r.role for r in state.chain.rows]
    assert roles == ["Root CA", "Intermediate CA", "Edge CA"]
    assert state.chain.rows[1].subject.endswith("Intermediate_Cert_Test_Only")
    assert state.chain.edge_ca_cn == "edge-5.ca"


def test_csr_signed_by_an_external_ca_with_openssl(qtbot: QtBot, dialog_log: DialogLog,
                                                   tmp_path: Path) -> None:

    state = WizardState(chain_mode="csr", device_id="edge-6", output_dir=str(tmp_path / "o"))
    page = _chain_page(qtbot, state)
    page.csr_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: state.csr_pem != b"" or dialog_log.errors != [], timeout=60000)
    assert dialog_log.errors == []
    csr = Path(page.csr_path.text())  # type: ignore[attr-defined]
    assert csr.is_file() and b"CERTIFICATE REQUEST" in csr.read_bytes()
    assert not page.isComplete()  # type: ignore[attr-defined]  # nothing signed yet

    # The external CA: a root made with the openssl CLI signs the request as a sub-CA.
    signed = sign_csr_with_openssl(csr, tmp_path)

    page.signed_cert.setText(str(signed))  # type: ignore[attr-defined]
    page.signed_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: state.chain is not None or dialog_log.errors != [], timeout=60000)
    _settle(qtbot, page, dialog_log)
    assert dialog_log.errors == []
    assert [r.role for r in state.chain.rows] == ["Root CA", "Edge CA"]
    assert state.chain.rows[0].subject.endswith("External Root")
    assert page.isComplete()  # type: ignore[attr-defined]
