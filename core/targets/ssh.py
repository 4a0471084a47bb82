"""SshTarget: a Linux device over one SSH connection (paramiko), with sudo and SFTP upload.

One ``SshTarget`` owns one authenticated transport and serves a whole deploy: commands run
on session channels, uploads go through one SFTP channel. Secrets (login and sudo passwords,
key passphrases) live only in the object's private attributes; they are written to the
device's sudo on stdin when sudo asks for them, and never appear on a command line, in a log
record, in a ``repr`` or in an error message.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import secrets
import select
import socket
import stat
import time
from collections.abc import Sequence
from pathlib import Path

import paramiko
from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

from core.errors import (
    AuthError,
    ConnectError,
    PasswordRequiredError,
    RemoteCommandError,
    SftpUploadError,
    UnreadableFileError,
    WrongPasswordError,
)
from core.progress import CancelToken, ProgressCallback, report
from core.targets import hostkeys
from core.targets.base import CommandResult, quote_argv, raise_if_failed

log = logging.getLogger(__name__)

CHUNK = 32 * 1024
"""SFTP write size: paramiko's largest single write; cancellation is checked between chunks."""

KEEPALIVE_SECONDS = 15
"""Keep NAT boxes and firewalls from dropping an idle deploy connection."""

_LOST_HINT = (
    "Check the network and that the device is powered; then run the same command again "
    "(a deploy is safe to repeat)."
)


def _sudo_refusal(stderr: str, *, had_password: bool, user: str, where: str) -> AuthError | None:
    """The AuthError that sudo's own messages describe, if any."""
    if "a password is required" in stderr:
        return AuthError(
            f"sudo on the device needs {user}'s password", where=where,
            hint="Give the sudo password (--password-stdin, or the password field); it is sent "
                 "to sudo on stdin only.",
        )
    if "incorrect password" in stderr or "Sorry, try again" in stderr or (
        had_password and "no password was provided" in stderr
    ):
        return AuthError(
            f"sudo refused the password for {user}", where=where,
            hint="Check the sudo password (it is the login password of this user on the device); "
                 "passwords are case-sensitive.",
        )
    if "not in the sudoers file" in stderr or "is not allowed to" in stderr \
            or "may not run sudo" in stderr:
        return AuthError(
            f"{user} may not use sudo on the device", where=where,
            hint="Log in as a user with sudo rights (on EFLOW: iotedge-user), or add this user "
                 "to the sudo group on the device.",
        )
    return None


def _open_exclusive(sftp: paramiko.SFTPClient, path: str, mode: int) -> SFTPFile:
    """Create ``path`` with O_EXCL and ``mode`` set by the server's open() itself.

    paramiko's ``SFTPClient.open`` sends empty attributes, so the file would exist with the
    server's default mode until a later chmod; here the permissions go into the OPEN request.
    """
    attrs = SFTPAttributes()
    attrs.st_mode = mode
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL
    t, msg = sftp._request(CMD_OPEN, path, flags, attrs)  # type: ignore[attr-defined]
    if t != CMD_HANDLE or msg is None:
        raise OSError(f"unexpected SFTP answer to open({path})")
    return SFTPFile(sftp, msg.get_binary(), "wb", -1)


