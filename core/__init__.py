"""edgecert core: headless certificate, configuration and deployment logic for Azure IoT Edge.

Nothing in this package imports Qt; the GUI and the CLI are both thin layers over it.
"""

from core.errors import EdgecertError

__all__ = ["EdgecertError", "__version__"]

__version__ = "0.1.0"
