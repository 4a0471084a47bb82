"""Configuration errors: subclasses of ``core.errors.ConfigError`` for the config package."""

from __future__ import annotations

from core.errors import ConfigError


class RenewalPolicyError(ConfigError):
    """A ``threshold`` or ``retry`` value does not follow the runtime's grammar."""


class UriError(ConfigError):
    """A ``file://`` or ``pkcs11:`` URI the runtime would reject."""


class SettingsError(ConfigError):
    """The wanted certificate settings contradict each other or the release."""


class ConfigValidationError(ConfigError):
    """The edited configuration has errors; ``findings`` lists every one of them."""

    def __init__(self, message: str, *, findings: tuple[object, ...] = (), hint: str = "",
                 where: str | None = None) -> None:
        super().__init__(message, hint=hint, where=where)
        self.findings = findings
