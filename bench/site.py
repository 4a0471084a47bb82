"""Benchmark: ``edgecert site deploy`` against one ``edgecert deploy`` per device, side by side.

Runs against loopback test devices (``tests/device/fleet.py``: each a real sshd in its own mount
namespace with the stand-in runtime), reset to a fresh IoT Edge 1.5 install before every run:

1. N devices (default 20): ``site deploy`` (8 workers) vs N sequential ``edgecert deploy`` runs
   of the same per-device edge CAs, on loopback (goal ≤ 0.4×) and behind a TCP proxy that delays
   every byte 50 ms each way (goal ≤ 0.15×), the proxy being a small asyncio relay in this
   process (``tc netem`` needs privileges a test machine lacks);
2. one device through ``site deploy`` vs one ``edgecert deploy`` (goal ≤ 1.2×);
3. SSH round trips (commands and uploads) of one device's site deploy and of a single deploy;
4. peak memory (max RSS) of ``site deploy`` at N and at ``--many`` devices (default 50).

    .venv/bin/python bench/site.py [--devices 20] [--many 50] [--reps 1]

Needs root (namespaces, sshd), OpenSSH server, sudo, openssl.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "site")]

from device.device import Device  # noqa: E402
from device.fleet import Fleet, start_fleet  # noqa: E402
from sitekit import make_ca, write_site  # noqa: E402

from core.chain import ChainFiles, KeyType, issue_edge_ca  # noqa: E402
from core.versions import release  # noqa: E402

EDGECERT = str(Path(sys.executable).with_name("edgecert"))
DELAY = 0.050


# ---- a delaying TCP relay -----------------------------------------------------------------------


class DelayProxy:
    """Relays 127.0.0.1:<listen> to 127.0.0.1:<target>, each chunk delivered DELAY later
    (order kept): a link with 2 × DELAY round-trip latency and no bandwidth limit."""

    def __init__(self, targets: list[int], delay: float = DELAY) -> None:
        self.delay = delay
        self.targets = targets
        self.ports: list[int] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        for port in self.targets:
            server = await asyncio.start_server(
                lambda r, w, p=port: self._client(r, w, p), "127.0.0.1", 0)
            self.ports.append(server.sockets[0].getsockname()[1])

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        sender = self.loop.create_task(send())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((self.loop.time() + self.delay, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      port: int) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


# ---- the two ways ------------------------------------------------------------------------------


def known_hosts_for(dev: Device, port: int, out: Path) -> Path:
    """The device's host key recorded for ``port`` (the proxy's, or its own)."""
    _, key_type, key = dev.known_hosts.read_text().split()[:3]
    out.write_text(f"[127.0.0.1]:{port} {key_type} {key}\n")
    return out


def edge_cas(ca: ChainFiles, base: Path, count: int) -> list[ChainFiles]:
    assert ca.intermediate_cert and ca.intermediate_key and ca.root_cert
    return [issue_edge_ca(ca_cert=ca.intermediate_cert, ca_key=ca.intermediate_key,
                          ca_chain=ca.root_cert, out_dir=base / f"edge{i:02d}",
                          name=f"dev-{i:02d}", release=release("1.5"),
                          key_type=KeyType.EC_P256, days=365) for i in range(count)]


def sequential(devs: list[Device], ports: list[int], hosts: list[Path],
               chains: list[ChainFiles]) -> float:
    start = time.perf_counter()
    for dev, port, kh, chain in zip(devs, ports, hosts, chains, strict=True):
        res = subprocess.run(
            [EDGECERT, "deploy", "--host", "127.0.0.1", "--port", str(port), "--user",
             "edgeadmin", "--identity", str(dev.accounts["edgeadmin"].key), "--known-hosts",
             str(kh), "--iotedge", "auto", "--edge-ca-cert", str(chain.edge_ca_full_chain),
             "--edge-ca-key", str(chain.edge_ca_key), "--trust-bundle", str(chain.trust_bundle),
             "--yes"], capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"edgecert deploy failed: {res.stderr[-2000:]}")
    return time.perf_counter() - start


def site_file(path: Path, ca: ChainFiles, devs: list[Device], ports: list[int],
              hosts: list[Path]) -> Path:
    body = ""
    for i, (dev, port, kh) in enumerate(zip(devs, ports, hosts, strict=True)):
        body += (f'[[devices]]\nname = "dev-{i:02d}"\nhost = "127.0.0.1"\nport = {port}\n'
                 f'user = "edgeadmin"\nidentity = "{dev.accounts["edgeadmin"].key}"\n'
                 f'known_hosts = "{kh}"\n\n')
    return write_site(path, ca, body)


def site_deploy(site: Path, workers: int = 8) -> tuple[float, int]:
    """Wall time and max RSS (KiB) of one ``edgecert site deploy`` process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([EDGECERT, "site", "deploy", "--site", str(site), "--yes",
                                 "--workers", str(workers), "--json"], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problems = out.read(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"site deploy failed ({proc.returncode}): {problems[-2000:]}")
    if b'"unchanged"' in text:
        raise SystemExit("site deploy found devices already deployed: reset failed")
    return elapsed, usage.ru_maxrss


def round_trips(dev: Device, ca: ChainFiles, tmp: Path, chain: ChainFiles) -> tuple[int, int]:
    """Commands + uploads over SSH: one device via the site path, and one single deploy."""
    from core.deploy import deploy, read_device_state
    from core.deploy.preflight import load_inputs, plan_deploy
    from core.site.load import load_site
    from core.site.planning import _settings
    from core.site.run import site_deploy as run_site
    from core.targets.ssh import SshTarget

    counts = {"n": 0}
    run, put = SshTarget.run, SshTarget.put

    def counting(fn: Callable[..., object]) -> Callable[..., object]:
        def wrapper(self: SshTarget, *a: object, **k: object) -> object:
            counts["n"] += 1
            return fn(self, *a, **k)
        return wrapper

    SshTarget.run, SshTarget.put = counting(run), counting(put)  # type: ignore[method-assign,assignment]
    try:
        site = site_file(tmp / "one.toml", ca, [dev], [dev.port], [dev.known_hosts])
        run_site(load_site(site), results_path=tmp / "one.json")
        ours = counts["n"]
        dev.reset()
        from device.layouts import layout
        layout(dev, "1.5")
        counts["n"] = 0
        target = dev.connect("edgeadmin")
        try:
            state = read_device_state(target, None, paths=[])
            inputs = load_inputs(edge_ca_cert=chain.edge_ca_full_chain,
                                 edge_ca_key=chain.edge_ca_key, trust_bundle=chain.trust_bundle)
            checked = plan_deploy(inputs, release=state.release, platform="linux",
                                  settings=_settings(state.release), current_config=state.config,
                                  template=state.template)
            deploy(checked.plan, target)
        finally:
            target.close()
        single = counts["n"]
    finally:
        SshTarget.run, SshTarget.put = run, put  # type: ignore[method-assign]
    return ours, single


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--many", type=int, default=50)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    n = args.devices
    with tempfile.TemporaryDirectory(prefix="edgecert-bench-site.") as tmpdir:
        tmp = Path(tmpdir)
        ca = make_ca(tmp / "ca")
        t0 = time.perf_counter()
        fleet = start_fleet(tmp / "fleet", max(n, args.many))
        print(f"started {len(fleet.devices)} loopback devices in "
              f"{time.perf_counter() - t0:.1f} s")
        proxy = None
        try:
            devs = fleet.devices[:n]
            chains = edge_cas(ca, tmp / "edge", n)
            direct = [d.port for d in devs]
            kh_direct = [d.known_hosts for d in devs]
            proxy = DelayProxy(direct)
            kh_proxy = [known_hosts_for(d, p, tmp / f"kh-proxy-{i}")
                        for i, (d, p) in enumerate(zip(devs, proxy.ports, strict=True))]
            sub = Fleet(devs)
            rows = []
            for label, ports, hosts in (("loopback", direct, kh_direct),
                                        (f"proxy {DELAY * 1000:.0f} ms each way",
                                         proxy.ports, kh_proxy)):
                seq_t, site_t = [], []
                for _ in range(args.reps):
                    sub.reset("1.5")
                    seq_t.append(sequential(devs, ports, hosts, chains))
                    sub.reset("1.5")
                    site = site_file(tmp / "site.toml", ca, devs, ports, hosts)
                    site_t.append(site_deploy(site)[0])
                s, p = statistics.median(seq_t), statistics.median(site_t)
                rows.append((label, s, p))
                print(f"{n} devices, {label}: {n} x edgecert deploy {s:.2f} s, site deploy "
                      f"{p:.2f} s, ratio {p / s:.2f}x", flush=True)
                if ports is not direct:
                    # one worker per device: the link's waiting overlaps completely
                    sub.reset("1.5")
                    p_all = site_deploy(site_file(tmp / "site.toml", ca, devs, ports, hosts),
                                        workers=n)[0]
                    rows.append((f"{label}, --workers {n}", s, p_all))
                    print(f"  with --workers {n}: site deploy {p_all:.2f} s, ratio "
                          f"{p_all / s:.2f}x", flush=True)
            one = Fleet(devs[:1])
            one_seq, one_site = [], []
            for _ in range(max(5, args.reps)):
                one.reset("1.5")
                one_seq.append(sequential(devs[:1], direct[:1], kh_direct[:1], chains[:1]))
                one.reset("1.5")
                site = site_file(tmp / "one.toml", ca, devs[:1], direct[:1], kh_direct[:1])
                one_site.append(site_deploy(site)[0])
            s1, p1 = statistics.median(one_seq), statistics.median(one_site)
            print(f"1 device: edgecert deploy {s1:.2f} s, site deploy {p1:.2f} s, ratio "
                  f"{p1 / s1:.2f}x (goal <= 1.2x)", flush=True)
            one.reset("1.5")
            ours, single = round_trips(devs[0], ca, tmp, chains[0])
            print(f"SSH round trips per device: site deploy {ours}, single deploy {single}")
            mem = []
            for count in (n, args.many):
                group = Fleet(fleet.devices[:count])
                group.reset("1.5")
                site = site_file(tmp / f"mem{count}.toml", ca, group.devices,
                                 [d.port for d in group.devices],
                                 [d.known_hosts for d in group.devices])
                elapsed, rss = site_deploy(site)
                mem.append((count, elapsed, rss))
                print(f"site deploy of {count} devices: {elapsed:.2f} s, peak RSS "
                      f"{rss / 1024:.0f} MiB", flush=True)
            print()
            print("| what | sequential edgecert deploy | site deploy | ratio (goal) |")
            print("|---|---|---|---|")
            goals = {"loopback": "≤ 0.4×"}
            for label, s, p in rows:
                print(f"| {n} devices, {label} | {s:.1f} s | {p:.1f} s | {p / s:.2f}× "
                      f"({goals.get(label, '≤ 0.15×')}) |")
            print(f"| 1 device, loopback | {s1:.2f} s | {p1:.2f} s | {p1 / s1:.2f}× (≤ 1.2×) |")
            print(f"SSH round trips per device: site {ours}, single {single}; peak RSS: "
                  + ", ".join(f"{c} devices {r / 1024:.0f} MiB" for c, _, r in mem))
        finally:
            if proxy is not None:
                proxy.stop()
            fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
