"""The chapter "Risk of bias and certainty of evidence" (``book/appraisal.ipynb``).

Risk of bias per source and item (``data/appraisal``), what the series' publications (mostly abstracts) do
not let us judge, and the GRADE
table per outcome and population with each domain marked computed or judged
(:mod:`sarcoma_review.stats.certainty`, through :func:`sarcoma_review.pages.summary.load_sof`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.data import loaders, overlap
from sarcoma_review.stats import certainty as grade

#: ``appraisal/sources.role`` of a particle-therapy series appraised from its own publication.
SERIES_ROLE = "particle-therapy series"


def short_label(label: str) -> str:
    """``"Serizawa 2009 (own publication, abstract)"`` -> ``"Serizawa 2009"``; a paper keeps its first part."""
    return str(label).split(" (own publication")[0].split(" (CNAO")[0].split(" (ifosfamide")[0]


def rob_long(data_dir: Path | None = None) -> pd.DataFrame:
    """Risk of bias, one row per source and item, with the source label, the question and the overall rating."""
    rob = loaders.load_table("appraisal", "risk_of_bias", data_dir)
    items = loaders.load_table("appraisal", "rob_items", data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    overall = loaders.load_table("appraisal", "rob_overall", data_dir)
    d = rob.merge(items[["tool_id", "item_id", "item", "domain"]], on=["tool_id", "item_id"], how="left")
    d = d.merge(sources[["source_id", "label", "role", "assessed_from"]], on="source_id", how="left")
    d = d.merge(overall[["source_id", "tool_id", "overall"]], on=["source_id", "tool_id"], how="left")
    d["source"] = [short_label(x) for x in d["label"]]
    return d


def item_order(data_dir: Path | None = None) -> list[str]:
    return list(loaders.load_table("appraisal", "rob_items", data_dir)["item_id"])


def source_order(data_dir: Path | None = None) -> list[str]:
    """The two source papers first, then the series in the order of literature/studies."""
    s = loaders.load_table("appraisal", "sources", data_dir)
    return [short_label(x) for x in s["label"]]


def traffic_light_frame(data_dir: Path | None = None) -> pd.DataFrame:
    """Rows for :func:`sarcoma_review.pages.render.appraisal.traffic_light`: every item, then ``Overall``."""
    d = rob_long(data_dir)
    cells = d[["source", "item_id", "judgement", "item", "rationale"]].rename(
        columns={"item_id": "item", "item": "question"}
    )
    overall = loaders.load_table("appraisal", "rob_overall", data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir).set_index("source_id")
    ov = pd.DataFrame(
        {
            "source": [short_label(sources.at[s, "label"]) for s in overall["source_id"]],
            "item": "Overall",
            "judgement": overall["overall"],
            "question": "overall rule",
            "rationale": overall["rationale"],
        }
    )
    return pd.concat([cells, ov], ignore_index=True)


def rob_counts(data_dir: Path | None = None) -> dict[str, Any]:
    """Numbers for the chapter's text: sources, how many judged from full text, overall ratings."""
    overall = loaders.load_table("appraisal", "rob_overall", data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    counts = overall["overall"].value_counts()
    tools = loaders.load_table("appraisal", "tools", data_dir).set_index("tool_id")
    items = loaders.load_table("appraisal", "rob_items", data_dir)
    full = sources["assessed_from"].astype(str).str.contains(r"full (?:paper )?text", case=False, regex=True)
    return {
        "rob_n_sources": len(sources),
        "rob_n_full_text": int(full.sum()),
        "rob_n_series": int((sources["role"] == SERIES_ROLE).sum()),
        "rob_n_abstract": int(((sources["role"] == SERIES_ROLE) & ~full).sum()),
        "rob_n_items": len(items),
        "rob_n_cannot": int(counts.get("cannot be judged", 0)),
        "rob_n_high": int(counts.get("high", 0)),
        "rob_n_some": int(counts.get("some concerns", 0)),
        "rob_n_low": int(counts.get("low", 0)),
        "rob_tool": str(tools.at["jbi_case_series", "name"]),
        "rob_rule": str(overall["rule"].iat[0]),
    }


def rob_table(data_dir: Path | None = None) -> pd.DataFrame:
    """The full assessment for display: source, item, question, judgement, rationale, evidence, location."""
    d = rob_long(data_dir)
    return d[["source", "item_id", "item", "judgement", "rationale", "evidence", "location"]]


def series_limits(data_dir: Path | None = None) -> pd.DataFrame:
    """Per item: how the particle-therapy series were judged and why (the commonest rationale), i.e. what
    their publications, mostly abstracts, do not tell."""
    d = rob_long(data_dir)
    t = d[d["role"] == SERIES_ROLE]
    rows = []
    for item, g in t.groupby("item_id", sort=False):
        counts = g["judgement"].value_counts()
        rows.append(
            {
                "item": item,
                "question": g["item"].iat[0],
                "judged as": "; ".join(f"{k}: {v} series" for k, v in counts.items()),
                "why (as recorded for most series)": g["rationale"].mode().iat[0],
            }
        )
    order = {k: i for i, k in enumerate(item_order(data_dir))}
    return pd.DataFrame(rows).sort_values("item", key=lambda s: s.map(order)).reset_index(drop=True)


def unappraisable_share(data_dir: Path | None = None) -> pd.DataFrame:
    """Per landmark: patients in series whose overall risk of bias could not be judged (feeds the judged domain)."""
    lit = overlap.independent_by_landmark(loaders.load_literature(data_dir))  # each shared cohort once
    overall = loaders.load_table("appraisal", "rob_overall", data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    status = sources.merge(overall, on="source_id").dropna(subset=["study_id"]).set_index("study_id")["overall"]
    lit = lit.assign(rob=lit["study_id"].map(status).fillna("not appraised"))
    out = []
    for (ep, hz), g in lit.groupby(["endpoint", "horizon_years"], sort=False):
        bad = g[g["rob"].isin(["cannot be judged", "not appraised"])]
        out.append(
            {
                "endpoint": ep,
                "horizon_years": float(hz),
                "k": len(g),
                "n_patients": int(g["n_patients"].sum()),
                "k_not_judged": len(bad),
                "n_not_judged": int(bad["n_patients"].sum()),
            }
        )
    return pd.DataFrame(out)


def grade_table(sof: pd.DataFrame) -> pd.DataFrame:
    """The GRADE table: one row per outcome and population, each domain as ``judgement (computed|judged)``."""
    t = pd.DataFrame(
        {
            "outcome": sof["outcome"],
            "population": sof["population"],
            "series (patients)": [f"{k} ({n})" for k, n in zip(sof["k"], sof["n_patients"])],
            "rate (95% CI)": [
                f"{e:.1f}% ({lo:.1f} to {hi:.1f})" + ("" if m != "single study" else f", one series: {s}")
                for e, lo, hi, m, s in zip(sof["estimate"], sof["ci_low"], sof["ci_high"], sof["model"], sof["series"])
            ],
        }
    )
    for d in grade.DOMAINS:
        t[grade.DOMAIN_NAMES[d]] = [f"{j} ({b})" for j, b in zip(sof[d], sof[f"{d}_basis"])]
    t["certainty"] = [f"{s} {c}" for s, c in zip(sof["certainty_symbols"], sof["certainty"])]
    return t


def grade_reasons(sof: pd.DataFrame) -> pd.DataFrame:
    """Why: one row per outcome, population and domain, with the rule's numbers or the judgement's rationale."""
    rows = []
    for r in sof.itertuples():
        for d in grade.DOMAINS:
            rows.append(
                {
                    "outcome": r.outcome,
                    "population": r.population,
                    "domain": grade.DOMAIN_NAMES[d],
                    "basis": getattr(r, f"{d}_basis"),
                    "judgement": getattr(r, d),
                    "levels down": -int(getattr(r, f"{d}_downgrade")),
                    "why": getattr(r, f"{d}_reason"),
                }
            )
    return pd.DataFrame(rows)


def judged_evidence(data_dir: Path | None = None) -> pd.DataFrame:
    """The judged GRADE rows as recorded, with the sentences they rest on (``||`` separates sentences)."""
    j = loaders.load_table("appraisal", "certainty_judgements", data_dir)
    return j.assign(domain=j["domain"].map(grade.DOMAIN_NAMES))[
        ["domain", "endpoint", "horizon_years", "population", "judgement", "rationale", "evidence", "location"]
    ]


def rule_values(data_dir: Path | None = None) -> dict[str, Any]:
    """The computed rules' thresholds, for glue in Methods and this chapter (from ``appraisal/grade_thresholds``)."""
    from sarcoma_review.pages.protocol import threshold_values

    return threshold_values(data_dir)


def not_appraised(data_dir: Path | None = None) -> list[str]:
    """The series of ``literature/studies`` without a risk-of-bias assessment (no ``appraisal/sources`` row
    with a ``rob_overall`` rating): a new series needs its rows in ``data/appraisal/``."""
    studies = loaders.load_studies(data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    overall = loaders.load_table("appraisal", "rob_overall", data_dir)
    rated = set(sources[sources["source_id"].isin(overall["source_id"])]["study_id"].dropna())
    return [s for s in studies["study_id"] if s not in rated]
