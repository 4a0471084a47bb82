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
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from core.errors import EdgecertError, UsageError
from core.progress import CancelToken, ProgressCallback, ProgressEvent
from core.versions import catalog
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
    """A chain ready for the device, with what the chain view shows."""

    chain: Any
    """The core chain object (certificates and edge CA key material)."""
    rows: tuple[CertRow, ...]
    findings: tuple[Any, ...]
    files: tuple[Path, ...] = ()
    release_key: str = ""


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
            try:
                uris.file_uri(value or "relative")
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


def target_request(state: WizardState) -> TargetRequest:
    return TargetRequest(
        kind=state.target_kind, host=state.host, port=state.port, user=state.user,
        key_file=state.key_file, use_password=state.use_password, bundle_dir=state.bundle_dir,
        accepted_host_key=state.accepted_host_key, release_key=state.release_key,
        platform=state.platform, ssh_password=state.ssh_password,
        sudo_password=state.sudo_password,
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
    if req.kind in ("ssh", "eflow"):
        return _open_ssh(req)
    raise UsageError("an export bundle has no device to talk to",
                     hint="Choose an SSH device, the EFLOW VM or this computer.")


def _open_ssh(req: TargetRequest) -> Any:
    _pending("core.targets.ssh")


def read_device(req: TargetRequest) -> Any:
    """Connect and read the device's current state (version, config, files, backups)."""
    deploy_mod = _core("core.deploy")
    target = open_target(req)
    try:
        return deploy_mod.read_device_state(target, None)
    finally:
        target.close()


def device_release(device: Any) -> str | None:
    """The catalog key of the release the device runs (None: unknown)."""
    rel = getattr(device, "release", None)
    return getattr(rel, "key", None)


def describe_device(device: Any) -> str:
    """The device state as a few readable lines (no secret: the config text is not shown)."""
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


def detect_eflow_address() -> str:
    _pending("core.targets.eflow")


# ---- preview, deploy, summary -------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    release_key: str
    platform: str
    chain: Any
    settings: SettingsRequest
    device: Any
    target_kind: str


def plan_request(state: WizardState) -> PlanRequest:
    return PlanRequest(release_key=state.release_key, platform=state.platform,
                       chain=state.chain, settings=settings_request(state),
                       device=state.device_state, target_kind=state.target_kind)


def make_preview(req: PlanRequest) -> Any:
    _pending("core.config.planning")


def describe_preview(preview: Any) -> str:
    return ""


def preview_diff(preview: Any) -> tuple[str, str, str]:
    return "", "", ""


def preview_plan(preview: Any) -> Any:
    return getattr(preview, "plan", preview)


def preview_warnings(preview: Any) -> tuple[str, ...]:
    return tuple(getattr(preview_plan(preview), "warnings", ()))


def deploy(req: TargetRequest, preview: Any, *, progress: ProgressCallback | None = None,
           cancel: CancelToken | None = None) -> Any:
    """Carry out the previewed plan on the target (or write the export bundle)."""
    plan = preview_plan(preview)
    if req.kind == "bundle":
        return export_bundle(plan, Path(req.bundle_dir), progress=progress)
    deploy_mod = _core("core.deploy")
    target = open_target(req)
    try:
        return deploy_mod.deploy(plan, target, progress=progress, cancel=cancel)
    finally:
        target.close()


def export_bundle(plan: Any, folder: Path, *, progress: ProgressCallback | None = None) -> Any:
    _pending("core.deploy.bundle")


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


Summary = Any


def summarize(req: SummaryRequest) -> Any:
    _pending("core.deploy.apply")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
