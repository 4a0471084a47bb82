"""Many loopback test devices at once: N ``Device``s (``device.py``), each its own namespace,
sshd, accounts, file view and stand-in runtime, so each has its own fault knobs
(``fail_next_apply``, ``set_version``, ``mount_small_fs`` …). They start in parallel; a device
costs about what one ``Device`` costs (~0.3 s, a few MB).

``Fleet.site_entry(dev, name)`` gives the ``[[devices]]`` lines that reach a device with its
``edgeadmin`` key and known_hosts; ``closed_port()`` is an address where nothing listens (an
unreachable device).
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .device import Device, start_device
from .layouts import layout


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Fleet:
    """Running devices; ``stop()`` ends every one of them (only their own processes)."""

    devices: list[Device] = field(default_factory=list)

    def reset(self, version: str | None = "1.5") -> None:
        """Every device emptied (``Device.reset``) and, unless None, laid out as ``version``."""
        def one(dev: Device) -> None:
            dev.reset()
            if version is not None:
                layout(dev, version)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, self.devices))

    def stop(self) -> None:
        for dev in self.devices:
            dev.stop()

    @staticmethod
    def site_entry(dev: Device, name: str, **extra: str) -> str:
        """``[[devices]]`` TOML for ``dev`` (user edgeadmin, its key and known_hosts)."""
        lines = ["[[devices]]", f'name = "{name}"', f'host = "{dev.host}"', f"port = {dev.port}",
                 'user = "edgeadmin"', f'identity = "{dev.accounts["edgeadmin"].key}"',
                 f'known_hosts = "{dev.known_hosts}"']
        lines += [f'{k} = "{v}"' for k, v in extra.items()]
        return "\n".join(lines) + "\n\n"


def start_fleet(base: Path, count: int) -> Fleet:
    """Start ``count`` devices under ``base`` (one folder each), in parallel.

    Raises:
        DeviceUnavailable: a prerequisite is missing or a device did not come up (those that
            started are stopped again).
    """
    fleet = Fleet()
    dirs = [base / f"dev{i:02d}" for i in range(count)]
    for d in dirs:
        d.mkdir(parents=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(start_device, d) for d in dirs]
        problems = []
        for fut in futures:
            try:
                fleet.devices.append(fut.result())
            except Exception as exc:  # collected, then raised after stopping the others
                problems.append(exc)
    if problems:
        fleet.stop()
        raise problems[0]
    return fleet
