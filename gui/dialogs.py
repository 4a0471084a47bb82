"""Modal dialogs: errors with their hint, host key confirmation, password and yes/no prompts.

Pages call these through the module (``dialogs.show_error(...)``), never by importing the
function, so tests can replace them with ``monkeypatch.setattr(dialogs, "show_error", ...)``.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from core import errors
from core.errors import EdgecertError

log = logging.getLogger(__name__)


TITLES: tuple[tuple[type[EdgecertError], str], ...] = (
    (errors.HostKeyChangedError, "Host key changed: connection refused"),
    (errors.HostKeyUnknownError, "Unknown device"),
    (errors.AuthError, "Login refused"),
    (errors.ConnectError, "Cannot connect"),
    (errors.RemoteCommandError, "A command failed on the device"),
    (errors.TargetError, "Device problem"),
    (errors.PasswordRequiredError, "Password needed"),
    (errors.WrongPasswordError, "Wrong password"),
    (errors.CorruptFileError, "Damaged file"),
    (errors.UnreadableFileError, "Cannot read the file"),
    (errors.UsageError, "Check the input"),
    (errors.InputError, "Check the input"),
    (errors.ChainError, "Certificate chain problem"),
    (errors.ConfigParseError, "Configuration does not parse"),
    (errors.ConfigError, "Configuration problem"),
    (errors.RollbackError, "Deploy failed, rollback incomplete"),
    (errors.DriftError, "The device changed since the preview"),
    (errors.DeployError, "Deploy failed"),
    (errors.CancelledError, "Stopped"),
)
"""Dialog titles by error class (most specific first); words, not class names."""


def error_title(exc: EdgecertError) -> str:
    for cls, title in TITLES:
        if isinstance(exc, cls):
            return title
    return "Error"


def error_texts(exc: BaseException) -> tuple[str, str, str]:
    """Title, main text and hint for an exception (what the error dialog shows)."""
    if isinstance(exc, EdgecertError):
        # The place once: "h:22: cannot reach h:22: …" reads as "cannot reach h:22: …".
        text = exc.message if exc.where and exc.where in exc.message else str(exc)
        return (error_title(exc), text, exc.hint)
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
    refuse = box.addButton("&Refuse", QMessageBox.ButtonRole.RejectRole)
    # As in OpenSSH, the safe answer is the default: Enter and Esc refuse.
    box.setDefaultButton(refuse)
    box.setEscapeButton(refuse)
    box.setObjectName("hostKeyDialog")
    box.exec()
    return box.clickedButton() is trust


def ask_password(parent: QWidget | None, title: str, prompt: str) -> str | None:
    """A masked password prompt; ``None`` when cancelled. The answer is never stored."""
    dialog = QInputDialog(parent)
    dialog.setObjectName("passwordDialog")
    dialog.setWindowTitle(f"edgecert: {title}")
    dialog.setLabelText(prompt)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
    ok = dialog.exec()
    return dialog.textValue() if ok else None


def ask_yes_no(parent: QWidget | None, title: str, text: str, *,
               moot: SignalInstance | None = None) -> bool:
    """A yes/no question whose default answer is No.

    Args:
        moot: when this signal fires while the question is open (the work it is about ended
            meanwhile), the question closes itself as answered No.
    """
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    box = QMessageBox(QMessageBox.Icon.Question, f"edgecert: {title}", text, yes | no, parent)
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    box.setObjectName("questionDialog")

    def close_as_no() -> None:
        box.done(int(no.value))

    if moot is not None:
        moot.connect(close_as_no)
    try:
        box.exec()
    finally:
        if moot is not None:
            moot.disconnect(close_as_no)
    return box.clickedButton() is box.button(yes)


def inform(parent: QWidget | None, title: str, text: str) -> None:
    """A plain information box."""
    QMessageBox.information(parent, f"edgecert: {title}", text)
