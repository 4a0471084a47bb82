"""Device lists a site file can name: a CSV sheet and an Ansible inventory (YAML or INI).

Each reader returns raw entries (``Entry``: a dict of the site file's device keys and the line
it came from); ``core.site.load`` applies defaults and validates them like ``[[devices]]``.

* CSV: a header row naming the columns ``name,host,port,user,parent,hostname`` (any order;
  ``identity``, ``iotedge``, ``edge_ca_days``, ``key_type``, ``provisioning`` too).
* Ansible: hosts with ``ansible_host``, ``ansible_port``, ``ansible_user``,
  ``ansible_ssh_private_key_file``; the site's own keys as variables, plain or with an
  ``edgecert_`` prefix (``edgecert_parent``, ``hostname``…). Group variables apply to every host
  of the group and its child groups; a child group's and the host's own variables win.
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import AliasToken, AnchorToken

from core.config.yaml_edit import MAX_ALIASES, MAX_NODES
from core.errors import SiteError

MAX_LIST_BYTES = 4 * 1024 * 1024
"""A device list larger than this is refused (thousands of devices fit in far less)."""

DEVICE_KEYS = ("name", "host", "port", "user", "identity", "known_hosts", "iotedge",
               "edge_ca_days", "key_type", "hostname", "parent", "provisioning")
_ANSIBLE = {"ansible_host": "host", "ansible_port": "port", "ansible_user": "user",
            "ansible_ssh_private_key_file": "identity"}


@dataclass(frozen=True)
class Entry:
    """One device as a list gave it: the site file's keys and where it stood."""

    values: dict[str, Any]
    file: str
    line: int | None

    @property
    def where(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


def read_text(path: Path) -> str:
    """The list's text (UTF-8, BOM allowed), bounded in size.

    Raises:
        SiteError: missing, unreadable, too large or not UTF-8.
    """
    try:
        size = path.stat().st_size
        if size > MAX_LIST_BYTES:
            raise SiteError(f"the device list is {size} bytes (at most {MAX_LIST_BYTES})",
                            where=str(path), hint="Split the site into several site files.")
        data = path.read_bytes()
    except OSError as exc:
        raise SiteError(f"cannot read the device list: {exc.strerror}", where=str(path),
                        hint="Check the path in the site file (relative to the site file).") \
            from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SiteError(f"not UTF-8 text (byte {exc.start})", where=str(path),
                        hint="Save the list as UTF-8 (in a spreadsheet: CSV UTF-8).") from None


def read_list(path: Path) -> list[Entry]:
    """The entries of a CSV, Ansible YAML or Ansible INI device list (by file name ending)."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(text, str(path))
    if suffix in (".yml", ".yaml"):
        return read_ansible_yaml(text, str(path))
    return read_ansible_ini(text, str(path))


# ---- CSV ----------------------------------------------------------------------------------------


def read_csv(text: str, where: str) -> list[Entry]:
    """Rows of a CSV sheet with a header row; empty cells are not set."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = list(reader)
    if not rows:
        raise SiteError("the CSV file is empty", where=where,
                        hint="The first row names the columns: name,host,port,user,parent,"
                             "hostname.")
    header = [h.strip().lower() for h in rows[0]]
    unknown = [h for h in header if h and h not in DEVICE_KEYS]
    if unknown or "name" not in header or "host" not in header:
        raise SiteError(
            ("unknown column(s) " + ", ".join(repr(u) for u in unknown)) if unknown
            else "the header row needs the columns name and host",
            where=where, line=1,
            hint="Columns: " + ", ".join(DEVICE_KEYS) + " (name and host are required).")
    out: list[Entry] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) > len(header):
            raise SiteError(f"{len(row)} cells but {len(header)} columns", where=where,
                            line=number, hint="Quote cells that contain the separator.")
        values = {h: cell.strip() for h, cell in zip(header, row, strict=False)
                  if h and cell.strip()}
        out.append(Entry(values, where, number))
    return out


# ---- Ansible ----------------------------------------------------------------------------------


