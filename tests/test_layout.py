"""The package layout keeps its layers (README "Layout"): imports only run downwards.

core (config, extensions, database, models, params) ← sending, ui ← feature packages;
the factory and the CLI sit on top and may import anything. The client
library ``smsco`` never imports the web app or Flask.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "smsco" / "web"
CORE = {"config", "extensions", "database", "models", "params"}
ENGINE = {"sending", "ui"}
TOP = {"__init__", "cli"}


def _unit(path: Path) -> str:
    """The layout unit a file of smsco/web belongs to: a top-level module or a package."""
    return path.relative_to(WEB).parts[0].removesuffix(".py")


def _imported_units(path: Path) -> set[str]:
    """The smsco.web units a file imports (relative or absolute)."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = list(package[: len(package) - node.level + 1])
            module = base + (node.module.split(".") if node.module else [])
        else:
            module = (node.module or "").split(".")
        if module[:2] != ["smsco", "web"]:
            continue
        names = module[2:3] or [alias.name for alias in node.names]
        found.update(names)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in WEB.rglob("*.py"):
        unit = _unit(path)
        graph.setdefault(unit, set()).update(_imported_units(path) - {unit})
    return graph


def _allowed(unit: str) -> set[str] | None:
    """What a unit may import; None for the top (anything)."""
    if unit in TOP:
        return None
    if unit in CORE:
        return CORE
    if unit in ENGINE:
        return CORE | {unit}
    return None  # feature packages: checked by the cycle test and the no-loose-modules test


def test_core_and_engine_never_import_upwards():
    graph = _graph()
    offenders = {
        unit: sorted(imports - allowed)
        for unit, imports in graph.items()
        if (allowed := _allowed(unit)) is not None and imports - allowed
    }
    assert offenders == {}


def test_feature_packages_have_no_cycles():
    graph = _graph()
    features = {unit for unit in graph if unit not in CORE | ENGINE | TOP}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()) & features:
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert sorted(f for f in features if reaches(f, f, set())) == []


def test_no_loose_service_modules_beside_the_feature_packages():
    loose = {path.stem for path in WEB.glob("*.py")}
    assert loose == CORE | TOP


def test_the_client_library_never_imports_the_web_app_or_flask():
    for path in (ROOT / "smsco").rglob("*.py"):
        if WEB in path.parents:
            continue
        modules = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules.add(node.module or "")
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
        bad = {m for m in modules if m.split(".")[0] in {"flask", "flask_sqlalchemy", "web"}
               or m.startswith("smsco.web")}
        assert bad == set(), path