class SshTarget:
    """A device reached over SSH. Create it with ``SshTarget.connect``; close it when done.

    Usable as a context manager. Thread-compatible, not thread-safe: one deploy at a time.
    """

    def __init__(self, transport: paramiko.Transport, *, host: str, port: int, user: str,
                 sudo_password: str | None = None) -> None:
        self._transport = transport
        self._host = host
        self._port = port
        self._user = user
        self._sudo_password = sudo_password
        self._sftp: paramiko.SFTPClient | None = None
        self._again: dict[str, object] = {}
        token = secrets.token_hex(8)
        # A prompt and marker no program prints by itself: a second prompt means the password
        # was refused; the marker means sudo let the command start.
        self._prompt = f"[edgecert-sudo-{token}]"
        self._marker = f"edgecert-sudo-ok-{token}"

    # ---- construction ---------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        host: str,
        *,
        port: int = 22,
        user: str,
        key_file: Path | str | None = None,
        key_passphrase: str | None = None,
        password: str | None = None,
        use_agent: bool = True,
        sudo_password: str | None = None,
        known_hosts: Sequence[Path] | None = None,
        save_known_hosts: Path | None = None,
        accept_fingerprint: str | None = None,
        timeout: float = 10,
    ) -> SshTarget:
        """Open, verify and authenticate one SSH connection.

        Args:
            host: Device name or address.
            port: SSH port.
            user: Login user (root, or a user with sudo).
            key_file: Private key file to offer.
            key_passphrase: Passphrase of ``key_file`` when it is encrypted.
            password: Login password (password or keyboard-interactive authentication).
            use_agent: Also offer the keys of a running ssh-agent / Pageant.
            sudo_password: Given to sudo on stdin when sudo asks; ``None`` means sudo must be
                passwordless (``sudo -n``).
            known_hosts: known_hosts files to read; default ``~/.ssh/known_hosts`` and
                edgecert's own file.
            save_known_hosts: Where an accepted key is saved; default edgecert's own file
                (or the last of ``known_hosts`` when those are given).
            accept_fingerprint: ``SHA256:…`` the technician confirmed for an unknown host;
                the key is accepted and saved only if it is exactly this one.
            timeout: Seconds for TCP connect, banner, key exchange and authentication.

        Returns:
            A connected target.

        Raises:
            ConnectError: The device cannot be reached or the SSH handshake fails.
            HostKeyUnknownError: First contact and ``accept_fingerprint`` does not match.
            HostKeyChangedError: The key differs from the recorded one (never bypassed).
            AuthError: No offered credential was accepted.
            PasswordRequiredError: ``key_file`` is encrypted and no passphrase was given.
            UnreadableFileError: ``key_file`` or a known_hosts file cannot be read.
        """
        where = f"{host}:{port}"
        files = tuple(known_hosts) if known_hosts is not None else \
            hostkeys.default_known_hosts_files()
        save_to = save_known_hosts or (files[-1] if known_hosts else
                                       hostkeys.own_known_hosts_file())
        pkey = _load_key(key_file, key_passphrase) if key_file is not None else None
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ConnectError(
                f"cannot reach {where}: {exc.strerror or exc}", where=where,
                hint="Check the address and port, that the device is on and that SSH is "
                     "enabled and not blocked by a firewall.",
            ) from exc
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = timeout
            transport.handshake_timeout = timeout
            transport.auth_timeout = timeout
            preferred = hostkeys.preferred_key_types(host, port, files)
            if preferred:
                opts = transport.get_security_options()
                available = list(opts.key_types)
                opts.key_types = [t for t in preferred if t in available] + \
                    [t for t in available if t not in preferred]
            try:
                transport.start_client(timeout=timeout)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise ConnectError(
                    f"SSH handshake with {where} failed: {exc}", where=where,
                    hint="Check that the port is the device's SSH port.",
                ) from exc
            blob = transport.get_remote_server_key().asbytes()
            status = hostkeys.verify_host_key(host, port, blob, files)
            if status is hostkeys.HostKeyStatus.UNKNOWN:
                if accept_fingerprint is None or \
                        accept_fingerprint.strip() != hostkeys.fingerprint(blob):
                    raise hostkeys.unknown_host_key_error(host, port, blob)
                hostkeys.save_host_key(host, port, blob, save_to)
            _authenticate(transport, where=where, user=user, pkey=pkey, password=password,
                          use_agent=use_agent)
            transport.set_keepalive(KEEPALIVE_SECONDS)
        except BaseException:
            transport.close()
            raise
        target = cls(transport, host=host, port=port, user=user, sudo_password=sudo_password)
        # what reconnect() needs (private, like the sudo password; never shown)
        target._again = {
            "port": port, "user": user, "key_file": key_file, "key_passphrase": key_passphrase,
            "password": password, "use_agent": use_agent, "sudo_password": sudo_password,
            "known_hosts": files, "save_known_hosts": save_to, "timeout": timeout,
        }
        log.info("connected to %s", target.name)
        return target

    def reconnect(self) -> None:
        """Open the connection again with the same credentials (after a drop), verifying the
        host key against the known_hosts files as the first time.

        Raises:
            ConnectError, HostKeyChangedError, AuthError: as ``connect``.
        """
        if not self._again:
            raise ConnectError(f"cannot reconnect to {self.name}", where=self.name,
                               hint=_LOST_HINT)
        fresh = SshTarget.connect(self._host, **self._again)  # type: ignore[arg-type]
        with contextlib.suppress(Exception):
            self.close()
        self._transport = fresh._transport
        self._sftp = None
        log.info("reconnected to %s", self.name)

    # ---- Target protocol ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``user@host:port``."""
        return f"{self._user}@{self._host}:{self._port}"

    @property
    def posix(self) -> bool:
        return True

    @property
    def user(self) -> str:
        """The login user."""
        return self._user

    @property
    def local_port(self) -> int:
        """The client-side TCP port of the connection (identifies the session on the device)."""
        sock = self._transport.sock
        if isinstance(sock, socket.socket):
            return int(sock.getsockname()[1])
        return -1

    def __repr__(self) -> str:
        return f"SshTarget({self.name})"

    def __enter__(self) -> SshTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the SFTP channel and the connection (idempotent)."""
        if self._sftp is not None:
            with contextlib.suppress(Exception):
                self._sftp.close()
            self._sftp = None
        self._transport.close()

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        check: bool = True,
        timeout: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> CommandResult:
        """Run ``argv`` on the device, every argument shell-quoted.

        With ``sudo`` (and a login user other than root) the command runs under
        ``sudo -n`` (no sudo password given) or ``sudo -S -p <unique prompt>``; the password
        is written to sudo's stdin only after sudo prints that prompt, and ``stdin`` reaches
        the command only after sudo has let it start.

        Args:
            argv: Program and arguments (never a shell string).
            sudo: Run as root.
            stdin: Bytes for the command's standard input (then EOF).
            check: Raise on a non-zero exit status.
            timeout: Seconds for the whole command; ``None`` waits.
            progress: Receives ``upload`` events as ``stdin`` is sent, chunk by chunk.

        Returns:
            The exit status and decoded output.

        Raises:
            RemoteCommandError: ``check`` and a non-zero exit status, or the timeout passed.
            AuthError: sudo needs a password, refused it, or the user may not sudo.
            ConnectError: The connection is gone.
        """
        if not argv:
            raise ValueError("empty argv")
        command = quote_argv(argv)
        use_sudo = sudo and self._user != "root"
        if use_sudo:
            wrapper = f'printf "%s\\n" {self._marker} >&2; exec "$@"'
            head = ["sudo", "-S", "-p", self._prompt] if self._sudo_password is not None \
                else ["sudo", "-n"]
            command = quote_argv([*head, "--", "sh", "-c", wrapper, "sh", *argv])
        log.info("run on %s%s: %s", self.name, " (sudo)" if sudo else "", quote_argv(argv))
        status, out, err = self._exec(command, stdin, timeout, use_sudo, argv, progress)
        result = CommandResult(
            argv=tuple(argv), exit_status=status,
            stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
        )
        if check:
            raise_if_failed(result, where=self.name)
        return result

    def put(
        self,
        data: bytes,
        path: str,
        *,
        mode: int = 0o600,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Upload ``data`` to ``path`` over SFTP.

        The bytes go to a new hidden file next to ``path``, created exclusively with ``mode``
        in the open request itself (never readable by others, not even for a moment); its size
        is confirmed, then it is renamed over ``path``. On any failure or cancellation the
        partial file is removed and ``path`` is untouched.

        Args:
            data: File content.
            path: Absolute POSIX path in a directory the login user can write.
            mode: Permission bits at creation.
            progress: Receives ``ProgressEvent(step="upload", done=bytes, total=bytes)``.
            cancel: Checked between chunks.

        Raises:
            SftpUploadError: The device refused the write (full, read-only, no permission)
                or the size does not match.
            CancelledError: ``cancel`` was set.
            ConnectError: The connection is gone.
        """
        directory, base = posixpath.split(path)
        tmp = posixpath.join(directory, f".{base}.edgecert-{secrets.token_hex(4)}")
        total = len(data)
        log.info("upload %d bytes to %s:%s (mode %04o)", total, self.name, path, mode)
        sftp = self._sftp_client()
        created = False
        try:
            handle = _open_exclusive(sftp, tmp, mode & 0o7777)
            created = True
            with handle:
                handle.set_pipelined(True)
                report(progress, "upload", 0, total, path)
                for offset in range(0, total, CHUNK):
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    handle.write(data[offset : offset + CHUNK])
                    report(progress, "upload", min(offset + CHUNK, total), total, path)
            st = sftp.stat(tmp)
            if st.st_size != total:
                raise SftpUploadError(
                    f"size mismatch after upload ({st.st_size} of {total} bytes)",
                    where=f"{self.name}:{path}",
                    hint="Check free space on the device (df -h) and upload again.",
                )
            if st.st_mode is not None and stat.S_IMODE(st.st_mode) != mode & 0o7777:
                # The server's umask can only have removed bits; set exactly what was asked.
                sftp.chmod(tmp, mode & 0o7777)
            sftp.posix_rename(tmp, path)
            created = False
        except (paramiko.SSHException, EOFError) as exc:
            raise self._lost(exc) from exc
        except OSError as exc:
            if not self._transport.is_active():
                raise self._lost(exc) from exc
            raise self._upload_error(path, exc) from exc
        finally:
            if created and self._transport.is_active():
                with contextlib.suppress(Exception):
                    sftp.remove(tmp)

    # ---- internals ------------------------------------------------------------------------

    def _upload_error(self, path: str, exc: OSError) -> SftpUploadError:
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = "Check that the folder exists and is writable by the login user."
        if "Failure" in reason or "space" in reason.lower() or "quota" in reason.lower():
            hint = "The device may be full: check free space (df -h) and retry."
        return SftpUploadError(f"cannot write {path}: {reason}", where=self.name, hint=hint)

    def _lost(self, exc: BaseException) -> ConnectError:
        self._sftp = None
        return ConnectError(f"lost the connection to {self.name} ({type(exc).__name__})",
                            where=self.name, hint=_LOST_HINT)

    def _sftp_client(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                client = paramiko.SFTPClient.from_transport(self._transport)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise self._lost(exc) from exc
            if client is None:
                raise self._lost(EOFError("no SFTP channel"))
            self._sftp = client
        return self._sftp

    def _exec(self, command: str, stdin: bytes | None, timeout: float | None, use_sudo: bool,
              argv: Sequence[str],
              progress: ProgressCallback | None = None) -> tuple[int, bytes, bytes]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            chan = self._transport.open_session(timeout=30)
            chan.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from exc
        out = bytearray()
        err = bytearray()
        prompt = self._prompt.encode()
        marker = self._marker.encode() + b"\n"
        started = not use_sudo
        prompts_seen = 0
        refused = False
        try:
            if started:
                self._feed(chan, stdin, progress)
            while True:
                wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
                select.select([chan], [], [], wait)
                while chan.recv_ready():
                    out += chan.recv(65536)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if not started:
                    if marker in err:
                        err = err[err.index(marker) + len(marker) :]
                        started = True
                        self._feed(chan, stdin, progress)
                    elif err.count(prompt) > prompts_seen:
                        prompts_seen = err.count(prompt)
                        if prompts_seen == 1 and self._sudo_password is not None and not refused:
                            chan.sendall(self._sudo_password.encode() + b"\n")
                        else:
                            refused = True
                            chan.shutdown_write()
                # sshd may send the exit status before the last output: wait for EOF too.
                if chan.exit_status_ready() and (chan.eof_received or chan.closed) \
                        and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                if not self._transport.is_active():
                    raise EOFError("transport closed")
                if deadline is not None and time.monotonic() >= deadline:
                    chan.close()
                    raise RemoteCommandError(
                        f"{argv[0]} did not finish within {timeout:g} s", where=self.name,
                        hint="The device may be overloaded; retry, or raise the timeout.",
                    )
            status = chan.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from exc
        finally:
            # closing a channel of a dead transport raises too: the loss is reported above
            with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
                chan.close()
        if status == -1 and not self._transport.is_active():
            raise self._lost(EOFError("no exit status"))
        if use_sudo and not started:
            text = err.replace(prompt, b"").decode("utf-8", "replace")
            problem = _sudo_refusal(text, had_password=self._sudo_password is not None,
                                    user=self._user, where=self.name)
            if problem is not None or refused:
                raise problem or AuthError(f"sudo refused the password for {self._user}",
                                           where=self.name)
            raise RemoteCommandError(
                f"sudo could not start {argv[0]}: {text.strip()[-300:]}", where=self.name,
                exit_status=status, output=text,
                hint="Check that sudo is installed on the device.",
            )
        return status, bytes(out), bytes(err)

    @staticmethod
    def _feed(chan: paramiko.Channel, stdin: bytes | None,
              progress: ProgressCallback | None = None) -> None:
        if stdin:
            total = len(stdin)
            for offset in range(0, total, CHUNK):
                chan.sendall(stdin[offset : offset + CHUNK])
                report(progress, "upload", min(offset + CHUNK, total), total)
        chan.shutdown_write()


def _load_key(key_file: Path | str, passphrase: str | None) -> paramiko.PKey:
    path = Path(key_file).expanduser()
    try:
        # The stubs say str, but cryptography's OpenSSH-key loader needs bytes.
        secret = None if passphrase is None else passphrase.encode()
        return paramiko.PKey.from_path(path, password=secret)  # type: ignore[arg-type]
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        # paramiko raises PasswordRequiredException for PEM keys; for OpenSSH-format keys
        # cryptography's loader raises TypeError ("Key is password-protected …").
        if isinstance(exc, TypeError) and passphrase is not None:
            raise WrongPasswordError("the SSH key could not be decrypted",
                                     where=str(path)) from exc
        raise PasswordRequiredError(
            "the SSH key is encrypted", where=str(path),
            hint="Give the key's passphrase, or load the key into ssh-agent.",
        ) from exc
    except FileNotFoundError as exc:
        raise UnreadableFileError("SSH key file not found", where=str(path),
                                  hint="Check the path given with --identity.") from exc
    except OSError as exc:
        raise UnreadableFileError(f"cannot read the SSH key: {exc.strerror}", where=str(path),
                                  hint="Check the file's permissions.") from exc
    except (paramiko.SSHException, ValueError) as exc:
        if passphrase is not None:
            raise WrongPasswordError("the SSH key passphrase is wrong or the key is damaged",
                                     where=str(path)) from exc
        raise UnreadableFileError(
            "not a private key paramiko can read", where=str(path),
            hint="Use an OpenSSH or PEM private key (ed25519, ECDSA or RSA).",
        ) from exc


def _authenticate(transport: paramiko.Transport, *, where: str, user: str,
                  pkey: paramiko.PKey | None, password: str | None, use_agent: bool) -> None:
    """Offer key, agent keys, then password; raise AuthError naming what was tried."""
    tried: list[str] = []
    allowed: list[str] | None = None
    keys: list[tuple[str, paramiko.PKey]] = []
    if pkey is not None:
        keys.append(("key file", pkey))
    agent: paramiko.Agent | None = None
    if use_agent:
        with contextlib.suppress(paramiko.SSHException, OSError):
            agent = paramiko.Agent()
            keys.extend(("ssh-agent key", k) for k in agent.get_keys())
    try:
        for label, key in keys:
            tried.append(label)
            try:
                transport.auth_publickey(user, key)
            except paramiko.BadAuthenticationType as exc:
                allowed = list(exc.allowed_types)
                break
            except paramiko.AuthenticationException:
                continue
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise ConnectError(f"connection to {where} lost during login", where=where,
                                   hint=_LOST_HINT) from exc
            if transport.is_authenticated():
                return
        if password is not None:
            tried.append("password")
            try:
                transport.auth_password(user, password)
            except paramiko.BadAuthenticationType as exc:
                allowed = list(exc.allowed_types)
            except paramiko.AuthenticationException:
                pass
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise ConnectError(f"connection to {where} lost during login", where=where,
                                   hint=_LOST_HINT) from exc
            if transport.is_authenticated():
                return
    finally:
        if agent is not None:
            agent.close()
    if not tried:
        raise AuthError(f"no SSH credentials to offer {where}", where=where,
                        hint="Give a key file (--identity), a password, or start ssh-agent.")
    hint = "Check the user name and the key or password for this device."
    if allowed is not None:
        hint += f" The device accepts only: {', '.join(allowed)}."
    raise AuthError(f"{where} refused the login of {user} (tried: {', '.join(tried)})",
                    where=where, hint=hint)
