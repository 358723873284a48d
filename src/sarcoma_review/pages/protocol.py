"""The page "How the review was made" (``book/protocol.ipynb``): the flow of the evidence (PRISMA style)
and the numbers of the protocol's limitations, all counted from ``data/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.data import loaders
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
    lit = loaders.load_literature(data_dir, columns=["study_id", "endpoint", "horizon_years", "n_patients",
                                                     "histology"])
    comps = loaders.load_comparators(data_dir)
    reported = {s: sorted({(e, float(h)) for e, h in zip(g["endpoint"], g["horizon_years"])})
                for s, g in lit.groupby("study_id")}
    pools = []
    for a in analyses:
        if a.get("subgroup_column"):
            continue
        ep, hz = a["endpoint"], float(a["horizon_years"])
        inside = lit[(lit["endpoint"] == ep) & (lit["horizon_years"].astype(float) == hz)]
        out = studies[~studies["study_id"].isin(inside["study_id"])]
        why = []
        for r in out.itertuples():
            rep = reported.get(r.study_id, [])
            what = ", ".join(landmark_name(e, h) for e, h in rep) if rep else "no landmark rate"
            why.append(f"{_label(r)}: {what}")
        pools.append({"id": a["id"], "title": landmark_name(ep, hz), "endpoint": ep, "horizon_years": hz,
                      "k": len(inside),
                      "n_patients": int(inside["n_patients"].sum()),
                      "k_chordoma": len(population_rows(inside, "chordoma")),
                      "excluded": why})
    return {"papers": int(sources["seed_file"].nunique()), "sources": len(sources),
            "series": len(studies), "series_patients": int(studies["n_patients"].sum()),
            "comparators": int(comps["rate_percent"].notna().sum()), "comparator_rows": len(comps),
            "ifosfamide_patients": len(loaders.load_ifosfamide_patients(data_dir)),
            "tox_rows": len(loaders.load_table("toxicity", "events", data_dir)),
            "pools": pools}


def flow_boxes(c: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The boxes of the flow diagram (for :func:`sarcoma_review.pages.render.appraisal.flow_html`): the
    sources, the Table I series, then one parallel branch per pooled analysis with the series it leaves out,
    grouped by reason."""
    branches = []
    for p in c["pools"]:
        groups: dict[str, list[str]] = {}
        for item in p["excluded"]:
            name, reason = item.split(": ", 1)
            groups.setdefault(reason, []).append(name)
        branches.append({"title": f"{p['title']}: {p['k']} series ({p['n_patients']} patients)",
                         "lines": [f"{p['k_chordoma']} of them chordoma series"]
                         + (["one series only: shown as that series, not pooled"] if p["k"] == 1 else []),
                         "side": [f"left out: {', '.join(v)} ({len(v)} series; "
                                  f"{'it reports' if len(v) == 1 else 'they report'} {k} instead)"
                                  for k, v in groups.items()]})
    return [
        {"title": f"Source papers read: {c['papers']}",
         "lines": [f"{c['sources']} sources appraised for risk of bias (the two papers and the Table I series)",
                   f"{c['comparator_rows']} comparator statements ({c['comparators']} with a rate) and "
                   f"{c['tox_rows']} toxicity statements extracted"],
         "side": [f"Ifosfamide radiochemotherapy series ({c['ifosfamide_patients']} patients): photon "
                  "radiochemotherapy, not particle therapy; shown beside the pools, never in them",
                  "Comparator figures: other treatments and patients; quoted, never pooled"]},
        {"title": f"Particle-therapy series in Table I: {c['series']} ({c['series_patients']} patients)",
         "lines": ["one row per series: patients, site, histology, particle, one local-control and one "
                   "overall-survival rate (5-year, or 3-year where marked)"]},
        {"title": "Pooled analyses (each from the Table I series reporting that landmark)", "branches": branches},
    ]


def limitation_values(data_dir: Path | None = None) -> dict[str, Any]:
    """Numbers behind the protocol's limitations (glue values)."""
    studies = loaders.load_studies(data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    n_row_only = int((sources["role"] == "Table I series").sum())
    authors = studies.groupby("first_author")
    repeated = [f"{a} ({', '.join(str(int(y)) for y in g['year'])})" for a, g in authors if len(g) > 1]
    groups = studies["particle_group"].value_counts()
    various = studies[studies["histology"].astype(str).str.casefold() == "various"]
    cols = [c for c in studies.columns if c not in ("study_id", "source")]
    missing = [c for c in cols if any(w in c.lower() for w in _MISSING_WORDS)]
    return {
        "lim_n_row_only": n_row_only, "lim_n_series": len(studies),
        "lim_columns": ", ".join(cols),
        "lim_setting_columns": ", ".join(missing) if missing else "none",
        "lim_repeated_authors": "; ".join(repeated) if repeated else "none",
        "lim_n_repeated": len(repeated),
        "lim_particle_groups": ", ".join(f"{v} {k}" for k, v in groups.items()),
        "lim_n_various": len(various), "lim_various_patients": int(various["n_patients"].sum()),
        "lim_n_chordoma": len(population_rows(studies.assign(histology=studies["histology"]), "chordoma")),
    }


def flow_table(c: Mapping[str, Any]) -> pd.DataFrame:
    """The pools of the flow diagram as a table (series in, patients, chordoma series, series left out)."""
    return pd.DataFrame([{"analysis": p["title"], "series": p["k"], "patients": p["n_patients"],
                          "chordoma series": p["k_chordoma"], "left out": len(p["excluded"])} for p in c["pools"]])
