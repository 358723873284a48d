"""The update's evidence on the live data: what must hold for any valid data.

- every pooled value (literature/outcomes) has a primary source: an address, what was read and the sentence,
  and equals the value the two extractions agreed on or the adjudication resolved;
- every disagreement between the two extractions is resolved with a reason;
- every Table I series has its verification rows, and a Table I rate whose verdict is not "agrees" is
  never what a pool uses;
- the screening log accounts for every included series of the update.
"""

from __future__ import annotations

import pandas as pd

from sarcoma_review.data import evidence, loaders

TABLE_I_FIELDS = {"n_patients", "site", "histology", "particle"}


def _num(v) -> float:
    return float(str(v).strip().rstrip("%"))


def test_every_pooled_value_has_a_primary_source():
    out = loaders.load_outcomes()
    assert out["address"].str.strip().ne("").all()
    assert out["quote"].str.strip().ne("").all()
    assert out["access"].isin(["full text", "abstract", "seed"]).all()
    # the sentence gives the number it is the source of
    for r in out.itertuples():
        assert f"{r.rate_percent:g}" in r.quote.replace("·", "."), (r.study_id, r.endpoint, r.horizon_years)


def test_every_pooled_value_is_the_resolved_extraction():
    """A series of the extractions (the update's): each rate and its patient count are the value both
    extractions agreed on or the adjudication resolved. (A series an analyst adds later without the two
    extractions still has its primary source: test_every_pooled_value_has_a_primary_source.)"""
    agree = evidence.agreement()
    extracted = set(loaders.load_table("literature", "extractions")["study_id"])
    resolved = {
        (r.study_id, r.endpoint, r.horizon_years): r.resolved for r in agree[agree["field"] == "rate"].itertuples()
    }
    studies = loaders.load_studies()
    for r in loaders.load_outcomes().itertuples():
        if studies.set_index("study_id").at[r.study_id, "access"] == "seed" or r.study_id not in extracted:
            continue  # the review's own source papers: data/cnao (extracted and audited before this update)
        key = (r.study_id, r.endpoint, str(int(r.horizon_years)))
        assert key in resolved, f"{key}: no extraction of this rate"
        assert _num(resolved[key]) == r.rate_percent, key
    n = {r.study_id: r.resolved for r in agree[agree["field"] == "n_patients"].itertuples()}
    for s in studies.itertuples():
        if s.access != "seed" and s.study_id in extracted:
            assert _num(n[s.study_id]) == s.n_patients, s.study_id


def test_every_disagreement_is_resolved_with_a_reason():
    agree = evidence.agreement()
    bad = evidence.unresolved(agree)
    assert bad.empty, bad.to_string()


def test_both_extractions_are_kept():
    """Every series the update added (its screening record included) and every Table I series read in its
    own publication was extracted twice."""
    ex = loaders.load_table("literature", "extractions")
    assert set(ex["extractor"]) == {1, 2}
    scr = loaders.load_table("search", "screening_log")
    studies = loaders.load_studies()
    t1 = set(loaders.load_table("literature", "table_i")["study_id"])
    must = set(scr.loc[scr["decision"] == "include", "study_id"]) | (
        t1 & set(studies.loc[studies["access"] != "seed", "study_id"])
    )
    for s in sorted(must):
        assert set(ex[ex["study_id"] == s]["extractor"]) == {1, 2}, f"{s}: not extracted twice"


def test_every_table_i_series_is_verified():
    t1 = loaders.load_table("literature", "table_i")
    rates = loaders.load_table("literature", "table_i_rates")
    ver = loaders.load_table("literature", "verification")
    for s in t1["study_id"]:
        fields = set(ver[ver["study_id"] == s]["field"])
        want = TABLE_I_FIELDS | set(rates[rates["study_id"] == s]["endpoint"])
        assert want <= fields, f"{s}: no verification row for {sorted(want - fields)}"


def test_a_table_i_rate_its_publication_does_not_support_is_not_pooled():
    ver = loaders.load_table("literature", "verification")
    rates = loaders.load_table("literature", "table_i_rates")
    out = loaders.load_outcomes()
    bad = ver[ver["field"].isin(["LC", "OS"]) & (ver["verdict"] != "agrees")]
    for r in bad.itertuples():
        t1 = rates[(rates["study_id"] == r.study_id) & (rates["endpoint"] == r.field)].iloc[0]
        pooled = out[
            (out["study_id"] == r.study_id)
            & (out["endpoint"] == r.field)
            & (out["horizon_years"] == t1["horizon_years"])
        ]
        # either the publication has no rate at Table I's horizon, or it has another value there
        assert pooled.empty or pooled["rate_percent"].iat[0] != t1["rate_percent"], (r.study_id, r.field)


def test_included_records_are_the_update_series():
    scr = loaders.load_table("search", "screening_log")
    studies = loaders.load_studies()
    inc = scr[scr["decision"] == "include"]
    # every included record is a series of the review (series added later by an analyst may follow)
    assert set(inc["study_id"]) <= set(studies[studies["origin"] != "Table I"]["study_id"])
    exc = scr[scr["decision"] == "exclude"]
    assert exc["reason"].notna().all()
    log = loaders.load_table("search", "search_log")
    used = {s for ids in scr["search_ids"].dropna() for s in str(ids).split()}
    assert used <= set(log["search_id"]), sorted(used - set(log["search_id"]))


def test_prisma_counts_add_up():
    f = evidence.search_flow()
    assert f["excluded"] + f["included_records"] == f["records"]
    assert sum(f["excluded_by_reason"].values()) == f["excluded"]
    assert f["previous_readable"] + f["new_series"] == f["total_series"]
    assert isinstance(pd.Timestamp(f["search_date_last"]), pd.Timestamp)
