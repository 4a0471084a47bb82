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


def rtcfg_check(config: bytes, where: Path) -> None:
    """The runtime's own config parser (``$EDGECERT_RTCFG``) must accept ``config``.

    Without the oracle the check fails under CI and skips (saying so) elsewhere.
    """
    import os
    import subprocess

    import pytest

    oracle = os.environ.get("EDGECERT_RTCFG", "")
    if not oracle or not Path(oracle).is_file():
        reason = ("the runtime's config parser is not available: set EDGECERT_RTCFG to the "
                  "rtcfg binary (shared/tools/rtcfg/rtcfg)")
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    where.write_bytes(config)
    res = subprocess.run([oracle, str(where)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "OK", (res.stdout, res.stderr,
                                                               config.decode())
