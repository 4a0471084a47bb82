"""Frozen entry point of ``edgecert`` (the command line, a console executable)."""

import sys

from core.cli import main

sys.exit(main())
