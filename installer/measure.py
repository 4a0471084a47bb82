"""Measure a frozen build: ``python installer/measure.py DIST [--rounds N] [--drop-caches]``.

Prints the size of the onedir folder and of the installer found in DIST, the wall time of
``edgecert-gui --self-test`` and the time from process start to the wizard window being mapped
on an X display (an Xvfb is started when no DISPLAY is set; needs ``Xvfb`` and ``xwininfo``).
``--drop-caches`` (Linux, root) empties the page cache before each run for a true cold start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDOW_TITLE = "edgecert: IoT Edge certificates"
EXE = ".exe" if sys.platform == "win32" else ""


def folder_mb(path: Path) -> tuple[float, int]:
    """Size in MB (symlinks not counted twice) and number of files."""
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 1e6, len(files)


def drop_caches() -> None:
    """Empty the Linux page cache (root only), so the next start reads from disk."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def time_self_test(app: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(app / f"edgecert-gui{EXE}"), "--self-test"],
                            capture_output=True, text=True, check=False, timeout=300)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"self-test failed:\n{result.stdout}{result.stderr}")
    return elapsed


def time_first_window(command: list[str], display: str, env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` until its window is viewable on ``display``."""
    env = {**env, "DISPLAY": display}
    env.pop("QT_QPA_PLATFORM", None)
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            while time.perf_counter() - start < 60:
                probe = subprocess.run(["xwininfo", "-display", display, "-name", WINDOW_TITLE],
                                       capture_output=True, text=True, check=False)
                if "IsViewable" in probe.stdout:
                    return time.perf_counter() - start
                if proc.poll() is not None:
                    log.seek(0)
                    tail = log.read()[-2000:].decode(errors="replace")
                    raise SystemExit(f"{command[0]} exited with {proc.returncode} before a "
                                     f"window:\n{tail}")
                time.sleep(0.01)
            raise SystemExit("no window within 60 s")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="folder holding edgecert/ and the installer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--drop-caches", action="store_true")
    args = parser.parse_args()
    app = args.dist / "edgecert"
    size, count = folder_mb(app)
    print(f"frozen app folder: {size:.1f} MB, {count} files")
    for setup in sorted(args.dist.glob("edgecert-setup-*.exe")):
        print(f"installer {setup.name}: {setup.stat().st_size / 1e6:.1f} MB")

    def maybe_drop() -> None:
        if args.drop_caches:
            drop_caches()

    maybe_drop()
    first = time_self_test(app)
    runs = []
    for _ in range(args.rounds):
        maybe_drop()
        runs.append(time_self_test(app))
    label = "cold (page cache dropped)" if args.drop_caches else "warm"
    print(f"self-test: first run {first:.2f} s, median of {args.rounds} {label} "
          f"{statistics.median(runs):.2f} s")

    if not shutil.which("xwininfo"):
        print("time to first window: skipped (xwininfo not installed)")
        return 0
    env = dict(os.environ)
    xvfb = None
    display = env.get("DISPLAY", "")
    if not display:
        # -displayfd: Xvfb picks a free display itself and reports its number.
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                                 "1366x768x24", "-nolisten", "tcp"], pass_fds=(write_fd,),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            number = reader.readline().strip()
        if not number:
            raise SystemExit("Xvfb did not start")
        display = f":{number}"
    try:
        for name, command in (("frozen", [str(app / f"edgecert-gui{EXE}")]),
                              ("from source", [sys.executable, "-m", "gui"])):
            times = []
            for _ in range(args.rounds):
                maybe_drop()
                times.append(time_first_window(command, display, env))
            print(f"time to first window, {name}: median {statistics.median(times):.2f} s "
                  f"(min {min(times):.2f}, max {max(times):.2f}, {label})")
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
