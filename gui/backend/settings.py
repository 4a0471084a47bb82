"""Device settings: the page's inputs, their live check, and CertSettings for core."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from core.errors import EdgecertError, UsageError
from core.versions import catalog
from gui.backend.chain import ChainOutcome
from gui.backend.common import _core
from gui.state import WizardState


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


def _join(platform: str, folder: str, name: str) -> str:
    if platform == "windows":
        return str(PureWindowsPath(folder) / name)
    return str(PurePosixPath(folder) / name)


def device_file_paths(release_key: str, platform: str, cert_dir: str, key_dir: str
                      ) -> tuple[str, str, str]:
    """Edge CA cert, key and trust bundle paths on the device (core's names, chosen folders)."""
    planning = _core("core.config.planning")
    defaults = planning.default_paths(catalog()[release_key], platform)
    windows = platform == "windows"
    pure = PureWindowsPath if windows else PurePosixPath

    def place(default: str, folder: str) -> str:
        return _join(platform, folder, pure(default).name) if folder else default

    return (place(defaults.edge_ca_cert, cert_dir), place(defaults.edge_ca_key, key_dir),
            place(defaults.trust_bundle, cert_dir))


def cert_settings(req: SettingsRequest, platform: str, chain: ChainOutcome | None) -> Any:
    """The wizard's device settings as ``core.config.settings.CertSettings``."""
    cfg = _core("core.config.settings")
    uris = _core("core.config.uris")
    rel = catalog()[req.release_key]
    renew = None
    if req.auto_renew and rel.auto_renew and req.method in ("quickstart", "est"):
        renew = cfg.AutoRenew(rotate_key=True, threshold=req.threshold, retry=req.retry)
    if req.method == "quickstart":
        return cfg.CertSettings(edge_ca=cfg.Quickstart(expiry_days=req.quickstart_days),
                                auto_renew=renew)
    if req.method == "est":
        return cfg.CertSettings(
            edge_ca=cfg.Issued(method="est", url=req.est_url,
                               username=req.est_username or None,
                               password=req.est_password or None),
            auto_renew=renew)
    if chain is None:
        raise UsageError("no certificate chain yet",
                         hint="Go back to the Certificate chain page and make or import one.")
    cert, key, bundle = device_file_paths(req.release_key, platform, req.cert_dir, req.key_dir)
    pk = req.pkcs11_uri or uris.file_uri(key)
    # Without a library path no [aziot_keys] is written, and core's validation says what is
    # missing when the plan is built.
    pkcs11 = cfg.Pkcs11(lib_path=req.pkcs11_lib_path) if req.pkcs11_uri and \
        req.pkcs11_lib_path else None
    return cfg.CertSettings(edge_ca=cfg.Preloaded(cert=uris.file_uri(cert), pk=pk),
                            trust_bundle_cert=uris.file_uri(bundle), pkcs11=pkcs11)


