"""The wizard's calls into core: WizardState → core values → core functions → view values.

Every function here is synchronous and thread-agnostic; pages run them through
``gui.workers.run_job``. Nothing here decides a domain question: each answer comes from core.
Heavy core modules (cryptography, paramiko) are imported inside the functions so the window
appears before they load.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import Any, NoReturn

from core.errors import EdgecertError, UsageError
from core.progress import CancelToken, ProgressCallback, ProgressEvent
from core.versions import catalog
from gui.report import CheckLine, Summary, Thumbprint
from gui.state import WizardState
from gui.widgets.chain_view import CertRow


def _core(name: str) -> ModuleType:
    """Import a core module, or say clearly that this build lacks it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise EdgecertError(
                f"this build of edgecert has no {name}",
                hint="Install a complete edgecert release; the CLI `edgecert --help` lists "
                     "what this build can do.",
            ) from exc
        raise


def _pending(name: str) -> NoReturn:
    _core(name)
    raise EdgecertError(f"{name} cannot do this yet in this build",
                        hint="Use the edgecert CLI for this step, or a newer release.")


def severity(finding: Any) -> str:
    value = getattr(finding, "severity", "info")
    return str(getattr(value, "value", value)).lower()


def release_label(release_key: str) -> str:
    return catalog()[release_key].label


def warning_days(release_key: str) -> int:
    return catalog()[release_key].expiry_warning_days


# ---- chain ---------------------------------------------------------------------------------------


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


# ---- device settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsRequest:
    release_key: str
    method: str
    cert_dir: str
    key_dir: str
    quickstart_days: int
    auto_renew: bool
    threshold: str
    retry: str
    est_url: str
    est_username: str
    pkcs11_uri: str = field(repr=False)
    pkcs11_lib_path: str
    est_password: str = field(default="", repr=False)


def settings_request(state: WizardState) -> SettingsRequest:
    return SettingsRequest(
        release_key=state.release_key, method=state.edge_ca_method, cert_dir=state.cert_dir,
        key_dir=state.key_dir, quickstart_days=state.quickstart_days,
        auto_renew=state.auto_renew, threshold=state.renew_threshold, retry=state.renew_retry,
        est_url=state.est_url, est_username=state.est_username, pkcs11_uri=state.pkcs11_uri,
        pkcs11_lib_path=state.pkcs11_lib_path, est_password=state.est_password,
    )


def check_device_settings(req: SettingsRequest) -> dict[str, str]:
    """Every problem of the device settings, by field name (empty: all fine)."""
    renewal = _core("core.config.renewal")
    uris = _core("core.config.uris")
    problems: dict[str, str] = {}

    def record(name: str, exc: EdgecertError) -> None:
        problems[name] = f"{exc.message}. {exc.hint}".strip()

    rel = catalog()[req.release_key]
    if req.method == "files":
        for name, value in (("cert_dir", req.cert_dir), ("key_dir", req.key_dir)):
            if not value:
                continue  # the release's standard folder
            try:
                uris.file_uri(value)
            except EdgecertError as exc:
                record(name, exc)
        if req.pkcs11_uri:
            try:
                uris.parse_pkcs11_uri(req.pkcs11_uri, key="PKCS#11 key URI")
            except EdgecertError as exc:
                record("pkcs11_uri", exc)
            if not req.pkcs11_lib_path:
                problems["pkcs11_lib_path"] = ("A PKCS#11 key needs the library path "
                                               "([aziot_keys] pkcs11_lib_path).")
    if req.method == "est" and not req.est_url.startswith("https://"):
        problems["est_url"] = "The EST server URL must start with https://."
    if req.auto_renew and rel.auto_renew and req.method in ("quickstart", "est"):
        for name, value in (("threshold", req.threshold), ("retry", req.retry)):
            try:
                renewal.parse_policy(value, field=name)
            except EdgecertError as exc:
                record(name, exc)
    return problems


