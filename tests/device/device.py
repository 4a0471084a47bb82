"""The loopback test device: a real OpenSSH sshd in a private mount (and UTS) namespace.

Inside the namespace ``/etc``, ``/var``, ``/home``, ``/usr/local/bin`` and ``/tmp`` are bind
mounts of folders under the session's device directory, and ``/run`` is a fresh tmpfs, so
users, groups, passwords, sudoers, ``/etc/aziot``, ``/var/lib/aziot``, ``/etc/iotedge`` … are
the device's own. The test machine's files are never modified: the namespace is created with
``--propagation private`` and every mount happens inside it.

See ``fixtures.py`` for the fixture API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from rtcfg import missing_reason, oracle_path

from core.targets.ssh import SshTarget

from .rootfs import (
    ADMINS,
    GROUPS,
    HOSTNAME,
    PW_ADMIN_PASSWORD,
    SERVICE_USERS,
    Account,
    keygen,
    prepare_root,
)

__all__ = ["PW_ADMIN_PASSWORD", "Account", "Device", "DeviceUnavailable", "start_device"]

BOUND = ("/etc", "/var", "/home", "/usr/local/bin", "/tmp")
"""Device paths whose content lives under ``Device.root`` (``root / path.lstrip('/')``)."""

SETUP = r"""
set -eu
R=$1
hostname "$2"
mount --bind "$R/etc" /etc
mount --bind "$R/var" /var
mount --bind "$R/home" /home
mount --bind "$R/usr/local/bin" /usr/local/bin
mount -t tmpfs -o mode=0755,size=16m tmpfs /run
mkdir -p /run/sshd /run/lock /run/sudo
chmod 0755 /run/sshd
mount --bind "$R/tmp" /tmp
echo ready
exec sleep 2147483647
"""


HOLD_WRAPPER = r"""#!/bin/sh
# test wrapper (tests/device/device.py Device.hold): hold this @TOOL@ call while the knob exists
k=/etc/iotedge-standin/hold-@TOOL@
if [ -f "$k" ]; then
  m=$(cat "$k")
  case " $* " in
    *"$m"*)
      : > /etc/iotedge-standin/reached-@TOOL@
      n=0
      while [ -f "$k" ] && [ $n -lt 6000 ]; do sleep 0.02; n=$((n + 1)); done ;;
  esac
