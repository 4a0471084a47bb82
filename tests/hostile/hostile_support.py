"""Run the installed ``edgecert`` command as a technician would, with a bound on its time.

Every run asserts that no Python traceback reached the terminal. A run that hangs fails through
the subprocess timeout instead of blocking the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ci import unavailable

EDGECERT = Path(sys.executable).with_name("edgecert")
TIMEOUT = 60
"""Seconds any one command may take here (a hang guard, not a speed goal)."""

KINDS = ("dev-zero", "fifo", "socket", "folder")
"""What the ``not_a_file`` fixture makes: things that are not regular files."""



@dataclass(frozen=True)
class Result:
    code: int
    out_bytes: bytes
    err_bytes: bytes

    @property
    def out(self) -> str:
        return self.out_bytes.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.err_bytes.decode("utf-8", "replace")


def run(*argv: str | Path, timeout: float = TIMEOUT, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> Result:
    """``edgecert ARGV…`` with stdin closed; fails the test on a traceback or a hang."""
    proc = subprocess.run([str(EDGECERT), *(str(a) for a in argv)], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env=env, cwd=cwd,
                          check=False)
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert_calm(result)
    return result


def assert_calm(result: Result) -> None:
    """No traceback and no raw escape character in what the technician sees."""
    assert b"Traceback" not in result.err_bytes, result.err
    assert b"Traceback" not in result.out_bytes, result.out
    assert b"\x1b" not in result.err_bytes, result.err
    assert b"\x1b" not in result.out_bytes, result.out


def need_root() -> None:
    """Mount namespaces need root: CI runs as root and must not skip."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return
    unavailable("needs root and unshare (a private mount namespace for a small tmpfs)")


def run_on_small_fs(tmp_path: Path, mount_dir: Path, argv: Sequence[str | Path], *,
                    fill: int, size_kib: int = 64, read_only: bool = False,
                    timeout: float = TIMEOUT) -> tuple[Result, list[str]]:
    """Run edgecert with a ``size_kib`` tmpfs at ``mount_dir`` holding ``fill`` bytes already.

    The tmpfs lives in a private mount namespace (``unshare -m``) and vanishes with it; what
    was left on it is listed before it goes.

    Returns:
        The result and the names left on the small file system (besides ``filler``).
    """
    need_root()
    mount_dir.mkdir(parents=True, exist_ok=True)
    out, err, listing = tmp_path / "small.out", tmp_path / "small.err", tmp_path / "small.ls"
    options = f"size={size_kib}k" + (",ro" if read_only else "")
    script = (
        'set -u\n'
        'mount -t tmpfs -o "$OPTS" tmpfs "$DIR" || exit 99\n'
        '[ "$FILL" -gt 0 ] && head -c "$FILL" /dev/zero > "$DIR/filler"\n'
        '"$@" > "$OUT" 2> "$ERR"\n'
        'rc=$?\n'
        'find "$DIR" -mindepth 1 -printf "%P\\n" > "$LS"\n'
        'exit $rc\n'
    )
    env = {**os.environ, "OPTS": options, "DIR": str(mount_dir), "FILL": str(fill),
           "OUT": str(out), "ERR": str(err), "LS": str(listing)}
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                           "sh", str(EDGECERT), *(str(a) for a in argv)],
                          stdin=subprocess.DEVNULL, capture_output=True, env=env,
                          timeout=timeout, check=False)
    assert proc.returncode != 99, proc.stderr.decode()
    result = Result(proc.returncode, out.read_bytes(), err.read_bytes())
    assert_calm(result)
    left = [name for name in listing.read_text().splitlines() if name and name != "filler"]
    return result, left


PROVISIONED = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "dps-x509.toml"
"""A device config with provisioning (a bare template is refused like the runtime refuses it)."""
