"""The R reference fixture the statistics are validated against (``tests/fixtures/r_reference.json``).

The Methods chapter quotes the R and package versions that produced it; reading it through
:func:`reference_versions` records the read, so the chapter is rebuilt when the fixture changes.
"""

from __future__ import annotations

import json

from sarcoma_review.data.tracking import record_read
from sarcoma_review.paths import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "r_reference.json"


def reference_versions() -> dict[str, str]:
    """``{"R": "R version 4.2.2 Patched", "metafor": ..., "survival": ..., "lme4": ...}`` as recorded
    by ``scripts/r/make_reference.R`` when it generated the fixture."""
    record_read(FIXTURE)
    meta = json.loads(FIXTURE.read_text(encoding="utf-8"))["meta"]
    return {
        "R": meta["R_version"].split(" (")[0],
        "metafor": meta["metafor"],
        "survival": meta["survival"],
        "lme4": meta["lme4"],
    }


# --------------------------------------------------------------------------------------------
# the sources of the literature series (the Methods chapter's prose and its table of publications)
# --------------------------------------------------------------------------------------------
def _join(items) -> str:
    items = [str(x) for x in items]
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _series(n: int) -> str:
    return f"{n} series"


def pooled_landmarks_text(analyses) -> str:
    """The pooled analyses of ``book/analyses.yml`` in words, grouped by endpoint:
    ``"local control and overall survival at 2, 3 and 5 years, ..."`` (subgroup entries left out)."""
    from sarcoma_review.data.vocabulary import ENDPOINT_NAMES

    horizons: dict[str, list[float]] = {}
    for a in analyses:
        if a.get("subgroup_column"):
            continue
        hz = horizons.setdefault(str(a["endpoint"]), [])
        if float(a["horizon_years"]) not in hz:
            hz.append(float(a["horizon_years"]))
    # endpoints with the same horizons share one phrase, in the order of the file
    groups: dict[tuple[float, ...], list[str]] = {}
    for ep, hz in horizons.items():
        groups.setdefault(tuple(sorted(hz)), []).append(ENDPOINT_NAMES.get(ep, ep))
    parts = []
    for hz, names in groups.items():
        years = _join(f"{h:g}" for h in hz)
        parts.append(f"{_join(names)} at {years} year{'s' if len(hz) > 1 or hz[0] != 1 else ''}")
    return _join(parts)


def renamed_endpoints_text(literature, restatements) -> str:
    """Series that the CNAO paper quotes under one endpoint while their own publication names the same
    rate (same horizon, same value) as another: ``"Imai 2016 and Imai 2018: quoted by the CNAO paper as
    distant progression-free survival, reported by their own publications as disease-free survival"``.
    Empty when there are none."""
    from sarcoma_review.data.vocabulary import ENDPOINT_NAMES

    found: dict[tuple[str, str], list[str]] = {}
    for r in restatements.itertuples():
        own = literature[
            (literature["study_id"] == r.study_id)
            & (literature["horizon_years"].astype(float) == float(r.horizon_years))
            & (literature["rate_percent"].astype(float) == float(r.rate_percent))
        ]
        if own.empty or r.endpoint in set(own["endpoint"]):
            continue
        first = own.iloc[0]
        key = (str(r.endpoint), str(first["endpoint"]))
        found.setdefault(key, []).append(f"{first['first_author']} {int(first['year'])}")
    parts = []
    for (quoted, own_ep), names in found.items():
        names = sorted(set(names))
        parts.append(
            f"{_join(names)} (quoted by the CNAO paper with {ENDPOINT_NAMES.get(quoted, quoted)}; "
            f"{'its' if len(names) == 1 else 'their'} own "
            f"publication{'' if len(names) == 1 else 's'} report{'s' if len(names) == 1 else ''} "
            f"{ENDPOINT_NAMES.get(own_ep, own_ep)}, and the review analyses "
            f"{'it' if len(names) == 1 else 'them'} as such)"
        )
    return "; ".join(parts)


def not_pooled_endpoints_text(literature, analyses) -> str:
    """Endpoints some series report but no pooled analysis uses, with the number of series:
    ``"distant progression-free survival (1 series) and cause-specific survival (1 series)"``."""
    from sarcoma_review.data.vocabulary import ENDPOINT_NAMES

    pooled = {str(a["endpoint"]) for a in analyses}
    rest = literature[~literature["endpoint"].isin(pooled)]
    order = list(ENDPOINT_NAMES)
    eps = sorted(set(rest["endpoint"]), key=lambda e: (order.index(e) if e in order else 99, e))
    return _join(
        f"{ENDPOINT_NAMES.get(e, e)} ({_series(rest.loc[rest['endpoint'] == e, 'study_id'].nunique())})" for e in eps
    )


def chapter_values(analyses, data_dir=None) -> dict:
    """The numbers and generated phrases of the Methods chapter's prose (glue values), from ``data/``;
    ``analyses``: the pooled analyses (``living.analyses.standard_analyses()``, passed in by the chapter)."""
    from sarcoma_review.data import evidence, loaders

    studies = loaders.load_studies(data_dir)
    lit = loaders.load_literature(data_dir)
    flow = evidence.search_flow(data_dir)
    agree = evidence.agreement_summary(evidence.agreement(data_dir))
    rest = loaders.load_table("literature", "restatements", data_dir)
    access = studies["access"].astype(str)
    renamed = renamed_endpoints_text(lit, rest)
    return {
        "m_n_series": len(studies),
        "m_n_table_i": flow["previous_series"],
        "m_n_table_i_read": flow["previous_readable"],
        "m_n_table_i_unread": flow["previous_series"] - flow["previous_readable"],
        "m_n_new": flow["new_series"],
        "m_search_date": flow["search_date_last"],
        "m_n_searches": flow["searches"],
        "m_n_records": flow["records"],
        "m_n_abstract": int((access == "abstract").sum()),
        "m_n_full": int(access.isin(["full text", "seed"]).sum()),
        "m_n_compared": agree["values"],
        "m_n_disagree": agree["disagree"],
        "m_n_only_one": agree["only_1"] + agree["only_2"],
        "m_n_overlap_groups": flow["overlap_groups"],
        "m_n_series_in_overlap": flow["series_in_overlap"],
        "m_n_endpoints": lit["endpoint"].nunique(),
        "m_horizon_min": f"{lit['horizon_years'].astype(float).min():g}",
        "m_horizon_max": f"{lit['horizon_years'].astype(float).max():g}",
        "m_pooled_landmarks": pooled_landmarks_text(analyses),
        "m_not_pooled_endpoints": not_pooled_endpoints_text(lit, analyses),
        "m_renamed_endpoints": (
            f"Series quoted by a source paper under another endpoint name keep the name their own "
            f"publication gives: {renamed}."
            if renamed
            else ""
        ),
    }


def series_publications(studies):
    """One row per series with the publication it is read in: label, citation, identifier, address, what
    was read, and where the review found it (Table I or the update's search), in order of year."""
    import pandas as pd

    from sarcoma_review.pages.literature import ACCESS_WORDS

    s = studies.sort_values(["year", "first_author"], kind="stable")
    return pd.DataFrame(
        {
            "series": [f"{a} {int(y)}" for a, y in zip(s["first_author"], s["year"])],
            "citation": s["citation"].astype(str).to_numpy(),
            "identifier": s["identifier"].fillna("").astype(str).to_numpy(),
            "address": s["address"].fillna("").astype(str).to_numpy(),
            "access": [ACCESS_WORDS.get(a, a) for a in s["access"].astype(str)],
            "origin": s["origin"].astype(str).to_numpy(),
        }
    )
