"""`review add-study` (sarcoma_review.living.add_study): rows written with provenance, keys and the
particle mapping checked, invalid rows rolled back byte for byte, estimates before and after.

The estimates use the toy pool of tests/helpers.py (patient-weighted mean of the rates), so the
expected numbers are derived by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import make_repo, toy_pool

from sarcoma_review.errors import DataValidationError, UsageError
from sarcoma_review.living.add_study import Rate, add_study, parse_rate

STUDY = {
    "study_id": "c2003",
    "first_author": "Gamma",
    "year": 2003,
    "n_patients": 20,
    "site": "Pelvis",
    "histology": "Various",
    "particle": "Carbon ions",
    "source": "Gamma 2003, Table 2",
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("LC:5=70", Rate("LC", 5, 70.0)),
        ("OS:3=66.5", Rate("OS", 3, 66.5)),
        (" DPFS : 5 = 39 ", Rate("DPFS", 5, 39.0)),  # spaces around a value: the validator strips them too
    ],
)
def test_parse_rate(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize(
    "bad, words",
    [
        ("LC5=70", "ENDPOINT:YEARS=PERCENT"),
        ("EFS:5=70", "unknown endpoint"),
        ("LC:2.5=70", "whole years"),
        # what outcomes.csv would refuse, add-study refuses too (same endpoint codes, a bare number)
        ("LC:5=69%", "without '%'"),
        ("os:3=66.5", "unknown endpoint 'os'"),
        ("LC:5=1e2", "ENDPOINT:YEARS=PERCENT"),
    ],
)
def test_parse_rate_refuses_what_it_cannot_read(bad, words):
    with pytest.raises(UsageError, match=words):
        parse_rate(bad)


def test_add_study_writes_rows_with_provenance_and_reports_estimates(tmp_path):
    repo = make_repo(tmp_path / "repo", comparators=False)
    data = repo / "data"
    res = add_study(data, STUDY, [Rate("LC", 5, 80.0), Rate("OS", 5, 70.0)], root=repo, pool=toy_pool)
    studies = pd.read_csv(data / "literature" / "studies.csv", dtype=str)
    row = studies[studies["study_id"] == "c2003"].iloc[0]
    # the group is the mapping's (particle_groups.csv: 'Carbon ions' -> carbon), the source as given
    assert row["particle_group"] == "carbon" and row["source"] == "Gamma 2003, Table 2"
    out = pd.read_csv(data / "literature" / "outcomes.csv", dtype=str)
    new = out[out["study_id"] == "c2003"]
    assert sorted(new["endpoint"]) == ["LC", "OS"]
    assert all(s.startswith("Gamma 2003, Table 2 (5-year ") for s in new["source"])
    # LC5, all studies, by hand: before (10*50 + 30*70)/40 = 65 (k 2); after (500 + 2100 + 20*80)/60 = 70 (k 3)
    lc_all = next(c for c in res.changes if c.analysis_id == "lc5" and c.subgroup is None)
    assert (lc_all.before["k"], lc_all.before["estimate"]) == (2, 65.0)
    assert (lc_all.after["k"], lc_all.after["estimate"]) == (3, 70.0)
    # carbon: one series (a2001, 50%) before, two after: (500 + 1600)/30 = 70; one series is never "pooled"
    lc_c = next(c for c in res.changes if c.analysis_id == "lc5" and c.subgroup == "carbon")
    assert lc_c.before["k"] == 1 and lc_c.after["estimate"] == 70.0
    assert "one series only" in lc_c.describe() and "not pooled" in lc_c.describe()
    # only the analyses the new rates enter (LC5, OS5; not the 3-year ones)
    assert {c.analysis_id for c in res.changes} == {"lc5", "os5"}


def test_crlf_files_stay_crlf(tmp_path):
    repo = make_repo(tmp_path / "repo", comparators=False)
    p = repo / "data" / "literature" / "outcomes.csv"
    p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    add_study(repo / "data", STUDY, [Rate("LC", 5, 80.0)], root=repo, compare=False)
    raw = p.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")


@pytest.mark.parametrize(
    "change, rates, words",
    [
        ({"study_id": "a2001"}, None, "already in studies.csv"),
        ({"particle": "Helium ions"}, None, "no row in literature/particle_groups.csv"),
        ({"site": ""}, None, "missing --site"),
        ({}, [], "no rate given"),
        ({}, [Rate("LC", 5, 80.0), Rate("LC", 5, 81.0)], "given twice"),
    ],
)
def test_bad_fields_are_refused_before_anything_is_written(tmp_path, change, rates, words):
    repo = make_repo(tmp_path / "repo", comparators=False)
    lit = repo / "data" / "literature"
    before = {p.name: p.read_bytes() for p in lit.iterdir()}
    with pytest.raises(UsageError, match=words):
        add_study(
            repo / "data",
            {**STUDY, **change},
            [Rate("LC", 5, 80.0)] if rates is None else rates,
            root=repo,
            compare=False,
        )
    assert {p.name: p.read_bytes() for p in lit.iterdir()} == before


def test_a_group_that_disagrees_with_the_mapping_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo", comparators=False)
    with pytest.raises(UsageError, match="maps to group 'carbon'"):
        add_study(repo / "data", STUDY, [Rate("LC", 5, 80.0)], particle_group="mixed", root=repo, compare=False)


@pytest.mark.parametrize(
    "change, rate, column",
    [
        ({}, Rate("LC", 5, 150.0), "rate_percent"),  # the schema's maximum is 100
        ({}, Rate("LC", 4, 80.0), "horizon_years"),  # the schema allows 3 and 5 years
        ({"year": 1850}, Rate("LC", 5, 80.0), "year"),  # the schema's minimum is 1900
    ],
)
def test_invalid_rows_are_rolled_back_byte_for_byte(tmp_path, change, rate, column):
    repo = make_repo(tmp_path / "repo", comparators=False)
    lit = repo / "data" / "literature"
    before = {p.name: p.read_bytes() for p in lit.iterdir()}
    with pytest.raises(DataValidationError, match=column) as info:
        add_study(repo / "data", {**STUDY, **change}, [rate], root=repo, compare=False)
    assert "study not added" in str(info.value)
    assert {p.name: p.read_bytes() for p in lit.iterdir()} == before
