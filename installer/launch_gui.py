"""Frozen entry point of ``edgecert-gui`` (the wizard, a windowed executable)."""

import sys

from gui.app import main

sys.exit(main())
