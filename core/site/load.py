"""Read a site file and its device lists, and validate the whole site before any device is read.

Every path in the site file is relative to the site file. Every problem found is reported at
once, each with the file and line of the entry at fault.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.chain.demo import edge_ca_common_name
from core.chain.keys import KeyType
from core.config.validate import check_hostname
from core.errors import EdgecertError, SiteError
from core.site.inventory import DEVICE_KEYS, Entry, read_list, read_text
from core.site.model import (
    DEFAULT_EDGE_CA_DAYS,
    DEFAULT_RENEW_WITHIN_DAYS,
    Site,
    SiteCa,
    SiteDevice,
)

_TOP = {"site", "ca", "defaults", "devices"}
_SITE_KEYS = {"name", "device_lists", "results", "renew_within_days"}
_CA_KEYS = {"cert", "key", "chain", "trust_bundle", "password_file"}
_DEFAULT_KEYS = set(DEVICE_KEYS) - {"name", "host", "hostname", "parent"}
_PROVISIONING = ("manual", "dps")
_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the site, where it is, and what to do."""

    where: str
    message: str
    hint: str

    def describe(self) -> str:
        return f"{self.where}: {self.message} (hint: {self.hint})"


def raise_problems(problems: list[Problem]) -> None:
    """One ``SiteError`` listing every problem (the first one's place as ``where``)."""
    if not problems:
        return
    if len(problems) == 1:
        p = problems[0]
        raise SiteError(p.message, where=p.where, hint=p.hint)
    raise SiteError(
        f"the site has {len(problems)} problems; no device was contacted:\n  "
        + "\n  ".join(p.describe() for p in problems),
        where=problems[0].where, hint=problems[0].hint)


def _device_lines(text: str) -> list[int]:
    """Line numbers of the ``[[devices]]`` headers, in file order."""
    return [i for i, line in enumerate(text.splitlines(), start=1)
            if re.match(r"^\s*\[\[\s*devices\s*\]\]", line)]


