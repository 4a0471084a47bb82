"""Every verb that reads a local file refuses what is not a regular file, at once, and reads
no more than its cap: exit 2, a message naming the file, no traceback, nothing written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_support import KINDS, run

from core.chain import ChainFiles
from core.errors import UnreadableFileError
from core.fs import MIB, read_input

Argv = Callable[[ChainFiles, Path, Path], list[str | Path]]
"""(chain, the hostile path, an output path) -> the command line."""

_DIFF = ["config", "diff", "--iotedge", "1.5", "--edge-ca-cert", "/d/c.pem", "--edge-ca-key",
         "/d/k.pem", "--trust-bundle", "/d/b.pem"]


def _check(c: ChainFiles, cert: Path | None = None, key: Path | None = None,
           bundle: Path | None = None) -> list[str | Path]:
    return ["chain", "check", "--cert", cert or c.edge_ca_full_chain, "--key",
            key or c.edge_ca_key, "--trust-bundle", bundle or c.trust_bundle]


def _issue(c: ChainFiles, out: Path, **over: Path) -> list[str | Path]:
    assert c.root_cert is not None and c.root_key is not None
    argv: list[str | Path] = ["chain", "issue-edge-ca", "--ca-cert", over.get("cert", c.root_cert),
                              "--ca-key", over.get("key", c.root_key), "--out", out,
                              "--name", "gw2"]
    if "chain" in over:
        argv += ["--ca-chain", over["chain"]]
    if "pw" in over:
        argv += ["--ca-password-file", over["pw"]]
    return argv


def _import(c: ChainFiles, out: Path, **over: Path) -> list[str | Path]:
    argv: list[str | Path] = ["chain", "import-signed", "--cert", over.get("cert", c.edge_ca_cert),
                              "--key", over.get("key", c.edge_ca_key), "--chain",
                              over.get("chain", c.edge_ca_full_chain), "--out", out,
                              "--name", "gw"]
    if "pw" in over:
        argv += ["--key-password-file", over["pw"]]
    return argv


def _pfx(c: ChainFiles, out: Path, **over: Path) -> list[str | Path]:
    argv: list[str | Path] = ["chain", "export-pfx", "--cert", over.get("cert", c.edge_ca_cert),
                              "--key", over.get("key", c.edge_ca_key), "--out", out / "x.pfx"]
    for option, name in (("--chain", "chain"), ("--password-file", "pw"),
                         ("--key-password-file", "keypw")):
        if name in over:
            argv += [option, over[name]]
    return argv


def _export(c: ChainFiles, out: Path, **over: Path) -> list[str | Path]:
    argv: list[str | Path] = ["export-bundle", "--out", out / "b.zip", "--iotedge", "1.5",
                              "--current", over.get("current", "-"),
                              "--edge-ca-cert", over.get("cert", c.edge_ca_full_chain),
                              "--edge-ca-key", over.get("key", c.edge_ca_key),
                              "--trust-bundle", over.get("bundle", c.trust_bundle)]
    if "template" in over:
        argv += ["--template", over["template"]]
    return argv


def _plan(c: ChainFiles, **over: Path) -> list[str | Path]:
    argv: list[str | Path] = ["plan", "--iotedge", "1.5", "--current", over.get("current", "-"),
                              "--cert-file", over.get("cert", c.edge_ca_full_chain),
                              "--key-file", over.get("key", c.edge_ca_key),
                              "--bundle-file", over.get("bundle", c.trust_bundle)]
    if "template" in over:
        argv += ["--template", over["template"]]
    return argv


# Every (verb, file option) that reads a local file.
CASES: dict[str, Argv] = {
    "chain check --cert": lambda c, x, o: _check(c, cert=x),
    "chain check --key": lambda c, x, o: _check(c, key=x),
    "chain check --trust-bundle": lambda c, x, o: _check(c, bundle=x),
    "chain check --password-file": lambda c, x, o: [*_check(c), "--password-file", x],
    "chain inspect FILE": lambda c, x, o: ["chain", "inspect", c.trust_bundle, x],
    "chain inspect --password-file": lambda c, x, o: ["chain", "inspect", c.trust_bundle,
                                                      "--password-file", x],
    "chain demo --password-file": lambda c, x, o: ["chain", "demo", "--out", o, "--name", "gw",
                                                   "--key-type", "ec-p256",
                                                   "--password-file", x],
    "chain issue-edge-ca --ca-cert": lambda c, x, o: _issue(c, o, cert=x),
    "chain issue-edge-ca --ca-key": lambda c, x, o: _issue(c, o, key=x),
    "chain issue-edge-ca --ca-chain": lambda c, x, o: _issue(c, o, chain=x),
    "chain issue-edge-ca --ca-password-file": lambda c, x, o: _issue(c, o, pw=x),
    "chain import-signed --cert": lambda c, x, o: _import(c, o, cert=x),
    "chain import-signed --key": lambda c, x, o: _import(c, o, key=x),
    "chain import-signed --chain": lambda c, x, o: _import(c, o, chain=x),
    "chain import-signed --key-password-file": lambda c, x, o: _import(c, o, pw=x),
    "chain export-pfx --cert": lambda c, x, o: _pfx(c, o, cert=x),
    "chain export-pfx --key": lambda c, x, o: _pfx(c, o, key=x),
    "chain export-pfx --chain": lambda c, x, o: _pfx(c, o, chain=x),
    "chain export-pfx --password-file": lambda c, x, o: _pfx(c, o, pw=x),
    "chain export-pfx --key-password-file": lambda c, x, o: _pfx(c, o, keypw=x),
    "config diff --current": lambda c, x, o: [*_DIFF, "--current", x],
    "config diff --template": lambda c, x, o: [*_DIFF, "--current", "-", "--template", x],
    "config diff --est-password-file": lambda c, x, o: [
        "config", "diff", "--iotedge", "1.5", "--current", "-", "--edge-ca-method", "est",
        "--est-url", "https://est.example.org/.well-known/est", "--est-username", "u",
        "--est-password-file", x],
    "config migrate CONFIG_YAML": lambda c, x, o: ["config", "migrate", x],
    "plan --current": lambda c, x, o: _plan(c, current=x),
    "plan --cert-file": lambda c, x, o: _plan(c, cert=x),
    "plan --key-file": lambda c, x, o: _plan(c, key=x),
    "plan --bundle-file": lambda c, x, o: _plan(c, bundle=x),
    "plan --template": lambda c, x, o: _plan(c, template=x),
    "export-bundle --current": lambda c, x, o: _export(c, o, current=x),
    "export-bundle --edge-ca-cert": lambda c, x, o: _export(c, o, cert=x),
    "export-bundle --edge-ca-key": lambda c, x, o: _export(c, o, key=x),
    "export-bundle --trust-bundle": lambda c, x, o: _export(c, o, bundle=x),
    "export-bundle --template": lambda c, x, o: _export(c, o, template=x),
}

# Each case meets one kind (in turn); two cases meet all four.
PARAMS = [(name, KINDS[i % len(KINDS)]) for i, name in enumerate(CASES)]
PARAMS += [(name, kind) for name in ("chain check --key", "config diff --current")
           for kind in KINDS if (name, kind) not in PARAMS]


@pytest.mark.parametrize(("case", "kind"), PARAMS, ids=[f"{c} {k}" for c, k in PARAMS])
def test_not_a_regular_file_is_refused_at_once(case: str, kind: str, chain: ChainFiles,
                                               not_a_file: dict[str, Path],
                                               tmp_path: Path) -> None:
    hostile = not_a_file[kind]
    out = tmp_path / "out"
    result = run(*CASES[case](chain, hostile, out), timeout=30)
    assert result.code == 2, (result.out, result.err)
    assert f"edgecert: error: {hostile}: " in result.err
    assert "not a regular file" in result.err
    assert "hint: " in result.err
    assert not out.exists()  # nothing written


def test_inputs_are_capped_by_what_is_read_not_by_their_size(tmp_path: Path) -> None:
    # /proc files report st_size 0 but have content: the cap still holds.
    proc_file = Path("/proc/self/maps")
    assert proc_file.stat().st_size == 0
    with pytest.raises(UnreadableFileError, match="larger than 16 bytes") as err:
        read_input(proc_file, 16, "the key file")
    assert err.value.where == str(proc_file)
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * 16)
    assert read_input(exact, 16, "the key file") == b"x" * 16


def test_oversized_config_and_certificate_files_are_named_with_their_cap(
        tmp_path: Path, chain: ChainFiles) -> None:
    big_config = tmp_path / "config.toml"
    big_config.write_bytes(b"# padding\n" * (MIB // 10 + 1))
    result = run(*_DIFF, "--current", big_config, timeout=30)
    assert result.code == 2
    assert f"{big_config}: the current config is larger than 1 MiB" in result.err

    sparse = tmp_path / "huge.pem"
    with sparse.open("wb") as fh:
        fh.truncate(11 * MIB)  # no disk used; 11 MiB of zeros when read
    result = run(*_check(chain, cert=sparse), timeout=30)
    assert result.code == 2
    assert f"{sparse}: the edge CA file is larger than 10 MiB" in result.err


def test_a_fifo_with_a_writer_that_never_stops_is_still_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "endless.toml"
    os.mkfifo(fifo)
    # A writer holds the FIFO open; a blocking read would wait (or read forever).
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        result = run(*_DIFF, "--current", fifo, timeout=30)
    finally:
        os.close(fd)
    assert result.code == 2
    assert "named pipe (FIFO), not a regular file" in result.err
