"""One set of parameter names through stats/: a landmark is ``endpoint`` and ``horizon_years``, the
between-series variance estimator ``tau2_method`` and the interval ``ci_method``, in every function
(the names of the pages' parameters and of the published estimates' columns)."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import sarcoma_review.stats

#: Names that once meant the same things under other names along one call.
RETIRED = {"horizon": "horizon_years", "hz": "horizon_years", "method": "tau2_method", "ci": "ci_method"}


def test_no_function_of_stats_takes_a_retired_name():
    found = []
    for m in pkgutil.iter_modules(sarcoma_review.stats.__path__):
        path = Path(sarcoma_review.stats.__path__[0]) / f"{m.name}.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                found += [f"{m.name}.{node.name}({a.arg}) -> {RETIRED[a.arg]}" for a in args if a.arg in RETIRED]
    assert found == []


def test_the_check_sees_a_retired_name(tmp_path):
    """The walk above finds a parameter by its name (positional, keyword-only alike)."""
    tree = ast.parse("def pool(df, *, method='REML', horizon=None): pass")
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    assert {a.arg for a in fn.args.args + fn.args.kwonlyargs} & set(RETIRED) == {"method", "horizon"}
