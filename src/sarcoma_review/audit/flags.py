"""The audit's findings where the review uses the values they concern.

A finding of the audit (:mod:`sarcoma_review.audit.runner`) whose verdict is ``inconsistent`` or
``implausible`` (:data:`~sarcoma_review.audit.runner.FAILED`) concerns one or more *reported values*:
a landmark rate of a series (series, endpoint, horizon, printed rate). :func:`concerned_values` derives
them from the audit's own rows -- the finding's id, quantity and printed statements -- so no value is
typed here:

- a Kaplan-Meier feasibility finding of the CNAO cohort (``cnao.km.<endpoint>``) concerns the landmark
  rates ``S(t mo) = v%`` of its *minimal conflict* (an inconsistent curve: the statements that cannot
  hold together) or of every statement it checked (an implausible curve: they hold together only with
  an implausible timing of events);
- a check of a printed landmark rate (quantity ``"<h>-year <endpoint> (%)"``, optionally preceded by a
  series id) concerns that rate at that horizon, with every percentage its two statements print;
- a Table I check (``table_i.<series>.<endpoint>``) concerns Table I's printed rate at Table I's horizon;
- a narrative finding of the ifosfamide series (``ifo.nar.*``: the text contradicts how Table 3 codes a
  patient's local failure or death) concerns every rate the review recomputes from that table for the
  endpoint (series :data:`IFO_TABLE3`, any landmark, any value).

**Rule: a flag travels only to the value actually used.** A used value carries a finding's flag when it
is the very value the finding concerns: same series, endpoint, landmark *and* printed rate
(:func:`flags_for`). The literature table holds each series' rates as its own publication prints them,
so a Table I value the review replaced by the verified primary value (another rate, or the same rate at
another horizon) is a finding about Table I, not about the value used, and carries no flag to the pooled
pages; its finding stays in the audit chapter.

Series keys: the CNAO cohort's rows of the literature table (``study_id`` beginning ``present`` or
``cuccia``, the convention of :func:`sarcoma_review.audit.runner.audited_outcomes`) are the series
:data:`CNAO`; the ifosfamide paper's own reported values are :data:`IFO`; any other series is its
``study_id`` (:func:`series_key`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sarcoma_review.audit.records import COLUMNS
from sarcoma_review.data import tracking

CNAO, IFO = "cnao", "ifosfamide"
#: The values the review recomputes from the ifosfamide patient table (every landmark): a coding of that
#: table the text contradicts (a narrative finding) concerns them.
IFO_TABLE3 = "ifosfamide Table 3"
#: Which endpoint a narrative finding's claims concern, by the words of the claimed column.
_NARRATIVE_ENDPOINTS = {"local failure": "LC", "local control": "LC", "overall survival": "OS", "dead": "OS"}

#: Columns of :func:`concerned_values`.
FLAG_COLUMNS = [
    "series",
    "endpoint",
    "horizon_years",
    "value",
    "finding_id",
    "verdict",
    "quantity",
    "explanation",
    "anchor",
    "href",
]

#: Verdicts whose findings travel to the pages that use the value (the runner's FAILED).
TRAVELLING = ("inconsistent", "implausible")

_KM_STATEMENT = re.compile(r"S\((\d+(?:\.\d+)?) mo\) = (\d+(?:\.\d+)?)%")
_RATE_QUANTITY = re.compile(r"^(?:(?P<study>\S+) )?(?P<h>\d+(?:\.\d+)?)-year (?P<ep>[A-Z]+) \(%\)$")
_TABLE_I_RATE = re.compile(r"Table I: (\d+(?:\.\d+)?)% \((\d+(?:\.\d+)?)-year")


def series_key(study_id: str) -> str:
    """The series a literature row belongs to: :data:`CNAO` for the CNAO cohort's own rows, else its id."""
    s = str(study_id)
    return CNAO if s.startswith(("present", "cuccia")) else s


