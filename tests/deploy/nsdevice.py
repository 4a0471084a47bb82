"""A loopback IoT Edge device for deploy tests: a real sshd in its own mount namespace.

Inside the namespace ``/etc`` is an overlay (so users, groups, passwords, sudoers and
``/etc/aziot`` are the device's own), ``/var`` and ``/usr/local/bin`` are fresh tmpfs, and the
``iotedge`` / ``systemctl`` commands are the strict STAND-INs in ``nsdevice_files``. The test
machine's own files are never touched. Users as on a real install: aziotks, aziotcs (also in
aziotks), aziotid, iotedge; plus ``edgeops`` (passwordless sudo), ``edgeadmin`` (sudo with a
password) and ``iotedge-user`` (EFLOW's user, passwordless sudo).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FILES = Path(__file__).resolve().parent / "nsdevice_files"
ADMIN_PASSWORD = "device-admin-pw-4711"

CONFIG_TOML = """hostname = "edgedev1"

[provisioning]
source = "manual"
connection_string = "HostName=hub.azure-devices.net;DeviceId=edgedev1;SharedAccessKey=c2VjcmV0a2V5"
"""
CONFIG_YAML = """provisioning:
  source: "manual"
  device_connection_string: "{}"

# certificates:
#   device_ca_cert: "<ADD URI TO DEVICE CA CERTIFICATE HERE>"
#   device_ca_pk: "<ADD URI TO DEVICE CA PRIVATE KEY HERE>"
#   trusted_ca_certs: "<ADD URI TO TRUSTED CA CERTIFICATES HERE>"

agent:
  name: "edgeAgent"
  type: "docker"

hostname: "edgedev1"
""".format("HostName=hub.azure-devices.net;DeviceId=edgedev1;SharedAccessKey=c2VjcmV0a2V5")

SETUP = r"""
set -eu
D=$1; V=$2
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$D/etc-up,workdir=$D/etc-work" /etc
mount -t tmpfs -o mode=0755 tmpfs /var
mkdir -p /var/tmp /var/log /var/lib /var/backups /var/home /var/empty
chmod 1777 /var/tmp
mount -t tmpfs -o mode=0755 tmpfs /usr/local/bin
cp "$D/bin/iotedge" "$D/bin/systemctl" /usr/local/bin/
chmod 755 /usr/local/bin/iotedge /usr/local/bin/systemctl
u() { useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$@"; }
groupadd -r aziotks; groupadd -r aziotcs; groupadd -r aziotid; groupadd -r iotedge
u -g aziotks aziotks
u -g aziotcs -G aziotks aziotcs
u -g aziotid -G aziotcs,aziotks aziotid
u -g iotedge -G aziotcs,aziotks,aziotid iotedge
for who in edgeops edgeadmin iotedge-user; do
  useradd -m -d "/var/home/$who" -s /bin/sh "$who"
  chmod 0750 "/var/home/$who"
done
printf 'edgeadmin:%s\n' "$ADMIN_PW" | chpasswd
for who in edgeops edgeadmin iotedge-user; do usermod -p '*' "$who" 2>/dev/null || :; done
printf 'edgeadmin:%s\n' "$ADMIN_PW" | chpasswd
usermod -U edgeops 2>/dev/null || :
cat > /etc/sudoers.d/edgecert-device <<EOS
edgeops ALL=(ALL) NOPASSWD: ALL
iotedge-user ALL=(ALL) NOPASSWD: ALL
edgeadmin ALL=(ALL) ALL
Defaults:edgeadmin !use_pty
Defaults:edgeops !use_pty
Defaults:iotedge-user !use_pty
EOS
chmod 0440 /etc/sudoers.d/edgecert-device
mkdir -p /etc/edgecert-standin && printf '%s\n' "$V" > /etc/edgecert-standin/version
case $V in
  1.1*)
    mkdir -p /etc/iotedge && cp "$D/config.yaml" /etc/iotedge/config.yaml
    chown iotedge:iotedge /etc/iotedge/config.yaml; chmod 0600 /etc/iotedge/config.yaml
    for s in certs cert_keys enc_keys; do
      install -d -m 0700 -o iotedge -g iotedge "/var/lib/iotedge/hsm/$s"
    done
    echo old > /var/lib/iotedge/hsm/certs/device_ca_alias.cert.pem
    echo old > /var/lib/iotedge/hsm/cert_keys/device_ca_alias.key.pem
    echo keep > /var/lib/iotedge/hsm/enc_keys/edgelet-master.enc.key ;;
  *)
    install -d -m 0755 /etc/aziot
    install -m 0600 "$D/config.toml" /etc/aziot/config.toml
    install -m 0600 "$D/config.toml" /etc/aziot/config.toml.edge.template
    install -d -m 0700 -o aziotcs -g aziotcs /var/lib/aziot/certd /var/lib/aziot/certd/certs
    install -d -m 0700 -o aziotks -g aziotks /var/lib/aziot/keyd /var/lib/aziot/keyd/keys
    echo quickstart > "/var/lib/aziot/certd/certs/$CA_CER"
    echo quickstart > "/var/lib/aziot/keyd/keys/$CA_KEY"
    echo keep > /var/lib/aziot/keyd/keys/aziot_identityd_master_id
    chown -R aziotcs:aziotcs /var/lib/aziot/certd; chown -R aziotks:aziotks /var/lib/aziot/keyd ;;
