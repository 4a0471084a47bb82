"""The demo-chain SSH deploy walked with real X key events: Xvfb (1366×768), the application
started as ``edgecert-gui`` starts it (xcb platform plugin), keys typed by ``xdotool``. The
loopback test device is the SSH device; the walk ends on the Summary page with a saved report.

Missing Xvfb or xdotool skips the test, and fails it when ``CI=true``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ci import unavailable
from device.fixtures import Device

HARNESS = Path(__file__).with_name("xvfb_harness.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def xvfb() -> Iterator[str]:
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        unavailable("real key events need " + " and ".join(missing))
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1366x768x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as fh:
        display = ":" + fh.readline().strip()
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


class App:
    """The running application and what its probe last reported."""

    def __init__(self, display: str, home: Path) -> None:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(home),
                   XDG_CONFIG_HOME=str(home / ".config"), PYTHONPATH=str(ROOT))
        env.pop("QT_QPA_PLATFORMTHEME", None)
        self.env = env
        self.proc = subprocess.Popen([sys.executable, str(HARNESS)], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.seen: dict[str, Any] = {}
        self.lines: queue.Queue[str] = queue.Queue()
        self.keys = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait(self, what: str, cond: Callable[[dict[str, Any]], bool],
             timeout: float = 60) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            while not self.lines.empty():
                line = self.lines.get()
                if line.startswith("{"):
                    self.seen = json.loads(line)
            if self.seen and cond(self.seen):
                return self.seen
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr \
            else ""
        raise AssertionError(f"waiting for {what}: last seen {self.seen} {err[-2000:]}")

    def xdo(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True)

    def focus(self) -> None:
        """Give the X input focus to the window on top (no window manager runs)."""
        win = self.seen.get("modal_window") or self.seen.get("window")
        self.xdo("windowfocus", "--sync", str(win))

    def key(self, *keys: str) -> None:
        self.focus()
        for k in keys:
            self.keys += 1
            self.xdo("key", "--clearmodifiers", k)

    def type(self, text: str) -> None:
        self.focus()
        self.xdo("type", "--delay", "8", text)


def test_demo_chain_ssh_walk_with_real_x_key_events(xvfb: str, device15: Device,
                                                    tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    account = device15.accounts["edgeadmin"]
    start = time.monotonic()
    app = App(xvfb, home)
    try:
        app.wait("the first page", lambda s: s["page"] == 0 and s["visible"] and s["next"])
        app.key("alt+n")
        app.wait("the demo chain", lambda s: s["page"] == 1 and s["next"])
        app.key("alt+n")
        app.wait("device settings", lambda s: s["page"] == 2 and s["next"])
        app.key("alt+n")
        app.wait("the target page", lambda s: s["page"] == 3)
        app.key("alt+h")
        app.wait("the host field", lambda s: s["focus"] == "host")
        app.type(f"{device15.host}:{device15.port}")
        app.key("alt+u")
        app.wait("the user field", lambda s: s["focus"] == "user")
        app.type("edgeadmin")
        app.key("alt+k")
        app.wait("the key field", lambda s: s["focus"] == "keyFile")
        app.type(str(account.key))
        app.key("alt+t")
        app.wait("the host key question", lambda s: "new device" in s["modal"])
        app.key("Return")  # the safe default: refused
        app.wait("refused", lambda s: not s["modal"] and "refused" in (s["status"] or ""))
        app.key("alt+t")
        app.wait("the host key question again", lambda s: "new device" in s["modal"])
        app.key("alt+t")  # Trust
        app.wait("the device read", lambda s: s["page"] == 3 and s["next"], timeout=60)
        app.key("alt+n")
        app.wait("the preview", lambda s: s["page"] == 4 and s["commit"])
        app.key("alt+d")
        app.wait("the deploy", lambda s: s["page"] == 5 and s["next"], timeout=120)
        app.key("alt+n")
        app.wait("the summary", lambda s: s["page"] == 6 and s["finish"])
        app.key("alt+s")
        app.wait("the save dialog", lambda s: "Save report" in s["modal"])
        app.key("Return")
        app.wait("the saved message", lambda s: "Report saved" in s["modal"])
        app.key("Return")
        app.wait("back on the summary", lambda s: not s["modal"])
        app.key("alt+f")
        assert app.proc.wait(30) == 0
        seconds = time.monotonic() - start
    finally:
        if app.proc.poll() is None:
            app.proc.kill()
            app.proc.wait()
    reports = list(home.glob("edgecert/*/edgecert-report-*.html"))
    assert len(reports) == 1 and "certs-preloaded" in reports[0].read_text()
    assert device15.exists("/var/aziot/certs/edge-ca.pem")
    print(f"xvfb walk: {app.keys} keys (2 of them the refused first try), {seconds:.1f} s")
