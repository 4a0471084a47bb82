"""The "This computer" path walked by keyboard, on the loopback test device itself.

The wizard's ``LocalTarget`` changes the computer it runs on, so the walk runs INSIDE the
device's private mount namespace (``local_walk_script.py`` through ``Device.popen``), as the
device's admin ``pwadmin`` whose sudo asks a password: there ``/etc/aziot``, ``/var/lib/aziot``,
``/usr/local/bin/iotedge`` (the strict stand-in runtime), sudo's configuration and ``/tmp`` are
the device's own and the test machine's files are never touched. Everything is checked from
outside: exit status, the saved report, the device's files with owners and modes, and what the
stand-in runtime recorded. Also a cancel while the runtime applies the configuration.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from device.device import BOUND, PW_ADMIN_PASSWORD
from device.fixtures import Device
from device.layouts import (
    CONNECTION_STRING,
    EDGE_CA_CER,
    EDGE_CA_KEY,
    MASTER_KEYS,
    TEMP_CA_CER,
)

SCRIPT = Path(__file__).resolve().with_name("local_walk_script.py")
USER = "pwadmin"
OUT = f"/home/{USER}/walk"
ROOTS = ("/etc/aziot", "/var/aziot", "/var/lib/aziot")
SAS_KEY = CONNECTION_STRING.split("SharedAccessKey=")[1]


ATTACH = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
args = sys.argv[1:]
while args[0] != "--":
    fd, target = int(args[0]), args[1]
    os.makedirs(target, exist_ok=True)
    if libc.syscall(429, fd, b"", -100, target.encode(), 4) != 0:  # move_mount, empty path
        sys.exit(f"cannot show {target} to the walk: {os.strerror(ctypes.get_errno())}")
    os.close(fd)
    args = args[2:]
os.execvp(args[1], args[1:])
"""
"""Run in a mount namespace of its own inside the device's (gone with the walk): attach each
given copy of this machine's folder (an ``open_tree`` descriptor) at its path, then exec."""
OPEN_TREE_CLONE, AT_RECURSIVE, AT_FDCWD = 1, 0x8000, -100


def _open_tree(path: str) -> int:
    """A detached copy of the mount tree at ``path`` on this machine (Linux 5.2+)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = int(libc.syscall(428, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | AT_RECURSIVE))
    assert fd >= 0, f"open_tree {path}: {os.strerror(ctypes.get_errno())}"
    return fd


def _hidden_in_device() -> list[str]:
    """The checkout, venv and interpreter folders the device's own /tmp, /home … would hide."""
    wanted = [Path(__file__).resolve().parents[2], Path(sys.prefix).resolve(),
              Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent]
    hidden: list[str] = []
    for path in sorted({str(p) for p in wanted}):
        if any(path == b or path.startswith(b + "/") for b in BOUND) and \
                not any(path.startswith(h + "/") for h in hidden):
            hidden.append(path)
    return hidden


def _start(device: Device, mode: str) -> subprocess.Popen[bytes]:
    """The walk inside the device, as ``USER`` (whose sudo asks the password)."""
    device.sh('rm -rf "$1" && mkdir -p "$1"', OUT, user=USER)
    env = {"HOME": f"/home/{USER}", "USER": USER, "LOGNAME": USER, "LANG": "C.UTF-8",
           "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
           "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1",
           "XDG_CONFIG_HOME": f"/home/{USER}/.config"}
    trees = {_open_tree(path): path for path in _hidden_in_device()}
    read_end, write_end = os.pipe()  # sudo's password, by standard input only
    os.write(write_end, f"{PW_ADMIN_PASSWORD}\n".encode())
    os.close(write_end)
    argv = ["unshare", "--mount", "--propagation", "private", "--", "/usr/bin/python3", "-c",
            ATTACH, *(x for fd, path in trees.items() for x in (str(fd), path)), "--",
            "setpriv", f"--reuid={device.uid(USER)}", f"--regid={USER}", "--init-groups", "--",
            sys.executable, str(SCRIPT), OUT, mode]
    try:
        proc: subprocess.Popen[bytes] = device.popen(
            argv, env=env, stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=tuple(trees))
        return proc
    finally:
        os.close(read_end)
        for fd in trees:
            os.close(fd)


def _finish(device: Device, proc: subprocess.Popen[bytes],
            timeout: float = 200) -> tuple[dict[str, Any], str]:
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # our own process, by its pid
        _out, err = proc.communicate()
        raise AssertionError("the walk did not end: " + err.decode()[-3000:]) from None
    stderr = err.decode()
    result_file = device.local(f"{OUT}/walk-result.json")
    assert result_file.exists(), f"exit {proc.returncode}, no result: {stderr[-3000:]}"
    result: dict[str, Any] = json.loads(result_file.read_text())
    assert proc.returncode == 0, f"{result.get('error')}\n{stderr[-3000:]}"
    return result, stderr


def _meta(snapshot: dict[str, str], path: str) -> tuple[str, str, str]:
    """``(mode, owner:group, sha256)`` of a regular file in a ``Device.snapshot``."""
    kind_and_rest = snapshot[path]
    assert kind_and_rest.startswith("regular file "), kind_and_rest
    mode, owners, digest = kind_and_rest.removeprefix("regular file ").split()
    return mode, owners, digest


