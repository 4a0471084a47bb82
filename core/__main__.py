"""``python -m core`` runs the edgecert CLI."""

import sys

try:
    from core.cli import main
except KeyboardInterrupt:  # Ctrl-C before the CLI's own handler is in place
    sys.stderr.write("edgecert: interrupted (Ctrl-C) while starting; nothing was done\n")
    sys.exit(130)

sys.exit(main())
