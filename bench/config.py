"""Benchmark: ``edgecert config diff`` on big config.toml files, beside plain tools.

For each size, one config.toml made of the real template's provisioning section plus many
small tables (the shape that made the old edit quadratic), the time of:

- ``edgecert config diff`` (the installed command, as a technician runs it: parse, edit,
  validate, diff, redaction; the new config written with ``--output``);
- a plain parse of the same file: ``python -c 'import tomllib; tomllib.load(…)'``;
- ``diff -u`` of the same file against edgecert's output.

Medians of ``--reps`` runs, and the ratios. A file over the 1 MiB cap is refused: its time is
how long the refusal takes. Linear means the per-MiB time stays flat across sizes.

    .venv/bin/python bench/config.py [--reps N] [--sizes 79,395,1000,2048]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EDGECERT = Path(sys.executable).with_name("edgecert")

PROVISIONING = ('hostname = "gw"\n\n[provisioning]\nsource = "manual"\n'
                'connection_string = "HostName=h.example;DeviceId=gw;SharedAccessKey=c2VjcmV0"\n')


def make_config(path: Path, size_kib: int) -> int:
    """A config.toml of about ``size_kib`` KiB (many small tables); its size in bytes."""
    parts = [PROVISIONING]
    total = len(PROVISIONING)
    i = 0
    while total < size_kib * 1024:
        part = f'\n[agent.env.extra{i}]\nvalue{i} = "some value text {i}"\nother = {i}\n'
        parts.append(part)
        total += len(part)
        i += 1
    path.write_text("".join(parts))
    return total


def timed(argv: list[str], reps: int) -> tuple[float, int]:
    """Median seconds of ``reps`` runs, and the last exit code."""
    times = []
    code = 0
    for _ in range(reps):
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, check=False, timeout=600)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return statistics.median(times), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", default="79,395,1000,2048", help="KiB, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    diff_tool = shutil.which("diff")
    work = Path(tempfile.mkdtemp(prefix="edgecert-bench-config."))
    try:
        startup, _ = timed([str(EDGECERT), "--version"], args.reps)
        print(f"edgecert start-up (--version): {startup:.2f} s; reps {args.reps}, medians\n")
        print(f"{'size':>9}  {'edgecert diff':>13}  {'per MiB':>8}  {'tomllib parse':>13}  "
              f"{'ratio':>6}  {'diff -u':>8}  {'ratio':>6}  exit")
        for kib in sizes:
            current = work / f"config-{kib}k.toml"
            new = work / f"new-{kib}k.toml"
            size = make_config(current, kib)
            new.unlink(missing_ok=True)
            edgecert, code = timed([str(EDGECERT), "config", "diff", "--iotedge", "1.5",
                                    "--current", str(current), "--edge-ca-cert", "/d/c.pem",
                                    "--edge-ca-key", "/d/k.pem", "--trust-bundle", "/d/b.pem",
                                    "--output", str(new)], args.reps)
            parse, _ = timed([sys.executable, "-c",
                              "import sys, tomllib; tomllib.load(open(sys.argv[1], 'rb'))",
                              str(current)], args.reps)
            if diff_tool and new.exists():
                plain_diff, _ = timed([diff_tool, "-u", str(current), str(new)], args.reps)
                diff_text = f"{plain_diff:8.2f}  {edgecert / plain_diff:5.0f}×"
            else:
                diff_text = f"{'—':>8}  {'—':>6}"
            per_mib = edgecert / (size / 1024**2)
            note = "refused (over the 1 MiB cap)" if code == 2 else str(code)
            print(f"{size / 1024:7.0f} K  {edgecert:11.2f} s  {per_mib:6.2f} s  "
                  f"{parse:11.2f} s  {edgecert / parse:5.1f}×  {diff_text}  {note}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
