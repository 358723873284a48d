"""Row rules: a pattern that some rows' text cells must match, because code reads those cells.

A column's ``pattern`` in a schema file binds every row. Some text columns hold what a paper printed
and are read by the code only on some rows (the CNAO facts table's ``value_as_printed`` is parsed as a
month and year on its accrual rows, free text elsewhere). Such a schema file lists them under
``row_rules``::

    row_rules:
    - when: {column: quantity, pattern: 'accrual_(start|end)'}
      column: value_as_printed
      pattern: '(January|...|December) [0-9]{4}'
      expected: a month and a year as printed, e.g. 'January 2013'

``when`` picks the rows (its column's text matches its pattern, whole cell); on those rows ``column``
must match ``pattern`` (whole cell). A cell that does not is reported like any other invalid cell
(file, line, column, what was expected), so data the chapters would fail to read never reaches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sarcoma_review.errors import DataValidationError


@dataclass(frozen=True)
class RowRule:
    """On rows whose ``when_column`` matches ``when_pattern``, ``column`` must match ``pattern``."""

    when_column: str
    when_pattern: str
    column: str
    pattern: str
    expected: str


def read_row_rules(schema: Path, columns: list[str]) -> list[RowRule]:
    """The ``row_rules`` of a schema file (none when it has no such key).

    Raises
    ------
    DataValidationError
        A rule that is not ``{when: {column, pattern}, column, pattern, expected}`` over the table's
        columns, or whose pattern does not compile.
    """
    raw = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
    rules = raw.get("row_rules") if isinstance(raw, dict) else None
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise DataValidationError(schema, [(None, None, "'row_rules' as a list", f"a YAML {type(rules).__name__}")])
    return [_rule(schema, i, r, columns) for i, r in enumerate(rules, 1)]


def _rule(schema: Path, i: int, r: object, columns: list[str]) -> RowRule:
    shape = "{when: {column, pattern}, column, pattern, expected}"
    when = r.get("when") if isinstance(r, dict) else None
    if not isinstance(r, dict) or not isinstance(when, dict):
        raise DataValidationError(schema, [(None, None, f"row rule {i} as {shape}", repr(r)[:80])])
    rule = RowRule(
        str(when.get("column")),
        str(when.get("pattern")),
        str(r.get("column")),
        str(r.get("pattern")),
        str(r.get("expected") or f"text matching {r.get('pattern')!r}"),
    )
    for col in (rule.when_column, rule.column):
        if col not in columns:
            raise DataValidationError(
                schema, [(None, col, f"row rule {i} over the columns ({', '.join(columns)})", "no such column")]
            )
    for pat in (rule.when_pattern, rule.pattern):
        try:
            re.compile(pat)
        except re.error as exc:
            raise DataValidationError(
                schema, [(None, rule.column, f"row rule {i}: a regular expression", f"{pat!r} ({exc})")]
            ) from None
    return rule


def check_row_rules(path: Path, schema: Path, df: pd.DataFrame, lines: dict[int, int]) -> None:
    """Raise one :class:`DataValidationError` listing every cell of ``df`` (its rows in file order, numbered
    from 1 as the loader's messages number them) that breaks a row rule of ``schema``."""
    problems = []
    for rule in read_row_rules(schema, list(df.columns)):
        for row, when, value in zip(range(1, len(df) + 1), df[rule.when_column], df[rule.column]):
            if isinstance(when, str) and re.fullmatch(rule.when_pattern, when):
                if not (isinstance(value, str) and re.fullmatch(rule.pattern, value)):
                    problems.append(
                        (row, rule.column, f"{rule.expected} (on rows whose {rule.when_column} is {when})", repr(value))
                    )
    if problems:
        raise DataValidationError(path, problems, lines)
