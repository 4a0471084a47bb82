"""Make a demo chain the way Microsoft's certGen.sh does, but safely (facts §1, §11.1)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from core.chain.builder import CN_MAX_LENGTH, build_ca
from core.chain.keys import KeyType, PrivateKey, generate_keys, private_key_pem
from core.chain.output import (
    INTERMEDIATE_PREFIX,
    ROOT_PREFIX,
    ChainFiles,
    StagedDir,
    edge_prefix,
    staged_output,
)
from core.chain.pkcs12 import pfx_bytes
from core.errors import UsageError
from core.progress import CancelToken, ProgressCallback, report
from core.versions import EdgeRelease

ROOT_CN = "Azure_IoT_Hub_CA_Cert_Test_Only"
INTERMEDIATE_CN = "Azure_IoT_Hub_Intermediate_Cert_Test_Only"
# Demo validity: the edge CA lives as long as a quickstart CA (90 days, facts §2.4); root and
# intermediate get a year (or longer than the edge CA) so renewing the edge CA keeps the chain.
# On 1.1 the edge (device) CA gets 180 days, twice its 90-day warning window, so a fresh demo
# chain does not start with a warning.
DEFAULT_EDGE_DAYS = 90
MIN_CA_DAYS = 365


def default_edge_days(release: EdgeRelease) -> int:
    """Demo edge CA lifetime: 90 days, or twice the release's warning window if that is longer."""
    return max(DEFAULT_EDGE_DAYS, 2 * release.expiry_warning_days)


def pem(cert: x509.Certificate) -> bytes:
    """The certificate as PEM bytes."""
    return cert.public_bytes(serialization.Encoding.PEM)


DEVICE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
DEVICE_NAME_RULE = ("Use ASCII letters, digits, '-', '_' and '.' (not first), e.g. the device "
                    "ID.")
"""The rule a device name (``--name``) follows: it names files and the edge CA's CN."""


def edge_ca_common_name(name: str) -> str:
    """``NAME.ca``, checked against the 64-character limit (facts §2.2)."""
    cn = f"{name}.ca"
    if not DEVICE_NAME.fullmatch(name):
        raise UsageError(f"{name!r} cannot be used as a device name",
                         hint=DEVICE_NAME_RULE)
    if len(cn) > CN_MAX_LENGTH:
        raise UsageError(
            f"the edge CA name {cn!r} is {len(cn)} characters; at most {CN_MAX_LENGTH}",
            hint=f"Use a name of at most {CN_MAX_LENGTH - 3} characters.",
        )
    return cn


def validity(now: dt.datetime, days: int, release: EdgeRelease) -> tuple[dt.datetime, ...]:
    """(not_before, edge CA not_after, CA not_after) honouring the release's date limit."""
    from core.chain.builder import BACKDATE

    if days < 1:
        raise UsageError("--days must be at least 1", hint="For a demo, 90 days is typical.")
    not_before = now - BACKDATE
    edge_end = now + dt.timedelta(days=days)
    ca_end = now + dt.timedelta(days=max(MIN_CA_DAYS, days + 30))
    limit = release.not_after_limit
    if limit is not None:
        if edge_end >= limit:
            raise UsageError(
                f"a {days}-day {release.ca_term} would end after {limit:%Y-%m-%d}, which IoT "
                f"Edge {release.key} cannot handle",
                hint=f"Use fewer days (the whole chain must end before {limit:%Y-%m-%d}).",
            )
        ca_end = min(ca_end, limit - dt.timedelta(days=1))
    return not_before, edge_end, ca_end


@dataclass(frozen=True)
class IssuedEdgeCa:
    """An edge CA and the chain above it, in memory."""

    key: PrivateKey = field(repr=False)
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    """Issuers above the edge CA, nearest first, root last."""


class EdgeCaPaths(TypedDict):
    """The edge CA files ``write_edge_ca`` wrote, by ``ChainFiles`` field."""

    edge_ca_cert: Path
    edge_ca_full_chain: Path
    edge_ca_key: Path
    edge_ca_pfx: Path


def write_edge_ca(staged: StagedDir, name: str, edge: IssuedEdgeCa,
                  *, pfx_password: bytes | None) -> EdgeCaPaths:
    """Write the edge CA files with certGen.sh's names (key PKCS#8, 0600)."""
    prefix = edge_prefix(name)
    paths: EdgeCaPaths = {
        "edge_ca_cert": staged.write(f"certs/{prefix}.cert.pem", pem(edge.cert)),
        "edge_ca_full_chain": staged.write(
            f"certs/{prefix}-full-chain.cert.pem",
            pem(edge.cert) + b"".join(pem(c) for c in edge.chain),
        ),
        "edge_ca_key": staged.write(f"private/{prefix}.key.pem", private_key_pem(edge.key),
                                    private=True),
        "edge_ca_pfx": staged.write(
            f"certs/{prefix}.cert.pfx",
            pfx_bytes(name=prefix, key=edge.key, cert=edge.cert, chain=edge.chain,
                      password=pfx_password),
            private=True,
        ),
    }
    return paths


