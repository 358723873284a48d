"""The update's evidence records, read from ``data/``: the two independent extractions and their
agreement, Table I against each series' own publication, and the counts of the search flow.

Agreement is computed for the values the analyses use (counts, follow-up, accrual years and every
rate, keyed by series, field, endpoint and horizon); text fields (citation, dose, technique,
histology in words) are kept from both extractions but not compared word by word.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sarcoma_review.data import loaders

#: Fields whose two extractions are compared value by value.
COMPARED_FIELDS = (
    "n_patients",
    "n_chordoma",
    "setting_definitive",
    "setting_postoperative",
    "recurrent",
    "median_followup_months",
    "accrual_start",
    "accrual_end",
    "late_toxicity_g3plus",
    "rate",
)
#: The key of one value.
KEY = ("study_id", "field", "endpoint", "horizon_years")
#: Columns of :func:`agreement`.
AGREEMENT_COLUMNS = (*KEY, "value_1", "value_2", "status", "resolved", "reason")
#: ``status`` values of :func:`agreement`.
AGREE, DISAGREE, ONLY_1, ONLY_2 = "agree", "disagree", "only extraction 1", "only extraction 2"


def _norm(v: object) -> str:
    s = str(v).strip().rstrip("%").strip()
    try:
        f = float(s)
    except ValueError:
        return s.casefold()
    return f"{f:g}"


def _key_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["endpoint"] = out["endpoint"].astype("string").fillna("")
    out["horizon_years"] = [("" if pd.isna(h) else str(int(h))) for h in out["horizon_years"]]
    return out


def agreement(data_dir: Path | None = None) -> pd.DataFrame:
    """One row per compared value (:data:`COMPARED_FIELDS`): both extractions' values (several
    readings of one value joined by " | "), the status (:data:`AGREE`, :data:`DISAGREE`,
    :data:`ONLY_1`, :data:`ONLY_2`), and, from ``literature/adjudication``, the resolved value and why.
    An agreed value is its own resolution."""
    ex = _key_frame(loaders.load_table("literature", "extractions", data_dir))
    adj = _key_frame(loaders.load_table("literature", "adjudication", data_dir))
    ex = ex[ex["field"].isin(COMPARED_FIELDS)]
    adj_by_key = {tuple(r[k] for k in KEY): r for _, r in adj.iterrows()}
    rows = []
    for key, g in ex.groupby(list(KEY), sort=True):
        vals = {}
        for e in (1, 2):
            v = g[g["extractor"] == e]["value"].astype(str)
            vals[e] = sorted({_norm(x) for x in v})
        if vals[1] and vals[2]:
            status = AGREE if vals[1] == vals[2] else DISAGREE
        else:
            status = ONLY_1 if vals[1] else ONLY_2
        a = adj_by_key.get(tuple(key))
        if a is not None:
            resolved = "" if pd.isna(a["resolved"]) else str(a["resolved"])
            reason = str(a["reason"])
        elif status == AGREE:
            resolved, reason = vals[1][0] if len(vals[1]) == 1 else " | ".join(vals[1]), "both extractions agree"
        else:
            resolved, reason = "", ""
        rows.append((*key, " | ".join(vals[1]), " | ".join(vals[2]), status, resolved, reason))
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def unresolved(agree: pd.DataFrame) -> pd.DataFrame:
    """The values on which the extractions do not agree and that ``literature/adjudication`` does not resolve."""
    return agree[(agree["status"] != AGREE) & (agree["reason"] == "")]


def agreement_summary(agree: pd.DataFrame) -> dict[str, int]:
    """Counts of :func:`agreement`: values compared, agreed, disagreed, and found by one extraction only."""
    s = agree["status"].value_counts()
    return {
        "values": len(agree),
        "agree": int(s.get(AGREE, 0)),
        "disagree": int(s.get(DISAGREE, 0)),
        "only_1": int(s.get(ONLY_1, 0)),
        "only_2": int(s.get(ONLY_2, 0)),
        "rates": int((agree["field"] == "rate").sum()),
        "rates_agree": int(((agree["field"] == "rate") & (agree["status"] == AGREE)).sum()),
    }


def verification_summary(data_dir: Path | None = None) -> pd.DataFrame:
    """Table I's verification verdicts counted by field (rows) and verdict (columns)."""
    ver = loaders.load_table("literature", "verification", data_dir)
    return pd.crosstab(ver["field"], ver["verdict"])


def search_flow(data_dir: Path | None = None) -> dict[str, object]:
    """The counts of the PRISMA 2020 flow of this update (previous version plus new search).

    Keys: ``previous_series`` (Table I rows), ``previous_readable`` (Table I series whose own
    publication was read), ``searches``, ``records`` (records screened), ``excluded`` (number),
    ``excluded_by_reason`` ({reason: n}), ``new_series`` (included records), ``total_series`` (series
    in literature/studies), ``overlap_groups`` and ``series_in_overlap``.
    """
    t1 = loaders.load_table("literature", "table_i", data_dir)
    studies = loaders.load_studies(data_dir)
    log = loaders.load_table("search", "search_log", data_dir)
    scr = loaders.load_table("search", "screening_log", data_dir)
    groups = loaders.load_table("literature", "overlap_groups", data_dir)
    exc = scr[scr["decision"] == "exclude"]
    by_reason = exc["reason"].value_counts()
    in_overlap = studies["overlap_group"].astype("string").fillna("").str.strip() != ""
    return {
        "previous_series": len(t1),
        "previous_readable": int(studies["study_id"].isin(t1["study_id"]).sum()),
        "searches": int((~log["search_id"].astype(str).str.startswith("S-V")).sum()),
        "lookups": int(log["search_id"].astype(str).str.startswith("S-V").sum()),
        "search_date_first": str(log["date"].min()),
        "search_date_last": str(log["date"].max()),
        "records": len(scr),
        "excluded": len(exc),
        "excluded_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "new_series": int((studies["origin"] != "Table I").sum()),
        "included_records": int((scr["decision"] == "include").sum()),
        "total_series": len(studies),
        "total_patients": int(studies["n_patients"].sum()),
        "overlap_groups": len(groups),
        "series_in_overlap": int(in_overlap.sum()),
    }
