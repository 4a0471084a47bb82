"""``site status``: every device's edge CA, its expiry and whether it comes from the site CA.

Each device is read through ``core.deploy.device_status`` (one device's status), in parallel,
plus the edge CA and trust bundle files it names, to compare them with the site CA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509

from core.deploy import device_status
from core.deploy.state import read_file
from core.errors import (
    AuthError,
    ConnectError,
    EdgecertError,
    HostKeyChangedError,
    HostKeyUnknownError,
)
from core.progress import ProgressCallback, report
from core.site.authority import Authority, load_authority
from core.site.connect import Access, open_device, parallel_map
from core.site.defaults import DEFAULT_WORKERS
from core.site.model import Site, SiteDevice
from core.targets.base import Target

Health = Literal["ok", "expiring", "expired", "foreign", "no-edge-ca", "unreachable", "error"]
UNREACHABLE = (ConnectError, AuthError, HostKeyChangedError, HostKeyUnknownError)
"""Errors that mean the device could not be reached or logged in to."""


@dataclass(frozen=True)
class DeviceHealth:
    """What ``site status`` reports for one device."""

    name: str
    host: str
    reachable: bool
    error: str | None = None
    version: str | None = None
    edge_ca_mode: str | None = None
    edge_ca_subject: str | None = None
    edge_ca_issuer: str | None = None
    edge_ca_serial: str | None = None
    edge_ca_not_after: dt.datetime | None = None
    issued_by_site_ca: bool = False
    trust_bundle_ok: bool = False
    auto_renew: bool = False
    last_backup: str | None = None

    def days_left(self, now: dt.datetime) -> int | None:
        if self.edge_ca_not_after is None:
            return None
        return (self.edge_ca_not_after - now) // dt.timedelta(days=1)

    def health(self, now: dt.datetime, warn_days: int) -> Health:
        """One word: ``ok`` only when nothing needs the technician."""
        if not self.reachable:
            return "unreachable"
        if self.error is not None:
            return "error"
        days = self.days_left(now)
        if days is None:
            return "no-edge-ca"
        if self.edge_ca_not_after is not None and self.edge_ca_not_after <= now:
            return "expired"
        if not self.issued_by_site_ca or not self.trust_bundle_ok:
            return "foreign"
        if days < warn_days:
            return "expiring"
        return "ok"

    def to_dict(self, now: dt.datetime, warn_days: int) -> dict[str, Any]:
        return {
            "name": self.name, "host": self.host, "reachable": self.reachable,
            "health": self.health(now, warn_days), "error": self.error,
            "version": self.version, "edge_ca_mode": self.edge_ca_mode,
            "edge_ca_subject": self.edge_ca_subject, "edge_ca_issuer": self.edge_ca_issuer,
            "edge_ca_serial": self.edge_ca_serial,
            "edge_ca_not_after": None if self.edge_ca_not_after is None
            else self.edge_ca_not_after.isoformat(),
            "days_left": self.days_left(now), "issued_by_site_ca": self.issued_by_site_ca,
            "trust_bundle_ok": self.trust_bundle_ok, "auto_renew": self.auto_renew,
            "last_backup": self.last_backup,
        }


def _bundle_holds(data: bytes, root: x509.Certificate) -> bool:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        return False
    return root in certs


def read_health(target: Target, device: SiteDevice, auth: Authority) -> DeviceHealth:
    """One device's status against the site CA (reads only).

    Raises:
        EdgecertError: from the device (the caller records it).
    """
    st = device_status(target, None if device.iotedge == "auto" else device.iotedge)
    edge = next((c for c in st.certs if c.role in ("edge CA", "device CA")), None)
    bundle = next((c for c in st.certs if c.role == "trust bundle"), None)
    cert: x509.Certificate | None = None
    if edge is not None and edge.path is not None and edge.problem is None:
        try:
            cert = x509.load_pem_x509_certificate(read_file(target, edge.path))
        except (EdgecertError, ValueError):
            cert = None
    bundle_ok = False
    if bundle is not None and bundle.path is not None and bundle.problem is None:
        try:
            bundle_ok = _bundle_holds(read_file(target, bundle.path), auth.root)
        except EdgecertError:
            bundle_ok = False
    last = st.last_backup
    return DeviceHealth(
        name=device.name, host=device.host, reachable=True, version=st.version,
        edge_ca_mode=st.edge_ca_mode,
        edge_ca_subject=cert.subject.rfc4514_string() if cert else None,
        edge_ca_issuer=cert.issuer.rfc4514_string() if cert else None,
        edge_ca_serial=format(cert.serial_number, "x") if cert else None,
        edge_ca_not_after=cert.not_valid_after_utc if cert else None,
        issued_by_site_ca=bool(cert is not None and auth.issued(cert)),
        trust_bundle_ok=bundle_ok, auto_renew=st.edge_ca_mode.startswith("issued"),
        last_backup=f"{last.path} ({last.status})" if last else None)


def device_health(device: SiteDevice, auth: Authority,
                  opener: Callable[[SiteDevice], Target]) -> DeviceHealth:
    """``read_health`` with the connection opened and closed; failures become the result."""
    try:
        target = opener(device)
    except UNREACHABLE as exc:
        return DeviceHealth(device.name, device.host, False, error=str(exc))
    except EdgecertError as exc:
        return DeviceHealth(device.name, device.host, False, error=str(exc))
    try:
        return read_health(target, device, auth)
    except UNREACHABLE as exc:
        return DeviceHealth(device.name, device.host, False, error=str(exc))
    except EdgecertError as exc:
        return DeviceHealth(device.name, device.host, True, error=str(exc))
    finally:
        target.close()


def sort_key(now: dt.datetime) -> Callable[[DeviceHealth], tuple[int, int, str]]:
    """Fewest days left first; devices without a known expiry before all of them."""
    def key(h: DeviceHealth) -> tuple[int, int, str]:
        days = h.days_left(now)
        return (0, 0, h.name) if days is None else (1, days, h.name)
    return key


def site_status(site: Site, *, access: Access | None = None, workers: int = DEFAULT_WORKERS,
                now: dt.datetime | None = None, progress: ProgressCallback | None = None,
                opener: Callable[[SiteDevice], Target] | None = None
                ) -> tuple[DeviceHealth, ...]:
    """Read every device of the site in parallel; sorted by days left.

    Raises:
        SiteError, InputError: the site CA files (read before any device).
    """
    auth = load_authority(site.ca)
    now = now or dt.datetime.now(dt.UTC)
    open_ = opener or (lambda d: open_device(d, access or Access()))
    total = len(site.devices)
    done = [0]

    def one(device: SiteDevice) -> DeviceHealth:
        result = device_health(device, auth, open_)
        done[0] += 1
        report(progress, "status", done[0], total, device.name)
        return result

    results = parallel_map(one, site.devices, workers)
    return tuple(sorted(results, key=sort_key(now)))
