"""Preview: the plan built by core and the redacted diff it shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from gui.backend.chain import ChainOutcome
from gui.backend.settings import SettingsRequest, cert_settings, settings_request
from gui.backend.target import ConfigCopy
from gui.state import WizardState

if TYPE_CHECKING:
    from core.config.diff import SideBySide
    from core.deploy.compare import CertChange, CertSide
    from core.deploy.state import DeviceState
    from core.plan import Plan
    from core.versions import EdgeRelease, Platform


@dataclass(frozen=True)
class PlanRequest:
    release_key: str
    platform: str
    chain: ChainOutcome | None
    settings: SettingsRequest
    device: DeviceState | ConfigCopy | None
    target_kind: str
    device_certs: tuple[tuple[str, CertSide], ...] = ()


def plan_request(state: WizardState) -> PlanRequest:
    return PlanRequest(release_key=state.release_key, platform=state.platform,
                       chain=state.chain, settings=settings_request(state),
                       device=state.device_state, target_kind=state.target_kind,
                       device_certs=state.device_certs)


@dataclass(frozen=True)
class Preview:
    """The plan and its config diff; only redacted text is ever shown."""

    plan: Plan
    unified: str
    """The unified diff, redacted by core."""
    before: str = field(repr=False)
    """The device's config text now (real, never shown: ``side`` is what the view shows)."""
    after: str = field(repr=False)
    """The config text after Deploy (real, never shown)."""
    config_path: str = ""
    new_file: bool = False
    certs: tuple[CertChange, ...] = ()
    """``core.deploy.compare.CertChange`` per role: the device now, and after Deploy."""

    @property
    def certs_changed(self) -> bool:
        return any(c.changed for c in self.certs)

    @property
    def side(self) -> SideBySide:
        """Before and after aligned on the real text, each row redacted (the side-by-side view)."""
        from core.config.diff import side_by_side

        return side_by_side(None if self.new_file else self.before, self.after)


def make_preview(req: PlanRequest) -> Preview:
    """Build the plan with core (no I/O) and the redacted diff the preview shows."""
    from core.config.planning import plan_diff
    from core.deploy.preflight import load_inputs, plan_deploy
    from core.versions import release as find_release

    release = find_release(req.release_key)
    settings = cert_settings(req.settings, req.platform, req.chain)
    chain = req.chain if req.settings.method == "files" else None
    # The same pre-flight as the CLI: role checks, the chain check, the bytes to install.
    inputs = load_inputs(
        edge_ca_cert=chain.edge_ca_chain_pem or None if chain is not None else None,
        edge_ca_key=(chain.edge_ca_key_pem or None if chain is not None
                     and not req.settings.pkcs11_uri else None),
        trust_bundle=chain.trust_bundle_pem or None if chain is not None else None,
        ask_with="the password field of the Certificate chain page")
    folders = tuple(f for f in (req.settings.cert_dir, req.settings.key_dir) if f) \
        if chain is not None else ()
    plan = plan_deploy(inputs, release=release, platform=cast("Platform", req.platform),
                       settings=settings,
                       current_config=req.device.config if req.device is not None else None,
                       device_folders=folders).plan
    before = "" if plan.config.before is None else plan.config.before.decode("utf-8", "replace")
    after = plan.config.after.decode("utf-8", "replace")
    return Preview(plan=plan, unified=plan_diff(plan), before=before,
                   after=after, config_path=plan.config.path,
                   new_file=plan.config.before is None, certs=_cert_changes(req, release))


def _cert_changes(req: PlanRequest, release: EdgeRelease) -> tuple[CertChange, ...]:
    """The edge CA and trust bundle the device has now beside what Deploy installs."""
    from core.deploy import compare
    from gui.backend.settings import device_file_paths

    ca = release.ca_term
    s = req.settings
    after: list[tuple[str, CertSide]] = []
    if s.method == "files" and req.chain is not None:
        cert, _key, bundle = device_file_paths(req.release_key, req.platform, s.cert_dir,
                                               s.key_dir)
        after.append((ca, compare.side(cert, req.chain.edge_ca_chain_pem, first_only=True)))
        after.append(("trust bundle", compare.side(bundle, req.chain.trust_bundle_pem)))
    elif s.method == "quickstart":
        after.append((ca, compare.side("", None, note="made by the device (quickstart)")))
    elif s.method == "est":
        after.append((ca, compare.side("", None, note="issued by the EST server")))
    return compare.compare(list(req.device_certs), after)


def describe_preview(preview: Preview) -> str:
    plan = preview.plan
    n = len(plan.files)
    state = "a new file" if preview.new_file else (
        "changed" if plan.config.changed else "unchanged")
    replaced = [c.role for c in preview.certs if c.changed]
    certs = (f" The {' and the '.join(replaced)} change: see Certificates." if replaced
             else "")
    return (f"{preview.config_path}: {state}; {n} file(s) to install; "
            f"{len(plan.apply)} apply and {len(plan.check)} check command(s).{certs}")


def preview_warnings(preview: Preview) -> tuple[str, ...]:
    """What the plan warns about (pre-flight notices included), as the preview lists them."""
    return preview.plan.warnings
