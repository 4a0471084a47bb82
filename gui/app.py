"""Start the edgecert wizard."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``edgecert-gui``."""
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    label = QLabel("edgecert: the wizard is under construction. Use the `edgecert` CLI meanwhile.")
    label.setMinimumSize(480, 120)
    label.setWindowTitle("edgecert")
    label.show()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
