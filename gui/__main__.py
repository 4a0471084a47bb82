"""``python -m gui`` starts the wizard."""

import sys

from gui.app import main

sys.exit(main())
