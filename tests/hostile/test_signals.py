"""Ctrl-C, SIGTERM and a closed standard output: calm at any moment, and truthful.

Exit codes: 130 after Ctrl-C (SIGINT), 143 after SIGTERM; a closed stdout is not an error.
Signals go to the whole process group, as a terminal's Ctrl-C does.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hostile_support import EDGECERT, PROVISIONED, TIMEOUT, Result, assert_calm

from core.chain import ChainFiles


def _start(argv: list[str | Path], *, stdout: int = subprocess.PIPE,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(EDGECERT), *(str(a) for a in argv)], stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)


def _finish(proc: subprocess.Popen[bytes]) -> Result:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("edgecert did not end after the signal")
    result = Result(proc.returncode, out or b"", err)
    assert_calm(result)
    return result


def _wait_for_import(proc: subprocess.Popen[bytes], module: str) -> bytes:
    """Read ``-X importtime`` lines until ``module`` has been imported; return what was read."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            pytest.fail(f"edgecert ended before importing {module}: {seen[-500:]!r}")
        seen += line
        if re.search(rb"\|\s+" + re.escape(module.encode()) + rb"$", line.rstrip()):
            return seen
    pytest.fail(f"{module} was not imported in time")


def _demo(out: Path, key_type: str = "rsa-4096") -> list[str | Path]:
    return ["chain", "demo", "--out", out, "--name", "gw", "--key-type", key_type]


@pytest.mark.parametrize("module", ["core.errors", "core.cli", "cryptography"])
def test_ctrl_c_while_python_is_still_importing(module: str, tmp_path: Path) -> None:
    out = tmp_path / "chain"
    proc = _start(_demo(out), env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    _wait_for_import(proc, module)
    os.killpg(proc.pid, signal.SIGINT)
    result = _finish(proc)
    assert result.code == 130, result.err[-800:]
    assert "edgecert: interrupted (Ctrl-C) while starting; nothing was done" in result.err
    assert not out.exists()


@pytest.mark.parametrize(("sig", "code", "words"), [
    (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
])
def test_a_signal_during_the_work_leaves_nothing(sig: signal.Signals, code: int, words: str,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "chain"
    proc = _start(_demo(out), env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    _wait_for_import(proc, "core.bundle")  # imported last, by the last command module
    time.sleep(0.2)  # three RSA-4096 keys take far longer than this
    os.killpg(proc.pid, sig)
    result = _finish(proc)
    assert result.code == code, result.err[-800:]
    assert f"edgecert: {words} before the command finished" in result.err
    assert list(tmp_path.iterdir()) == []  # no chain, no staging folder


def _full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is already full: the first write to it blocks."""
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(write_end, fcntl.F_GETFL)
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(write_end, b"x" * 65536)
    except BlockingIOError:
        pass
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags)
    return read_end, write_end


def test_ctrl_c_after_the_work_says_it_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "chain"
    read_end, write_end = _full_pipe()
    try:
        proc = _start(_demo(out, "ec-p256"), stdout=write_end)
        os.close(write_end)
        deadline = time.monotonic() + TIMEOUT
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.exists(), "the chain was not written"
        time.sleep(0.3)  # the summary is now stuck on the full pipe
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGINT)
        result = _finish(proc)  # must end although nobody reads the pipe
    finally:
        os.close(read_end)
    assert result.code == 130
    assert ("edgecert: interrupted (Ctrl-C) after the command had finished: its work is "
            "complete") in result.err
    assert (out / "certs" / "iot-edge-device-ca-gw-full-chain.cert.pem").is_file()


def test_a_closed_stdout_ends_quietly_and_the_work_is_done(tmp_path: Path,
                                                             chain: ChainFiles) -> None:
    new = tmp_path / "config.toml"
    for argv in (["chain", "inspect", chain.edge_ca_full_chain, chain.trust_bundle],
                 ["config", "diff", "--iotedge", "1.5", "--current", PROVISIONED,
                  "--quickstart-days", "30", "--output", new]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # like `| head -0`: the reader is gone before the first line
        try:
            proc = _start(argv, stdout=write_end)
        finally:
            os.close(write_end)
        result = _finish(proc)
        assert "BrokenPipe" not in result.err and "Broken pipe" not in result.err
        assert result.code == 0, result.err
    assert new.is_file()  # the work went on after the reader had gone


def test_head_1_on_a_real_pipeline(chain: ChainFiles) -> None:
    proc = subprocess.run(
        ["sh", "-c", '"$0" chain inspect "$1" "$2" | head -1', str(EDGECERT),
         str(chain.edge_ca_full_chain), str(chain.trust_bundle)],
        capture_output=True, timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0
    assert proc.stdout.decode().startswith("== ")
    assert proc.stderr == b""


def test_main_called_in_process_reports_an_interrupt_and_restores_its_handlers(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import core.cli.chain as chain_cli
    from core.cli import main

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(chain_cli, "_cmd_inspect", interrupted)
    code = main(["chain", "inspect", "/nonexistent"])
    err = capsys.readouterr().err
    assert code == 130
    assert "edgecert: interrupted (Ctrl-C) before the command finished" in err
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
