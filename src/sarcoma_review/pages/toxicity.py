"""The toxicity chapter (``book/toxicity.ipynb``): every severe toxicity the sources report, with its
denominator and provenance, from ``data/toxicity/events.csv``.

Rows that restate an event already counted elsewhere (``overlaps_with``) are shown but never added: the
count of distinct statements per series uses only rows that overlap no other row.
"""

from __future__ import annotations

import html
import re
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
    return s[
        ["event_id", "phase", "grade", "event", "count", "denominator_basis", "restates", "location", "statement"]
    ].fillna("")


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
        rows.append(
            {
                "series": series,
                "rows": len(g),
                "restatements": int(g["is_restatement"].sum()),
                "statements with a count": len(counted),
                "denominators": ", ".join(str(x) for x in dens) if dens else "none given",
            }
        )
    return pd.DataFrame(rows)


def pooling_values(e: pd.DataFrame, data_dir: Path | None = None) -> dict[str, Any]:
    """Numbers for the "why not pooled" paragraph, counted over the review's series (``literature/studies``):
    the series the source papers give a severe-toxicity count and denominator for, the series whose own
    publication's extraction recorded a late grade >= 3 toxicity statement (``literature/extractions``,
    field ``late_toxicity_g3plus``; not in this chapter's table), and the series with neither."""
    studies = loaders.load_studies(data_dir)
    ids = set(studies["study_id"])
    particle = e[e["source_id"].isin(ids) & e["n_events"].notna() & e["denominator"].notna() & (e["n_events"] > 0)]
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
    return {
        "tox_n_rows": len(e),
        "tox_n_restated": int(e["is_restatement"].sum()),
        "tox_n_series": int(e["series"].nunique()),
        "tox_n_review_series": len(studies),
        "tox_n_particle_counted": len(with_count),
        "tox_particle_counted": ", ".join(counted) if counted else "none",
        "tox_n_in_sources": len(in_sources),
        "tox_n_extracted": len(extracted),
        "tox_extracted": ", ".join(labels(extracted)) if extracted else "none",
        "tox_n_neither": len(neither),
        "tox_scales": "; ".join(sorted({str(x) for x in e["scale"].dropna() if not str(x).startswith("not stated")}))
        or "none named",
    }


def heading_html(series: str) -> str:
    """A series name as an escaped HTML sub-heading (data text is never markup)."""
    return f'<h3 class="toxicity-series">{html.escape(str(series))}</h3>'


# --- severe late toxicity by patient group (the harms row of the summary of findings) -------------------------

#: Phases that can hold a late event: late, and statements that do not say (they cover late events too).
LATE_PHASES = ("late", "not stated")
#: Imprecision of a harm: very serious below the first total of patients (or with one series), serious below
#: the second (a 5% risk is known to about +/-2.5 points only from about 300 patients: 1.96 * sqrt(.05 * .95 / 300)).
HARM_FEW_PATIENTS = (100, 300)
#: A percentage printed in a statement.
_PCT = re.compile(r"(\d+(?:\.\d+)?) ?%")


def _severe(grade: Any) -> bool:
    g = str(grade).casefold()
    return any(
        w in g
        for w in ("3", "4", "iii", "iv", "severe", "greater than grade 2", ">g2", "higher than g2", "grade 2 or higher")
    )


