"""Page 4: where to deploy (SSH device, EFLOW VM, this computer, export bundle); read its state."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import (
    CancelledError,
    HostKeyChangedError,
    HostKeyUnknownError,
    PasswordRequiredError,
    WrongPasswordError,
)
from gui import backend, dialogs
from gui.pages.base import Page, buddy_label, line_edit, note, radio_group
from gui.shared import Shared
from gui.state import TARGET_KINDS, TargetKind
from gui.widgets.file_inputs import PathEdit

_HOST_PORT = re.compile(r"^([^:\[\]\s]+):(\d{1,5})$")
"""``host:port`` as ssh users write it (one colon: not an IPv6 address)."""


def split_host_port(text: str) -> tuple[str, int | None]:
    """``"10.0.0.5:2222"`` → ``("10.0.0.5", 2222)``; anything else → ``(text, None)``."""
    m = _HOST_PORT.match(text.strip())
    if m and 0 < int(m.group(2)) < 65536:
        return m.group(1), int(m.group(2))
    return text.strip(), None


TEST_TEXT: dict[TargetKind, str] = {
    "ssh": "&Test connection and read the device",
    "eflow": "&Test connection and read the VM",
    "local": "&Test: read this computer's IoT Edge",
    "bundle": "",
}
READ_TEXT: dict[TargetKind, str] = {
    "ssh": "Connected; device state read.",
    "eflow": "Connected to the EFLOW VM; its state read.",
    "local": "This computer's IoT Edge state read.",
    "bundle": "Configuration copy read; no device is contacted for a bundle.",
}

KIND_TEXT: dict[TargetKind, tuple[str, str]] = {
    "ssh": ("&SSH device", "A Linux device reachable over SSH; sudo is needed on it."),
    "eflow": ("&EFLOW virtual machine", "The IoT Edge VM on this Windows computer."),
    "local": ("This co&mputer", "IoT Edge runs here; edgecert uses sudo."),
    "bundle": ("E&xport a bundle", "Write the files, configuration and an install script to a "
               "folder for another way to reach the device."),
}


class TargetPage(Page):
    def __init__(self, shared: Shared) -> None:
        super().__init__(shared, "Target",
                         "Where the chain goes. Nothing is changed on the device before Deploy; "
                         "this page only reads its current state.")
        self.setObjectName("targetPage")
        self.kinds, kind_box = radio_group(
            self, "Deploy to", [(f"target_{kind}", *KIND_TEXT[kind]) for kind in TARGET_KINDS])

        # -- SSH / EFLOW connection
        self.host = line_edit("host", placeholder="device.example.org, 192.0.2.10 or host:port")
        self.port = QSpinBox()
        self.port.setObjectName("port")
        self.port.setRange(1, 65535)
        self.user = line_edit("user")
        self.key_file = line_edit("keyFile",
                                  placeholder="~/.ssh/id_ed25519 (empty: use the SSH agent)")
        key_browse = QPushButton("Browse…")
        key_browse.clicked.connect(self._pick_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(key_browse)
        self.use_password = QCheckBox("Log in with a pass&word instead of a key")
        self.use_password.setObjectName("usePassword")
        self.ssh_password = line_edit("sshPassword", secret=True,
                                      tip="Used for this session only; never stored")
        self.detect_button = QPushButton("Detect EFLOW &address")
        self.detect_button.setObjectName("detectButton")
        conn = QWidget()
        form = QFormLayout(conn)
        form.setContentsMargins(0, 0, 0, 0)
        host_row = QHBoxLayout()
        host_row.addWidget(self.host, 1)
        host_row.addWidget(self.detect_button)  # it fills this field
        form.addRow(buddy_label("&Host:", self.host), host_row)
        form.addRow("P&ort:", self.port)
        form.addRow("&User:", self.user)
        form.addRow(buddy_label("&Key file:", self.key_file), key_row)
        form.addRow(self.use_password)
        form.addRow("SSH passwo&rd:", self.ssh_password)
        self.conn = conn

        self.sudo_password = line_edit("sudoPassword", secret=True,
                                       tip="Only if sudo asks for one; never stored")
        sudo_row = QFormLayout()
        sudo_row.setContentsMargins(0, 0, 0, 0)
        sudo_row.addRow("Sudo &password:", self.sudo_password)
        self.sudo_widget = QWidget()
        self.sudo_widget.setLayout(sudo_row)

        bundle = QWidget()
        bundle_form = QFormLayout(bundle)
        self.bundle_dir = PathEdit()  # a long folder shows start and end, not its tail
        self.bundle_dir.setObjectName("bundleDir")
        bundle_browse = QPushButton("Browse…")
        bundle_browse.clicked.connect(self._pick_bundle)
        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.bundle_dir, 1)
        bundle_row.addWidget(bundle_browse)
        bundle_form.addRow(buddy_label("Bundle fo&lder:", self.bundle_dir), bundle_row)
        self.config_copy = PathEdit()
        self.config_copy.setObjectName("configCopy")
        self.config_copy.setToolTip("A copy of the device's config.toml (or config.yaml on 1.1), "
                                    "so the new configuration keeps its provisioning and the "
                                    "rest. Bring it on the same USB stick.")
        copy_browse = QPushButton("Browse…")
        copy_browse.clicked.connect(self._pick_config_copy)
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.config_copy, 1)
        copy_row.addWidget(copy_browse)
        bundle_form.addRow(buddy_label("Device's current conf&ig:", self.config_copy), copy_row)
        bundle_form.addRow(note("The bundle holds the certificates, the key (0600), the new "
                                "configuration and a script that installs them with the right "
                                "owners and modes and keeps a backup."))

        self.stack = QStackedWidget()
        connect_page = QWidget()
        connect_layout = QVBoxLayout(connect_page)
        connect_layout.setContentsMargins(0, 0, 0, 0)
        connect_layout.addWidget(conn)
        connect_layout.addWidget(self.sudo_widget)
        connect_layout.addStretch(1)
        self.stack.addWidget(connect_page)
        self.stack.addWidget(bundle)

        self.test_button = QPushButton(TEST_TEXT["ssh"])
        self.test_button.setObjectName("testButton")
        self.stop_button = QPushButton("Stop waitin&g")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop waiting for the device (nothing on it is changed)")
        self.stop_button.hide()
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName("connectBusy")
        self.busy_bar.setRange(0, 0)  # indeterminate: how long a connect takes is unknown
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.warning = QLabel("")
        self.warning.setObjectName("targetWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #d0312d;")
        self._connect_generation = 0
        self._connect_job: Any = None
        self.status = QLabel("")
        self.status.setObjectName("targetStatus")
        self.status.setWordWrap(True)
        self.device_view = QPlainTextEdit()
        self.device_view.setObjectName("deviceState")
        self.device_view.setReadOnly(True)
        self.device_view.setPlaceholderText("The device's current state appears here.")

        left = QVBoxLayout()
        left.addWidget(kind_box)
        left.addWidget(self.stack, 1)
        right = QVBoxLayout()
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button, 1)
        test_row.addWidget(self.stop_button)
        right.addLayout(test_row)
        right.addWidget(self.busy_bar)
        right.addWidget(self.status)
        right.addWidget(self.warning)
        right.addWidget(QLabel("Current device state:"))
        right.addWidget(self.device_view, 1)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)

        self.kinds.idToggled.connect(self._kind_toggled)
        for edit in (self.host, self.user, self.key_file, self.ssh_password, self.sudo_password,
                     self.bundle_dir):
            edit.textChanged.connect(self._changed)
        self.port.valueChanged.connect(self._changed)
        self.config_copy.editingFinished.connect(self.load_config_copy)
        self.use_password.toggled.connect(self._changed)
        self.test_button.clicked.connect(self.test_connection)
        self.stop_button.clicked.connect(self.stop_connecting)
        self.detect_button.clicked.connect(self.detect_eflow)

    # -- state <-> widgets ---------------------------------------------------------------------
    def initializePage(self) -> None:
        if self.state.platform == "eflow" and self.state.target_kind == "ssh":
            self.state.target_kind = "eflow"
        if self.state.target_kind == "eflow" and not self.state.user:
            self.state.user = backend.EFLOW_USER  # shown, not only assumed
        self.refresh()
        if self.state.target_kind == "bundle" and self.state.config_copy and \
                self.state.device_state is None:
            self.load_config_copy()

    def refresh(self) -> None:
        s = self.state
        edits: list[QWidget] = [self.host, self.user, self.key_file, self.ssh_password,
                                self.sudo_password, self.bundle_dir, self.port,
                                self.use_password, self.config_copy]
        for w in edits:
            w.blockSignals(True)
        self.host.setText(s.host)
        self.port.setValue(s.port)
        self.user.setText(s.user)
        self.key_file.setText(s.key_file)
        self.use_password.setChecked(s.use_password)
        self.ssh_password.setText(s.ssh_password)
        self.sudo_password.setText(s.sudo_password)
        if not s.bundle_dir:  # the folder shown is the folder used, edited or not
            s.bundle_dir = str(s.resolved_output_dir() / "bundle")
        self.bundle_dir.setText(s.bundle_dir)
        self.config_copy.setText(s.config_copy)
        for w in edits:
            w.blockSignals(False)
        self.kinds.button(TARGET_KINDS.index(s.target_kind)).setChecked(True)
        self._update_visibility()
        self._show_device_state()

    def _kind_toggled(self, button_id: int, checked: bool) -> None:
        if checked:
            kind = TARGET_KINDS[button_id]
            if kind != self.state.target_kind:
                self.state.target_kind = kind
                if kind == "eflow" and not self.state.user:
                    self.state.user = backend.EFLOW_USER
                    self.user.setText(backend.EFLOW_USER)
                self.state.forget_results_after_target()
                self.status.setText("")
            self._update_visibility()
            self._show_device_state()
            self.completeChanged.emit()

    def _changed(self, *_: Any) -> None:
        s = self.state
        host, port = split_host_port(self.host.text())
        if port is not None and port != self.port.value():
            self.port.blockSignals(True)
            self.port.setValue(port)
            self.port.blockSignals(False)
        new = (host, self.port.value(), self.user.text().strip(),
               self.key_file.text().strip(), self.use_password.isChecked())
        if new != (s.host, s.port, s.user, s.key_file, s.use_password):
            if new[0] != s.host or new[1] != s.port:
                s.accepted_host_key = ""
                s.assume_release = False
            s.forget_results_after_target()
            self._show_device_state()
        s.host, s.port, s.user, s.key_file, s.use_password = new
        s.ssh_password = self.ssh_password.text()
        s.sudo_password = self.sudo_password.text()
        s.bundle_dir = self.bundle_dir.text().strip()
        self._update_visibility()
        self.completeChanged.emit()

    def _update_visibility(self) -> None:
        kind = self.state.target_kind
        self.stack.setCurrentIndex(1 if kind == "bundle" else 0)
        self.conn.setVisible(kind in ("ssh", "eflow"))
        self.detect_button.setVisible(kind == "eflow")
        self.ssh_password.setEnabled(self.state.use_password)
        self.key_file.setEnabled(not self.state.use_password)
        self.test_button.setVisible(kind != "bundle")
        if TEST_TEXT[kind]:
            self.test_button.setText(TEST_TEXT[kind])
        self.test_button.setEnabled(not self._connecting())
        self._show_warning()

    def _pick_key(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SSH private key", self.key_file.text())
        if path:
            self.key_file.setText(path)

    def _pick_config_copy(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Copy of the device's configuration",
                                              self.config_copy.text(),
                                              "IoT Edge configuration (*.toml *.yaml);;All (*)")
        if path:
            self.config_copy.setText(path)
            self.load_config_copy()

    def load_config_copy(self) -> None:
        """Read the copied device configuration (in the background) as the device state."""
        self.state.config_copy = self.config_copy.text().strip()
        self.state.forget_results_after_target()
        if not self.state.config_copy:
            self._show_device_state()
            self.completeChanged.emit()
            return
        self.status.setText("Reading the configuration copy…")
        self.run(backend.read_config_copy, self.state.config_copy, self.state.release_key,
                 on_success=self._device_read, on_failure=self._connect_failed)

    def _pick_bundle(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Bundle folder", self.bundle_dir.text())
        if path:
            self.bundle_dir.setText(path)

    # -- jobs ----------------------------------------------------------------------------------
    def _connecting(self) -> bool:
        return self._connect_job is not None

    def _set_connecting(self, on: bool) -> None:
        if not on:
            self._connect_job = None
        self.busy_bar.setVisible(on)
        self.stop_button.setVisible(on)
        self.test_button.setEnabled(not on)
        if on:
            self.stop_button.setFocus()

    def test_connection(self) -> None:
        if self._connecting():
            return
        where = "this computer" if self.state.target_kind == "local" else \
            backend.target_label(self.state)
        self.status.setText(f"Connecting to {where}…" if self.state.target_kind != "local"
                            else "Reading this computer's IoT Edge…")
        self.state.forget_results_after_target()
        self._show_device_state()
        self._connect_generation += 1
        generation = self._connect_generation

        def done(device: Any) -> None:
            if generation == self._connect_generation:
                self._set_connecting(False)
                self._device_read(device)

        def failed(exc: BaseException) -> None:
            if generation == self._connect_generation:
                self._set_connecting(False)
                self._connect_failed(exc)

        self._set_connecting(True)
        self._connect_job = self.run(backend.read_device, backend.target_request(self.state),
                                     on_success=done, on_failure=failed)

    def stop_connecting(self) -> None:
        """Stop waiting: the answer of the running attempt is ignored (it only reads)."""
        if not self._connecting():
            return
        self._connect_generation += 1
        job = self._connect_job
        job.cancel()
        # The attempt winds down on its own (it only reads); it no longer holds Next.
        self._jobs = [j for j in self._jobs if j is not job]
        self._set_connecting(False)
        self.test_button.setFocus()
        self.state.forget_results_after_target()
        self.status.setText("Stopped: not connected. Nothing on the device was changed.")
        self.completeChanged.emit()

    def _device_read(self, device: Any) -> None:
        if isinstance(device, backend.DeviceRead):
            self.state.device_certs = device.certs
            device = device.state
        elif isinstance(device, backend.ConfigCopy):
            self.state.device_certs = backend.config_copy_certs(device)
        self.state.device_state = device
        version = backend.device_release(device)
        message = READ_TEXT[self.state.target_kind]
        if version and version != self.state.release_key:
            message += (f" The device runs IoT Edge {version}, not {self.state.release_key}: "
                        f"the version was switched to {version}.")
            self.state.release_key = version
            self.state.forget_plan()
            self.state.assume_release = False
            if self.state.chain is not None:
                message += " The certificate chain is checked again for that version."
            self.shared.release_changed.emit()  # the chain is checked against its rules
        self.status.setText(message)
        self._show_device_state()
        self.completeChanged.emit()

    def _connect_failed(self, exc: BaseException) -> None:
        if isinstance(exc, HostKeyUnknownError):
            if dialogs.confirm_host_key(self, exc.host, exc.key_type, exc.fingerprint):
                self.state.accepted_host_key = exc.fingerprint
                self.test_connection()
                return
            self.state.accepted_host_key = ""
            self.status.setText(f"Host key of {exc.host} refused: not connected.")
            return
        if isinstance(exc, PasswordRequiredError | WrongPasswordError) and self.state.key_file:
            if isinstance(exc, WrongPasswordError):
                dialogs.show_error(self, exc)
            phrase = dialogs.ask_password(self, "SSH key passphrase",
                                          f"Passphrase for {self.state.key_file}:")
            self.key_file.setFocus()  # back to the field that asked, not a Browse button
            if phrase is not None:
                self.state.file_passwords[self.state.key_file] = phrase
                self.test_connection()
                return
        if backend.version_not_detected(exc) and not self.state.assume_release:
            label = backend.release_label(self.state.release_key)
            if dialogs.ask_yes_no(self, "IoT Edge version",
                                  f"{exc}\n\nContinue as if the device runs {label}, as chosen "
                                  "on the first page?"):
                self.state.assume_release = True
                self.test_connection()
                return
        if isinstance(exc, CancelledError):
            self.status.setText("Stopped: not connected.")
            return
        if isinstance(exc, HostKeyChangedError):
            self.state.accepted_host_key = ""
            self.status.setText("STOPPED: the device's host key changed. See the message.")
        else:
            # The address is in the label above; the error's own text names the host already.
            self.status.setText("Not connected: see the message.")
        dialogs.show_error(self, exc)

    def detect_eflow(self) -> None:
        self.status.setText("Asking the EFLOW VM for its address…")

        def found(address: str) -> None:
            self.host.setText(address)
            self.status.setText(f"EFLOW VM address: {address}")

        self.run(backend.detect_eflow_address, on_success=found)

    def _show_device_state(self) -> None:
        device = self.state.device_state
        self.device_view.setPlainText("" if device is None else backend.describe_device(device))
        self._show_warning()

    def _show_warning(self) -> None:
        """Say now, not at the preview, when the device cannot take the plan as it is."""
        problem = backend.unprovisioned(self.state.device_state)
        if problem:
            if self.state.target_kind == "bundle":
                fix = ("Give the device's config.toml (the one with its [provisioning] "
                       "section) as the device's current configuration.")
            else:
                fix = ("Provision it first (e.g. sudo iotedge config mp --connection-string "
                       "'…'), then read it again.")
            self.warning.setText(f"⚠ {problem}: this device cannot be used yet. {fix}")
        else:
            self.warning.setText("")

    # -- completeness ------------------------------------------------------------------------
    def ready(self) -> bool:
        if self._connecting():
            return False
        if self.state.target_kind == "bundle":
            return bool(self.state.bundle_dir) and (
                not self.state.config_copy or self.state.device_state is not None)
        return self.state.device_state is not None