# ---- target ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRequest:
    kind: str
    host: str
    port: int
    user: str
    key_file: str
    use_password: bool
    bundle_dir: str
    accepted_host_key: str
    release_key: str
    platform: str
    ssh_password: str = field(default="", repr=False)
    sudo_password: str = field(default="", repr=False)
    key_passphrase: str = field(default="", repr=False)
    assume_release: bool = False
    """Read the device as ``release_key`` when ``iotedge version`` does not answer."""


def target_request(state: WizardState) -> TargetRequest:
    return TargetRequest(
        kind=state.target_kind, host=state.host, port=state.port, user=state.user,
        key_file=state.key_file, use_password=state.use_password, bundle_dir=state.bundle_dir,
        accepted_host_key=state.accepted_host_key, release_key=state.release_key,
        platform=state.platform, ssh_password=state.ssh_password,
        sudo_password=state.sudo_password,
        key_passphrase=state.file_passwords.get(state.key_file, ""),
        assume_release=state.assume_release,
    )


def target_label(state: WizardState) -> str:
    if state.target_kind == "ssh":
        return f"{state.user + '@' if state.user else ''}{state.host}:{state.port}"
    if state.target_kind == "eflow":
        return f"EFLOW VM {state.host}".strip()
    if state.target_kind == "local":
        return "this computer"
    return f"bundle folder {state.bundle_dir}"


def open_target(req: TargetRequest) -> Any:
    """A connected core Target for the request (the caller closes it).

    Raises:
        HostKeyUnknownError: first contact; the GUI asks, then retries with the fingerprint.
        HostKeyChangedError, AuthError, ConnectError: from the SSH target.
    """
    if req.kind == "local":
        from core.targets.local import LocalTarget

        return LocalTarget(sudo_password=req.sudo_password or None)
    if req.kind == "eflow":
        return _open_eflow(req)
    if req.kind == "ssh":
        return _open_ssh(req)
    raise UsageError("an export bundle has no device to talk to",
                     hint="Choose an SSH device, the EFLOW VM or this computer.")


EFLOW_USER = "iotedge-user"


def _open_ssh(req: TargetRequest) -> Any:
    ssh = _core("core.targets.ssh")
    if not req.host:
        raise UsageError("no device address given", hint="Type the device's name or IP address.",
                         where="Target page")
    key_file = None if req.use_password or not req.key_file else \
        str(Path(req.key_file).expanduser())
    return ssh.SshTarget.connect(
        req.host,
        port=req.port,
        user=req.user or (EFLOW_USER if req.kind == "eflow" else "root"),
        key_file=key_file,
        key_passphrase=req.key_passphrase or None,
        password=req.ssh_password if req.use_password else None,
        sudo_password=req.sudo_password or None,
        accept_fingerprint=req.accepted_host_key or None,
    )


def _open_eflow(req: TargetRequest) -> Any:
    """The EFLOW VM: PowerShell cmdlets when present, else SSH with EFLOW's own key."""
    eflow = _core("core.targets.eflow")
    options: dict[str, Any] = {"port": req.port, "sudo_password": req.sudo_password or None,
                               "accept_fingerprint": req.accepted_host_key or None}
    if req.key_file:
        return eflow.connect_eflow(host=req.host or None, id_rsa=Path(req.key_file).expanduser(),
                                   **options)
    return eflow.connect_eflow(host=req.host or None, **options)


def read_device(req: TargetRequest) -> Any:
    """Connect and read the device's current state (version, config, files, backups)."""
    deploy_mod = _core("core.deploy")
    target = open_target(req)
    try:
        return deploy_mod.read_device_state(
            target, req.release_key if req.assume_release else None)
    finally:
        target.close()


def version_not_detected(exc: BaseException) -> bool:
    """Whether reading the device failed only because ``iotedge version`` did not answer."""
    from core.errors import TargetError

    return type(exc) is TargetError and "iotedge version" in str(exc)


def device_release(device: Any) -> str | None:
    """The catalog key of the release the device runs (None: unknown)."""
    if isinstance(device, ConfigCopy):
        return None
    rel = getattr(device, "release", None)
    return getattr(rel, "key", None)


