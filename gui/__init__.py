"""edgecert GUI: the Qt wizard. The only package that imports PySide6."""
