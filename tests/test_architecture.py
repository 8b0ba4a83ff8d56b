"""The package's shape: layers that import only downwards, no import cycle, every module importable alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "python" / "tinybeat"

# Lowest first. A module may import from its own layer or any lower one, never a higher one.
LAYERS = ("__init__", "errors", "util", "core", "frontend", "targets", "codegen", "datasets",
          "recordings", "pipeline", "device", "integrations", "cli", "__main__")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> list[str]:
    return sorted(module_name(p) for p in PKG.rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    """Every tinybeat module `path` imports, at module level or inside functions."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tinybeat"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("tinybeat"):
                continue
            known = set(all_modules())
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    found.discard(mod)
    return found


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1] if len(parts) > 1 else "__init__")


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PKG.rglob("*.py")}


def test_every_module_sits_in_a_known_layer() -> None:
    for mod in all_modules():
        layer_of(mod)  # raises ValueError for a top-level name missing from LAYERS


def test_imports_point_down_the_layers() -> None:
    upward = [f"{mod} ({LAYERS[layer_of(mod)]}) imports {dep} ({LAYERS[layer_of(dep)]})"
              for mod, deps in graph().items() for dep in deps
              if dep.startswith("tinybeat") and layer_of(dep) > layer_of(mod)]
    assert upward == []


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    # a package __init__ that only names its modules is not an edge back into them
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph().items()}
    assert find_cycle(edges) is None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", [m for m in all_modules() if not m.endswith("__main__")])
def test_module_imports_alone(module: str) -> None:
    """Each module imports in a fresh interpreter, so no import order is needed anywhere."""
    run = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr.strip().splitlines()[-1:]
