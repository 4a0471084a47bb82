"""Page 3: device settings: paths, edge CA method, quickstart, auto-renew, EST, PKCS#11."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui import backend
from gui.pages.base import Page, line_edit, note, radio_group
from gui.shared import Shared
from gui.state import EdgeCaMethod

METHODS: tuple[tuple[EdgeCaMethod, str, str], ...] = (
    ("files", "Certificate f&iles from the chain page",
     "The edge CA certificate (full chain) and key are installed on the device."),
    ("quickstart", "&Quickstart: the device makes its own edge CA",
     "Not for production: a self-made CA that downstream devices cannot trust."),
    ("est", "&EST: the device enrols with a certificate server",
     "The device asks your EST server for its edge CA (IoT Edge 1.2 or newer)."),
)

SPELLINGS = ("Accepted: <code>80%</code> (1–99 %), <code>10min</code>, <code>4day</code>. "
             "Not accepted: <code>4d</code>, <code>10m</code>, <code>100%</code>, spaces.")


def _parent(path: str, platform: str) -> str:
    pure = PureWindowsPath if platform == "windows" else PurePosixPath
    return str(pure(path).parent)


class DevicePage(Page):
    def __init__(self, shared: Shared) -> None:
        super().__init__(shared, "Device settings",
                         "Where the device keeps the files and how its edge CA is managed.")
        self.setObjectName("devicePage")
        self._problems: dict[str, str] = {}
        self._generation = 0

        self.methods, method_box = radio_group(
            self, "Edge CA", [(f"method_{key}", text, tip) for key, text, tip in METHODS])

        self.cert_dir = line_edit(
            "certDir", tip="Folder on the device for certificates (readable by aziotcs)")
        self.key_dir = line_edit(
            "keyDir", tip="Folder on the device for private keys (0700, owned by aziotks)")
        self.pkcs11_uri = line_edit(
            "pkcs11Uri", placeholder="pkcs11:token=edge;object=edge-ca (optional)",
            tip="Use a key in an HSM instead of a key file. The PIN (pin-value) is never "
                "remembered.")
        self.pkcs11_lib = line_edit("pkcs11Lib", placeholder="/usr/lib/…/libpkcs11.so")
        files_box = QGroupBox("Files on the device")
        files_form = QFormLayout(files_box)
        files_form.addRow("Certificate f&older:", self.cert_dir)
        files_form.addRow("&Key folder:", self.key_dir)
        files_form.addRow("PKCS#11 key &URI:", self.pkcs11_uri)
        files_form.addRow("PKCS#11 &library:", self.pkcs11_lib)
        self.files_box = files_box

        self.quickstart_days = QSpinBox()
        self.quickstart_days.setObjectName("quickstartDays")
        self.quickstart_days.setRange(1, 3650)
        self.quickstart_days.setSuffix(" days")
        self.quickstart_days.setToolTip("Lifetime of the CA the device makes itself")
        quick_box = QGroupBox("Quickstart")
        quick_form = QFormLayout(quick_box)
        quick_form.addRow("Lifeti&me:", self.quickstart_days)
        self.quick_box = quick_box

        self.est_url = line_edit("estUrl", placeholder="https://est.example.org/.well-known/est")
        self.est_user = line_edit("estUser")
        self.est_password = line_edit(
            "estPassword", secret=True,
            tip="Never stored by edgecert; the diff shows it redacted")
        est_box = QGroupBox("EST server")
        est_form = QFormLayout(est_box)
        est_form.addRow("U&RL:", self.est_url)
        est_form.addRow("User n&ame:", self.est_user)
        est_form.addRow("Pass&word:", self.est_password)
        self.est_box = est_box

        self.auto_renew = QCheckBox("Renew the edge CA au&tomatically")
        self.auto_renew.setObjectName("autoRenew")
        self.threshold = line_edit(
            "threshold",
            tip="When to renew: share of the lifetime passed, or time before expiry")
        self.retry = line_edit(
            "retry", tip="How long to wait before trying again after a failed renewal")
        self.threshold_error = QLabel("")
        self.threshold_error.setObjectName("thresholdError")
        self.retry_error = QLabel("")
        self.retry_error.setObjectName("retryError")
        for label in (self.threshold_error, self.retry_error):
            label.setWordWrap(True)
            label.setStyleSheet("color: #d0312d;")
        renew_box = QGroupBox("Automatic renewal")
        renew_form = QFormLayout(renew_box)
        renew_form.addRow(self.auto_renew)
        renew_form.addRow("T&hreshold:", self.threshold)
        renew_form.addRow("", self.threshold_error)
        renew_form.addRow("Retr&y:", self.retry)
        renew_form.addRow("", self.retry_error)
        spell = QLabel(SPELLINGS)
        spell.setWordWrap(True)
        renew_form.addRow("", spell)
        self.renew_box = renew_box
        self.renew_note = note("", object_name="renewNote")

        left = QVBoxLayout()
        left.addWidget(method_box)
        left.addWidget(files_box)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(quick_box)
        right.addWidget(est_box)
        right.addWidget(renew_box)
        right.addWidget(self.renew_note)
        right.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)

        self.methods.idToggled.connect(self._method_toggled)
        for edit in (self.cert_dir, self.key_dir, self.pkcs11_uri, self.pkcs11_lib,
                     self.threshold, self.retry, self.est_url, self.est_user, self.est_password):
            edit.textChanged.connect(self._changed)
        self.quickstart_days.valueChanged.connect(self._changed)
        self.auto_renew.toggled.connect(self._changed)
        QWidget.setTabOrder(self.cert_dir, self.key_dir)
        QWidget.setTabOrder(self.key_dir, self.pkcs11_uri)
        QWidget.setTabOrder(self.pkcs11_uri, self.pkcs11_lib)

    def initializePage(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        s = self.state
        widgets: list[QWidget] = [self.cert_dir, self.key_dir, self.pkcs11_uri, self.pkcs11_lib,
                                  self.threshold, self.retry, self.est_url, self.est_user,
                                  self.est_password, self.quickstart_days, self.auto_renew]
        for w in widgets:
            w.blockSignals(True)
        cert, key, _bundle = backend.device_file_paths(s.release_key, s.platform, "", "")
        self.cert_dir.setPlaceholderText(_parent(cert, s.platform) + " (standard)")
        self.key_dir.setPlaceholderText(_parent(key, s.platform) + " (standard)")
        self.cert_dir.setText(s.cert_dir)
        self.key_dir.setText(s.key_dir)
        self.pkcs11_uri.setText(s.pkcs11_uri)
        self.pkcs11_lib.setText(s.pkcs11_lib_path)
        self.threshold.setText(s.renew_threshold)
        self.retry.setText(s.renew_retry)
        self.est_url.setText(s.est_url)
        self.est_user.setText(s.est_username)
        self.est_password.setText(s.est_password)
        self.quickstart_days.setValue(s.quickstart_days)
        self.auto_renew.setChecked(s.auto_renew)
        for w in widgets:
            w.blockSignals(False)
        index = [m[0] for m in METHODS].index(s.edge_ca_method)
        self.methods.button(index).setChecked(True)
        self._update_visibility()
        self._validate()

    def _method_toggled(self, button_id: int, checked: bool) -> None:
        if checked:
            self.state.edge_ca_method = METHODS[button_id][0]
            self._changed()

    def _update_visibility(self) -> None:
        s = self.state
        rel = s.release
        method = s.edge_ca_method
        est_button = self.methods.button(2)
        est_button.setEnabled(not rel.is_legacy)
        self.files_box.setEnabled(method == "files")
        self.quick_box.setVisible(method == "quickstart")
        self.est_box.setVisible(method == "est")
        # auto_renew next to cert/pk is ignored by the runtime: only for issued CAs.
        renewable = rel.auto_renew and method in ("quickstart", "est")
        self.renew_box.setEnabled(renewable)
        self.threshold.setEnabled(renewable and s.auto_renew)
        self.retry.setEnabled(renewable and s.auto_renew)
        if method == "files" and not s.chain_ready():
            self.renew_note.setText("No certificate chain yet: go Back to the Certificate "
                                    "chain page, or choose Quickstart or EST.")
        elif not rel.auto_renew:
            self.renew_note.setText(f"{rel.label} cannot renew its {rel.ca_term} automatically.")
        elif method == "files":
            self.renew_note.setText("A CA from files is not renewed by the device: replace it "
                                    "before it expires (the summary shows when).")
        else:
            self.renew_note.setText("")

    def _changed(self, *_: object) -> None:
        s = self.state
        s.cert_dir = self.cert_dir.text().strip()
        s.key_dir = self.key_dir.text().strip()
        s.pkcs11_uri = self.pkcs11_uri.text().strip()
        s.pkcs11_lib_path = self.pkcs11_lib.text().strip()
        s.renew_threshold = self.threshold.text()
        s.renew_retry = self.retry.text()
        s.est_url = self.est_url.text().strip()
        s.est_username = self.est_user.text().strip()
        s.est_password = self.est_password.text()
        s.quickstart_days = self.quickstart_days.value()
        s.auto_renew = self.auto_renew.isChecked()
        s.forget_plan()
        self._update_visibility()
        self._validate()

    def _validate(self) -> None:
        """Ask core about the current inputs (in the background; stale answers are ignored)."""
        self._generation += 1
        generation = self._generation

        def done(problems: dict[str, str]) -> None:
            if generation == self._generation:
                self.show_problems(problems)

        self.run(backend.check_device_settings, backend.settings_request(self.state),
                 on_success=done)

    def show_problems(self, problems: dict[str, str]) -> None:
        self._problems = dict(problems)
        self.threshold_error.setText(problems.get("threshold", ""))
        self.retry_error.setText(problems.get("retry", ""))
        field_widgets = {"cert_dir": self.cert_dir, "key_dir": self.key_dir,
                         "pkcs11_uri": self.pkcs11_uri, "pkcs11_lib_path": self.pkcs11_lib,
                         "est_url": self.est_url, "threshold": self.threshold,
                         "retry": self.retry}
        for name, widget in field_widgets.items():
            message = problems.get(name, "")
            widget.setProperty("invalid", bool(message))
            widget.setStyleSheet("border: 1px solid #d0312d;" if message else "")
            base_tip = widget.toolTip().split("\n\n")[0]
            widget.setToolTip(base_tip + (f"\n\n{message}" if message else ""))
        self.completeChanged.emit()

    @property
    def problems(self) -> dict[str, str]:
        return dict(self._problems)

    def ready(self) -> bool:
        return not self._problems and self.state.chain_ready()
