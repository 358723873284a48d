"""The page "How the review was made" (``book/protocol.ipynb``): the flow of the evidence (PRISMA style)
and the numbers of the protocol's limitations, all counted from ``data/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.data import evidence, loaders, overlap
from sarcoma_review.data.vocabulary import landmark_name
from sarcoma_review.stats.certainty import population_rows

#: Study-table columns that would tell treatment setting, dose or biological model, if Table I had them.
_MISSING_WORDS = ("dose", "rbe", "setting", "intent", "definitive", "postoperative", "model", "follow")


def _label(r: Any) -> str:
    return f"{r.first_author} {int(r.year)}"


def flow_counts(analyses: Sequence[Mapping[str, Any]], data_dir: Path | None = None) -> dict[str, Any]:
    """Every count of the flow diagram.

    Keys: ``papers`` (source papers read), ``sources`` (appraised sources), ``series`` and
    ``series_patients`` (Table I), ``comparators`` (comparator figures), ``ifosfamide_patients``,
    ``tox_rows``, and ``pools``: per landmark analysis its series, patients, chordoma series, and the
    Table I series left out with the reason (what they report instead).
    """
    sources = loaders.load_table("appraisal", "sources", data_dir)
    studies = loaders.load_studies(data_dir)
    # only the columns used below (no rates): a changed rate does not re-execute the page
    lit = loaders.load_literature(
        data_dir,
        columns=[
            "study_id",
            "first_author",
            "year",
            "endpoint",
            "horizon_years",
            "n_patients",
            "histology",
            "overlap_group",
        ],
    )
    comps = loaders.load_comparators(data_dir)
    reported = {
        s: sorted({(e, float(h)) for e, h in zip(g["endpoint"], g["horizon_years"])})
        for s, g in lit.groupby("study_id")
    }
    pools = []
    for a in analyses:
        if a.get("subgroup_column"):
            continue
        ep, hz = a["endpoint"], float(a["horizon_years"])
        reporting = lit[(lit["endpoint"] == ep) & (lit["horizon_years"].astype(float) == hz)]
        inside = overlap.independent(reporting)
        stood = overlap.stand_ins(reporting)
        out = studies[~studies["study_id"].isin(reporting["study_id"])]
        why = []
        for r in out.itertuples():
            rep = reported.get(r.study_id, [])
            what = ", ".join(landmark_name(e, h) for e, h in rep) if rep else "no landmark rate"
            why.append(f"{_label(r)}: {what}")
        pools.append(
            {
                "id": a["id"],
                "title": landmark_name(ep, hz),
                "endpoint": ep,
                "horizon_years": hz,
                "k": len(inside),
                "n_patients": int(inside["n_patients"].sum()),
                "k_chordoma": len(population_rows(inside, "chordoma")),
                "excluded": why,
                "stood_in": [f"{r.kept} stands in for {r.left_out}" for r in stood.itertuples()],
                "k_counted_once": len(reporting) - len(inside),
            }
        )
    return {
        "papers": int(sources["seed_file"].nunique()),
        "sources": len(sources),
        "series": len(studies),
        "series_patients": int(studies["n_patients"].sum()),
        "comparators": int(comps["rate_percent"].notna().sum()),
        "comparator_rows": len(comps),
        "ifosfamide_patients": len(loaders.load_ifosfamide_patients(data_dir)),
        "tox_rows": len(loaders.load_table("toxicity", "events", data_dir)),
        "update": evidence.search_flow(data_dir),
        "pools": pools,
    }


def flow_boxes(c: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The boxes of the PRISMA 2020 flow of this update (for
    :func:`sarcoma_review.pages.render.appraisal.flow_html`): the previous version (Table I), the new
    search and its screening, the series included, then one parallel branch per pooled analysis with the
    series it leaves out, grouped by reason, and the shared cohorts counted once."""
    u = c["update"]
    branches = []
    for p in c["pools"]:
        groups: dict[str, list[str]] = {}
        for item in p["excluded"]:
            name, reason = item.split(": ", 1)
            groups.setdefault(reason, []).append(name)
        side = [
            f"not reporting it: {', '.join(v)} ({len(v)} series; {'it reports' if len(v) == 1 else 'they report'} {k})"
            for k, v in groups.items()
        ]
        side += [f"shared cohort counted once: {x}" for x in p.get("stood_in", [])]
        branches.append(
            {
                "title": f"{p['title']}: {p['k']} series ({p['n_patients']} patients)",
                "lines": [f"{p['k_chordoma']} of them chordoma series"]
                + (["one series only: shown as that series, not pooled"] if p["k"] == 1 else []),
                "side": side,
            }
        )
    reasons = [f"{k}: {v}" for k, v in sorted(u["excluded_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))]
    return [
        {
            "title": f"Previous version: Table I of Cuccia et al. 2020, {u['previous_series']} series",
            "lines": [f"{u['previous_readable']} of them read in their own publication"],
            "side": [
                f"{u['previous_series'] - u['previous_readable']} whose publication could not be read: "
                "shown in the literature chapter, not pooled"
            ]
            if u["previous_series"] > u["previous_readable"]
            else [],
        },
        {
            "title": f"Identification: {u['searches']} searches run on {u['search_date_last']}",
            "lines": [f"{u['records']} records screened (title and abstract, full text where readable)"],
            "side": [f"excluded: {u['excluded']}"] + reasons,
        },
        {
            "title": f"New series included: {u['new_series']}",
            "lines": [
                f"Series in the review: {u['total_series']} ({u['total_patients']} patients)",
                f"{u['overlap_groups']} groups of series that may share patients ({u['series_in_overlap']} series)",
            ],
            "side": [
                f"Source papers of the review: {c['papers']} (the CNAO cohort with Table I, and the ifosfamide "
                f"radiochemotherapy series of {c['ifosfamide_patients']} patients: photon radiochemotherapy, "
                "shown beside the pools, never in them)",
                f"{c['comparator_rows']} comparator statements ({c['comparators']} with a rate): quoted, never pooled",
            ],
        },
        {"title": "Pooled analyses (each counts every shared cohort once)", "branches": branches},
    ]


def limitation_values(data_dir: Path | None = None) -> dict[str, Any]:
    """Numbers behind the protocol's limitations (glue values), counted from ``data/``."""
    studies = loaders.load_studies(data_dir)
    ex = loaders.load_table("literature", "extractions", data_dir)
    setting = studies["setting"].value_counts()
    groups = studies["particle_group"].value_counts()
    hist = studies["patient_group"].value_counts()
    with_dose = ex[ex["field"] == "dose"]["study_id"].nunique()
    with_rbe = ex[ex["field"] == "rbe_model"]["study_id"].nunique()
    abstract_only = studies["access"] == "abstract"
    return {
        "lim_n_series": len(studies),
        "lim_setting": ", ".join(f"{v} {k}" for k, v in setting.items()),
        "lim_n_setting_unknown": int(setting.get("not reported", 0)),
        "lim_n_abstract": int(abstract_only.sum()),
        "lim_n_dose": int(with_dose),
        "lim_n_rbe": int(with_rbe),
        "lim_particle_groups": ", ".join(f"{v} {k}" for k, v in groups.items()),
        "lim_patient_groups": ", ".join(f"{v} {k}" for k, v in hist.items()),
        "lim_n_chordoma": int(hist.get("chordoma", 0)),
        "lim_n_overlap": int((studies["overlap_group"].astype("string").fillna("") != "").sum()),
        "lim_n_groups": int(studies["overlap_group"].dropna().nunique()),
    }


def flow_table(c: Mapping[str, Any]) -> pd.DataFrame:
    """The pools of the flow diagram as a table (series in, patients, chordoma series, series left out)."""
    return pd.DataFrame(
        [
            {
                "analysis": p["title"],
                "series": p["k"],
                "patients": p["n_patients"],
                "chordoma series": p["k_chordoma"],
                "not reporting it": len(p["excluded"]),
                "counted once (shared cohort)": p["k_counted_once"],
            }
            for p in c["pools"]
        ]
    )


# --- certainty: the protocol's thresholds and the decisions they serve ------------------------------------------


def threshold_table(data_dir: Path | None = None) -> pd.DataFrame:
    """The protocol's GRADE thresholds (``appraisal/grade_thresholds``) for display: what each is, its value, the
    decision it is tied to, why this value, and whether it is the review's own choice or GRADE's guidance."""
    t = loaders.load_table("appraisal", "grade_thresholds", data_dir)
    names = {
        "practice_margin": "Practice-changing difference from the comparable photon figure",
        "ci_width_serious": "Width of the 95% confidence interval, one level down (no comparable figure)",
        "ci_width_very_serious": "Width of the 95% confidence interval, two levels down (no comparable figure)",
        "spread_width_serious": "Spread of the series' true rates, one level down (no comparable figure)",
        "spread_width_very_serious": "Spread of the series' true rates, two levels down (no comparable figure)",
        "information_rate": "Rate at which the optimal information size is computed",
    }
    return pd.DataFrame(
        {
            "threshold": [names.get(i, i) for i in t["threshold_id"]],
            "value": [f"{v:g} {u}" for v, u in zip(t["value"], t["unit"])],
            "domain": t["domain"].astype(str),
            "decision": t["decision"].astype(str),
            "why this value": t["reasoning"].astype(str),
            "basis": t["basis"].astype(str),
            "source": [(f"{q} ({s})" if isinstance(q, str) and q else "") for q, s in zip(t["quote"], t["source"])],
        }
    )


def decision_threshold_table(data_dir: Path | None = None) -> pd.DataFrame:
    """Per landmark with a comparable photon figure: the figure, its source, and the two decision thresholds
    (figure minus and plus the practice margin) the computed domains judge intervals against."""
    from sarcoma_review.pages.summary import decision_figures, load_thresholds

    th = load_thresholds(data_dir)
    rows = []
    for (ep, hz), figs in sorted(decision_figures(data_dir).items()):
        for label, rate in figs:
            pts = th.decision_points([(label, rate)])
            rows.append(
                {
                    "landmark": landmark_name(ep, hz),
                    "comparable photon figure": f"{label}: {rate:g}%",
                    "decision thresholds": " and ".join(f"{v:g}%" for v, _ in pts),
                }
            )
    return pd.DataFrame(rows, columns=["landmark", "comparable photon figure", "decision thresholds"])


def threshold_values(data_dir: Path | None = None) -> dict[str, Any]:
    """Glue values of the certainty rules (Methods, this page and the appraisal chapter), from the data."""
    from sarcoma_review.pages.summary import load_thresholds
    from sarcoma_review.stats.certainty import START_LEVEL

    th = load_thresholds(data_dir)
    return {
        "g_margin": f"{th.practice_margin:g}",
        "g_ci_serious": f"{th.ci_width_serious:g}",
        "g_ci_very": f"{th.ci_width_very_serious:g}",
        "g_spread_serious": f"{th.spread_width_serious:g}",
        "g_spread_very": f"{th.spread_width_very_serious:g}",
        "g_info_rate": f"{th.information_rate:g}",
        "g_info_size": th.information_size,
        "g_start": START_LEVEL,
    }
