"""Whole sites: many devices described in one site file, planned, deployed and watched together.

``load_site`` reads the site file (and the device lists it names: CSV, Ansible YAML or INI) and
validates it as a whole before any device is contacted. Status, plan and deploy read or change
every device through the single-device core (``core.deploy``), in parallel.
"""

from core.site.load import load_site
from core.site.model import Site, SiteCa, SiteDevice

__all__ = ["Site", "SiteCa", "SiteDevice", "load_site"]