def test_this_computer_by_keyboard_to_saved_report(device15: Device) -> None:
    before = device15.snapshot(*ROOTS)
    events_before = len(device15.events())
    proc = _start(device15, "walk")
    result, stderr = _finish(device15, proc)
    print("this-computer keyboard walk:", json.dumps(
        {k: result[k] for k in ("keys", "typed_characters", "seconds", "keys_pressed")}))

    # the wizard ran as the device's admin, not root: every change went through sudo
    assert result["euid"] == device15.uid(USER)
    assert result["test_button"] == "&Test: read this computer's IoT Edge"
    assert result["target_status"] == "This computer's IoT Edge state read."  # 1.5 chosen
    assert result["target_warning"] == ""
    assert "1.5.21" in result["device_state"]
    assert (result["outcome"], result["ended"]) == ("done", "after")
    assert "✔" in result["banner"]
    assert result["unexpected"] == []
    assert result["keys"] <= 20, result["keys_pressed"]

    # the report, saved where the Save dialog suggested, names the target and the outcome
    report = result["report"]
    assert report == f"{OUT}/output/edgecert-report-edge-device-01-id.html"
    assert device15.stat(report)[1] == USER
    html = device15.read(report).decode()
    assert "<title>edgecert report: this computer</title>" in html
    assert "All certificate checks passed." in html
    assert "<td>ok</td><td>certs-preloaded</td>" in html
    assert result["edge_ca_sha256"] in html
    backups = list(device15.transactions())
    assert len(backups) == 1 and device15.transactions()[backups[0]][-1] == "deployed"
    assert backups[0] in html  # the backup folder on this computer
    for secret in (SAS_KEY, PW_ADMIN_PASSWORD):
        assert secret not in html and secret not in stderr
        assert secret not in json.dumps(result)

    # the device: config.toml as planned, 0600 root; each file with its planned owner and mode
    after = device15.snapshot(*ROOTS)
    path, mode, owner, group, digest = result["plan_config"]
    assert path == "/etc/aziot/config.toml"
    assert _meta(after, path) == ("600", "root:root", digest) and (mode, owner) == ("600", "root")
    config = device15.read(path).decode()
    assert "[edge_ca]" in config and SAS_KEY in config  # provisioning kept
    assert result["plan_files"], "nothing was installed"
    for path, mode, owner, group, digest in result["plan_files"]:
        assert _meta(after, path) == (mode, f"{owner}:{group}", digest), path
    key_paths = [p for p, *_ in result["plan_files"] if p.endswith(".key.pem")]
    assert key_paths and all(_meta(after, p)[0] == "600" for p in key_paths)
    # the quickstart edge CA the runtime cached is gone (or it would keep using it); the
    # master keys that protect identities and module data are untouched
    for stale in (f"/var/lib/aziot/certd/certs/{EDGE_CA_CER}",
                  f"/var/lib/aziot/certd/certs/{TEMP_CA_CER}",
                  f"/var/lib/aziot/keyd/keys/{EDGE_CA_KEY}"):
        assert stale in before and stale not in after, stale
    for name in (f"/var/lib/aziot/keyd/keys/{n}.key" for n in MASTER_KEYS):
        assert after[name] == before[name]

    # the stand-in runtime: one apply of exactly that config.toml, as root, then the checks
    events = device15.events()[events_before:]
    kinds = [e["event"] for e in events]
    applies = [e for e in events if e["event"] == "apply"]
    assert len(applies) == 1 and applies[0]["ok"] is True and applies[0]["euid"] == 0
    assert applies[0]["sha256"] == hashlib.sha256(config.encode()).hexdigest()
    assert "check" in kinds and kinds.index("apply") < kinds.index("check")
    assert all(e["ok"] for e in events if e["event"] == "check")


def _wait_for(device: Device, proc: subprocess.Popen[bytes], path: str,
              timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    local = device.local(path)
    while not local.exists():
        if proc.poll() is not None:
            return  # the walk ended without it: _finish says why
        assert time.monotonic() < deadline, f"{path} never came"
        time.sleep(0.05)


def test_cancel_during_apply_on_this_computer_leaves_it_exactly_before(
        device15: Device) -> None:
    """The runtime is held inside ``iotedge config apply``; the technician presses Cancel and
    Yes meanwhile; the apply then finishes. The transaction sees the cancel before its check and
    puts everything back: the device is byte for byte as before, and the page says so."""
    before = device15.snapshot(*ROOTS)
    events_before = len(device15.events())
    device15.hold("apply")
    proc = _start(device15, "cancel")
    try:
        _wait_for(device15, proc, f"{OUT}/cancel-answered")
        assert device15.reached("apply")
    finally:
        device15.release("apply")
    result, _stderr = _finish(device15, proc)
    assert result["unexpected"] == []
    asked, closing = result["answered"]
    assert "Stop the deploy now? Everything changed so far is put back." in asked
    assert "Nothing was deployed" in closing
    assert (result["outcome"], result["ended"]) == ("cancelled", "before")
    assert result["step_while_held"] == "applying the configuration"
    assert "exactly as it was before" in result["banner"]
    assert "Cancelling" not in result["step"]
    assert result["next_enabled"] is False
    assert result["closed"] is True  # Cancel, "Nothing was deployed … close?", Yes
    device15.wait_transactions_ended()
    assert device15.snapshot(*ROOTS) == before
    ((_folder, states),) = device15.transactions().items()
    assert states[-1] == "rolled-back", states
    # the runtime applied the new configuration, then the old one again: what it runs with now
    applies = [e for e in device15.events()[events_before:] if e["event"] == "apply"]
    assert len(applies) == 2 and all(e["ok"] for e in applies)
    assert applies[-1]["sha256"] == hashlib.sha256(device15.read("/etc/aziot/config.toml")
                                                   ).hexdigest()
    assert applies[0]["sha256"] != applies[1]["sha256"]
