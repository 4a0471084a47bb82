"""Deploy test support: a sandbox directory tree on this computer and plans for it.

The engine tests run the real device shell library through ``LocalTarget`` as root, against a
plan whose paths all live in a fresh sandbox under /var/tmp (never the machine's own
/etc/aziot). They need root for ``install -o``; in CI a missing prerequisite fails the test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from certs import Chain, make_chain
from ci import unavailable

from core.config.planning import build_plan, default_paths
from core.config.settings import CertSettings, Preloaded
from core.config.uris import file_uri
from core.deploy import read_device_state
from core.plan import (
    ClearState,
    Command,
    ConfigChange,
    EnsureDir,
    InstallFile,
    Plan,
    ReadableBy,
)
from core.targets.base import Target

# Users that exist on every Debian system; stand in for aziotcs/aziotks in the sandbox.
CERT_USER, CERT_GROUP = "nobody", "nogroup"
KEY_USER, KEY_GROUP = "daemon", "daemon"



def sweep_new_stage_dirs(before: set[Path]) -> list[Path]:
    """Remove staging dirs a killed connection left in /tmp since ``before`` (test hygiene)."""
    left = [p for p in Path("/tmp").glob("edgecert-stage.*") if p not in before]
    for p in left:
        shutil.rmtree(p, ignore_errors=True)
    return left


def stage_dirs() -> set[Path]:
    return set(Path("/tmp").glob("edgecert-stage.*"))


def require_root() -> None:
    if os.geteuid() == 0:
        return
    unavailable("deploy engine tests need root (install -o/-g, chown)")


CHECK_OK = '{"checks": {"certs-preloaded": {"result": "ok", "additional_info": null}}}'

# The sandbox's apply command: a script that refuses a config without [edge_ca], fails on
# demand (knob file), and logs each call so tests can see re-applies.
APPLY_SCRIPT = """#!/bin/sh
# knob: take this many seconds (a slow runtime), so a test can act while apply runs
[ -e "$1/slow-apply" ] && sleep "$(cat "$1/slow-apply")"
echo "apply $(sha256sum < "$2" | cut -c1-12)" >> "$1/apply.log"
# knob: fail when the config contains the line written in fail-apply
[ -e "$1/fail-apply" ] && grep -qxF -f "$1/fail-apply" "$2" \
  && { echo "apply refused by test knob" >&2; exit 1; }
grep -q '^\\[edge_ca\\]' "$2" || { echo "config has no [edge_ca]" >&2; exit 1; }
echo applied
"""
CHECK_SCRIPT = """#!/bin/sh
if [ -e "$1/fail-check" ]; then
  echo '{"checks": {"certs-preloaded": {"result": "error", "details": ["bad cert"]}}}'
  exit 1
fi
echo '""" + CHECK_OK + """'
"""


@dataclass
class Sandbox:
    root: Path
    backups: Path

    def p(self, rel: str) -> str:
        return str(self.root / rel)

    def snapshot(self) -> dict[str, tuple[str, int, int, int, str]]:
        """Every path under the sandbox (tools, backups excluded): kind, mode, uid, gid, sha256."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                full = Path(dirpath, name)
                rel = str(full.relative_to(self.root))
                if rel.startswith(("tools", "backups")) or rel in ("apply.log",):
                    continue
                st = full.lstat()
                digest = ""
                if stat.S_ISREG(st.st_mode):
                    digest = hashlib.sha256(full.read_bytes()).hexdigest()
                kind = "d" if stat.S_ISDIR(st.st_mode) else "f"
                out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, digest)
        return out

    def apply_log(self) -> list[str]:
        log = self.root / "apply.log"
        return log.read_text().splitlines() if log.exists() else []


def make_sandbox() -> Iterator[Sandbox]:
    require_root()
    root = Path(tempfile.mkdtemp(prefix="edgecert-sandbox-", dir="/var/tmp"))
    root.chmod(0o755)
    (root / "etc/aziot").mkdir(parents=True, mode=0o755)
    (root / "tools").mkdir(mode=0o755)
    (root / "tools/apply").write_text(APPLY_SCRIPT)
    (root / "tools/check").write_text(CHECK_SCRIPT)
    for t in ("apply", "check"):
        (root / "tools" / t).chmod(0o755)
    (root / "etc/aziot/config.toml").write_bytes(b'hostname = "dev"\n')
    (root / "etc/aziot/config.toml").chmod(0o600)
    (root / "var/lib/aziot/certd/certs").mkdir(parents=True)
    (root / "var/lib/aziot/certd/certs/aziotedgedca-old.cer").write_bytes(b"old quickstart")
    (root / "var/lib/aziot/certd/certs/module-server.cer").write_bytes(b"module cert")
    yield Sandbox(root, root / "backups")
    shutil.rmtree(root, ignore_errors=True)


