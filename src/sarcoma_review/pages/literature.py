"""The literature series as readers see it: each series as its own publication reports it (the wide
table and one summary per series), Table I of Cuccia et al. 2020 against those publications, and the
overlap groups."""

from __future__ import annotations

import pandas as pd

from sarcoma_review.data.vocabulary import ENDPOINT_NAMES, study_label
from sarcoma_review.pages.render.tables import md_text

ENDPOINT_ORDER = ["LC", "OS", "PFS", "DFS", "DMFS", "DPFS", "LRFS", "CSS"]


def label(row) -> str:
    """``"Imai 2016"`` (first author and year, as the sources cite a study)."""
    return f"{row['first_author']} {int(row['year'])}"


def table_one(literature: pd.DataFrame, studies: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per study with its rates in columns such as ``LC 5y (%)``, ordered by year.

    Columns: study, year, patients, site, histology, particle, particle group (and the update's columns
    where the data have them), one column per endpoint x horizon present in the data (an empty cell
    where a study does not report that landmark), and ``rates``: every rate of the row in one text cell.
    """
    cols = ["study_id", "first_author", "year", "n_patients", "site", "histology", "particle", "particle_group"]
    cols += [
        c
        for c in ("patient_group", "setting", "centre", "median_followup_months", "overlap_group", "origin", "access")
        if c in literature.columns
    ]
    base = literature.drop_duplicates("study_id") if studies is None else studies
    studies = base.loc[:, [c for c in cols if c in base.columns]]
    lit = literature.assign(
        landmark=[f"{e} {h:g}y (%)" for e, h in zip(literature["endpoint"], literature["horizon_years"].astype(float))]
    )
    wide = lit.pivot(index="study_id", columns="landmark", values="rate_percent")
    order = sorted(
        wide.columns, key=lambda c: (ENDPOINT_ORDER.index(c.split()[0]) if c.split()[0] in ENDPOINT_ORDER else 99, c)
    )
    out = studies.merge(wide[order], left_on="study_id", right_index=True, how="left")
    out.insert(0, "study", [label(r) for _, r in out.iterrows()])
    # every rate in one cell, for a narrow table: "LC 3y 67.4% · OS 3y 64%"
    out["rates"] = [
        " · ".join(f"{c.replace(' (%)', '')} {r[c]:g}%" for c in order if pd.notna(r[c])) or "none poolable"
        for _, r in out.iterrows()
    ]
    return out.sort_values(["year", "study"], kind="stable").reset_index(drop=True)


def study_summary(study: pd.Series, outcomes: pd.DataFrame) -> str:
    """One sentence per study, every figure from the data.

    ``outcomes`` are that study's rows of the literature table (endpoint, horizon_years,
    rate_percent).
    """
    parts = []
    for (h,), g in outcomes.sort_values("horizon_years").groupby(["horizon_years"], sort=True):
        rates = []
        for ep in ENDPOINT_ORDER + sorted(set(g["endpoint"]) - set(ENDPOINT_ORDER)):
            r = g[g["endpoint"] == ep]
            if not r.empty:
                rates.append(f"{ENDPOINT_NAMES.get(ep, ep)} {r['rate_percent'].iat[0]:g}%")
        parts.append(f"at {float(h):g} years, " + ", ".join(rates))
    esc = lambda v: md_text(str(v))  # noqa: E731 - data text, never markup (Markdown passes HTML)
    extra = ""
    if "centre" in study.index and isinstance(study.get("centre"), str):
        extra += f"; {esc(study['centre'])}"
    if "setting" in study.index and isinstance(study.get("setting"), str):
        extra += f"; setting {esc(study['setting'])}"
    if "median_followup_months" in study.index and pd.notna(study.get("median_followup_months")):
        extra += f"; median follow-up {float(study['median_followup_months']):g} months"
    read = ""
    if "access" in study.index and isinstance(study.get("access"), str):
        read = f" (read: {ACCESS_WORDS.get(study['access'], study['access'])})"
    return (
        f"**{esc(label(study))}**: {int(study['n_patients'])} patients; site {esc(study['site'])}; "
        f"histology {esc(study['histology'])}; {esc(study['particle'])} ({esc(study['particle_group'])}){extra}. "
        "Reported " + "; ".join(parts) + f"{read}."
    )


def study_summaries(literature: pd.DataFrame) -> list[str]:
    """:func:`study_summary` for every study, in order of publication year."""
    out = []
    studies = literature.drop_duplicates("study_id").sort_values(["year", "first_author"], kind="stable")
    for _, s in studies.iterrows():
        out.append(study_summary(s, literature[literature["study_id"] == s["study_id"]]))
    return out


#: Reader's words for what was read of a publication.
ACCESS_WORDS = {"full text": "full text", "abstract": "abstract only", "seed": "full text (source paper)"}


def verification_table(verification: pd.DataFrame, table_i: pd.DataFrame) -> pd.DataFrame:
    """Table I against each series' own publication: one row per Table I value with both values,
    the verdict and why (the quote folded into the row's details)."""
    labels = {r.study_id: r.author_as_printed for r in table_i.itertuples()}
    out = verification.copy()
    out.insert(0, "series", [labels.get(s, s) for s in out["study_id"]])
    out["access"] = [ACCESS_WORDS.get(a, "") if isinstance(a, str) else "" for a in out["access"]]
    return out


def not_pooled(verification: pd.DataFrame) -> pd.DataFrame:
    """The Table I rates that their own publication does not support (verdict other than "agrees"):
    shown in the Table I chapter and the audit, never pooled."""
    rates = verification[verification["field"].isin(["LC", "OS"])]
    return rates[rates["verdict"] != "agrees"].reset_index(drop=True)


def overlap_table(studies: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """The overlap groups with their series (label, patients, accrual years) and the evidence."""
    rows = []
    for g in groups.itertuples():
        members = studies[studies["overlap_group"] == g.overlap_group].sort_values("year")
        names = "; ".join(
            f"{label(m)} ({int(m['n_patients'])} patients"
            + (
                f", {int(m['accrual_start'])}–{int(m['accrual_end'])}"
                if pd.notna(m.get("accrual_start")) and pd.notna(m.get("accrual_end"))
                else ""
            )
            + ")"
            for _, m in members.iterrows()
        )
        rows.append({"group": g.overlap_group, "centre": g.centre, "series": names, "evidence": g.evidence})
    return pd.DataFrame(rows, columns=["group", "centre", "series", "evidence"])


def chapter_values(data_dir=None) -> dict:
    """The numbers the chapter's text states, each counted from ``data/`` (glue values)."""
    from sarcoma_review.data import evidence, loaders

    studies = loaders.load_studies(data_dir)
    t1 = loaders.load_table("literature", "table_i", data_dir)
    ver = loaders.load_table("literature", "verification", data_dir)
    flow = evidence.search_flow(data_dir)
    agree = evidence.agreement_summary(evidence.agreement(data_dir))
    rates = ver[ver["field"].isin(["LC", "OS"])]
    new = studies[studies["origin"] != "Table I"]
    return {
        "n_series": len(studies),
        "n_patients": int(studies["n_patients"].sum()),
        "n_table_i": len(t1),
        "n_table_i_read": flow["previous_readable"],
        "n_table_i_full": int(
            studies[studies["study_id"].isin(t1["study_id"])]["access"].isin(["full text", "seed"]).sum()
        ),
        "n_new": len(new),
        "n_new_patients": int(new["n_patients"].sum()),
        "n_carbon": int((studies["particle_group"] == "carbon").sum()),
        "n_proton": int((studies["particle_group"] == "proton-based").sum()),
        "n_mixed": int((studies["particle_group"] == "mixed").sum()),
        "n_rates_checked": len(rates),
        "n_rates_agree": int((rates["verdict"] == "agrees").sum()),
        "n_rates_not_pooled": len(not_pooled(ver)),
        "n_values_checked": len(ver),
        "n_values_agree": int((ver["verdict"] == "agrees").sum()),
        "n_overlap_groups": flow["overlap_groups"],
        "n_series_in_overlap": flow["series_in_overlap"],
        "n_compared": agree["values"],
        "n_agree": agree["agree"],
        "n_disagree": agree["disagree"],
        "n_only_one": agree["only_1"] + agree["only_2"],
        "search_date": flow["search_date_last"],
    }


#: Readers' words for the extraction fields (literature/extractions.field).
FIELD_WORDS = {
    "n_patients": "patients",
    "n_chordoma": "patients with chordoma",
    "setting_definitive": "treated for macroscopic disease",
    "setting_postoperative": "treated after surgery",
    "recurrent": "recurrent tumours",
    "median_followup_months": "median follow-up (months)",
    "accrual_start": "first year treated",
    "accrual_end": "last year treated",
    "late_toxicity_g3plus": "late toxicity grade 3 or worse (patients)",
    "rate": "rate (%)",
}


def agreement_table(agreement: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """The values on which the two extractions did not simply agree, in readers' words: series label,
    value, endpoint name and horizon, both extractions, the value used and why."""
    names = {r.study_id: study_label(r.first_author, r.year) for r in studies.itertuples()}
    out = agreement[agreement["status"] != "agree"].copy()
    out["series"] = [names.get(s, s) for s in out["study_id"]]
    out["value"] = [FIELD_WORDS.get(f, f) for f in out["field"]]
    out["endpoint"] = [
        ENDPOINT_NAMES.get(e, "other endpoint (its own name: see why)" if e == "OTHER" else e) if e else ""
        for e in out["endpoint"]
    ]
    out["resolved"] = [r if r else "not used" for r in out["resolved"]]
    return out.reset_index(drop=True)


def unlinked_text(studies: pd.DataFrame) -> str:
    """A sentence naming the series whose publication, as read, names no centre: they cannot be linked to
    an overlap group, so a shared cohort among them would go unnoticed."""
    grouped = studies["overlap_group"].astype("string").fillna("").str.strip() != ""
    unnamed = studies[studies["centre"].astype(str).str.startswith("not named") & ~grouped]
    if unnamed.empty:
        return "Every series names its centre or is in an overlap group."
    names = ", ".join(md_text(study_label(r.first_author, r.year)) for r in unnamed.itertuples())
    return (
        f"{len(unnamed)} series name no centre in what was read and are in no overlap group ({names}): if one "
        "shares patients with another series, the pools count those patients twice."
    )
