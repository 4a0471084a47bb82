"""Device configuration: edit, validate, diff and plan the IoT Edge config for our certificates.

The names below are the package's public API; the modules hold one concept each.
"""

from core.config.device_paths import DevicePaths, default_paths
from core.config.diff import config_diff, redact
from core.config.errors import (
    ConfigValidationError,
    RenewalPolicyError,
    SettingsError,
    UriError,
)
from core.config.migrate import Migration, migrate_config_yaml
from core.config.planning import build_plan, plan_diff
from core.config.renewal import RenewalPolicy, check_against_lifetime, parse_policy
from core.config.settings import (
    AutoRenew,
    CertSettings,
    EstServer,
    Issued,
    Pkcs11,
    Preloaded,
    Quickstart,
)
from core.config.toml_edit import edit_config_toml
from core.config.uris import check_file_uri, file_uri, file_uri_path, parse_pkcs11_uri
from core.config.validate import Finding, check_config_toml, check_hostname
from core.config.yaml_edit import LegacyCertificates, edit_config_yaml, legacy_from_settings

__all__ = [
    "AutoRenew", "CertSettings", "ConfigValidationError", "DevicePaths", "EstServer",
    "Finding", "Issued", "LegacyCertificates", "Migration", "Pkcs11", "Preloaded", "Quickstart",
    "RenewalPolicy", "RenewalPolicyError", "SettingsError", "UriError", "build_plan",
    "check_against_lifetime", "check_config_toml", "check_file_uri", "check_hostname",
    "config_diff", "default_paths", "edit_config_toml", "edit_config_yaml", "file_uri",
    "file_uri_path", "legacy_from_settings", "migrate_config_yaml", "parse_pkcs11_uri",
    "parse_policy", "plan_diff", "redact",
]
