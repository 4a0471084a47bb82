"""Whole sites: many devices described in one site file, planned, deployed and watched together.

``core.site.load.load_site`` reads the site file (and the device lists it names: CSV, Ansible
YAML or INI) and validates it as a whole before any device is contacted. Status
(``core.site.status``), plan and deploy (``core.site.run``) read or change every device through
the single-device core (``core.deploy``), in parallel.

This package imports nothing on its own, so the command line starts as fast without it.
"""
