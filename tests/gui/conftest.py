"""GUI test fixtures: isolated QSettings, recorded dialogs, a wizard that remembers nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import walk_support
from guitest_support import DialogLog
from PySide6.QtCore import QSettings
from walk_support import Keyboard, Modals

from gui import dialogs, workers


@pytest.fixture(autouse=True, scope="session")
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))


@pytest.fixture
def dialog_log(monkeypatch: pytest.MonkeyPatch) -> DialogLog:
    log = DialogLog()

    def show_error(parent: Any, exc: BaseException) -> None:
        log.errors.append(exc)

    def confirm_host_key(parent: Any, host: str, key_type: str, fingerprint: str) -> bool:
        log.host_keys.append((host, key_type, fingerprint))
        return log.trust_host_key

    def ask_yes_no(parent: Any, title: str, text: str, **_kw: Any) -> bool:
        log.questions.append(text)
        return log.answer_yes

    def ask_password(parent: Any, title: str, prompt: str) -> str | None:
        log.passwords.append(prompt)
        return log.password_answers.pop(0) if log.password_answers else None

    def inform(parent: Any, title: str, text: str) -> None:
        log.infos.append(text)

    monkeypatch.setattr(dialogs, "show_error", show_error)
    monkeypatch.setattr(dialogs, "confirm_host_key", confirm_host_key)
    monkeypatch.setattr(dialogs, "ask_yes_no", ask_yes_no)
    monkeypatch.setattr(dialogs, "ask_password", ask_password)
    monkeypatch.setattr(dialogs, "inform", inform)
    return log


@pytest.fixture(autouse=True)
def _gui_thread_garbage_and_no_leftover_jobs(qapp: object) -> Iterator[None]:
    """As in the app, widgets in reference cycles are freed on the GUI thread only; after the
    test no job may still run, and the other test folders get automatic collection back."""
    workers.collect_garbage_on_gui_thread()
    yield
    workers.cancel_all()
    assert workers.wait_all(30000), "a background job did not finish"
    workers.restore_automatic_garbage_collection()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _kept_windows(_gui_thread_garbage_and_no_leftover_jobs: None) -> Iterator[None]:
    """Release the windows ``walk_support.show`` kept, before the leftover-jobs check."""
    yield
    walk_support.KEPT.clear()


@pytest.fixture
def kb() -> Keyboard:
    """Key presses to the active window, counted (``walk_support.Keyboard``)."""
    return Keyboard()


@pytest.fixture
def modals(kb: Keyboard) -> Iterator[Modals]:
    """Answers to the modal dialogs a walk meets (``walk_support.Modals``)."""
    m = Modals(kb)
    yield m
    m.stop()


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME and XDG_CONFIG_HOME (no known_hosts, no remembered inputs); the home."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"
