"""Edit a 1.2+ ``config.toml`` with tomlkit: certificate settings in, everything else untouched.

Existing tables and keys are edited in place through the tomlkit document, so comments, blank
lines, key order and line endings outside the certificate settings stay byte-for-byte. A table
or key that does not exist yet is placed where the template documents it: right after the
commented example (``# [edge_ca]`` …), the way a technician uncomments a template. Only the
insertion point is found in the comment text; the inserted content is rendered by tomlkit, and
the result must load to exactly the same data as a plain tomlkit edit, or the plain edit is used.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container, OutOfOrderTableProxy
from tomlkit.items import AoT, InlineTable, Item, Table

from core.config.anchors import Pending, block_anchor, edge_ca_anchor, key_anchor, splice
from core.config.errors import SettingsError
from core.config.settings import (
    EDGE_CA_KEYS,
    AutoRenew,
    CertSettings,
    EstServer,
    Issued,
    Preloaded,
    Quickstart,
    edge_ca_table,
)
from core.errors import ConfigError, ConfigParseError
from core.fs import MIB, size_text
from core.resources import read_resource
from core.versions import EdgeRelease

TEMPLATE_RESOURCE = "templates/config.toml"
MAX_CONFIG_BYTES = 1 * MIB
"""The largest config.toml or config.yaml edgecert reads or edits (a real one is a few KiB)."""
BOM = "\ufeff"
_YAML_KEYS = re.compile(r"^(provisioning|certificates|agent|connect|listen|moby_runtime|"
                        r"hostname):(\s|$)", re.MULTILINE)



def keep_trivia(new: Item, old: object) -> Item:
    """``new`` with the indent, comment and line ending of the item it replaces (when ``old``
    is one), so a changed value keeps its line's layout byte for byte around it."""
    if isinstance(old, Item):
        new.trivia.indent = old.trivia.indent
        new.trivia.comment_ws = old.trivia.comment_ws
        new.trivia.comment = old.trivia.comment
        new.trivia.trail = old.trivia.trail
    return new

def check_size(text: str, where: str) -> None:
    """Refuse a config too large to be a real one, before any parsing.

    Raises:
        ConfigParseError: more than ``MAX_CONFIG_BYTES`` (UTF-8).
    """
    if len(text) > MAX_CONFIG_BYTES or len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ConfigParseError(
            f"the config is larger than {size_text(MAX_CONFIG_BYTES)}, the most edgecert edits",
            hint="A device config is a few KiB: check that this is the right file (a log or a "
                 "binary copied over it?).", where=where)


def split_bom(text: str) -> tuple[str, str]:
    """(``BOM`` or "", the text without it): Notepad saves UTF-8 with a byte-order mark."""
    if text.startswith(BOM):
        return BOM, text[1:]
    return "", text


def our_template() -> str:
    """edgecert's own all-comments config.toml template (resources/templates/config.toml)."""
    return read_resource(TEMPLATE_RESOURCE).decode("utf-8")


def parse_toml(text: str, *, where: str = "config.toml") -> tomlkit.TOMLDocument:
    """Parse config.toml text with tomlkit.

    Raises:
        ConfigParseError: with the line and column tomlkit reports.
    """
    text = split_bom(text)[1]
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        hint = ("Fix the line shown (quotes, brackets, '=' signs), or start again from the "
                "device's config.toml.edge.template.")
        if _YAML_KEYS.search(text):
            hint = ("This looks like IoT Edge 1.1's config.yaml, not a 1.2+ config.toml: "
                    "choose IoT Edge 1.1 (--iotedge 1.1) for it, or give the device's "
                    "/etc/aziot/config.toml.")
        raise ConfigParseError(
            f"not valid TOML: {_parse_message(exc)}", hint=hint,
            where=where, line=exc.line, col=exc.col,
        ) from exc


def _parse_message(exc: tomlkit.exceptions.ParseError) -> str:
    text = str(exc)
    return text.split(" at line ")[0]


def newline_of(text: str) -> str:
    """The file's line ending: CRLF when the file uses it, else LF."""
    return "\r\n" if "\r\n" in text else "\n"


# ---- what to write ------------------------------------------------------------------------------


