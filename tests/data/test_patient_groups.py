"""The patient-group rule (data.patient_groups): hand cases of the rule, and what must hold on any valid data."""

from __future__ import annotations

import pandas as pd
import pytest

from sarcoma_review.data import loaders
from sarcoma_review.data import patient_groups as pg


@pytest.mark.parametrize(
    ("group", "n_chordoma", "n", "expected"),
    [
        ("chordoma", 56, 56, pg.CHORDOMA),
        ("bone", 16, 21, pg.MIXED),  # chordomas with chondrosarcomas: neither all chordoma nor free of it
        ("bone", None, 55, pg.BONE),  # osteosarcoma, no chordoma counted (an assumption, said so)
        ("bone", 0, 30, pg.BONE),
        ("soft tissue", None, 24, pg.SOFT),
        ("mixed", 29, 50, pg.MIXED),
        ("mixed", 0, 54, pg.MIXED),
        ("not reported", None, 47, pg.MIXED),
        ("bone", 12, 12, pg.CHORDOMA),  # every patient a chordoma, whatever the label
    ],
)
def test_rule_hand_cases(group, n_chordoma, n, expected):
    assert pg.classify(group, n_chordoma, n)[0] == expected


def test_an_assumption_is_said_where_the_rule_makes_one():
    group, rule, assumption = pg.classify("bone", None, 55)
    assert group == pg.BONE and "no chordoma" in assumption
    assert pg.classify("bone", 0, 55)[2] == ""


def test_every_series_of_the_data_has_one_group_with_its_rule():
    studies = loaders.load_studies()
    d = pg.derive(studies)
    assert list(d.columns) == list(pg.COLUMNS)
    assert set(d["study_id"]) == set(studies["study_id"]) and d["study_id"].is_unique
    assert set(d["group"]) <= {*pg.GROUPS, pg.MIXED}
    assert (d["rule"].str.len() > 0).all()
    # a chordoma-group series has only chordomas; a bone-other series counts none
    s = studies.set_index("study_id")
    for r in d.itertuples():
        nc = pd.to_numeric(pd.Series([s.at[r.study_id, "n_chordoma"]]), errors="coerce").iloc[0]
        if r.group == pg.BONE:
            assert pd.isna(nc) or nc == 0
        if r.group == pg.CHORDOMA:
            assert s.at[r.study_id, "patient_group"] == "chordoma" or nc == s.at[r.study_id, "n_patients"]
