"""The package layout holds: core stays headless, the catalog loads, the CLI answers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.cli import main
from core.errors import UsageError
from core.versions import catalog, parse_iotedge_version, release


def test_core_never_imports_qt() -> None:
    code = (
        "import sys, importlib, pkgutil, core\n"
        "sys.modules['PySide6'] = None\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    if m.name != 'core.__main__': importlib.import_module(m.name)\n"
        "bad = [k for k in sys.modules if k.startswith(('PySide6.', 'gui'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_catalog_versions() -> None:
    assert list(catalog()) == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"]
    r11 = release("1.1")
    assert r11.is_legacy and r11.ca_term == "device CA" and r11.edge_ca_pathlen is None
    assert r11.expiry_warning_days == 90 and r11.not_after_limit is not None
    r12 = release("1.2.10")
    assert r12.edge_ca_pathlen == 0 and not r12.auto_renew and r12.ca_term == "edge CA"
    assert release("1.4").auto_renew


def test_unknown_newer_release_maps_to_newest_with_notice() -> None:
    r = release("1.7")
    assert r.key == "1.6" and "1.7" in r.notice


@pytest.mark.parametrize("bad", ["1.0", "banana", ""])
def test_bad_versions_are_typed_errors(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        release(bad)
    assert info.value.hint


def test_parse_iotedge_version() -> None:
    assert parse_iotedge_version("iotedge 1.5.21 (3c28c6f0b)\n") == "1.5.21"
    with pytest.raises(UsageError):
        parse_iotedge_version("command not found")


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "edgecert" in capsys.readouterr().out