def _host_values(variables: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in variables.items():
        key = str(key)
        if key in _ANSIBLE:
            values[_ANSIBLE[key]] = value
        elif key.startswith("edgecert_") and key[len("edgecert_"):] in DEVICE_KEYS:
            values[key[len("edgecert_"):]] = value
        elif key in DEVICE_KEYS and key not in ("name", "host"):
            values.setdefault(key, value)
    return values


def _check_aliases(text: str, where: str) -> None:
    if "&" not in text and "*" not in text:
        return
    count = 0
    for token in YAML(typ="rt").scan(text):
        if isinstance(token, AliasToken | AnchorToken):
            count += 1
            if count > MAX_ALIASES:
                raise SiteError(f"the inventory uses more than {MAX_ALIASES} YAML "
                                "anchors/aliases", where=where, line=token.start_mark.line + 1,
                                hint="Write the values out, or use group variables.")


def _count(node: Any, budget: list[int], where: str) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise SiteError(f"the inventory expands to more than {MAX_NODES} values", where=where,
                        hint="Split the inventory.")
    if isinstance(node, dict):
        for v in node.values():
            _count(v, budget, where)
    elif isinstance(node, list):
        for v in node:
            _count(v, budget, where)


def read_ansible_yaml(text: str, where: str) -> list[Entry]:
    """Hosts of a YAML inventory (``all:`` → ``hosts`` / ``children`` / ``vars``)."""
    try:
        _check_aliases(text, where)
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SiteError(f"not valid YAML: {exc.problem or exc.context}", where=where,
                        line=mark.line + 1 if mark else None,
                        hint="Check indentation (spaces only) and quotes.") from None
    except YAMLError as exc:
        raise SiteError(f"not valid YAML: {exc}", where=where,
                        hint="Check the file's syntax.") from None
    if data is None:
        return []
    _count(data, [MAX_NODES], where)
    if not isinstance(data, dict):
        raise SiteError("an inventory is a mapping of groups (all: hosts: …)", where=where,
                        line=1, hint="Start the file with `all:`.")
    hosts: dict[str, tuple[dict[str, Any], int | None]] = {}

    def line_of(mapping: Any, key: Any) -> int | None:
        if isinstance(mapping, CommentedMap):
            try:
                return int(mapping.lc.key(key)[0]) + 1
            except (KeyError, TypeError):
                return None
        return None

    def walk(group: Any, inherited: dict[str, Any], depth: int) -> None:
        if depth > 50:
            raise SiteError("groups nest more than 50 deep", where=where,
                            hint="Check the inventory for a group that contains itself.")
        if group is None:
            return
        if not isinstance(group, dict):
            raise SiteError("a group must be a mapping (hosts:, children:, vars:)",
                            where=where, hint="Indent hosts under `hosts:`.")
        variables = {**inherited, **dict(group.get("vars") or {})}
        members = group.get("hosts") or {}
        if not isinstance(members, dict):
            raise SiteError("`hosts:` must be a mapping of host names", where=where,
                            line=line_of(group, "hosts"),
                            hint="Write each host as `name:` with its variables below.")
        for name, own in members.items():
            values, line = hosts.get(str(name), ({}, line_of(members, name)))
            merged = {**variables, **values, **dict(own or {})}
            hosts[str(name)] = (merged, line)
        for child in (group.get("children") or {}).values():
            walk(child, variables, depth + 1)

    for group in data.values():
        walk(group, {}, 0)
    out = []
    for name, (variables, line) in hosts.items():
        values = _host_values(variables)
        values["name"] = name
        values.setdefault("host", name)
        out.append(Entry(values, where, line))
    return out


def _ini_value(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _ini_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith(("#", ";")):
            yield number, line


def read_ansible_ini(text: str, where: str) -> list[Entry]:
    """Hosts of an INI inventory: ``[group]`` host lines, ``[group:vars]``, ``[group:children]``."""
    group_hosts: dict[str, list[str]] = {"ungrouped": []}
    group_vars: dict[str, dict[str, Any]] = {}
    children: dict[str, list[str]] = {}
    host_vars: dict[str, dict[str, Any]] = {}
    host_line: dict[str, int] = {}
    section, kind = "ungrouped", "hosts"
    for number, line in _ini_lines(text):
        if line.startswith("["):
            if not line.endswith("]"):
                raise SiteError("a section header needs a closing ]", where=where,
                                line=number, hint="Write it as [group], [group:vars] or "
                                "[group:children].")
            section, _, kind = line[1:-1].strip().partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise SiteError(f"unknown section kind :{kind}", where=where, line=number,
                                hint="Use [group], [group:vars] or [group:children].")
            group_hosts.setdefault(section, [])
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise SiteError("a variable line is key=value", where=where, line=number,
                                hint="Write e.g. ansible_user=tech.")
            group_vars.setdefault(section, {})[key.strip()] = _ini_value(value.strip())
            continue
        if kind == "children":
            children.setdefault(section, []).append(line)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise SiteError(f"cannot read the host line: {exc}", where=where, line=number,
                            hint="Close every quote.") from None
        name, own = words[0], {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep:
                raise SiteError(f"{word!r} is not key=value", where=where, line=number,
                                hint="Host variables are written key=value after the name.")
            own[key] = value
        host_vars.setdefault(name, {}).update(own)
        host_line.setdefault(name, number)
        group_hosts[section].append(name)

    def group_chain(group: str, seen: tuple[str, ...] = ()) -> list[str]:
        """The group and every group that contains it, outermost first."""
        if group in seen:
            raise SiteError(f"group {group} contains itself", where=where,
                            hint="Remove the loop from the :children sections.")
        parents = [p for p, kids in children.items() if group in kids]
        out: list[str] = ["all"]
        for p in parents:
            out += [g for g in group_chain(p, (*seen, group)) if g not in out]
        if group not in out:
            out.append(group)
        return out

    entries = []
    for name, first in host_line.items():
        variables: dict[str, Any] = {}
        for group, members in group_hosts.items():
            if name in members:
                for g in group_chain(group):
                    variables.update(group_vars.get(g, {}))
        variables.update(host_vars[name])
        values = _host_values(variables)
        values["name"] = name
        values.setdefault("host", name)
        entries.append(Entry(values, where, first))
    return entries
