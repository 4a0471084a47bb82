"""``edgecert site deploy`` and ``site plan`` against five loopback devices.

A gateway and its nested child, a device whose ``iotedge check`` fails after apply (rolled back,
the others deployed), an unreachable one, a plain one; then an idempotent second run
(``unchanged``: no write, no apply) and ``site status`` over the result. Every config written
passes the runtime's parser.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from device.fleet import Fleet, closed_port
from sitekit import make_ca, rtcfg_check, write_site

from core.chain import ChainFiles
from core.site.load import load_site
from core.site.run import site_deploy

pytestmark = pytest.mark.device

CONFIG = "/etc/aziot/config.toml"
EDGE_CA = "/var/aziot/certs/edge-ca.pem"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ChainFiles:
    return make_ca(tmp_path_factory.mktemp("siteca") / "ca")


def edgecert(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("edgecert")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=280,
                          env={"PATH": "/usr/bin:/bin"})


GW = "edge-device-01.gw-01"
"""The stand-in's ``iotedge check`` wants the configured hostname to be the machine's
(``edge-device-01``, every test device's) or to start with it and a dot."""


def five_device_site(fleet: Fleet, ca: ChainFiles, tmp_path: Path,
                     cam08: str = "cam-08.plant.local") -> Path:
    gw, child, failing, plain = fleet.devices[:4]
    body = (Fleet.site_entry(gw, "gw-01", hostname=GW)
            + Fleet.site_entry(child, "cam-07", parent="gw-01",
                               hostname="edge-device-01.cam-07")
            + Fleet.site_entry(failing, "cam-08", hostname=cam08)
            + Fleet.site_entry(plain, "plc-02")
            + f'[[devices]]\nname = "down-09"\nhost = "127.0.0.1"\nport = {closed_port()}\n'
              'user = "edgeadmin"\n')
    return write_site(tmp_path / "site.toml", ca, body)


def applies(dev: object) -> int:
    from device.device import Device
    assert isinstance(dev, Device)
    return sum(1 for e in dev.events() if e.get("event") == "apply")


def test_site_deploy_five_devices_then_unchanged(fleet: Fleet, ca: ChainFiles,
                                                 tmp_path: Path) -> None:
    gw, child, failing, plain = fleet.devices[:4]
    site = five_device_site(fleet, ca, tmp_path)  # cam-08: a hostname iotedge check refuses
    before_failing = failing.snapshot("/etc/aziot", "/var/aziot")

    plan = edgecert("site", "plan", "--site", str(site), "--json", "--diff")
    assert plan.returncode == 1, plan.stderr  # down-09 cannot be planned
    rows = {r["name"]: r for r in json.loads(plan.stdout)}
    assert rows["gw-01"]["action"] == "deploy"
    assert f'+hostname = "{GW}"' in rows["gw-01"]["diff"]
    assert f'+parent_hostname = "{GW}"' in rows["cam-07"]["diff"]
    assert rows["down-09"]["reachable"] is False
    assert not gw.exists(EDGE_CA)  # the plan wrote nothing

    res = edgecert("site", "deploy", "--site", str(site), "--yes", "--json")
    assert res.returncode == 1, res.stderr
    out = {r["name"]: r for r in json.loads(res.stdout)}
    assert {n: r["outcome"] for n, r in out.items()} == {
        "gw-01": "deployed", "cam-07": "deployed", "cam-08": "rolled_back",
        "plc-02": "deployed", "down-09": "unreachable"}
    assert "does not match device hostname" in out["cam-08"]["reason"]
    assert failing.snapshot("/etc/aziot", "/var/aziot") == before_failing

    results = json.loads((tmp_path / "site.results.json").read_text())
    assert [r["name"] for r in results["devices"]] == [
        "gw-01", "cam-07", "cam-08", "plc-02", "down-09"]
    assert results["devices"][0]["backup"].startswith("/var/backups/edgecert/")

    serials = set()
    for dev, name in ((gw, "gw-01"), (child, "cam-07"), (plain, "plc-02")):
        cert = x509.load_pem_x509_certificate(dev.read(EDGE_CA))
        assert cert.subject.rfc4514_string() == f"CN={name}.ca"
        assert format(cert.serial_number, "x") == out[name]["edge_ca_serial"]
        serials.add(cert.serial_number)
        assert dev.stat(CONFIG) == (0o600, "root", "root")
        assert dev.stat("/var/aziot/secrets/edge-ca.key.pem")[0] == 0o600
        config = dev.read(CONFIG)
        rtcfg_check(config, tmp_path / f"{name}.toml")
        doc = tomllib.loads(config.decode())
        if name == "cam-07":
            assert doc["parent_hostname"] == GW
            assert doc["hostname"] == "edge-device-01.cam-07"
        else:
            assert "parent_hostname" not in doc
    assert tomllib.loads(gw.read(CONFIG).decode())["hostname"] == GW
    assert len(serials) == 3

    # second run, cam-08's hostname corrected: deployed devices are unchanged (no apply)
    five_device_site(fleet, ca, tmp_path, cam08="edge-device-01.cam-08")
    applied = {n: applies(d) for n, d in (("gw-01", gw), ("cam-07", child), ("plc-02", plain))}
    snaps = {n: d.snapshot("/etc/aziot", "/var/aziot") for n, d in
             (("gw-01", gw), ("cam-07", child), ("plc-02", plain))}
    res = edgecert("site", "deploy", "--site", str(site), "--yes", "--json")
    assert res.returncode == 1, res.stderr  # down-09 still unreachable
    again = {r["name"]: r["outcome"] for r in json.loads(res.stdout)}
    assert again == {"gw-01": "unchanged", "cam-07": "unchanged", "cam-08": "deployed",
                     "plc-02": "unchanged", "down-09": "unreachable"}
    for n, d in (("gw-01", gw), ("cam-07", child), ("plc-02", plain)):
        assert applies(d) == applied[n]
        assert d.snapshot("/etc/aziot", "/var/aziot") == snaps[n]
    rtcfg_check(failing.read(CONFIG), tmp_path / "cam-08.toml")
    assert tomllib.loads(failing.read(CONFIG).decode())["hostname"] == "edge-device-01.cam-08"

    # status over the site: all from the site CA, the unreachable one makes it exit 1
    st = edgecert("site", "status", "--site", str(site), "--json")
    assert st.returncode == 1
    health = {r["name"]: r for r in json.loads(st.stdout)}
    for n in ("gw-01", "cam-07", "cam-08", "plc-02"):
        assert health[n]["issued_by_site_ca"] is True
        assert health[n]["trust_bundle_ok"] is True
        assert health[n]["health"] == "ok"
    assert health["down-09"]["reachable"] is False


def test_child_of_a_failed_parent_is_skipped(fleet: Fleet, ca: ChainFiles,
                                             tmp_path: Path) -> None:
    gw, child = fleet.devices[:2]
    gw.fail_next_apply("stand-in: gateway refuses")
    site = write_site(tmp_path / "s.toml", ca,
                      Fleet.site_entry(gw, "gw-01", hostname=GW)
                      + Fleet.site_entry(child, "cam-07", parent="gw-01"))
    results = site_deploy(load_site(site), results_path=tmp_path / "r.json")
    got = {r.name: r for r in results}
    # the knob fails every apply, the re-apply of the old config too: files restored, exit 3
    assert got["gw-01"].outcome == "rollback_failed"
    assert "gateway refuses" in got["gw-01"].reason
    assert got["cam-07"].outcome == "skipped"
    assert "parent gw-01 ended rollback_failed" in got["cam-07"].reason
    from core.site.run import exit_code
    assert exit_code(results) == 3
    assert not child.exists(EDGE_CA)


def test_stop_lets_the_device_in_flight_finish_and_starts_no_other(
        fleet: Fleet, ca: ChainFiles, tmp_path: Path) -> None:
    devs = fleet.devices[:3]
    site = write_site(tmp_path / "s.toml", ca, "".join(
        Fleet.site_entry(d, f"dev-{i}") for i, d in enumerate(devs)))
    stop = threading.Event()

    def progress(name: str, what: str) -> None:
        if name == "dev-0" and what == "apply":
            stop.set()  # as Ctrl-C does: while dev-0 is being applied

    results = site_deploy(load_site(site), workers=1, stop=stop, progress=progress,
                          results_path=tmp_path / "r.json")
    assert [(r.name, r.outcome) for r in results] == [
        ("dev-0", "deployed"), ("dev-1", "skipped"), ("dev-2", "skipped")]
    assert "interrupted" in results[1].reason
    assert devs[0].exists(EDGE_CA)
    assert not devs[1].exists(EDGE_CA) and not devs[2].exists(EDGE_CA)
    written = json.loads((tmp_path / "r.json").read_text())
    assert [d["outcome"] for d in written["devices"]] == ["deployed", "skipped", "skipped"]


def test_nested_child_on_dps_is_refused_before_any_write(fleet: Fleet, ca: ChainFiles,
                                                         tmp_path: Path) -> None:
    gw, child = fleet.devices[:2]
    cfg = child.read(CONFIG).decode().replace(
        'source = "manual"', 'source = "dps"\nglobal_endpoint = '
        '"https://global.azure-devices-provisioning.net"\nid_scope = "0ne00000000"')
    child.write(CONFIG, cfg.encode(), mode=0o600)
    snap = child.snapshot("/etc/aziot", "/var/aziot")
    site = write_site(tmp_path / "s.toml", ca,
                      Fleet.site_entry(gw, "gw-01", hostname=GW)
                      + Fleet.site_entry(child, "cam-07", parent="gw-01"))
    results = {r.name: r for r in site_deploy(load_site(site), results_path=tmp_path / "r")}
    assert results["gw-01"].outcome == "deployed"
    assert results["cam-07"].outcome == "skipped"
    assert "DPS provisioning is not supported in nested mode" in results["cam-07"].reason
    assert child.snapshot("/etc/aziot", "/var/aziot") == snap


def test_renew_within_days_reissues_only_what_ends_in_that_window(
        fleet: Fleet, ca: ChainFiles, tmp_path: Path) -> None:
    dev = fleet.devices[0]
    site = write_site(tmp_path / "s.toml", ca, Fleet.site_entry(dev, "plc-02"))
    first = edgecert("site", "deploy", "--site", str(site), "--yes", "--json")
    assert first.returncode == 0, first.stderr
    serial = json.loads(first.stdout)[0]["edge_ca_serial"]

    # the 365-day edge CA does not end within 30 days: nothing to renew
    res = edgecert("site", "renew", "--site", str(site), "--within", "30", "--yes", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)[0]["outcome"] == "unchanged"
    # it ends within 400 days: reissued and deployed, a new serial on the device
    res = edgecert("site", "renew", "--site", str(site), "--within", "400", "--yes", "--json")
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)[0]
    assert row["outcome"] == "deployed" and row["edge_ca_serial"] != serial
    cert = x509.load_pem_x509_certificate(dev.read(EDGE_CA))
    assert format(cert.serial_number, "x") == row["edge_ca_serial"]
    # --all reissues regardless of the window
    res = edgecert("site", "renew", "--site", str(site), "--all", "--yes", "--json")
    assert json.loads(res.stdout)[0]["edge_ca_serial"] not in (serial, row["edge_ca_serial"])


