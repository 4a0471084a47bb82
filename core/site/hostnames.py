"""``hostname`` and ``parent_hostname`` of a site device, set in its config.toml text.

Both are top-level keys (before any table). An existing key is changed in place (its comment
and position kept, as the certificate editor does); a missing one goes right after the
template's commented example (``# hostname = …``) when there is one, else before the first
table. Everything else stays byte-for-byte.
"""

from __future__ import annotations

import tomllib

import tomlkit
from tomlkit.items import Item

from core.config.anchors import key_anchor, splice
from core.config.toml_edit import keep_trivia, newline_of, parse_toml


def _set(text: str, key: str, value: str | None, where: str) -> str:
    doc = parse_toml(text, where=where)
    if value is None:
        if key not in doc:
            return text
        del doc[key]
        return tomlkit.dumps(doc)
    if key in doc:
        old = doc[key]
        if isinstance(old, Item) and old.unwrap() == value:
            return text
        doc[key] = keep_trivia(tomlkit.item(value), old)
        return tomlkit.dumps(doc)
    nl = newline_of(text)
    added = tomlkit.item(value)
    added.trivia.trail = nl
    doc.add(key, added)
    plain = tomlkit.dumps(doc)
    placed = splice(text, key_anchor(key), tomlkit.dumps({key: value}).rstrip("\n") + nl, nl)
    try:
        if placed is not None and tomllib.loads(placed) == tomllib.loads(plain):
            return placed
    except tomllib.TOMLDecodeError:
        pass
    return plain


def with_hostnames(text: str, *, hostname: str | None, parent_hostname: str | None,
                   where: str = "config.toml") -> str:
    """``text`` with ``hostname`` set (None: left as it is) and ``parent_hostname`` set, or
    removed when the device has no parent.

    Raises:
        ConfigParseError: the text is not TOML.
    """
    if hostname is not None:
        text = _set(text, "hostname", hostname, where)
    return _set(text, "parent_hostname", parent_hostname, where)
