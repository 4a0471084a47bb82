"""The wanted certificate settings of a device, as frozen values (no file format in here).

One :class:`CertSettings` describes everything edgecert writes into a device configuration:
the trust bundle, exactly one edge CA variant (preloaded / quickstart / issued), optional
auto-renewal, PKCS#11 and the global EST server. Secrets (EST password, PINs inside URIs) are
kept out of ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.config.device_paths import DevicePaths, default_paths, paths_in_folders
from core.config.uris import file_uri, is_pkcs11
from core.errors import UsageError
from core.versions import EdgeRelease, Platform

IssueMethod = Literal["est", "local_ca", "self_signed"]
DEFAULT_QUICKSTART_DAYS = 90
"""The runtime's own default lifetime of a quickstart edge CA (template: "Defaults to 90 days")."""


@dataclass(frozen=True)
class AutoRenew:
    """``[edge_ca.auto_renew]``: the runtime requires all three keys whenever the table exists."""

    rotate_key: bool = True
    threshold: str = "80%"
    retry: str = "4%"


@dataclass(frozen=True)
class Preloaded:
    """Your own edge CA from files: ``cert`` (full chain) and ``pk`` (file or PKCS#11 URI)."""

    cert: str = field(repr=False)
    pk: str = field(repr=False)


@dataclass(frozen=True)
class Quickstart:
    """The runtime generates its own edge CA. Not for production."""

    expiry_days: int = DEFAULT_QUICKSTART_DAYS


@dataclass(frozen=True)
class Issued:
    """An edge CA issued by EST, a local CA, or self-signed with a custom subject/expiry.

    The EST fields here are the inline ones of ``[edge_ca]``; the shared server settings are
    :class:`EstServer`.
    """

    method: IssueMethod
    common_name: str | None = None
    expiry_days: int | None = None
    url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_cert: str | None = None
    identity_pk: str | None = field(default=None, repr=False)
    bootstrap_identity_cert: str | None = None
    bootstrap_identity_pk: str | None = field(default=None, repr=False)


EdgeCa = Preloaded | Quickstart | Issued


@dataclass(frozen=True)
class Pkcs11:
    """``[aziot_keys]`` entries for keys in an HSM."""

    lib_path: str
    base_slot: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EstServer:
    """``[cert_issuance.est]``: the EST server shared by every EST-issued certificate."""

    url: str
    trusted_certs: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_cert: str | None = None
    identity_pk: str | None = field(default=None, repr=False)
    bootstrap_identity_cert: str | None = None
    bootstrap_identity_pk: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CertSettings:
    """Everything edgecert sets in a 1.2+ config.toml (and, mapped, in a 1.1 config.yaml)."""

    edge_ca: EdgeCa
    trust_bundle_cert: str | None = None
    auto_renew: AutoRenew | None = None
    pkcs11: Pkcs11 | None = None
    est: EstServer | None = None

    @property
    def variant(self) -> Literal["preloaded", "quickstart", "issued"]:
        """The name of the edge CA variant."""
        if isinstance(self.edge_ca, Preloaded):
            return "preloaded"
        if isinstance(self.edge_ca, Quickstart):
            return "quickstart"
        return "issued"


# Keys of each [edge_ca] variant, in the order edgecert writes them (runtime super_config.rs).
PRELOADED_KEYS = ("cert", "pk")
QUICKSTART_KEYS = ("auto_generated_edge_ca_expiry_days",)
ISSUED_KEYS = ("method", "common_name", "expiry_days", "url", "username", "password",
               "identity_cert", "identity_pk", "bootstrap_identity_cert", "bootstrap_identity_pk")
SUBJECT_KEYS = ("common_name", "subject")
EDGE_CA_KEYS = frozenset(PRELOADED_KEYS + QUICKSTART_KEYS + ISSUED_KEYS + ("subject", "auto_renew"))
AUTO_RENEW_KEYS = ("rotate_key", "threshold", "retry")
EST_KEYS = frozenset({"trusted_certs", "auth", "identity_auto_renew", "urls"})
EST_AUTH_KEYS = frozenset({"username", "password", "identity_cert", "identity_pk",
                           "bootstrap_identity_cert", "bootstrap_identity_pk"})
AZIOT_KEYS_KEYS = frozenset({"pkcs11_lib_path", "pkcs11_base_slot"})
TOP_LEVEL_KEYS = frozenset({
    "hostname", "parent_hostname", "local_gateway_hostname", "trust_bundle_cert",
    "allow_elevated_docker_permissions", "auto_reprovisioning_mode",
    "imported_master_encryption_key", "additional_info", "iotedge_max_requests",
    "aziot_max_requests", "cloud_timeout_sec", "cloud_retries", "prefer_module_identity_cache",
    "localid", "provisioning", "aziot_keys", "preloaded_keys", "preloaded_certs",
    "cert_issuance", "tpm", "agent", "connect", "listen", "watchdog", "moby_runtime",
    "image_garbage_collection", "edge_ca",
    "manifest_trust_bundle_cert",  # content trust, up to 1.5 (EdgeRelease.removed_keys)
})


