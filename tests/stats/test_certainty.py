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


# ----------------------------------------------------------------------------- thresholds
#: Hand-set protocol thresholds for the rule tests (the live ones are read from data in the live tests).
T = g.Thresholds(
    practice_margin=10.0,
    ci_width_serious=20.0,
    ci_width_very_serious=40.0,
    spread_width_serious=20.0,
    spread_width_very_serious=40.0,
    information_rate=50.0,
)
#: A comparable photon figure of 60%: decision thresholds 50% and 70%.
FIGURES = {("LC", 5.0): [("photon", 60.0)]}
POINTS = T.decision_points(FIGURES[("LC", 5.0)])


def test_information_size_by_hand():
    # 1.959964² x 0.5 x 0.5 / 0.10² = 96.03647 -> 97 patients
    assert T.information_size == 97
    # margin 5 points: 1.959964² x 0.25 / 0.0025 = 384.146 -> 385
    assert g.Thresholds(5, 10, 20, 10, 20, 50).information_size == 385


def test_decision_points_are_the_figure_plus_and_minus_the_margin():
    assert [v for v, _ in POINTS] == [50.0, 70.0]
    assert T.decision_points([("x", 95.0)]) == [(85.0, "85% (10 points below x, 95%)")]  # 105% cannot be crossed


def test_live_thresholds_read_from_data_with_a_decision_each():
    t = loaders.load_table("appraisal", "grade_thresholds")
    assert set(t["threshold_id"]) == set(g.THRESHOLD_IDS)
    assert t["decision"].str.len().min() > 40 and t["reasoning"].str.len().min() > 20
    th = g.Thresholds.from_table(t)
    assert th.practice_margin == float(t.set_index("threshold_id").at["practice_margin", "value"])
    # a protocol choice is labelled as such; guidance carries the page it was read on and the sentence
    for r in t.itertuples():
        assert r.basis in ("protocol choice", "GRADE guidance")
        if r.basis == "GRADE guidance":
            assert str(r.source).startswith("http") and len(str(r.quote)) > 40
    with pytest.raises(DataValidationError, match="practice_margin"):
        g.Thresholds.from_table(t[t["threshold_id"] != "practice_margin"])


# ----------------------------------------------------------------------------- inconsistency
def _logit(p):
    return math.log(p / (1 - p))


def _expit(x):
    return 100 / (1 + math.exp(-x))


def test_true_rate_range_by_hand():
    # 80%, tau² 0.25 (tau 0.5): logit 1.386294 ± 1.959964 x 0.5 -> expit(0.406312) = 60.02%, expit(2.366276) = 91.42%
    lo, hi = g.true_rate_range(80.0, 0.25)
    assert lo == pytest.approx(_expit(_logit(0.8) - 1.959964 * 0.5), abs=1e-4)
    assert lo == pytest.approx(60.0205, abs=1e-3) and hi == pytest.approx(91.4219, abs=1e-3)
    assert g.true_rate_range(75.0, 0.0) == pytest.approx((75.0, 75.0))


@pytest.mark.parametrize(
    "estimate, tau2, points, expected",
    [
        (80.0, 0.0, POINTS, "not serious"),  # no spread: crosses nothing
        (80.0, 0.25, POINTS, "serious"),  # 60.0 to 91.4: crosses 70 only
        (60.0, 1.0, POINTS, "very serious"),  # 60 ± 1.96 on the logit: 18.5 to 87.8, crosses 50 and 70
        (80.0, 0.25, [], "serious"),  # no figure: 91.42 - 60.02 = 31.4 points: > 20, <= 40
        (80.0, 0.01, [], "not serious"),  # tau 0.1: 76.6 to 82.9, 6.2 points
        (50.0, 1.0, [], "very serious"),  # 12.3 to 87.7, 75.3 points > 40
    ],
)
def test_inconsistency_rule(estimate, tau2, points, expected):
    r = g.rate_inconsistency(5, estimate, tau2, T, points, i2=60.0)
    assert r.judgement == expected
    assert r.downgrade == {"not serious": 0, "serious": -1, "very serious": -2}[expected]
    assert r.basis == "computed"


