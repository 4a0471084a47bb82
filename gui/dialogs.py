"""Modal dialogs: errors with their hint, host key confirmation, password and yes/no prompts.

Pages call these through the module (``dialogs.show_error(...)``), never by importing the
function, so tests can replace them with ``monkeypatch.setattr(dialogs, "show_error", ...)``.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from core.errors import EdgecertError, HostKeyChangedError

log = logging.getLogger(__name__)


def error_texts(exc: BaseException) -> tuple[str, str, str]:
    """Title, main text and hint for an exception (what the error dialog shows)."""
    if isinstance(exc, HostKeyChangedError):
        return ("Host key changed: connection refused", str(exc), exc.hint)
    if isinstance(exc, EdgecertError):
        title = exc.__class__.__name__.removesuffix("Error") or "Error"
        words = "".join(" " + c.lower() if c.isupper() else c for c in title).strip()
        return (words[:1].upper() + words[1:], str(exc), exc.hint)
    return (
        "Unexpected error",
        f"{exc.__class__.__name__}: {exc}",
        "This is a defect in edgecert. Save the log and report it; nothing was deployed by "
        "this step.",
    )


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """Show an error with the hint from core (and where it happened)."""
    title, text, hint = error_texts(exc)
    if not isinstance(exc, EdgecertError):
        log.error("unexpected error", exc_info=exc)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(f"edgecert: {title}")
    box.setText(text)
    if hint:
        box.setInformativeText(f"What to do: {hint}")
    box.setObjectName("errorDialog")
    box.exec()


def confirm_host_key(parent: QWidget | None, host: str, key_type: str, fingerprint: str) -> bool:
    """First contact with a device: ask the technician to compare the host key fingerprint."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("edgecert: new device")
    box.setText(f"First connection to {host}.\n\n{key_type} host key fingerprint:\n{fingerprint}")
    box.setInformativeText(
        "Compare it with the device's own console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). "
        "Trust this device only if the fingerprints are identical."
    )
    trust = box.addButton("&Trust this device", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("&Refuse", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is trust


def ask_password(parent: QWidget | None, title: str, prompt: str) -> str | None:
    """A masked password prompt; ``None`` when cancelled. The answer is never stored."""
    text, ok = QInputDialog.getText(
        parent, f"edgecert: {title}", prompt, QLineEdit.EchoMode.Password
    )
    return text if ok else None


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    """A yes/no question whose default answer is No."""
    answer = QMessageBox.question(
        parent,
        f"edgecert: {title}",
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def inform(parent: QWidget | None, title: str, text: str) -> None:
    """A plain information box."""
    QMessageBox.information(parent, f"edgecert: {title}", text)