def generate_demo_chain(
    out_dir: Path,
    name: str,
    *,
    release: EdgeRelease,
    key_type: KeyType = KeyType.RSA_4096,
    days: int | None = None,
    password: str | None = None,
    force: bool = False,
    now: dt.datetime | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ChainFiles:
    """Root CA → intermediate CA → edge CA, written with certGen.sh's file names.

    Differences from Microsoft's scripts, on purpose: PKCS#8 keys with mode 0600; CA keys
    encrypted only with a password the user chose; edge CA CN ``NAME.ca``; pathlen of the edge
    CA from the release (0 on 1.2+, none on 1.1); nothing written unless all of it is.

    Args:
        out_dir: the folder to create (refused if it exists and is not empty, unless ``force``).
        name: device name; the edge CA CN is ``NAME.ca``.
        release: target IoT Edge release (pathlen, date limit, wording).
        key_type: key type of all three CAs.
        days: edge CA lifetime (default ``default_edge_days(release)``); root and intermediate
            live ``max(365, days + 30)`` days, capped before 2038 on 1.1.
        password: encrypts the root and intermediate keys and the PFX files when given.
        force: replace a non-empty ``out_dir`` (only once the new chain is complete).
        now: reference time (tests).
        progress: progress callback.
        cancel: cancellation token, checked between steps.

    Raises:
        UsageError: bad name, days or output folder.
    """
    now = now or dt.datetime.now(dt.UTC)
    cn = edge_ca_common_name(name)
    edge_days = default_edge_days(release) if days is None else days
    not_before, edge_end, ca_end = validity(now, edge_days, release)
    pw = password.encode("utf-8") if password else None
    report(progress, "keys", 0, 3, f"generating three {key_type.value} keys")
    if cancel:
        cancel.raise_if_cancelled()
    root_key, inter_key, edge_key = generate_keys([key_type] * 3)
    report(progress, "keys", 3, 3)
    if cancel:
        cancel.raise_if_cancelled()
    h = key_type.hash_algorithm()
    edge_pathlen = release.edge_ca_pathlen
    inter_pathlen = None if edge_pathlen is None else edge_pathlen + 1
    root = build_ca(common_name=ROOT_CN, public_key=root_key.public_key(), issuer_key=root_key,
                    issuer_cert=None, not_before=not_before, not_after=ca_end,
                    path_length=None, hash_algorithm=h)
    inter = build_ca(common_name=INTERMEDIATE_CN, public_key=inter_key.public_key(),
                     issuer_key=root_key, issuer_cert=root, not_before=not_before,
                     not_after=ca_end, path_length=inter_pathlen, hash_algorithm=h)
    edge = build_ca(common_name=cn, public_key=edge_key.public_key(), issuer_key=inter_key,
                    issuer_cert=inter, not_before=not_before, not_after=edge_end,
                    path_length=edge_pathlen, hash_algorithm=h, edge_ca=True)
    report(progress, "certificates", 3, 3)
    with staged_output(out_dir, force=force) as staged:
        root_cert = staged.write(f"certs/{ROOT_PREFIX}.cert.pem", pem(root))
        root_keyf = staged.write(f"private/{ROOT_PREFIX}.key.pem",
                                 private_key_pem(root_key, pw), private=True)
        inter_cert = staged.write(f"certs/{INTERMEDIATE_PREFIX}.cert.pem", pem(inter))
        inter_full = staged.write(f"certs/{INTERMEDIATE_PREFIX}-full-chain.cert.pem",
                                  pem(inter) + pem(root))
        inter_keyf = staged.write(f"private/{INTERMEDIATE_PREFIX}.key.pem",
                                  private_key_pem(inter_key, pw), private=True)
        inter_pfx = staged.write(
            f"certs/{INTERMEDIATE_PREFIX}.cert.pfx",
            pfx_bytes(name=INTERMEDIATE_PREFIX, key=inter_key, cert=inter, chain=[root],
                      password=pw),
            private=True,
        )
        edge_paths = write_edge_ca(staged, name, IssuedEdgeCa(edge_key, edge, (inter, root)),
                                   pfx_password=pw)
        if cancel:
            cancel.raise_if_cancelled()
    report(progress, "written", 1, 1, str(out_dir))
    return ChainFiles(
        out_dir=out_dir.resolve(),
        trust_bundle=root_cert,
        root_cert=root_cert,
        root_key=root_keyf,
        intermediate_cert=inter_cert,
        intermediate_full_chain=inter_full,
        intermediate_key=inter_keyf,
        intermediate_pfx=inter_pfx,
        **edge_paths,
    )