def _km_values(r) -> list[tuple[str, float, float]]:
    """``[(endpoint, horizon_years, value)]`` of a CNAO Kaplan-Meier finding."""
    ep = str(r["finding_id"]).split(".")[2]
    rec = str(r["recomputed"])
    text = rec if rec.startswith("minimal conflict") else str(r["reported"])
    return [(ep, float(t) / 12, float(v)) for t, v in _KM_STATEMENT.findall(text)]


def _printed_number(text: str) -> list[float]:
    """The number a printed statement opens with, after an optional ``"Label: "`` (``[]`` when none)."""
    m = re.match(r"(?:[A-Za-z ]+:\s*)?(\d+(?:\.\d+)?)", text.strip())
    return [float(m.group(1))] if m else []


def _rate_values(r) -> list[tuple[str, str, float, float]]:
    """``[(series, endpoint, horizon_years, value)]`` of a printed-rate check (every number it prints)."""
    m = _RATE_QUANTITY.match(str(r["quantity"]))
    if not m:
        return []
    source = str(r["source"])
    series = series_key(m["study"]) if m["study"] else (CNAO if source == "cnao" else IFO)
    # a restatement prints the value twice ("Abstract: 70", "Results: 70"); a recomputation's second
    # column is the audit's own number, not a printed one
    cols = ("reported", "recomputed") if source == CNAO else ("reported",)
    nums = [v for c in cols for v in _printed_number(str(r[c]))]
    return [(series, m["ep"], float(m["h"]), v) for v in dict.fromkeys(nums)]


def _table_i_values(r) -> list[tuple[str, str, float, float]]:
    m = _TABLE_I_RATE.search(str(r["reported"]))
    parts = str(r["finding_id"]).split(".")
    if not m or len(parts) < 3:
        return []
    return [(series_key(parts[1]), parts[2], float(m.group(2)), float(m.group(1)))]


def _narrative_values(r) -> list[tuple[str, str, float, float]]:
    """``[(IFO_TABLE3, endpoint, nan, nan)]`` for each endpoint whose coding a narrative finding contradicts."""
    m = re.search(r"\(read as: (.*)\)$", str(r["reported"]))
    if not m:
        return []
    eps = [ep for words, ep in _NARRATIVE_ENDPOINTS.items() if words + ":" in m.group(1)]
    return [(IFO_TABLE3, ep, float("nan"), float("nan")) for ep in dict.fromkeys(eps)]


def concerned_values(audit: pd.DataFrame) -> pd.DataFrame:
    """One row per (flagged finding, reported value it concerns): :data:`FLAG_COLUMNS`.

    ``audit`` is a table of :data:`~sarcoma_review.audit.records.COLUMNS` (from
    :func:`~sarcoma_review.audit.runner.run_audit` or :func:`flagging_findings`). Only rows stating a
    finding (``role == "finding"``) with a verdict in :data:`TRAVELLING` count; a finding about no
    landmark rate (a percentage of patients, a follow-up) concerns no used value and yields no row.
    """
    from sarcoma_review.audit.runner import AUDIT_PAGE, finding_anchor

    missing = [c for c in COLUMNS if c not in audit.columns]
    if missing:
        raise ValueError(f"audit table lacks columns {missing}")
    rows = []
    found = audit[(audit["role"] == "finding") & audit["verdict"].isin(TRAVELLING)]
    for _, r in found.iterrows():
        fid = str(r["finding_id"])
        if fid.startswith("cnao.km."):
            vals = [(CNAO, ep, h, v) for ep, h, v in _km_values(r)]
        elif fid.startswith("table_i."):
            vals = _table_i_values(r)
        elif fid.startswith("ifo.nar."):
            vals = _narrative_values(r)
        else:
            vals = _rate_values(r)
        for series, ep, h, v in vals:
            rows.append(
                {
                    "series": series,
                    "endpoint": ep,
                    "horizon_years": h,
                    "value": v,
                    "finding_id": fid,
                    "verdict": r["verdict"],
                    "quantity": r["quantity"],
                    "explanation": r["explanation"],
                    "anchor": finding_anchor(fid),
                    "href": AUDIT_PAGE + "#" + finding_anchor(fid),
                }
            )
    return (
        pd.DataFrame(rows, columns=FLAG_COLUMNS)
        .drop_duplicates(["series", "endpoint", "horizon_years", "value", "finding_id"])
        .reset_index(drop=True)
    )


