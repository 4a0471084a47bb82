"""Device settings: the page's inputs, their live check, and CertSettings for core."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from core.errors import EdgecertError, UsageError
from core.versions import catalog
from gui.backend.chain import ChainOutcome
from gui.state import WizardState

if TYPE_CHECKING:
    from core.config.settings import CertSettings, Method, SettingsChoice
    from core.versions import Platform


@dataclass(frozen=True)
class SettingsRequest:
    release_key: str
    method: str
    cert_dir: str
    key_dir: str
    quickstart_days: int
    auto_renew: bool
    threshold: str
    retry: str
    est_url: str
    est_username: str
    pkcs11_uri: str = field(repr=False)
    pkcs11_lib_path: str
    est_password: str = field(default="", repr=False)


def settings_request(state: WizardState) -> SettingsRequest:
    return SettingsRequest(
        release_key=state.release_key, method=state.edge_ca_method, cert_dir=state.cert_dir,
        key_dir=state.key_dir, quickstart_days=state.quickstart_days,
        auto_renew=state.auto_renew, threshold=state.renew_threshold, retry=state.renew_retry,
        est_url=state.est_url, est_username=state.est_username, pkcs11_uri=state.pkcs11_uri,
        pkcs11_lib_path=state.pkcs11_lib_path, est_password=state.est_password,
    )


def check_device_settings(req: SettingsRequest) -> dict[str, str]:
    """Problems of single fields, by field name, from core's own parsers (empty: all fine).

    Rules that need the whole configuration (EST URL, a PKCS#11 key's library, …) are core's
    validation of the plan, shown when the preview builds it.
    """
    from core.config.renewal import parse_policy
    from core.config.uris import file_uri, parse_pkcs11_uri

    problems: dict[str, str] = {}

    def record(name: str, exc: EdgecertError) -> None:
        problems[name] = f"{exc.message}. {exc.hint}".strip()

    rel = catalog()[req.release_key]
    if req.method == "files":
        for name, value in (("cert_dir", req.cert_dir), ("key_dir", req.key_dir)):
            if not value:
                continue  # the release's standard folder
            try:
                file_uri(value)
            except EdgecertError as exc:
                record(name, exc)
        if req.pkcs11_uri:
            try:
                parse_pkcs11_uri(req.pkcs11_uri, key="PKCS#11 key URI")
            except EdgecertError as exc:
                record("pkcs11_uri", exc)
    if req.auto_renew and rel.auto_renew and req.method in ("quickstart", "est"):
        for name, value in (("threshold", req.threshold), ("retry", req.retry)):
            try:
                parse_policy(value, field=name)
            except EdgecertError as exc:
                record(name, exc)
    return problems


def device_file_paths(release_key: str, platform: str, cert_dir: str, key_dir: str
                      ) -> tuple[str, str, str]:
    """Edge CA cert, key and trust bundle paths on the device (core's names, chosen folders)."""
    paths = settings_choice(SettingsRequest(
        release_key=release_key, method="files", cert_dir=cert_dir, key_dir=key_dir,
        quickstart_days=0, auto_renew=False, threshold="", retry="", est_url="",
        est_username="", pkcs11_uri="", pkcs11_lib_path=""), platform).paths
    return paths.edge_ca_cert, paths.edge_ca_key, paths.trust_bundle


def settings_choice(req: SettingsRequest, platform: str) -> SettingsChoice:
    """The Device page's fields as core's ``SettingsChoice`` (renewal only where it is shown)."""
    from core.config.settings import AutoRenew, EstServer, SettingsChoice

    rel = catalog()[req.release_key]
    renew = None
    if req.auto_renew and rel.auto_renew and req.method in ("quickstart", "est"):
        renew = AutoRenew(rotate_key=True, threshold=req.threshold, retry=req.retry)
    files = req.method == "files"
    return SettingsChoice(
        release=rel, platform=cast("Platform", platform),
        method=cast("Method", req.method), cert_dir=req.cert_dir if files else None,
        key_dir=req.key_dir if files else None, edge_ca_key=req.pkcs11_uri or None,
        installs_edge_ca=files, installs_trust_bundle=files,
        quickstart_days=req.quickstart_days,
        est=EstServer(req.est_url, username=req.est_username or None,
                      password=req.est_password or None) if req.method == "est" else None,
        auto_renew=renew,
        # Without a library path no [aziot_keys] is written, and core's validation says what
        # is missing when the plan is built.
        pkcs11_lib=req.pkcs11_lib_path or None if req.pkcs11_uri else None)


def cert_settings(req: SettingsRequest, platform: str, chain: ChainOutcome | None
                  ) -> CertSettings:
    """The wizard's device settings as ``core.config.settings.CertSettings``."""
    from core.config.settings import cert_settings as core_cert_settings

    if req.method == "files" and chain is None:
        raise UsageError("no certificate chain yet",
                         hint="Go back to the Certificate chain page and make or import one.")
    return core_cert_settings(settings_choice(req, platform))
