"""The ifosfamide text's narratives about identified patients against the coded Table 3 (``ifo.nar.*``).

Eckert et al. (2010) tell what happened to some patients in words: how and when they died, what happened
in the irradiated field, how their treatment went, and one patient's case report. Each such statement is a
row of ``data/ifosfamide/narratives.csv`` (extracted twice; see its schema) with

- ``identified_by``: how the text identifies the patient(s), as conditions on Table 3's columns (only what the
  text uses to identify them: a dose, a toxicity, a treatment), or ``all``;
- ``claims``: what the text says about them, as the coding Table 3 must have for the statement to hold;
- ``scope``: ``each`` identified patient meets the claims, ``any`` one does (the text names one patient among
  those its words fit), exactly ``count`` do, or at least ``count`` do;
- ``reading``: ``definite`` (a coding that fails the claims is contradicted by the text: *inconsistent*) or
  ``open`` (the words can be read otherwise: a failing coding *cannot be checked*).

One audit row per statement (:func:`narrative_rows`): consistent when Table 3's coding meets the claims,
else inconsistent or cannot check as above; a statement whose identification fits no row of Table 3
cannot be checked. Conditions are ``column op value`` joined by `` & ``; ``op`` is one of ``=``, ``<``,
``<=``, ``>``, ``>=`` (numbers compare as numbers), ``^=`` (begins with), ``~`` (contains, any case) and
``in`` (one of ``|``-separated values).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sarcoma_review.audit.reconstruct import read_strings
from sarcoma_review.audit.records import CheckResult
from sarcoma_review.audit.registry import check, context

IFO = "ifosfamide"
GROUP = "ifo.narratives"
FILE = "ifosfamide/narratives.csv"

_COND = re.compile(r"^([a-z][a-z0-9_]*) (<=|>=|\^=|=|<|>|~|in) (.+)$")
_NUMERIC = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

#: Table 3's columns in a reader's words (the audit table is read in the audit chapter).
COLUMN_WORDS = {
    "local_failure": "local failure",
    "lc_months": "local control (months)",
    "os_months": "overall survival (months)",
    "death": "dead",
    "status": "status",
    "setting": "treatment block",
    "diameter_initial_cm": "initial diameter (cm)",
    "diameter_before_rt_cm": "diameter before radiotherapy (cm)",
    "ifosfamide_total_g_m2": "total ifosfamide (g/m2)",
    "toxicity": "toxicity of grade III or more",
    "site": "site",
    "grade": "grade",
    "stage": "stage",
    "histology_label": "histology",
    "dose_gy": "dose (Gy)",
    "hyperfractionation": "hyperfractionation",
    "hyperthermia": "hyperthermia",
}
#: Coded values in Table 3's own words.
VALUE_WORDS = {
    ("local_failure", "1"): "LF",
    ("local_failure", "0"): "no LF",
    ("death", "1"): "yes",
    ("death", "0"): "no",
    ("setting", "after_R2"): "RTCHX after R2-resection",
    ("setting", "primary"): "Primary RTCHX",
}


@dataclass(frozen=True)
class Condition:
    """One ``column op value`` condition."""

    column: str
    op: str
    value: str

    def holds(self, row: pd.Series) -> bool:
        """Does the row's coded (printed) value meet the condition? An empty cell meets none."""
        cell = str(row[self.column]).strip()
        if cell == "":
            return False
        if self.op in _NUMERIC:
            return _NUMERIC[self.op](float(cell), float(self.value))
        if self.op == "^=":
            return cell.startswith(self.value)
        if self.op == "~":
            return self.value.lower() in cell.lower()
        values = self.value.split("|") if self.op == "in" else [self.value]
        return any(_equal(cell, v) for v in values)

    def words(self) -> str:
        op = {"=": "", "^=": "begins with ", "~": "contains ", "in": "one of "}.get(self.op, self.op + " ")
        value = " or ".join(VALUE_WORDS.get((self.column, v), v) for v in self.value.split("|"))
        return f"{COLUMN_WORDS.get(self.column, self.column)}: {op}{value}"


def _equal(cell: str, value: str) -> bool:
    try:
        return float(cell) == float(value)
    except ValueError:
        return cell == value


def parse(expr: str, where: str = FILE) -> list[Condition]:
    """The conditions of ``expr`` (``[]`` for ``all``); ValueError naming ``where`` on a malformed one."""
    if str(expr).strip() == "all":
        return []
    out = []
    for part in str(expr).split(" & "):
        m = _COND.match(part.strip())
        if not m:
            raise ValueError(f"{where}: cannot read the condition {part!r} (expected 'column op value')")
        out.append(Condition(*m.groups()))
    return out


