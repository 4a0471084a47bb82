"""The NSIS installer script compiles around a payload and installs/uninstalls what it should.

makensis (Debian's nsis) builds the Windows installer on Linux; its -V4 listing shows every
instruction the installer will execute, which is what these tests read.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging_support import ROOT, require_tool

# The NSIS equivalent of an MSI upgrade code. It must never change between releases: a new
# code would install the next version side by side instead of replacing this one.
UPGRADE_CODE = "{5B0C6E29-8A4D-4F1B-9C3E-7D2A61F4E8B0}"
UNINST_KEY = rf"Software\Microsoft\Windows\CurrentVersion\Uninstall\{UPGRADE_CODE}"
MAX_INSTALLER_MB = 80


def _stage_payload(root: Path) -> Path:
    """A small stand-in for the frozen folder, with the same shape (exes + _internal/)."""
    payload = root / "edgecert"
    (payload / "_internal" / "resources" / "templates").mkdir(parents=True)
    (payload / "edgecert-gui.exe").write_bytes(b"MZ gui stand-in")
    (payload / "edgecert.exe").write_bytes(b"MZ cli stand-in")
    (payload / "_internal" / "python311.dll").write_bytes(b"dll" * 100)
    (payload / "_internal" / "resources" / "versions.toml").write_text("[releases]\n")
    (payload / "_internal" / "resources" / "templates" / "config with space.toml").write_text("")
    return payload


@pytest.fixture(scope="module")
def small_installer(
    build: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str]:
    require_tool("makensis")
    root = tmp_path_factory.mktemp("nsis-small")
    payload = _stage_payload(root)
    setup, listing = build.build_installer(payload, root / "out", version=build.project_version(),
                                           compressor="zlib")
    return payload, setup, listing


def _payload_files(payload: Path) -> list[str]:
    return sorted("\\".join(p.relative_to(payload).parts) for p in payload.rglob("*")
                  if p.is_file())


def _section(listing: str, name: str) -> str:
    start = listing.index(f'Section: "{name}"')
    return listing[start:listing.index("\nSectionEnd", start)]


def check_listing(listing: str, payload: Path, version: str, gui_exe: str) -> None:
    """Everything the issue asks of the installer, read from the makensis listing."""
    install, uninstall = _section(listing, "edgecert"), _section(listing, "Uninstall")
    # Every payload file is packed, and nothing else.
    packed = re.findall(r'^File: "([^"]+)"', install, re.MULTILINE)
    names = [f.rsplit("\\", 1)[-1] for f in _payload_files(payload)]
    assert sorted(packed) == sorted(names)
    # Start-menu shortcut to the wizard.
    assert f'CreateShortcut: "$SMPROGRAMS\\edgecert.lnk"->"$INSTDIR\\{gui_exe}"' in install
    # Stable upgrade code; the install location is recorded so the next version replaces it.
    assert f"WriteRegStr: SHCTX\\{UNINST_KEY}\\InstallLocation=$INSTDIR" in install
    assert f"WriteRegStr: SHCTX\\{UNINST_KEY}\\DisplayVersion={version}" in install
    assert 'QuietUninstallString="$INSTDIR\\uninstall.exe" /S' in install
    assert f"ReadRegStr $0 SHCTX\\{UNINST_KEY}\\InstallLocation" in install
    assert 'ExecWait: ""$0\\uninstall.exe" /S /UPGRADE _?=$0"' in install
    # Per-user by default without elevation; per-machine only when asked for.
    assert "$LOCALAPPDATA\\Programs\\edgecert" in listing
    assert "$PROGRAMFILES64\\edgecert" in listing
    on_init = listing[listing.index('Function: ".onInit"'):]
    on_init = on_init[:on_init.index("FunctionEnd")]
    # /ALLUSERS switches to per machine; silent without elevation exits 740 (elevation needed).
    assert 'StrCpy $AllUsers "1"' in on_init and "SetErrorLevel: 740" in on_init
    # Uninstall: exactly the installed files, by name; never a wildcard, never recursive,
    # never the user's folders, so generated keys and chains survive.
    deleted = re.findall(r'^Delete: "\$INSTDIR\\([^"]+)"', uninstall, re.MULTILINE)
    assert sorted(deleted) == sorted([*_payload_files(payload), "uninstall.exe"])
    assert not re.search(r"^(Delete|RMDir): .*[*?]", uninstall, re.MULTILINE)
    assert "RMDir: /r" not in uninstall and "/REBOOTOK" not in uninstall
    for folder in ("$APPDATA", "$LOCALAPPDATA", "$DOCUMENTS", "$PROFILE", "$DESKTOP"):
        assert folder not in uninstall
    assert f"DeleteRegKey: SHCTX\\{UNINST_KEY}" in uninstall
    assert 'Delete: "$SMPROGRAMS\\edgecert.lnk"' in uninstall
    assert 'RMDir: "$INSTDIR"' in uninstall


def test_installer_compiles_around_a_staged_payload(
    build: ModuleType, small_installer: tuple[Path, Path, str]
) -> None:
    payload, setup, listing = small_installer
    assert setup.name == f"edgecert-setup-{build.project_version()}.exe"
    assert setup.read_bytes()[:2] == b"MZ"  # a Windows executable
    check_listing(listing, payload, build.project_version(), "edgecert-gui.exe")


def test_version_comes_from_pyproject(build: ModuleType, tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "2.3rc1"\n', encoding="utf-8")
    assert build.project_version(pyproject) == "2.3rc1"
    assert build.version4("2.3rc1") == "2.3.0.0"
    assert build.version4("1.2.3.4") == "1.2.3.4"
    pyproject.write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(build.BuildError, match="no \\[project\\] version"):
        build.project_version(pyproject)


def test_installer_exe_runs_without_elevation_and_carries_the_version(
    build: ModuleType, small_installer: tuple[Path, Path, str]
) -> None:
    _, setup, _ = small_installer
    exe = setup.read_bytes()
    # RequestExecutionLevel user: the manifest asks for no elevation, so no UAC prompt.
    assert b'level="asInvoker"' in exe
    assert b"requireAdministrator" not in exe and b'level="highestAvailable"' not in exe
    # Version resource (UTF-16 strings) from pyproject.toml.
    version = build.project_version()
    assert "ProductVersion".encode("utf-16-le") in exe
    assert version.encode("utf-16-le") in exe


def test_file_lists_escape_nsis_variables(build: ModuleType, tmp_path: Path) -> None:
    payload = tmp_path / "p"
    payload.mkdir()
    (payload / "a$b.txt").write_text("x")
    with pytest.raises(build.BuildError, match=r"a\$b\.txt"):
        build.write_file_lists(payload, tmp_path / "nsis")


def test_missing_payload_is_a_clear_error(build: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(build.BuildError, match="does not exist"):
        build.write_file_lists(tmp_path / "nowhere", tmp_path / "nsis")


def test_script_refuses_to_build_without_the_build_script(tmp_path: Path) -> None:
    """The .nsi needs the defines build.py passes; alone it stops with a clear message."""
    makensis = require_tool("makensis")
    result = subprocess.run([makensis, "-V2", str(ROOT / "installer" / "edgecert.nsi")],
                            capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode != 0
    assert "VERSION is not defined: build with installer/build.py" in result.stdout + result.stderr


@pytest.mark.slow
def test_installer_around_the_frozen_app(build: ModuleType, frozen_app: Path,
                                         tmp_path: Path) -> None:
    """The real payload: the Linux frozen app stands in for the Windows one (same layout)."""
    require_tool("makensis")
    setup, listing = build.build_installer(frozen_app, tmp_path, version=build.project_version(),
                                           compressor="zlib")
    check_listing(listing, frozen_app, build.project_version(), "edgecert-gui")
    size_mb = setup.stat().st_size / 1e6
    # zlib here to keep CI fast; the release uses LZMA, which is smaller still.
    assert size_mb <= MAX_INSTALLER_MB, f"installer is {size_mb:.1f} MB"


def test_sign_command_signs_uninstaller_and_installer(build: ModuleType, tmp_path: Path) -> None:
    """The release signs through makensis: both the uninstaller and the installer pass through."""
    require_tool("makensis")
    log = tmp_path / "signed.log"
    signer = tmp_path / "sign.py"
    signer.write_text(
        "import sys, pathlib\n"
        "data = pathlib.Path(sys.argv[1]).read_bytes()\n"
        "assert data[:2] == b'MZ', sys.argv[1]\n"
        f"with open({str(log)!r}, 'a') as f: f.write(sys.argv[1] + '\\n')\n",
        encoding="utf-8",
    )
    payload = _stage_payload(tmp_path)
    setup, _ = build.build_installer(payload, tmp_path / "out", version=build.project_version(),
                                     compressor="zlib", sign_cmd=f"{sys.executable} {signer}")
    signed = log.read_text(encoding="utf-8").splitlines()
    assert len(signed) == 2
    assert Path(signed[1]) == setup.resolve()  # the installer last, after the uninstaller
    assert Path(signed[0]) != setup.resolve()


def test_failing_sign_command_fails_the_build(build: ModuleType, tmp_path: Path) -> None:
    require_tool("makensis")
    payload = _stage_payload(tmp_path)
    with pytest.raises(build.BuildError, match="installer"):
        build.build_installer(payload, tmp_path / "out", version=build.project_version(),
                              compressor="zlib", sign_cmd="false")
