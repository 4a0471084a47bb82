"""Benchmark: one deploy by edgecert vs a shell script doing the same with OpenSSH scp/ssh.

Both run against the same real sshd on loopback, in one run, several repetitions, each on a
fresh device tree: three files (edge CA chain, key, trust bundle), a backup, install with
owners and modes, the config edit, apply and check. Prints the median times and the ratio
(target: edgecert <= 0.5x the script).

    .venv/bin/python bench/deploy.py [--reps N]

Needs root (install -o/-g, sshd), OpenSSH client and server.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests" / "deploy")]

from chains import make_chain  # noqa: E402
from deploytest_support import Sandbox, make_sandbox, sandbox_plan  # noqa: E402
from sshd_support import Sshd, running_sshd  # noqa: E402

from core.deploy import deploy  # noqa: E402
from core.plan import Plan  # noqa: E402
from core.targets.ssh import SshTarget  # noqa: E402

# The script a technician would write: one ssh per step, like the docs' manual procedure.
SCRIPT = r"""
set -eu
SSH="ssh $OPTS -p $PORT root@127.0.0.1"
stage=$($SSH 'umask 077; mktemp -d /tmp/bench-stage.XXXXXX')
scp $OPTS -q -P $PORT "$LOCAL/cert" "$LOCAL/key" "$LOCAL/bundle" "$LOCAL/config" \
    "root@127.0.0.1:$stage/"
[ "$($SSH "sha256sum < $CFG | cut -d' ' -f1")" = "$BEFORE" ] || { echo drift >&2; exit 2; }
b="$BACKUPS/$(date -u +%Y%m%dT%H%M%SZ)"
$SSH "umask 077; mkdir -p $b && cp -p $CFG $b/ && for f in $CERT $KEY $BUNDLE $STALE; do \
      [ -e \$f ] && cp -p \$f $b/ || true; done"
$SSH "install -d -m 755 $VAR && install -d -m 755 -o nobody -g nogroup $VAR/certs && \
      install -d -m 700 -o daemon -g daemon $VAR/secrets"
$SSH "install -m 644 -o nobody -g nogroup $stage/cert $CERT.tmp && mv $CERT.tmp $CERT && \
      install -m 644 -o nobody -g nogroup $stage/bundle $BUNDLE.tmp && mv $BUNDLE.tmp $BUNDLE && \
      install -m 600 -o daemon -g daemon $stage/key $KEY.tmp && mv $KEY.tmp $KEY"
$SSH "install -m 600 -o root -g root $stage/config $CFG.tmp && mv $CFG.tmp $CFG"
$SSH "rm -f $STALE"
$SSH "$APPLY" > /dev/null
$SSH "$CHECK" > /dev/null
$SSH "rm -rf $stage"
"""


def bench_plan(sb: Sandbox) -> Plan:
    chain = make_chain()
    return sandbox_plan(sb, cert=chain.edge_ca_full_chain, key=chain.edge_ca_key)


def run_edgecert(d: Sshd, fingerprint: str) -> float:
    it = make_sandbox()
    sb = next(it)
    try:
        plan = bench_plan(sb)
        t0 = time.perf_counter()
        target = SshTarget.connect(d.host, port=d.port, user=d.user, key_file=d.key,
                                   known_hosts=[d.known_hosts], use_agent=False,
                                   accept_fingerprint=fingerprint)
        try:
            rep = deploy(plan, target, backup_root=str(sb.backups))
        finally:
            target.close()
        elapsed = time.perf_counter() - t0
        assert rep.outcome == "deployed" and rep.checks_ok
        return elapsed
    finally:
        it.close()


def run_script(d: Sshd, workdir: Path) -> float:
    it = make_sandbox()
    sb = next(it)
    try:
        plan = bench_plan(sb)
        local = workdir / "files"
        local.mkdir(mode=0o700, exist_ok=True)
        for name, data in (("cert", plan.files[0].data), ("bundle", plan.files[1].data),
                           ("key", plan.files[2].data), ("config", plan.config.after)):
            (local / name).write_bytes(data)
        env = {
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "OPTS": " ".join(shlex.quote(o) for o in d.ssh_options()), "PORT": str(d.port),
            "LOCAL": str(local), "CFG": plan.config.path, "BEFORE": plan.config.before_sha256 or "",
            "BACKUPS": str(sb.backups), "VAR": sb.p("var/aziot"),
            "CERT": plan.files[0].path, "BUNDLE": plan.files[1].path, "KEY": plan.files[2].path,
            "STALE": plan.clear.files[0],
            "APPLY": shlex.join(plan.apply[0].argv), "CHECK": shlex.join(plan.check[0].argv),
        }
        t0 = time.perf_counter()
        subprocess.run(["sh", "-c", SCRIPT], env=env, check=True)
        elapsed = time.perf_counter() - t0
        assert Path(plan.files[2].path).read_bytes() == plan.files[2].data
        assert Path(plan.config.path).read_bytes() == plan.config.after
        return elapsed
    finally:
        it.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    with running_sshd() as d:
        fp = subprocess.check_output(["ssh-keygen", "-lf", str(d.key.parent / "host.pub")],
                                     text=True).split()[1]
        work = d.key.parent
        ours: list[float] = []
        theirs: list[float] = []
        run_edgecert(d, fp)  # warm-up: imports, first handshake
        run_script(d, work)
        for _ in range(args.reps):  # interleaved so both see the same machine load
            ours.append(run_edgecert(d, fp))
            theirs.append(run_script(d, work))
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"repetitions: {args.reps}")
    print(f"edgecert deploy (connect + deploy): median {m_ours * 1000:.0f} ms "
          f"(min {min(ours) * 1000:.0f}, max {max(ours) * 1000:.0f})")
    print(f"OpenSSH scp/ssh script:             median {m_theirs * 1000:.0f} ms "
          f"(min {min(theirs) * 1000:.0f}, max {max(theirs) * 1000:.0f})")
    ratio = m_ours / m_theirs
    print(f"ratio edgecert/script: {ratio:.2f}x (target <= 0.50x) "
          f"{'OK' if ratio <= 0.5 else 'ABOVE TARGET'}")
    return 0 if ratio <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
