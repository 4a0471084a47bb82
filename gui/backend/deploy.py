"""Deploy, export bundle and the summary values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from core.errors import UsageError
from core.progress import CancelToken, ProgressCallback, ProgressEvent
from core.versions import catalog
from gui.backend.chain import ChainOutcome
from gui.backend.plan import Preview
from gui.backend.settings import SettingsRequest, settings_request
from gui.backend.target import TargetRequest, open_target, target_label
from gui.report import CheckLine, Summary, Thumbprint
from gui.state import WizardState

if TYPE_CHECKING:
    from core.bundle import BundleReport
    from core.deploy import DeployReport
    from core.plan import Plan


class DeployOptions(TypedDict, total=False):
    """Extra keyword arguments for ``core.deploy.deploy``."""

    backup_root: str
    lock_wait: int


DEPLOY_OPTIONS: DeployOptions = {}
"""Extra keyword arguments for ``core.deploy.deploy`` (tests keep backups in a sandbox)."""


def deploy(req: TargetRequest, preview: Preview, *, progress: ProgressCallback | None = None,
           cancel: CancelToken | None = None) -> DeployReport | BundleReport:
    """Carry out the previewed plan on the target (or write the export bundle)."""
    from core.deploy import deploy as core_deploy

    if req.kind == "bundle":
        return export_bundle(preview.plan, Path(req.bundle_dir), progress=progress)
    target = open_target(req)
    try:
        return core_deploy(preview.plan, target, progress=progress, cancel=cancel,
                           **DEPLOY_OPTIONS)
    finally:
        target.close()


def export_bundle(plan: Plan, folder: Path, *,
                  progress: ProgressCallback | None = None) -> BundleReport:
    """Write the plan as an export bundle (folder, or zip when the name ends in .zip)."""
    from core.bundle import export_bundle as core_export_bundle

    if not str(folder):
        raise UsageError("no bundle folder given", hint="Choose a new, empty folder.")
    return core_export_bundle(plan, folder.expanduser(), progress=progress)


PHASES = ("read", "stage", "install", "apply", "check", "done")
"""The deploy's phases in order (``core.deploy.deploy`` progress step names)."""


def step_phase(event: ProgressEvent) -> str | None:
    """Which phase a deploy progress event belongs to (uploads are part of staging)."""
    if event.step == "upload":
        return "stage"
    return event.step if event.step in PHASES else None


def describe_deploy(report: DeployReport | BundleReport) -> str:
    return report.describe().splitlines()[0]


@dataclass(frozen=True)
class SummaryRequest:
    release_key: str
    target: str
    chain: ChainOutcome | None
    deploy_report: DeployReport | BundleReport | None
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
    from core.bundle import BundleReport
    from core.deploy import DeployReport

    rep = req.deploy_report
    chain = req.chain if req.settings.method == "files" else None
    checks: tuple[CheckLine, ...] = ()
    note = ""
    backup = ""
    files: tuple[str, ...] = ()
    if isinstance(rep, BundleReport):
        note = (f"Bundle written to {rep.path}. Copy it to the device and run install.sh as "
                "root; it backs up, installs, applies and checks like a deploy.")
        backup = "made by install.sh on the device"
        files = rep.names
    elif isinstance(rep, DeployReport):
        checks = tuple(CheckLine(c.id, c.result, tuple(c.details)) for c in rep.checks)
        backup = rep.backup_dir or ""
        files = rep.installed
        if rep.outcome == "already-deployed":
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
