"""Benchmark: one deploy by edgecert vs a shell script doing the same with OpenSSH scp/ssh.

Both run against the test suite's loopback device (tests/device: real sshd in a mount
namespace, aziot users, sudo, stand-in iotedge), reset to a fresh 1.5 install before each run,
several repetitions: three files (edge CA chain, key, trust bundle), a backup, install with
owners and modes, the config edit, clearing the stale edge CA, apply and check, as user
edgeadmin with passwordless sudo. Prints the median times and the ratio (target: edgecert <=
0.5x the script).

    .venv/bin/python bench/deploy.py [--reps N]

Needs root (install -o/-g, sshd), OpenSSH client and server, and the runtime's config parser
(EDGECERT_RTCFG; default ../shared/tools/rtcfg/rtcfg beside the checkout).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "deploy")]
_RTCFG = HERE.parent.parent / "shared" / "tools" / "rtcfg" / "rtcfg"
if _RTCFG.is_file():
    os.environ.setdefault("EDGECERT_RTCFG", str(_RTCFG))

from certs import make_chain  # noqa: E402
from deploytest_support import device_plan as plan_on_device  # noqa: E402
from device.device import Device, start_device  # noqa: E402
from device.layouts import layout  # noqa: E402

from core.deploy import deploy  # noqa: E402
from core.plan import Plan  # noqa: E402
from core.targets.ssh import SshTarget  # noqa: E402

USER = "edgeadmin"  # passwordless sudo on the loopback device

# The script a technician would write: one ssh per step, like the docs' manual procedure.
SCRIPT = r"""
set -eu
SSH="ssh $OPTS -p $PORT $USER@127.0.0.1"
stage=$($SSH 'umask 077; mktemp -d /tmp/bench-stage.XXXXXX')
scp $OPTS -q -P $PORT "$LOCAL/cert" "$LOCAL/key" "$LOCAL/bundle" "$LOCAL/config" \
    "$USER@127.0.0.1:$stage/"
[ "$($SSH "sudo sha256sum $CFG | cut -d' ' -f1")" = "$BEFORE" ] || { echo drift >&2; exit 2; }
b="/var/backups/bench-$(date -u +%Y%m%dT%H%M%SZ)"
$SSH "sudo sh -c 'umask 077; mkdir -p $b && cp -p $CFG $b/ && for f in $CERT $KEY $BUNDLE \
      $STALE; do [ -e \$f ] && cp -p \$f $b/ || true; done'"
$SSH "sudo install -d -m 755 /var/aziot && \
      sudo install -d -m 755 -o aziotcs -g aziotcs /var/aziot/certs && \
      sudo install -d -m 700 -o aziotks -g aziotks /var/aziot/secrets"
$SSH "sudo install -m 644 -o aziotcs -g aziotcs $stage/cert $CERT.tmp && \
      sudo mv $CERT.tmp $CERT && \
      sudo install -m 644 -o aziotcs -g aziotcs $stage/bundle $BUNDLE.tmp && \
      sudo mv $BUNDLE.tmp $BUNDLE && \
      sudo install -m 600 -o aziotks -g aziotks $stage/key $KEY.tmp && sudo mv $KEY.tmp $KEY"
$SSH "sudo install -m 600 -o root -g root $stage/config $CFG.tmp && sudo mv $CFG.tmp $CFG"
$SSH "sudo rm -f $STALE"
$SSH "sudo $APPLY" > /dev/null
$SSH "sudo $CHECK" > /dev/null
$SSH "rm -rf $stage"
"""


# The fewest connections OpenSSH can do it in without multiplexing: one scp, one ssh.
SCRIPT_COMPACT = r"""
set -eu
stage=/tmp/bench-stage.$$
ssh $OPTS -p $PORT $USER@127.0.0.1 "umask 077; mkdir $stage" </dev/null
scp $OPTS -q -P $PORT "$LOCAL/cert" "$LOCAL/key" "$LOCAL/bundle" "$LOCAL/config" \
    "$USER@127.0.0.1:$stage/"
