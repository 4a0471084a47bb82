"""Build the deploy plan: pure computation from the release, platform, files and settings.

``build_plan`` does no I/O: the caller passes the bytes of the local certificate files, the
device's current config (or None) and, optionally, the device's template. The returned
:class:`core.plan.Plan` is what the preview shows and what the deploy executes.

Layout choices (facts §7, §8):

* 1.2+: ``/var/aziot`` 755 root, ``/var/aziot/certs`` 755 aziotcs, ``/var/aziot/secrets`` 700
  aziotks; certificates 0644 aziotcs:aziotcs, keys 0600 aziotks:aziotks, config 0600 root.
* 1.1 on Linux/EFLOW: the same directories, owned by ``iotedge`` (the 1.1 daemon's user, which
  needs read access and, per the docs' issue #90024, write access to the directory). Using the
  1.2+ locations means a later ``iotedge config import`` keeps working paths; only the owners
  change on upgrade.
* 1.1 on Windows: ``C:\\ProgramData\\iotedge\\certs`` and ``…\\secrets`` (ACLs, not modes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import tomllib
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from core.config.device_paths import DevicePaths as DevicePaths  # re-exported
from core.config.device_paths import (
    check_device_folder,
    check_install_path,
    check_own_folder,
)
from core.config.device_paths import default_paths as default_paths  # re-exported
from core.config.diff import config_diff
from core.config.settings import CertSettings, Issued, Preloaded, Quickstart
from core.config.toml_edit import edit_config_toml
from core.config.uris import file_uri_path, is_pkcs11
from core.config.validate import Finding, check_config_toml, raise_on_errors
from core.config.yaml_edit import edit_config_yaml, legacy_from_settings
from core.errors import ConfigParseError, UnreadableFileError, UsageError
from core.plan import (
    ClearState,
    Command,
    ConfigChange,
    EnsureDir,
    FileRole,
    InstallFile,
    Plan,
    ReadableBy,
)
from core.versions import EdgeRelease, Platform

AZIOT_ROOT = "/var/aziot"
EDGE_CA_IDS = ("aziot-edged-ca", "aziot-edged-ca-temp")
"""Cert/key IDs of the edge CA and its quickstart renewal temp (facts §3.6)."""
CERTD_CERTS = "/var/lib/aziot/certd/certs"
KEYD_KEYS = "/var/lib/aziot/keyd/keys"
LEGACY_HSM = ("/var/lib/iotedge/hsm/certs", "/var/lib/iotedge/hsm/cert_keys")
LEGACY_HSM_WINDOWS = ("C:\\ProgramData\\iotedge\\hsm\\certs",
                      "C:\\ProgramData\\iotedge\\hsm\\cert_keys")
CHECK_IDS = ("certs-preloaded", "certs-read", "key-pairs-read", "certs-match-private-keys",
             "configs-up-to-date", "config-up-to-date", "hostname")
CHECK_IDS_LEGACY = ("config-yaml-well-formed", "certificates-quickstart",
                    "identity-certificate-expiry")


def store_file_name(cert_id: str, suffix: str) -> str:
    """certd/keyd file name of an ID: its alphanumerics, ``-``, sha256 of the ID (facts §8.2)."""
    kept = "".join(c for c in cert_id if c.isascii() and c.isalnum())
    return f"{kept}-{hashlib.sha256(cert_id.encode()).hexdigest()}.{suffix}"


def edge_ca_state_files() -> tuple[str, ...]:
    """Exactly the edge CA's own files in certd and keyd; never any other key."""
    out = [posixpath.join(CERTD_CERTS, store_file_name(i, "cer")) for i in EDGE_CA_IDS]
    out += [posixpath.join(KEYD_KEYS, store_file_name(i, "key")) for i in EDGE_CA_IDS]
    return tuple(out)


def _decode(data: bytes | None, where: str) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigParseError(
            f"not UTF-8 text (byte {exc.start})",
            hint="Save the file as UTF-8 (the runtime requires it).", where=where,
        ) from exc


def _files(release: EdgeRelease, platform: Platform, settings: CertSettings,
           given: dict[FileRole, bytes | None], folders: tuple[str, ...] = ()
           ) -> tuple[list[InstallFile], list[str]]:
    """Files to install and warnings about expected files not given."""
    legacy = release.is_legacy
    cert_owner = "iotedge" if legacy else "aziotcs"
    key_owner = "iotedge" if legacy else "aziotks"
    if platform == "windows":
        cert_owner = key_owner = "Administrators"
    wanted: list[tuple[FileRole, str | None, int, str, bool]] = []
    ca = settings.edge_ca
    if isinstance(ca, Preloaded):
        wanted.append(("edge-ca-cert", ca.cert, 0o644, cert_owner, False))
        if not is_pkcs11(ca.pk):
            wanted.append(("edge-ca-key", ca.pk, 0o600, key_owner, True))
    if settings.trust_bundle_cert is not None:
        wanted.append(("trust-bundle", settings.trust_bundle_cert, 0o644, cert_owner, False))

    files: list[InstallFile] = []
    warnings: list[str] = []
    named = {role for role, *_ in wanted}
    for role, data in given.items():
        if data is not None and role not in named:
            raise UsageError(
                f"a {role} file was given but the settings do not use one",
                hint="Drop that file, or choose settings that reference it (a preloaded "
                     f"{release.ca_term} needs cert and key; a trust bundle needs its path).",
            )
    for role, uri, mode, owner, secret in wanted:
        assert uri is not None
        path = file_uri_path(uri, where=role)
        data = given.get(role)
        if data is not None:
            check_install_path(path, rel=release, platform=platform, folders=folders,
                               what=f"the {role} path")
        if data is None:
            warnings.append(f"{path} ({role}) is not installed by edgecert: it must already be "
                            "on the device")
            continue
        if not data.strip():
            raise UsageError(f"the {role} file is empty",
                             hint="Choose the right file; an empty file would break the runtime.")
        files.append(InstallFile(path=path, data=data, mode=mode, owner=owner, group=owner,
                                 role=role, secret=secret))
    return files, warnings


