"""Helpers for the site tests: a site CA made by the code under test, and site files."""

from __future__ import annotations

import textwrap
from pathlib import Path

from core.chain import ChainFiles, KeyType, generate_demo_chain
from core.versions import release


def make_ca(base: Path, *, days: int = 800) -> ChainFiles:
    """A demo root → intermediate (the site CA) chain, EC P-256 (fast)."""
    return generate_demo_chain(base, "site-ca-holder", release=release("1.5"),
                               key_type=KeyType.EC_P256, days=days)


def ca_section(ca: ChainFiles) -> str:
    assert ca.intermediate_cert and ca.intermediate_key and ca.root_cert
    return textwrap.dedent(f"""\
        [ca]
        cert = "{ca.intermediate_cert}"
        key = "{ca.intermediate_key}"
        trust_bundle = "{ca.root_cert}"
        """)


def write_site(path: Path, ca: ChainFiles, body: str, *, head: str = "") -> Path:
    """A site file: ``head`` (e.g. a [site] table), the [ca] of ``ca``, then ``body``."""
    path.write_text(textwrap.dedent(head) + ca_section(ca) + textwrap.dedent(body))
    return path
