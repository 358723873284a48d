"""Pooling (src/sarcoma_review/stats/pooling.py) against R metafor 3.8-1 (tests/fixtures/r_reference.json).

The fixture was written by scripts/r/make_reference.R with tight convergence (REML threshold
1e-12, Q-profile uniroot tol 1e-12); both sides then solve the same estimating equations to
~1e-10, so 1e-4 (absolute, logit scale / percent points / I^2 points; relative for Q) is a
generous margin for floating-point and root-finding differences, yet far below any difference
that a wrong formula (e.g. t vs normal quantile, k-1 vs k-2 df, truncated HKSJ) would produce.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FROZEN_DATA, r_value
from scipy import special, stats

from sarcoma_review.data import overlap
from sarcoma_review.stats import pooling as P

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4  # see module docstring
GLMM_TOL = 1e-3  # ML via lme4's optimiser (bobyqa/Nelder-Mead, default tolerances) vs ours

# The grid of reference cases may grow, never shrink: these counts and names are committed.
MIN_CASES = {
    "pooling": 60,
    "single": 6,
    "leave1out": 4,
    "cumul": 4,
    "halved": 4,
    "glmm": 4,
    "moderators": 8,
    "between": 4,
    "metareg": 8,
    "benchmark": 24,
    "bayes": 12,
    "adhoc": 4,
}
NAMED = {
    "pooling": [
        f"{ep}_{h}y_{g}_{m}_{c}"
        for ep in ("LC", "OS")
        for h in (5, 3)
        for g in ("all", "carbon")
        for m in ("REML", "DL", "PM")
        for c in ("HKSJ", "Wald")
    ]
    + [
        f"{lm}_proton-based_{m}_{c}"
        for lm in ("LC_5y", "LC_3y", "OS_3y")
        for m in ("REML", "DL", "PM")
        for c in ("HKSJ", "Wald")
    ]
    # the landmarks three or more independent series report since the 2026-12 update (book/analyses.yml)
    + [
        f"{lm}_all_{m}_{c}"
        for lm in ("LC_2y", "OS_2y", "PFS_3y", "PFS_5y", "DFS_5y")
        for m in ("REML", "DL", "PM")
        for c in ("HKSJ", "Wald")
    ],
    "single": ["LC_5y_mixed", "LC_3y_mixed", "OS_5y_mixed", "OS_5y_proton-based"],
    "leave1out": ["LC_5y", "LC_3y", "OS_5y", "OS_3y", "LC_2y", "OS_2y", "PFS_3y", "PFS_5y", "DFS_5y"],
    "cumul": ["LC_5y", "LC_3y", "OS_5y", "OS_3y", "LC_2y", "OS_2y", "PFS_3y", "PFS_5y", "DFS_5y"],
    "glmm": ["LC_5y", "LC_3y", "OS_5y", "OS_3y", "LC_2y", "OS_2y", "PFS_3y", "PFS_5y", "DFS_5y"],
    "halved": ["LC_5y", "LC_3y", "OS_5y", "OS_3y", "LC_2y", "OS_2y", "PFS_3y", "PFS_5y", "DFS_5y"],
    "adhoc": ["LC_5y", "LC_3y", "OS_5y", "OS_3y", "LC_2y", "OS_2y", "PFS_3y", "PFS_5y", "DFS_5y"],
}


def literature() -> pd.DataFrame:
    """Table I, outcomes joined with studies (what loaders.load_literature() returns), from the
    frozen copies the R fixture was computed from (tests/helpers.py), not the live data/."""
    lit = FROZEN_DATA / "literature"
    s = pd.read_csv(lit / "studies.csv").drop(columns="source")
    o = pd.read_csv(lit / "outcomes.csv").drop(columns="source")
    # each shared cohort counted once per landmark, as R's landmark() does (scripts/r/make_reference.R)
    return overlap.independent_by_landmark(o.merge(s, on="study_id", suffixes=("_outcome", "")))


def landmark(ep: str, h: float, group: str = "all") -> pd.DataFrame:
    d = literature()
    d = d[(d.endpoint == ep) & (d.horizon_years == h)]
    if group != "all":
        d = d[d.particle_group == group]
    return d.sort_values("study_id")


def test_fixture_grid_cannot_shrink():
    for section, n in MIN_CASES.items():
        assert len(REF[section]) >= n, f"{section}: {len(REF[section])} < {n} reference cases"
    for section, names in NAMED.items():
        have = {c["case"] for c in REF[section]}
        assert set(names) <= have, f"{section} lost cases {sorted(set(names) - have)}"
    assert REF["meta"]["metafor"] == "3.8.1"


@pytest.mark.parametrize("case", REF["pooling"], ids=lambda c: c["case"])
def test_pool_matches_metafor(case):
    d = landmark(case["endpoint"], case["horizon"], case["subgroup"])
    res = P.pool_rates(d.rate_percent, d.n_patients, tau2_method=case["method"], ci_method=case["ci"])
    assert res.k == case["k"]
    for ours, key in [
        (res.mu, "estimate"),
        (res.se, "se"),
        (res.ci_logit[0], "ci_lb"),
        (res.ci_logit[1], "ci_ub"),
        (res.pi_logit[0], "pi_lb"),
        (res.pi_logit[1], "pi_ub"),
        (res.tau2, "tau2"),
        (res.tau2_ci[0], "tau2_lb"),
        (res.tau2_ci[1], "tau2_ub"),
        (res.i2, "I2"),
        (res.h2, "H2"),
        (res.q_p, "QEp"),
    ]:
        assert ours == pytest.approx(r_value(case, key), abs=TOL, nan_ok=True), key
    assert res.q == pytest.approx(case["QE"], rel=TOL)
    # the tidy percent row is the back-transform of the same numbers
    row = P.pool(d, tau2_method=case["method"], ci_method=case["ci"]).iloc[0]
    for col, key in [
        ("estimate", "estimate"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("pi_low", "pi_lb"),
        ("pi_high", "pi_ub"),
    ]:
        assert row[col] == pytest.approx(100 * special.expit(r_value(case, key)), abs=TOL, nan_ok=True), col


@pytest.mark.parametrize("case", REF["single"], ids=lambda c: c["case"])
def test_single_study_is_returned_as_itself(case):
    d = landmark(case["endpoint"], case["horizon"], case["subgroup"])
    row = P.pool(d).iloc[0]
    assert row["model"] == "single study" and row["k"] == 1
    assert row["estimate"] == pytest.approx(d.rate_percent.iloc[0], abs=1e-9)  # the study's own rate
    assert row["ci_low"] == pytest.approx(100 * special.expit(case["ci_lb"]), abs=TOL)
    assert row["ci_high"] == pytest.approx(100 * special.expit(case["ci_ub"]), abs=TOL)
    assert np.isnan(row["tau2"]) and np.isnan(row["pi_low"])


def test_subgroup_rows_and_columns():
    out = P.pool(literature(), "LC", 5, subgroup="particle_group", analysis_id="lc5_by_particle")
    assert list(out.columns) == P.RESULT_COLUMNS
    assert list(out.subgroup_value) == ["carbon", "mixed", "proton-based"]
    assert list(out.k) == [5, 1, 2]
    assert list(out.model) == ["random effects", "single study", "random effects"]
    assert (out.analysis_id == "lc5_by_particle").all()
    # LC at 5 years, each shared cohort once: carbon = Serizawa 2009, Matsunobu 2012, Imai 2018, Demizu 2021
    # and the older-patients series 2024; mixed = the Heidelberg 2020 series; proton-based = Ciernik 2011, DeLaney 2014
    assert list(out.n_patients) == [24 + 78 + 128 + 219 + 235, 68, 55 + 50]


def _check_rows(out, ref, n_rows):
    assert len(out) == n_rows
    logit = special.logit(out.estimate.to_numpy() / 100)
    np.testing.assert_allclose(logit, ref["estimate"], atol=TOL)
    np.testing.assert_allclose(special.logit(out.ci_low / 100), ref["ci_lb"], atol=TOL)
    np.testing.assert_allclose(special.logit(out.ci_high / 100), ref["ci_ub"], atol=TOL)


@pytest.mark.parametrize("case", REF["leave1out"], ids=lambda c: c["case"])
def test_leave_one_out_matches_metafor(case):
    ep, h = case["case"].split("_")
    d = landmark(ep, float(h[:-1]))
    out = P.leave_one_out(d)
    assert list(out.subgroup_value) == case["omitted"]
    _check_rows(out, case, len(d))
    np.testing.assert_allclose(out.tau2, case["tau2"], atol=TOL)
    np.testing.assert_allclose(out.i2, case["I2"], atol=TOL)
    np.testing.assert_allclose(out.q, case["QE"], rtol=TOL)


@pytest.mark.parametrize("case", REF["cumul"], ids=lambda c: c["case"])
def test_cumulative_matches_metafor(case):
    ep, h = case["case"].split("_")
    d = landmark(ep, float(h[:-1]))
    out = P.cumulative(d, order_by="year")
    assert list(out.subgroup_value) == case["added"]
    # metafor's first step (k = 1) is the study with its Wald interval: our "single study" row
    assert out.model.iloc[0] == "single study"
    _check_rows(out, case, len(d))
    np.testing.assert_allclose(out.tau2.iloc[1:], case["tau2"][1:], atol=TOL)
    np.testing.assert_allclose(out.i2.iloc[1:], case["I2"][1:], atol=TOL)


@pytest.mark.parametrize("case", REF["halved"], ids=lambda c: c["case"])
def test_halved_sample_size_matches_metafor(case):
    ep, h = case["case"].split("_")
    out = P.pool(landmark(ep, float(h[:-1])), n_scale=0.5).iloc[0]
    assert out.model == "random effects, n x 0.5"
    assert special.logit(out.estimate / 100) == pytest.approx(case["estimate"], abs=TOL)
    assert special.logit(out.ci_low / 100) == pytest.approx(case["ci_lb"], abs=TOL)
    assert out.tau2 == pytest.approx(case["tau2"], abs=TOL)
    assert out.i2 == pytest.approx(case["I2"], abs=TOL)


@pytest.mark.parametrize("case", REF["glmm"], ids=lambda c: c["case"])
def test_glmm_matches_metafor_rma_glmm(case):
    ep, h = case["case"].split("_")
    out = P.pool_glmm(landmark(ep, float(h[:-1]))).iloc[0]
    assert out.model == "binomial-normal GLMM (ML)"
    # 1e-3: lme4 maximises the same 7-node AGQ likelihood with its own optimiser tolerances
    for col, key in [("estimate", "estimate"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")]:
        assert special.logit(out[col] / 100) == pytest.approx(case[key], abs=GLMM_TOL), col
    assert out.tau2 == pytest.approx(case["tau2"], abs=GLMM_TOL)


@pytest.mark.parametrize("case", REF["bayes"], ids=lambda c: c["case"])
def test_bayes_matches_r_integrate(case):
    d = landmark(case["endpoint"], case["horizon"], case["subgroup"])
    y, v, _ = P.logit_rates(d.rate_percent, d.n_patients)
    post = P.bayes_posterior(y, v)
    # R: nested adaptive integrate() (rel.tol 1e-10) of the joint density; ours: conjugate mu,
    # 4000-point midpoint rule in tau (error ~1e-7). 1e-4 on the logit scale covers both.
    for key in ("mu_low", "mu_median", "mu_high"):
        assert post[key] == pytest.approx(case[key], abs=TOL), key


@pytest.mark.parametrize("tau_scale", [0.5, 1.0])
def test_bayes_against_bruteforce_grid(tau_scale):
    """Independent check: the unnormalised joint posterior on a 2-D (mu, tau) grid (the primary
    prior scale 0.5 and the wider 1.0 the book shows as a prior-sensitivity row)."""
    d = landmark("LC", 5, "proton-based")
    y, v, _ = P.logit_rates(d.rate_percent, d.n_patients)
    mu = np.linspace(-6, 8, 2801)
    tau = np.linspace(0.0005, 4, 2000)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    ll = sum(stats.norm.logpdf(yi, M, np.sqrt(vi + T**2)) for yi, vi in zip(y, v))
    lp = ll + stats.norm.logpdf(M, 0, 10) + stats.halfnorm.logpdf(T, scale=tau_scale)
    dens = np.exp(lp - lp.max()).sum(axis=1)
    cdf = np.cumsum(dens) / dens.sum()
    med = np.interp(0.5, cdf, mu)
    post = P.bayes_posterior(y, v, tau_scale=tau_scale)
    # grid step in mu is 0.005: quantiles from a step-function CDF are good to about one step
    assert post["mu_median"] == pytest.approx(med, abs=0.01)
    assert post["mu_low"] == pytest.approx(np.interp(0.025, cdf, mu), abs=0.01)
    assert post["mu_high"] == pytest.approx(np.interp(0.975, cdf, mu), abs=0.01)
    out = P.pool_bayes(d, tau_scale=tau_scale).iloc[0]
    assert out.model == ("Bayesian normal-normal" if tau_scale == 0.5 else "Bayesian normal-normal (tau scale 1)")
    assert out.estimate == pytest.approx(100 * special.expit(post["mu_median"]), abs=1e-9)


def test_continuity_correction_hand_derived():
    # 100% of 20 patients: x = 20 -> (20.5, 0.5); p' = 20.5/21, v = 1/20.5 + 1/0.5
    y, v, corr = P.logit_rates([100, 0, 50], [20, 10, 10])
    assert corr.tolist() == [True, True, False]
    assert y[0] == pytest.approx(np.log(20.5 / 0.5))
    assert v[0] == pytest.approx(1 / 20.5 + 1 / 0.5)
    assert y[1] == pytest.approx(np.log(0.5 / 10.5))
    assert v[1] == pytest.approx(1 / 0.5 + 1 / 10.5)
    assert y[2] == 0 and v[2] == pytest.approx(1 / (10 * 0.25))
    row = P.pool(pd.DataFrame({"rate_percent": [100, 90, 80], "n_patients": [20, 30, 40]})).iloc[0]
    assert "continuity correction" in row.note


def test_dl_by_hand():
    # DerSimonian-Laird from its textbook formula on the LC 5-year data
    d = landmark("LC", 5)
    p = d.rate_percent.to_numpy() / 100
    n = d.n_patients.to_numpy()
    y, v = np.log(p / (1 - p)), 1 / (n * p * (1 - p))
    w = 1 / v
    q = np.sum(w * (y - np.sum(w * y) / w.sum()) ** 2)
    tau2 = max(0, (q - (len(y) - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    res = P.pool_rates(d.rate_percent, d.n_patients, tau2_method="DL", ci_method="Wald")
    assert res.tau2 == pytest.approx(tau2, rel=1e-12)
    ws = 1 / (v + tau2)
    assert res.mu == pytest.approx(np.sum(ws * y) / ws.sum(), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(tau2_method="ML"), "unknown tau"),
        (dict(ci_method="profile"), "unknown CI"),
        (dict(endpoint="LC", horizon_years=7), "empty group"),
        (dict(endpoint=None, horizon_years=None), "mixes several values"),
    ],
)
def test_bad_arguments_raise(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        P.pool(literature(), **({"endpoint": "LC", "horizon_years": 5} | kwargs))


@pytest.mark.parametrize(
    "rates, ns, msg",
    [
        ([70, np.nan], [10, 20], "NaN"),
        ([70, 80], [10, 0], "> 0"),
        ([70, 180], [10, 20], r"\[0, 100\]"),
        ([], [], "empty group"),
    ],
)
def test_bad_values_raise(rates, ns, msg):
    with pytest.raises(ValueError, match=msg):
        P.pool_rates(rates, ns)


def test_thousand_studies_reml_solves_its_score_equation():
    """At 1,000 studies the REML estimate still solves y'PPy = tr(P) (checked by hand, independent
    of the root finder); speed is measured by `make bench`, not asserted here."""
    rng = np.random.default_rng(1)
    n = rng.integers(10, 200, 1000).astype(float)
    p = special.expit(rng.normal(1.0, 0.4, 1000))
    res = P.pool_rates(100 * p, n)
    assert res.k == 1000 and 0 < res.tau2 < 1
    y, v = np.log(p / (1 - p)), 1 / (n * p * (1 - p))
    w = 1 / (v + res.tau2)
    mu = np.sum(w * y) / np.sum(w)
    score = np.sum(w**2 * (y - mu) ** 2) - (np.sum(w) - np.sum(w**2) / np.sum(w))
    assert abs(score) < 1e-6 * np.sum(w**2)  # relative to the size of the terms
    assert res.mu == pytest.approx(mu, abs=1e-9)


def test_study_table_weights():
    d = landmark("LC", 5)
    st = P.study_table(d)
    assert list(st.columns) == P.STUDY_COLUMNS
    # weights by hand: 1/(v_i + tau^2) with v_i = 1/(n p (1-p)) and metafor's REML tau^2 (fixture),
    # normalised to percent; 1e-4 percentage points covers the fixture's tau^2 precision
    ref = next(c for c in REF["pooling"] if c["case"] == "LC_5y_all_REML_HKSJ")
    pr = d.rate_percent.to_numpy() / 100
    w = 1 / (1 / (d.n_patients.to_numpy() * pr * (1 - pr)) + ref["tau2"])
    assert st.weight_percent.to_numpy() == pytest.approx(100 * w / w.sum(), abs=1e-4)
    assert np.allclose(st.estimate, d.rate_percent)
    assert (st.ci_low < st.estimate).all() and (st.estimate < st.ci_high).all()
