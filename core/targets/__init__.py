"""Where a plan is carried out: an SSH device, an EFLOW VM, this computer (one protocol)."""

from core.targets.base import CommandResult, Target, quote_argv

__all__ = ["CommandResult", "Target", "quote_argv"]
