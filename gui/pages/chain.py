"""Page 2: the certificate chain (demo, issue from own CA, CSR + signed import, import files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import CancelledError, PasswordRequiredError, WrongPasswordError
from core.progress import CancelToken, ProgressEvent
from gui import backend, dialogs
from gui.pages.base import Page, buddy_label, line_edit, radio_group
from gui.pages.chain_modes import CsrMode, DemoMode, ImportMode, IssueMode
from gui.shared import Shared
from gui.state import CHAIN_MODES, ChainMode
from gui.widgets.chain_view import ChainView
from gui.widgets.file_inputs import CERT_FILTER, PathEdit
from gui.widgets.findings import FindingsList

MODE_TEXT: dict[ChainMode, tuple[str, str]] = {
    "demo": ("Dem&o chain (test only)",
             "A root, an intermediate and an edge CA made here. For trials and labs, "
             "not for production."),
    "issue": ("&Issue from my own CA",
              "Your CA certificate and key sign a new edge CA for this device."),
    "csr": ("Certificate &request for an external CA",
            "A new key stays here; send the CSR to your PKI and import the signed certificate."),
    "import": ("Im&port existing files",
               "PEM, DER or PFX files: drop them here or browse. Password prompts as needed."),
}


KEY_TYPES = (("EC P-256 (fast, recommended)", "ec-p256"), ("EC P-384", "ec-p384"),
             ("RSA 2048", "rsa-2048"), ("RSA 4096 (slow to generate)", "rsa-4096"))
"""Key types offered (core's KeyType values)."""


class ChainPage(Page):
    def __init__(self, shared: Shared) -> None:
        super().__init__(
            shared,
            "Certificate chain",
            "Root → intermediate → edge CA. Errors must be fixed before going on; warnings "
            "are for your judgement.",
        )
        self.setObjectName("chainPage")
        self._generation = 0
        self._cancel: CancelToken | None = None
        shared.release_changed.connect(self.revalidate)
        self.completeChanged.connect(lambda: shared.set_chain_busy(self.busy))

        # -- mode choice
        self.modes, mode_box = radio_group(
            self, "Where the chain comes from",
            [(f"mode_{mode}", *MODE_TEXT[mode]) for mode in CHAIN_MODES])

        self.device_id = line_edit(
            "deviceId", tip="The IoT Hub device ID; the edge CA is named <device ID>.ca")
        self.key_type = QComboBox()
        self.key_type.setObjectName("keyType")
        for text, value in KEY_TYPES:
            self.key_type.addItem(text, value)
        self.output_dir = PathEdit()
        self.output_dir.setObjectName("outputDir")
        self.output_dir.setToolTip("Generated keys (0600), certificates and reports go here")
        common = QFormLayout()
        common.addRow("De&vice ID:", self.device_id)
        common.addRow("Key t&ype:", self.key_type)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output_dir, 1)
        out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._pick_output)
        out_row.addWidget(out_browse)
        common.addRow(buddy_label("O&utput folder:", self.output_dir), out_row)

        # -- per-mode inputs, one widget per mode (in CHAIN_MODES order)
        self.demo_mode = DemoMode(MODE_TEXT["demo"][1])
        self.issue_mode = IssueMode()
        self.csr_mode = CsrMode()
        self.import_mode = ImportMode()
        self.stack = QStackedWidget()
        for widget in (self.demo_mode, self.issue_mode, self.csr_mode, self.import_mode):
            self.stack.addWidget(widget)
        # The fields the page and its tests reach by name.
        self.ca_cert = self.issue_mode.ca_cert
        self.ca_key = self.issue_mode.ca_key
        self.ca_chain = self.issue_mode.ca_chain
        self.issue_days = self.issue_mode.issue_days
        self.issue_button = self.issue_mode.issue_button
        self.csr_button = self.csr_mode.csr_button
        self.csr_path = self.csr_mode.csr_path
        self.signed_cert = self.csr_mode.signed_cert
        self.signed_button = self.csr_mode.signed_button
        self.import_list = self.import_mode.import_list
        self.load_button = self.import_mode.load_button

        self.progress = QProgressBar()
        self.progress.setObjectName("chainProgress")
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.stop_button = QPushButton("Stop &waiting")
        self.stop_button.setObjectName("chainStop")
        self.stop_button.setToolTip("Stop making the chain; nothing is written")
        self.stop_button.hide()
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel("")
        self.status.setObjectName("chainStatus")
        self.status.setWordWrap(True)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(mode_box)
        left_layout.addLayout(common)
        left_layout.addWidget(self.stack, 1)
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.progress, 1)
        busy_row.addWidget(self.stop_button)
        left_layout.addLayout(busy_row)
        left_layout.addWidget(self.status)

        self.chain_view = ChainView()
        self.findings = FindingsList()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.chain_view)
        right.addWidget(self.findings)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([430, 140])

        left_scroll = QScrollArea()  # on a small screen the inputs scroll, never get cut
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # focus goes to the inputs inside it
        left_scroll.setWidget(left)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left_scroll)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([400, 600])  # the chain view gets the larger share from the start
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        self.modes.idToggled.connect(self._mode_toggled)
        self.device_id.editingFinished.connect(self._inputs_changed)
        self.key_type.currentIndexChanged.connect(lambda _i: self._inputs_changed())
        self.output_dir.editingFinished.connect(self._store_common)
        self.issue_button.clicked.connect(self.start_issue)
        self.csr_button.clicked.connect(self.start_csr)
        self.signed_button.clicked.connect(self.start_import_signed)
        self.import_list.files_dropped.connect(self.add_import_files)
        self.import_mode.add_button.clicked.connect(self._browse_import)
        self.import_mode.remove_requested.connect(self._remove_selected)
        self.load_button.clicked.connect(self.start_import)
        # Stored as they change (typed, dropped or browsed): what is shown is remembered.
        self.issue_mode.changed.connect(self._store_files)
        self.csr_mode.changed.connect(self._store_files)
        self.setTabOrder(self.device_id, self.key_type)
        self.setTabOrder(self.key_type, self.output_dir)

    # -- state <-> widgets -------------------------------------------------------------------
    def initializePage(self) -> None:
        self.refresh()
        if self.state.chain is None and self.state.chain_mode == "demo" and not self.busy:
            self.start_demo()

    def refresh(self) -> None:
        s = self.state
        self.modes.blockSignals(True)
        self.modes.button(CHAIN_MODES.index(s.chain_mode)).setChecked(True)
        self.modes.blockSignals(False)
        self.stack.setCurrentIndex(CHAIN_MODES.index(s.chain_mode))
        self.device_id.setText(s.device_id)
        self.key_type.setCurrentIndex(max(0, self.key_type.findData(s.key_type)))
        self.output_dir.setText(str(s.resolved_output_dir()))
        self.issue_mode.show_state(s)
        self.csr_mode.show_state(s)
        self.import_mode.show_state(s)
        self._show_outcome()

    def _store_files(self, *_: object) -> None:
        if self.wizard() is None:
            return
        self.issue_mode.store(self.state)
        self.csr_mode.store(self.state)

    def _store_common(self) -> None:
        if self.wizard() is None:
            return  # editing finished as the window closes
        s = self.state
        s.device_id = self.device_id.text().strip()
        s.key_type = self.key_type.currentData()
        s.output_dir = self.output_dir.text().strip()
        self._store_files()

    def _pick_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.output_dir.text())
        if path:
            self.output_dir.setText(path)
            self._store_common()

    def _mode_toggled(self, button_id: int, checked: bool) -> None:
        if not checked:
            return
        mode = CHAIN_MODES[button_id]
        self.stack.setCurrentIndex(button_id)
        if mode == self.state.chain_mode:
            return
        self.state.chain_mode = mode
        self._drop_chain()
        if mode == "demo":
            self.start_demo()  # key generation starts as soon as the choice is made

    def _inputs_changed(self) -> None:
        before = (self.state.device_id, self.state.key_type)
        self._store_common()
        if (self.state.device_id, self.state.key_type) != before and \
                self.state.chain_mode == "demo":
            self._drop_chain()
            self.start_demo()

    def _drop_chain(self) -> None:
        self._generation += 1  # results of older jobs are ignored
        if self._cancel is not None:
            self._cancel.cancel()
        self.state.chain = None
        self.state.findings = ()
        self.state.forget_plan()
        self.status.setText("")  # never "Chain ready." beside an empty chain view
        self._show_outcome()
        self.completeChanged.emit()

    # -- jobs -----------------------------------------------------------------------------------
    def _start(self, what: str, fn: Any, *, on_outcome: Any = None, **kwargs: Any) -> None:
        """Run ``fn(request)`` for the current inputs; a retry (after a password) re-reads them."""
        self._store_common()
        request = self._snapshot()
        self._generation += 1
        generation = self._generation
        if self._cancel is not None:
            self._cancel.cancel()
        self._cancel = CancelToken()
        self.status.setText(what + "…")

        def done(outcome: backend.ChainOutcome) -> None:
            if on_outcome is not None:
                on_outcome(outcome)
            if generation == self._generation:
                self._accept_outcome(outcome)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self._busy_shown(False)
            if isinstance(exc, CancelledError):
                self.status.setText(f"{what}: stopped. Nothing was written.")
                return
            self.status.setText(f"{what} failed.")
            self._on_failure(exc, retry=lambda: self._start(what, fn, on_outcome=on_outcome,
                                                            **kwargs))

        def progressed(event: ProgressEvent) -> None:
            if generation == self._generation:
                self._progressed(event)

        self._busy_shown(True)
        self.run(fn, request, on_success=done, on_failure=failed, on_progress=progressed,
                 cancel=self._cancel, **kwargs)
        self.completeChanged.emit()

    def _progressed(self, event: ProgressEvent) -> None:
        if event.total and event.done:
            # Only real progress: "0 of 3" while the keys are made says nothing, so the bar
            # stays indeterminate (busy) until a step is done.
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
        if event.message:
            self.status.setText(event.message)

    def _asking_field(self, where: str | None) -> QWidget:
        """The field that holds the file a password is asked for (focus goes back to it)."""
        for edit in (*self.issue_mode.file_fields, self.signed_cert):
            text = edit.text().strip()
            if where and text and str(Path(text).expanduser()) == str(Path(where)):
                return edit
        return self.import_list if self.state.chain_mode == "import" else self.device_id

    def _on_failure(self, exc: BaseException, retry: Any) -> None:
        if isinstance(exc, PasswordRequiredError | WrongPasswordError):
            if isinstance(exc, WrongPasswordError):
                dialogs.show_error(self, exc)
            where = exc.where or "the file"
            asking = self._asking_field(exc.where)
            password = dialogs.ask_password(self, "File password", f"Password for {where}:")
            asking.setFocus()  # not the Browse button the dialog happened to return to
            if password is not None:
                self.state.file_passwords[str(exc.where or "")] = password
                retry()
                return
        else:
            dialogs.show_error(self, exc)
        self.status.setText(str(exc))

    def start_demo(self) -> None:
        """Use this run's demo chain, or make one (again only when an input it depends on
        changed: key type, device ID, release, output folder, password)."""
        self._store_common()
        key = backend.demo_key(self._snapshot())
        cached = self.state.demo
        if cached is not None and cached[0] == key:
            self._generation += 1
            self._accept_outcome(cached[1])
            self.status.setText(f"Demo chain ready (made earlier in this run, in "
                                f"{cached[1].folder}).")
            return
        old = cached[1].folder if cached is not None else None
        self._start("Generating the demo chain", backend.demo_chain, replaces=old,
                    on_outcome=lambda outcome: self._remember_demo(key, outcome))

    def _remember_demo(self, key: tuple[str, ...], outcome: backend.ChainOutcome) -> None:
        self.state.demo = (key, outcome)

    def start_issue(self) -> None:
        self._start("Issuing the edge CA", backend.issue_from_ca)

    def start_csr(self) -> None:
        self._store_common()

        def done(result: tuple[Path, bytes]) -> None:
            path, pem = result
            self.state.csr_pem = pem
            self.csr_path.setText(str(path))
            self._busy_shown(False)
            self.status.setText(f"Request written to {path}. Send it to your CA, then import "
                                "the signed certificate.")

        def failed(exc: BaseException) -> None:
            self._busy_shown(False)
            dialogs.show_error(self, exc)

        self._busy_shown(True)
        self.status.setText("Creating the key and the request…")
        self.run(backend.make_csr, self._snapshot(), on_success=done, on_failure=failed)

    def start_import_signed(self) -> None:
        self._start("Importing the signed certificate", backend.import_signed)

    def start_import(self) -> None:
        self.state.import_files = self.import_mode.files()
        self._start("Reading the files", backend.import_files)

    def add_import_files(self, paths: list[str]) -> None:
        self.import_mode.add(paths)
        self.state.import_files = self.import_mode.files()
        if self.state.chain_mode != "import":
            self.modes.button(CHAIN_MODES.index("import")).setChecked(True)
        self.start_import()

    def _browse_import(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Certificate files", "", CERT_FILTER)
        if paths:
            self.add_import_files(paths)

    def _remove_selected(self) -> None:
        self.import_mode.remove_selected()
        self.state.import_files = self.import_mode.files()
        self._drop_chain()

    def _snapshot(self) -> backend.ChainRequest:
        return backend.chain_request(self.state)

    def revalidate(self) -> None:
        """The release changed: check the loaded chain against the new rules."""
        if self.state.chain is None:
            return
        if self.state.chain_mode == "demo":
            self._drop_chain()
            self.start_demo()  # a demo chain is remade with the new release's rules
            return
        generation = self._generation

        def done(outcome: backend.ChainOutcome) -> None:
            if generation == self._generation:
                self._accept_outcome(outcome)

        self.run(backend.revalidate, self.state.chain, self.state.release_key,
                 on_success=done)

    def _busy_shown(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.stop_button.setVisible(on)
        if on:
            self.progress.setRange(0, 0)

    def stop(self) -> None:
        """Stop the running generation or import (core stops at its next safe point)."""
        if self._cancel is not None:
            self._cancel.cancel()
        self._generation += 1  # a result that arrives anyway is not shown
        self._busy_shown(False)
        self.status.setText("Stopped: no chain. Choose a mode, or change an input to start "
                            "again.")
        self.completeChanged.emit()

    def _accept_outcome(self, outcome: backend.ChainOutcome) -> None:
        self._busy_shown(False)
        self.state.chain = outcome
        self.state.findings = outcome.findings
        self.state.forget_plan()
        errors = sum(1 for f in outcome.findings if f.severity == "error")
        warnings = sum(1 for f in outcome.findings if f.severity == "warning")
        if errors:
            self.status.setText(f"{errors} error(s) must be fixed before going on.")
        else:
            self.status.setText("Chain ready" + (f" ({warnings} warning(s))." if warnings
                                                 else "."))
        self._show_outcome()
        self.completeChanged.emit()

    def _show_outcome(self) -> None:
        outcome = self.state.chain
        warning_days = backend.warning_days(self.state.release_key)
        if outcome is None:
            self.chain_view.set_rows([])
            self.findings.set_findings([])
            self.findings.clear()
            return
        self.chain_view.set_rows(outcome.rows, warning_days=warning_days)
        self.findings.set_findings(outcome.findings, files=outcome.files)

    # -- completeness ------------------------------------------------------------------------
    def ready(self) -> bool:
        return self.state.chain_ready()

    def loses_work_on_cancel(self) -> bool:
        # A generated chain is on disk already; only a running job would be lost.
        return self.busy
