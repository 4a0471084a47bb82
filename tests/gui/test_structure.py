"""The wizard's import structure: pages know the shared state, never the wizard or each other."""

from __future__ import annotations

import ast
from pathlib import Path

import gui.app

GUI = Path(gui.app.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_pages_import_neither_the_wizard_nor_other_pages() -> None:
    pages = sorted((GUI / "pages").glob("*.py"))
    assert len(pages) >= 8
    shared = {"gui.pages.base", "gui.pages.chain_modes"}
    for page in pages:
        imported = _imports(page)
        assert "gui.wizard" not in imported, page.name
        others = {m for m in imported if m.startswith("gui.pages.") and m not in shared
                  and not m.startswith(tuple(s + "." for s in shared))}
        assert others == set(), page.name


def test_the_self_test_builds_the_wizard_without_going_through_the_app() -> None:
    imported = _imports(GUI / "selftest.py")
    assert "gui.wizard.SetupWizard" in imported
    assert not any(m == "gui.app" or m.startswith("gui.app.") for m in imported)