def edge_ca_table(edge_ca: EdgeCa) -> dict[str, str | int]:
    """The ``[edge_ca]`` key/values for one variant, in writing order, without ``auto_renew``."""
    if isinstance(edge_ca, Preloaded):
        return {"cert": edge_ca.cert, "pk": edge_ca.pk}
    if isinstance(edge_ca, Quickstart):
        return {"auto_generated_edge_ca_expiry_days": edge_ca.expiry_days}
    out: dict[str, str | int] = {"method": edge_ca.method}
    for key in ISSUED_KEYS[1:]:
        value = getattr(edge_ca, key)
        if value is not None:
            out[key] = value
    return out


# ---- from the technician's choices to CertSettings --------------------------------------------

Method = Literal["files", "quickstart", "est", "local_ca", "self_signed"]
"""The kinds of edge CA a technician chooses between (``files``: your own CA)."""


@dataclass(frozen=True)
class SettingsChoice:
    """What the technician chose, in the CLI's options or on the wizard's Device page.

    ``cert_dir`` and ``key_dir`` are device folders for the standard file names (empty: the
    release's own); ``edge_ca_cert``, ``edge_ca_key`` (a path, ``file://`` or ``pkcs11:`` URI)
    and ``trust_bundle`` name device paths outright. The standard (or folder) paths are used
    for what edgecert installs (``installs_edge_ca``, ``installs_trust_bundle``); a file it
    does not install must be named.
    """

    release: EdgeRelease
    platform: Platform = "linux"
    method: Method = "files"
    cert_dir: str | None = None
    key_dir: str | None = None
    edge_ca_cert: str | None = None
    edge_ca_key: str | None = field(default=None, repr=False)
    trust_bundle: str | None = None
    installs_edge_ca: bool = True
    installs_trust_bundle: bool = True
    quickstart_days: int = DEFAULT_QUICKSTART_DAYS
    common_name: str | None = None
    expiry_days: int | None = None
    est: EstServer | None = None
    auto_renew: AutoRenew | None = None
    pkcs11_lib: str | None = None

    @property
    def folders(self) -> tuple[str, ...]:
        """The device folders named outside the release's own (``build_plan``'s
        ``device_folders``)."""
        return tuple(dict.fromkeys(f for f in (self.cert_dir, self.key_dir) if f))

    @property
    def paths(self) -> DevicePaths:
        """The device paths of the three files, from the chosen folders (names standard)."""
        if not self.folders:
            return default_paths(self.release, self.platform)
        return paths_in_folders(self.release, self.platform, self.cert_dir, self.key_dir)


def _uri(value: str | None) -> str | None:
    if value is None or value.startswith("file:") or is_pkcs11(value):
        return value
    return file_uri(value)


def cert_settings(choice: SettingsChoice) -> CertSettings:
    """The one rule from a technician's choices to :class:`CertSettings` (CLI and wizard).

    Raises:
        UsageError: the choices do not make a whole edge CA (device paths of your own CA not
            known, an EST edge CA without its server URL).
        DevicePathError: a chosen folder is not one edgecert may use.
        UriError: a path cannot be written as a ``file://`` URI.
    """
    est: EstServer | None = None
    bundle: str | None = choice.trust_bundle
    edge_ca: EdgeCa
    if choice.method == "files":
        paths = choice.paths if choice.installs_edge_ca else None
        cert = choice.edge_ca_cert or (paths.edge_ca_cert if paths else None)
        key = choice.edge_ca_key or (paths.edge_ca_key if paths else None)
        if not cert or not key:
            raise UsageError("your own edge CA needs the device paths of its certificate and "
                             "key", hint="Give the device paths where the edge CA full chain "
                                         "and key will be.")
        edge_ca = Preloaded(_uri(cert) or cert, _uri(key) or key)
    else:
        if choice.edge_ca_cert or choice.edge_ca_key:
            raise UsageError("device paths of an edge CA go with your own CA files only",
                             hint="Drop them, or choose your own CA files.")
        if choice.method == "quickstart":
            edge_ca = Quickstart(choice.quickstart_days)
        else:
            edge_ca = Issued(choice.method, common_name=choice.common_name,
                             expiry_days=choice.expiry_days)
        if choice.method == "est":
            if choice.est is None or not choice.est.url:
                raise UsageError("an EST edge CA needs the EST server URL",
                                 hint="Give the EST server URL, e.g. "
                                      "https://est.example.org/.well-known/est.")
            est = EstServer(choice.est.url,
                            tuple(_uri(p) or p for p in choice.est.trusted_certs),
                            username=choice.est.username or None,
                            password=choice.est.password or None)
    if bundle is None and choice.installs_trust_bundle:
        bundle = choice.paths.trust_bundle
    pkcs11 = Pkcs11(choice.pkcs11_lib) if choice.pkcs11_lib else None
    return CertSettings(edge_ca=edge_ca, trust_bundle_cert=_uri(bundle),
                        auto_renew=choice.auto_renew, pkcs11=pkcs11, est=est)