def _dirs(release: EdgeRelease, platform: Platform, files: Iterable[InstallFile]
          ) -> list[EnsureDir]:
    """Each file's own directory (and /var/aziot above it) with owner and mode."""
    if platform == "windows":
        seen: dict[str, EnsureDir] = {}
        for f in files:
            parent = f.path.rsplit("\\", 1)[0]
            seen.setdefault(parent, EnsureDir(parent, 0o700 if f.secret else 0o755,
                                              "Administrators", "Administrators"))
        return list(seen.values())
    by_dir: dict[str, set[bool]] = {}
    for f in files:
        by_dir.setdefault(posixpath.dirname(f.path), set()).add(f.secret)
    out: list[EnsureDir] = []
    if any(d == AZIOT_ROOT or d.startswith(AZIOT_ROOT + "/") for d in by_dir):
        # 755, never 750: a 750 /var/aziot breaks the runtime (facts §7, iotedge-eflow#214).
        out.append(EnsureDir(AZIOT_ROOT, 0o755, "root", "root"))
    legacy = release.is_legacy
    for directory, kinds in sorted(by_dir.items()):
        check_own_folder(directory)
        if directory == AZIOT_ROOT:
            continue
        if kinds == {True}:
            owner = "iotedge" if legacy else "aziotks"
            out.append(EnsureDir(directory, 0o700, owner, owner))
        elif kinds == {False}:
            owner = "iotedge" if legacy else "aziotcs"
            out.append(EnsureDir(directory, 0o755, owner, owner))
        else:
            # Certificates and keys together: a root-owned 755 directory lets both service
            # users in; the files' own modes keep the key private.
            out.append(EnsureDir(directory, 0o755, "root", "root"))
    return out


def _readable(release: EdgeRelease, platform: Platform, files: Iterable[InstallFile]
              ) -> list[ReadableBy]:
    if platform == "windows":
        return []
    if release.is_legacy:
        return [ReadableBy(f.path, "iotedge") for f in files]
    return [ReadableBy(f.path, "aziotks" if f.role == "edge-ca-key" else "aziotcs")
            for f in files]


