"""The data dictionary: one ``<table>.schema.yaml`` next to each ``data/<group>/<table>.csv``.

A schema file holds ``title``, ``description``, ``source``, ``primary_key`` (list of columns),
``foreign_keys`` (list of ``{columns, references: "<group>/<table>", reference_columns}``) and
``columns``: a list of ``{name, type, unit, required, allowed, minimum, maximum, unique,
description}`` where ``type`` is one of ``string``, ``integer``, ``number``, ``boolean``.
:func:`to_pandera` turns it into a strict, coercing :class:`pandera.pandas.DataFrameSchema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import yaml

TYPES = {"string": str, "integer": "Int64", "number": "float64", "boolean": "boolean"}
SCHEMA_SUFFIX = ".schema.yaml"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table as documented in its schema file."""

    name: str
    type: str
    description: str = ""
    unit: str | None = None
    required: bool = True
    allowed: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False

    @property
    def expected(self) -> str:
        """Plain-English description of a valid value, used in error messages."""
        if self.allowed is not None:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        noun = {"string": "a text value", "integer": "an integer", "number": "a number",
                "boolean": "true or false"}[self.type]
        lo, hi = self.minimum, self.maximum
        fmt = lambda v: f"{v:g}" if isinstance(v, float) else str(v)  # noqa: E731
        if lo is not None and hi is not None:
            return f"{noun} from {fmt(lo)} to {fmt(hi)}"
        if lo is not None:
            if self.type == "integer" and lo == 1:
                return "a positive integer (>= 1)"
            return f"{noun} >= {fmt(lo)}"
        if hi is not None:
            return f"{noun} <= {fmt(hi)}"
        return noun


@dataclass(frozen=True)
class TableSpec:
    """A table's schema file, parsed."""

    group: str
    table: str
    title: str
    description: str
    source: str
    primary_key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    foreign_keys: tuple[dict[str, Any], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def schema_path(data_dir: Path, group: str, table: str) -> Path:
    """Where the schema file of ``group/table`` lives."""
    return Path(data_dir) / group / f"{table}{SCHEMA_SUFFIX}"


def read_spec(path: Path, group: str, table: str, text: str | None = None) -> TableSpec:
    """Parse a schema file into a :class:`TableSpec` (raises ``ValueError`` on a malformed file).

    ``text``: the file's content when the caller has read it already (parsed instead of reading again)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8") if text is None else text)
    if not isinstance(raw, dict) or "columns" not in raw:
        raise ValueError(f"{path}: a schema file needs a 'columns' list")
    cols = []
    for c in raw["columns"]:
        if c.get("type") not in TYPES:
            raise ValueError(f"{path}: column {c.get('name')!r} has type {c.get('type')!r}; use one of {list(TYPES)}")
        allowed = c.get("allowed")
        cols.append(ColumnSpec(
            name=c["name"], type=c["type"], description=c.get("description", ""), unit=c.get("unit"),
            required=bool(c.get("required", True)), allowed=tuple(allowed) if allowed is not None else None,
            minimum=c.get("minimum"), maximum=c.get("maximum"), unique=bool(c.get("unique", False)),
        ))
    return TableSpec(
        group=group, table=table, title=raw.get("title", table), description=raw.get("description", ""),
        source=raw.get("source", ""), primary_key=tuple(raw.get("primary_key") or ()), columns=tuple(cols),
        foreign_keys=tuple(raw.get("foreign_keys") or ()),
    )


def _checks(col: ColumnSpec) -> list[pa.Check]:
    checks = []
    if col.allowed is not None:
        checks.append(pa.Check.isin(list(col.allowed)))
    if col.minimum is not None:
        checks.append(pa.Check.ge(col.minimum))
    if col.maximum is not None:
        checks.append(pa.Check.le(col.maximum))
    return checks


def to_pandera(spec: TableSpec, *, with_checks: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of a table: strict columns, coercion to the declared types.

    With ``with_checks=False`` only the types are checked (everything nullable): the loader runs
    that first so that a value of the wrong type is reported once, as a type error.
    """
    columns = {
        c.name: pa.Column(
            TYPES[c.type],
            checks=_checks(c) if with_checks else [],
            nullable=(not c.required) if with_checks else True,
            unique=c.unique if with_checks else False,
            coerce=c.type != "string",
            description=c.description,
            title=c.name,
        )
        for c in spec.columns
    }
    pk = list(spec.primary_key)
    return pa.DataFrameSchema(
        columns,
        strict=True,
        ordered=False,
        unique=pk if (with_checks and len(pk) > 1) else None,
        name=f"{spec.group}/{spec.table}",
        title=spec.title,
        description=spec.description,
    )


def dictionary_frame(spec: TableSpec) -> pd.DataFrame:
    """The column documentation of a table as a DataFrame (one row per column)."""
    rows = [
        {
            "column": c.name,
            "type": c.type,
            "unit": c.unit or "",
            "required": c.required,
            "allowed": ", ".join(map(str, c.allowed)) if c.allowed is not None else "",
            "minimum": c.minimum,
            "maximum": c.maximum,
            "unique": c.unique or (tuple(spec.primary_key) == (c.name,)),
            "description": c.description,
        }
        for c in spec.columns
    ]
    return pd.DataFrame(rows)
