"""Data files shipped with edgecert (version catalog, config templates, icons)."""
