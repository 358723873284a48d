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


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sarcoma_review"):
            base = node.module.removeprefix("sarcoma_review").lstrip(".")
            for alias in node.names:
                out.add(f"{base}.{alias.name}".lstrip(".") if base else alias.name)
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("sarcoma_review.") for a in node.names if a.name.startswith("sarcoma_review.")}
    return {m for m in out if m.split(".")[0] in LAYERS}


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


def test_no_import_cycle_between_modules():
    graph = {}
    for name in _modules():
        path = PKG / (name.replace(".", "/") + ".py")
        graph[name] = {t for t in _imports(path) if t in graph or (PKG / (t.replace(".", "/") + ".py")).exists()}
    seen, stack = set(), []

    def visit(n):
        if n in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        if n in seen:
            return
        stack.append(n)
        for t in graph.get(n, ()):
            visit(t)
        stack.pop()
        seen.add(n)

    for n in graph:
        visit(n)


def test_every_error_is_a_review_error():
    from sarcoma_review import errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert errors.ReviewError in classes
    for cls in classes:
        assert issubclass(cls, errors.ReviewError), cls
    for name in _modules():
        tree = ast.parse((PKG / (name.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error") and name != "errors":
                raise AssertionError(f"{name} defines {node.name}: errors live in sarcoma_review.errors")