SANDBOX_CHAIN = make_chain("sandbox-device.ca")
"""The real chain every sandbox plan installs (deploy refuses files that fail the pre-flight)."""


def sandbox_plan(sb: Sandbox, *, cert: bytes = b"CERT 1\n", key: bytes = b"KEY 1\n",
                 before: bytes | None = b'hostname = "dev"\n',
                 after: bytes = b'hostname = "dev"\n\n[edge_ca]\ncert = "x"\n',
                 readable_user: str = CERT_USER, release: str = "1.5") -> Plan:
    """A 1.5-shaped plan whose every path is inside the sandbox (named as its device folder).

    ``cert`` and ``key`` are labels: the installed files are the label (PEM explanatory text)
    followed by the real edge CA chain and key of ``SANDBOX_CHAIN``, so plans with different
    labels install different bytes and every plan passes the pre-flight.
    """
    chain = SANDBOX_CHAIN
    cert = cert + chain.edge_ca_full_chain
    key = key + chain.edge_ca_key
    cfg = sb.p("etc/aziot/config.toml")
    return Plan(
        release=release,
        platform="linux",
        dirs=(
            EnsureDir(sb.p("var/aziot"), 0o755, "root", "root"),
            EnsureDir(sb.p("var/aziot/certs"), 0o755, CERT_USER, CERT_GROUP),
            EnsureDir(sb.p("var/aziot/secrets"), 0o700, KEY_USER, KEY_GROUP),
        ),
        files=(
            InstallFile(sb.p("var/aziot/certs/edge-ca.pem"), cert, 0o644, CERT_USER, CERT_GROUP,
                        "edge-ca-cert"),
            InstallFile(sb.p("var/aziot/certs/trust-bundle.pem"), chain.root, 0o644,
                        CERT_USER, CERT_GROUP, "trust-bundle"),
            InstallFile(sb.p("var/aziot/secrets/edge-ca.key.pem"), key, 0o600, KEY_USER,
                        KEY_GROUP, "edge-ca-key", secret=True),
        ),
        config=ConfigChange(cfg, before, after),
        clear=ClearState(files=(sb.p("var/lib/aziot/certd/certs/aziotedgedca-old.cer"),)),
        apply=(Command((sb.p("tools/apply"), str(sb.root), cfg), True, "apply the config"),),
        check=(Command((sb.p("tools/check"), str(sb.root)), True, "check"),),
        check_ids=("certs-preloaded",),
        readable=(
            ReadableBy(sb.p("var/aziot/certs/edge-ca.pem"), readable_user),
            ReadableBy(sb.p("var/aziot/secrets/edge-ca.key.pem"), KEY_USER),
        ),
        device_folders=(str(sb.root),),
    )


def device_plan(target: Target, chain: Chain) -> Plan:
    """The plan the CLI and the wizard make for ``chain`` on the device as it is now: its
    release, config and template as ``read_device_state`` finds them, the default folders."""
    state = read_device_state(target, None)
    paths = default_paths(state.release, "linux")
    settings = CertSettings(edge_ca=Preloaded(file_uri(paths.edge_ca_cert),
                                              file_uri(paths.edge_ca_key)),
                            trust_bundle_cert=file_uri(paths.trust_bundle))
    return build_plan(release=state.release, platform="linux", settings=settings,
                      current_config=state.config, edge_ca_cert=chain.edge_ca_full_chain,
                      edge_ca_key=chain.edge_ca_key, trust_bundle=chain.root,
                      template=state.template)


def plan_for(target: Target, cn: str = "edge-device-01-ca.ca") -> Plan:
    """``device_plan`` for a fresh chain whose edge CA is named ``cn``."""
    return device_plan(target, make_chain(cn))
