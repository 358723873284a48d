"""What the pooled pages show, as the pages compute it (stats.sensitivity.run_analysis and its
strata), against the R fixture: histology strata, the t(k-2) prediction-interval row, the Bayesian
rows (posterior median of tau and the wide prior), and the effective-n Greenwood variance.

tests/stats/test_reference_extra.py checks the pooling functions themselves against the same
sections; this file checks that the page-level route (``run_analysis`` with its derived histology
stratum from ``data.vocabulary``, the panel's variant keys, the stratification's tests) reaches the
same numbers, so a page cannot show a row R disagrees with. Inputs are the fixture's frozen copies
(tests/helpers.py), never the live data/.

Tolerances (as in tests/fixtures/README.md):
* TOL = 1e-4 on the logit scale (percent rows are back-transformed with ``logit``) for every metafor
  comparison: both sides solve the same equations to ~1e-11; a wrong df, quantile or SE moves the
  numbers by 1e-2 or more (t(k-2) against t(k-1) moves the PI bounds by 0.027 to 8.4 logits here).
* Bayesian mu quantiles: TOL (R ``integrate`` vs the package's grid; observed ~1e-6, up to 6.4e-5
  for one-series groups under the default prior, which the pages never show as Bayesian rows).
* Posterior median of tau: TOL (the package reads it off the posterior CDF between grid-cell edges;
  tests/stats/test_reference_extra.py shows it converging to R's with the grid).
* Greenwood SE: 1e-9 (closed form on both sides).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import frozen_literature, frozen_patients, r_value, two_series
from scipy import special

from sarcoma_review.data import overlap, vocabulary
from sarcoma_review.stats import pooling as P
from sarcoma_review.stats import sensitivity as S

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4
LANDMARKS = [
    ("LC", 5.0),
    ("OS", 5.0),
    ("LC", 3.0),
    ("OS", 3.0),
    ("LC", 2.0),
    ("OS", 2.0),
    ("PFS", 3.0),
    ("PFS", 5.0),
    ("DFS", 5.0),
]


def _logit(pct):
    return special.logit(np.asarray(pct, float) / 100)


@pytest.fixture(scope="module")
def lit() -> pd.DataFrame:
    return frozen_literature()


@pytest.fixture(scope="module")
def analyses(lit) -> dict:
    return {(ep, h): S.run_analysis(lit, ep, h) for ep, h in LANDMARKS}


def _stratum(a: S.PooledAnalysis, column: str) -> S.Stratification:
    return next(s for s in a.strata if s.column == column)


def test_stratum_rule_is_the_r_scripts(lit):
    # R: histology_group = ifelse(histology == "Chordoma", "chordoma", "other"); the package derives it once
    d = vocabulary.with_strata(overlap.independent_by_landmark(lit))  # R's landmark() counts shared cohorts once
    for case in REF["histology_pooling"]:
        sel = d[
            (d["endpoint"] == case["endpoint"])
            & (d["horizon_years"] == float(case["horizon"]))
            & (d[vocabulary.HISTOLOGY_STRATUM] == case["stratum"])
        ]
        assert sorted(sel["study_id"]) == sorted(case["study_ids"]), case["case"]


@pytest.mark.parametrize(
    "case", [c for c in REF["histology_pooling"] if c["ci"] == "HKSJ-adhoc"], ids=lambda c: c["case"]
)
def test_page_strata_match_metafor(analyses, case):
    a = analyses[(case["endpoint"], float(case["horizon"]))]
    row = _stratum(a, vocabulary.HISTOLOGY_STRATUM).estimates.set_index("subgroup_value").loc[case["stratum"]]
    assert row["kind"] == P.POOLED and int(row["k"]) == case["k"]
    for col, key in [
        ("estimate", "estimate"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("pi_low", "pi_lb"),
        ("pi_high", "pi_ub"),
    ]:
        assert _logit(row[col]) == pytest.approx(r_value(case, key), abs=TOL, nan_ok=True), col
    assert row["tau2"] == pytest.approx(case["tau2"], abs=TOL)


@pytest.mark.parametrize("ep, h", LANDMARKS)
def test_one_series_strata_are_that_series(analyses, lit, ep, h):
    """A stratum R does not pool (k = 1) is shown as that series: its own rate and Wald CI
    (R fixture ``forest``: yi +/- qnorm(.975) sqrt(vi)), named, kind 'single series'."""
    a = analyses[(ep, h)]
    pooled_strata = {c["stratum"] for c in REF["histology_pooling"] if c["endpoint"] == ep and float(c["horizon"]) == h}
    forest = next(c for c in REF["forest"] if c["endpoint"] == ep and float(c["horizon"]) == h)
    by_id = {s: i for i, s in enumerate(forest["study_id"])}
    d = vocabulary.with_strata(lit)
    for row in _stratum(a, vocabulary.HISTOLOGY_STRATUM).estimates.itertuples():
        if row.subgroup_value in pooled_strata:
            assert row.kind == P.POOLED
            continue
        assert row.kind == P.SINGLE_SERIES and row.k == 1 and row.model == "single study"
        sid = d[
            (d["endpoint"] == ep) & (d["horizon_years"] == h) & (d[vocabulary.HISTOLOGY_STRATUM] == row.subgroup_value)
        ]["study_id"].iat[0]
        s = d[d["study_id"] == sid].iloc[0]
        assert row.series == vocabulary.study_label(s["first_author"], s["year"])
        i = by_id[sid]
        assert row.estimate == pytest.approx(forest["estimate_percent"][i], abs=TOL)
        assert row.ci_low == pytest.approx(forest["ci_low_percent"][i], abs=TOL)
        assert row.ci_high == pytest.approx(forest["ci_high_percent"][i], abs=TOL)
        assert np.isnan(row.pi_low) and np.isnan(row.pi_high)  # no prediction interval for one series


@pytest.mark.parametrize("case", REF["histology_between"], ids=lambda c: c["case"])
def test_page_between_strata_q_matches_metafor(analyses, case):
    t = _stratum(analyses[(case["endpoint"], float(case["horizon"]))], vocabulary.HISTOLOGY_STRATUM).test
    assert t["q_between"] == pytest.approx(case["Q"], rel=TOL)
    assert t["q_df"] == case["df"]
    assert t["p_between"] == pytest.approx(case["p"], abs=TOL)


@pytest.mark.parametrize(
    "case", [c for c in REF["histology_moderators"] if c["ci"] == "HKSJ-adhoc"], ids=lambda c: c["case"]
)
def test_page_moderator_test_matches_metafor(analyses, case):
    t = _stratum(analyses[(case["endpoint"], float(case["horizon"]))], vocabulary.HISTOLOGY_STRATUM).test
    qmdf = np.atleast_1d(case["QMdf"])
    assert t["f"] == pytest.approx(case["QM"], rel=TOL)
    assert (t["df1"], t["df2"]) == (qmdf[0], qmdf[1])
    assert t["p_moderator"] == pytest.approx(case["QMp"], abs=TOL)


def test_two_series_strata_have_no_moderator_test_and_say_why():
    # k = 2 (one chordoma series, one other) cannot fit two coefficients and tau^2: R's script writes a
    # histology_moderators case only when k > the number of strata, and the page says why there is none
    assert all(c["k"] > 2 for c in REF["histology_moderators"])
    two = two_series()  # one chordoma series, one other
    t = _stratum(S.run_analysis(two, "DPFS", 5), vocabulary.HISTOLOGY_STRATUM).test
    assert np.isnan(t["p_moderator"]) and "cannot estimate" in t["note"]


def test_site_strata_are_never_tested(analyses):
    for a in analyses.values():
        t = _stratum(a, "site").test
        assert np.isnan(t["p_between"]) and np.isnan(t["p_moderator"]) and "overlap" in t["note"]


# --------------------------------------------------------------------- the t(k-2) row of the panel
@pytest.mark.parametrize("case", [c for c in REF["prediction_k2"] if "_all_" in c["case"]], ids=lambda c: c["case"])
def test_panel_k2_row_matches_r(analyses, case):
    ep, h = case["case"].split("_")[:2]
    a = analyses[(ep, float(h[:-1]))]
    rows = a.estimates[[v == S.PI_K2 for v in a.variants]]
    if case["pi_lb"] is None:  # k = 2: t with 0 df, undefined; the panel has no such row
        assert rows.empty and a.k == 2
        return
    r = rows.iloc[0]
    assert _logit(r["pi_low"]) == pytest.approx(case["pi_lb"], abs=TOL)
    assert _logit(r["pi_high"]) == pytest.approx(case["pi_ub"], abs=TOL)
    # the same fit as the primary (only the quantile differs): estimate and CI unchanged
    for col in ("estimate", "ci_low", "ci_high", "tau2"):
        assert r[col] == pytest.approx(a.primary[col], abs=1e-12)
    moves = S.interval_moves(a).set_index("variant").loc[S.PI_K2]
    assert moves["d_pi_low"] < 0 < moves["d_pi_high"]  # t(k-2) is wider than t(k-1)


# ----------------------------------------------------------------------- the Bayesian rows, both priors
@pytest.mark.parametrize(
    "section, variant, scale", [("bayes", S.BAYES, P.PRIOR_TAU_SCALE), ("bayes_wide", S.BAYES_WIDE, S.WIDE_TAU_SCALE)]
)
def test_panel_bayes_rows_match_r_integrate(analyses, section, variant, scale):
    cases = [c for c in REF[section] if c["subgroup"] == "all"]
    assert len(cases) == len(LANDMARKS)
    for case in cases:
        assert case["prior_tau_scale"] == scale
        a = analyses[(case["endpoint"], float(case["horizon"]))]
        r = a.estimates[[v == variant for v in a.variants]].iloc[0]
        for col, key in [("estimate", "mu_median"), ("ci_low", "mu_low"), ("ci_high", "mu_high")]:
            assert _logit(r[col]) == pytest.approx(case[key], abs=TOL), (case["case"], col)
        assert np.sqrt(r["tau2"]) == pytest.approx(case["tau_median"], abs=TOL), case["case"]


# ------------------------------------------------------------------ effective n from Greenwood
@pytest.mark.parametrize("ep, time, event", [("LC", "lc_months", "local_failure"), ("OS", "os_months", "death")])
def test_greenwood_variance_matches_r_survival(ep, time, event):
    g = REF["survival"]["greenwood"][ep]
    pts = frozen_patients()
    for t, s, se, n_risk in zip(g["times"], g["surv"], g["std_err"], g["n_risk"]):
        out = S.greenwood_effective_n(pts[time], pts[event], float(t))
        assert out["surv"] == pytest.approx(s, abs=1e-9)
        assert out["se"] == pytest.approx(se, abs=1e-9)
        assert out["n_risk"] == n_risk
        assert out["n_eff"] == pytest.approx(s * (1 - s) / se**2, rel=1e-9)


def test_effective_n_by_hand():
    # 4 patients: events at 1 and 2, censored at 3 and 4. S(2.5) = 3/4 * 2/3 = 1/2;
    # Greenwood: (1/2)^2 (1/(4*3) + 1/(3*2)) = 1/4 * 1/4 = 1/16; n_eff = (1/2)(1/2) / (1/16) = 4.
    out = S.greenwood_effective_n([1, 2, 3, 4], [1, 1, 0, 0], 2.5)
    assert (
        out["surv"] == pytest.approx(0.5) and out["var"] == pytest.approx(1 / 16) and out["n_eff"] == pytest.approx(4)
    )
    assert out["n_risk"] == 2
    # censoring before the landmark lowers n_eff below n (1, 3 censored early: S = 1/2 from 2 at risk)
    early = S.greenwood_effective_n([0.5, 1, 2, 4], [0, 0, 1, 0], 3)
    assert early["surv"] == pytest.approx(0.5) and early["n_eff"] == pytest.approx(2)


def test_effective_n_row_replaces_only_that_series(lit):
    eff = {"cuccia2020": S.EffectiveN("cuccia2020", 54, 30.0, 10, 0.67, "test")}
    a = S.run_analysis(lit, "LC", 3, effective_n=eff)
    r = a.estimates[[v == S.EFFECTIVE_N for v in a.variants]].iloc[0]
    d = S.landmark_rows(lit, "LC", 3).copy()
    d["n_patients"] = d["n_patients"].astype(float)
    d.loc[d["study_id"] == "cuccia2020", "n_patients"] = 30.0
    by_hand = P.pool_rates(d["rate_percent"], d["n_patients"]).row()
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
        assert r[col] == pytest.approx(by_hand[col], abs=1e-10)
    # a landmark without that series gets no such row
    b = S.run_analysis(lit, "LC", 5, effective_n=eff)
    assert S.EFFECTIVE_N not in b.variants and not b.effective_n
