"""The test device's own root folders: /etc (a copy of the machine's plus the accounts of an
IoT Edge install, admins with sudo, sshd config and host key), /var, /home, /usr/local/bin, /tmp.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rtcfg import oracle_path

if TYPE_CHECKING:
    from .device import Device

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "standin"
HOSTNAME = "edge-device-01"
PW_ADMIN_PASSWORD = "Pw-admin sudo 'secret' $(x)"
"""Login and sudo password of ``pwadmin`` (hostile characters on purpose)."""

# Accounts of a real install (facts §6.3) plus the admins the tests log in as.
GROUPS = {"aziotks": 9901, "aziotcs": 9902, "aziotid": 9903, "aziottpm": 9904, "iotedge": 9905,
          "docker": 9906, "edgeadmin": 9910, "pwadmin": 9911, "iotedge-user": 9912}
SERVICE_USERS = {  # name: (uid, primary group, supplementary groups)
    "aziotks": (9901, "aziotks", ()),
    "aziotcs": (9902, "aziotcs", ("aziotks",)),
    "aziotid": (9903, "aziotid", ("aziotcs", "aziotks", "aziottpm")),
    "aziottpm": (9904, "aziottpm", ()),
    "iotedge": (9905, "iotedge", ("aziotcs", "aziotks", "aziotid", "docker",
                                  "systemd-journal")),
}
ADMINS = {  # name: (uid, sudo rule)
    "edgeadmin": (9910, "NOPASSWD: ALL"),
    "pwadmin": (9911, "ALL"),
    "iotedge-user": (9912, "NOPASSWD: ALL"),  # EFLOW's user, passwordless sudo
}


@dataclass(frozen=True)
class Account:
    """A login on the device: user, private key file, password (if any)."""

    user: str
    key: Path
    password: str | None = None


def _crypt(password: str) -> str:
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, text=True,
                          capture_output=True, check=True).stdout.strip()


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
                   check=True)


def _lines(path: Path, lines: Sequence[str]) -> None:
    with path.open("a") as fh:
        for line in lines:
            fh.write(line + "\n")


def prepare_root(dev: Device) -> None:
    """Build the device's /etc (a copy of the machine's, plus accounts), /var, /home, …"""
    root = dev.root
    root.mkdir(parents=True)
    dev.base.chmod(0o755)
    dev.client.mkdir(mode=0o700)
    subprocess.run(["cp", "-a", "/etc", str(root / "etc")], check=True)
    etc = root / "etc"
    for sub in ("var/lib/sudo", "var/log", "var/backups", "var/cache", "var/spool", "var/mail",
                "home", "usr/local/bin", "tmp", "var/tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "var/run").symlink_to("/run")
    (root / "var/lock").symlink_to("/run/lock")
    for sub in ("tmp", "var/tmp"):
        (root / sub).chmod(0o1777)
    (root / "home").chmod(0o755)
    (etc / "hostname").write_text(HOSTNAME + "\n")
    _lines(etc / "hosts", [f"127.0.1.1 {HOSTNAME}"])

    # Accounts: groups, users, shadow (service users locked, admins with hashes).
    existing_groups = {ln.split(":")[0] for ln in (etc / "group").read_text().splitlines()}
    groups = dict(GROUPS)
    if "systemd-journal" not in existing_groups:
        groups["systemd-journal"] = 9907
    members: dict[str, list[str]] = {g: [] for g in groups}
    for user, (_uid, _pg, extra) in SERVICE_USERS.items():
        for g in extra:
            members.setdefault(g, []).append(user)
    group_lines = []
    for g, gid in groups.items():
        if g in existing_groups:
            continue
        group_lines.append(f"{g}:x:{gid}:{','.join(members.get(g, []))}")
    if "systemd-journal" in existing_groups:
        edited = []
        for ln in (etc / "group").read_text().splitlines():
            if ln.startswith("systemd-journal:"):
                ln += ("" if ln.endswith(":") else ",") + ",".join(members["systemd-journal"])
            edited.append(ln + "\n")
        (etc / "group").write_text("".join(edited))
    _lines(etc / "group", group_lines)
    if (etc / "gshadow").exists():
        _lines(etc / "gshadow", [f"{g}:!::" for g in groups if g not in existing_groups])
    passwd, shadow = [], []
    for user, (uid, pg, _extra) in SERVICE_USERS.items():
        passwd.append(f"{user}:x:{uid}:{GROUPS[pg]}::/nonexistent:/usr/sbin/nologin")
        shadow.append(f"{user}:!:19000:0:99999:7:::")
    existing_users = {ln.split(":")[0] for ln in (etc / "passwd").read_text().splitlines()}
    if "sshd" not in existing_users:
        passwd.append("sshd:x:9920:65534::/run/sshd:/usr/sbin/nologin")
        shadow.append("sshd:!:19000:0:99999:7:::")
    # As Debian ships it (use_pty is also the default of sudo >= 1.9.14).
    sudoers = ["Defaults env_reset",
               'Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
               '/sbin:/bin"',
               "Defaults !lecture", "Defaults use_pty",
               "root ALL=(ALL:ALL) ALL"]
    for user, (uid, rule) in ADMINS.items():
        passwd.append(f"{user}:x:{uid}:{GROUPS[user]}::/home/{user}:/bin/sh")
        password = PW_ADMIN_PASSWORD if user == "pwadmin" else os.urandom(12).hex()
        shadow.append(f"{user}:{_crypt(password)}:19000:0:99999:7:::")
        sudoers.append(f"{user} ALL=(ALL:ALL) {rule}")
        home = root / "home" / user
        (home / ".ssh").mkdir(parents=True, mode=0o700)
        key = dev.client / user
        keygen(key)
        (home / ".ssh/authorized_keys").write_text(key.with_suffix(".pub").read_text())
        (home / ".ssh/authorized_keys").chmod(0o600)
        for p in (home, home / ".ssh", home / ".ssh/authorized_keys"):
            os.chown(p, uid, GROUPS[user])
        home.chmod(0o750)
        dev.accounts[user] = Account(user, key, PW_ADMIN_PASSWORD if user == "pwadmin" else None)
    _lines(etc / "passwd", passwd)
    _lines(etc / "shadow", shadow)
    sudoers.append("@includedir /etc/sudoers.d")
    (etc / "sudoers").write_text("\n".join(sudoers) + "\n")
    (etc / "sudoers").chmod(0o440)
    sd = etc / "sudoers.d"
    if sd.exists():
        shutil.rmtree(sd)
    sd.mkdir(mode=0o750)

    # sshd: own host key and config.
    ssh = etc / "ssh"
    ssh.mkdir(exist_ok=True)
    for old in ssh.glob("ssh_host_*"):
        old.unlink()
    keygen(ssh / "ssh_host_ed25519_key")
    shutil.copy(ssh / "ssh_host_ed25519_key", dev.base / "host_key_original")
    shutil.copy(dev.host_pub, dev.base / "host_key_original.pub")
    (ssh / "sshd_config").write_text(
        f"ListenAddress {dev.host}:{dev.port}\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PidFile none\nUsePAM no\nPermitRootLogin no\n"
        "PubkeyAuthentication yes\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nAuthorizedKeysFile .ssh/authorized_keys\n"
        "StrictModes yes\nSubsystem sftp /etc/ssh/sftp-logged\n"
        f"AllowUsers {' '.join(ADMINS)}\n"
        "MaxSessions 64\nMaxStartups 64\nLogLevel VERBOSE\nPrintMotd no\n")
    # OpenSSH's own sftp-server (as on Debian), logging every open with flags and mode.
    (ssh / "sftp-logged").write_text(
        "#!/bin/sh\nexec /usr/lib/openssh/sftp-server -e -l VERBOSE 2>>/var/log/sftp.log\n")
    (ssh / "sftp-logged").chmod(0o755)
    (root / "var/log/sftp.log").touch(mode=0o622)
    (root / "var/log/sftp.log").chmod(0o622)
    pub = dev.host_pub.read_text().split()
    dev.known_hosts.write_text(f"[{dev.host}]:{dev.port} {pub[0]} {pub[1]}\n")

    # The stand-in runtime on the device's PATH (and in sudo's secure_path).
    for tool in ("iotedge", "systemctl"):
        shutil.copy(STANDIN / tool, root / "usr/local/bin" / tool)
        (root / "usr/local/bin" / tool).chmod(0o755)
    # The runtime's own config parser, which the stand-in's `config apply` runs (tests/rtcfg.py).
    oracle = oracle_path()
    if oracle is not None:
        shutil.copy(oracle, root / "usr/local/bin" / "rtcfg")
        (root / "usr/local/bin" / "rtcfg").chmod(0o755)
    (etc / "iotedge-standin").mkdir(exist_ok=True)