esac
echo ready
exec sleep 100000
"""


@dataclass
class NsDevice:
    version: str
    host: str
    port: int
    key: Path
    known_hosts: Path
    fingerprint: str
    holder_pid: int
    sshd: subprocess.Popen[bytes]

    def sh(self, script: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a root shell script inside the device (for setup and assertions)."""
        return subprocess.run(["nsenter", "-t", str(self.holder_pid), "-m", "--", "sh", "-c",
                               script, "sh", *args], capture_output=True, text=True, check=False)

    def read(self, path: str) -> bytes:
        res = subprocess.run(["nsenter", "-t", str(self.holder_pid), "-m", "--", "cat", path],
                             capture_output=True, check=True)
        return res.stdout

    def snapshot(self, *roots: str) -> dict[str, str]:
        """path -> 'type mode owner:group sha256' for everything under ``roots``."""
        script = ('for r; do [ -e "$r" ] || continue; find "$r" -printf "%p\\t%y %m %u:%g\\n"; '
                  'done | sort')
        out: dict[str, str] = {}
        for line in self.sh(script, *roots).stdout.splitlines():
            path, meta = line.split("\t")
            digest = ""
            if meta.startswith("f"):
                digest = self.sh('sha256sum < "$1"', path).stdout.split()[0]
            out[path] = f"{meta} {digest}".strip()
        return out

    def kill_sessions(self) -> int:
        """SIGKILL every per-connection sshd child (drops all connections)."""
        n = 0
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.sshd.pid:
                os.kill(int(stat_file.parent.name), signal.SIGKILL)
                n += 1
        return n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ns_device(version: str = "1.5") -> Iterator[NsDevice]:
    """Start the device for IoT Edge ``version``; stop it (its own two processes) afterwards."""
    from core.config.planning import store_file_name

    d = Path(tempfile.mkdtemp(prefix="edgecert-nsdev-"))
    d.chmod(0o755)
    for sub in ("etc-up", "etc-work", "bin"):
        (d / sub).mkdir()
    shutil.copy(FILES / "iotedge", d / "bin" / "iotedge")
    shutil.copy(FILES / "systemctl", d / "bin" / "systemctl")
    (d / "config.toml").write_text(CONFIG_TOML)
    (d / "config.yaml").write_text(CONFIG_YAML)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    env = {**os.environ, "ADMIN_PW": ADMIN_PASSWORD,
           "CA_CER": store_file_name("aziot-edged-ca", "cer"),
           "CA_KEY": store_file_name("aziot-edged-ca", "key")}
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               SETUP, "sh", str(d), version], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env)
    sshd: subprocess.Popen[bytes] | None = None
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if line.strip() != b"ready":
            err = holder.stderr.read().decode() if holder.stderr else ""
            raise RuntimeError(f"device setup failed: {line!r} {err}")
        port = _free_port()
        (d / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\n"
            f"AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nSubsystem sftp internal-sftp\nMaxSessions 50\nMaxStartups 50\n"
            "LogLevel ERROR\n")
        Path("/run/sshd").mkdir(exist_ok=True)
        sshd = subprocess.Popen(["nsenter", "-t", str(holder.pid), "-m", "--", "/usr/sbin/sshd",
                                 "-D", "-e", "-f", str(d / "sshd_config")],
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if sshd.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sshd did not start in the device") from None
                time.sleep(0.05)
        pub = (d / "host.pub").read_text().split()
        (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
        fp = subprocess.check_output(["ssh-keygen", "-lf", str(d / "host.pub")],
                                     text=True).split()[1]
        yield NsDevice(version, "127.0.0.1", port, d / "client", d / "known_hosts", fp,
                       holder.pid, sshd)
    finally:
        # nsenter execs sshd, so sshd.pid is sshd itself
        for proc in (sshd, holder):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(d, ignore_errors=True)
