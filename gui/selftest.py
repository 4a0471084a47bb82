"""Self-test of an installed or frozen edgecert: ``edgecert-gui --self-test``.

Checks, in order, that every module imports, the data files load, the Qt platform plugins are
there, the wizard renders (offscreen, no window is ever shown) and a demo chain can be generated
and validated in a temporary folder. Prints one line per step and exits 0 when all pass, or 1
naming the first failing step. The release build runs it on the frozen app before packaging it.

``--self-test-report FILE`` also writes the report to FILE (a windowed Windows executable has no
console to print to).
"""

from __future__ import annotations

import importlib
import itertools
import os
import pkgutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QApplication

_DEMO_NAME = "selftest-device"


@dataclass(frozen=True)
class StepResult:
    """Outcome of one self-test step."""

    name: str
    ok: bool
    detail: str
    seconds: float


class SelfTestFailed(Exception):
    """A step found something wrong; the message says what."""


def _walk(package: str) -> list[str]:
    module = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # running, not importing: __main__ modules start the program
        names.append(info.name)
    return names


def step_imports() -> str:
    """Import every module of ``core`` and ``gui`` (catches modules a freezer left out)."""
    names = _walk("core") + _walk("gui") + _walk("resources")
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    if failed:
        raise SelfTestFailed("cannot import " + "; ".join(failed))
    if len(names) < 5:
        raise SelfTestFailed(f"only {len(names)} modules found: {', '.join(names)}")
    return f"{len(names)} modules"


def step_resources() -> str:
    """Parse every data file below ``resources/`` (TOML, YAML) and load the release catalog."""
    import tomllib

    from core.resources import resources_dir
    from core.versions import catalog

    root = resources_dir()
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    for path in files:
        data = path.read_bytes()
        try:
            if path.suffix == ".toml":
                tomllib.loads(data.decode("utf-8"))
            elif path.suffix in {".yaml", ".yml"}:
                from ruamel.yaml import YAML  # the round-trip parser the 1.1 editor uses

                YAML(typ="rt").load(data.decode("utf-8"))
        except Exception as exc:  # any parse failure names the file
            raise SelfTestFailed(f"{path.relative_to(root)}: {exc}") from exc
    if not (root / "versions.toml").is_file():
        raise SelfTestFailed(f"versions.toml missing in {root}")
    releases = catalog()
    if not releases:
        raise SelfTestFailed("the release catalog is empty")
    return f"{len(files)} files, releases {', '.join(releases)}"


def _prepare_qt_environment() -> None:
    # Render offscreen unless the caller chose a platform: the self-test never shows a window
    # and must work on a build agent without a display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _app() -> QApplication:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    return app


def step_qt_plugins() -> str:
    """The native platform plugin of this OS ships with the app (needed for a real window)."""
    from PySide6.QtCore import QLibraryInfo

    _app()
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    native = {"win32": "qwindows", "darwin": "qcocoa"}.get(sys.platform, "qxcb")
    found = sorted(p.stem.removeprefix("lib") for p in (plugins / "platforms").glob("*"))
    if not any(name.startswith(native) for name in found):
        raise SelfTestFailed(f"platform plugin {native} missing in {plugins}; found {found}")
    return f"platforms: {', '.join(found)}"


def _is_blank(pixmap: QPixmap) -> bool:
    image = pixmap.toImage().scaled(48, 48)
    colours = {image.pixel(x, y) for x in range(image.width()) for y in range(image.height())}
    return len(colours) < 2


def step_wizard() -> str:
    """Build the wizard and render the window and each of its pages offscreen."""
    from gui.wizard import SetupWizard

    app = _app()
    # The wizard the app shows; the self-test neither reads nor writes remembered inputs.
    window = SetupWizard(remember=False)
    try:
        window.show()
        app.processEvents()
        rendered = window.grab()
        if rendered.isNull() or _is_blank(rendered):
            raise SelfTestFailed("the wizard window renders blank")
        pages = 0
        window.ensure_pages()  # pages built after the first paint, built now
        for page_id in window.pageIds():
            page = window.page(page_id)
            page.resize(window.size())
            shot = page.grab()
            if shot.isNull():
                raise SelfTestFailed(f"page {page_id} ({page.title()!r}) does not render")
            pages += 1
        return f"{type(window).__name__} {rendered.width()}x{rendered.height()}, {pages} pages"
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def _cli(*args: str) -> tuple[int, str]:
    """Run ``edgecert ARGS`` in this process; returns (exit code, output)."""
    import contextlib
    import io

    from core.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return code, buffer.getvalue()


