"""The chain page's four modes, one small widget each: what the technician fills in for a demo
chain, an edge CA issued from their own CA, a CSR for an external CA, or existing files.

Each widget only lays out its inputs and says when they change; the chain page runs the jobs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.pages.base import buddy_label, line_edit, note
from gui.state import WizardState
from gui.widgets.file_inputs import CERT_FILTER, DropList, PathLabel, file_row


class DemoMode(QWidget):
    """A demo chain needs nothing beyond the common inputs: it starts when chosen."""

    def __init__(self, text: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(note(text + " Generation starts as soon as you choose it."))


class IssueMode(QWidget):
    """The technician's CA certificate, its key, the chain above it and the new lifetime."""

    changed = Signal()
    """An input was typed, dropped or browsed."""

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        self.ca_cert = line_edit("caCert")
        self.ca_key = line_edit("caKey")
        form.addRow(buddy_label("CA cer&tificate:", self.ca_cert),
                    file_row(self, self.ca_cert, "CA certificate", CERT_FILTER))
        form.addRow(buddy_label("CA private &key:", self.ca_key),
                    file_row(self, self.ca_key, "CA private key", CERT_FILTER))
        self.ca_chain = line_edit(
            "caChain", placeholder="optional: the certificates above your CA",
            tip="Intermediates and root above the signing CA, if its own file does not hold "
                "them (the CLI's --ca-chain)")
        form.addRow(buddy_label("CA c&hain:", self.ca_chain),
                    file_row(self, self.ca_chain, "CA chain", CERT_FILTER))
        self.issue_days = QSpinBox()
        self.issue_days.setObjectName("issueDays")
        self.issue_days.setRange(0, 3650)
        self.issue_days.setSpecialValueText("release default")
        self.issue_days.setSuffix(" days")
        self.issue_days.setToolTip("Lifetime of the new edge CA (the CLI's --days); 0: the "
                                   "release's default")
        form.addRow(buddy_label("E&xpires after:", self.issue_days), self.issue_days)
        self.issue_button = QPushButton("Issue &edge CA")
        self.issue_button.setObjectName("issueButton")
        form.addRow(self.issue_button)
        for edit in self.file_fields:
            edit.textChanged.connect(self.changed)
        self.issue_days.valueChanged.connect(self.changed)

    @property
    def file_fields(self) -> tuple[QLineEdit, ...]:
        return (self.ca_key, self.ca_cert, self.ca_chain)

    def show_state(self, s: WizardState) -> None:
        for edit, value in ((self.ca_cert, s.ca_cert_file), (self.ca_key, s.ca_key_file),
                            (self.ca_chain, s.ca_chain_file)):
            edit.blockSignals(True)
            edit.setText(value)
            edit.blockSignals(False)
        self.issue_days.blockSignals(True)
        self.issue_days.setValue(s.issue_days)
        self.issue_days.blockSignals(False)

    def store(self, s: WizardState) -> None:
        s.ca_cert_file = self.ca_cert.text().strip()
        s.ca_key_file = self.ca_key.text().strip()
        s.ca_chain_file = self.ca_chain.text().strip()
        s.issue_days = self.issue_days.value()


class CsrMode(QWidget):
    """Create the request (the key stays here), then import what the CA signed."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        self.csr_button = QPushButton("Create re&quest (CSR)")
        self.csr_button.setObjectName("csrButton")
        self.csr_path = PathLabel()  # elided in the middle: never widens the page
        self.csr_path.setObjectName("csrPath")
        self.signed_cert = line_edit("signedCert")
        self.signed_button = QPushButton("Import si&gned certificate")
        self.signed_button.setObjectName("signedButton")
        form.addRow(self.csr_button, self.csr_path)
        form.addRow(buddy_label("&Signed chain:", self.signed_cert),
                    file_row(self, self.signed_cert, "Signed certificate chain", CERT_FILTER))
        form.addRow(self.signed_button)
        self.signed_cert.textChanged.connect(self.changed)

    def show_state(self, s: WizardState) -> None:
        self.signed_cert.blockSignals(True)
        self.signed_cert.setText(s.signed_cert_file)
        self.signed_cert.blockSignals(False)

    def store(self, s: WizardState) -> None:
        s.signed_cert_file = self.signed_cert.text().strip()


class ImportMode(QWidget):
    """Existing files, dropped or browsed, in any order; Load reads and checks them."""

    remove_requested = Signal()
    """Remove (or the Delete key) on the selected files."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.import_list = DropList()
        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add files…")
        self.add_button.setObjectName("addFiles")
        self.remove_button = QPushButton("Re&move")
        self.load_button = QPushButton("&Load")
        self.load_button.setObjectName("loadButton")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.load_button)
        layout.addWidget(QLabel("Edge CA certificate (full chain), its key, and the root:"))
        layout.addWidget(self.import_list, 1)
        layout.addLayout(buttons)
        self.remove_button.clicked.connect(self.remove_requested)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.import_list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.remove_requested)

    def files(self) -> list[str]:
        return [self.import_list.item(i).text() for i in range(self.import_list.count())]

    def show_state(self, s: WizardState) -> None:
        self.import_list.clear()
        self.import_list.addItems(s.import_files)

    def add(self, paths: list[str]) -> None:
        """Add the files not listed yet (in the order given)."""
        known = set(self.files())
        for p in paths:
            if p not in known:
                self.import_list.addItem(p)
                known.add(p)

    def remove_selected(self) -> None:
        for item in self.import_list.selectedItems():
            self.import_list.takeItem(self.import_list.row(item))