def describe_device(device: Any) -> str:
    """The device state as a few readable lines (no secret: the config text is not shown)."""
    if isinstance(device, ConfigCopy):
        return (f"Configuration copy: {device.path} ({len(device.config)} bytes).\n"
                "The bundle's install script re-checks the device before changing anything.")
    lines = [f"IoT Edge: {device.version or 'not installed'} ({device.release.label})"]
    cfg = device.file(device.config_path)
    if cfg.exists:
        lines.append(f"Config: {device.config_path} ({cfg.size} bytes, mode "
                     f"{cfg.mode:04o} {cfg.user}:{cfg.group}, sha256 {str(cfg.sha256)[:12]}…)")
    else:
        lines.append(f"Config: {device.config_path} does not exist yet")
    for f in device.files:
        if f.path == device.config_path or not f.exists:
            continue
        lines.append(f"{f.kind}: {f.path} mode {f.mode:04o} {f.user}:{f.group}")
    last = device.last_backup
    if last is not None:
        lines.append(f"Last edgecert backup: {last.path} ({last.status})")
    return "\n".join(lines)


@dataclass(frozen=True)
class ConfigCopy:
    """The device state known for an export bundle: a local copy of its config file."""

    path: Path
    config: bytes = field(repr=False)
    release: Any = None
    version: str | None = None


def read_config_copy(path: str, release_key: str) -> ConfigCopy:
    """Read a local copy of the device's configuration (checked by core when planning).

    Raises:
        UnreadableFileError: the file cannot be read.
    """
    errors = _core("core.errors")
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise errors.UnreadableFileError(
            f"cannot read the configuration copy: {exc.strerror}", where=str(file),
            hint="Choose the config.toml (1.1: config.yaml) copied from the device.") from exc
    return ConfigCopy(file, data, catalog()[release_key])


def detect_eflow_address() -> str:
    """The EFLOW VM's current IP address (``Get-EflowVmAddr`` on this Windows host)."""
    eflow = _core("core.targets.eflow")
    target = eflow.EflowTarget()
    try:
        return str(target.address())
    finally:
        target.close()


# ---- preview, deploy, summary -------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    release_key: str
    platform: str
    chain: ChainOutcome | None
    settings: SettingsRequest
    device: Any
    target_kind: str


def plan_request(state: WizardState) -> PlanRequest:
    return PlanRequest(release_key=state.release_key, platform=state.platform,
                       chain=state.chain, settings=settings_request(state),
                       device=state.device_state, target_kind=state.target_kind)


def _join(platform: str, folder: str, name: str) -> str:
    if platform == "windows":
        return str(PureWindowsPath(folder) / name)
    return str(PurePosixPath(folder) / name)


def device_file_paths(release_key: str, platform: str, cert_dir: str, key_dir: str
                      ) -> tuple[str, str, str]:
    """Edge CA cert, key and trust bundle paths on the device (core's names, chosen folders)."""
    planning = _core("core.config.planning")
    defaults = planning.default_paths(catalog()[release_key], platform)
    windows = platform == "windows"
    pure = PureWindowsPath if windows else PurePosixPath

    def place(default: str, folder: str) -> str:
        return _join(platform, folder, pure(default).name) if folder else default

    return (place(defaults.edge_ca_cert, cert_dir), place(defaults.edge_ca_key, key_dir),
            place(defaults.trust_bundle, cert_dir))


