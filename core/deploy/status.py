"""``device status``: version, configured edge CA and trust bundle with expiry, last backup."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from cryptography import x509
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from core.deploy.state import BackupInfo, DeviceState, read_device_state, read_file
from core.errors import TargetError
from core.targets.base import Target
from core.versions import release


@dataclass(frozen=True)
class CertStatus:
    """One certificate file the config names, and what is in it."""

    role: str
    uri: str
    path: str | None
    subject: str | None = None
    not_after: dt.datetime | None = None
    problem: str | None = None


@dataclass(frozen=True)
class DeviceStatus:
    """What ``edgecert device status`` prints."""

    target: str
    version: str | None
    release: str
    config_path: str
    config_present: bool
    certs: tuple[CertStatus, ...]
    edge_ca_mode: str
    last_backup: BackupInfo | None

    def describe(self, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now(dt.UTC)
        lines = [
            f"device: {self.target}",
            f"IoT Edge: {self.version or 'not found'} (release {self.release}"
            + (f", {support})" if (support := release(self.release).support_text) else ")"),
            f"config: {self.config_path}" + ("" if self.config_present else " (missing)"),
            f"edge CA: {self.edge_ca_mode}",
        ]
        for c in self.certs:
            if c.problem:
                lines.append(f"{c.role}: {c.uri}: {c.problem}")
                continue
            assert c.not_after is not None
            days = (c.not_after - now).days
            state = "EXPIRED" if days < 0 else f"{days} days left"
            lines.append(f"{c.role}: {c.path} ({c.subject}) expires "
                         f"{c.not_after:%Y-%m-%d} ({state})")
        b = self.last_backup
        lines.append(f"last deploy: {b.describe()}" if b else "last deploy: none")
        return "\n".join(lines)


def configured_certs(config: bytes | None, legacy: bool) -> tuple[str, list[tuple[str, str]]]:
    """The edge CA mode and the (role, URI) pairs of the certificate files a config names."""
    if config is None:
        return "none (no config)", []
    text = config.decode("utf-8", "replace")
    if legacy:
        try:
            data = YAML(typ="safe").load(text) or {}
        except YAMLError:
            return "config.yaml does not parse", []
        certs = data.get("certificates") if isinstance(data, dict) else None
        if not isinstance(certs, dict):
            return "quickstart (no certificates: section)", []
        out = [(r, str(certs[k])) for r, k in (("device CA", "device_ca_cert"),
                                                ("trust bundle", "trusted_ca_certs")) if k in certs]
        full = all(k in certs for k in ("device_ca_cert", "device_ca_pk", "trusted_ca_certs"))
        return ("own device CA" if full else "quickstart (partial certificates: block)"), out
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "config.toml does not parse", []
    out = []
    if isinstance(doc.get("trust_bundle_cert"), str):
        out.append(("trust bundle", doc["trust_bundle_cert"]))
    edge = doc.get("edge_ca")
    if not isinstance(edge, dict):
        return "quickstart (no [edge_ca])", out
    if "method" in edge:
        return f"issued ({edge['method']})", out
    if "cert" in edge:
        out.insert(0, ("edge CA", str(edge["cert"])))
        return "own edge CA (preloaded cert and key)", out
    return "quickstart", out


def _path_of(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if uri.startswith("/"):
        return uri
    return None


def device_status(target: Target, wanted: str | None = None) -> DeviceStatus:
    """Read the device and summarize its certificate setup.

    Args:
        target: the device.
        wanted: release to assume; None detects it.

    Returns:
        The summary; unreadable certificate files are reported, not raised.

    Raises:
        TargetError, AuthError, ConnectError: from reading the device.
    """
    state: DeviceState = read_device_state(target, wanted)
    mode, pairs = configured_certs(state.config, state.release.is_legacy)
    certs = []
    for role, uri in pairs:
        path = _path_of(uri)
        if path is None:
            certs.append(CertStatus(role, uri, None, problem="not a file URI"))
            continue
        try:
            cert = x509.load_pem_x509_certificate(read_file(target, path))
        except TargetError:
            certs.append(CertStatus(role, uri, path, problem="cannot be read"))
            continue
        except ValueError:
            certs.append(CertStatus(role, uri, path, problem="not a PEM certificate"))
            continue
        certs.append(CertStatus(role, uri, path, cert.subject.rfc4514_string(),
                                cert.not_valid_after_utc))
    return DeviceStatus(target.name, state.version, state.release.key, state.config_path,
                        state.config is not None, tuple(certs), mode, state.last_backup)
