"""Writing a site's output files (results, HTML report) atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from core.errors import UnreadableFileError


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over.

    A reader sees the old file or the new one, never a half-written one.

    Raises:
        UnreadableFileError: the folder cannot be written (naming the file).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UnreadableFileError(f"cannot write here: {exc.strerror}", where=str(path),
                                  hint="Choose a folder you can write to.") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UnreadableFileError(f"cannot write the file: {exc.strerror}", where=str(path),
                                  hint="Check free space and permissions.") from None
