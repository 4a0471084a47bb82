"""The ``edgecert`` command line: a thin layer over ``core``.

Each area registers its own sub-commands (``core.cli.chain``, ``core.cli.config``,
``core.cli.deploy``). Exit codes: 0 done, 1 failed (errors found / rolled back), 2 bad input or
usage (nothing touched), 3 failed and rollback failed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from core import __version__
from core.errors import EdgecertError

_AREAS = ("core.cli.chain", "core.cli.config", "core.cli.deploy", "core.cli.site")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgecert",
        description="Put an Azure IoT Edge device on your own certificate chain.",
    )
    parser.add_argument("--version", action="version", version=f"edgecert {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is being done")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``edgecert`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except EdgecertError as exc:
        sys.stderr.write(f"edgecert: error: {exc.describe()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("edgecert: interrupted\n")
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
