"""Write a Plan as a bundle: the staged files, the steps, ``install.sh`` / ``install.ps1``, README.

The bundle holds exactly what a deploy uploads (``core.deploy.steps.staged_files``) plus small
wrappers (``resources/device/install.sh`` / ``install.ps1``), so ``sudo sh install.sh`` on the
device runs the same device-side transaction as a deploy: the device lock, link and drift
checks, backup with manifest and ``restore.sh``, owners and modes in one ``install`` step,
atomic config rename, clearing stale state, apply, check, and restore plus re-apply on failure,
with the same journal, detached from the terminal.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.deploy.preflight import require_preflight
from core.deploy.shlib import BACKUP_ROOT, INSTALL_PS1, INSTALL_SH
from core.deploy.steps import StagedFile, staged_files
from core.errors import UsageError
from core.fs import staged_dir, write_atomic
from core.plan import Plan
from core.progress import ProgressCallback, report

README = """edgecert bundle for IoT Edge {release} ({platform})
{underline}

This folder puts the device on the certificate chain prepared by edgecert. It contains
private keys ({secrets}): keep it on a trusted medium and delete it after use.

Linux device (copy the folder over, e.g. scp -r or a USB stick):
    sudo sh install.sh

EFLOW (on the Windows host, elevated PowerShell, in this folder):
    .\\install.ps1

What install.sh does, in order, stopping and putting everything back at the first failure
(it runs on the device by itself: a closed terminal or Ctrl-C cannot leave it half done; Ctrl-C
asks it to roll back):
 1. waits briefly for another deploy on this device, then refuses (one at a time); refuses a
    symbolic link on any path, and runs only if {config} is the file this bundle was made
    for (sha256)
 2. backs up everything it will replace into {backup_root}/<time>-<id>/ (root only), with a
    manifest, a journal of every step, and restore.sh
 3. creates the directories and installs each file with its owner and mode in one step,
    then renames it into place
 4. checks that every certificate and key is readable by the IoT Edge service users
 5. writes {config} (0600 root) atomically
 6. clears stale runtime state, runs {apply}
 7. runs {check} and reports: {check_ids}

To undo a successful install later:  sudo sh {backup_root}/<time>-<id>/restore.sh
(it puts the files back, runs {apply} again and says what it did; it refuses to go back
over a newer deploy unless given --force).

Files:
{files}
"""


@dataclass(frozen=True)
class BundleReport:
    """Where the bundle went and what it holds (names only)."""

    path: Path
    names: tuple[str, ...]
    zipped: bool

    def describe(self) -> str:
        kind = "zip" if self.zipped else "folder"
        return f"bundle {kind} written: {self.path} ({len(self.names)} files)"


def render_install_sh() -> str:
    """The bundle's ``install.sh`` (a wrapper around the library's ``ec_install_bundle``)."""
    return INSTALL_SH


def render_install_ps1(names: tuple[str, ...]) -> str:
    """The bundle's ``install.ps1`` for EFLOW, pushing ``names`` into the VM."""
    for n in names:
        if not n.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise UsageError(f"bundle file name {n!r} is not a plain name")
    return INSTALL_PS1.replace("__NAMES__", ", ".join(f"'{n}'" for n in names))


def _readme(plan: Plan, staged: tuple[StagedFile, ...], backup_root: str) -> str:
    def show(argv: tuple[str, ...]) -> str:
        return " ".join(argv)

    files = [f"  {f.name:8} -> {pf.path} ({pf.mode:04o} {pf.owner}:{pf.group}, {pf.role})"
             for f, pf in zip(staged[3:], plan.files, strict=False)]
    files.append(f"  config   -> {plan.config.path} (0600 root:root)")
    title = f"edgecert bundle for IoT Edge {plan.release} ({plan.platform})"
    return README.format(
        release=plan.release, platform=plan.platform, underline="=" * len(title),
        secrets=", ".join(f.name for f in staged if f.secret) or "none",
        config=plan.config.path, backup_root=backup_root,
        apply="; ".join(show(c.argv) for c in plan.apply) or "(nothing)",
        check="; ".join(show(c.argv) for c in plan.check) or "(nothing)",
        check_ids=", ".join(plan.check_ids) or "(none)",
        files="\n".join(files),
    )


def _contents(plan: Plan, backup_root: str,
              allow_links: Sequence[str] = ()) -> list[tuple[str, bytes, int]]:
    staged = staged_files(plan, backup_root=backup_root, allow_links=allow_links)
    names = (*(f.name for f in staged), "install.sh")
    out = [(f.name, f.data, 0o600) for f in staged]
    out.append(("install.sh", render_install_sh().encode(), 0o700))
    out.append(("install.ps1", render_install_ps1(names).encode(), 0o600))
    out.append(("README.txt", _readme(plan, staged, backup_root).encode(), 0o600))
    return out


def export_bundle(
    plan: Plan,
    out: Path,
    *,
    progress: ProgressCallback | None = None,
    backup_root: str = BACKUP_ROOT,
    force: bool = False,
    allow_links: Sequence[str] = (),
) -> BundleReport:
    """Write ``plan`` as a bundle folder, or a zip when ``out`` ends in ``.zip``.

    Every file is created 0600 (``install.sh`` 0700) before its bytes are written. A folder
    (0700) is staged beside ``out`` and renamed into place when complete; a zip is written to
    a unique temporary name and renamed (``core.fs``): a full disk or Ctrl-C leaves no
    half-written bundle. Neither replaces an existing bundle without ``force``.

    Args:
        plan: the plan from the preview.
        out: the folder or ``.zip`` path.
        progress: receives one event per file.
        backup_root: where install.sh keeps its backups on the device.
        force: replace an existing zip or non-empty folder (once the new one is complete).
        allow_links: symbolic links install.sh may pass on the way to a target path.

    Returns:
        Where the bundle went and its file names.

    Raises:
        PreflightError: the plan's files fail the pre-flight; nothing is written.
        DevicePathError: a device path of the plan breaks the path rule; nothing is written.
        UsageError: the plan is for Windows containers, or ``out`` exists (without ``force``).
        OutputError: ``out`` cannot be written (permission, full disk); nothing is left.
    """
    require_preflight(plan)
    contents = _contents(plan, backup_root, allow_links)
    names = tuple(n for n, _, _ in contents)
    if out.suffix.lower() == ".zip":
        if out.exists() and not force:
            raise UsageError("the bundle zip exists", where=str(out),
                             hint="Name a new .zip file, or pass --force to replace it.")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, (name, data, mode) in enumerate(contents, 1):
                info = zipfile.ZipInfo(f"{out.stem}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
                report(progress, "bundle", i, len(contents), name)
        write_atomic(out, buffer.getvalue(), 0o600, what="the bundle zip", make_parents=True)
        return BundleReport(out, names, True)
    with staged_dir(out, force=force, what="the bundle folder") as staged:
        for i, (name, data, mode) in enumerate(contents, 1):
            staged.write(name, data, mode=mode)
            report(progress, "bundle", i, len(contents), name)
    return BundleReport(out, names, False)
