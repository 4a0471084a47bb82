"""One site device's plan: read it, decide whether it is already as wanted, else plan its deploy.

A device is *unchanged* when its edge CA comes from the site CA (the signature checked), has
the device's CN, ends more than ``renew_within_days`` from now, and the config and files the
site wants are exactly those on the device. Otherwise it gets a new edge CA from the site CA
and a plan through ``plan_deploy`` (the pre-flight and ``build_plan`` every front end uses),
with ``hostname`` / ``parent_hostname`` from the site file written into its config.toml.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509

from core.chain.demo import edge_ca_common_name
from core.chain.inspect import common_name
from core.config.planning import default_paths
from core.config.settings import CertSettings, Preloaded
from core.config.toml_edit import our_template
from core.config.uris import file_uri
from core.deploy.preflight import CheckedPlan, check_device_release, load_inputs, plan_deploy
from core.deploy.state import DeviceState, read_device_state, read_file
from core.errors import UsageError
from core.plan import Plan
from core.site.authority import Authority, EdgeCaFiles, issue_for
from core.site.hostnames import with_hostnames
from core.site.model import Site, SiteDevice
from core.targets.base import Target
from core.versions import EdgeRelease, release

Action = Literal["unchanged", "deploy"]


@dataclass(frozen=True)
class CurrentEdgeCa:
    """The edge CA the device has now (from its standard path)."""

    subject: str
    serial: str
    not_after: dt.datetime
    from_site_ca: bool


@dataclass(frozen=True)
class DevicePlan:
    """What ``site deploy`` would do to one device, and why."""

    device: SiteDevice
    version: str | None
    release: str
    action: Action
    reason: str
    current: CurrentEdgeCa | None
    checked: CheckedPlan | None = field(default=None, repr=False)
    """The plan to deploy (None when unchanged)."""
    edge: EdgeCaFiles | None = field(default=None, repr=False)
    """The new edge CA (None when unchanged)."""
    hostname: str | None = None
    parent_hostname: str | None = None

    @property
    def plan(self) -> Plan | None:
        return None if self.checked is None else self.checked.plan

    def changes(self) -> tuple[str, ...]:
        """One line per change the deploy makes (empty when unchanged)."""
        plan = self.plan
        if plan is None:
            return ()
        out = []
        if self.edge is not None:
            out.append(f"new edge CA {edge_ca_common_name(self.device.name)} "
                       f"(until {self.edge.not_after:%Y-%m-%d})")
        out += [f"install {f.path}" for f in plan.files]
        if plan.config.changed:
            out.append(f"edit {plan.config.path}" if plan.config.before is not None
                       else f"create {plan.config.path}")
        out += [" ".join(c.argv) for c in plan.apply]
        return tuple(out)


def _current(target: Target, state: DeviceState, path: str, auth: Authority
             ) -> tuple[CurrentEdgeCa | None, bytes | None]:
    if state.file(path).kind != "file":
        return None, None
    data = read_file(target, path)
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None, None
    return CurrentEdgeCa(cert.subject.rfc4514_string(), format(cert.serial_number, "x"),
                         cert.not_valid_after_utc, auth.issued(cert)), data


def _settings(rel: EdgeRelease) -> CertSettings:
    paths = default_paths(rel, "linux")
    return CertSettings(edge_ca=Preloaded(file_uri(paths.edge_ca_cert),
                                          file_uri(paths.edge_ca_key)),
                        trust_bundle_cert=file_uri(paths.trust_bundle))


def _refuse_nested_dps(device: SiteDevice, config: bytes | None) -> None:
    if device.parent is None or config is None:
        return
    try:
        doc = tomllib.loads(config.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return  # build_plan names the parse error with its line
    prov = doc.get("provisioning")
    if isinstance(prov, dict) and prov.get("source") == "dps":
        raise UsageError(
            f"{device.name} is a nested child (parent {device.parent}) but its config.toml "
            "provisions with DPS, which the runtime refuses (\"DPS provisioning is not "
            "supported in nested mode\"); nothing was written", where=device.where,
            hint="Provision the child manually (its connection goes through the parent), or "
                 "remove its parent from the site file.")


def _build(device: SiteDevice, site: Site, rel: EdgeRelease, state: DeviceState,
           cert: bytes, key: bytes | None, auth: Authority) -> CheckedPlan:
    inputs = load_inputs(edge_ca_cert=cert, edge_ca_key=key, trust_bundle=auth.trust_bundle)
    base = state.config if state.config is not None else state.template
    text = base.decode("utf-8") if base is not None else our_template()
    wanted = with_hostnames(text, hostname=device.hostname,
                            parent_hostname=site.parent_hostname(device),
                            where=state.config_path)
    checked = plan_deploy(inputs, release=rel, platform="linux", settings=_settings(rel),
                          current_config=wanted.encode("utf-8"))
    # the plan's "before" is what the device holds (drift check, diff), not the edited text
    plan = dataclasses.replace(checked.plan, config=dataclasses.replace(
        checked.plan.config, before=state.config))
    return dataclasses.replace(checked, plan=plan)


def _as_wanted(plan: Plan, state: DeviceState, key_path: str) -> bool:
    """The config, the files with their modes and owners, and the key's protection as wanted."""
    if plan.config.before is None or plan.config.after != plan.config.before:
        return False
    for f in plan.files:
        now = state.file(f.path)
        if (now.sha256, now.mode, now.user, now.group) != (f.sha256, f.mode, f.owner, f.group):
            return False
    key = state.file(key_path)
    return key.kind == "file" and key.mode == 0o600 and key.user == "aziotks"


