"""Writing: a full disk, a read-only or missing parent, a folder in the way, an existing zip.

Each case: the exit code, a clear message naming the path, no traceback, and nothing partial
left (no file, no temporary file, no half folder). The small file system is a 64 KiB tmpfs in
a private mount namespace.
"""

from __future__ import annotations

import errno
import os
import threading
import zipfile
from pathlib import Path

import pytest
from hostile_support import PROVISIONED, run, run_on_small_fs

from core.chain import ChainFiles
from core.errors import OutputError
from core.fs import output_error, write_atomic

CURRENT = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "manual-crlf.toml"
FULL = 64 * 1024
ALMOST_FULL = 60 * 1024  # one page left: the first small file fits, the next does not


def _export(chain: ChainFiles, out: Path, *extra: str) -> list[str | Path]:
    return ["export-bundle", "--out", out, "--iotedge", "1.5", "--current", CURRENT,
            "--edge-ca-cert", chain.edge_ca_full_chain, "--edge-ca-key", chain.edge_ca_key,
            "--trust-bundle", chain.trust_bundle, *extra]


def _cases(chain: ChainFiles, small: Path) -> dict[str, tuple[list[str | Path], int]]:
    return {
        "chain demo": (["chain", "demo", "--out", small / "chain", "--name", "gw",
                        "--key-type", "ec-p256"], ALMOST_FULL),
        "chain export-pfx": (["chain", "export-pfx", "--cert", chain.edge_ca_cert, "--key",
                              chain.edge_ca_key, "--out", small / "gw.pfx"], FULL),
        "config diff --output": (["config", "diff", "--iotedge", "1.5", "--current", PROVISIONED,
                                  "--quickstart-days", "30", "--output",
                                  small / "config.toml"], FULL),
        "export-bundle zip": (_export(chain, small / "gw.zip"), FULL),
        "export-bundle folder": (_export(chain, small / "bundle"), ALMOST_FULL),
    }


@pytest.mark.parametrize("case", ["chain demo", "chain export-pfx", "config diff --output",
                                  "export-bundle zip", "export-bundle folder"])
def test_a_full_disk_leaves_nothing_and_says_so(case: str, chain: ChainFiles,
                                                tmp_path: Path) -> None:
    small = tmp_path / "small"
    argv, fill = _cases(chain, small)[case]
    result, left = run_on_small_fs(tmp_path, small, argv, fill=fill)
    assert result.code == 2, (result.out, result.err)
    assert "No space left on device" in result.err
    assert "hint: The disk is full" in result.err
    assert f"{small}/" in result.err  # names the path it could not write
    assert left == []  # no partial file, no temporary file or folder


@pytest.mark.parametrize("case", ["chain demo", "chain export-pfx", "export-bundle zip"])
def test_a_read_only_parent_is_a_clear_error(case: str, chain: ChainFiles,
                                             tmp_path: Path) -> None:
    small = tmp_path / "ro"
    argv, _ = _cases(chain, small)[case]
    result, left = run_on_small_fs(tmp_path, small, argv, fill=0, read_only=True)
    assert result.code == 2, (result.out, result.err)
    assert "Read-only file system" in result.err and "hint: That file system is read-only" \
        in result.err
    assert left == []


def test_a_parent_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = run("chain", "demo", "--out", blocker / "chain", "--name", "gw", "--key-type",
                 "ec-p256")
    assert result.code == 2
    assert f"{blocker}/chain: cannot write the output folder" in result.err
    assert "part of it is a file, not a folder" in result.err
    assert blocker.read_text() == "x"


def test_export_pfx_out_naming_a_folder(chain: ChainFiles, tmp_path: Path) -> None:
    folder = tmp_path / "pfx-here"
    folder.mkdir()
    for extra in ([], ["--force"]):
        result = run("chain", "export-pfx", "--cert", chain.edge_ca_cert, "--key",
                     chain.edge_ca_key, "--out", folder, *extra)
        assert result.code == 2, result.err
        assert f"{folder}: --out names a folder; give the PFX file to write" in result.err
        assert list(folder.iterdir()) == []


def test_an_export_zip_is_not_overwritten_without_force(chain: ChainFiles,
                                                         tmp_path: Path) -> None:
    zip_path = tmp_path / "gw.zip"
    zip_path.write_bytes(b"an older bundle")
    result = run(*_export(chain, zip_path))
    assert result.code == 2
    assert f"{zip_path}: the bundle zip exists" in result.err and "--force" in result.err
    assert zip_path.read_bytes() == b"an older bundle"

    result = run(*_export(chain, zip_path, "--force"))
    assert result.code == 0, result.err
    with zipfile.ZipFile(zip_path) as zf:
        assert "gw/install.sh" in zf.namelist()
    assert zip_path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gw.zip"]  # no temporary left


def test_an_export_folder_is_replaced_only_with_force(chain: ChainFiles, tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep")
    result = run(*_export(chain, folder))
    assert result.code == 2 and "exists and is not empty" in result.err
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]
    result = run(*_export(chain, folder, "--force"))
    assert result.code == 0, result.err
    assert "install.sh" in {p.name for p in folder.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_concurrent_atomic_writes_to_one_path_never_collide(tmp_path: Path) -> None:
    target = tmp_path / "bundle.zip"
    payloads = [bytes([n]) * 4096 for n in range(8)]
    errors: list[BaseException] = []

    def writer(data: bytes) -> None:
        try:
            for _ in range(25):
                write_atomic(target, data, 0o600)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.zip"]


def test_write_atomic_cleans_up_after_an_interrupt(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config.toml"
    target.write_bytes(b"old")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("core.fs.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new", 0o600)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
    with pytest.raises(OutputError, match="that name is a folder"):
        write_atomic(tmp_path, b"x", 0o600)


@pytest.mark.parametrize(("code", "hint"), [
    (errno.EACCES, "Choose a place you can write to"),
    (errno.ENOSPC, "The disk is full"),
    (errno.EROFS, "read-only"),
    (errno.ENOENT, "its folder does not exist"),
])
def test_each_os_failure_gets_its_own_hint(code: int, hint: str, tmp_path: Path) -> None:
    err = output_error(OSError(code, os.strerror(code)), tmp_path / "x.pfx", "the PFX")
    assert err.exit_code == 2
    assert str(err) == f"{tmp_path / 'x.pfx'}: cannot write the PFX: {os.strerror(code)}"
    assert hint in err.hint


def test_a_missing_output_folder_is_named(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "config.toml"
    result = run("config", "diff", "--iotedge", "1.5", "--current", PROVISIONED,
                 "--quickstart-days", "30", "--output", target)
    assert result.code == 2
    assert f"{target}: cannot write the new config: No such file or directory" in result.err
    assert not target.parent.exists()
