"""The site file and its device lists: parsing, defaults, and validation with file and line."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sitekit import make_ca, write_site

from core.chain import ChainFiles, KeyType
from core.errors import SiteError
from core.site.load import load_site

DEVICES = """
    [defaults]
    user = "tech"
    identity = "keys/id_ed25519"
    edge_ca_days = 200

    [[devices]]
    name = "gw-01"
    host = "10.0.0.5"
    hostname = "gw-01.plant.local"

    [[devices]]
    name = "cam-07"
    host = "10.0.0.17"
    port = 2222
    user = "other"
    parent = "gw-01"
    key_type = "rsa-2048"
    """


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ChainFiles:
    return make_ca(tmp_path_factory.mktemp("siteca") / "ca")


def _error(path: Path) -> SiteError:
    with pytest.raises(SiteError) as info:
        load_site(path)
    return info.value


def test_site_file_defaults_relative_paths_and_parent_order(tmp_path: Path, ca: ChainFiles
                                                          ) -> None:
    site = load_site(write_site(tmp_path / "site.toml", ca, DEVICES))
    gw, cam = site.device("gw-01"), site.device("cam-07")
    assert (gw.user, gw.port, gw.edge_ca_days, gw.key_type) == ("tech", 22, 200, KeyType.EC_P256)
    assert gw.identity == tmp_path / "keys/id_ed25519"
    assert (cam.user, cam.port, cam.key_type) == ("other", 2222, KeyType.RSA_2048)
    assert site.parent_hostname(cam) == "gw-01.plant.local"
    assert site.parent_hostname(gw) is None
    assert gw.where == f"{tmp_path / 'site.toml'}:11"
    assert cam.where == f"{tmp_path / 'site.toml'}:16"
    assert site.results == tmp_path / "site.results.json"


def test_children_listed_before_parents_are_ordered_after_them(tmp_path: Path,
                                                                ca: ChainFiles) -> None:
    site = load_site(write_site(tmp_path / "s.toml", ca, """
        [[devices]]
        name = "leaf"
        host = "h3"
        parent = "mid"

        [[devices]]
        name = "mid"
        host = "h2"
        parent = "top"
        hostname = "mid.local"

        [[devices]]
        name = "top"
        host = "h1"
        hostname = "top.local"
        """))
    assert [d.name for d in site.ordered()] == ["top", "mid", "leaf"]
    assert site.depth(site.device("leaf")) == 2


def test_the_example_site_file_parses(tmp_path: Path, ca: ChainFiles) -> None:
    example = Path(__file__).parents[2] / "resources" / "site.example.toml"
    text = example.read_text()
    (tmp_path / "ca").mkdir()
    assert ca.intermediate_cert and ca.intermediate_key and ca.root_cert
    shutil.copy(ca.intermediate_cert, tmp_path / "ca/intermediate.cert.pem")
    shutil.copy(ca.intermediate_key, tmp_path / "ca/intermediate.key.pem")
    shutil.copy(ca.root_cert, tmp_path / "ca/root.cert.pem")
    shutil.copy(ca.root_cert, tmp_path / "ca/chain.pem")
    (tmp_path / "site.toml").write_text(text)
    site = load_site(tmp_path / "site.toml")
    assert [d.name for d in site.devices] == ["gw-01", "cam-07"]
    assert site.parent_hostname(site.device("cam-07")) == "gw-01.plant.local"


def test_csv_list_with_header_and_lines(tmp_path: Path, ca: ChainFiles) -> None:
    (tmp_path / "devices.csv").write_text(
        "name,host,port,user,parent,hostname\n"
        "gw-01,10.0.0.5,22,tech,,gw-01.plant.local\n"
        "\n"
        "cam-07,10.0.0.17,,,gw-01,\n")
    site = load_site(write_site(tmp_path / "s.toml", ca, "", head="""\
        [site]
        device_lists = ["devices.csv"]
        """))
    cam = site.device("cam-07")
    assert (cam.host, cam.port, cam.parent, cam.where) == (
        "10.0.0.17", 22, "gw-01", f"{tmp_path / 'devices.csv'}:4")
    assert site.device("gw-01").user == "tech"


def test_csv_unknown_column_names_line_1(tmp_path: Path, ca: ChainFiles) -> None:
    (tmp_path / "d.csv").write_text("name,host,colour\na,b,c\n")
    err = _error(write_site(tmp_path / "s.toml", ca, "", head="[site]\ndevice_lists = 'd.csv'\n"))
    assert err.where == f"{tmp_path / 'd.csv'}:1"
    assert "colour" in err.message


def test_ansible_yaml_inventory_group_and_host_vars(tmp_path: Path, ca: ChainFiles) -> None:
    (tmp_path / "hosts.yml").write_text("""\