class Narratives:
    """The input of the narrative checks: the narratives and Table 3, as printed strings."""

    def __init__(self, d: Path):
        path = Path(d) / FILE
        self.nar = read_strings("ifosfamide", "narratives", d) if path.exists() else None
        self.pts = read_strings("ifosfamide", "patients", d)


context(GROUP)(Narratives)


def _coded(row: pd.Series, conds: list[Condition]) -> str:
    """The row's coding of the claimed columns, in words."""
    cols = dict.fromkeys(c.column for c in conds)
    return ", ".join(
        f"{COLUMN_WORDS.get(c, c)} {VALUE_WORDS.get((c, str(row[c])), str(row[c]) or 'empty')}" for c in cols
    )


def _met(scope: str, n_met: int, n_identified: int, count: str) -> bool:
    if scope == "each":
        return n_met == n_identified
    if scope == "any":
        return n_met >= 1
    if scope == "count":
        return n_met == int(count)
    return n_met >= int(count)  # count_at_least


def _explanation(ok: bool, r: pd.Series, met: list[str], identified: list[str], failing: dict[str, str]) -> str:
    scope, count = r["scope"], r["count"]
    who = "rows " + ", ".join(identified) if len(identified) > 1 else f"row {identified[0]}"
    if ok:
        if scope == "any":
            fit = "fit" if len(identified) > 1 else "fits"
            what = f"Table 3 {who} {fit} how the text identifies the patient; row(s) {', '.join(met)} as the text says"
        elif scope.startswith("count"):
            what = f"{len(met)} patients of Table 3 are coded so ({', '.join(met) or 'none'}), the text says {count}"
        else:
            what = f"Table 3 codes {who} as the text says"
        read = f"; the extractors read the statement as about row(s) {r['patient_ids']}" if r["patient_ids"] else ""
        return what + read
    if scope.startswith("count"):
        return (
            f"the text says {'at least ' if scope == 'count_at_least' else ''}{count}; Table 3 codes "
            f"{len(met)} so ({', '.join(met) or 'none'})"
        )
    fails = "; ".join(f"row {q} is coded {f}" for q, f in failing.items())
    note = f" ({r['note']})" if r["note"] else ""
    lead = (
        "Table 3 contradicts the text" if r["reading"] == "definite" else "Table 3 differs from one reading of the text"
    )
    return f"{lead}: {fails}{note}"


def narrative_row(r: pd.Series, pts: pd.DataFrame) -> CheckResult:
    """The audit row of one narrative statement (see the module docstring)."""
    where = f"{FILE} {r['statement_id']}"
    sel, claims = parse(r["identified_by"], where), parse(r["claims"], where)
    identified = [q for q, (_, row) in zip(pts["patient_id"], pts.iterrows()) if all(c.holds(row) for c in sel)]
    by_id = {q: row for q, (_, row) in zip(pts["patient_id"], pts.iterrows())}
    met = [q for q in identified if all(c.holds(by_id[q]) for c in claims)]
    rec = "; ".join(f"row {q}: {_coded(by_id[q], claims)}" for q in identified) or "no row"
    base = dict(
        check_id=f"ifo.nar.{r['statement_id']}",
        source=IFO,
        location=f"{r['location']}; Table 3",
        quantity=f"{r['about']}: {r['event']}",
        reported=f"text: {r['quote']} (read as: " + "; ".join(c.words() for c in claims) + ")",
        recomputed=f"Table 3 {rec}",
    )
    if not identified:
        return CheckResult(
            **base,
            verdict="cannot check",
            explanation="no row of Table 3 fits how the text identifies the patient ("
            + "; ".join(c.words() for c in sel)
            + ")",
        )
    ok = _met(str(r["scope"]), len(met), len(identified), str(r["count"]))
    failing = {
        q: _coded(by_id[q], [c for c in claims if not c.holds(by_id[q])])
        + ", the text says "
        + "; ".join(c.words() for c in claims if not c.holds(by_id[q]))
        for q in identified
        if q not in met
    }
    verdict = "consistent" if ok else ("inconsistent" if r["reading"] == "definite" else "cannot check")
    expl = _explanation(ok, r, met, identified, failing)
    return CheckResult(**base, verdict=verdict, explanation=expl)


@check(
    "ifo.nar",
    GROUP,
    "Results; Patients and Methods; Figure 3",
    "each statement of the text about what happened to identified patients (how and when they died, what "
    "happened in the irradiated field, how their treatment went) against how Table 3 codes those patients",
    optional=FILE,
)
def narrative_rows(n: Narratives) -> list[CheckResult]:
    """One audit row per row of ``ifosfamide/narratives.csv`` (none when the data folder has no such table)."""
    if n.nar is None:
        return []
    return [narrative_row(r, n.pts) for _, r in n.nar.iterrows()]


__all__ = ["COLUMN_WORDS", "Condition", "GROUP", "Narratives", "narrative_row", "narrative_rows", "parse"]
