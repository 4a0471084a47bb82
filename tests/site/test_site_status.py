"""``edgecert site status`` against loopback devices: days left, site CA, exit codes, HTML."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from device.fleet import Fleet, closed_port
from sitekit import make_ca, write_site

from core.chain import ChainFiles

pytestmark = pytest.mark.device


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ChainFiles:
    return make_ca(tmp_path_factory.mktemp("siteca") / "ca")


def edgecert(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("edgecert")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, input=stdin,
                          timeout=240, env={"PATH": "/usr/bin:/bin", "NO_COLOR": ""})


def install_edge_ca(dev: object, chain: ChainFiles) -> None:
    """Put an edge CA on a device by hand (as a technician would have), config pointing at it."""
    from device.device import Device
    assert isinstance(dev, Device)
    dev.write("/var/aziot/certs/edge-ca.pem", chain.edge_ca_full_chain.read_bytes(),
              owner="aziotcs", group="aziotcs")
    dev.write("/var/aziot/certs/trust-bundle.pem", chain.trust_bundle.read_bytes(),
              owner="aziotcs", group="aziotcs")
    cfg = dev.read("/etc/aziot/config.toml").decode()
    cfg = cfg.replace("[provisioning]", 'trust_bundle_cert = "file:///var/aziot/certs/'
                      'trust-bundle.pem"\n\n[provisioning]', 1)
    cfg += ('\n[edge_ca]\ncert = "file:///var/aziot/certs/edge-ca.pem"\n'
            'pk = "file:///var/aziot/secrets/edge-ca.key.pem"\n')
    dev.write("/etc/aziot/config.toml", cfg.encode(), mode=0o600)


def test_status_days_left_foreign_and_unreachable(fleet: Fleet, ca: ChainFiles,
                                                  tmp_path: Path) -> None:
    from core.chain import KeyType, issue_edge_ca
    from core.versions import release

    a, b, c = fleet.devices[:3]
    assert ca.intermediate_cert and ca.intermediate_key and ca.root_cert
    ours = issue_edge_ca(ca_cert=ca.intermediate_cert, ca_key=ca.intermediate_key,
                         ca_chain=ca.root_cert, out_dir=tmp_path / "ours", name="dev-a",
                         release=release("1.5"), key_type=KeyType.EC_P256, days=100)
    short = issue_edge_ca(ca_cert=ca.intermediate_cert, ca_key=ca.intermediate_key,
                          ca_chain=ca.root_cert, out_dir=tmp_path / "short", name="dev-b",
                          release=release("1.5"), key_type=KeyType.EC_P256, days=12)
    foreign = make_ca(tmp_path / "foreign")
    install_edge_ca(a, ours)
    install_edge_ca(b, short)
    install_edge_ca(c, foreign)
    body = (Fleet.site_entry(a, "dev-a") + Fleet.site_entry(b, "dev-b")
            + Fleet.site_entry(c, "dev-c")
            + f'[[devices]]\nname = "dev-down"\nhost = "127.0.0.1"\nport = {closed_port()}\n'
              'user = "edgeadmin"\n')
    site = write_site(tmp_path / "site.toml", ca, body)
    html = tmp_path / "status.html"

    res = edgecert("site", "status", "--site", str(site), "--json", "--html", str(html))
    assert res.returncode == 1, res.stderr
    rows = json.loads(res.stdout)
    assert [r["name"] for r in rows] == ["dev-down", "dev-b", "dev-a", "dev-c"]  # c: 800 days
    by = {r["name"]: r for r in rows}
    now = dt.datetime.now(dt.UTC)
    for name, chain in (("dev-a", ours), ("dev-b", short)):
        from cryptography import x509
        cert = x509.load_pem_x509_certificate(chain.edge_ca_cert.read_bytes())
        r = by[name]
        assert r["reachable"] is True
        assert dt.datetime.fromisoformat(r["edge_ca_not_after"]) == cert.not_valid_after_utc
        assert r["days_left"] == (cert.not_valid_after_utc - now) // dt.timedelta(days=1)
        assert r["issued_by_site_ca"] is True
        assert r["trust_bundle_ok"] is True
    assert by["dev-a"]["days_left"] == 99 and by["dev-a"]["health"] == "ok"
    assert by["dev-b"]["days_left"] == 11 and by["dev-b"]["health"] == "expiring"
    assert by["dev-c"]["issued_by_site_ca"] is False
    assert by["dev-c"]["trust_bundle_ok"] is False
    assert by["dev-c"]["health"] == "foreign"
    assert by["dev-down"]["reachable"] is False
    assert by["dev-down"]["days_left"] is None
    page = html.read_text()
    assert page.count("<tr class=") == 4
    assert '<tr class="expiring"><td>dev-b</td>' in page

    # only the fine device: exit 0; a table without colour codes when piped
    ok_site = write_site(tmp_path / "ok.toml", ca, Fleet.site_entry(a, "dev-a"))
    res = edgecert("site", "status", "--site", str(ok_site))
    assert res.returncode == 0, res.stderr
    assert "dev-a" in res.stdout and "\x1b[" not in res.stdout
    # the same device within a wider warning window: exit 1
    res = edgecert("site", "status", "--site", str(ok_site), "--warn-days", "120", "--json")
    assert res.returncode == 1
    assert json.loads(res.stdout)[0]["health"] == "expiring"


def test_html_cells_are_escaped() -> None:
    from core.site.render import html_page

    page = html_page("<site>", ["a"], [["<script>x</script>"]])
    assert "<script>x" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;site&gt;" in page