all:
  vars:
    ansible_user: tech
  children:
    gateways:
      hosts:
        gw-01:
          ansible_host: 10.0.0.5
          edgecert_hostname: gw-01.plant.local
    cameras:
      vars:
        ansible_port: 2200
        parent: gw-01
      hosts:
        cam-07:
          ansible_host: 10.0.0.17
        cam-08:
          ansible_host: 10.0.0.18
          ansible_user: special
""")
    site = load_site(write_site(tmp_path / "s.toml", ca, "",
                                head="[site]\ndevice_lists = ['hosts.yml']\n"))
    assert {d.name for d in site.devices} == {"gw-01", "cam-07", "cam-08"}
    gw, c7, c8 = site.device("gw-01"), site.device("cam-07"), site.device("cam-08")
    assert (gw.host, gw.user, gw.port, gw.hostname) == ("10.0.0.5", "tech", 22,
                                                        "gw-01.plant.local")
    assert (c7.host, c7.user, c7.port, c7.parent) == ("10.0.0.17", "tech", 2200, "gw-01")
    assert c8.user == "special"
    assert c7.where == f"{tmp_path / 'hosts.yml'}:15"


def test_ansible_yaml_alias_bomb_is_refused(tmp_path: Path, ca: ChainFiles) -> None:
    lines = ["a0: &a0 [x, x]"] + [f"a{i}: &a{i} [*a{i-1}, *a{i-1}]" for i in range(1, 30)]
    (tmp_path / "h.yaml").write_text("\n".join(lines) + "\n")
    err = _error(write_site(tmp_path / "s.toml", ca, "", head="[site]\ndevice_lists = 'h.yaml'\n"))
    assert "anchors/aliases" in err.message
    assert err.where is not None and err.where.startswith(f"{tmp_path / 'h.yaml'}:")


def test_ansible_ini_inventory(tmp_path: Path, ca: ChainFiles) -> None:
    (tmp_path / "hosts").write_text("""\
# plant inventory
[gateways]
gw-01 ansible_host=10.0.0.5 hostname=gw-01.plant.local

[cameras]
cam-07 ansible_host=10.0.0.17 ansible_port=2201
cam-08 ansible_host="10.0.0.18" edgecert_parent=gw-01

[cameras:vars]
parent=gw-01
ansible_user=cam

[plant:children]
gateways
cameras