def check_combination(settings: CertSettings, release: EdgeRelease) -> None:
    """Reject settings the runtime would ignore or refuse, with the reason as the hint.

    Raises:
        SettingsError: auto-renewal next to a preloaded CA or on a release without it,
            quickstart without ``rotate_key``, a 1.1 release, or an invalid quickstart lifetime.
    """
    if release.is_legacy:
        raise SettingsError(
            f"{release.label} uses config.yaml, not config.toml",
            hint="Edit config.yaml (edgecert handles it for 1.1), or upgrade the device first.",
        )
    ca = settings.edge_ca
    if settings.auto_renew is not None:
        if isinstance(ca, Preloaded):
            raise SettingsError(
                f"[edge_ca.auto_renew] cannot go with an {release.ca_term} loaded from files "
                "(cert/pk): the runtime silently ignores it",
                hint="The runtime cannot renew a CA it did not issue: renew it in your PKI and "
                     "deploy the new files, or use an issued (EST/local CA) edge CA to get "
                     "automatic renewal.",
            )
        if not release.auto_renew:
            raise SettingsError(
                f"{release.label} does not support [edge_ca.auto_renew]",
                hint="Leave auto-renewal out (the quickstart CA then expires and is only "
                     "regenerated on restart), or upgrade to IoT Edge 1.3 or later.",
            )
        if isinstance(ca, Quickstart) and not settings.auto_renew.rotate_key:
            raise SettingsError(
                "a quickstart edge CA must renew with rotate_key = true",
                hint="Use --rotate-key yes (the runtime requires it for auto-generated CAs).",
            )
    if isinstance(ca, Quickstart) and ca.expiry_days < 1:
        raise SettingsError(
            f"quickstart lifetime {ca.expiry_days} days: must be at least 1",
            hint="Give the number of days, e.g. --quickstart-days 90.",
        )
    if isinstance(ca, Issued) and ca.expiry_days is not None and ca.expiry_days < 1:
        raise SettingsError(
            "expiry_days must be greater than 0",
            hint="Give the number of days, e.g. 90.",
        )


def _auto_renew_table(ar: AutoRenew) -> dict[str, Any]:
    return {"rotate_key": ar.rotate_key, "threshold": ar.threshold, "retry": ar.retry}


