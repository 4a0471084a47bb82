"""SshTarget against the real loopback sshd: login, host keys, sudo, quoting, upload, drops."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import threading
from pathlib import Path

import pytest
from device.device import PW_ADMIN_PASSWORD
from device.fixtures import Device

from core.errors import (
    AuthError,
    CancelledError,
    ConnectError,
    HostKeyChangedError,
    HostKeyUnknownError,
    RemoteCommandError,
)
from core.progress import CancelToken, ProgressEvent
from core.targets import Target
from core.targets.ssh import SftpUploadError, SshTarget

pytestmark = pytest.mark.device  # the loopback sshd device; never skipped in CI


def _secret_free(text: str) -> None:
    assert PW_ADMIN_PASSWORD not in text


# ---- login ------------------------------------------------------------------------------------


def test_key_login_and_name(device: Device) -> None:
    with device.connect("edgeadmin") as t:
        assert isinstance(t, Target)
        assert t.name == f"edgeadmin@127.0.0.1:{device.port}"
        res = t.run(["id", "-un"])
        assert res.stdout == "edgeadmin\n" and res.ok


def test_password_login(device: Device) -> None:
    with device.connect("pwadmin", key_file=None, password=PW_ADMIN_PASSWORD) as t:
        assert t.run(["id", "-un"]).stdout == "pwadmin\n"
        _secret_free(repr(t))


def test_wrong_login_password_is_auth_error(device: Device) -> None:
    with pytest.raises(AuthError) as info:
        device.connect("pwadmin", key_file=None, password="not-it")
    assert "pwadmin" in str(info.value) and info.value.hint
    assert "not-it" not in info.value.describe()


def test_no_credentials_is_auth_error(device: Device) -> None:
    with pytest.raises(AuthError, match="no SSH credentials"):
        device.connect("edgeadmin", key_file=None)


def test_unreachable_names_host_and_port(device: Device) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        SshTarget.connect("127.0.0.1", port=port, user="x", password="y", timeout=3)
    assert f"127.0.0.1:{port}" in str(info.value) and info.value.hint


# ---- host keys --------------------------------------------------------------------------------


def test_unknown_host_key_carries_fingerprint(device: Device, tmp_path: Path) -> None:
    own = tmp_path / "own_known_hosts"
    with pytest.raises(HostKeyUnknownError) as info:
        device.connect(known_hosts=[tmp_path / "missing", own])
    keygen = subprocess.check_output(["ssh-keygen", "-lf", str(device.host_pub)],
                                     text=True).split()[1]
    assert info.value.fingerprint == keygen == device.fingerprint()
    assert info.value.key_type == "ssh-ed25519"
    assert info.value.host == f"[127.0.0.1]:{device.port}"
    assert not own.exists()


def test_wrong_accept_fingerprint_saves_nothing(device: Device, tmp_path: Path) -> None:
    own = tmp_path / "own"
    with pytest.raises(HostKeyUnknownError):
        device.connect(known_hosts=[own], accept_fingerprint="SHA256:" + "A" * 43)
    assert not own.exists()


def test_accept_saves_atomically_and_reconnects(device: Device, tmp_path: Path) -> None:
    own = tmp_path / "cfg" / "known_hosts"
    own.parent.mkdir()
    own.write_text("# kept\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvbnRlbnQ=\n")
    inode = own.stat().st_ino
    with device.connect(known_hosts=[own], accept_fingerprint=device.fingerprint()) as t:
        assert t.run(["true"]).ok
    text = own.read_text()
    assert text.startswith("# kept\nother.example ")
    pub = device.host_pub.read_text().split()
    assert f"[127.0.0.1]:{device.port} {pub[0]} {pub[1]}\n" in text
    assert own.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert sorted(p.name for p in own.parent.iterdir()) == ["known_hosts", "known_hosts.lock"]
    with device.connect(known_hosts=[own]) as t:  # known now
        assert t.run(["true"]).ok
    assert own.read_text() == text


def test_default_files_save_to_own_config(device: Device, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    with device.connect(known_hosts=None, accept_fingerprint=device.fingerprint()):
        pass
    assert (tmp_path / "cfg/edgecert/known_hosts").exists()
    assert not (tmp_path / "home/.ssh/known_hosts").exists()
    with device.connect(known_hosts=None):
        pass


def test_hashed_entry_is_recognised(device: Device, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(device.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(kh)], check=True, capture_output=True)
    assert kh.read_text().startswith("|1|")
    with device.connect(known_hosts=[kh]) as t:
        assert t.run(["true"]).ok


def test_changed_key_refused_even_with_accept(device: Device, tmp_path: Path) -> None:
    hashed = tmp_path / "hashed"
    hashed.write_text(device.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], check=True, capture_output=True)
    new_fp = device.rotate_host_key()
    for files in ([device.known_hosts], [hashed]):
        with pytest.raises(HostKeyChangedError) as info:
            device.connect(known_hosts=files, accept_fingerprint=new_fp)
        assert info.value.fingerprint == new_fp
        assert "CHANGED" in str(info.value) and str(files[0]) in info.value.hint
    assert device.known_hosts.read_text().count("\n") == 1  # nothing was added


def test_concurrent_saves_lose_nothing(tmp_path: Path) -> None:
    from core.targets.hostkeys import known_keys, save_host_key

    own = tmp_path / "known_hosts"
    blobs = [b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes([i]) * 32 for i in range(24)]
    threads = [threading.Thread(target=save_host_key, args=(f"h{i}", 22, b, own))
               for i, b in enumerate(blobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, b in enumerate(blobs):
        assert [k.blob for k in known_keys(f"h{i}", 22, [own])] == [b]


# ---- commands and sudo ------------------------------------------------------------------------

HOSTILE = ["a b", "it's", '"dq"', "$(touch /tmp/pwned)", "; touch /tmp/pwned2", "`id`", "*",
           "$HOME", "back\\slash", "new\nline", "-n", ""]


@pytest.mark.parametrize("sudo", [False, True])
def test_hostile_arguments_arrive_verbatim(device: Device, sudo: bool) -> None:
    with device.connect("pwadmin") as t:
        res = t.run(["printf", "[%s]", *HOSTILE], sudo=sudo)
    assert res.stdout == "".join(f"[{a}]" for a in HOSTILE)
    assert not device.exists("/tmp/pwned") and not device.exists("/tmp/pwned2")


def test_sudo_passwordless(device: Device) -> None:
    with device.connect("edgeadmin") as t:
        assert t.run(["id", "-u"], sudo=True).stdout == "0\n"
        assert t.run(["cat"], sudo=True, stdin=b"line1\nline2").stdout == "line1\nline2"


def test_sudo_with_password_on_stdin(device: Device) -> None:
    with device.connect("pwadmin") as t:
        res = t.run(["cat"], sudo=True, stdin=b"payload\n")
        assert res.stdout == "payload\n" and res.stderr == ""
        assert t.run(["id", "-u"], sudo=True).stdout == "0\n"
        assert t.run(["id", "-u"]).stdout == "9911\n"


def test_wrong_sudo_password(device: Device) -> None:
    with device.connect("pwadmin", sudo_password="wrong one") as t, \
            pytest.raises(AuthError) as info:
        t.run(["cat"], sudo=True, stdin=b"must not reach sudo as a second try\n")
    assert "refused the password" in str(info.value) and info.value.hint
    assert "wrong one" not in info.value.describe()


def test_sudo_needs_password(device: Device) -> None:
    with device.connect("pwadmin", sudo_password=None) as t, pytest.raises(AuthError) as info:
        t.run(["true"], sudo=True)
    assert "password" in str(info.value) and "stdin" in info.value.hint


def test_password_never_logged_nor_on_a_command_line(device: Device,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with device.connect("pwadmin", key_file=None, password=PW_ADMIN_PASSWORD) as t:
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                seen.append(device.sh("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '",
                                      check=False).stdout.decode("utf-8", "replace"))

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for _ in range(3):
                assert t.run(["sh", "-c", "sleep 0.3; id -u"], sudo=True).stdout == "0\n"
        finally:
            done.set()
            watcher.join()
        with pytest.raises(RemoteCommandError) as info:
            t.run(["false"], sudo=True)
    assert any("sleep 0.3" in s for s in seen)  # the watcher did see the command running
    for s in seen:
        _secret_free(s)
    assert caplog.records
    for rec in caplog.records:
        _secret_free(rec.getMessage())
    _secret_free(info.value.describe())


def test_exit_status_and_check(device: Device) -> None:
    with device.connect() as t:
        res = t.run(["sh", "-c", "echo out; echo err >&2; exit 3"], check=False)
        assert (res.exit_status, res.stdout, res.stderr) == (3, "out\n", "err\n")
        with pytest.raises(RemoteCommandError) as info:
            t.run(["sh", "-c", "echo bad >&2; exit 4"], sudo=True)
        assert info.value.exit_status == 4 and "bad" in str(info.value)
        with pytest.raises(RemoteCommandError, match="did not finish"):
            t.run(["sleep", "5"], timeout=0.5)
        assert t.run(["true"]).ok  # the connection survives a timed-out command


def test_killed_session_is_connect_error(device: Device) -> None:
    t = device.connect()
    try:
        assert t.run(["true"]).ok
        assert device.kill_connection(t.local_port)
        with pytest.raises(ConnectError) as info:
            t.run(["true"])
        assert info.value.hint
    finally:
        t.close()


# ---- upload -----------------------------------------------------------------------------------


def test_put_mode_at_creation_and_progress(device: Device) -> None:
    data = bytes(range(256)) * 1200  # 300 KiB: several chunks
    events: list[ProgressEvent] = []
    with device.connect() as t:
        t.run(["mkdir", "-m", "700", "/home/edgeadmin/stage"])
        t.put(data, "/home/edgeadmin/stage/key.pem", mode=0o600, progress=events.append)
    assert device.read("/home/edgeadmin/stage/key.pem") == data
    assert device.stat("/home/edgeadmin/stage/key.pem") == (0o600, "edgeadmin", "edgeadmin")
    assert device.sh("ls -A /home/edgeadmin/stage").stdout == b"key.pem\n"
    done = [e.done for e in events]
    assert done == sorted(done) and done[-1] == len(data) and len(done) > 3
    assert {e.total for e in events} == {len(data)}
    # The sftp server logged the open: created exclusively with mode 0600, not chmod'ed later.
    log = device.read("/var/log/sftp.log").decode()
    opens = [ln for ln in log.splitlines() if "open \"/home/edgeadmin/stage/.key.pem" in ln]
    assert opens and all("mode 0600" in ln and "EXCL" in ln for ln in opens)


def test_put_replaces_existing_file_with_new_mode(device: Device) -> None:
    device.write("/home/edgeadmin/f", b"old", mode=0o644, owner="edgeadmin")
    with device.connect() as t:
        t.put(b"new", "/home/edgeadmin/f", mode=0o640)
    assert device.read("/home/edgeadmin/f") == b"new"
    assert device.stat("/home/edgeadmin/f")[0] == 0o640


def test_put_cancel_leaves_nothing(device: Device) -> None:
    token = CancelToken()

    def progress(ev: ProgressEvent) -> None:
        if ev.done > 0:
            token.cancel()

    with device.connect() as t:
        with pytest.raises(CancelledError):
            t.put(b"x" * 200_000, "/home/edgeadmin/c", progress=progress, cancel=token)
        assert t.run(["ls", "-A", "/home/edgeadmin"]).stdout == ".ssh\n"


def test_put_disk_full(device: Device) -> None:
    device.mount_small_fs("/home/edgeadmin/small", 64)
    with device.connect() as t:
        with pytest.raises(SftpUploadError) as info:
            t.put(b"z" * 300_000, "/home/edgeadmin/small/big")
        assert "free space on the device (df -h)" in info.value.hint
        assert t.run(["ls", "-A", "/home/edgeadmin/small"]).stdout == ""
        t.put(b"small", "/home/edgeadmin/small/ok")  # still usable afterwards


def test_put_not_writable(device: Device) -> None:
    with device.connect() as t, pytest.raises(SftpUploadError) as info:
        t.put(b"x", "/etc/aziot-nope/file")
    assert "/etc/aziot-nope/file" in str(info.value) and info.value.hint


def test_put_connection_lost_mid_upload(device: Device) -> None:
    t = device.connect()
    killed: list[int] = []

    def progress(ev: ProgressEvent) -> None:
        if 0 < ev.done < ev.total and not killed:
            killed.extend(device.kill_connection(t.local_port))

    try:
        with pytest.raises(ConnectError):
            t.put(b"y" * 2_000_000, "/home/edgeadmin/big", progress=progress)
    finally:
        t.close()
    assert killed
    assert not device.exists("/home/edgeadmin/big")


@pytest.mark.parametrize("sudo", [False, True])
def test_large_output_and_input_complete(device: Device, sudo: bool) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    with device.connect("pwadmin") as t:
        for _ in range(3):
            res = t.run(["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo done >&2"],
                        sudo=sudo)
            assert len(res.stdout) == 3_000_000 and res.stderr == "done\n"
        res = t.run(["sha256sum"], stdin=data, sudo=sudo)
    assert res.stdout.split()[0] == hashlib.sha256(data).hexdigest()


def test_agent_login(device: Device, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            threading.Event().wait(0.05)
        env = {"SSH_AUTH_SOCK": str(sock), "PATH": "/usr/bin:/bin"}
        subprocess.run(["ssh-add", "-q", str(device.accounts["edgeadmin"].key)], env=env,
                       check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        with device.connect("edgeadmin", key_file=None, use_agent=True) as t:
            assert t.run(["id", "-un"]).stdout == "edgeadmin\n"
        with pytest.raises(AuthError):
            device.connect("edgeadmin", key_file=None, use_agent=False)
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_encrypted_key_file(device: Device, tmp_path: Path) -> None:
    from core.errors import PasswordRequiredError, WrongPasswordError

    key = tmp_path / "enc"
    key.write_bytes(device.accounts["edgeadmin"].key.read_bytes())
    key.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "pass phrase", "-f", str(key)], check=True)
    with pytest.raises(PasswordRequiredError) as info:
        device.connect("edgeadmin", key_file=key)
    assert str(key) in str(info.value)
    with pytest.raises(WrongPasswordError):
        device.connect("edgeadmin", key_file=key, key_passphrase="nope")
    with device.connect("edgeadmin", key_file=key, key_passphrase="pass phrase") as t:
        assert t.run(["true"]).ok
