"""Target page calls: open the device, read its state, EFLOW address, config copies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UnreadableFileError, UsageError
from core.versions import catalog
from gui.state import WizardState

if TYPE_CHECKING:  # paramiko and the deploy engine load only when a device is opened
    from core.deploy.compare import CertSide
    from core.deploy.state import DeviceState
    from core.targets.base import Target
    from core.versions import EdgeRelease


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


def open_target(req: TargetRequest) -> Target:
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


def _open_ssh(req: TargetRequest) -> Target:
    from core.targets.ssh import SshTarget

    if not req.host:
        raise UsageError("no device address given", hint="Type the device's name or IP address.",
                         where="Target page")
    key_file = None if req.use_password or not req.key_file else \
        str(Path(req.key_file).expanduser())
    return SshTarget.connect(
        req.host,
        port=req.port,
        user=req.user or (EFLOW_USER if req.kind == "eflow" else "root"),
        key_file=key_file,
        key_passphrase=req.key_passphrase or None,
        password=req.ssh_password if req.use_password else None,
        sudo_password=req.sudo_password or None,
        accept_fingerprint=req.accepted_host_key or None,
    )


def _open_eflow(req: TargetRequest) -> Target:
    """The EFLOW VM: PowerShell cmdlets when present, else SSH with EFLOW's own key."""
    from core.targets.eflow import connect_eflow

    return connect_eflow(host=req.host or None,
                         id_rsa=Path(req.key_file).expanduser() if req.key_file else None,
                         port=req.port, sudo_password=req.sudo_password or None,
                         accept_fingerprint=req.accepted_host_key or None)


@dataclass(frozen=True)
class DeviceRead:
    """What the Target page read: the device state, and the certificates its config names."""

    state: DeviceState
    certs: tuple[tuple[str, CertSide], ...] = ()
    """``(role, CertSide)`` of the edge CA and the trust bundle now."""


def read_device(req: TargetRequest) -> DeviceRead:
    """Connect and read the device's current state (version, config, files, backups) and the
    edge CA and trust bundle certificates its configuration names."""
    from core.deploy import compare
    from core.deploy.state import read_device_state, read_file
    from core.errors import TargetError

    target = open_target(req)
    try:
        state = read_device_state(
            target, req.release_key if req.assume_release else None)
        certs = []
        for role, path in compare.current_cert_paths(state.config, state.release.is_legacy):
            first_only = role != "trust bundle"
            if path is None:
                certs.append((role, compare.side("", None, note="not a file (a key store)")))
                continue
            try:
                pem: bytes | None = read_file(target, path)
            except TargetError:
                certs.append((role, compare.side(path, None, note="named, but cannot be read")))
                continue
            certs.append((role, compare.side(path, pem, first_only=first_only)))
        return DeviceRead(state, tuple(certs))
    finally:
        target.close()


def config_copy_certs(copy: ConfigCopy) -> tuple[tuple[str, CertSide], ...]:
    """The certificate files a configuration copy names (their contents are on the device)."""
    from core.deploy import compare

    legacy = copy.release is not None and copy.release.is_legacy
    return tuple((role, compare.side(path or "", None,
                                     note="on the device (not in a copy of its config)"))
                 for role, path in compare.current_cert_paths(copy.config, legacy))


def version_not_detected(exc: BaseException) -> bool:
    """Whether reading the device failed only because ``iotedge version`` did not answer."""
    from core.errors import IotEdgeNotDetectedError

    return isinstance(exc, IotEdgeNotDetectedError)


def device_release(device: DeviceState | ConfigCopy | None) -> str | None:
    """The catalog key of the release the device runs (None: unknown)."""
    if device is None or isinstance(device, ConfigCopy):
        return None
    return device.release.key


def describe_device(device: DeviceState | ConfigCopy) -> str:
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


def unprovisioned(device: DeviceState | ConfigCopy | None) -> str:
    """Why the device cannot take a certificate plan yet ("" when it can, or is unknown).

    ``iotedge config apply`` refuses a configuration without provisioning, and the plan keeps
    the device's own provisioning, so a device that has none cannot be used until provisioned.
    """
    if device is None:
        return ""
    config = device.config
    legacy = device.release is not None and device.release.is_legacy
    if config is None:
        return "IoT Edge on it has no configuration file yet: it is not provisioned"
    text = config.decode("utf-8", "replace")
    try:
        if legacy:
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(text) or {}
        else:
            import tomllib

            data = tomllib.loads(text)
    except Exception:  # a config that does not parse is core's to report at the preview
        return ""
    if isinstance(data, dict) and "provisioning" not in data:
        name = "config.yaml" if legacy else "config.toml"
        return f"its {name} has no provisioning section: it is not provisioned"
    return ""


@dataclass(frozen=True)
class ConfigCopy:
    """The device state known for an export bundle: a local copy of its config file."""

    path: Path
    config: bytes = field(repr=False)
    release: EdgeRelease | None = None
    """The release chosen for it (None: not known yet)."""
    version: str | None = None


def read_config_copy(path: str, release_key: str) -> ConfigCopy:
    """Read a local copy of the device's configuration (checked by core when planning).

    Raises:
        UnreadableFileError: the file cannot be read.
    """
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(
            f"cannot read the configuration copy: {exc.strerror}", where=str(file),
            hint="Choose the config.toml (1.1: config.yaml) copied from the device.") from exc
    return ConfigCopy(file, data, catalog()[release_key])


def detect_eflow_address() -> str:
    """The EFLOW VM's current IP address (``Get-EflowVmAddr`` on this Windows host)."""
    from core.targets.eflow import EflowTarget

    target = EflowTarget()
    try:
        return str(target.address())
    finally:
        target.close()


