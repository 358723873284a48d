"""GRADE rules on hand cases (each expected value follows from the stated rule by hand), the judged-row
lookup, and properties that must hold for any valid data."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sarcoma_review.data import loaders
from sarcoma_review.errors import DataValidationError
from sarcoma_review.stats import certainty as g


# ----------------------------------------------------------------------------- levels
def test_levels_start_high_and_floor_at_very_low():
    assert g.level_after(0) == "high"
    assert g.level_after(-1) == "moderate"
    assert g.level_after(-3) == "very low"
    assert g.level_after(-6) == "very low"  # GRADE has no level below very low
    assert g.level_symbols("low") == "⊕⊕◯◯"
    assert g.level_symbols("high") == "⊕⊕⊕⊕"
    assert g.level_symbols("very low") == "⊕◯◯◯"


# ----------------------------------------------------------------------------- inconsistency
@pytest.mark.parametrize(
    "k, i2, pi, expected",
    [
        (5, 0.0, (70, 80), "not serious"),
        (5, 49.9, (60, 90), "not serious"),  # PI exactly 30 points wide: not above the threshold
        (5, 50.0, (60, 80), "serious"),  # I² at the threshold
        (5, 10.0, (55, 85.5), "serious"),  # PI 30.5 points wide
        (5, 75.0, (60, 70), "very serious"),  # I² at the upper threshold
        (5, 20.0, (30, 90), "very serious"),  # PI 60 points wide
        (1, float("nan"), (float("nan"), float("nan")), "not serious"),  # one series: not assessable
    ],
)
def test_inconsistency_rule(k, i2, pi, expected):
    r = g.rate_inconsistency(k, i2, *pi)
    assert r.judgement == expected
    assert r.downgrade == {"not serious": 0, "serious": -1, "very serious": -2}[expected]
    assert r.basis == "computed"


def test_inconsistency_missing_prediction_interval_is_not_taken_as_narrow():
    # two or more series but no PI (e.g. a model that gives none): treated as unbounded, so very serious
    assert g.rate_inconsistency(3, 0.0, float("nan"), float("nan")).judgement == "very serious"


# ----------------------------------------------------------------------------- imprecision
@pytest.mark.parametrize(
    "k, n, ci, expected",
    [
        (1, 500, (70, 75), "very serious"),  # one series, however large
        (5, 300, (70, 85), "not serious"),  # 15 points, 5 series, 300 patients
        (5, 300, (65, 85), "not serious"),  # exactly 20 points: not above
        (5, 300, (60, 85), "serious"),  # 25 points
        (5, 300, (40, 85), "very serious"),  # 45 points
        (2, 300, (70, 80), "serious"),  # fewer than 3 series
        (4, 150, (70, 80), "serious"),  # fewer than 200 patients
    ],
)
def test_imprecision_rule(k, n, ci, expected):
    r = g.rate_imprecision(k, n, *ci)
    assert r.judgement == expected
    assert r.basis == "computed"


# ----------------------------------------------------------------------------- judged rows
def _judgements() -> pd.DataFrame:
    rows = []
    for dom in g.JUDGED_DOMAINS:
        rows.append(
            {
                "domain": dom,
                "endpoint": "all",
                "horizon_years": float("nan"),
                "population": "all",
                "judgement": "serious",
                "downgrade": -1,
                "rationale": f"general {dom}",
                "evidence": "",
                "location": "",
            }
        )
    rows.append(
        {
            "domain": "indirectness",
            "endpoint": "all",
            "horizon_years": 5.0,
            "population": "all",
            "judgement": "very serious",
            "downgrade": -2,
            "rationale": "5-year",
            "evidence": "",
            "location": "",
        }
    )
    rows.append(
        {
            "domain": "publication_bias",
            "endpoint": "DPFS",
            "horizon_years": 5.0,
            "population": "all",
            "judgement": "not serious",
            "downgrade": 0,
            "rationale": "DPFS 5",
            "evidence": "",
            "location": "",
        }
    )
    return pd.DataFrame(rows)


def test_specific_row_beats_general_row():
    j = _judgements()
    assert g.judged_domain(j, "indirectness", "LC", 5, "all").reason == "5-year"
    assert g.judged_domain(j, "indirectness", "LC", 3, "all").reason == "general indirectness"
    assert g.judged_domain(j, "publication_bias", "DPFS", 5, "all").reason == "DPFS 5"
    assert g.judged_domain(j, "publication_bias", "LC", 5, "all").reason == "general publication_bias"


def test_missing_or_ambiguous_judgement_is_a_clear_error():
    j = _judgements()
    with pytest.raises(DataValidationError, match="risk_of_bias / chordoma"):
        g.judged_domain(j, "risk_of_bias", "LC", 5, "chordoma")
    dup = pd.concat([j, j.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="2 rows"):
        g.judged_domain(dup, "risk_of_bias", "LC", 5, "all")


def test_rate_sums_the_five_domains():
    # hand case: inconsistency not serious (I² 0, PI 10 wide), imprecision not serious (8 series, 600
    # patients, CI 10 wide), judged: risk of bias -1, indirectness at 5 years -2, publication bias -1
    # -> 4 levels down from high -> very low (floored)
    res = {
        "k": 8,
        "n_patients": 600,
        "estimate": 75.0,
        "ci_low": 70.0,
        "ci_high": 80.0,
        "pi_low": 70.0,
        "pi_high": 80.0,
        "i2": 0.0,
    }
    c = g.rate(res, _judgements(), "LC", 5, "all")
    assert [d.domain for d in c.domains] == list(g.DOMAINS)
    assert c.total_downgrade == -4 and c.level == "very low"
    c3 = g.rate(res, _judgements(), "LC", 3, "all")  # indirectness -1 at 3 years: -3 -> very low
    assert c3.total_downgrade == -3 and c3.level == "very low"
    assert {d.domain: d.basis for d in c.domains} == {
        "risk_of_bias": "judged",
        "inconsistency": "computed",
        "indirectness": "judged",
        "imprecision": "computed",
        "publication_bias": "judged",
    }


# ----------------------------------------------------------------------------- new data change ratings
def _lit(rates: list[float], n: int = 100) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(len(rates))],
            "first_author": "A",
            "year": 2000,
            "n_patients": n,
            "histology": "Various",
            "endpoint": "LC",
            "horizon_years": 5.0,
            "rate_percent": rates,
        }
    )


def test_new_data_change_the_computed_domains():
    j = _judgements()
    same = g.rate_all(_lit([70.0] * 6), j, [("LC", 5)], populations=["all"])[0]
    # six identical rates: Q = 0 so I² = 0 exactly; 600 patients, CI narrow -> neither computed domain rated down
    assert same.domain("inconsistency").judgement == "not serious"
    assert same.result["i2"] == pytest.approx(0.0, abs=1e-9)
    assert same.domain("imprecision").judgement == "not serious"
    spread = g.rate_all(_lit([30.0, 45.0, 60.0, 75.0, 85.0, 95.0]), j, [("LC", 5)], populations=["all"])[0]
    assert spread.domain("inconsistency").judgement == "very serious"
    assert spread.level == "very low"


def test_one_series_is_described_as_that_series_not_pooled():
    c = g.rate_all(_lit([70.0]), _judgements(), [("LC", 5)], populations=["all"])[0]
    assert not c.pooled
    assert c.result["model"] == "single study"
    assert c.domain("imprecision").judgement == "very serious"
    row = g.certainty_table([c]).iloc[0]
    assert math.isnan(row["pi_low"]) and math.isnan(row["i2"])


def test_populations_split_chordoma_from_the_rest():
    lit = _lit([70.0, 80.0, 90.0]).assign(histology=["Chordoma", "Various", "Osteosarcoma"])
    assert list(g.population_rows(lit, "chordoma")["study_id"]) == ["s0"]
    assert list(g.population_rows(lit, "non-chordoma")["study_id"]) == ["s1", "s2"]
    with pytest.raises(ValueError):
        g.population_rows(lit, "sarcoma")


# ----------------------------------------------------------------------------- live data (any valid data)
def test_live_ratings_are_complete_and_consistent():
    lit = loaders.load_literature()
    j = loaders.load_table("appraisal", "certainty_judgements")
    from sarcoma_review.living.analyses import standard_analyses

    # the landmarks the book rates: its pooled analyses (book/analyses.yml)
    landmarks = sorted({(a["endpoint"], float(a["horizon_years"])) for a in standard_analyses()})
    table = g.certainty_table(g.rate_all(lit, j, landmarks))
    assert not table.empty
    for r in table.itertuples():
        total = sum(getattr(r, f"{d}_downgrade") for d in g.DOMAINS)
        assert r.certainty == g.level_after(total)
        assert r.pooled == (r.k >= 2)
        if r.k == 1:
            assert r.imprecision == "very serious"
        for d in g.COMPUTED_DOMAINS:
            assert getattr(r, f"{d}_basis") == "computed"
        for d in g.JUDGED_DOMAINS:
            assert getattr(r, f"{d}_basis") == "judged"
