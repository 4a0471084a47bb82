"""EflowTarget through the strict PowerShell stand-in; address parsing; SSH fallback choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploytest_support import Sandbox, make_sandbox, sandbox_plan
from eflow_standin import FIXTURES, PowerShellStandIn

from core.deploy import deploy
from core.errors import ConnectError, RemoteCommandError
from core.targets.eflow import EflowTarget, connect_eflow, parse_vm_address, ps_quote
from core.targets.local import LocalTarget


@pytest.fixture
def standin(tmp_path: Path) -> PowerShellStandIn:
    host = tmp_path / "host"
    host.mkdir()
    return PowerShellStandIn(vm=LocalTarget(), host_dir=host, vm_user="daemon",
                             vm_group="daemon")


def eflow(standin: PowerShellStandIn) -> EflowTarget:
    return EflowTarget(runner=standin, host_tmp=standin.host_dir,
                       windows_path=standin.windows_path)


def test_vm_address_is_the_last_ipv4_line() -> None:
    assert parse_vm_address((FIXTURES / "get-eflowvmaddr.txt").read_text()) == "172.31.24.105"
    with pytest.raises(ConnectError):
        parse_vm_address(" - Virtual machine MAC: 00:15:5d:6f:da:78\r\n00:15:5d:6f:da:78\r\n")


def test_address_through_the_cmdlet(standin: PowerShellStandIn) -> None:
    assert eflow(standin).address() == "172.31.24.105"
    assert standin.scripts[-1].strip().endswith("Get-EflowVmAddr")


def test_ps_quote_never_expands() -> None:
    assert ps_quote("a'b $x") == "'a''b $x'"
    with pytest.raises(Exception, match="line breaks"):
        ps_quote("a\nb")


def test_run_separates_stdout_stderr_and_status(standin: PowerShellStandIn) -> None:
    t = eflow(standin)
    res = t.run(["sh", "-c", "printf 'out\\n\\n'; echo err >&2; exit 3"], check=False)
    assert (res.exit_status, res.stdout, res.stderr.strip()) == (3, "out\n\n", "err")
    with pytest.raises(RemoteCommandError):
        t.run(["false"])
    res = t.run(["cat"], stdin=b"it's \x00 binary\n")
    assert res.stdout == "it's \x00 binary\n"
    quoted = t.run(["echo", "$HOME; rm -rf /nonexistent 'x'"])
    assert quoted.stdout == "$HOME; rm -rf /nonexistent 'x'\n"


def test_put_pushes_a_plain_windows_path_then_chmods(standin: PowerShellStandIn,
                                                     tmp_path: Path) -> None:
    t = eflow(standin)
    stage = tmp_path / "vmstage"
    stage.mkdir(mode=0o700)
    t.put(b"secret", f"{stage}/k", mode=0o600)
    assert (stage / "k").read_bytes() == b"secret"
    assert oct((stage / "k").stat().st_mode & 0o777) == oct(0o600)
    push = [s for s in standin.scripts if "Copy-EflowVmFile" in s][-1]
    assert "-fromFile 'C:\\edgecert-host\\push-" in push and push.rstrip().endswith("-pushFile")
    assert list(standin.host_dir.iterdir()) == []  # host temp file removed


def test_standin_is_strict(standin: PowerShellStandIn, tmp_path: Path) -> None:
    (standin.host_dir / "f").write_bytes(b"x")
    head = "$ErrorActionPreference = 'Stop'\nImport-Module AzureEFLOW\n"
    uri = standin(head + f"Copy-EflowVmFile -fromFile 'file:///C:/edgecert-host/f' -toFile "
                         f"'{tmp_path}/f' -pushFile")
    assert uri.exit_status == 1 and "Could not resolve hostname file" in uri.stderr
    nopush = standin(head + f"Copy-EflowVmFile -fromFile 'C:\\edgecert-host\\f' -toFile "
                            f"'{tmp_path}/f'")
    assert nopush.exit_status == 1
    interactive = standin(head + "Invoke-EflowVmCommand -command 'sudo vi /etc/aziot/config.toml'")
    assert interactive.exit_status == 1 and "interactive" in interactive.stderr
    expand = standin(head + 'Invoke-EflowVmCommand -command "echo $env:USERNAME"')
    assert expand.exit_status == 1
    failing = standin(head + "Invoke-EflowVmCommand -command 'exit 4'")
    assert failing.exit_status == 1
    assert standin(head + "Invoke-EflowVmCommand -command 'exit 4' -ignoreError").exit_status == 0
    assert standin("Invoke-EflowVmCommand -command 'true'").exit_status == 1  # no module import
    assert not (tmp_path / "f").exists()


def test_deploy_through_eflow_cmdlets_matches_a_direct_deploy(standin: PowerShellStandIn) -> None:
    it = make_sandbox()
    sb = next(it)
    try:
        deploy(sandbox_plan(sb), LocalTarget(), backup_root=str(sb.backups))
        expected = sb.snapshot()
    finally:
        it.close()
    it = make_sandbox()
    sb2: Sandbox = next(it)
    try:
        rep = deploy(sandbox_plan(sb2), eflow(standin), backup_root=str(sb2.backups))
        assert rep.outcome == "deployed"
        assert sb2.snapshot() == expected
        # the staged files went in one archive on the command's stdin, never as files of
        # iotedge-user in the VM's /tmp
        assert not any("Copy-EflowVmFile" in s for s in standin.scripts)
    finally:
        it.close()


def test_connect_prefers_cmdlets_then_falls_back_to_ssh(standin: PowerShellStandIn,
                                                        tmp_path: Path) -> None:
    first = connect_eflow(runner=standin)
    assert isinstance(first, EflowTarget)
    first.close()
    standin.module_installed = False
    with pytest.raises(ConnectError, match="neither"):
        connect_eflow(runner=standin, id_rsa=tmp_path / "missing_id_rsa")
    key = tmp_path / "id_rsa"
    key.write_text("key")
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_connect(host: str, **kw: Any) -> Any:
        calls.append((host, kw))
        return "ssh-target"

    got = connect_eflow(runner=standin, host="172.31.24.105", id_rsa=key,
                        ssh_connect=fake_connect, port=22)
    assert got == "ssh-target"
    assert calls == [("172.31.24.105", {"user": "iotedge-user", "key_file": key, "port": 22})]
