"""Write a chain's files all-or-nothing, with Microsoft's relative names and private modes."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import UsageError

ROOT_PREFIX = "azure-iot-test-only.root.ca"
INTERMEDIATE_PREFIX = "azure-iot-test-only.intermediate"


def edge_prefix(name: str) -> str:
    """``iot-edge-device-ca-NAME``, the certGen.sh prefix for an edge CA (facts §1.4)."""
    return f"iot-edge-device-ca-{name}"


@dataclass(frozen=True)
class ChainFiles:
    """Where a chain's files are. Paths are absolute; optional ones are None when not written."""

    out_dir: Path
    edge_ca_cert: Path
    edge_ca_full_chain: Path
    edge_ca_key: Path
    trust_bundle: Path
    """The root certificate: what ``trust_bundle_cert`` points at."""
    root_cert: Path | None = None
    root_key: Path | None = None
    intermediate_cert: Path | None = None
    intermediate_full_chain: Path | None = None
    intermediate_key: Path | None = None
    edge_ca_pfx: Path | None = None
    intermediate_pfx: Path | None = None
    csr: Path | None = None

    def all_paths(self) -> list[Path]:
        """Every file written, each once."""
        return sorted({p for p in self.__dict__.values() if isinstance(p, Path)} - {self.out_dir})


class StagedDir:
    """A temporary folder beside the destination; files land in the destination only on commit."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = final  # replaced in __enter__

    def write(self, rel: str, data: bytes, *, private: bool = False) -> Path:
        """Write ``rel`` below the staging folder; private files are created 0600."""
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o600 if private else 0o644
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if os.name == "posix":
            os.chmod(target, mode)  # umask may have removed bits we want; never adds group/other
        return self.final / rel


@contextlib.contextmanager
def staged_output(out_dir: Path, *, force: bool = False) -> Iterator[StagedDir]:
    """Stage files in a temp dir next to ``out_dir``; rename into place when the block succeeds.

    With ``force`` an existing folder is replaced (after the new one is complete). On any error
    the staging folder is removed and ``out_dir`` is untouched.

    Raises:
        UsageError: ``out_dir`` exists, is not empty, and ``force`` is false.
    """
    out_dir = out_dir.resolve()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise UsageError(
            "the output folder exists and is not empty" if out_dir.is_dir()
            else "a file of that name exists where the output folder should go",
            where=str(out_dir),
            hint="Choose a new folder, or pass --force to replace it.",
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    staged = StagedDir(out_dir)
    staged.path = tmp
    try:
        yield staged
        old: Path | None = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        if os.name == "posix":
            os.chmod(out_dir, 0o700)  # the folder holds private keys
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
