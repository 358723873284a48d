"""The overlap rule (sarcoma_review.data.overlap): each shared cohort counted once, by the protocol's rule
(the series of the group with the most patients that reports the landmark; a tie to the later
publication, then the smaller id). Expected rows are derived by hand from the small tables below."""

from __future__ import annotations

import pandas as pd

from sarcoma_review.data import loaders, overlap


def _rows(*specs):
    return pd.DataFrame([dict(zip(("study_id", "n_patients", "year", "overlap_group"), s)) for s in specs])


def test_largest_series_of_a_group_stands_in_for_the_others():
    rows = _rows(
        ("a2015", 56, 2015, "hit"), ("b2020", 68, 2020, "hit"), ("c2016", 188, 2016, ""), ("d2018", 40, 2018, None)
    )
    kept = overlap.independent(rows)
    assert list(kept["study_id"]) == ["b2020", "c2016", "d2018"]  # a2015 (56) < b2020 (68) in group hit
    st = overlap.stand_ins(rows)
    assert st.to_dict("records") == [{"overlap_group": "hit", "kept": "b2020", "left_out": "a2015"}]


def test_ties_go_to_the_later_publication_then_the_smaller_id():
    rows = _rows(("x2010", 50, 2010, "g"), ("y2012", 50, 2012, "g"), ("z2012", 50, 2012, "g"))
    assert list(overlap.independent(rows)["study_id"]) == ["y2012"]
    assert overlap.stand_ins(rows)["left_out"].tolist() == ["x2010 z2012"]


def test_no_group_column_means_every_series_counts():
    rows = _rows(("a", 10, 2000, None), ("b", 20, 2001, None)).drop(columns="overlap_group")
    assert len(overlap.independent(rows)) == 2
    assert overlap.stand_ins(rows).empty


def test_rule_is_applied_per_landmark_not_per_series():
    # the smaller series of a group counts at a landmark the larger one does not report
    rows = _rows(("small", 30, 2014, "g"))
    assert list(overlap.independent(rows)["study_id"]) == ["small"]


def test_live_data_every_landmark_counts_each_group_once():
    """Any valid data: at every endpoint and horizon, at most one series per overlap group is counted,
    and it is a largest one of the group's series reporting that landmark."""
    lit = loaders.load_literature()
    for (ep, h), g in lit.groupby(["endpoint", "horizon_years"]):
        kept = overlap.independent(g)
        grp = kept["overlap_group"].astype("string").fillna("").str.strip()
        named = grp[grp != ""]
        assert not named.duplicated().any(), (ep, h)
        for gid in set(named):
            members = g[g["overlap_group"] == gid]
            assert kept[kept["overlap_group"] == gid]["n_patients"].iat[0] == members["n_patients"].max()


def test_live_overlap_groups_are_documented():
    studies = loaders.load_studies()
    groups = loaders.load_table("literature", "overlap_groups")
    used = set(studies["overlap_group"].dropna().astype(str))
    assert used == set(groups["overlap_group"])
    for g in groups.itertuples():
        members = set(studies.loc[studies["overlap_group"] == g.overlap_group, "study_id"])
        assert members == set(g.members.split()), g.overlap_group
        assert len(members) >= 2
