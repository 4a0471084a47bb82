"""STAND-IN for Windows PowerShell with the AzureEFLOW module (it cannot run on this machine).

Strict on purpose: it accepts only what the real cmdlets accept and fails the way the docs
say they fail, so EflowTarget cannot pass with an invocation the real host would reject:

- every script must ``Import-Module AzureEFLOW`` after ``$ErrorActionPreference = 'Stop'``
  (the module check ``Get-Module -ListAvailable`` excepted) and then call exactly ONE cmdlet;
- arguments must be single-quoted literals (no ``$`` expansion, no double quotes);
- ``Copy-EflowVmFile`` needs ``-fromFile`` (a plain Windows path ``C:\\…``; a ``file:///``
  URI fails with the recorded "Could not resolve hostname file"), ``-toFile`` (an absolute
  VM path in an existing directory) and ``-pushFile`` (without it the real cmdlet copies the
  other way); the pushed file ends up owned by iotedge-user, as in EFLOW;
- ``Invoke-EflowVmCommand`` refuses interactive programs (the cmdlet "only works for commands
  that return a finite output") and, without ``-ignoreError``, fails on a non-zero exit;
- ``Get-EflowVmAddr`` prints the recorded docs output.

The "VM" behind it is any Target (this computer in a sandbox, or the loopback sshd device).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from core.targets.base import Target
from core.targets.eflow import PsResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eflow"
HOST_DRIVE = PureWindowsPath(r"C:\edgecert-host")
_AT_COMMAND = r"(^|[;&|{(]\s*|\bsudo\s+(-\w+\s+)*)"
# a bare shell waits for a terminal, unless it reads its program from a pipe
INTERACTIVE = re.compile(
    _AT_COMMAND + r"(vi|vim|nano|less|more|top|htop|passwd|ssh|su)(\s|$)"
    r"|(^|[;&{(]\s*|\bsudo\s+(-\w+\s+)*)(bash|sh)\s*($|[;&|)}])"
)


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(line):
        c = line[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, buf = i + 1, []
            while True:
                if j >= len(line):
                    raise ValueError("unterminated string")
                if line[j] == "'":
                    if line[j + 1:j + 2] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(line[j])
                j += 1
            out.append("\0" + "".join(buf))  # mark literals
            i = j + 1
        elif c in "\"$`":
            raise ValueError(f"expandable syntax {c!r} is not allowed here")
        else:
            j = i
            while j < len(line) and not line[j].isspace():
                j += 1
            out.append(line[i:j])
            i = j
    return out


@dataclass
class PowerShellStandIn:
    """Callable like ``core.targets.eflow.run_powershell``; records every script it ran."""

    vm: Target
    host_dir: Path
    vm_user: str = "iotedge-user"
    vm_group: str = "iotedge-user"
    module_installed: bool = True
    scripts: list[str] = field(default_factory=list)

    def windows_path(self, local: Path) -> str:
        return str(HOST_DRIVE / local.relative_to(self.host_dir))

    def __call__(self, script: str, *, timeout: float | None = None) -> PsResult:
        self.scripts.append(script)
        lines = [ln.strip() for ln in script.strip().splitlines() if ln.strip()]
        module_check = "if (Get-Module -ListAvailable -Name AzureEFLOW)"
        if len(lines) == 1 and lines[0].startswith(module_check):
            return PsResult(0, "yes\r\n" if self.module_installed else "no\r\n", "")
        if not self.module_installed:
            return PsResult(1, "", "Import-Module : The specified module 'AzureEFLOW' was not "
                                   "loaded because no valid module file was found")
        if lines[:2] != ["$ErrorActionPreference = 'Stop'", "Import-Module AzureEFLOW"]:
            return PsResult(1, "", "stand-in: script must set ErrorActionPreference and import "
                                   "AzureEFLOW first")
        if len(lines) != 3:
            return PsResult(1, "", "stand-in: exactly one cmdlet per script")
        try:
            tokens = _tokens(lines[2])
        except ValueError as exc:
            return PsResult(1, "", f"stand-in: {exc}")
        cmdlet, args = tokens[0], tokens[1:]
        params = self._params(args)
        if params is None:
            return PsResult(1, "", f"stand-in: malformed parameters {args!r}")
        name = cmdlet.lower()
        if name == "get-eflowvmaddr" and not params:
            return PsResult(0, (FIXTURES / "get-eflowvmaddr.txt").read_text(), "")
        if name == "copy-eflowvmfile":
            return self._copy(params)
        if name == "invoke-eflowvmcommand":
            return self._invoke(params)
        return PsResult(1, "", f"{cmdlet} : The term '{cmdlet}' is not recognized")

    @staticmethod
    def _params(args: list[str]) -> dict[str, str | bool] | None:
        out: dict[str, str | bool] = {}
        i = 0
        while i < len(args):
            a = args[i]
            if not a.startswith("-") or a.startswith("\0"):
                return None
            key = a[1:].lower()
            if i + 1 < len(args) and args[i + 1].startswith("\0"):
                out[key] = args[i + 1][1:]
                i += 2
            else:
                out[key] = True
                i += 1
        return out

    def _copy(self, p: dict[str, str | bool]) -> PsResult:
        if set(p) - {"fromfile", "tofile", "pushfile"}:
            return PsResult(1, "", f"Copy-EflowVmFile : unknown parameter {sorted(p)}")
        src, dst = p.get("fromfile"), p.get("tofile")
        if not isinstance(src, str) or not isinstance(dst, str):
            return PsResult(1, "", "Copy-EflowVmFile : -fromFile and -toFile are mandatory")
        if p.get("pushfile") is not True:
            return PsResult(1, "", "Copy-EflowVmFile : stand-in: without -pushFile the cmdlet "
                                   "copies from the VM to the host")
        if src.lower().startswith("file:"):
            return PsResult(1, "", (FIXTURES / "copy-eflowvmfile-uri-error.txt").read_text())
        win = PureWindowsPath(src)
        if not re.match(r"^[A-Za-z]:\\", src) or not win.is_relative_to(HOST_DRIVE):
            return PsResult(1, "", f"Copy-EflowVmFile : cannot find path '{src}'")
        local = self.host_dir / win.relative_to(HOST_DRIVE).as_posix()
        if not local.is_file():
            return PsResult(1, "", f"Copy-EflowVmFile : cannot find path '{src}'")
        if not dst.startswith("/"):
            return PsResult(1, "", f"Copy-EflowVmFile : stand-in: {dst!r} is not a VM path")
        parent = dst.rsplit("/", 1)[0] or "/"
        if not self.vm.run(["test", "-d", parent], check=False).ok:
            return PsResult(1, "", f"scp: {dst}: No such file or directory")
        self.vm.put(local.read_bytes(), dst, mode=0o644)
        self.vm.run(["chown", f"{self.vm_user}:{self.vm_group}", "--", dst], sudo=True)
        return PsResult(0, "", "")

    def _invoke(self, p: dict[str, str | bool]) -> PsResult:
        if set(p) - {"command", "ignoreerror"}:
            return PsResult(1, "", f"Invoke-EflowVmCommand : unknown parameter {sorted(p)}")
        cmd = p.get("command")
        if not isinstance(cmd, str) or not cmd.strip():
            return PsResult(1, "", "Invoke-EflowVmCommand : -command is mandatory")
        if INTERACTIVE.search(cmd):
            return PsResult(1, "", "Invoke-EflowVmCommand : stand-in: interactive command "
                                   "refused (only commands with a finite output work)")
        res = self.vm.run(["sh", "-c", cmd], check=False)
        text = res.stdout.replace("\n", "\r\n")
        if not res.ok and p.get("ignoreerror") is not True:
            return PsResult(1, text, f"Invoke-EflowVmCommand : command failed ({res.exit_status})")
        return PsResult(0, text, "")
