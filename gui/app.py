"""Start the edgecert wizard (``edgecert-gui``), its self-test, or its screenshot renderer."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

USAGE = "edgecert-gui [--screenshots DIR] [--self-test]"


def _parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edgecert-gui", usage=USAGE,
                                     description="The edgecert wizard.")
    parser.add_argument("--screenshots", metavar="DIR", type=Path,
                        help="render every page with demo data to PNG files in DIR, then exit")
    parser.add_argument("--self-test", action="store_true",
                        help="check the installation and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    known, _qt_args = parser.parse_known_args(args)
    return known


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``edgecert-gui``."""
    args = sys.argv if argv is None else argv
    if "--self-test" in args[1:]:  # installation check, see gui/selftest.py
        from gui.selftest import run

        return run(args[1:])
    options = _parse(args[1:])
    logging.basicConfig(level=logging.INFO if options.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(args)
    assert isinstance(app, QApplication)
    app.setApplicationName("edgecert")
    app.setOrganizationName("edgecert")
    _install_excepthook()
    from gui import workers

    workers.collect_garbage_on_gui_thread()

    if options.screenshots is not None:
        from gui.screenshots import render_all

        written = render_all(options.screenshots)
        for path in written:
            print(path)
        return 0

    from gui.single import claim
    from gui.wizard import SetupWizard, settings

    instance = claim(settings().fileName())
    if instance is None:
        print("edgecert is already open: its window was brought to the front.")
        return 0
    wizard = SetupWizard()
    instance.window = wizard
    wizard.show()
    from gui.widgets.file_inputs import install_file_dialog_sizing

    install_file_dialog_sizing(app)  # Qt's file dialogs open large enough to read
    code = int(app.exec())
    instance.release()
    workers.cancel_all()
    workers.wait_all()
    return code


def _install_excepthook() -> None:
    """An exception that escapes a Qt slot still reaches the error dialog, not just stderr."""
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: object) -> None:
        if not isinstance(exc, Exception):
            previous(exc_type, exc, tb)  # type: ignore[arg-type]
            return
        logging.getLogger("gui").error("uncaught", exc_info=(exc_type, exc, tb))  # type: ignore[arg-type]
        from gui import dialogs

        dialogs.show_error(None, exc)

    sys.excepthook = hook


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