def test_one_series_inconsistency_is_not_assessable_and_not_rated_down():
    r = g.rate_inconsistency(1, 70.0, float("nan"), T, POINTS)
    assert r.judgement == "not assessable" and r.downgrade == 0 and "not assessable" in r.reason


def test_inconsistency_without_a_variance_is_not_taken_as_none():
    # two or more series but no tau² (a model that gives none): unbounded spread, so very serious
    assert g.rate_inconsistency(3, 70.0, float("nan"), T).judgement == "very serious"


# ----------------------------------------------------------------------------- imprecision
@pytest.mark.parametrize(
    "k, n, ci, points, expected",
    [
        (5, 300, (72, 85), POINTS, "not serious"),  # wholly above 70
        (5, 300, (52, 68), POINTS, "not serious"),  # between 50 and 70: no practice-changing difference
        (5, 300, (65, 78), POINTS, "serious"),  # crosses 70
        (5, 300, (45, 75), POINTS, "very serious"),  # crosses 50 and 70
        (5, 90, (72, 85), POINTS, "serious"),  # crosses nothing, but 90 < 97 patients (information size)
        (1, 500, (72, 78), POINTS, "serious"),  # one series, however large: at least serious
        (1, 500, (65, 78), POINTS, "serious"),  # one series crossing one threshold: still one level
        (1, 50, (45, 75), POINTS, "very serious"),
        (5, 300, (70, 85), [], "not serious"),  # no figure: 15 points wide
        (5, 300, (65, 85), [], "not serious"),  # exactly 20 points: not above
        (5, 300, (60, 85), [], "serious"),  # 25 points
        (5, 300, (40, 85), [], "very serious"),  # 45 points
        (2, 300, (70, 80), [], "not serious"),  # two series, narrow: the series count enters through the interval
    ],
)
def test_imprecision_rule(k, n, ci, points, expected):
    r = g.rate_imprecision(k, n, *ci, T, points)
    assert r.judgement == expected
    assert r.basis == "computed"


def test_imprecision_ignores_the_spread_the_prediction_interval_holds():
    """The same interval of the mean gives the same imprecision whatever the between-series spread: the spread
    is inconsistency's alone (no domain counts it twice)."""
    res = {"k": 6, "n_patients": 600, "estimate": 78.0, "ci_low": 72.0, "ci_high": 84.0, "i2": 0.0}
    calm = g.rate({**res, "tau2": 0.0, "pi_low": 72.0, "pi_high": 84.0}, _judgements(), "LC", 5, "all", T, FIGURES)
    wild = g.rate({**res, "tau2": 1.0, "pi_low": 30.0, "pi_high": 97.0}, _judgements(), "LC", 5, "all", T, FIGURES)
    assert calm.domain("imprecision") == wild.domain("imprecision")
    assert calm.domain("imprecision").judgement == "not serious"
    assert calm.domain("inconsistency").judgement == "not serious"
    assert wild.domain("inconsistency").judgement == "very serious"  # 78 ± 1.96 logit: 32.4 to 96.4


def test_decision_figures_apply_to_the_populations_they_describe_only():
    assert g.decision_points_for(T, FIGURES, "LC", 5, "non-chordoma") == POINTS
    assert g.decision_points_for(T, FIGURES, "LC", 5, "all") == POINTS
    assert g.decision_points_for(T, FIGURES, "LC", 5, "chordoma") == []  # soft-tissue figures: not for chordoma
    assert g.decision_points_for(T, FIGURES, "LC", 3, "all") == []  # no figure at 3 years


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
    # hand case: inconsistency not serious (tau² 0), imprecision not serious (8 series, 600 patients, CI 72 to 80
    # crosses neither 50 nor 70), judged: risk of bias -1, indirectness at 5 years -2, publication bias -1
    # -> 4 levels down from high -> very low (floored)
    res = {"k": 8, "n_patients": 600, "estimate": 76.0, "ci_low": 72.0, "ci_high": 80.0, "tau2": 0.0, "i2": 0.0}
    c = g.rate(res, _judgements(), "LC", 5, "all", T, FIGURES)
    assert [d.domain for d in c.domains] == list(g.DOMAINS)
    assert c.total_downgrade == -4 and c.level == "very low"
    c3 = g.rate(res, _judgements(), "LC", 3, "all", T, FIGURES)  # indirectness -1 at 3 years: -3 -> very low
    assert c3.total_downgrade == -3 and c3.level == "very low"
    assert {d.domain: d.basis for d in c.domains} == {
        "risk_of_bias": "judged",
        "inconsistency": "computed",
        "indirectness": "judged",
        "imprecision": "computed",
        "publication_bias": "judged",
    }