def cert_settings(req: SettingsRequest, platform: str, chain: ChainOutcome | None) -> Any:
    """The wizard's device settings as ``core.config.settings.CertSettings``."""
    cfg = _core("core.config.settings")
    uris = _core("core.config.uris")
    rel = catalog()[req.release_key]
    renew = None
    if req.auto_renew and rel.auto_renew and req.method in ("quickstart", "est"):
        renew = cfg.AutoRenew(rotate_key=True, threshold=req.threshold, retry=req.retry)
    if req.method == "quickstart":
        return cfg.CertSettings(edge_ca=cfg.Quickstart(expiry_days=req.quickstart_days),
                                auto_renew=renew)
    if req.method == "est":
        return cfg.CertSettings(
            edge_ca=cfg.Issued(method="est", url=req.est_url,
                               username=req.est_username or None,
                               password=req.est_password or None),
            auto_renew=renew)
    if chain is None:
        raise UsageError("no certificate chain yet",
                         hint="Go back to the Certificate chain page and make or import one.")
    cert, key, bundle = device_file_paths(req.release_key, platform, req.cert_dir, req.key_dir)
    pk = req.pkcs11_uri or uris.file_uri(key)
    pkcs11 = cfg.Pkcs11(lib_path=req.pkcs11_lib_path) if req.pkcs11_uri else None
    return cfg.CertSettings(edge_ca=cfg.Preloaded(cert=uris.file_uri(cert), pk=pk),
                            trust_bundle_cert=uris.file_uri(bundle), pkcs11=pkcs11)


@dataclass(frozen=True)
class Preview:
    """The plan and its config diff, redacted for display."""

    plan: Any
    unified: str
    before: str = field(repr=False)
    after: str = field(repr=False)
    config_path: str = ""
    new_file: bool = False


def make_preview(req: PlanRequest) -> Preview:
    """Build the plan with core (no I/O) and the redacted diff the preview shows."""
    planning = _core("core.config.planning")
    diff = _core("core.config.diff")
    release = _core("core.versions").release(req.release_key)
    settings = cert_settings(req.settings, req.platform, req.chain)
    files = req.chain is not None and req.settings.method == "files"
    chain = req.chain
    lifetime = None
    if chain is not None and chain.edge_ca is not None:
        lifetime = chain.edge_ca.not_after - chain.edge_ca.not_before
    plan = planning.build_plan(
        release=release,
        platform=req.platform,
        settings=settings,
        current_config=getattr(req.device, "config", None),
        edge_ca_cert=chain.edge_ca_chain_pem if files and chain is not None else None,
        edge_ca_key=(chain.edge_ca_key_pem if files and chain is not None
                     and not req.settings.pkcs11_uri else None),
        trust_bundle=chain.trust_bundle_pem if files and chain is not None else None,
        cert_lifetime=lifetime,
        edge_ca_cn=chain.edge_ca_cn if files and chain is not None else None,
    )
    before = "" if plan.config.before is None else plan.config.before.decode("utf-8", "replace")
    after = plan.config.after.decode("utf-8", "replace")
    return Preview(plan=plan, unified=planning.plan_diff(plan), before=diff.redact(before),
                   after=diff.redact(after), config_path=plan.config.path,
                   new_file=plan.config.before is None)


def describe_preview(preview: Preview) -> str:
    plan = preview.plan
    n = len(plan.files)
    state = "a new file" if preview.new_file else (
        "changed" if plan.config.changed else "unchanged")
    return (f"{preview.config_path}: {state}; {n} file(s) to install; "
            f"{len(plan.apply)} apply and {len(plan.check)} check command(s).")


def preview_diff(preview: Preview) -> tuple[str, str, str]:
    return preview.unified, preview.before, preview.after


def preview_plan(preview: Any) -> Any:
    return getattr(preview, "plan", preview)


def preview_warnings(preview: Any) -> tuple[str, ...]:
    return tuple(getattr(preview_plan(preview), "warnings", ()))


DEPLOY_OPTIONS: dict[str, Any] = {}
"""Extra keyword arguments for ``core.deploy.deploy`` (tests keep backups in a sandbox)."""


def deploy(req: TargetRequest, preview: Any, *, progress: ProgressCallback | None = None,
           cancel: CancelToken | None = None) -> Any:
    """Carry out the previewed plan on the target (or write the export bundle)."""
    plan = preview_plan(preview)
    if req.kind == "bundle":
        return export_bundle(plan, Path(req.bundle_dir), progress=progress)
    deploy_mod = _core("core.deploy")
    target = open_target(req)
    try:
        return deploy_mod.deploy(plan, target, progress=progress, cancel=cancel,
                                 **DEPLOY_OPTIONS)
    finally:
        target.close()