def severe_late(e: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """The statements on severe (grade 3 or worse) late toxicity of the review's series: phase late or not
    stated, a grade of 3 or worse (or 'severe'), not a restatement of another row; with each series' patient
    group, name and median follow-up."""
    from sarcoma_review.data import patient_groups

    s = studies.drop_duplicates("study_id").set_index("study_id")
    groups = patient_groups.group_of(studies)
    d = e[
        e["source_id"].isin(s.index) & e["phase"].isin(LATE_PHASES) & ~e["is_restatement"] & e["grade"].map(_severe)
    ].copy()
    d["group"] = d["source_id"].map(groups)
    d["series_name"] = [f"{s.at[i, 'first_author']} {int(s.at[i, 'year'])}" for i in d["source_id"]]
    d["median_followup_months"] = [s.at[i, "median_followup_months"] for i in d["source_id"]]
    og = s["overlap_group"].fillna("").astype(str) if "overlap_group" in s.columns else pd.Series("", index=s.index)
    d["overlap_group"] = [og[i] or f"series:{i}" for i in d["source_id"]]
    return d


def _statement_text(r: Any) -> str:
    if pd.notna(r.n_events) and pd.notna(r.denominator):
        n, d = int(r.n_events), int(r.denominator)
        what = f"{n} of {d} ({100 * n / d:.0f}%)" if n else f"none of {d}"
    elif _PCT.search(str(r.statement)):
        what = f"{_PCT.search(str(r.statement)).group(1)}% of patients, no count"
    else:
        what = "no count"
    phase = "late" if r.phase == "late" else "acute or late not stated"
    return f"{what}: {r.event} ({r.grade}; {phase})"


def _short(x: pd.DataFrame, counted: pd.DataFrame) -> str:
    """One series' severe late toxicity in a few words: ``13/219 (6%)``, ``6 + 2 events in 188``, ..."""
    if counted.empty:
        pct = _PCT.search(" ".join(x["statement"].astype(str)))
        return f"{pct.group(1)}% of patients, no count" if pct else "no count"
    d = int(counted["denominator"].max())
    ns = [int(n) for n in counted["n_events"]]
    text = (
        f"{ns[0]}/{d} ({100 * ns[0] / d:.0f}%)"
        if len(ns) == 1
        else f"{' + '.join(str(n) for n in ns)} events in {d} (not a patient total)"
    )
    if not (x["phase"] == "late").any():
        text += ", acute or late not stated"
    return text


def series_harms(d: pd.DataFrame) -> pd.DataFrame:
    """One row per series: its statements in words, its largest denominator and median follow-up."""
    rows = []
    for (g, sid), x in d.groupby(["group", "source_id"], sort=False):
        dens = x["denominator"].dropna()
        fu = x["median_followup_months"].iloc[0]
        counted = x.dropna(subset=["n_events", "denominator"])
        rows.append(
            {
                "group": g,
                "study_id": sid,
                "series": x["series_name"].iloc[0],
                "statements": "; ".join(_statement_text(r) for r in x.itertuples()),
                "short": _short(x, counted),
                "denominator": int(dens.max()) if len(dens) else float("nan"),
                "events_counted": int(counted["n_events"].sum()) if len(counted) else float("nan"),
                "several_rows": len(counted) > 1,
                "overlap_group": x["overlap_group"].iloc[0],
                "any_late_explicit": bool((x["phase"] == "late").any()),
                "scale_named": bool(x["scale"].notna().any()),
                "median_followup_months": float(fu) if pd.notna(fu) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _wilson(n: int, d: int) -> tuple[float, float]:
    from scipy.stats import norm

    z = float(norm.ppf(0.975))
    p = n / d
    c = (p + z * z / (2 * d)) / (1 + z * z / d)
    h = z * ((p * (1 - p) / d + z * z / (4 * d * d)) ** 0.5) / (1 + z * z / d)
    return 100 * (c - h), 100 * (c + h)


def rate_harm(s: pd.DataFrame, n_group_series: int) -> dict[str, Any]:
    """GRADE for a harm's frequency in one group, from the series' own statements (nothing pooled).

    The question is how often severe late toxicity follows particle therapy (a frequency, rated as the benefit
    rows: observational series start high), not whether it is more frequent than after another treatment. Every
    domain is decided by a stated rule from the data:
    risk of bias serious when a statement names no grading scale (toxicity then is counted as each centre chose);
    inconsistency not assessable with one series, serious when the Wilson 95% intervals of two series' proportions
    do not overlap; indirectness serious when a statement does not say the events were late or counts events
    rather than patients; imprecision (:data:`HARM_FEW_PATIENTS`); publication bias serious when fewer than half
    of the group's series report severe late toxicity at all.
    """
    from sarcoma_review.stats import certainty as grade

    one = s[s["denominator"].notna() & s["events_counted"].notna()]
    # a shared cohort's patients counted once: the largest denominator of each overlap group
    n_total = int(one.groupby("overlap_group")["denominator"].max().sum()) if len(one) else 0
    domains = []
    no_scale = int((~s["scale_named"]).sum())
    domains.append(
        (
            "risk of bias",
            -1 if no_scale else 0,
            f"{no_scale} of {len(s)} series name no grading scale for these events"
            if no_scale
            else "every series names its grading scale",
        )
    )
    if len(one) < 2:
        domains.append(("inconsistency", 0, "not assessable: one series with a count"))
    else:
        cis = [_wilson(int(r.events_counted), int(r.denominator)) for r in one.itertuples()]
        apart = max(lo for lo, _ in cis) > min(hi for _, hi in cis)
        domains.append(
            (
                "inconsistency",
                -1 if apart else 0,
                "the series' 95% intervals do not overlap" if apart else "the series' 95% intervals overlap",
            )
        )
    indirect = int((~s["any_late_explicit"]).sum() + s["several_rows"].sum())
    domains.append(
        (
            "indirectness",
            -1 if indirect else 0,
            f"{indirect} statement(s) do not say the events were late, or count events rather than patients"
            if indirect
            else "every statement counts patients with late events",
        )
    )
    few, enough = HARM_FEW_PATIENTS
    imp = -2 if (len(one) < 2 or n_total < few) else -1 if n_total < enough else 0
    domains.append(
        (
            "imprecision",
            imp,
            f"{len(one)} series with a count, {n_total} patients, each shared cohort "
            f"once (very serious with one "
            f"series or fewer than {few} patients, serious below {enough})",
        )
    )
    share = len(s) / n_group_series if n_group_series else 0.0
    domains.append(
        (
            "publication bias",
            -1 if share < 0.5 else 0,
            f"{len(s)} of the group's {n_group_series} series report severe late toxicity",
        )
    )
    total = sum(x[1] for x in domains)
    level = grade.level_after(total)
    return {
        "certainty": level,
        "certainty_symbols": grade.level_symbols(level),
        "n_series_counted": len(one),
        "n_patients": n_total,
        "rated_down_for": "; ".join(
            f"{a} ({'very serious' if b <= -2 else 'serious'}: {c})" for a, b, c in domains if b < 0
        ),
        "domains": domains,
    }


def harms_by_group(e: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """One row per patient group whose series report severe late toxicity: the series' statements with their
    denominators, the median follow-up range, the certainty and the sentence on what follow-up cannot show."""
    from sarcoma_review.data import patient_groups

    per = series_harms(severe_late(e, studies))
    groups = patient_groups.group_of(studies)
    rows = []
    for g in patient_groups.GROUPS:
        s = per[per["group"] == g]
        if s.empty:
            continue
        n_series = sum(1 for v in groups.values() if v == g)
        c = rate_harm(s, n_series)
        fu = s["median_followup_months"].dropna()
        fu_text = (
            f"median follow-up {fu.min():.0f} to {fu.max():.0f} months"
            if fu.nunique() > 1
            else f"median follow-up {fu.iloc[0]:.0f} months"
            if len(fu)
            else "follow-up not reported"
        )
        if 0 < len(fu) < len(s):
            fu_text += f" ({len(fu)} of {len(s)} series report it)"
        rows.append(
            {
                "group": g,
                "outcome": "Severe late toxicity (grade 3 or worse)",
                "series_values": " | ".join(f"{r.series}: {r.statements}" for r in s.itertuples()),
                "series_short": "; ".join(f"{r.series} {r.short}" for r in s.itertuples()),
                "k": len(s),
                "n_patients": c["n_patients"],
                "followup": fu_text,
                "followup_caveat": (
                    f"Half the patients of these series were followed for less than their "
                    f"median follow-up ({fu_text.replace('median follow-up ', '')}); "
                    "late effects that appear after that are not counted."
                    if len(fu)
                    else "The follow-up is not reported, so late effects may be missed."
                ),
                "certainty": c["certainty"],
                "certainty_symbols": c["certainty_symbols"],
                "rated_down_for": c["rated_down_for"],
            }
        )
    return pd.DataFrame(rows)