# ----------------------------------------------------------------------------- new data change ratings
def _lit(rates: list[float], n: int = 100, histology: str = "Various") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(len(rates))],
            "first_author": "A",
            "year": 2000,
            "n_patients": n,
            "histology": histology,
            "endpoint": "LC",
            "horizon_years": 5.0,
            "rate_percent": rates,
        }
    )


def _judged(rob: int, indirect: int, pub: int, population: str = "non-chordoma") -> pd.DataFrame:
    words = {0: "not serious", -1: "serious", -2: "very serious"}
    return pd.DataFrame(
        [
            {
                "domain": d,
                "endpoint": "all",
                "horizon_years": float("nan"),
                "population": population,
                "judgement": words[v],
                "downgrade": v,
                "rationale": d,
                "evidence": "",
                "location": "",
            }
            for d, v in (("risk_of_bias", rob), ("indirectness", indirect), ("publication_bias", pub))
        ]
    )


def _adhoc(rows, ep, hz):
    from sarcoma_review.stats.sensitivity import pool_primary

    return pool_primary(rows, ep, hz, ci_method="HKSJ-adhoc").iloc[0].to_dict()


def _rate(lit, judged):
    return g.rate_all(lit, judged, [("LC", 5)], ["non-chordoma"], pool=_adhoc, thresholds=T, figures=FIGURES)[0]


def test_new_series_narrowing_the_interval_lift_the_rating():
    """The judged domains (risk of bias and publication bias serious, indirectness not) leave the rating at low;
    new series that narrow the interval of the mean clear the imprecision downgrade and lift it from very low.

    Hand derivation (identical rates, so Q = 0 and tau² = 0; the ad hoc factor is then 1):
    before, 2 series of 20 patients at 80%: v = 1 / (20 x 0.8 x 0.2) = 0.3125, SE = sqrt(0.3125 / 2) = 0.39528,
    t(1) = 12.7062, logit 1.38629 ± 5.0226 -> 2.6% ... 99.8%: crosses 50 and 70 (and 40 < 97 patients):
    imprecision very serious; spread none: inconsistency not serious; -1 -1 -2 = -4 -> very low.
    after, 6 series of 100 at 80%: v = 1/16, SE = sqrt(1/96) = 0.102062, t(5) = 2.570582, logit 1.38629 ± 0.26236
    -> 75.47% to 83.87%: above 70, 600 >= 97 patients: imprecision not serious; -1 -1 = -2 -> low.
    """
    from scipy.stats import t as student

    judged = _judged(-1, 0, -1)
    before = _rate(_lit([80.0] * 2, n=20), judged)
    half = student.ppf(0.975, 1) * math.sqrt(0.3125 / 2)
    assert before.result["ci_low"] == pytest.approx(_expit(_logit(0.8) - half), abs=1e-6)
    assert before.domain("imprecision").judgement == "very serious"
    assert before.domain("inconsistency").judgement == "not serious"
    assert before.level == "very low"

    after = _rate(_lit([80.0] * 6, n=100), judged)
    half = student.ppf(0.975, 5) * math.sqrt(1 / 96)
    assert after.result["ci_low"] == pytest.approx(_expit(_logit(0.8) - half), abs=1e-6)
    assert after.result["ci_low"] == pytest.approx(75.47, abs=0.01)
    assert after.result["ci_high"] == pytest.approx(_expit(_logit(0.8) + half), abs=1e-6)
    assert after.domain("imprecision").judgement == "not serious"
    assert after.domain("inconsistency").judgement == "not serious"
    assert after.total_downgrade == -2 and after.level == "low"


