"""``python -m core`` runs the edgecert CLI."""

import sys

from core.cli import main

sys.exit(main())
