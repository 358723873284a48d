"""The audit's checks as one registry: each check a small named function with its own row of documentation.

A check is registered where it is defined, with :func:`check`::

    @check("ifo.pt.skin", "ifo.patients", "Results; Table 3",
           "the number and grade of severe skin reactions in the text against Table 3's rows")
    def _skin(p): ...

so adding a check touches one place. The checks of a *group* share one input, built once from the data
folder by the group's builder (:func:`context`); the runner (:func:`run_group`) calls the group's checks in
the order they were registered, which is the order of the audit table's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    """One registered check: its unique ``name``, the ``group`` whose input it reads, the ``source``
    (where in the paper the statements stand), ``what`` it checks (one plain sentence) and ``run``, the
    function from the group's input to its audit rows. ``optional`` names a data file (relative to the
    data folder) without which the check has nothing to check and returns no row."""

    name: str
    group: str
    source: str
    what: str
    run: Callable[[Any], list]
    optional: str | None = None


#: Every check, in registration (= row) order.
REGISTRY: list[Check] = []
#: ``{group: builder}``: the function building a group's input from the data folder.
CONTEXTS: dict[str, Callable[[Path], Any]] = {}


def check(name: str, group: str, source: str, what: str, optional: str | None = None):
    """Register the decorated function as the check ``name`` (names are unique)."""

    def deco(fn):
        if any(c.name == name for c in REGISTRY):
            raise ValueError(f"audit check {name!r} is registered twice")
        REGISTRY.append(Check(name, group, source, what, fn, optional))
        return fn

    return deco


def context(group: str):
    """Register the decorated function as the builder of ``group``'s input from the data folder."""

    def deco(fn):
        CONTEXTS[group] = fn
        return fn

    return deco


def checks(group: str) -> list[Check]:
    """The checks of ``group`` in row order."""
    return [c for c in REGISTRY if c.group == group]


def run_group(group: str, ctx: Any) -> list:
    """Every check of ``group`` on its input ``ctx``, their rows concatenated in registration order."""
    return [r for c in checks(group) for r in c.run(ctx)]
