"""Chain page calls: make, issue, request, import and validate the certificate chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import EdgecertError, UsageError
from core.progress import CancelToken, ProgressCallback
from gui.state import WizardState
from gui.widgets.chain_view import CertRow

if TYPE_CHECKING:  # cryptography loads only when a chain is made (cold start)
    from cryptography import x509

    from core.chain import ChainFiles, Finding, KeyType, Material
    from core.chain.keys import PrivateKey
    from core.versions import EdgeRelease

    LoadedChain = tuple[Material, PrivateKey | None, Material]
    """Edge CA file, its key and the trust bundle, as core loaded them."""


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
    ca_chain: str = ""
    issue_days: int = 0
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
        ca_chain=state.ca_chain_file,
        issue_days=state.issue_days,
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
    findings: tuple[Finding, ...]
    edge_ca_chain_pem: bytes = field(default=b"", repr=False)
    edge_ca_key_pem: bytes = field(default=b"", repr=False)
    trust_bundle_pem: bytes = field(default=b"", repr=False)
    edge_ca_cn: str = ""
    files: tuple[Path, ...] = ()
    release_key: str = ""
    chain: LoadedChain | None = field(default=None, repr=False)
    """The core chain object, kept for re-validation against another release."""
    folder: Path | None = None
    """The folder the chain was written to (None: files chosen by the technician)."""

    @property
    def edge_ca(self) -> CertRow | None:
        return self.rows[-1] if self.rows else None


def _stamp() -> str:
    """A fresh folder name part, so a new chain never replaces an earlier one."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def _release(key: str) -> EdgeRelease:
    from core.versions import release

    return release(key)


def _key_type(text: str, *, default: str) -> KeyType:
    from core.chain import KeyType

    try:
        return KeyType.parse(text)
    except EdgecertError:
        return KeyType.parse(default)


def _roles(chain: tuple[x509.Certificate, ...], ca_term: str) -> list[str]:
    from core.chain.order import is_self_issued

    roles = []
    for i, cert in enumerate(chain):
        if i == 0:
            roles.append(ca_term[:1].upper() + ca_term[1:])
        elif is_self_issued(cert):
            roles.append("Root CA")
        else:
            roles.append("Intermediate CA")
    return roles


def _outcome(edge: Material, key: PrivateKey | None, trust_bundle: Material, release_key: str,
             files: tuple[Path, ...]) -> ChainOutcome:
    """Validate with core and turn the report into what the page shows and the plan installs."""
    from core.chain import inspect_certificate, private_key_pem, validate_chain
    from core.chain.demo import pem
    from core.chain.inspect import common_name

    release = _release(release_key)
    rep = validate_chain(edge, key=key, trust_bundle=trust_bundle, release=release)
    roles = _roles(rep.chain, release.ca_term)
    rows = []
    for role, cert in zip(roles, rep.chain, strict=True):
        s = inspect_certificate(cert)
        rows.append(CertRow(role=role, subject=s.subject, issuer=s.issuer,
                            not_before=s.not_before, not_after=s.not_after, sha256=s.sha256,
                            key=s.key, is_ca=s.is_ca, pathlen=s.path_length))
    rows.reverse()  # root first, as the chain view draws it
    return ChainOutcome(
        rows=tuple(rows),
        findings=tuple(rep.findings),
        edge_ca_chain_pem=b"".join(pem(c) for c in rep.chain),
        edge_ca_key_pem=private_key_pem(rep.key) if rep.key is not None else b"",
        trust_bundle_pem=pem(rep.root) if rep.root is not None else b"",
        edge_ca_cn=common_name(rep.edge_ca) if rep.edge_ca is not None else "",
        files=files,
        release_key=release_key,
        chain=(edge, key, trust_bundle),
    )


def _from_chain_files(files: ChainFiles, release_key: str) -> ChainOutcome:
    """Load what core wrote (full chain, key, trust bundle) and validate it."""
    from core.chain import load_file

    edge = load_file(files.edge_ca_full_chain)
    keys = load_file(files.edge_ca_key).keys
    bundle = load_file(files.trust_bundle)
    outcome = _outcome(edge, keys[0] if keys else None, bundle, release_key,
                       tuple(p for p in files.all_paths() if p is not None))
    return dataclasses.replace(outcome, folder=files.out_dir)


DEMO_PREFIX = "demo-chain-"


def demo_key(req: ChainRequest) -> tuple[str, ...]:
    """What a demo chain depends on: a new one is made only when one of these changes."""
    return (req.device_id, req.key_type, req.release_key, str(req.out_dir),
            "password" if req.key_password else "")


