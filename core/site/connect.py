"""Opening a site device: SSH with the site file's user, key and known_hosts; and a worker pool."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from core.errors import UsageError
from core.site.model import SiteDevice
from core.targets.base import Target

CONNECT_TIMEOUT = 10.0

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Access:
    """How edgecert logs in to the site's devices beyond what the site file says."""

    password: str | None = field(default=None, repr=False)
    """Login and sudo password for every device (read from stdin by the CLI), if any."""
    use_agent: bool = True
    accept_fingerprints: tuple[tuple[str, str], ...] = ()
    """(device name, ``SHA256:…``) confirmed for a first contact."""


def open_device(device: SiteDevice, access: Access | None = None) -> Target:
    """An SSH target for ``device`` (host keys verified as for a single device).

    Raises:
        UsageError: no SSH user for the device.
        ConnectError, AuthError, HostKeyUnknownError, HostKeyChangedError: from SSH.
    """
    if not device.user:
        raise UsageError(f"device {device.name} has no SSH user", where=device.where,
                         hint="Set user in [defaults] or on the device.")
    from core.targets.ssh import SshTarget

    access = access or Access()
    accept = dict(access.accept_fingerprints).get(device.name)
    return SshTarget.connect(
        device.host, port=device.port, user=device.user, key_file=device.identity,
        password=access.password, sudo_password=access.password, use_agent=access.use_agent,
        known_hosts=list(device.known_hosts) or None, accept_fingerprint=accept,
        timeout=CONNECT_TIMEOUT)


Opener = Callable[[SiteDevice], Target]


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``fn`` over ``items`` in a thread pool, results in the order of ``items``.

    ``fn`` must not raise (each caller turns a device's failure into its result).
    """
    work = list(items)
    if workers < 1:
        raise UsageError("--workers must be at least 1", hint="The default is 8.")
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(work))),
                            thread_name_prefix="site") as pool:
        return list(pool.map(fn, work))
