"""The data dictionary: one ``<table>.schema.yaml`` next to each ``data/<group>/<table>.csv``.

A schema file holds ``title``, ``description``, ``source``, ``primary_key`` (list of columns),
``foreign_keys`` (list of ``{columns, references: "<group>/<table>", reference_columns}``) and
``columns``: a list of ``{name, type, unit, required, allowed, minimum, maximum, unique, pattern,
description}`` where ``type`` is one of ``string``, ``integer``, ``number``, ``boolean`` and ``pattern``
(text columns) is a regular expression every value must match whole; identifiers use :data:`ID_PATTERN`.
:func:`to_pandera` turns it into a strict, coercing :class:`pandera.pandas.DataFrameSchema`.
A schema file that is not such a mapping raises :class:`~sarcoma_review.errors.DataValidationError`
naming the file and what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import yaml

from sarcoma_review.errors import DataValidationError

#: The one pattern of identifiers (``study_id`` and the other ``*_id`` keys): lower-case ASCII letters,
#: digits and ``_``, starting with a letter. Ids go into file names, URLs, CSV cells and ``;``-joined
#: lists, so no separator, space, dot or slash can occur in one.
ID_PATTERN = "[a-z][a-z0-9_]*"
ID_RULE = "lower-case letters, digits and _, starting with a letter (e.g. smith2025)"

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
    pattern: str | None = None

    @property
    def expected(self) -> str:
        """Plain-English description of a valid value, used in error messages."""
        if self.pattern is not None:
            if self.pattern == ID_PATTERN:
                return f"an identifier of {ID_RULE}"
            return f"a text value matching the pattern {self.pattern}"
        if self.allowed is not None:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        noun = {"string": "a text value", "integer": "an integer", "number": "a number", "boolean": "true or false"}[
            self.type
        ]
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


def _load_raw(path: Path, text: str | None, bad) -> dict:
    """The schema file as a mapping with a non-empty ``columns`` list (``bad`` makes the error)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8") if text is None else text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise bad("a YAML schema file", f"YAML that does not parse{at}") from None
    except UnicodeDecodeError:
        raise bad("a UTF-8 YAML schema file", "undecodable bytes") from None
    if not isinstance(raw, dict):
        raise bad("a mapping with title, primary_key and a 'columns' list", f"a YAML {type(raw).__name__}")
    if not isinstance(raw.get("columns"), list) or not raw["columns"]:
        raise bad("a non-empty 'columns' list", repr(raw.get("columns")) if "columns" in raw else "no 'columns' key")
    for key in ("primary_key", "foreign_keys"):
        if raw.get(key) is not None and not isinstance(raw[key], list):
            raise bad(f"'{key}' as a list", f"a YAML {type(raw[key]).__name__}")
    return raw


def _column_spec(i: int, c, bad) -> ColumnSpec:
    """Column entry ``i`` (from 1) of a schema file as a :class:`ColumnSpec`."""
    if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
        raise bad(f"column entry {i} as a mapping with a 'name'", repr(c)[:80])
    if c.get("type") not in TYPES:
        raise bad(f"a type, one of {', '.join(TYPES)}", repr(c.get("type")), c["name"])
    allowed = c.get("allowed")
    if allowed is not None and not isinstance(allowed, list):
        raise bad("'allowed' as a list of values", repr(allowed)[:80], c["name"])
    for bound in ("minimum", "maximum"):
        v = c.get(bound)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise bad(f"'{bound}' as a number", repr(v)[:80], c["name"])
    pattern = c.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise bad("'pattern' as a regular expression", f"{pattern!r} ({exc})", c["name"]) from None
    return ColumnSpec(
        name=c["name"],
        type=c["type"],
        description=str(c.get("description", "")),
        unit=c.get("unit"),
        required=bool(c.get("required", True)),
        allowed=tuple(allowed) if allowed is not None else None,
        minimum=c.get("minimum"),
        maximum=c.get("maximum"),
        unique=bool(c.get("unique", False)),
        pattern=None if pattern is None else str(pattern),
    )


def _check_keys(raw: dict, names: list[str], bad) -> None:
    """Primary and foreign keys name declared columns; each foreign key is well formed."""
    for key in raw.get("primary_key") or ():
        if key not in names:
            raise bad(f"primary_key columns among the columns ({', '.join(names)})", repr(key))
    for fk in raw.get("foreign_keys") or ():
        if (
            not isinstance(fk, dict)
            or not isinstance(fk.get("references"), str)
            or fk["references"].count("/") != 1
            or not isinstance(fk.get("columns"), list)
            or not isinstance(fk.get("reference_columns"), list)
            or len(fk["columns"]) != len(fk["reference_columns"])
        ):
            raise bad(
                "each foreign key as {columns: [...], references: group/table, reference_columns: [...]}", repr(fk)[:80]
            )
        for col in fk["columns"]:
            if col not in names:
                raise bad(f"foreign-key columns among the columns ({', '.join(names)})", repr(col))


def read_spec(path: Path, group: str, table: str, text: str | None = None) -> TableSpec:
    """Parse a schema file into a :class:`TableSpec`.

    ``text``: the file's content when the caller has read it already (parsed instead of reading again).

    Raises
    ------
    DataValidationError
        The file is not YAML, or not a mapping with a ``columns`` list of ``{name, type, ...}`` entries
        (the message names the file and the entry to fix).
    """

    def bad(expected: str, got: str, column: str | None = None) -> DataValidationError:
        return DataValidationError(path, [(None, column, f"{expected} (see data/README.md)", got)])

    raw = _load_raw(path, text, bad)
    cols = [_column_spec(i, c, bad) for i, c in enumerate(raw["columns"], 1)]
    _check_keys(raw, [c.name for c in cols], bad)
    return TableSpec(
        group=group,
        table=table,
        title=str(raw.get("title", table)),
        description=str(raw.get("description", "")),
        source=str(raw.get("source", "")),
        primary_key=tuple(raw.get("primary_key") or ()),
        columns=tuple(cols),
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
    if col.pattern is not None:
        checks.append(pa.Check.str_matches(f"(?:{col.pattern})\\Z"))
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