def flagging_findings(data_dir: Path | None = None) -> pd.DataFrame:
    """The audit rows that can concern a used value, computed from ``data_dir`` (about 2 s): the CNAO
    printed-value checks and Kaplan-Meier findings (without their explorations), the ifosfamide checks and
    the Table I checks -- the rows :func:`concerned_values` reads, without the cost of the whole audit."""
    from sarcoma_review.audit import runner
    from sarcoma_review.paths import data_dir as default_data_dir

    d = Path(data_dir) if data_dir is not None else default_data_dir()
    rows = (
        runner.cnao_checks(d)
        + runner.feasibility_checks(d, explorations=False)
        + runner.ifosfamide_checks(d)
        + runner.table_i_checks(d)
    )
    return pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))


@tracking.frame_loader
def used_value_flags(data_dir: Path | None = None) -> pd.DataFrame:
    """:func:`concerned_values` of :func:`flagging_findings` of ``data_dir`` (a frame loader: a page that
    reads it depends on the flags, not on every file the checks read)."""
    return concerned_values(flagging_findings(data_dir))


def value_flags(data_dir: Path | None = None, audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`concerned_values` of ``audit`` (default: :func:`used_value_flags` of ``data_dir``, about 2 s:
    compute it once per page and pass it on)."""
    return concerned_values(audit) if audit is not None else used_value_flags(data_dir)


def flags_for(flags: pd.DataFrame, series: str, endpoint: str, horizon_years: float, value: float) -> pd.DataFrame:
    """The flags on one used value: same series, endpoint, landmark and rate (to 1e-9; see the module's rule).
    A flag without a landmark or a value (a coding of a patient table) concerns every landmark or value."""
    if flags.empty:
        return flags
    h, v = flags["horizon_years"].astype(float), flags["value"].astype(float)
    keep = (
        (flags["series"] == series)
        & (flags["endpoint"] == endpoint)
        & (h.isna() | ((h - float(horizon_years)).abs() < 1e-9))
        & (v.isna() | ((v - float(value)).abs() < 1e-9))
    )
    return flags[keep]


def flagged_literature(flags: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` of the literature table (``study_id``, ``endpoint``, ``horizon_years``, ``rate_percent``)
    with ``audit_findings`` (the flagging finding ids, ``"; "``-joined, ``""`` when none), ``audit_verdict``
    (the worst verdict, ``""`` when none) and ``audit_href`` (the first finding's link in the audit chapter)."""
    out = rows.copy()
    found, verdicts, hrefs = [], [], []
    for _, r in rows.iterrows():
        f = flags_for(flags, series_key(r["study_id"]), r["endpoint"], r["horizon_years"], r["rate_percent"])
        found.append("; ".join(dict.fromkeys(f["finding_id"])))
        v = list(f["verdict"])
        verdicts.append("inconsistent" if "inconsistent" in v else (v[0] if v else ""))
        hrefs.append(f["href"].iloc[0] if len(f) else "")
    out["audit_findings"], out["audit_verdict"], out["audit_href"] = found, verdicts, hrefs
    return out


def marker(verdict: str) -> str:
    """The plain-words flag a page shows beside a used value the audit flags (``""`` when none)."""
    return f"audit: {verdict}" if verdict else ""


__all__ = [
    "CNAO",
    "FLAG_COLUMNS",
    "IFO",
    "IFO_TABLE3",
    "TRAVELLING",
    "concerned_values",
    "flagged_literature",
    "flagging_findings",
    "flags_for",
    "marker",
    "series_key",
    "value_flags",
]
