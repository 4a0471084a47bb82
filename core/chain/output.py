"""Write a chain's files all-or-nothing, with Microsoft's relative names and private modes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.fs import StagedDir, staged_dir

__all__ = ["ChainFiles", "StagedDir", "edge_prefix", "staged_output"]

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
    notices: tuple[str, ...] = ()
    """What the technician should know about the result (e.g. a lifetime that was shortened)."""

    def all_paths(self) -> list[Path]:
        """Every file written, each once."""
        return sorted({p for p in self.__dict__.values() if isinstance(p, Path)} - {self.out_dir})


@contextlib.contextmanager
def staged_output(out_dir: Path, *, force: bool = False) -> Iterator[StagedDir]:
    """Stage a chain's files next to ``out_dir``; the folder (0700) appears only when complete.

    With ``force`` an existing folder is replaced (after the new one is complete). On any error,
    a full disk or Ctrl-C included, nothing is left and ``out_dir`` is untouched.

    Raises:
        UsageError: ``out_dir`` exists, is not empty, and ``force`` is false.
        OutputError: the folder cannot be created there (permission, full disk, read-only).
    """
    with staged_dir(out_dir, force=force, what="the output folder") as staged:
        yield staged