[plant:vars]
ansible_user=tech
edge_ca_days=100
""")
    site = load_site(write_site(tmp_path / "s.toml", ca, "",
                                head="[site]\ndevice_lists = ['hosts']\n"))
    gw, c7, c8 = site.device("gw-01"), site.device("cam-07"), site.device("cam-08")
    assert (gw.user, gw.edge_ca_days, gw.parent) == ("tech", 100, None)
    assert (c7.user, c7.port, c7.parent, c7.edge_ca_days) == ("cam", 2201, "gw-01", 100)
    assert c8.host == "10.0.0.18"
    assert c7.where == f"{tmp_path / 'hosts'}:6"


@pytest.mark.parametrize(("body", "line", "words"), [
    ("""
     [[devices]]
     name = "a"
     host = "h1"

     [[devices]]
     name = "a"
     host = "h2"
     """, 10, "used twice"),
    ("""
     [[devices]]
     name = "a"
     host = "h1"

     [[devices]]
     name = "b"
     host = "H1"
     """, 10, "also device a"),
    ("""
     [[devices]]
     name = "a"
     host = "h1"
     parent = "nobody"
     """, 6, "not a device of the site"),
    ("""
     [[devices]]
     name = "a"
     host = "h1"
     hostname = "a.ca"
     """, 6, "equals the edge CA common name"),
    (f"""
     [[devices]]
     name = "a"
     host = "h1"
     hostname = "{'x' * 30}.{'y' * 40}"
     """, 6, "at most 64"),
    ("""
     [[devices]]
     name = "gw"
     host = "h1"
     hostname = "gw.local"

     [[devices]]
     name = "child"
     host = "h2"
     parent = "gw"
     provisioning = "dps"
     """, 11, "DPS provisioning is not supported in nested mode"),
    ("""
     [[devices]]
     name = "gw"
     host = "h1"

     [[devices]]
     name = "child"
     host = "h2"
     parent = "gw"
     """, 6, "has children but no hostname"),
    ("""
     [[devices]]
     name = "a"
     host = "h1"
     colour = "red"
     """, 6, "unknown key 'colour'"),
    ("""
     [[devices]]
     name = "a"
     host = "h1"
     port = 70000
     """, 6, "port = 70000"),
])
def test_validation_names_the_line(tmp_path: Path, ca: ChainFiles, body: str, line: int,
                                   words: str) -> None:
    err = _error(write_site(tmp_path / "s.toml", ca, body))
    assert err.where == f"{tmp_path / 's.toml'}:{line}"
    assert words in err.message
    assert err.hint
    assert err.exit_code == 2


def test_parent_cycle(tmp_path: Path, ca: ChainFiles) -> None:
    err = _error(write_site(tmp_path / "s.toml", ca, """
        [[devices]]
        name = "a"
        host = "h1"
        hostname = "a.local"
        parent = "b"

        [[devices]]
        name = "b"
        host = "h2"
        hostname = "b.local"
        parent = "a"
        """))
    assert "cycle" in err.message
    assert "a -> b -> a" in err.message


def test_every_problem_is_listed_at_once(tmp_path: Path, ca: ChainFiles) -> None:
    err = _error(write_site(tmp_path / "s.toml", ca, """
        [[devices]]
        name = "a"
        host = "h1"
        parent = "x"

        [[devices]]
        name = "a"
        host = "h2"
        """))
    assert "2 problems" in err.message
    assert f"{tmp_path / 's.toml'}:6" in err.message
    assert f"{tmp_path / 's.toml'}:11" in err.message


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text("[ca]\ncert = \n")
    err = _error(tmp_path / "s.toml")
    assert err.where == f"{tmp_path / 's.toml'}:2"


def test_site_ca_that_is_not_a_ca_is_refused(tmp_path: Path, ca: ChainFiles) -> None:
    assert ca.edge_ca_cert and ca.edge_ca_key and ca.root_cert
    (tmp_path / "s.toml").write_text(f"""\
[ca]
cert = "{ca.edge_ca_full_chain}"
key = "{ca.edge_ca_key}"
trust_bundle = "{ca.root_cert}"
[[devices]]
name = "a"
host = "h"
""")
    err = _error(tmp_path / "s.toml")
    # the demo edge CA is a CA with pathlen 0: it cannot sign another edge CA
    assert "pathlen 0" in err.message
    assert err.where == f"{tmp_path / 's.toml'}:5"


def test_site_ca_ending_before_the_edge_cas_is_refused(tmp_path: Path, ca: ChainFiles) -> None:
    err = _error(write_site(tmp_path / "s.toml", ca, """
        [[devices]]
        name = "short"
        host = "h1"
        edge_ca_days = 30

        [[devices]]
        name = "long"
        host = "h2"
        edge_ca_days = 2000
        """))
    assert "before the 2000-day edge CA of long" in err.message
    assert err.where == f"{tmp_path / 's.toml'}:11"


def test_trust_bundle_without_the_site_root_is_refused(tmp_path: Path, ca: ChainFiles) -> None:
    other = make_ca(tmp_path / "other")
    assert other.root_cert and ca.intermediate_cert and ca.intermediate_key
    (tmp_path / "s.toml").write_text(f"""\
[ca]
cert = "{ca.intermediate_cert}"
key = "{ca.intermediate_key}"
chain = "{ca.root_cert}"
trust_bundle = "{other.root_cert}"
[[devices]]
name = "a"
host = "h"
""")
    err = _error(tmp_path / "s.toml")
    assert "does not hold the root" in err.message
    assert err.where == str(other.root_cert)


def test_now_is_taken_into_account(tmp_path: Path, ca: ChainFiles) -> None:
    path = write_site(tmp_path / "s.toml", ca, """
        [[devices]]
        name = "a"
        host = "h1"
        edge_ca_days = 10
        """)
    load_site(path)
    with pytest.raises(SiteError, match="site CA expired"):
        load_site(path, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3000))
