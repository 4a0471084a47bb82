"""Defaults of the site commands (no imports: the command line reads them at start-up)."""

DEFAULT_WORKERS = 8
"""Devices read or deployed at once."""
DEFAULT_WARN_DAYS = 30
"""``site status`` warns about edge CAs that end within this many days."""
