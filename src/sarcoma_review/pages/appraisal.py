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


#: The reader's words for the two kinds of checklist item (``appraisal/rob_items.kind``).
KIND_NAMES = {"bias": "bias item", "reporting": "reporting item"}


def rob_long(data_dir: Path | None = None) -> pd.DataFrame:
    """Risk of bias, one row per source and item, with the source label, the question, its domain and kind (bias
    or reporting). No overall verdict per source: the tool's guidance gives no rule for one (``appraisal/tools``)."""
    rob = loaders.load_table("appraisal", "risk_of_bias", data_dir)
    items = loaders.load_table("appraisal", "rob_items", data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    d = rob.merge(items[["tool_id", "item_id", "item", "domain", "kind"]], on=["tool_id", "item_id"], how="left")
    d = d.merge(sources[["source_id", "label", "role", "assessed_from", "study_id"]], on="source_id", how="left")
    d["source"] = [short_label(x) for x in d["label"]]
    return d


def item_order(data_dir: Path | None = None, kind: str | None = None) -> list[str]:
    """The checklist's items, bias items first, then reporting items (each in the checklist's order); ``kind``
    (``"bias"`` or ``"reporting"``) keeps one kind only."""
    items = loaders.load_table("appraisal", "rob_items", data_dir)
    order = list(items[items["kind"] == "bias"]["item_id"]) + list(items[items["kind"] != "bias"]["item_id"])
    if kind is None:
        return order
    keep = set(items[items["kind"] == kind]["item_id"])
    return [i for i in order if i in keep]


def source_order(data_dir: Path | None = None) -> list[str]:
    """The two source papers first, then the series in the order of literature/studies."""
    s = loaders.load_table("appraisal", "sources", data_dir)
    return [short_label(x) for x in s["label"]]


def traffic_light_frame(data_dir: Path | None = None) -> pd.DataFrame:
    """Rows for :func:`sarcoma_review.pages.render.appraisal.traffic_light`: every item (its question says whether
    it is a bias or a reporting item); no overall column, since the tool's guidance gives no overall rule."""
    d = rob_long(data_dir)
    return pd.DataFrame(
        {
            "source": d["source"],
            "item": d["item_id"],
            "judgement": d["judgement"],
            "question": [f"{KIND_NAMES.get(k, k)}: {q}" for k, q in zip(d["kind"], d["item"])],
            "rationale": d["rationale"],
            "kind": d["kind"],
        }
    )


def rob_counts(data_dir: Path | None = None) -> dict[str, Any]:
    """Numbers and words for the chapter's text: sources, how many judged from full text, the items by kind, the
    tool, why it was chosen, and what its guidance says about an overall judgement (``appraisal/tools``)."""
    sources = loaders.load_table("appraisal", "sources", data_dir)
    tools = loaders.load_table("appraisal", "tools", data_dir).set_index("tool_id")
    items = loaders.load_table("appraisal", "rob_items", data_dir)
    full = sources["assessed_from"].astype(str).str.contains(r"full (?:paper )?text", case=False, regex=True)
    return {
        "rob_n_sources": len(sources),
        "rob_n_full_text": int(full.sum()),
        "rob_n_series": int((sources["role"] == SERIES_ROLE).sum()),
        "rob_n_abstract": int(((sources["role"] == SERIES_ROLE) & ~full).sum()),
        "rob_n_items": len(items),
        "rob_n_bias_items": int((items["kind"] == "bias").sum()),
        "rob_n_reporting_items": int((items["kind"] == "reporting").sum()),
        "rob_bias_items": ", ".join(items[items["kind"] == "bias"]["item_id"]),
        "rob_reporting_items": ", ".join(items[items["kind"] == "reporting"]["item_id"]),
        "rob_tool": str(tools.at["jbi_case_series", "name"]),
        "rob_overall_quote": str(tools.at["jbi_case_series", "overall_rule_quote"]),
        "rob_overall_source": str(tools.at["jbi_case_series", "overall_rule_source"]),
    }


def rob_table(data_dir: Path | None = None) -> pd.DataFrame:
    """The full assessment for display: source, item, question, judgement, rationale, evidence, location."""
    d = rob_long(data_dir)
    return d[["source", "item_id", "kind", "item", "judgement", "rationale", "evidence", "location"]]


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
                "kind": KIND_NAMES.get(g["kind"].iat[0], g["kind"].iat[0]),
                "question": g["item"].iat[0],
                "judged as": "; ".join(f"{k}: {v} series" for k, v in counts.items()),
                "why (as recorded for most series)": g["rationale"].mode().iat[0],
            }
        )
    order = {k: i for i, k in enumerate(item_order(data_dir))}
    return pd.DataFrame(rows).sort_values("item", key=lambda s: s.map(order)).reset_index(drop=True)


def unappraisable_share(data_dir: Path | None = None) -> pd.DataFrame:
    """Per landmark: patients in series with a concern on a bias item (any bias item unclear, high or not
    judgeable) and in series not appraised at all; reporting items do not count (feeds the judged risk of bias)."""
    lit = overlap.independent_by_landmark(loaders.load_literature(data_dir))  # each shared cohort once
    d = rob_long(data_dir)
    bias = d[(d["kind"] == "bias") & d["study_id"].notna()]
    concern = bias.groupby("study_id")["judgement"].agg(lambda j: bool((j != "low").any()))
    lit = lit.assign(
        status=[
            "not appraised" if s not in concern.index else ("concern" if concern[s] else "no concern")
            for s in lit["study_id"]
        ]
    )
    out = []
    for (ep, hz), g in lit.groupby(["endpoint", "horizon_years"], sort=False):
        worry = g[g["status"] == "concern"]
        none = g[g["status"] == "not appraised"]
        out.append(
            {
                "endpoint": ep,
                "horizon_years": float(hz),
                "k": len(g),
                "n_patients": int(g["n_patients"].sum()),
                "k_concern": len(worry),
                "n_concern": int(worry["n_patients"].sum()),
                "k_not_appraised": len(none),
                "n_not_appraised": int(none["n_patients"].sum()),
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
    """The series of ``literature/studies`` without a risk-of-bias assessment (no ``appraisal/sources`` row with
    item judgements in ``risk_of_bias``): a new series needs its rows in ``data/appraisal/``."""
    studies = loaders.load_studies(data_dir)
    sources = loaders.load_table("appraisal", "sources", data_dir)
    rob = loaders.load_table("appraisal", "risk_of_bias", data_dir)
    rated = set(sources[sources["source_id"].isin(rob["source_id"])]["study_id"].dropna())
    return [s for s in studies["study_id"] if s not in rated]


def downgrade_counts(sof: pd.DataFrame) -> str:
    """In words, how many ratings each domain rated down, most first: ``"risk of bias in 25 ratings, imprecision
    in 22 ratings, ..."`` (``sof``: the summary-of-findings table, every population)."""
    counts = {grade.DOMAIN_NAMES[d]: int((sof[f"{d}_downgrade"] < 0).sum()) for d in grade.DOMAINS}
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    parts = [f"{name} in {n} rating{'s' if n != 1 else ''}" for name, n in ranked if n]
    return ", ".join(parts) if parts else "none"