def demo_chain(req: ChainRequest, *, replaces: Path | None = None,
               progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None) -> ChainOutcome:
    """A demo chain (root → intermediate → edge CA) in a new folder below the output folder.

    Args:
        replaces: the folder of the demo chain this one replaces (made by the same wizard
            run); it is removed once the new chain is complete.

    Without a password the PFX files are not kept: a PFX bundles the private key, and one
    with an empty password would be a key lying about in the clear under another name.
    """
    from core.chain import generate_demo_chain

    files = generate_demo_chain(
        req.out_dir / f"{DEMO_PREFIX}{_stamp()}", req.device_id,
        release=_release(req.release_key), key_type=_key_type(req.key_type, default="ec-p256"),
        password=req.key_password or None, progress=progress, cancel=cancel)
    if not req.key_password:
        for pfx in (files.edge_ca_pfx, files.intermediate_pfx):
            if pfx is not None:
                pfx.unlink(missing_ok=True)
        files = dataclasses.replace(files, edge_ca_pfx=None, intermediate_pfx=None)
    outcome = _from_chain_files(files, req.release_key)
    if replaces is not None and replaces.name.startswith(DEMO_PREFIX) and \
            replaces.resolve() != files.out_dir:
        shutil.rmtree(replaces, ignore_errors=True)
    return outcome


def issue_from_ca(req: ChainRequest, *, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> ChainOutcome:
    """A new edge CA signed by the technician's own CA certificate and key."""
    from core.chain import issue_edge_ca

    if not req.ca_cert or not req.ca_key:
        raise UsageError("the CA certificate and its key are both needed",
                         hint="Choose your CA's certificate file and its private key file.")
    files = issue_edge_ca(
        ca_cert=Path(req.ca_cert).expanduser(), ca_key=Path(req.ca_key).expanduser(),
        out_dir=req.out_dir / f"edge-ca-{_stamp()}", name=req.device_id,
        release=_release(req.release_key), ca_password=_password(req, req.ca_key),
        ca_chain=Path(req.ca_chain).expanduser() if req.ca_chain else None,
        days=req.issue_days or None,
        key_type=_key_type(req.key_type, default="rsa-2048"), progress=progress, cancel=cancel)
    return _from_chain_files(files, req.release_key)


def _password(req: ChainRequest, path: str) -> str | None:
    """The password given for ``path`` (core names files by their expanded path)."""
    return req.passwords.get(str(Path(path).expanduser())) or req.passwords.get(path)


def csr_dir(req: ChainRequest) -> Path:
    """Where the request and its key are kept until the signed certificate comes back."""
    return req.out_dir / f"csr-{req.device_id}"


def make_csr(req: ChainRequest) -> tuple[Path, bytes]:
    """A new edge CA key (kept here, 0600) and a CSR to send to the external CA."""
    from core.chain import make_csr as core_make_csr

    csr_path, _key_path = core_make_csr(
        out_dir=csr_dir(req), name=req.device_id, release=_release(req.release_key),
        key_type=_key_type(req.key_type, default="rsa-2048"))
    return csr_path, csr_path.read_bytes()


def import_signed(req: ChainRequest, *, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> ChainOutcome:
    """The CA's signed certificate, paired with the key made for the CSR, as a full chain."""
    from core.chain import edge_prefix
    from core.chain import import_signed as core_import_signed

    if not req.signed_cert:
        raise UsageError("no signed certificate chosen",
                         hint="Choose the certificate (chain) file your CA sent back.")
    folder = csr_dir(req)
    key = folder / "private" / f"{edge_prefix(req.device_id)}.key.pem"
    if not key.is_file():
        raise UsageError("no key from a certificate request for this device",
                         where=str(folder),
                         hint="Create the request (CSR) first with the same device ID and "
                              "output folder.")
    files = core_import_signed(cert=Path(req.signed_cert).expanduser(), key=key,
                                out_dir=folder, name=req.device_id,
                                release=_release(req.release_key))
    return _from_chain_files(files, req.release_key)


def import_files(req: ChainRequest, *, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> ChainOutcome:
    """Existing files (PEM, DER, PFX; any order): edge CA chain, its key and the root."""
    from core.chain import key_matches, load_files, order_chain

    if not req.import_files:
        raise UsageError("no files to import",
                         hint="Drop the edge CA certificate, its key and the root here.")
    paths = [Path(p).expanduser() for p in req.import_files]
    material = load_files(paths, req.passwords)
    key = None
    if material.certs:
        leaf = order_chain(material.certs)[0]
        key = next((k for k in material.keys if key_matches(k, leaf)), None)
        if key is None:  # the edge CA is the certificate one of the keys belongs to
            key = next((k for k in material.keys
                        if any(key_matches(k, c) for c in material.certs)), None)
    if key is None and material.keys:
        key = material.keys[0]
    # Together the dropped files are the edge CA file and the trust bundle.
    return _outcome(material, key, material, req.release_key, tuple(paths))


def revalidate(outcome: ChainOutcome, release_key: str) -> ChainOutcome:
    """The same chain checked against another release's rules."""
    if outcome.chain is None:
        raise UsageError("no certificate chain to check again",
                         hint="Make or import a chain on the Certificate chain page.")
    edge, key, bundle = outcome.chain
    return dataclasses.replace(_outcome(edge, key, bundle, release_key, outcome.files),
                               folder=outcome.folder)