def _verify_links(full_chain: Path) -> int:
    """Each certificate of a leaf-first PEM bundle is signed by the next; returns the count."""
    from cryptography import x509

    certs = x509.load_pem_x509_certificates(full_chain.read_bytes())
    for child, parent in itertools.pairwise(certs):
        child.verify_directly_issued_by(parent)
    return len(certs)


def _demo_chain(out: Path) -> str:
    """Generate and check a demo chain through the ``edgecert chain`` commands.

    Uses the command-line contract (``chain demo`` and ``chain check``) so the self-test follows
    the same path a technician's commands take.
    """
    code, text = _cli("chain", "demo", "--out", str(out), "--name", _DEMO_NAME,
                      "--key-type", "ec-p256")
    if code != 0:
        raise SelfTestFailed(f"edgecert chain demo exit {code}: {text.strip()}")
    full = out / "certs" / f"iot-edge-device-ca-{_DEMO_NAME}-full-chain.cert.pem"
    key = out / "private" / f"iot-edge-device-ca-{_DEMO_NAME}.key.pem"
    root = out / "certs" / "azure-iot-test-only.root.ca.cert.pem"
    missing = [p.name for p in (full, key, root) if not p.is_file()]
    if missing:
        raise SelfTestFailed(f"chain demo wrote no {', '.join(missing)}")
    if os.name == "posix" and key.stat().st_mode & 0o077:
        raise SelfTestFailed(f"{key.name} is readable by others ({key.stat().st_mode & 0o777:o})")
    links = _verify_links(full)
    if links < 3:
        raise SelfTestFailed(f"{full.name} holds {links} certificates, expected edge CA to root")
    code, text = _cli("chain", "check", "--cert", str(full), "--key", str(key),
                      "--trust-bundle", str(root), "--hostname", "selftest-host")
    if code != 0:
        raise SelfTestFailed(f"edgecert chain check exit {code}: {text.strip()}")
    return f"edgecert chain demo + check passed ({links} certificates, links verified)"


def step_chain() -> str:
    """Generate a demo chain in a temporary folder and validate it."""
    with tempfile.TemporaryDirectory(prefix="edgecert-selftest-") as tmp:
        out = Path(tmp) / "chain"
        return _demo_chain(out)


STEPS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("imports", step_imports),
    ("resources", step_resources),
    ("qt-plugins", step_qt_plugins),
    ("wizard", step_wizard),
    ("chain", step_chain),
)


def run_steps() -> list[StepResult]:
    """Run every step; stop at the first failure (later steps depend on earlier ones)."""
    _prepare_qt_environment()
    results = []
    for name, func in STEPS:
        start = time.perf_counter()
        try:
            detail, ok = func(), True
        except SelfTestFailed as exc:
            detail, ok = str(exc), False
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1]
            detail = f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})"
            ok = False
        results.append(StepResult(name, ok, detail, time.perf_counter() - start))
        if not ok:
            break
    return results


def format_report(results: Sequence[StepResult], total: float) -> str:
    """Human-readable report: one line per step, then the verdict."""
    from core import __version__

    lines = [f"edgecert {__version__} self-test ({sys.platform}, frozen={_frozen()})"]
    for r in results:
        lines.append(f"  {'ok  ' if r.ok else 'FAIL'} {r.name:<11} {r.seconds:6.2f}s  {r.detail}")
    failed = [r.name for r in results if not r.ok]
    verdict = f"FAILED at step {failed[0]}" if failed else "all steps passed"
    lines.append(f"self-test {verdict} in {total:.2f}s")
    return "\n".join(lines) + "\n"


def _frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the self-test; 0 when every step passed, 1 otherwise.

    Args:
        argv: the command line; ``--self-test-report FILE`` also writes the report to FILE.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    report_file = None
    if "--self-test-report" in args:
        index = args.index("--self-test-report")
        if index + 1 >= len(args):
            if sys.stderr is not None:
                sys.stderr.write("--self-test-report needs a file name\n")
            return 2
        report_file = Path(args[index + 1])
    start = time.perf_counter()
    results = run_steps()
    text = format_report(results, time.perf_counter() - start)
    if sys.stdout is not None:
        sys.stdout.write(text)
        sys.stdout.flush()
    if report_file is not None:
        report_file.write_text(text, encoding="utf-8")
    return 0 if results and all(r.ok for r in results) and len(results) == len(STEPS) else 1