def _parse(path: Path) -> tuple[dict[str, Any], str]:
    text = read_text(path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = _LINE.search(str(exc))
        raise SiteError(f"not valid TOML: {_LINE.sub('', str(exc)).strip()}", where=str(path),
                        line=int(m.group(1)) if m else None,
                        hint="Fix the line shown (quotes, brackets, '=' signs).") from None


def _table(doc: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise SiteError(f"{key} must be a table ([{key}])", where=where,
                        hint=f"Write the {key} settings under a [{key}] header.")
    return value


def _unknown(table: dict[str, Any], allowed: set[str], what: str, where: str,
             problems: list[Problem]) -> None:
    for key in table:
        if key not in allowed:
            problems.append(Problem(where, f"unknown key {key!r} in {what}",
                                    "Known keys: " + ", ".join(sorted(allowed)) + "."))


def _path(base: Path, value: Any, key: str, where: str, problems: list[Problem]) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(Problem(where, f"{key} must be a file path (a string)",
                                "Write the path in quotes, relative to the site file."))
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _int(value: Any, key: str, where: str, problems: list[Problem], low: int, high: int
         ) -> int | None:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        problems.append(Problem(where, f"{key} = {value!r} is not a number from {low} to {high}",
                                f"Give {key} as a whole number."))
        return None
    return number


def _device(values: dict[str, Any], defaults: dict[str, Any], base: Path, where: str,
            problems: list[Problem]) -> SiteDevice | None:
    _unknown(values, set(DEVICE_KEYS), "a device", where, problems)
    merged = {**defaults, **values}
    name, host = merged.get("name"), merged.get("host")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(where, "the device has no name",
                                "Give every device a unique name (e.g. its IoT Hub device ID)."))
        return None
    if not isinstance(host, str) or not host.strip():
        problems.append(Problem(where, f"device {name} has no host",
                                "Give the address SSH connects to (host = \"10.0.0.5\")."))
        return None
    try:
        edge_ca_common_name(name)
    except EdgecertError as exc:
        problems.append(Problem(where, exc.message, exc.hint))
        return None
    before = len(problems)
    port = _int(merged.get("port", 22), "port", where, problems, 1, 65535)
    days = _int(merged.get("edge_ca_days", DEFAULT_EDGE_CA_DAYS), "edge_ca_days", where,
                problems, 1, 3650 * 3)
    try:
        key_type = KeyType.parse(str(merged.get("key_type", KeyType.EC_P256.value)))
    except EdgecertError as exc:
        problems.append(Problem(where, exc.message, exc.hint))
        key_type = KeyType.EC_P256
    known = merged.get("known_hosts", ())
    known_list = [known] if isinstance(known, str) else list(known or ())
    known_paths = tuple(p for p in (_path(base, k, "known_hosts", where, problems)
                                    for k in known_list) if p is not None)
    provisioning = merged.get("provisioning")
    if provisioning is not None and provisioning not in _PROVISIONING:
        problems.append(Problem(where, f"provisioning = {provisioning!r} is not one of "
                                + ", ".join(_PROVISIONING),
                                "Say how the device is provisioned: manual or dps."))

    def text(key: str) -> str | None:
        v = merged.get(key)
        return None if v is None or str(v).strip() == "" else str(v).strip()

    if len(problems) > before or port is None or days is None:
        return None
    return SiteDevice(
        name=name.strip(), host=host.strip(), where=where, port=port, user=text("user"),
        identity=_path(base, text("identity"), "identity", where, problems),
        known_hosts=known_paths, iotedge=text("iotedge") or "auto", edge_ca_days=days,
        key_type=key_type, hostname=text("hostname"), parent=text("parent"),
        provisioning=text("provisioning"))


def _check_devices(devices: list[SiteDevice], problems: list[Problem]) -> None:
    by_name: dict[str, SiteDevice] = {}
    by_host: dict[tuple[str, int], SiteDevice] = {}
    by_hostname: dict[str, SiteDevice] = {}
    for d in devices:
        if d.name in by_name:
            problems.append(Problem(d.where, f"device name {d.name} is used twice (first at "
                                    f"{by_name[d.name].where})",
                                    "Every device needs its own name: it names its edge CA."))
            continue
        by_name[d.name] = d
        key = (d.host.lower(), d.port)
        if key in by_host:
            problems.append(Problem(d.where, f"host {d.host}:{d.port} of {d.name} is also "
                                    f"device {by_host[key].name} ({by_host[key].where})",
                                    "Each device needs its own address (or SSH port)."))
        by_host.setdefault(key, d)
        if d.hostname is not None:
            low = d.hostname.lower()
            if low in by_hostname:
                problems.append(Problem(d.where, f"hostname {d.hostname} of {d.name} is also "
                                        f"that of {by_hostname[low].name}",
                                        "Children and downstream devices tell gateways apart "
                                        "by hostname: give each its own."))
            by_hostname.setdefault(low, d)
            for f in check_hostname(d.hostname, edge_ca_cn=edge_ca_common_name(d.name)):
                if f.severity == "error":
                    problems.append(Problem(d.where, f"device {d.name}: {f.message}", f.hint))
    parents = {d.parent for d in devices if d.parent is not None}
    for d in devices:
        if d.parent is None:
            continue
        if d.parent == d.name:
            problems.append(Problem(d.where, f"device {d.name} is its own parent",
                                    "Name the gateway it connects through, or no parent."))
            continue
        parent = by_name.get(d.parent)
        if parent is None:
            problems.append(Problem(d.where, f"device {d.name} names parent {d.parent}, which "
                                    "is not a device of the site",
                                    "Add the parent to the site or correct the name."))
            continue
        if d.provisioning == "dps":
            problems.append(Problem(d.where, f"device {d.name} is a nested child with DPS "
                                    "provisioning, which the runtime refuses (\"DPS "
                                    "provisioning is not supported in nested mode\")",
                                    "Provision nested children manually (facts: a child "
                                    "connects to IoT Hub through its parent)."))
    for name in parents:
        parent = by_name.get(name) if name is not None else None
        if parent is not None and parent.hostname is None:
            problems.append(Problem(parent.where, f"device {parent.name} has children but no "
                                    "hostname", "Give the parent the hostname its children "
                                    "connect to (hostname = \"gw-01.plant.local\"); the "
                                    "children's parent_hostname is set to it."))
    for d in devices:
        seen: list[str] = []
        cur: SiteDevice | None = d
        while cur is not None and cur.parent is not None:
            if cur.name in seen:
                problems.append(Problem(d.where, "parents form a cycle: "
                                        + " -> ".join([*seen, cur.name]),
                                        "A parent chain must end at a device without parent."))
                break
            seen.append(cur.name)
            cur = by_name.get(cur.parent)


def load_site(path: Path, *, now: dt.datetime | None = None) -> Site:
    """Read and validate a site file, its device lists and its CA.

    Raises:
        SiteError: every problem, each with file and line; nothing was contacted.
    """
    path = Path(path)
    doc, text = _parse(path)
    base = path.parent
    where = str(path)
    problems: list[Problem] = []
    _unknown(doc, _TOP, "the site file", where, problems)
    site_t, ca_t = _table(doc, "site", where), _table(doc, "ca", where)
    defaults = _table(doc, "defaults", where)
    _unknown(site_t, _SITE_KEYS, "[site]", where, problems)
    _unknown(ca_t, _CA_KEYS, "[ca]", where, problems)
    _unknown(defaults, _DEFAULT_KEYS, "[defaults]", where, problems)
    for key in ("cert", "key", "trust_bundle"):
        if key not in ca_t:
            problems.append(Problem(where, f"[ca] has no {key}",
                                    "[ca] names the issuing CA's cert and key and the root "
                                    "certificate devices trust (trust_bundle)."))
    raise_problems(problems)
    ca = SiteCa(
        cert=_path(base, ca_t["cert"], "cert", where, problems) or base,
        key=_path(base, ca_t["key"], "key", where, problems) or base,
        trust_bundle=_path(base, ca_t["trust_bundle"], "trust_bundle", where, problems) or base,
        chain=_path(base, ca_t.get("chain"), "chain", where, problems),
        password_file=_path(base, ca_t.get("password_file"), "password_file", where, problems))
    entries: list[Entry] = []
    raw = doc.get("devices", [])
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        problems.append(Problem(where, "devices must be [[devices]] tables",
                                "Start each device with a [[devices]] line."))
        raw = []
    lines = _device_lines(text)
    for i, values in enumerate(raw):
        entries.append(Entry(dict(values), where, lines[i] if i < len(lines) else None))
    lists = site_t.get("device_lists", [])
    for item in [lists] if isinstance(lists, str) else list(lists):
        list_path = _path(base, item, "device_lists", where, problems)
        if list_path is not None:
            try:
                entries += read_list(list_path)
            except SiteError as exc:
                problems.append(Problem(exc.where or str(list_path), exc.message, exc.hint))
    devices = [d for d in (_device(e.values, defaults, base, e.where, problems)
                           for e in entries) if d is not None]
    if not devices and not problems:
        problems.append(Problem(where, "the site has no devices",
                                "Add [[devices]] entries or a device list "
                                "([site] device_lists = [\"devices.csv\"])."))
    _check_devices(devices, problems)
    raise_problems(problems)
    from core.site.authority import check_site_ca

    check_site_ca(ca, devices, where=where, now=now)
    renew = site_t.get("renew_within_days", DEFAULT_RENEW_WITHIN_DAYS)
    renew_days = _int(renew, "renew_within_days", where, problems, 0, 3650)
    results = _path(base, site_t.get("results"), "results", where, problems)
    raise_problems(problems)
    return Site(path=path, name=str(site_t.get("name") or path.stem), ca=ca,
                devices=tuple(devices),
                results=results or path.with_name(path.stem + ".results.json"),
                renew_within_days=renew_days or 0)

