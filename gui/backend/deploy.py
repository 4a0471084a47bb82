"""Deploy, export bundle and the summary values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UsageError
from core.progress import CancelToken, ProgressCallback, ProgressEvent
from core.versions import catalog
from gui.backend.chain import ChainOutcome
from gui.backend.common import _core
from gui.backend.plan import preview_plan
from gui.backend.settings import SettingsRequest, settings_request
from gui.backend.target import TargetRequest, open_target, target_label
from gui.report import CheckLine, Summary, Thumbprint
from gui.state import WizardState

DEPLOY_OPTIONS: dict[str, Any] = {}
"""Extra keyword arguments for ``core.deploy.deploy`` (tests keep backups in a sandbox)."""


def deploy(req: TargetRequest, preview: Any, *, progress: ProgressCallback | None = None,
           cancel: CancelToken | None = None) -> Any:
    """Carry out the previewed plan on the target (or write the export bundle)."""
    plan = preview_plan(preview)
    if req.kind == "bundle":
        return export_bundle(plan, Path(req.bundle_dir), progress=progress)
    deploy_mod = _core("core.deploy")
    target = open_target(req)
    try:
        return deploy_mod.deploy(plan, target, progress=progress, cancel=cancel,
                                 **DEPLOY_OPTIONS)
    finally:
        target.close()


def export_bundle(plan: Any, folder: Path, *, progress: ProgressCallback | None = None) -> Any:
    """Write the plan as an export bundle (folder, or zip when the name ends in .zip)."""
    bundle = _core("core.bundle")
    if not str(folder):
        raise UsageError("no bundle folder given", hint="Choose a new, empty folder.")
    return bundle.export_bundle(plan, folder.expanduser(), progress=progress)


PHASES = ("read", "stage", "install", "apply", "check", "done")
"""The deploy's phases in order (``core.deploy.deploy`` progress step names)."""


def step_phase(event: ProgressEvent) -> str | None:
    """Which phase a deploy progress event belongs to (uploads are part of staging)."""
    if event.step == "upload":
        return "stage"
    return event.step if event.step in PHASES else None


def describe_deploy(report: Any) -> str:
    describe = getattr(report, "describe", None)
    return str(describe()).splitlines()[0] if callable(describe) else "Done."


@dataclass(frozen=True)
class SummaryRequest:
    release_key: str
    target: str
    chain: Any
    deploy_report: Any
    output_dir: Path
    settings: SettingsRequest


def summary_request(state: WizardState) -> SummaryRequest:
    return SummaryRequest(release_key=state.release_key, target=target_label(state),
                          chain=state.chain, deploy_report=state.deploy_report,
                          output_dir=state.resolved_output_dir(),
                          settings=settings_request(state))


def summarize(req: SummaryRequest) -> Summary:
    """The summary page's values from the deploy report, the chain and the settings."""
    rel = catalog()[req.release_key]
    rep = req.deploy_report
    chain: ChainOutcome | None = req.chain if req.settings.method == "files" else None
    checks = tuple(CheckLine(c.id, c.result, tuple(c.details))
                   for c in getattr(rep, "checks", ()))
    note = ""
    backup = getattr(rep, "backup_dir", None) or ""
    files: tuple[str, ...] = tuple(getattr(rep, "installed", ()))
    if hasattr(rep, "names") and hasattr(rep, "path"):  # an export bundle
        note = (f"Bundle written to {rep.path}. Copy it to the device and run install.sh as "
                "root; it backs up, installs, applies and checks like a deploy.")
        backup = "made by install.sh on the device"
        files = tuple(rep.names)
    elif getattr(rep, "outcome", "") == "already-deployed":
        note = "The device already ran this plan; nothing was changed."
    expiry = chain.edge_ca.not_after if chain is not None and chain.edge_ca else None
    s = req.settings
    if s.method in ("quickstart", "est") and s.auto_renew and rel.auto_renew:
        renewal = (f"The device renews its {rel.ca_term} itself: at {s.threshold} "
                   f"(retry every {s.retry}). Each renewal restarts all modules.")
    elif s.method == "quickstart":
        renewal = (f"Quickstart {rel.ca_term}, {s.quickstart_days} days, not renewed "
                   "automatically: restart IoT Edge or deploy again before it ends.")
    elif expiry is not None:
        renewal = (f"Not renewed by the device: replace the {rel.ca_term} before it expires "
                   f"on {expiry:%Y-%m-%d}; iotedge check warns from "
                   f"{rel.expiry_warning_days} days before.")
    else:
        renewal = "Issued by the EST server."
    prints = tuple(Thumbprint(r.role, r.subject, r.sha256, not_after=r.not_after)
                   for r in (chain.rows if chain is not None else ()))
    return Summary(target=req.target, release=rel.label, ca_term=rel.ca_term,
                   edge_ca_expiry=expiry, renewal=renewal, backup_location=backup,
                   output_dir=str(req.output_dir), checks=checks,
                   checks_note=note or "no certificate checks were reported",
                   thumbprints=prints, files=files)
