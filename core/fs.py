"""Local files in and out: one bounded reader, one atomic writer, one staged folder.

Reading: ``read_input`` opens without blocking (a FIFO cannot hang it), looks at what it opened
(``fstat`` of the descriptor, not of the name) and refuses anything but a regular file, then
reads at most ``limit + 1`` bytes, so ``/dev/zero``, a growing file or a file whose size lies
cannot exhaust memory.

Writing: ``write_atomic`` writes a temporary file with a unique name in the destination's own
folder, with its mode set before any byte is written, fsyncs it, renames it over the
destination and fsyncs the folder. ``staged_dir`` does the same for a whole folder. On any
failure (a full disk, a permission, Ctrl-C) nothing partial is left: the temporary file or
folder is removed and the destination is as it was. OS failures become ``OutputError`` naming
the path, with a hint for the usual causes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import OutputError, UnreadableFileError, UsageError

KIB = 1024
MIB = 1024 * KIB

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def size_text(n: int) -> str:
    """``1 MiB``, ``64 KiB`` or ``512 bytes``."""
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def read_input(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of a local input file, at most ``limit`` of them.

    Args:
        path: the file.
        limit: the largest size accepted, in bytes (the cap applies to what is read).
        what: what the file is, for messages ("the current config", "the key file").

    Raises:
        UnreadableFileError: missing, unreadable, not a regular file (folder, FIFO, socket,
            device), or larger than ``limit``; naming the file and, for size, the cap.
    """
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC | _O_BINARY)
    except FileNotFoundError:
        raise UnreadableFileError("file not found", where=where,
                                  hint="Check the path and the spelling.") from None
    except IsADirectoryError:
        raise UnreadableFileError(f"{what} is a folder, not a file", where=where,
                                  hint="Choose a file inside it.") from None
    except PermissionError:
        raise UnreadableFileError(f"cannot read {what}: permission denied", where=where,
                                  hint="Run as a user who can read the file.") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO/device without a partner
            raise UnreadableFileError(f"{what} is a socket or device, not a regular file",
                                      where=where, hint="Choose the file itself.") from None
        raise UnreadableFileError(f"cannot read {what} ({exc.strerror})", where=where,
                                  hint="Check the path.") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise UnreadableFileError(
                f"{what} is {kind}, not a regular file", where=where,
                hint="Choose a file inside it." if kind == "a folder"
                else "Choose the file itself; edgecert reads only regular files.")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except IsADirectoryError:
        raise UnreadableFileError(f"{what} is a folder, not a file", where=where,
                                  hint="Choose a file inside it.") from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {what} ({exc.strerror})", where=where,
                                  hint="Check the file and the disk it is on.") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UnreadableFileError(
            f"{what} is larger than {size_text(limit)}, the most edgecert reads for it",
            where=where, hint="Choose the right file; this one is far larger than any "
                              "genuine one.")
    return data


# ---- writing ------------------------------------------------------------------------------------


def output_error(exc: OSError, path: Path | str, what: str) -> OutputError:
    """A typed error for an OS failure while writing ``path``."""
    hints = {
        errno.ENOSPC: "The disk is full: free some space or choose another place.",
        errno.EDQUOT: "The disk quota is used up: free some space or choose another place.",
        errno.EROFS: "That file system is read-only: choose another place.",
        errno.EACCES: "Choose a place you can write to, or run as a user who may.",
        errno.EPERM: "Choose a place you can write to, or run as a user who may.",
        errno.ENOENT: "Check the path: its folder does not exist.",
        errno.ENOTDIR: "Check the path: part of it is a file, not a folder.",
        errno.EEXIST: "Check the path: part of it is a file, not a folder.",
        errno.EISDIR: "That name is a folder: give the file name to write.",
    }
    reason = exc.strerror or type(exc).__name__
    return OutputError(f"cannot write {what}: {reason}", where=str(path),
                       hint=hints.get(exc.errno or 0, "Check the path and the disk."))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(directory: Path) -> None:
    """Make a rename or creation in ``directory`` durable (no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (must not exist) with ``mode``, write and fsync ``data``.

    The mode is set on the descriptor before the data, so a private file is never readable by
    others, whatever the umask. On failure the file is removed. Raises OSError.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_BINARY, mode)
    try:
        try:
            if os.name == "posix":
                os.fchmod(fd, mode)  # the umask may have removed bits; never adds group/other
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def write_atomic(path: Path, data: bytes, mode: int, *, what: str = "the file",
                 make_parents: bool = False) -> Path:
    """Replace ``path`` with ``data`` (file mode ``mode``) in one step, or leave it untouched.

    Args:
        path: the file to write.
        data: its new content.
        mode: its permission bits (e.g. 0o600 for anything secret).
        what: what the file is, for messages.
        make_parents: create missing parent folders first.

    Returns:
        ``path``.

    Raises:
        OutputError: ``path`` is a folder, or the folder cannot be written (permission, full
            disk, read-only); nothing is left behind.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"cannot write {what}: that name is a folder", where=str(path),
                          hint="Give the file name to write, e.g. a name inside that folder.")
    tmp: str | None = None
    try:
        if make_parents:
            directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:  # mkstemp made it 0600 and unique; the wanted mode is set before any byte
            if os.name == "posix":
                os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        tmp = None
        fsync_dir(directory)
    except OSError as exc:
        raise output_error(exc, path, what) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


class StagedDir:
    """A temporary folder beside the destination; files land in the destination on commit."""

    def __init__(self, final: Path, path: Path) -> None:
        self.final = final
        self.path = path

    def write(self, rel: str, data: bytes, *, private: bool = False, mode: int | None = None
              ) -> Path:
        """Write ``rel`` below the staging folder (0600 when private, else 0644 or ``mode``).

        Returns:
            Where the file will be once the folder is committed.
        """
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_new(target, data, mode if mode is not None else (0o600 if private else 0o644))
        return self.final / rel


@contextlib.contextmanager
def staged_dir(out_dir: Path, *, force: bool = False, what: str = "the output folder",
               mode: int = 0o700) -> Iterator[StagedDir]:
    """Stage files in a temporary folder next to ``out_dir``; rename it into place on success.

    With ``force`` an existing folder is replaced (only after the new one is complete). On any
    failure, including Ctrl-C, the staging folder is removed and ``out_dir`` is untouched.

    Raises:
        UsageError: ``out_dir`` exists, is not empty (or is a file), and ``force`` is false.
        OutputError: the parent cannot be written, or the disk is full.
    """
    out_dir = out_dir.resolve()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise UsageError(
            f"{what} exists and is not empty" if out_dir.is_dir()
            else f"a file of that name exists where {what} should go",
            where=str(out_dir),
            hint="Choose a new folder, or pass --force to replace it.",
        )
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise output_error(exc, out_dir, what) from None
    moved: Path | None = None  # the old out_dir, while it is set aside
    try:
        yield StagedDir(out_dir, tmp)
        if os.name == "posix":
            os.chmod(tmp, mode)
        fsync_dir(tmp)
        if out_dir.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, aside / "old")
            moved = aside / "old"
        os.replace(tmp, out_dir)
        fsync_dir(out_dir.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if moved is not None and not out_dir.exists():
            with contextlib.suppress(OSError):
                os.replace(moved, out_dir)  # put the old folder back
        if moved is not None and out_dir.exists():
            shutil.rmtree(moved.parent, ignore_errors=True)
        if isinstance(exc, OSError):
            raise output_error(exc, out_dir, what) from None
        raise
    if moved is not None:
        shutil.rmtree(moved.parent, ignore_errors=True)
