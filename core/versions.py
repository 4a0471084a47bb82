"""The IoT Edge release catalog: which config file, CA term, pathlen and date rules apply."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Literal

from core.errors import UsageError
from core.resources import read_resource

Platform = Literal["linux", "windows", "eflow"]
PLATFORMS: tuple[Platform, ...] = ("linux", "windows", "eflow")
DEFAULT_RELEASE = "1.6"
"""The release the wizard and the CLI assume when none is given: the current LTS (facts §12.1)."""


@dataclass(frozen=True)
class EdgeRelease:
    """What edgecert needs to know about one IoT Edge release."""

    key: str
    """Catalog key such as ``"1.5"``."""
    label: str
    config_format: Literal["yaml", "toml"]
    config_path: str
    config_path_windows: str | None
    ca_term: str
    """``"device CA"`` on 1.1, ``"edge CA"`` from 1.2 on: used in every message."""
    edge_ca_pathlen: int | None
    """pathlen for a generated edge CA; None = no constraint (1.1 needs >= 1 or none)."""
    expiry_warning_days: int
    not_after_limit: dt.datetime | None
    """Every certificate of the chain must expire before this (1.1 libiothsm)."""
    auto_renew: bool
    """Whether ``[edge_ca.auto_renew]`` is honoured."""
    apply: Literal["restart", "config-apply"]
    service: str
    platforms: tuple[Platform, ...]
    support_ended: str | None = None
    """When Microsoft stopped servicing the release (e.g. ``"November 2026"``); None: serviced."""
    removed_keys: tuple[str, ...] = ()
    """Top-level config.toml keys this release no longer reads (the runtime ignores them)."""
    agent_image: str | None = None
    """The default edgeAgent image of the release's template, when edgecert knows it."""
    notice: str = ""
    """Set when a newer, unknown release was mapped onto this entry."""

    @property
    def is_legacy(self) -> bool:
        """True for 1.1 (config.yaml, libiothsm)."""
        return self.config_format == "yaml"

    @property
    def min_pathlen_above_edge_ca(self) -> int:
        """How many CAs the edge CA issues below itself: 1 on 1.1 (workload CA), else 0."""
        return 1 if self.is_legacy else 0

    @property
    def support_text(self) -> str:
        """``"support ended November 2026"`` for an unserviced release, else ``""``."""
        return f"support ended {self.support_ended}" if self.support_ended else ""

    @property
    def ca_term_title(self) -> str:
        return self.ca_term[0].upper() + self.ca_term[1:]


@cache
def catalog() -> dict[str, EdgeRelease]:
    """All known releases, oldest first."""
    data = tomllib.loads(read_resource("versions.toml").decode("utf-8"))
    out: dict[str, EdgeRelease] = {}
    for key, r in data["releases"].items():
        limit = r.get("not_after_limit")
        pathlen = int(r["edge_ca_pathlen"])
        out[key] = EdgeRelease(
            key=key,
            label=r["label"],
            config_format=r["config_format"],
            config_path=r["config_path"],
            config_path_windows=r.get("config_path_windows"),
            ca_term=r["ca_term"],
            edge_ca_pathlen=None if pathlen < 0 else pathlen,
            expiry_warning_days=int(r["expiry_warning_days"]),
            not_after_limit=(
                dt.datetime.fromisoformat(limit).replace(tzinfo=dt.UTC) if limit else None
            ),
            auto_renew=bool(r["auto_renew"]),
            apply=r["apply"],
            service=r["service"],
            platforms=tuple(r["platforms"]),
            support_ended=r.get("support_ended"),
            removed_keys=tuple(r.get("removed_keys", ())),
            agent_image=r.get("agent_image"),
        )
    return dict(sorted(out.items(), key=lambda kv: _version_tuple(kv[0])))


_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def _version_tuple(text: str) -> tuple[int, int]:
    m = _VERSION_RE.match(text)
    if not m:
        raise UsageError(
            f"{text!r} is not an IoT Edge version",
            hint="Use a version such as 1.1, 1.4, 1.5 or 1.6 (see `iotedge version` on the "
                 "device).",
        )
    return int(m.group(1)), int(m.group(2))


def release(version: str) -> EdgeRelease:
    """The catalog entry for a version string such as ``"1.5"``, ``"1.4.27"`` or ``"1.6.0"``.

    An unknown newer release maps to the newest known one, with ``notice`` set.

    Raises:
        UsageError: the text is not a version, or is older than 1.1.
    """
    wanted = _version_tuple(version)
    entries = catalog()
    for key, rel in entries.items():
        if _version_tuple(key) == wanted:
            return rel
    newest_key = list(entries)[-1]
    if wanted > _version_tuple(newest_key):
        newest = entries[newest_key]
        return EdgeRelease(
            **{
                **newest.__dict__,
                "notice": (
                    f"IoT Edge {wanted[0]}.{wanted[1]} is newer than the newest release edgecert "
                    f"knows ({newest_key}); treating it like {newest_key}."
                ),
            }
        )
    raise UsageError(
        f"IoT Edge {version} is not supported",
        hint="edgecert supports IoT Edge 1.1 LTS and 1.2 or later; update the device first.",
    )


def parse_iotedge_version(output: str) -> str:
    """The version in ``iotedge version`` output (``iotedge 1.6.0 (abc…)``)."""
    m = re.search(r"iotedge\s+v?(\d+\.\d+(?:\.\d+)?)", output)
    if not m:
        raise UsageError(
            "cannot read the IoT Edge version from `iotedge version`",
            hint="Check that IoT Edge is installed on the device.",
        )
    return m.group(1)
