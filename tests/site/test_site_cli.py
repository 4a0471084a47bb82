"""The installed ``edgecert site`` commands on a site whose device cannot be reached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from device.fleet import closed_port
from sitekit import make_ca, write_site

from core.chain import ChainFiles


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ChainFiles:
    return make_ca(tmp_path_factory.mktemp("siteca") / "ca")


def edgecert(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("edgecert")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})


@pytest.fixture
def site(ca: ChainFiles, tmp_path: Path) -> Path:
    return write_site(tmp_path / "s.toml", ca, f"""
        [[devices]]
        name = "far-01"
        host = "127.0.0.1"
        port = {closed_port()}
        user = "tech"
        """)


def test_plan_table_names_the_unreachable_device(site: Path) -> None:
    res = edgecert("site", "plan", "--site", str(site))
    assert res.returncode == 1
    header, row = res.stdout.splitlines()[:2]
    assert header.split()[:2] == ["device", "action"]
    assert row.split()[:2] == ["far-01", "unreachable"]
    assert "far-01:" in res.stderr


def test_deploy_results_file_and_exit_1(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    res = edgecert("site", "deploy", "--site", str(site), "--yes", "--results", str(out))
    assert res.returncode == 1
    assert res.stdout.splitlines()[1].split()[:2] == ["far-01", "unreachable"]
    doc = json.loads(out.read_text())
    assert doc["devices"][0]["outcome"] == "unreachable"
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]  # no temporary file left


def test_bad_site_file_is_exit_2_with_file_and_line(ca: ChainFiles, tmp_path: Path) -> None:
    bad = write_site(tmp_path / "bad.toml", ca, """
        [[devices]]
        name = "a"
        """)
    res = edgecert("site", "status", "--site", str(bad))
    assert res.returncode == 2
    assert f"{bad}:6: device a has no host" in res.stderr
    assert "hint:" in res.stderr
    assert "Traceback" not in res.stderr


def test_only_with_an_unknown_name_is_exit_2(site: Path) -> None:
    res = edgecert("site", "deploy", "--site", str(site), "--yes", "--only", "nope")
    assert res.returncode == 2
    assert "not devices of the site: nope" in res.stderr
