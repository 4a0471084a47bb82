"""The values of a site: its issuing CA, its devices and their order (parents first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.chain.keys import KeyType

DEFAULT_EDGE_CA_DAYS = 365
DEFAULT_RENEW_WITHIN_DAYS = 30
"""An edge CA from the site CA that ends within this many days is reissued by ``site deploy``."""


@dataclass(frozen=True)
class SiteCa:
    """The CA that issues every device's edge CA, and the root the devices trust."""

    cert: Path
    key: Path = field(repr=False)
    trust_bundle: Path
    chain: Path | None = None
    password_file: Path | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SiteDevice:
    """One device of the site, with the defaults already applied."""

    name: str
    host: str
    where: str
    """File and line of the entry (``site.toml:12``, ``devices.csv:4``)."""
    port: int = 22
    user: str | None = None
    identity: Path | None = None
    known_hosts: tuple[Path, ...] = ()
    iotedge: str = "auto"
    edge_ca_days: int = DEFAULT_EDGE_CA_DAYS
    key_type: KeyType = KeyType.EC_P256
    hostname: str | None = None
    """What children and downstream devices connect to (``hostname`` in config.toml)."""
    parent: str | None = None
    """Name of the parent device (nested edge): ``parent_hostname`` is its hostname."""
    provisioning: str | None = None
    """The provisioning the site file declares (``manual`` or ``dps``), if any."""


@dataclass(frozen=True)
class Site:
    """A validated site: every device reachable by name, parents before children."""

    path: Path
    name: str
    ca: SiteCa
    devices: tuple[SiteDevice, ...]
    results: Path
    renew_within_days: int = DEFAULT_RENEW_WITHIN_DAYS

    def device(self, name: str) -> SiteDevice:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def parent_hostname(self, device: SiteDevice) -> str | None:
        """The hostname the device's parent is reached by (None: not a nested child)."""
        if device.parent is None:
            return None
        parent = self.device(device.parent)
        return parent.hostname or parent.host

    def ordered(self) -> tuple[SiteDevice, ...]:
        """Every device, each parent before its children (the file order otherwise)."""
        done: set[str] = set()
        out: list[SiteDevice] = []

        def visit(d: SiteDevice) -> None:
            if d.name in done:
                return
            if d.parent is not None:
                visit(self.device(d.parent))
            done.add(d.name)
            out.append(d)

        for d in self.devices:
            visit(d)
        return tuple(out)

    def depth(self, device: SiteDevice) -> int:
        """0 for a top-level device, 1 for its children, and so on."""
        n = 0
        while device.parent is not None:
            device = self.device(device.parent)
            n += 1
        return n