def export_bundle(plan: Any, folder: Path, *, progress: ProgressCallback | None = None) -> Any:
    """Write the plan as an export bundle (folder, or zip when the name ends in .zip)."""
    bundle = _core("core.bundle")
    if not str(folder):
        raise UsageError("no bundle folder given", hint="Choose a new, empty folder.")
    return bundle.export_bundle(plan, folder.expanduser(), progress=progress)


PHASES = ("read", "stage", "install", "apply", "check", "done")
"""The deploy's phases in order (``core.deploy.deploy`` progress step names)."""


def step_phase(event: ProgressEvent) -> str | None:
    """Which phase a deploy progress event belongs to (uploads are part of staging)."""
    if event.step == "upload":
        return "stage"
    return event.step if event.step in PHASES else None


def describe_deploy(report: Any) -> str:
    describe = getattr(report, "describe", None)
    return str(describe()).splitlines()[0] if callable(describe) else "Done."


@dataclass(frozen=True)
class SummaryRequest:
    release_key: str
    target: str
    chain: Any
    deploy_report: Any
    output_dir: Path
    settings: SettingsRequest


def summary_request(state: WizardState) -> SummaryRequest:
    return SummaryRequest(release_key=state.release_key, target=target_label(state),
                          chain=state.chain, deploy_report=state.deploy_report,
                          output_dir=state.resolved_output_dir(),
                          settings=settings_request(state))


def summarize(req: SummaryRequest) -> Summary:
    """The summary page's values from the deploy report, the chain and the settings."""
    rel = catalog()[req.release_key]
    rep = req.deploy_report
    chain: ChainOutcome | None = req.chain if req.settings.method == "files" else None
    checks = tuple(CheckLine(c.id, c.result, tuple(c.details))
                   for c in getattr(rep, "checks", ()))
    note = ""
    backup = getattr(rep, "backup_dir", None) or ""
    files: tuple[str, ...] = tuple(getattr(rep, "installed", ()))
    if hasattr(rep, "names") and hasattr(rep, "path"):  # an export bundle
        note = (f"Bundle written to {rep.path}. Copy it to the device and run install.sh as "
                "root; it backs up, installs, applies and checks like a deploy.")
        backup = "made by install.sh on the device"
        files = tuple(rep.names)
    elif getattr(rep, "outcome", "") == "already-deployed":
        note = "The device already ran this plan; nothing was changed."
    expiry = chain.edge_ca.not_after if chain is not None and chain.edge_ca else None
    s = req.settings
    if s.method in ("quickstart", "est") and s.auto_renew and rel.auto_renew:
        renewal = (f"The device renews its {rel.ca_term} itself: at {s.threshold} "
                   f"(retry every {s.retry}). Each renewal restarts all modules.")
    elif s.method == "quickstart":
        renewal = (f"Quickstart {rel.ca_term}, {s.quickstart_days} days, not renewed "
                   "automatically: restart IoT Edge or deploy again before it ends.")
    elif expiry is not None:
        plan_by = expiry - dt.timedelta(days=max(rel.expiry_warning_days, 30))
        renewal = (f"Not renewed by the device: replace the {rel.ca_term} before "
                   f"{plan_by:%Y-%m-%d} (it expires {expiry:%Y-%m-%d}).")
    else:
        renewal = "Issued by the EST server."
    prints = tuple(Thumbprint(r.role, r.subject, r.sha256, not_after=r.not_after)
                   for r in (chain.rows if chain is not None else ()))
    return Summary(target=req.target, release=rel.label, ca_term=rel.ca_term,
                   edge_ca_expiry=expiry, renewal=renewal, backup_location=backup,
                   output_dir=str(req.output_dir), checks=checks,
                   checks_note=note or "no certificate checks were reported",
                   thumbprints=prints, files=files)
