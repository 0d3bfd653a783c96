"""The package's shape: rooms by stage whose imports only point back up the flow, and
functions short enough to read (or carrying their reason).

The rooms, in the order data flows through them::

    inputs → engine → audit → siting → publish → datasets → workflows → batch → studio → cli

``errors`` and ``config`` are shared by every room; ``coverage/__init__.py`` re-exports the
public API. A module may import its own room and the rooms before it, never a later one
(imports inside functions count too: a later room reached lazily is still a climb back).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "coverage"
ROOMS = ["engine", "inputs", "audit", "siting", "publish", "datasets", "workflows", "batch", "studio", "cli"]
SHARED = {"errors", "config", "__version__"}
MAX_FUNCTION_LINES = 80  # body lines, docstring excluded


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _room(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return parts[1] if parts[1] in ROOMS else ("shared" if parts[1] in SHARED else None)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mod = _module_name(path)
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == "coverage":
                out.extend((node.lineno, f"coverage.{a.name}") for a in node.names)
            elif target.startswith("coverage."):
                out.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("coverage."))
    return out


MODULES = sorted(p for p in PKG.rglob("*.py") if p.name != "__main__.py")


def test_rooms_exist() -> None:
    for room in ROOMS:
        assert (PKG / room / "__init__.py").is_file(), room


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent != PKG], ids=lambda p: str(p.relative_to(PKG)))
def test_imports_never_climb_back(path: Path) -> None:
    room = _room(_module_name(path))
    assert room in ROOMS, path
    rank = ROOMS.index(room)
    bad = []
    for line, target in _imports(path):
        other = _room(target)
        if other in (None, "shared"):
            continue
        if ROOMS.index(other) > rank:
            bad.append(f"line {line}: {target} ({other} comes after {room})")
    assert not bad, f"{path.relative_to(PKG.parent)} imports a later room:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", sorted(SHARED - {"__version__"}))
def test_shared_modules_import_no_room(name: str) -> None:
    bad = [t for _l, t in _imports(PKG / f"{name}.py") if _room(t) in ROOMS]
    assert not bad


def _long_functions(path: Path) -> list[str]:
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    out = []
    for node in ast.walk(ast.parse(src)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            body = body[1:]
        if not body:
            continue
        n = body[-1].end_lineno - body[0].lineno + 1
        if n <= MAX_FUNCTION_LINES:
            continue
        head = lines[node.lineno - 2] + lines[node.lineno - 1] if node.lineno >= 2 else lines[0]
        if "# long:" in head:
            continue
        out.append(f"{node.name} (line {node.lineno}): {n} lines")
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_functions_are_short_or_say_why(path: Path) -> None:
    """At most 80 body lines, or a ``# long: <reason>`` comment on or above the ``def``."""
    assert not _long_functions(path), _long_functions(path)