def _est_tables(est: EstServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if est.trusted_certs:
        out["trusted_certs"] = list(est.trusted_certs)
    auth = {k: getattr(est, k) for k in ("username", "password", "identity_cert", "identity_pk",
                                          "bootstrap_identity_cert", "bootstrap_identity_pk")
            if getattr(est, k) is not None}
    if auth:
        out["auth"] = auth
    out["urls"] = {"default": est.url}
    return out


# ---- tomlkit helpers ----------------------------------------------------------------------------


def _item(value: Any, nl: str) -> Item:
    item: Item = tomlkit.item(value)
    item.trivia.trail = nl
    return item


def _table(values: dict[str, Any], nl: str, *, super_table: bool = False) -> Table:
    table = tomlkit.table(super_table)
    table.trivia.trail = nl
    for key, value in values.items():
        if isinstance(value, dict):
            sub = _table(value, nl)
            sub.trivia.indent = nl if table.value.body else ""
            table.add(key, sub)
        else:
            table.add(key, _item(value, nl))
    return table


def _set_keys(table: Table | Container, values: dict[str, Any], nl: str) -> None:
    """Set scalar keys in place (existing keys keep their position and trailing comment)."""
    for key, value in values.items():
        if isinstance(value, dict):
            sub = table.get(key)
            if isinstance(sub, Table):
                _set_keys(sub, value, nl)
            else:
                table[key] = _table(value, nl)
        elif key in table:
            old = table[key]
            if isinstance(old, Item) and old.unwrap() == value:
                continue
            table[key] = keep_trivia(_item(value, nl), old)
        else:
            _add_key(table, key, _item(value, nl))


def _add_key(table: Table | Container, key: str, item: Item) -> None:
    """Add a new key right after the table's last key/value, before its trailing comments.

    ``Table.add`` would append after the comments that follow the table (the next commented
    template example), which is not where a technician writes it.
    """
    container = table.value if isinstance(table, Table) else table
    body = container.body
    last = max((i for i, (k, v) in enumerate(body)
                if k is not None and not isinstance(v, Table | AoT)), default=-1)
    if isinstance(table, Table) and last + 1 < len(body):
        # tomlkit has no public "insert at"; _insert_at keeps the body and key map consistent.
        container._insert_at(last + 1, key, item)
    else:
        table.add(key, item)


def _remove(table: Table, key: str) -> None:
    """Remove a key or sub-table, keeping the comments that trail a removed sub-table.

    tomlkit stores the comment lines after a table's last key (often the next commented
    template example) inside that table, so deleting it would delete them too.
    """
    child = table.get(key)
    trailing: list[Item] = []
    if isinstance(child, Table):
        body = child.value.body
        last = max((i for i, (k, _) in enumerate(body) if k is not None), default=-1)
        trailing = [item for _, item in body[last + 1:]]
    is_last = bool(table.value.body) and table.value.body[-1][0] is not None and (
        table.value.body[-1][0].key == key)
    del table[key]
    if is_last:
        for item in trailing:
            table.value.append(None, item)


def _inline(values: dict[str, Any]) -> InlineTable:
    table = tomlkit.inline_table()
    for key, value in values.items():
        table.append(key, _inline(value) if isinstance(value, dict) else value)
    return table


def _replace_inline(container: Any, key: str, values: dict[str, Any]) -> None:
    """An inline table (``edge_ca = { … }``) stays inline, in its place, with the new values."""
    old = container[key]
    new = _inline(values)
    new.trivia.comment_ws = old.trivia.comment_ws
    new.trivia.comment = old.trivia.comment
    new.trivia.trail = old.trivia.trail
    container[key] = new


def _fragment(key: str, value: Any, nl: str) -> str:
    """``key = value`` or a whole table, rendered by tomlkit as a stand-alone document."""
    doc = tomlkit.document()
    if isinstance(value, dict):
        dotted = key.split(".")
        inner: Any = value
        for part in reversed(dotted[1:]):
            inner = {part: inner}
        doc.add(dotted[0], _table(inner, "\n", super_table=len(dotted) > 1))
    else:
        doc.add(key, tomlkit.item(value))
    return tomlkit.dumps(doc).replace("\n", nl)


def _separated(table: Table, rendered_so_far: str, nl: str) -> Table:
    """Give a table appended at the end one blank line before it, in the file's line ending.

    tomlkit would otherwise use a bare LF for that blank line, even in a CRLF file.
    """
    if not rendered_so_far or rendered_so_far.endswith(nl + nl):
        table.trivia.indent = ""
    elif rendered_so_far.endswith(("\n", "\r")):
        table.trivia.indent = nl
    else:
        table.trivia.indent = nl + nl
    return table


def _fix_table_indents(doc: tomlkit.TOMLDocument, nl: str) -> None:
    """tomlkit puts a bare LF before a table that a new key was inserted above: use ``nl``."""
    if nl == "\n":
        return
    for _, item in doc.body:
        if isinstance(item, Table | AoT) and "\n" in item.trivia.indent.replace("\r\n", ""):
            item.trivia.indent = item.trivia.indent.replace("\r\n", "\n").replace("\n", nl)


def _unwrapped(value: Any) -> Any:
    if isinstance(value, Item | OutOfOrderTableProxy):
        return value.unwrap()
    return value


def _set_in_proxy(proxy: OutOfOrderTableProxy, values: dict[str, Any], nl: str) -> None:
    """Set keys in a table spread over dotted keys or several headers (``edge_ca.cert = …``)."""
    for key, value in values.items():
        old = proxy.get(key)
        if isinstance(value, dict) and isinstance(old, Table | OutOfOrderTableProxy):
            if isinstance(old, Table):
                _set_keys(old, value, nl)
            else:
                _set_in_proxy(old, value, nl)
            continue
        plain_old = old.unwrap() if isinstance(old, Item) else old
        if plain_old == value:
            continue
        proxy[key] = _table(value, nl) if isinstance(value, dict) else _item(value, nl)


def _add_plainly(doc: tomlkit.TOMLDocument, pending: Pending, nl: str) -> None:
    parts = pending.key.split(".")
    if len(parts) == 1:
        if isinstance(pending.value, dict):
            doc.add(parts[0], _separated(_table(pending.value, nl), doc.as_string(), nl))
        else:
            doc.add(parts[0], _item(pending.value, nl))
            _fix_table_indents(doc, nl)
        return
    parent: Any = doc
    for part in parts[:-1]:
        if part not in parent:
            parent.add(part, tomlkit.table(True))
        parent = parent[part]
    parent.add(parts[-1], _separated(_table(pending.value, nl), doc.as_string(), nl))


# ---- the edit -------------------------------------------------------------------------------


def _edit_existing(doc: tomlkit.TOMLDocument, settings: CertSettings, nl: str) -> list[Pending]:
    """Edit what exists in place; return what is missing, in file order."""
    pending: list[Pending] = []
    if settings.trust_bundle_cert is not None:
        if "trust_bundle_cert" in doc:
            _set_keys(doc, {"trust_bundle_cert": settings.trust_bundle_cert}, nl)
        else:
            pending.append(Pending("trust_bundle_cert", settings.trust_bundle_cert,
                                    key_anchor("trust_bundle_cert")))

    if settings.est is not None:
        est = _est_tables(settings.est)
        issuance = doc.get("cert_issuance")
        if isinstance(issuance, OutOfOrderTableProxy) or (
                isinstance(issuance, Table) and isinstance(issuance.get("est"),
                                                           OutOfOrderTableProxy)):
            if isinstance(issuance.get("est"), InlineTable):
                _replace_inline(issuance, "est", est)
            else:
                _set_in_proxy(issuance, {"est": est}, nl)  # type: ignore[arg-type]
        elif isinstance(issuance, Table) and isinstance(issuance.get("est"), Table):
            _set_keys(issuance["est"], est, nl)
        elif isinstance(issuance, Table) and isinstance(issuance.get("est"), InlineTable):
            _replace_inline(issuance, "est", est)
        elif isinstance(issuance, Table):
            issuance.add("est", _table(est, nl))
        else:
            pending.append(Pending("cert_issuance.est", est, block_anchor("cert_issuance.est")))

    if settings.pkcs11 is not None:
        keys: dict[str, Any] = {"pkcs11_lib_path": settings.pkcs11.lib_path}
        if settings.pkcs11.base_slot is not None:
            keys["pkcs11_base_slot"] = settings.pkcs11.base_slot
        if isinstance(doc.get("aziot_keys"), OutOfOrderTableProxy):
            _set_in_proxy(doc["aziot_keys"], keys, nl)
        elif isinstance(doc.get("aziot_keys"), Table):
            _set_keys(doc["aziot_keys"], keys, nl)
        elif isinstance(doc.get("aziot_keys"), InlineTable):
            _replace_inline(doc, "aziot_keys", {**doc["aziot_keys"].unwrap(), **keys})
        else:
            pending.append(Pending("aziot_keys", keys, block_anchor("aziot_keys")))

    wanted = edge_ca_table(settings.edge_ca)
    renew = _auto_renew_table(settings.auto_renew) if settings.auto_renew else None
    current = doc.get("edge_ca")
    if isinstance(current, InlineTable):
        values: dict[str, Any] = dict(wanted)
        subject = current.get("subject")
        if subject is not None and not isinstance(settings.edge_ca, Preloaded) and (
                "common_name" not in wanted):
            values["subject"] = subject.unwrap() if isinstance(subject, Item) else subject
        if renew is not None:
            values["auto_renew"] = renew
        values.update({k: (v.unwrap() if isinstance(v, Item) else v)
                       for k, v in current.items() if k not in EDGE_CA_KEYS})
        _replace_inline(doc, "edge_ca", values)
    elif isinstance(current, Table):
        keep_subject = not isinstance(settings.edge_ca, Preloaded) and "common_name" not in wanted
        for key in list(current.keys()):
            if key in wanted or key not in EDGE_CA_KEYS:
                continue
            if key == "subject" and keep_subject:
                continue
            if key == "auto_renew" and renew is not None:
                continue
            _remove(current, key)
        _set_keys(current, wanted, nl)
        if renew is not None:
            if isinstance(current.get("auto_renew"), Table):
                _set_keys(current["auto_renew"], renew, nl)
            else:
                pending.append(Pending("edge_ca.auto_renew", renew,
                                        block_anchor("edge_ca.auto_renew")))
    elif isinstance(current, OutOfOrderTableProxy):
        # edge_ca.cert = … at top level, or [edge_ca] split by other tables.
        # Keys are changed in place; when some must go (another kind of edge CA), the parts
        # are replaced by one [edge_ca] table (tomlkit cannot delete from such a table).
        keep_subject = not isinstance(settings.edge_ca, Preloaded) and "common_name" not in wanted
        stale = [key for key in current if key not in wanted and key in EDGE_CA_KEYS
                 and not (key == "subject" and keep_subject)
                 and not (key == "auto_renew" and renew)]
        if stale:
            values = {k: _unwrapped(v) for k, v in current.items() if k not in stale}
            values.update(wanted)
            if renew is not None:
                values["auto_renew"] = renew
            del doc["edge_ca"]
            pending.append(Pending("edge_ca", values, edge_ca_anchor(settings)))
        else:
            _set_in_proxy(current, {**wanted, **({"auto_renew": renew} if renew else {})}, nl)
    else:
        pending.append(Pending("edge_ca", wanted, edge_ca_anchor(settings)))
        if renew is not None:
            pending.append(Pending("edge_ca.auto_renew", renew,
                                    block_anchor("edge_ca.auto_renew")))
    return pending


def edit_config_toml(current: str | None, settings: CertSettings, release: EdgeRelease, *,
                     template: str | None = None, where: str = "config.toml") -> str:
    """The new config.toml text for ``settings``, keeping everything else byte-for-byte.

    Args:
        current: the device's config.toml text, or None when the device has none yet.
        settings: the wanted certificate settings.
        release: the device's IoT Edge release (1.2 or later).
        template: the device's ``config.toml.edge.template`` text, used when ``current`` is None;
            without it edgecert's own template is used.
        where: name of the file for error messages.

    Returns:
        The new file text, in the file's own line endings.

    Raises:
        ConfigParseError: the starting text is not TOML.
        SettingsError: the settings contradict each other or the release.
    """
    check_combination(settings, release)
    source = current if current is not None else (template if template is not None
                                                  else our_template())
    check_size(source, where)
    bom, source = split_bom(source)
    nl = newline_of(source)
    doc = parse_toml(source, where=where)
    try:
        return bom + _edit(doc, settings, nl, where)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ConfigError(
            f"edgecert cannot edit this file's layout: {exc}", where=where,
            hint="Write the certificate settings as plain [edge_ca] / trust_bundle_cert "
                 "lines (as in config.toml.edge.template), then run edgecert again.") from exc


def _edit(doc: tomlkit.TOMLDocument, settings: CertSettings, nl: str, where: str) -> str:
    """Edit ``doc`` (parsed once; linear in the file's size) and return the new text."""
    pending = _edit_existing(doc, settings, nl)
    edited = tomlkit.dumps(doc)
    # A top-level key without a commented example goes where tomlkit puts it (after the last
    # top-level key) in both edits: place it now rather than re-parse the text later.
    while pending and not isinstance(pending[0].value, dict) and "." not in pending[0].key and (
            pending[0].anchor(edited.splitlines(keepends=True)) is None):
        _add_plainly(doc, pending.pop(0), nl)
        edited = tomlkit.dumps(doc)
    if not pending:
        return edited

    # The plain edit: tomlkit places missing items (keys before tables, tables at the end).
    # It goes on in the same document: ``edited`` already holds the text before it.
    for item in pending:
        if item.key == "edge_ca.auto_renew" and isinstance(doc.get("edge_ca"), Table):
            parent = doc["edge_ca"]
            parent.add("auto_renew", _separated(_table(item.value, nl), parent.as_string(), nl))
        else:
            _add_plainly(doc, item, nl)
    plain = tomlkit.dumps(doc)

    # The careful edit: each missing item right after its commented example.
    placed = edited
    for item in pending:
        fragment = _fragment(item.key, item.value, nl)
        spliced = splice(placed, item.anchor, fragment, nl)
        if spliced is None and isinstance(item.value, dict) and item.key != "edge_ca.auto_renew":
            spliced = _append_table(placed, fragment, nl)
        if spliced is None:
            spliced_doc = parse_toml(placed, where=where)
            if item.key == "edge_ca.auto_renew" and isinstance(spliced_doc.get("edge_ca"), Table):
                parent = spliced_doc["edge_ca"]
                parent.add("auto_renew",
                           _separated(_table(item.value, nl), parent.as_string(), nl))
            else:
                _add_plainly(spliced_doc, item, nl)
            spliced = tomlkit.dumps(spliced_doc)
        placed = spliced
    if placed == plain:
        return plain
    try:
        if tomllib.loads(placed) == tomllib.loads(plain):
            return placed
    except tomllib.TOMLDecodeError:
        pass
    return plain


def _append_table(text: str, fragment: str, nl: str) -> str:
    """A whole table appended at the end, after one blank line (what tomlkit would do)."""
    if not text:
        return fragment
    if text.endswith(nl + nl) or text.endswith("\n\n"):
        return text + fragment
    if text.endswith(("\n", "\r")):
        return text + nl + fragment
    return text + nl + nl + fragment