def test_deploy_without_yes_off_a_terminal_asks_for_it(fleet: Fleet, ca: ChainFiles,
                                                       tmp_path: Path) -> None:
    dev = fleet.devices[0]
    site = write_site(tmp_path / "s.toml", ca, Fleet.site_entry(dev, "plc-02"))
    res = edgecert("site", "deploy", "--site", str(site))
    assert res.returncode == 2
    assert "--yes" in res.stderr
    assert not dev.exists(EDGE_CA)


def test_ctrl_c_finishes_the_device_in_flight_and_starts_no_other(
        fleet: Fleet, ca: ChainFiles, tmp_path: Path) -> None:
    import signal

    devs = fleet.devices[:3]
    site = write_site(tmp_path / "s.toml", ca, "".join(
        Fleet.site_entry(d, f"dev-{i}") for i, d in enumerate(devs)))
    exe = Path(sys.executable).with_name("edgecert")
    proc = subprocess.Popen([str(exe), "site", "deploy", "--site", str(site), "--yes",
                             "--workers", "1", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin"})
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.strip() == "dev-0: apply":
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, "".join(seen) + err
    assert "interrupted" in err
    got = {r["name"]: r["outcome"] for r in json.loads(out)}
    assert got["dev-0"] == "deployed"
    assert got["dev-2"] == "skipped"
    assert got["dev-1"] in ("deployed", "skipped")
    for i, d in enumerate(devs):  # nothing half-done: deployed ones hold the new edge CA
        assert d.exists(EDGE_CA) == (got[f"dev-{i}"] == "deployed")
    written = json.loads((tmp_path / "s.results.json").read_text())
    assert {r["name"]: r["outcome"] for r in written["devices"]} == got


def test_a_loosened_key_mode_is_not_unchanged(fleet: Fleet, ca: ChainFiles,
                                              tmp_path: Path) -> None:
    dev = fleet.devices[0]
    site = write_site(tmp_path / "s.toml", ca, Fleet.site_entry(dev, "plc-02"))
    assert [r.outcome for r in site_deploy(load_site(site), results_path=tmp_path / "r")] == \
        ["deployed"]
    dev.sh("chmod 0644 /var/aziot/secrets/edge-ca.key.pem")
    again = site_deploy(load_site(site), results_path=tmp_path / "r")
    assert again[0].outcome == "deployed"
    assert dev.stat("/var/aziot/secrets/edge-ca.key.pem") == (0o600, "aziotks", "aziotks")


def test_sudo_password_on_stdin_and_no_secret_in_any_output(fleet: Fleet, ca: ChainFiles,
                                                            tmp_path: Path) -> None:
    from device.device import PW_ADMIN_PASSWORD

    dev = fleet.devices[0]
    entry = Fleet.site_entry(dev, "plc-02").replace('user = "edgeadmin"', 'user = "pwadmin"')
    entry = entry.replace(str(dev.accounts["edgeadmin"].key), str(dev.accounts["pwadmin"].key))
    site = write_site(tmp_path / "s.toml", ca, entry)
    exe = Path(sys.executable).with_name("edgecert")
    outputs = []
    for args in (("plan", "--json", "--diff"), ("deploy", "--yes", "--json"),
                 ("status", "--json")):
        res = subprocess.run([str(exe), "site", args[0], "--site", str(site), "--password-stdin",
                              *args[1:]], input=PW_ADMIN_PASSWORD + "\n", capture_output=True,
                             text=True, timeout=200, env={"PATH": "/usr/bin:/bin"})
        assert res.returncode == 0, res.stderr
        outputs += [res.stdout, res.stderr]
    outputs.append((tmp_path / "s.results.json").read_text())
    key = dev.read("/var/aziot/secrets/edge-ca.key.pem").decode()
    body = "".join(key.splitlines()[1:-1])
    for text in outputs:
        assert PW_ADMIN_PASSWORD not in text
        assert "PRIVATE KEY" not in text
        assert body[:40] not in text.replace("\n", "")


def test_unknown_host_key_is_refused_then_accepted_by_fingerprint(
        fleet: Fleet, ca: ChainFiles, tmp_path: Path) -> None:
    dev = fleet.devices[0]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    site = write_site(tmp_path / "s.toml", ca, Fleet.site_entry(dev, "plc-02").replace(
        str(dev.known_hosts), str(empty)))
    res = edgecert("site", "deploy", "--site", str(site), "--yes", "--json")
    assert res.returncode == 1
    row = json.loads(res.stdout)[0]
    assert row["outcome"] == "unreachable"
    assert dev.fingerprint() in row["reason"]
    assert not dev.exists(EDGE_CA)
    res = edgecert("site", "deploy", "--site", str(site), "--yes", "--json",
                   "--accept-host-key", f"plc-02={dev.fingerprint()}")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)[0]["outcome"] == "deployed"
    # the accepted key was recorded in the device's known_hosts file
    assert empty.read_text().startswith(f"[127.0.0.1]:{dev.port} ")
