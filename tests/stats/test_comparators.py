"""A comparator's own uncertainty and the particle-minus-comparator difference (stats.comparators).

Every expected value is derived here by hand (formula written in the test, evaluated with ``math``)
or read from R: the Greenwood variances of the ifosfamide patient table come from R ``survival``
(``scripts/r/make_comparisons_reference.R`` on the frozen copy
``tests/fixtures/comparisons/ifosfamide_patients.csv``, written to ``r_greenwood.json``).
Tolerances: 1e-9 where the same closed form is evaluated two ways (floating point only); 1e-10 for
the quadrature against a closed form (81 Gauss-Hermite nodes on a smooth integrand).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sarcoma_review.stats import comparators as C
from sarcoma_review.stats import survival
from sarcoma_review.stats.pooling import PoolResult

FIX = Path(__file__).parents[1] / "fixtures" / "comparisons"
R = json.loads((FIX / "r_greenwood.json").read_text())
PATIENTS = pd.read_csv(FIX / "ifosfamide_patients.csv")
Z = 1.959963984540054  # qnorm(0.975)


def expit(x):
    return 1 / (1 + math.exp(-x))


def logit(p):
    return math.log(p / (1 - p))


def pooled(rate, se, ddf=2.0, tau2=0.1, model="random effects"):
    """A particle result with a chosen logit mean and SE; its interval is mu +/- t_{ddf} se (z when ddf = inf)."""
    mu = logit(rate / 100)
    c = Z if not np.isfinite(ddf) else float(stats.t.ppf(0.975, ddf))
    sp = math.sqrt(se**2 + tau2)
    return PoolResult(
        k=int(ddf) + 1 if np.isfinite(ddf) else 1,
        n_patients=100.0,
        model=model,
        tau2_method="REML",
        ci_method="HKSJ",
        mu=mu,
        se=se,
        ci_logit=(mu - c * se, mu + c * se),
        pi_logit=(mu - c * sp, mu + c * sp),
        tau2=tau2,
        tau2_ci=(np.nan, np.nan),
        i2=np.nan,
        h2=np.nan,
        q=np.nan,
        q_df=np.nan,
        q_p=np.nan,
        ddf=ddf,
    )


# ----------------------------------------------------------------------------- Greenwood (R survival)
@pytest.mark.parametrize("endpoint,time,event", [("LC", "lc_months", "local_failure"), ("OS", "os_months", "death")])
def test_greenwood_matches_r_survival(endpoint, time, event):
    ref = R[endpoint]
    g = survival.greenwood(PATIENTS[time], PATIENTS[event], ref["times"])
    assert np.allclose(g["surv"], ref["surv"], atol=1e-12, rtol=0)
    # R's summary(survfit)$std.err is the Greenwood SE of S(t); survfit()$std.err is sqrt(G(t))
    assert np.allclose(g["se_surv"], ref["se_surv"], atol=1e-12, rtol=0)
    assert np.allclose(np.sqrt(g["greenwood_sum"]), ref["se_cumhaz"], atol=1e-12, rtol=0)
    assert list(g["n_risk"]) == ref["n_risk"]


@pytest.mark.parametrize("endpoint,time,event", [("LC", "lc_months", "local_failure"), ("OS", "os_months", "death")])
def test_km_comparator_interval_is_r_log_log_interval(endpoint, time, event):
    ref = R[endpoint]
    at = ref["times"].index(60)
    km = C.km_rate(PATIENTS[time], PATIENTS[event], 60.0)
    assert km.kind == "kaplan-meier" and km.scale == "log-log" and km.n == len(PATIENTS)
    assert km.rate == pytest.approx(100 * ref["surv"][at], abs=1e-10)
    assert km.ci_low == pytest.approx(100 * ref["lower"][at], abs=1e-10)
    assert km.ci_high == pytest.approx(100 * ref["upper"][at], abs=1e-10)


def test_greenwood_by_hand():
    # times 1..5, events at 1, 3, 4. At t = 3.5: risk sets (n=5, d=1) at 1 and (n=3, d=1) at 3.
    # S = 4/5 * 2/3 = 8/15; G = 1/(5*4) + 1/(3*2) = 13/60; SE(S) = S sqrt(G); SE(log(-log S)) = sqrt(G)/|log S|
    g = survival.greenwood([1, 2, 3, 4, 5], [1, 0, 1, 1, 0], [0.5, 3.5]).iloc[1]
    s, G = 8 / 15, 13 / 60
    assert g["surv"] == pytest.approx(s, abs=1e-12)
    assert g["greenwood_sum"] == pytest.approx(G, abs=1e-12)
    assert g["se_surv"] == pytest.approx(s * math.sqrt(G), abs=1e-12)
    assert g["se_loglog"] == pytest.approx(math.sqrt(G) / abs(math.log(s)), abs=1e-12)
    before = survival.greenwood([1, 2, 3, 4, 5], [1, 0, 1, 1, 0], [0.5]).iloc[0]
    assert before["surv"] == 1.0 and before["greenwood_sum"] == 0.0 and np.isnan(before["se_loglog"])


def test_km_rate_refuses_what_has_no_interval():
    with pytest.raises(ValueError, match="no Greenwood interval"):
        C.km_rate([1, 2, 3], [0, 0, 0], 2.0)  # no event: S = 1
    with pytest.raises(ValueError, match="beyond the last follow-up"):
        C.km_rate([1, 2, 3], [1, 0, 0], 10.0)


# ----------------------------------------------------------------------------- binomial, bound, fixed
def test_binomial_logit_interval_by_hand():
    # 60% of 112: logit 0.6 = log(1.5) = 0.405465; SE = 1/sqrt(112 * 0.6 * 0.4) = 1/sqrt(26.88) = 0.192879;
    # 0.405465 -/+ 1.959964 * 0.192879 = 0.027425 / 0.783505 -> expit 50.686% / 68.643%
    b = C.binomial_rate(60, 112)
    y, se = math.log(1.5), 1 / math.sqrt(26.88)
    assert (b.centre, b.se) == (pytest.approx(y, abs=1e-12), pytest.approx(se, abs=1e-12))
    assert b.ci_low == pytest.approx(100 * expit(y - Z * se), abs=1e-9)
    assert b.ci_high == pytest.approx(100 * expit(y + Z * se), abs=1e-9)
    assert (round(b.ci_low, 2), round(b.ci_high, 2)) == (50.69, 68.64)
    assert b.kind == "exact" and not b.fixed


def test_bound_is_the_narrowest_interval_a_smaller_series_could_have():
    bound = C.binomial_rate(60, 112, "bound")
    assert bound.kind == "bound" and (bound.ci_low, bound.ci_high) == (
        C.binomial_rate(60, 112).ci_low,
        C.binomial_rate(60, 112).ci_high,
    )
    for n in (20, 50, 111):  # any n <= the bound gives a wider interval
        b = C.binomial_rate(60, n)
        assert b.ci_low < bound.ci_low and b.ci_high > bound.ci_high


def test_fixed_comparator_has_no_width():
    f = C.fixed_rate(37)
    assert f.fixed and f.kind == "unknown" and f.ci_low == f.ci_high == f.rate == 37 and np.isnan(f.n)


def test_bad_comparator_inputs():
    with pytest.raises(ValueError, match="no logit"):
        C.binomial_rate(0, 10)
    with pytest.raises(ValueError, match="n must be > 0"):
        C.binomial_rate(50, 0)
    with pytest.raises(ValueError, match="kind"):
        C.binomial_rate(50, 10, "unknown")


# ----------------------------------------------------------------------------- MOVER difference
def test_mover_by_hand():
    # particle 70 (60, 78), comparator 50 (40, 61): D = 20;
    # L = 20 - sqrt((70-60)^2 + (61-50)^2) = 20 - sqrt(221); U = 20 + sqrt((78-70)^2 + (50-40)^2) = 20 + sqrt(164)
    d, lo, hi = C.mover_difference(70, 60, 78, 50, 40, 61)
    assert d == 20 and lo == pytest.approx(20 - math.sqrt(221), abs=1e-12)
    assert hi == pytest.approx(20 + math.sqrt(164), abs=1e-12)


def test_mover_with_a_fixed_comparator_is_the_pooled_interval_shifted():
    d, lo, hi = C.mover_difference(70, 60, 78, 50, 50, 50)
    assert (d, lo, hi) == (20, 10, 28)
    with pytest.raises(ValueError, match="not inside its interval"):
        C.mover_difference(70, 60, 78, 50, 55, 61)


def test_verdict_flips_when_the_comparator_interval_makes_the_difference_cross_zero():
    # Particle: logit mean logit(0.7), SE 0.2, t on 2 df (t = 4.302653): interval
    # expit(0.847298 -/+ 0.860531) = 49.669% to 84.650%.
    # Comparator 40%:
    #  fixed:  L = 49.669 - 40 = +9.67 > 0                                        -> "above"
    #  n = 112: logit CI expit(-0.405465 -/+ 1.959964/sqrt(26.88)) = 31.36% to 49.31%;
    #           L = 30 - sqrt(20.331^2 + 9.31^2) = 30 - 22.36 = +7.6 > 0           -> "above"
    #  n = 15:  expit(-0.405465 -/+ 1.959964/sqrt(3.6)) = 19.18% to 65.19%;
    #           L = 30 - sqrt(20.331^2 + 25.19^2) = 30 - 32.37 = -2.4 < 0          -> "includes"
    res = pooled(70, 0.2, ddf=2.0)
    t2 = float(stats.t.ppf(0.975, 2))
    p_lo = 100 * expit(logit(0.7) - t2 * 0.2)
    fixed = C.compare(res, C.fixed_rate(40))
    assert fixed["diff_low"] == pytest.approx(p_lo - 40, abs=1e-9) and fixed["verdict_mean"] == "above"
    for n, expected in ((112, "above"), (15, "includes")):
        comp = C.binomial_rate(40, n)
        u2 = 100 * expit(logit(0.4) + Z / math.sqrt(n * 0.24))
        r = C.compare(res, comp)
        assert r["diff_low"] == pytest.approx(30 - math.hypot(70 - p_lo, u2 - 40), abs=1e-9)
        assert r["verdict_mean"] == expected and r["verdict_if_comparator_fixed"] == "above"
    assert C.verdict(-1, -0.5) == "below" and C.verdict(-1, 0) == "includes" and C.verdict(0.1, 3) == "above"


# ----------------------------------------------------------------------------- probability
def test_probability_with_a_fixed_comparator_is_the_predictive_t():
    # P(mu + sqrt(se^2 + tau2) T_2 > logit 0.4) = t_2.sf((logit 0.4 - mu) / sqrt(0.04 + 0.1))
    res = pooled(70, 0.2, ddf=2.0, tau2=0.1)
    expected = stats.t.sf((logit(0.4) - logit(0.7)) / math.sqrt(0.04 + 0.1), 2)
    assert C.prob_exceeds(res, C.fixed_rate(40)) == pytest.approx(expected, abs=1e-12)


def test_probability_of_two_normals_is_their_convolution():
    # Wald (normal) predictive N(mu, se^2 + tau2) against a logit-normal comparator N(y_c, se_c^2):
    # P = Phi((mu - y_c) / sqrt(se^2 + tau2 + se_c^2)) exactly; quadrature within 1e-10.
    res = pooled(70, 0.2, ddf=float("inf"), tau2=0.1)
    comp = C.binomial_rate(40, 15)
    expected = stats.norm.cdf((logit(0.7) - logit(0.4)) / math.sqrt(0.04 + 0.1 + 1 / 3.6))
    assert C.prob_exceeds(res, comp) == pytest.approx(expected, abs=1e-10)


def test_probability_for_one_series_is_about_that_series():
    # one series: its own true rate N(y, se^2) (no tau2) against the comparator: Phi((y - y_c)/sqrt(se^2 + se_c^2))
    res = pooled(70, 0.3, ddf=float("inf"), tau2=float("nan"), model="single study")
    comp = C.binomial_rate(40, 112)
    expected = stats.norm.cdf((logit(0.7) - logit(0.4)) / math.sqrt(0.09 + 1 / 26.88))
    r = C.compare(res, comp)
    assert r["prob_particle_exceeds"] == pytest.approx(expected, abs=1e-10) and r["pooled"] is False


def test_comparator_uncertainty_pulls_the_probability_towards_one_half():
    res = pooled(70, 0.2, ddf=2.0)
    probs = [C.prob_exceeds(res, c) for c in (C.fixed_rate(40), C.binomial_rate(40, 112), C.binomial_rate(40, 15))]
    assert 0.5 < probs[2] < probs[1] < probs[0]


def test_a_fixed_comparator_reproduces_the_metafor_validated_benchmark_comparison():
    # moderators.benchmark_comparison (checked against metafor in test_moderators.py) treats the benchmark
    # as fixed; with a fixed comparator compare() must give the same interval shift and probability.
    from sarcoma_review.stats import moderators, pooling

    d = pd.DataFrame({"rate_percent": [55.0, 70.0, 82.0, 64.0], "n_patients": [30, 45, 60, 25]})
    old = moderators.benchmark_comparison(d, 60.0).iloc[0]
    new = C.compare(pooling.pool_rates(d["rate_percent"], d["n_patients"]), C.fixed_rate(60.0))
    assert new["difference"] == pytest.approx(old["difference"], abs=1e-12)
    assert new["diff_low"] == pytest.approx(old["diff_low"], abs=1e-12)
    assert new["diff_high"] == pytest.approx(old["diff_high"], abs=1e-12)
    assert new["prob_particle_exceeds"] == pytest.approx(old["prob_new_study_exceeds"], abs=1e-12)


def test_binomial_comparator_interval_matches_r():
    # tests/fixtures/r_reference.json "binomial": R escalc(measure="PLO") logit and variance, Wald limits
    # back-transformed (scripts/r/make_reference.R); closed forms, so 1e-9.
    ref = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())["binomial"]
    assert ref
    for case in ref:
        b = C.binomial_rate(case["p_percent"], case["n"])
        assert b.centre == pytest.approx(case["yi"], abs=1e-9) and b.se**2 == pytest.approx(case["vi"], abs=1e-9)
        assert b.ci_low == pytest.approx(case["wald_low_percent"], abs=1e-9), case["case"]
        assert b.ci_high == pytest.approx(case["wald_high_percent"], abs=1e-9), case["case"]


# ----------------------------------------------------------------------------- new series (R metafor + survival)
NEW = R["new_series"]
PARTICLE = pd.read_csv(FIX / "particle_lc5_nonchordoma.csv")


def _r_pool():
    from sarcoma_review.stats import pooling

    return pooling.pool_rates(PARTICLE["rate_percent"], PARTICLE["n_patients"], "REML", "HKSJ-adhoc")


def test_prediction_interval_matches_metafor_predict():
    # metafor REML stops at a relative change of 1e-5 in tau2; 1e-4 percentage points covers both solvers
    res = _r_pool()
    lo, hi = C.particle_prediction(res)
    assert lo == pytest.approx(NEW["pi_low_percent"], abs=1e-4)
    assert hi == pytest.approx(NEW["pi_high_percent"], abs=1e-4)


@pytest.mark.parametrize("case", ["binomial_60_n112", "ifosfamide_reported_lc70"])
def test_new_series_difference_and_probability_match_r(case):
    ref = NEW["comparators"][case]
    if case == "binomial_60_n112":
        comp = C.binomial_rate(60, 112, "bound")
    else:
        comp = C.km_rate_reported(70, PATIENTS["lc_months"], PATIENTS["local_failure"], 60.0)
        assert comp.se == pytest.approx(NEW["ifosfamide_lc60_se_loglog"], abs=1e-12)
    r = C.compare(_r_pool(), comp)
    assert r["comparator_ci_low"] == pytest.approx(ref["comparator_ci_low"], abs=1e-9)
    assert r["comparator_ci_high"] == pytest.approx(ref["comparator_ci_high"], abs=1e-9)
    # REML tolerance as above, carried through MOVER and the t tail
    assert r["difference"] == pytest.approx(ref["difference"], abs=1e-4)
    assert r["new_diff_low"] == pytest.approx(ref["new_diff_low"], abs=1e-4)
    assert r["new_diff_high"] == pytest.approx(ref["new_diff_high"], abs=1e-4)
    assert r["prob_particle_exceeds"] == pytest.approx(ref["prob_particle_exceeds"], abs=1e-5)
    # the new-series interval is never narrower than the interval of the mean
    assert r["new_diff_low"] <= r["diff_low"] and r["new_diff_high"] >= r["diff_high"]


def test_verdict_reads_the_new_series_interval():
    # mean interval above zero, prediction interval across it: the mean alone would say "above"
    res = pooled(80, 0.1, ddf=5.0, tau2=1.0)
    r = C.compare(res, C.fixed_rate(60))
    assert r["verdict_mean"] == "above"
    assert r["new_diff_low"] < 0 and r["verdict"] == "includes"


def test_one_series_verdict_is_its_own_interval():
    res = pooled(80, 0.2, ddf=float("inf"), tau2=0.0, model="single study")
    r = C.compare(res, C.fixed_rate(60))
    assert math.isnan(r["particle_pi_low"])
    assert (r["new_diff_low"], r["new_diff_high"]) == (r["diff_low"], r["diff_high"])


def test_reported_km_rate_shares_the_recomputed_interval_scale():
    km = C.km_rate(PATIENTS["lc_months"], PATIENTS["local_failure"], 60.0)
    rep = C.km_rate_reported(70, PATIENTS["lc_months"], PATIENTS["local_failure"], 60.0)
    assert rep.scale == km.scale == "log-log" and rep.se == km.se
    eta = math.log(-math.log(0.7))
    assert rep.ci_low == pytest.approx(100 * math.exp(-math.exp(eta + Z * km.se)), abs=1e-9)
    assert rep.ci_high == pytest.approx(100 * math.exp(-math.exp(eta - Z * km.se)), abs=1e-9)


# ----------------------------------------------------------------------------- classification rule
BASE = dict(
    intent="curative",
    dose_group="",
    selection="none stated",
    era_year=float("nan"),
    n_kind="bound",
    first_particle_year=2009.0,
)


def test_curative_unselected_sized_comparator_is_comparable():
    assert C.classify(**BASE) == ("comparable", [])


@pytest.mark.parametrize(
    "change,word",
    [
        ({"intent": "not stated"}, "curative intent"),
        ({"dose_group": "below 63 Gy"}, "sub-curative"),
        ({"selection": "tumour size"}, "tumour size"),
        ({"era_year": 1991.0}, "historical"),
        ({"n_kind": "unknown"}, "size is given nowhere"),
    ],
)
def test_each_missing_fact_makes_context_only(change, word):
    klass, reasons = C.classify(**{**BASE, **change})
    assert klass == "context only"
    assert len(reasons) == 1 and word in reasons[0]


def test_a_year_after_the_first_particle_series_is_not_historical():
    assert C.classify(**{**BASE, "era_year": 2010.0})[0] == "comparable"
