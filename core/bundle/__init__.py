"""Export bundle: a folder or zip that installs a Plan on a device without edgecert."""

from core.bundle.export import BundleReport, export_bundle, render_install_ps1, render_install_sh

__all__ = ["BundleReport", "export_bundle", "render_install_ps1", "render_install_sh"]
