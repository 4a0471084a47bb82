"""Configuration errors, defined in ``core.errors`` (the one error tree) and named here too."""

from __future__ import annotations

from core.errors import ConfigValidationError as ConfigValidationError
from core.errors import RenewalPolicyError as RenewalPolicyError
from core.errors import SettingsError as SettingsError
from core.errors import UriError as UriError
