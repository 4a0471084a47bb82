"""Chain page calls: make, issue, request, import and validate the certificate chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UsageError
from core.progress import CancelToken, ProgressCallback
from gui.backend.common import _pending
from gui.state import WizardState
from gui.widgets.chain_view import CertRow


@dataclass(frozen=True)
class ChainRequest:
    """The chain page's inputs as plain values (safe to hand to a worker thread)."""

    mode: str
    device_id: str
    key_type: str
    release_key: str
    out_dir: Path
    ca_cert: str = ""
    ca_key: str = ""
    signed_cert: str = ""
    import_files: tuple[str, ...] = ()
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    key_password: str = field(default="", repr=False)


def chain_request(state: WizardState) -> ChainRequest:
    return ChainRequest(
        mode=state.chain_mode,
        device_id=state.device_id,
        key_type=state.key_type,
        release_key=state.release_key,
        out_dir=state.resolved_output_dir(),
        ca_cert=state.ca_cert_file,
        ca_key=state.ca_key_file,
        signed_cert=state.signed_cert_file,
        import_files=tuple(state.import_files),
        passwords=dict(state.file_passwords),
        key_password=state.key_password,
    )


@dataclass(frozen=True)
class ChainOutcome:
    """A chain ready for the device, with what the chain view shows.

    The byte fields are what the plan installs; the key never appears in a repr.
    """

    rows: tuple[CertRow, ...]
    """Root first, edge CA last (what the chain view shows)."""
    findings: tuple[Any, ...]
    edge_ca_chain_pem: bytes = field(default=b"", repr=False)
    edge_ca_key_pem: bytes = field(default=b"", repr=False)
    trust_bundle_pem: bytes = field(default=b"", repr=False)
    edge_ca_cn: str = ""
    files: tuple[Path, ...] = ()
    release_key: str = ""
    chain: Any = field(default=None, repr=False)
    """The core chain object, kept for re-validation against another release."""

    @property
    def edge_ca(self) -> CertRow | None:
        return self.rows[-1] if self.rows else None


def demo_chain(req: ChainRequest, *, progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None) -> ChainOutcome:
    _pending("core.chain")


def issue_from_ca(req: ChainRequest, *, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> ChainOutcome:
    _pending("core.chain")


def make_csr(req: ChainRequest) -> tuple[Path, bytes]:
    _pending("core.chain")


def import_signed(req: ChainRequest, *, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> ChainOutcome:
    _pending("core.chain")


def import_files(req: ChainRequest, *, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> ChainOutcome:
    if not req.import_files:
        raise UsageError("no files to import",
                         hint="Drop the edge CA certificate, its key and the root here.")
    _pending("core.chain")


def revalidate(outcome: ChainOutcome, release_key: str) -> ChainOutcome:
    _pending("core.chain")


