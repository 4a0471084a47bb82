"""WizardState: the technician's choices while the wizard is open (mutable, GUI-only).

Pages read and write this object; core values are built from it only when a core call needs
them (``gui.backend``). Secrets (passwords, PINs) live here only while the window is open: they
are excluded from ``repr`` and from :func:`remembered` (what QSettings stores).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from core.bundle import BundleReport
    from core.chain import Finding
    from core.deploy import DeployReport
    from core.deploy.compare import CertSide
    from core.deploy.state import DeviceState
    from core.versions import EdgeRelease
    from gui.backend.chain import ChainOutcome
    from gui.backend.plan import Preview
    from gui.backend.target import ConfigCopy

ChainMode = Literal["demo", "issue", "csr", "import"]
TargetKind = Literal["ssh", "eflow", "local", "bundle"]
EdgeCaMethod = Literal["files", "quickstart", "est"]
Platform = Literal["linux", "windows", "eflow"]

CHAIN_MODES: tuple[ChainMode, ...] = ("demo", "issue", "csr", "import")
TARGET_KINDS: tuple[TargetKind, ...] = ("ssh", "eflow", "local", "bundle")


_SECRET = {"secret": True}
"""Field metadata: never remembered, never shown."""
_TRANSIENT = {"transient": True}
"""Field metadata: results of core calls, not remembered between runs."""


@dataclass(eq=False)
class WizardState:
    """Everything the wizard knows; pages write it, ``gui.backend`` turns it into core values."""

    # -- version page
    release_key: str = "1.6"  # core.versions.DEFAULT_RELEASE
    platform: Platform = "linux"

    # -- chain page
    chain_mode: ChainMode = "demo"
    device_id: str = "edge-device-1"
    """Used for the edge CA common name (``<device_id>.ca``) and file names."""
    key_type: str = "ec-p256"
    """Core key type value (``ec-p256``, ``ec-p384``, ``rsa-2048``, ``rsa-4096``)."""
    ca_cert_file: str = ""
    ca_key_file: str = ""
    ca_chain_file: str = ""
    """Optional: the certificates above the signing CA (the CLI's ``--ca-chain``)."""
    issue_days: int = 0
    """Lifetime of an edge CA issued from the own CA; 0: the release's default."""
    signed_cert_file: str = ""
    import_files: list[str] = field(default_factory=list)
    output_dir: str = ""
    key_password: str = field(default="", repr=False, metadata=_SECRET)
    """Password that protects our own generated CA keys (never the edge CA key)."""
    file_passwords: dict[str, str] = field(default_factory=dict, repr=False,
                                           metadata={"secret": True})

    # -- device settings page
    edge_ca_method: EdgeCaMethod = "files"
    cert_dir: str = ""
    """Device folder for certificates; empty: the release's standard folder."""
    key_dir: str = ""
    quickstart_days: int = 90
    auto_renew: bool = False
    renew_threshold: str = "80%"
    renew_retry: str = "4%"
    est_url: str = ""
    est_username: str = ""
    est_password: str = field(default="", repr=False, metadata=_SECRET)
    pkcs11_uri: str = field(default="", repr=False)
    """PKCS#11 URI of the edge CA key; the PIN part is a secret and is never remembered."""
    pkcs11_lib_path: str = ""

    # -- target page
    target_kind: TargetKind = "ssh"
    host: str = ""
    port: int = 22
    user: str = ""
    key_file: str = ""
    use_password: bool = False
    ssh_password: str = field(default="", repr=False, metadata=_SECRET)
    sudo_password: str = field(default="", repr=False, metadata=_SECRET)
    bundle_dir: str = ""
    config_copy: str = ""
    """Local copy of the device's config file, for an export bundle (no connection)."""
    assume_release: bool = field(default=False, repr=False, metadata=_TRANSIENT)
    """The technician chose to go on with the release of page 1 (version not detected)."""
    accepted_host_key: str = field(default="", repr=False, metadata=_TRANSIENT)
    """SHA256 fingerprint the technician confirmed for ``host`` in this session."""

    # -- results of core calls (never remembered)
    chain: ChainOutcome | None = field(default=None, repr=False, metadata=_TRANSIENT)
    findings: tuple[Finding, ...] = field(default=(), repr=False, metadata=_TRANSIENT)
    csr_pem: bytes = field(default=b"", repr=False, metadata=_TRANSIENT)
    demo: tuple[tuple[str, ...], ChainOutcome] | None = field(default=None, repr=False,
                                                             metadata=_TRANSIENT)
    """``(inputs it was made for, ChainOutcome)`` of this run's demo chain: made once, reused
    until an input it depends on changes."""
    device_state: DeviceState | ConfigCopy | None = field(default=None, repr=False,
                                                         metadata=_TRANSIENT)
    device_certs: tuple[tuple[str, CertSide], ...] = field(default=(), repr=False,
                                                           metadata=_TRANSIENT)
    """``(role, CertSide)``: the edge CA and trust bundle on the device now."""
    plan: Preview | None = field(default=None, repr=False, metadata=_TRANSIENT)
    """The plan and its diff, as the preview showed them."""
    deploy_report: DeployReport | BundleReport | None = field(default=None, repr=False,
                                                              metadata=_TRANSIENT)

    @property
    def release(self) -> EdgeRelease:
        """The chosen IoT Edge release (the settings keep its catalog key)."""
        from core.versions import catalog

        return catalog()[self.release_key]

    @property
    def has_blocking_findings(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def chain_ready(self) -> bool:
        """A chain is loaded and has no errors (warnings do not block)."""
        if self.edge_ca_method != "files":
            return True
        return self.chain is not None and not self.has_blocking_findings

    def forget_results_after_target(self) -> None:
        """The target changed: what was read from the old one no longer holds."""
        self.device_state = None
        self.device_certs = ()
        self.plan = None
        self.deploy_report = None

    def forget_plan(self) -> None:
        self.plan = None
        self.deploy_report = None

    def resolved_output_dir(self) -> Path:
        """Where generated files and reports go (a folder in the home directory by default)."""
        if self.output_dir:
            return Path(self.output_dir).expanduser()
        return Path.home() / "edgecert" / (self.device_id or "device")


_REMEMBERED = tuple(
    f.name
    for f in fields(WizardState)
    if not f.metadata.get("secret") and not f.metadata.get("transient")
)


def remembered(state: WizardState) -> dict[str, Any]:
    """The non-secret last inputs worth restoring next time (never passwords or PINs)."""
    out: dict[str, Any] = {}
    for name in _REMEMBERED:
        value = getattr(state, name)
        if name == "pkcs11_uri":
            value = strip_pin(value)
        out[name] = list(value) if isinstance(value, list) else value
    return out


def restore(state: WizardState, values: dict[str, Any]) -> None:
    """Put remembered values back, ignoring anything unknown or of the wrong type."""
    defaults = WizardState()
    for name in _REMEMBERED:
        if name not in values:
            continue
        value = values[name]
        want = type(getattr(defaults, name))
        try:
            if want is bool and isinstance(value, str):
                value = value.lower() in {"1", "true", "yes"}
            elif want is list:
                value = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
            else:
                value = want(value)
        except (TypeError, ValueError):
            continue
        setattr(state, name, value)


def strip_pin(uri: str) -> str:
    """A PKCS#11 URI without its ``pin-value`` attribute (what may be shown and stored)."""
    from core.config.uris import without_pin

    return without_pin(uri)

