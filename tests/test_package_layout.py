"""The package's shape: the module map in its docstring is complete, and imports point one way."""

from __future__ import annotations

import ast
import pkgutil
import re
from pathlib import Path

import sarcoma_review

PKG = Path(sarcoma_review.__file__).parent
#: Layers in dependency order: a module may import only from its own layer or layers before it.
LAYERS = ["paths", "errors", "_version", "data", "stats", "audit", "pages", "living", "cli"]


def _modules() -> list[str]:
    names = []
    for m in pkgutil.walk_packages(sarcoma_review.__path__, "sarcoma_review."):
        name = m.name.removeprefix("sarcoma_review.")
        if not m.ispkg and not name.split(".")[-1].startswith("_"):
            names.append(name)
    return sorted(names)


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_docstring_maps_every_module():
    documented = set(re.findall(r"^([a-z_.]+)\s{2,}", sarcoma_review.__doc__, flags=re.M))
    assert documented == set(_modules())


def _module_exists(name: str) -> bool:
    return (PKG / (name.replace(".", "/") + ".py")).exists() or (PKG / name.replace(".", "/")).is_dir()


def _imports(path: Path, package: str = "") -> set[str]:
    """The package's modules that ``path`` imports, anywhere in the file (inside functions too):
    ``from X import name`` counts as module ``X.name`` only when that is a module (``from
    sarcoma_review.living import build``), else as module ``X`` (``from sarcoma_review.living.build
    import build_book`` imports ``living.build``); relative imports resolve against ``package``."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            elif node.module and (node.module == "sarcoma_review" or node.module.startswith("sarcoma_review.")):
                base = node.module.removeprefix("sarcoma_review").lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}".lstrip(".")
                out.add(sub if _module_exists(sub) else base)
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("sarcoma_review.") for a in node.names if a.name.startswith("sarcoma_review.")}
    return {m for m in out if m and m.split(".")[0] in LAYERS}


def test_imports_point_one_way_and_no_domain_module_imports_typer():
    wrong = []
    for name in _modules():
        path = PKG / (name.replace(".", "/") + ".py")
        for target in _imports(path):
            if _layer(target) > _layer(name):
                wrong.append(f"{name} imports {target}")
        if name != "cli":
            assert "import typer" not in path.read_text(encoding="utf-8"), f"{name} imports typer"
    assert not wrong, "imports against the layering: " + "; ".join(sorted(wrong))


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name in _modules():
        path = PKG / (name.replace(".", "/") + ".py")
        graph[name] = {t for t in _imports(path, name.rpartition(".")[0]) if t != name and _module_exists(t)}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> the modules it imports), or None."""
    seen: set[str] = set()
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        if n in stack:
            return stack[stack.index(n) :] + [n]
        if n in seen:
            return None
        stack.append(n)
        for t in sorted(graph.get(n, ())):
            found = visit(t)
            if found:
                return found
        stack.pop()
        seen.add(n)
        return None

    for n in sorted(graph):
        found = visit(n)
        if found:
            return found
    return None


def test_no_import_cycle_between_modules():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_every_import_kind(tmp_path):
    """``from X import name`` is module X, an import inside a function counts, and a cycle made only
    of such imports is found (the circle living.versions -> living.build -> living.versions of old)."""
    a = tmp_path / "a.py"
    a.write_text(
        "from sarcoma_review.living.plan import Layout\n\ndef f():\n"
        "    from sarcoma_review.living import versions\n    from . import store\n"
    )
    assert _imports(a, "living") == {"living.plan", "living.versions", "living.store"}
    assert _cycle({"living.versions": {"living.build"}, "living.build": {"living.versions"}}) == [
        "living.build",
        "living.versions",
        "living.build",
    ]
    assert _cycle({"x": {"y"}, "y": set()}) is None


def test_the_graph_covers_the_package():
    """Most of the package's imports between its own modules are seen (not only ``import X``)."""
    graph = _graph()
    assert sum(len(v) for v in graph.values()) > 150
    assert "living.plan" in graph["living.versions"] and "living.build" not in graph["living.versions"]
