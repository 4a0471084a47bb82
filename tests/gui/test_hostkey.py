"""First contact and changed host keys against a real OpenSSH sshd on loopback.

The sshd comes from the deploy tests' helper (plain transport, root login by key); the machine
has no IoT Edge, so after the host key the page asks whether to assume the chosen release.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from guitest_support import DialogLog
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from sshd_support import Sshd, running_sshd

from core.errors import HostKeyChangedError
from gui.state import WizardState
from gui.wizard import PageId, SetupWizard


def _core_ssh_defects() -> str:
    """Known defects of the (in-progress) core SSH target that make these tests fail first."""
    import subprocess
    import tempfile

    try:
        from core.targets import hostkeys, ssh
    except ImportError:
        return "core.targets.ssh is not in this build"
    found = []
    name = "[127.0.0.1]:2222"
    names_match = getattr(hostkeys, "_names_match", None)
    if names_match is not None and not names_match(name, name):
        found.append("known_hosts entries for a non-default port never match (fnmatch brackets)")
    with tempfile.TemporaryDirectory() as d:
        key = Path(d) / "k"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True)
        try:
            load = getattr(ssh, "_load_key", None)
            if load is not None:
                load(key, None)
        except TypeError as exc:
            found.append(f"key files cannot be loaded ({exc})")
    return "; ".join(found)


_DEFECTS = _core_ssh_defects()
pytestmark = pytest.mark.xfail(bool(_DEFECTS), reason=f"core SSH target: {_DEFECTS}",
                               strict=True)


@pytest.fixture
def sshd() -> Iterator[Sshd]:
    with running_sshd() as server:
        yield server


@pytest.fixture
def own_known_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home and config folder: no host is known yet."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "edgecert" / "known_hosts"


_KEEP: list[SetupWizard] = []


@pytest.fixture(autouse=True)
def _release_wizards() -> Iterator[None]:
    yield
    _KEEP.clear()


def _target_page(qtbot: QtBot, sshd: Sshd) -> tuple[WizardState, object]:
    state = WizardState(target_kind="ssh", host=sshd.host, port=sshd.port, user=sshd.user,
                        key_file=str(sshd.key))
    w = SetupWizard(state, remember=False)
    qtbot.addWidget(w)
    w.ensure_pages()
    w.setStartId(PageId.TARGET)
    w.show()
    _KEEP.append(w)  # the page lives as long as its wizard
    return state, w.page(PageId.TARGET)


def _host_fingerprint(sshd: Sshd) -> str:
    import base64

    from core.targets import hostkeys
    blob = base64.b64decode(sshd.known_hosts.read_text().split()[2])
    return hostkeys.fingerprint(blob)


def test_first_contact_confirmed(qtbot: QtBot, dialog_log: DialogLog, sshd: Sshd,
                                 own_known_hosts: Path) -> None:
    state, page = _target_page(qtbot, sshd)
    page.test_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.isComplete() or dialog_log.errors != [],  # type: ignore
                    timeout=15000)
    assert dialog_log.errors == []
    [(host, key_type, fingerprint)] = dialog_log.host_keys
    assert host == f"[127.0.0.1]:{sshd.port}" and key_type == "ssh-ed25519"
    assert fingerprint == _host_fingerprint(sshd) and fingerprint.startswith("SHA256:")
    assert state.accepted_host_key == fingerprint
    assert own_known_hosts.exists()  # remembered for next time
    assert len(dialog_log.questions) == 1 and "IoT Edge" in dialog_log.questions[0]
    assert "Connected" in page.status.text()  # type: ignore[attr-defined]

    # Second contact: known now, no question.
    _state2, page2 = _target_page(qtbot, sshd)
    page2.test_connection()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page2.isComplete() or dialog_log.errors != [],  # type: ignore
                    timeout=15000)
    assert len(dialog_log.host_keys) == 1 and dialog_log.errors == []


def test_first_contact_refused(qtbot: QtBot, dialog_log: DialogLog, sshd: Sshd,
                               own_known_hosts: Path) -> None:
    dialog_log.trust_host_key = False
    state, page = _target_page(qtbot, sshd)
    page.test_connection()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dialog_log.host_keys != [] or dialog_log.errors != [],
                    timeout=15000)
    assert dialog_log.errors == []
    qtbot.waitUntil(lambda: not page.busy, timeout=15000)  # type: ignore[attr-defined]
    assert "refused" in page.status.text()  # type: ignore[attr-defined]
    assert not page.isComplete()  # type: ignore[attr-defined]
    assert state.accepted_host_key == "" and state.device_state is None
    assert not own_known_hosts.exists()
    assert dialog_log.errors == []


def test_changed_host_key_is_a_hard_stop(qtbot: QtBot, dialog_log: DialogLog, sshd: Sshd,
                                         own_known_hosts: Path) -> None:
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIBx1pZ4G0bIq2o3Cw2sTjtbUo9Hbyw7p1jVb4B3l9wJc"
    own_known_hosts.parent.mkdir(parents=True)
    own_known_hosts.write_text(f"[127.0.0.1]:{sshd.port} ssh-ed25519 {other}\n")
    _state, page = _target_page(qtbot, sshd)
    page.test_connection()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dialog_log.errors != [], timeout=15000)
    assert isinstance(dialog_log.errors[0], HostKeyChangedError)
    assert dialog_log.host_keys == []  # never offered to accept
    assert "STOPPED" in page.status.text()  # type: ignore[attr-defined]
    assert not page.isComplete()  # type: ignore[attr-defined]
    assert other in own_known_hosts.read_text()  # the record is not replaced
