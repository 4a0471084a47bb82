"""edgecert core: headless certificate, configuration and deployment logic for Azure IoT Edge.

Nothing in this package imports Qt; the GUI and the CLI are both thin layers over it.
"""



def _guard_startup() -> None:
    """Ctrl-C while the ``edgecert`` command is still starting: exit 130, no traceback.

    Only for the console script (its name is the program's); ``core.cli.main`` takes over
    with its own handler as soon as it runs. The GUI and other programs importing ``core`` are
    left alone.
    """
    import os
    import signal
    import sys

    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    if name not in ("edgecert", "edgecert.exe", "edgecert-script.py"):
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def on_sigint(signum: int, frame: object) -> None:
        os.write(2, b"edgecert: interrupted (Ctrl-C) while starting; nothing was done\n")
        os._exit(130)

    signal.signal(signal.SIGINT, on_sigint)


_guard_startup()

from core.errors import EdgecertError  # noqa: E402 - after the guard, on purpose

__all__ = ["EdgecertError", "__version__"]

__version__ = "0.1.0"
