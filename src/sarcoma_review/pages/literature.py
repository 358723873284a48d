"""The literature series (Table I) as readers see it: the wide table and one summary per study."""

from __future__ import annotations

import html

import pandas as pd

from sarcoma_review.data.vocabulary import ENDPOINT_NAMES

ENDPOINT_ORDER = ["LC", "OS", "DPFS"]


def label(row) -> str:
    """``"Imai 2016"`` (first author and year, as the sources cite a study)."""
    return f"{row['first_author']} {int(row['year'])}"


def table_one(literature: pd.DataFrame) -> pd.DataFrame:
    """One row per study with its rates in columns such as ``LC 5y (%)``, ordered by year.

    Columns: study, year, patients, site, histology, particle (as printed), particle group, then
    one column per endpoint x horizon present in the data (an empty cell where a study does not
    report that landmark).
    """
    studies = (literature.drop_duplicates("study_id")
               .loc[:, ["study_id", "first_author", "year", "n_patients", "site", "histology",
                        "particle", "particle_group"]])
    lit = literature.assign(landmark=[f"{e} {h:g}y (%)" for e, h in
                                      zip(literature["endpoint"], literature["horizon_years"].astype(float))])
    wide = lit.pivot(index="study_id", columns="landmark", values="rate_percent")
    order = sorted(wide.columns, key=lambda c: (ENDPOINT_ORDER.index(c.split()[0])
                                                if c.split()[0] in ENDPOINT_ORDER else 99, c))
    out = studies.merge(wide[order], left_on="study_id", right_index=True, how="left")
    out.insert(0, "study", [label(r) for _, r in out.iterrows()])
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
    esc = lambda v: html.escape(str(v), quote=False)  # noqa: E731 - data text, never markup (Markdown passes HTML)
    return (f"**{esc(label(study))}**: {int(study['n_patients'])} patients; site {esc(study['site'])}; "
            f"histology {esc(study['histology'])}; {esc(study['particle'])} ({esc(study['particle_group'])}). "
            "Reported " + "; ".join(parts) + ".")


def study_summaries(literature: pd.DataFrame) -> list[str]:
    """:func:`study_summary` for every study, in order of publication year."""
    out = []
    studies = literature.drop_duplicates("study_id").sort_values(["year", "first_author"], kind="stable")
    for _, s in studies.iterrows():
        out.append(study_summary(s, literature[literature["study_id"] == s["study_id"]]))
    return out
