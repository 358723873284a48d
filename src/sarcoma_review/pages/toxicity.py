"""The toxicity chapter (``book/toxicity.ipynb``): every severe toxicity the sources report, with its
denominator and provenance, from ``data/toxicity/events.csv``.

Rows that restate an event already counted elsewhere (``overlaps_with``) are shown but never added: the
count of distinct statements per series uses only rows that overlap no other row.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.data import loaders


def events(data_dir: Path | None = None) -> pd.DataFrame:
    """The events table with display columns: ``count`` (``n/d (p%)``), ``restates`` (the rows it repeats)."""
    e = loaders.load_table("toxicity", "events", data_dir).copy()
    e["count"] = [_count(n, d, p) for n, d, p in zip(e["n_events"], e["denominator"], e["patient_id"])]
    e["restates"] = e["overlaps_with"].fillna("").astype(str)
    e["is_restatement"] = e["restates"].str.strip() != ""
    return e


def _count(n: Any, d: Any, patient: Any = None) -> str:
    if pd.isna(d) and not pd.isna(n) and not pd.isna(patient):
        return f"{int(n)} (Table 3, patient {int(patient)})"
    if pd.isna(n) and pd.isna(d):
        return "no count given"
    if pd.isna(n):
        return f"not counted (of {int(d)})"
    if pd.isna(d):
        return f"{int(n)} (no denominator)"
    return f"{int(n)}/{int(d)} ({100 * int(n) / int(d):.1f}%)"


def display_table(e: pd.DataFrame, series: str) -> pd.DataFrame:
    """One series' rows for the page, in file order."""
    s = e[e["series"] == series]
    return s[["event_id", "phase", "grade", "event", "count", "denominator_basis", "restates", "location",
              "statement"]].fillna("")


def series_summary(e: pd.DataFrame) -> pd.DataFrame:
    """Per series: rows, rows that restate another (not added), and the severe events counted once.

    ``counted_events`` sums ``n_events`` over rows that restate nothing and give a count; what it adds
    are different statements, which the page lists, not a pooled rate.
    """
    rows = []
    for series, g in e.groupby("series", sort=False):
        first = g[~g["is_restatement"]]
        counted = first.dropna(subset=["n_events"])
        dens = sorted({int(x) for x in g["denominator"].dropna()})
        rows.append({"series": series, "rows": len(g), "restatements": int(g["is_restatement"].sum()),
                     "statements with a count": len(counted),
                     "denominators": ", ".join(str(x) for x in dens) if dens else "none given"})
    return pd.DataFrame(rows)


def pooling_values(e: pd.DataFrame, data_dir: Path | None = None) -> dict[str, Any]:
    """Numbers for the "why not pooled" paragraph, counted over the review's series (``literature/studies``):
    the series the source papers give a severe-toxicity count and denominator for, the series whose own
    publication's extraction recorded a late grade >= 3 toxicity statement (``literature/extractions``,
    field ``late_toxicity_g3plus``; not in this chapter's table), and the series with neither."""
    studies = loaders.load_studies(data_dir)
    ids = set(studies["study_id"])
    particle = e[e["source_id"].isin(ids) & e["n_events"].notna() & e["denominator"].notna()
                 & (e["n_events"] > 0)]
    with_count = particle.groupby("source_id").size()
    names = studies.set_index("study_id")

    def labels(sids) -> list[str]:
        order = names.loc[list(sids)].sort_values(["year", "first_author"], kind="stable")
        return [f"{r.first_author} {int(r.year)}" for r in order.itertuples()]

    ex = loaders.load_table("literature", "extractions", data_dir)
    extracted = set(ex.loc[ex["field"] == "late_toxicity_g3plus", "study_id"]) & ids
    in_sources = set(e.loc[e["source_id"].isin(ids), "source_id"])
    neither = ids - in_sources - extracted
    counted = labels(with_count.index)
    return {"tox_n_rows": len(e), "tox_n_restated": int(e["is_restatement"].sum()),
            "tox_n_series": int(e["series"].nunique()),
            "tox_n_review_series": len(studies), "tox_n_particle_counted": len(with_count),
            "tox_particle_counted": ", ".join(counted) if counted else "none",
            "tox_n_in_sources": len(in_sources),
            "tox_n_extracted": len(extracted),
            "tox_extracted": ", ".join(labels(extracted)) if extracted else "none",
            "tox_n_neither": len(neither),
            "tox_scales": "; ".join(sorted({str(x) for x in e["scale"].dropna()
                                            if not str(x).startswith("not stated")})) or "none named"}


def heading_html(series: str) -> str:
    """A series name as an escaped HTML sub-heading (data text is never markup)."""
    return f'<h3 class="toxicity-series">{html.escape(str(series))}</h3>'