fi
exec @REAL@ "$@"
"""


class DeviceUnavailable(RuntimeError):
    """A prerequisite (root, unshare, nsenter, sshd, sudo, openssl) is missing."""


def missing_prerequisites() -> list[str]:
    """What this machine lacks to run the device (empty when all is there)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the device uses mount namespaces)")
    for tool in ("unshare", "nsenter", "ssh-keygen", "openssl", "sudo"):
        if shutil.which(tool) is None:
            missing.append(tool)
    for path in ("/usr/sbin/sshd", "/usr/bin/python3"):
        if not os.access(path, os.X_OK):
            missing.append(path)
    if oracle_path() is None:  # the stand-in's `config apply` runs the runtime's parser
        missing.append(missing_reason())
    return missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Device:
    """One running device (namespace holder + sshd). Use ``start_device``; ``stop()`` at end."""

    host = "127.0.0.1"
    hostname = HOSTNAME

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "root"
        self.client = base / "client"
        self.port = _free_port()
        self.holder: subprocess.Popen[bytes] | None = None
        self.sshd: subprocess.Popen[bytes] | None = None
        self.sshd_log = base / "sshd.log"
        self.accounts: dict[str, Account] = {}
        self._extra_mounts: list[str] = []
        self._wrappers: set[str] = set()

    # ---- paths and accounts -------------------------------------------------------------

    def local(self, device_path: str) -> Path:
        """The test machine's path of a device path under one of ``BOUND``."""
        if not any(device_path == b or device_path.startswith(b + "/") for b in BOUND):
            raise ValueError(f"{device_path} is not under a bound folder")
        return self.root / device_path.lstrip("/")

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file holding the device's current host key."""
        return self.base / "known_hosts"

    @property
    def host_pub(self) -> Path:
        return self.root / "etc/ssh/ssh_host_ed25519_key.pub"

    def fingerprint(self) -> str:
        """The current host key's SHA256 fingerprint, as ``ssh-keygen -lf`` prints it."""
        return subprocess.check_output(["ssh-keygen", "-lf", str(self.host_pub)],
                                       text=True).split()[1]

    def uid(self, name: str) -> int:
        if name in SERVICE_USERS:
            return SERVICE_USERS[name][0]
        if name in ADMINS:
            return ADMINS[name][0]
        if name == "root":
            return 0
        raise KeyError(name)

    def gid(self, name: str) -> int:
        return 0 if name == "root" else GROUPS[name]

    def connect(self, user: str = "edgeadmin", **kwargs: object) -> SshTarget:
        """An ``SshTarget`` logged in as ``user`` with its key (and, for ``pwadmin``, its sudo
        password), trusting the current ``known_hosts``. ``kwargs`` override any argument."""
        account = self.accounts[user]
        args: dict[str, object] = {
            "port": self.port, "user": user, "key_file": account.key, "use_agent": False,
            "sudo_password": account.password, "known_hosts": [self.known_hosts],
            "timeout": 10}
        args.update(kwargs)
        return SshTarget.connect(self.host, **args)  # type: ignore[arg-type]

    # ---- running things inside --------------------------------------------------------------

    def sh(self, script: str, *args: str, input: bytes | None = None, check: bool = True,
           user: str | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run ``sh -c script args…`` inside the device, as root (or ``user`` via setpriv).

        Raises:
            AssertionError: ``check`` and a non-zero exit status (with the output).
        """
        assert self.holder is not None, "device not started"
        cmd = ["nsenter", "-t", str(self.holder.pid), "-m", "-u", "--"]
        if user is not None:
            cmd += ["setpriv", f"--reuid={self.uid(user)}", f"--regid={self._pgid(user)}",
                    "--init-groups", "--"]
        cmd += ["sh", "-c", script, "sh", *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"device command failed ({proc.returncode}): {script}\n"
                                 f"{proc.stdout.decode()}{proc.stderr.decode()}")
        return proc

    def _pgid(self, user: str) -> int:
        if user in SERVICE_USERS:
            return GROUPS[SERVICE_USERS[user][1]]
        return GROUPS.get(user, 0)

    def read(self, path: str) -> bytes:
        """A device file's bytes (read inside the namespace as root)."""
        return self.sh('cat -- "$1"', path).stdout

    def exists(self, path: str) -> bool:
        return self.sh('test -e "$1" || test -L "$1"', path, check=False).returncode == 0

    def stat(self, path: str) -> tuple[int, str, str]:
        """``(mode bits, owner name, group name)`` of a device path."""
        out = self.sh('stat -c "%a %U %G" -- "$1"', path).stdout.decode().split()
        return int(out[0], 8), out[1], out[2]

    def write(self, path: str, data: bytes, *, mode: int = 0o644, owner: str = "root",
              group: str | None = None) -> None:
        """Create or replace a device file with owner and mode (parents created 0755 root)."""
        self.sh('mkdir -p "$(dirname "$1")" && cat > "$1" && chown "$2:$3" "$1" && '
                'chmod "$4" "$1"', path, owner, group or owner, f"{mode:o}", input=data)

    def snapshot(self, *roots: str) -> dict[str, str]:
        """``path -> 'type mode owner:group sha256'`` of everything under ``roots``."""
        script = (
            'for r; do [ -e "$r" ] || continue; find "$r" | sort | while read -r p; do '
            'm=$(stat -c "%F %a %U:%G" -- "$p"); '
            'if [ -f "$p" ]; then h=$(sha256sum < "$p" | cut -d" " -f1); else h=-; fi; '
            'printf "%s\\t%s %s\\n" "$p" "$m" "$h"; done; done')
        out: dict[str, str] = {}
        for line in self.sh(script, *roots).stdout.decode().splitlines():
            path, meta = line.split("\t", 1)
            out[path] = meta
        return out

    # ---- scenarios --------------------------------------------------------------------------

    def mount_small_fs(self, path: str, size_kib: int = 256) -> None:
        """Mount a tmpfs of ``size_kib`` KiB at ``path`` (created, 0777) to provoke disk-full.

        Unmounted by ``reset()``.
        """
        self.sh('mkdir -p "$1" && mount -t tmpfs -o "size=$2k,mode=1777" tmpfs "$1"',
                path, str(size_kib))
        self._extra_mounts.append(path)

    def unmount(self, path: str) -> None:
        self.sh('umount -l "$1"', path, check=False)
        with suppress(ValueError):
            self._extra_mounts.remove(path)

    def session_pids(self, local_port: int | None = None) -> list[int]:
        """sshd processes serving connections, or only the one from client port ``local_port``.

        The connection's privileged monitor process owns the TCP socket; killing it drops the
        connection at once (what a pulled cable or a reboot looks like to the client).
        """
        assert self.sshd is not None
        if local_port is None:
            return [p for p in _children(self.sshd.pid)]
        out = subprocess.run(["ss", "-Htnp", "state", "established", "(", "sport", "=",
                              f":{self.port}", "and", "dport", "=", f":{local_port}", ")"],
                             capture_output=True, text=True, check=True).stdout
        pids = sorted({int(x.split("=")[1]) for x in _pid_fields(out)})
        return pids

    def kill_connection(self, local_port: int | None = None) -> list[int]:
        """SIGKILL the sshd session process(es) of one connection (by the client's local port,
        see ``SshTarget.local_port``) or of every connection. Returns the pids killed."""
        pids = self.session_pids(local_port)
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def rotate_host_key(self) -> str:
        """Give the device a new host key and restart sshd; returns the new fingerprint.

        ``known_hosts`` is NOT updated, so a connection with it sees a changed key.
        """
        key = self.root / "etc/ssh/ssh_host_ed25519_key"
        key.unlink()
        self.host_pub.unlink()
        keygen(key)
        self._restart_sshd()
        return self.fingerprint()

    def restore_host_key(self) -> None:
        """Back to the session's original host key (and sshd restarted) if it was rotated."""
        saved = self.base / "host_key_original"
        key = self.root / "etc/ssh/ssh_host_ed25519_key"
        if key.read_bytes() != saved.read_bytes():
            shutil.copy(saved, key)
            shutil.copy(self.base / "host_key_original.pub", self.host_pub)
            key.chmod(0o600)
            self._restart_sshd()

    # ---- stand-in runtime knobs ---------------------------------------------------------------

    def set_version(self, version: str) -> None:
        """What the stand-in ``iotedge version`` reports (e.g. ``1.5.21``, ``1.1.15``)."""
        self.write("/etc/iotedge-standin/version", f"{version}\n".encode())

    def fail_next_apply(self, message: str = "stand-in: forced failure") -> None:
        """Make ``iotedge config apply`` (and the 1.1 restart) fail, until ``reset()`` or
        ``fail_apply_off()``: each run prints ``message`` and exits 1 without writing."""
        self.write("/etc/iotedge-standin/fail-apply", message.encode())

    def fail_apply_off(self) -> None:
        self.sh("rm -f /etc/iotedge-standin/fail-apply /etc/iotedge-standin/fail-apply-subject")

    def fail_apply_for(self, subject_text: str) -> None:
        """Make ``iotedge config apply`` (and the 1.1 restart) fail only for a config whose edge
        CA (1.1: device CA) subject contains ``subject_text``, so that re-applying an older
        config succeeds; until ``reset()`` or ``fail_apply_off()``."""
        self.write("/etc/iotedge-standin/fail-apply-subject", subject_text.encode())

    def add_edge_containers(self) -> None:
        """Edge containers exist: ``config apply`` then refuses a hostname change (the
        runtime's hostname guard) until ``reset()``."""
        self.write("/etc/iotedge-standin/edge-containers", b"")

    # ---- holding a step (fault injection) -------------------------------------------------

    HOLDABLE = ("tar", "flock", "install", "apply", "check")
    """Steps ``hold`` can stop: the device's ``tar`` (the upload being unpacked), ``flock``
    (the transaction taking its lock), ``install`` (a file being installed), and the stand-in
    runtime's ``apply`` and ``check``."""

    def hold(self, step: str, match: str = "") -> None:
        """Make the device stop at ``step`` until ``release(step)``: the program writes
        ``/etc/iotedge-standin/reached-STEP`` and waits (at most 120 s). For ``tar``, ``flock``
        and ``install`` a wrapper of that name goes into the device's ``/usr/local/bin`` (first
        on sudo's secure_path) and holds only the calls whose arguments contain ``match``."""
        if step not in self.HOLDABLE:
            raise ValueError(step)
        if step in ("tar", "flock", "install"):
            real = shutil.which(step, path="/usr/bin:/bin")
            assert real, f"{step} is missing on this machine"
            wrapper = HOLD_WRAPPER.replace("@TOOL@", step).replace("@REAL@", real)
            self.write(f"/usr/local/bin/{step}", wrapper.encode(), mode=0o755)
            self._wrappers.add(step)
        self.sh('rm -f "/etc/iotedge-standin/reached-$1"', step)
        self.write(f"/etc/iotedge-standin/hold-{step}", match.encode())

    def reached(self, step: str) -> bool:
        return self.exists(f"/etc/iotedge-standin/reached-{step}")

    def wait_reached(self, step: str, timeout: float = 60) -> None:
        """Wait until the device stopped at ``step`` (see ``hold``)."""
        deadline = time.monotonic() + timeout
        while not self.reached(step):
            if time.monotonic() > deadline:
                raise AssertionError(f"the device never reached {step}")
            time.sleep(0.02)

    def release(self, step: str) -> None:
        """Let a held step go on."""
        self.sh('rm -f "/etc/iotedge-standin/hold-$1"', step)

    def transactions(self, root: str = "/var/backups/edgecert") -> dict[str, list[str]]:
        """Every deploy transaction folder under ``root`` -> its journal states, in order."""
        out = self.sh('for t in "$1"/*/; do [ -d "$t" ] || continue; printf "%s\t" "$t"; '
                      'cut -f1 "$t/journal" 2>/dev/null | tr "\n" " "; echo; done', root,
                      check=False).stdout.decode()
        res: dict[str, list[str]] = {}
        for line in out.splitlines():
            path, _, states = line.partition("\t")
            res[path.rstrip("/")] = states.split()
        return res

    def wait_transactions_ended(self, timeout: float = 90) -> None:
        """Wait until no deploy transaction runs on the device (every journal ended)."""
        ends = {"deployed", "rolled-back", "rollback-failed", "refused"}
        deadline = time.monotonic() + timeout
        while True:
            running = [p for p, st in self.transactions().items() if not st or st[-1] not in ends]
            busy = bool(self._txn_pids())
            if not running and not busy:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"transactions still running: {running}")
            time.sleep(0.05)

    def _txn_pids(self) -> list[int]:
        """Running transaction processes of this device (from their folders' pid files)."""
        out = self.sh("cat /var/backups/edgecert/*/pid 2>/dev/null", check=False).stdout
        assert self.holder is not None
        ours = os.readlink(f"/proc/{self.holder.pid}/ns/mnt")
        pids = []
        for word in out.decode().split():
            if not word.isdigit():
                continue
            try:  # alive, a transaction, and inside this device's namespace
                cmd = Path(f"/proc/{word}/cmdline").read_bytes()
                if b"ec-txn" in cmd and os.readlink(f"/proc/{word}/ns/mnt") == ours:
                    pids.append(int(word))
            except OSError:
                continue
        return pids

    def stage_folders(self, root: str = "/var/backups/edgecert") -> list[str]:
        """Staging folders on the device: in transaction folders, and /tmp's of old versions."""
        out = self.sh('ls -d "$1"/*/stage /tmp/edgecert-stage.* 2>/dev/null', root,
                      check=False).stdout.decode()
        return out.split()

    def events(self) -> list[dict[str, object]]:
        """What the stand-ins recorded (apply, restart, check …), oldest first."""
        path = "/etc/iotedge-standin/events.jsonl"
        if not self.exists(path):
            return []
        return [json.loads(line) for line in self.read(path).decode().splitlines() if line]

    # ---- lifecycle ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty device state between tests: IoT Edge folders, homes' files, stand-in state,
        extra mounts, original host key. Accounts, keys and sshd stay."""
        for path in list(self._extra_mounts):
            self.unmount(path)
        # stop what a test left running on the device (held steps, transactions), then clean
        self.sh("rm -f /etc/iotedge-standin/hold-*", check=False)
        for tool in sorted(self._wrappers):
            self.sh('rm -f "/usr/local/bin/$1"', tool, check=False)
        self._wrappers.clear()
        deadline = time.monotonic() + 10
        while self._txn_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self._txn_pids():  # this device's own transaction processes, by id
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.sh(
            "rm -rf /etc/aziot /var/aziot /var/lib/aziot /etc/iotedge /var/lib/iotedge "
            "/var/secrets /etc/iotedge-standin /var/backups/edgecert /tmp/* /tmp/.[!.]* "
            "2>/dev/null; mkdir -p /etc/iotedge-standin; "
            "for h in /home/*; do find \"$h\" -mindepth 1 -maxdepth 1 ! -name .ssh "
            "-exec rm -rf {} +; done", check=False)
        self.restore_host_key()

    def start(self) -> None:
        prepare_root(self)
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c",
             SETUP, "sh", str(self.root), HOSTNAME],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.holder.stdout is not None
        line = self.holder.stdout.readline()
        if line.strip() != b"ready":
            err = self.holder.stderr.read().decode() if self.holder.stderr else ""
            self.stop()
            raise DeviceUnavailable(f"device namespace setup failed: {line!r} {err}")
        self._start_sshd()

    def _start_sshd(self) -> None:
        assert self.holder is not None
        log = self.sshd_log.open("ab")
        self.sshd = subprocess.Popen(
            ["nsenter", "-t", str(self.holder.pid), "-m", "-u", "--", "/usr/sbin/sshd", "-D",
             "-e", "-f", "/etc/ssh/sshd_config"], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if self.sshd.poll() is not None or time.monotonic() > deadline:
                raise DeviceUnavailable("sshd did not start in the device: "
                                        + self.sshd_log.read_text()[-2000:])
            time.sleep(0.05)

    def _restart_sshd(self) -> None:
        if self.sshd is not None:
            self.sshd.terminate()
            self.sshd.wait(timeout=10)
        self._start_sshd()

    def stop(self) -> None:
        """Stop sshd (and its connections) and the namespace holder: only our own processes."""
        if self.sshd is not None and self.sshd.poll() is None:
            for pid in _children(self.sshd.pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for proc in (self.sshd, self.holder):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def popen(self, argv: list[str], *, user: str | None = None,
              env: dict[str, str] | None = None,
              **kwargs: object) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside the device (as root, or ``user`` via setpriv) without waiting:
        a program that runs there as it would on the device itself. ``env`` replaces the
        environment; ``kwargs`` go to ``Popen`` (stdin, stdout …). The caller waits or kills
        it by its pid (nsenter and setpriv exec, so the pid is the program's)."""
        assert self.holder is not None, "device not started"
        cmd = ["nsenter", "-t", str(self.holder.pid), "-m", "-u", "--"]
        if user is not None:
            cmd += ["setpriv", f"--reuid={self.uid(user)}", f"--regid={self._pgid(user)}",
                    "--init-groups", "--"]
        return subprocess.Popen([*cmd, *argv], env=env, **kwargs)  # type: ignore[call-overload]


def _children(pid: int) -> list[int]:
    out = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(stat_file.parent.name))
    return out


def _pid_fields(ss_output: str) -> Iterator[str]:
    for line in ss_output.splitlines():
        for part in line.replace(",", " ").replace(")", " ").split():
            if part.startswith("pid="):
                yield part


def start_device(base: Path) -> Device:
    """Create and start a device under ``base`` (an empty directory).

    Raises:
        DeviceUnavailable: A prerequisite is missing or the device did not come up.
    """
    missing = missing_prerequisites()
    if missing:
        raise DeviceUnavailable("the loopback device needs: " + ", ".join(missing))
    dev = Device(base)
    try:
        dev.start()
    except BaseException:
        dev.stop()
        raise
    return dev