def _edge_ca_of(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return tomllib.loads(text).get("edge_ca")
    except tomllib.TOMLDecodeError:
        return None


def _commands(release: EdgeRelease, platform: Platform, config_path: str
              ) -> tuple[tuple[Command, ...], tuple[Command, ...]]:
    check_argv = ("iotedge", "check", "--verbose", "-o", "json")
    if platform == "windows":
        return ((Command(("powershell", "-NoProfile", "-NonInteractive", "-Command",
                          "Restart-Service iotedge"), False, "restart IoT Edge"),),
                (Command(check_argv, False, "verify the certificates"),))
    if release.is_legacy:
        apply = Command(("systemctl", "restart", "iotedge"), True,
                        "restart IoT Edge so it loads the new certificates")
    else:
        apply = Command(("iotedge", "config", "apply", "-c", config_path), True,
                        "apply config.toml and restart the IoT Edge services")
    return (apply,), (Command(check_argv, True, "verify the certificates"),)


def _describe(findings: Iterable[Finding]) -> list[str]:
    return [f"{f.message} ({f.hint})" for f in findings if f.severity != "error"]


def _edge_ca_facts(cert_pem: bytes | None, settings: CertSettings
                   ) -> tuple[dt.timedelta | None, str | None]:
    """The edge CA's lifetime and CN: from its certificate (the first in the full chain), or
    the lifetime the settings give a CA the device makes."""
    if cert_pem is None or not cert_pem.strip():  # an empty file is refused with the others
        ca = settings.edge_ca
        days = ca.expiry_days if isinstance(ca, (Quickstart, Issued)) else None
        return (None if days is None else dt.timedelta(days=days)), None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise UnreadableFileError("the edge CA file is not a PEM certificate",
                                  hint="Give the edge CA full-chain PEM (edge CA first).") from exc
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else None
    return cert.not_valid_after_utc - cert.not_valid_before_utc, cn


def build_plan(
    *,
    release: EdgeRelease,
    platform: Platform,
    settings: CertSettings,
    current_config: bytes | None,
    edge_ca_cert: bytes | None = None,
    edge_ca_key: bytes | None = None,
    trust_bundle: bytes | None = None,
    template: bytes | None = None,
    device_folders: Sequence[str] = (),
) -> Plan:
    """Compute everything a deploy does, without touching anything.

    Args:
        release: the device's IoT Edge release (``core.versions.release``).
        platform: ``linux``, ``windows`` (1.1 Windows containers only) or ``eflow``.
        settings: the wanted certificate settings; device paths come from its URIs.
        current_config: the device's config file bytes, or None when it has none.
        edge_ca_cert: bytes of the edge CA full-chain PEM to install (preloaded CA).
        edge_ca_key: bytes of the edge CA private key to install (file key).
        trust_bundle: bytes of the trust bundle (root CA) PEM to install.
        template: the device's ``config.toml.edge.template`` bytes, used when it has no config.

    The edge CA's lifetime (to check a time-based renewal threshold) and CN (to compare with
    the configured hostname) come from ``edge_ca_cert``, or, for a CA the device makes, from
    its settings.
        device_folders: folders outside the release's own where files may go, named
            explicitly by the user (``--device-folder``); each is checked.

    Returns:
        The plan; ``plan.warnings`` holds every warning (quickstart, partial 1.1 triple, …).

    Raises:
        UsageError: the platform does not fit the release, or files and settings disagree.
        UnreadableFileError: ``edge_ca_cert`` is not a PEM certificate.
        ConfigParseError: the current config or template does not parse.
        SettingsError: the settings contradict each other or the release.
        ConfigValidationError: the resulting config has errors (listed in ``findings``).
        DevicePathError: a file would go to a path that is not normalised, holds a control
            character, or lies outside the release's folders and ``device_folders``.
    """
    if platform not in release.platforms:
        raise UsageError(f"{release.label} does not run on {platform}",
                         hint=f"Choose one of: {', '.join(release.platforms)}.")
    cert_lifetime, edge_ca_cn = _edge_ca_facts(edge_ca_cert, settings)
    folders = tuple(dict.fromkeys(check_device_folder(f, platform=platform)
                                  for f in device_folders))
    if platform == "windows":
        config_path = release.config_path_windows or release.config_path
    else:
        config_path = release.config_path
    warnings: list[str] = [release.notice] if release.notice else []
    before = _decode(current_config, config_path)

    if release.is_legacy and before is None:
        raise UsageError(
            f"no {config_path} given: a {release.label} device always has one",
            hint="Read the config file from the device; edgecert only changes its "
                 "certificates block (a template would lose the device's provisioning).",
        )
    if release.is_legacy:
        after, findings = edit_config_yaml(before, legacy_from_settings(settings),
                                           where=config_path)
        owner = "Administrators" if platform == "windows" else "iotedge"
    else:
        after = edit_config_toml(before, settings, release,
                                 template=_decode(template, "config.toml.edge.template"),
                                 where=config_path)
        findings = check_config_toml(after, release, where=config_path,
                                     cert_lifetime=cert_lifetime, edge_ca_cn=edge_ca_cn)
        raise_on_errors(findings, where=config_path)
        owner = "root"
    warnings += _describe(findings)

    files, missing = _files(release, platform, settings, {
        "edge-ca-cert": edge_ca_cert, "edge-ca-key": edge_ca_key, "trust-bundle": trust_bundle},
        folders)
    warnings += missing
    if settings.pkcs11 is not None:
        warnings.append("With PKCS#11 configured, keys the runtime generates live in the HSM; "
                        "deleting files does not remove them.")

    ca_changed = bool(files) or before is None or (
        not release.is_legacy and _edge_ca_of(before) != _edge_ca_of(after)) or (
        release.is_legacy and before != after)
    if not ca_changed:
        clear = ClearState()
    elif release.is_legacy:
        clear = ClearState(dir_contents=LEGACY_HSM_WINDOWS if platform == "windows"
                           else LEGACY_HSM)
    else:
        # Only the edge CA's own cert and key files: other keys protect identities and data.
        clear = ClearState(files=edge_ca_state_files())

    apply, check = _commands(release, platform, config_path)
    return Plan(
        release=release.key,
        platform=platform,
        dirs=tuple(_dirs(release, platform, files)),
        files=tuple(files),
        config=ConfigChange(path=config_path, before=current_config,
                            after=after.encode("utf-8"), mode=0o600, owner=owner, group=owner),
        clear=clear,
        apply=apply,
        check=check,
        check_ids=CHECK_IDS_LEGACY if release.is_legacy else CHECK_IDS,
        readable=tuple(_readable(release, platform, files)),
        warnings=tuple(warnings),
        device_folders=folders,
    )


def plan_diff(plan: Plan) -> str:
    """The redacted unified diff of the plan's config change."""
    before = None if plan.config.before is None else plan.config.before.decode("utf-8")
    return config_diff(before, plan.config.after.decode("utf-8"), device_path=plan.config.path)