def test_new_series_that_disagree_lower_the_rating():
    """From the 'after' case above (low), two more series far apart spread the true rates across both decision
    thresholds: inconsistency becomes very serious and the rating falls to very low."""
    judged = _judged(-1, 0, -1)
    spread = _rate(_lit([80.0] * 6 + [30.0, 97.0], n=100), judged)
    lo, hi = g.true_rate_range(spread.result["estimate"], spread.result["tau2"])
    assert lo < 50.0 and hi > 70.0  # the range of true rates holds both thresholds
    assert spread.domain("inconsistency").judgement == "very serious"
    assert spread.level == "very low"


def test_one_series_is_described_as_that_series_not_pooled():
    c = g.rate_all(_lit([70.0]), _judgements(), [("LC", 5)], ["all"], thresholds=T, figures=FIGURES)[0]
    assert not c.pooled
    assert c.result["model"] == "single study"
    assert c.domain("inconsistency").judgement == "not assessable"
    assert c.domain("imprecision").judgement in ("serious", "very serious")
    row = g.certainty_table([c]).iloc[0]
    assert math.isnan(row["pi_low"]) and math.isnan(row["i2"])
    assert row["inconsistency"] == "not assessable"


def test_populations_split_chordoma_from_the_rest():
    lit = _lit([70.0, 80.0, 90.0]).assign(histology=["Chordoma", "Various", "Osteosarcoma"])
    assert list(g.population_rows(lit, "chordoma")["study_id"]) == ["s0"]
    assert list(g.population_rows(lit, "non-chordoma")["study_id"]) == ["s1", "s2"]
    with pytest.raises(ValueError):
        g.population_rows(lit, "sarcoma")


# ----------------------------------------------------------------------------- live data (any valid data)
def test_live_ratings_are_complete_and_consistent():
    from sarcoma_review.living.analyses import standard_analyses
    from sarcoma_review.pages.summary import decision_figures, load_thresholds

    lit = loaders.load_literature()
    j = loaders.load_table("appraisal", "certainty_judgements")
    # the landmarks the book rates: its pooled analyses (book/analyses.yml)
    landmarks = sorted({(a["endpoint"], float(a["horizon_years"])) for a in standard_analyses()})
    table = g.certainty_table(g.rate_all(lit, j, landmarks, thresholds=load_thresholds(), figures=decision_figures()))
    assert not table.empty
    for r in table.itertuples():
        total = sum(getattr(r, f"{d}_downgrade") for d in g.DOMAINS)
        assert r.certainty == g.level_after(total)
        assert r.pooled == (r.k >= 2)
        if r.k == 1:
            assert r.inconsistency == "not assessable" and r.inconsistency_downgrade == 0
            assert r.imprecision in ("serious", "very serious")
        else:
            assert r.inconsistency != "not assessable"
        for d in g.COMPUTED_DOMAINS:
            assert getattr(r, f"{d}_basis") == "computed"
        for d in g.JUDGED_DOMAINS:
            assert getattr(r, f"{d}_basis") == "judged"


def test_live_judged_domains_leave_room_for_the_data():
    """Where no landmark-specific judgement applies, the judged domains alone never reach very low in the chordoma
    and other-than-chordoma populations, so the computed domains (new series) can move those ratings. (The
    recorded 5-year rows of the series other than chordoma are rated down for indirectness as well: their own
    rationale says why.)"""
    j = loaders.load_table("appraisal", "certainty_judgements")
    for pop in ("chordoma", "non-chordoma"):
        for ep, hz in (("LC", 3), ("OS", 2), ("OS", 3), ("PFS", 3)):
            total = sum(g.judged_domain(j, d, ep, hz, pop).downgrade for d in g.JUDGED_DOMAINS)
            assert g.level_after(total) != "very low", (pop, ep, hz)