def plan_device(target: Target, device: SiteDevice, site: Site, auth: Authority, *,
                now: dt.datetime | None = None, reissue: bool = False) -> DevicePlan:
    """Read ``device`` and plan it (nothing is written).

    Args:
        reissue: a new edge CA even when the current one is fine (``site deploy --renew``).

    Raises:
        UsageError: 1.1 device, nested child on DPS, or a version other than the site's.
        EdgecertError: whatever reading the device or planning raises.
    """
    now = now or dt.datetime.now(dt.UTC)
    wanted = None if device.iotedge == "auto" else device.iotedge
    guess = release(wanted or "1.5")
    paths = default_paths(guess, "linux")
    state = read_device_state(target, wanted, paths=[paths.edge_ca_cert, paths.edge_ca_key,
                                                     paths.trust_bundle])
    check_device_release(wanted, state.version, where=device.where)
    rel = state.release
    if rel.is_legacy:
        raise UsageError(f"{device.name} runs IoT Edge {state.version or rel.key}; site "
                         "deploy sets hostnames in config.toml (IoT Edge 1.2 and later)",
                         where=device.where,
                         hint="Upgrade the device, or deploy it on its own with "
                              "`edgecert deploy`.")
    _refuse_nested_dps(device, state.config)
    paths = default_paths(rel, "linux")
    current, cert_bytes = _current(target, state, paths.edge_ca_cert, auth)
    parent_hostname = site.parent_hostname(device)

    def result(action: Action, reason: str, checked: CheckedPlan | None = None,
               edge: EdgeCaFiles | None = None) -> DevicePlan:
        return DevicePlan(device, state.version, rel.key, action, reason, current, checked,
                          edge, device.hostname, parent_hostname)

    reason = "no edge CA at " + paths.edge_ca_cert
    if current is not None and cert_bytes is not None:
        left = current.not_after - now
        cn_ok = common_name(x509.load_pem_x509_certificate(cert_bytes)) == \
            edge_ca_common_name(device.name)
        if reissue:
            reason = "reissue requested"
        elif not current.from_site_ca:
            reason = "its edge CA is not from the site CA"
        elif not cn_ok:
            reason = "its edge CA is not this device's (another CN)"
        elif left <= dt.timedelta(days=site.renew_within_days):
            reason = (f"its edge CA ends {current.not_after:%Y-%m-%d}, within "
                      f"{site.renew_within_days} days")
        elif state.file(paths.edge_ca_key).kind != "file":
            reason = f"no edge CA key at {paths.edge_ca_key}"
        else:
            keep = _build(device, site, rel, state, cert_bytes, None, auth)
            if _as_wanted(keep.plan, state, paths.edge_ca_key):
                return result("unchanged", f"edge CA from the site CA until "
                              f"{current.not_after:%Y-%m-%d}; config as wanted")
            reason = "its config or trust bundle differs from the site's"
    edge = issue_for(auth, device, rel, now)
    checked = _build(device, site, rel, state, edge.cert_chain, edge.key, auth)
    return result("deploy", reason, checked, edge)