ssh $OPTS -p $PORT $USER@127.0.0.1 "sudo sh -s" <<EOS > /dev/null
set -eu
umask 077
[ "\$(sha256sum $CFG | cut -d' ' -f1)" = "$BEFORE" ] || exit 2
b=/var/backups/bench-\$(date -u +%Y%m%dT%H%M%SZ); mkdir -p \$b; cp -p $CFG \$b/
for f in $CERT $KEY $BUNDLE $STALE; do [ -e \$f ] && cp -p \$f \$b/ || true; done
install -d -m 755 /var/aziot
install -d -m 755 -o aziotcs -g aziotcs /var/aziot/certs
install -d -m 700 -o aziotks -g aziotks /var/aziot/secrets
install -m 644 -o aziotcs -g aziotcs $stage/cert $CERT.tmp && mv $CERT.tmp $CERT
install -m 644 -o aziotcs -g aziotcs $stage/bundle $BUNDLE.tmp && mv $BUNDLE.tmp $BUNDLE
install -m 600 -o aziotks -g aziotks $stage/key $KEY.tmp && mv $KEY.tmp $KEY
install -m 600 -o root -g root $stage/config $CFG.tmp && mv $CFG.tmp $CFG
rm -f $STALE
umask 022
$APPLY
$CHECK || true
rm -rf $stage
EOS
"""


def connect(dev: Device) -> SshTarget:
    return dev.connect(USER)


def fresh(dev: Device) -> Device:
    """The device as a fresh IoT Edge 1.5 install."""
    dev.reset()
    layout(dev, "1.5")
    return dev


def device_plan(dev: Device) -> Plan:
    """The plan exactly as the CLI computes it (fresh chain, device config as it is)."""
    with connect(dev) as target:
        return plan_on_device(target, make_chain())


def run_edgecert(device: Device) -> float:
    dev = fresh(device)
    plan = device_plan(dev)
    t0 = time.perf_counter()
    with connect(dev) as target:
        rep = deploy(plan, target)
    elapsed = time.perf_counter() - t0
    assert rep.outcome == "deployed" and rep.checks_ok
    assert dev.read(plan.config.path) == plan.config.after
    return elapsed


def run_script(device: Device, workdir: Path, script: str = SCRIPT) -> float:
    dev = fresh(device)
    plan = device_plan(dev)
    local = workdir / "files"
    local.mkdir(mode=0o700, exist_ok=True)
    by_role = {f.role: f for f in plan.files}
    for name, data in (("cert", by_role["edge-ca-cert"].data),
                       ("bundle", by_role["trust-bundle"].data),
                       ("key", by_role["edge-ca-key"].data), ("config", plan.config.after)):
        (local / name).write_bytes(data)
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "USER": USER,
        "OPTS": " ".join(shlex.quote(o) for o in [
            "-i", str(dev.accounts[USER].key), "-o", f"UserKnownHostsFile={dev.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]),
        "PORT": str(dev.port), "LOCAL": str(local), "CFG": plan.config.path,
        "BEFORE": plan.config.before_sha256 or "",
        "CERT": by_role["edge-ca-cert"].path, "BUNDLE": by_role["trust-bundle"].path,
        "KEY": by_role["edge-ca-key"].path, "STALE": " ".join(plan.clear.files),
        "APPLY": shlex.join(plan.apply[0].argv), "CHECK": shlex.join(plan.check[0].argv),
    }
    t0 = time.perf_counter()
    subprocess.run(["sh", "-c", script], env=env, check=True)
    elapsed = time.perf_counter() - t0
    assert dev.read(plan.config.path) == plan.config.after
    assert dev.read(by_role["edge-ca-key"].path) == by_role["edge-ca-key"].data
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    ours: list[float] = []
    theirs: list[float] = []
    compact: list[float] = []
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as base:
        base_dir = Path(base)
        base_dir.chmod(0o755)
        device = start_device(base_dir)
        try:
            run_edgecert(device)  # warm-up: imports, first handshake
            run_script(device, Path(work))
            for _ in range(args.reps):  # interleaved so both see the same machine load
                ours.append(run_edgecert(device))
                theirs.append(run_script(device, Path(work)))
                compact.append(run_script(device, Path(work), SCRIPT_COMPACT))
        finally:
            device.stop()
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"repetitions: {args.reps}")
    print(f"edgecert deploy (connect + deploy): median {m_ours * 1000:.0f} ms "
          f"(min {min(ours) * 1000:.0f}, max {max(ours) * 1000:.0f})")
    print(f"OpenSSH scp/ssh script:             median {m_theirs * 1000:.0f} ms "
          f"(min {min(theirs) * 1000:.0f}, max {max(theirs) * 1000:.0f})")
    m_compact = statistics.median(compact)
    print(f"same in one scp + one ssh:          median {m_compact * 1000:.0f} ms "
          f"(ratio {m_ours / m_compact:.2f}x; for reference)")
    ratio = m_ours / m_theirs
    print(f"ratio edgecert/script: {ratio:.2f}x (target <= 0.50x) "
          f"{'OK' if ratio <= 0.5 else 'ABOVE TARGET'}")
    return 0 if ratio <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
