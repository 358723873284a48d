"""Histology strata, t(k-2) prediction intervals, Bayesian tau medians and the wide prior, and the
forest plot's per-series intervals, against the R fixture (scripts/r/make_reference.R; sections
histology_pooling, histology_between, histology_moderators, prediction_k2, bayes, bayes_wide,
forest). Inputs are the fixture's frozen copies (tests/helpers.py), never the live data/.

Tolerances, as in tests/stats/test_pooling.py and tests/stats/test_moderators.py:
* TOL = 1e-4 (logit scale, percent points, I^2 points; relative for Q/F statistics) for every
  metafor comparison: both sides solve the same estimating equations to ~1e-12 (observed
  agreement ~1e-11), so 1e-4 is round-off margin yet far below what a wrong df, quantile or SE
  would change (e.g. t_{k-2} vs t_{k-1} moves the prediction bounds by 0.027 to 8.4 here).
* Bayesian mu quantiles: TOL on the logit scale. R integrates the joint density with nested
  adaptive quadrature over mu in mhat +/- 6 (default prior; +/- 15 for the wide prior); the
  package integrates mu analytically and tau on a 4000-point grid. Observed: ~1e-6 except
  one-series groups under the default prior (up to 6.4e-5, R's +/- 6 range cutting mu's tails).
* Posterior median of tau: TOL. The package reads it off the posterior CDF between grid-cell
  edges (it first read it at the cell midpoints, half a cell low: tau_scale / 1000, which this
  comparison found; test_tau_median_converges_with_the_grid keeps it from coming back).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import frozen_primary as frozen_literature
from helpers import r_value
from scipy import special, stats

from sarcoma_review.stats import moderators as C
from sarcoma_review.stats import pooling as P

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4
WIDE_TAU_SCALE = 1.0  # analysis.WIDE_TAU_SCALE, the prior-sensitivity row (R: WIDE_TAU_SCALE)
PRIORS = {"bayes": P.PRIOR_TAU_SCALE, "bayes_wide": WIDE_TAU_SCALE}

MIN_CASES = {
    "histology_pooling": 12,
    "histology_between": 5,
    "histology_moderators": 8,
    "prediction_k2": 12,
    "bayes": 16,
    "bayes_wide": 16,
    "forest": 5,
    "binomial": 6,
}


@pytest.fixture(scope="module")
def lit() -> pd.DataFrame:
    d = frozen_literature()
    d["histology_group"] = np.where(d["histology"] == "Chordoma", "chordoma", "other")  # as the R script
    return d


def _landmark(lit, ep, h, column=None, value="all"):
    d = lit[(lit["endpoint"] == ep) & (lit["horizon_years"] == float(h))]
    if column and value != "all":
        d = d[d[column] == value]
    return d.sort_values("study_id")


def _split(case):
    ep, h, group = case["case"].split("_")[:3]
    return ep, float(h[:-1]), group


def test_extra_grid_cannot_shrink():
    for section, n in MIN_CASES.items():
        assert len(REF[section]) >= n, section
    assert {c["case"] for c in REF["pooling"]} >= {
        f"{lm}_{g}_{m}_{c}"
        for lm in ("PFS_5y", "DFS_5y")
        for g in ("all", "carbon")
        for m in ("REML", "DL", "PM")
        for c in ("HKSJ", "HKSJ-adhoc", "Wald")
    }
    assert {c["case"] for c in REF["histology_between"]} >= {
        f"{lm}_histology" for lm in ("LC_5y", "LC_3y", "OS_5y", "LC_2y", "OS_2y", "PFS_5y", "DFS_5y")
    }
    # stored for their future consumers (README): Greenwood SEs of the ifosfamide KM, binomial comparators
    for ep in ("LC", "OS"):
        assert REF["survival"]["greenwood"][ep]["times"] == [12, 24, 36, 60]
    assert {c["case"] for c in REF["binomial"]} == {"p60_n112", "p22_n112", "p45_n79", "p10_n33", "p37_n30", "p50_n11"}


# ------------------------------------------------------------------------------- 3a histology strata
@pytest.mark.parametrize("case", REF["histology_pooling"], ids=lambda c: c["case"])
def test_histology_stratum_matches_metafor(lit, case):
    d = _landmark(lit, case["endpoint"], case["horizon"], "histology_group", case["stratum"])
    assert list(d["study_id"]) == case["study_ids"]
    res = P.pool_rates(d["rate_percent"], d["n_patients"], tau2_method="REML", ci_method=case["ci"])
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
        (res.q_p, "QEp"),
    ]:
        assert ours == pytest.approx(r_value(case, key), abs=TOL, nan_ok=True), key
    assert res.q == pytest.approx(case["QE"], rel=TOL)
    # the same through pool(subgroup=...), as a page would call it (percent rows)
    out = (
        P.pool(
            _landmark(lit, case["endpoint"], case["horizon"]),
            tau2_method="REML",
            ci_method=case["ci"],
            subgroup="histology_group",
        )
        .set_index("subgroup_value")
        .loc[case["stratum"]]
    )
    for col, key in [("estimate", "estimate"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")]:
        assert special.logit(out[col] / 100) == pytest.approx(r_value(case, key), abs=TOL, nan_ok=True), col


def test_one_series_strata_are_not_pooled(lit):
    # R pools a stratum only with k >= 2; the package returns a one-series stratum as itself
    pooled = {(c["endpoint"], c["horizon"], c["stratum"]) for c in REF["histology_pooling"]}
    for c in REF["histology_between"]:
        out = P.pool(_landmark(lit, c["endpoint"], c["horizon"]), subgroup="histology_group")
        for row in out.itertuples():
            assert (row.model == "single study") == ((c["endpoint"], c["horizon"], row.subgroup_value) not in pooled)


@pytest.mark.parametrize("case", REF["histology_between"], ids=lambda c: c["case"])
def test_histology_between_q_matches_metafor(lit, case):
    summary, tab = C.subgroup_q_test(_landmark(lit, case["endpoint"], case["horizon"]), "histology_group")
    assert summary["groups"] == case["groups"] and list(tab["k"]) == case["k"]
    np.testing.assert_allclose(tab["mu"], case["estimate"], atol=TOL)
    np.testing.assert_allclose(tab["se"], case["se"], atol=TOL)
    assert summary["q"] == pytest.approx(case["Q"], rel=TOL)
    assert summary["df"] == case["df"]
    assert summary["p"] == pytest.approx(case["p"], abs=TOL)


@pytest.mark.parametrize("case", REF["histology_moderators"], ids=lambda c: c["case"])
def test_histology_moderator_matches_metafor(lit, case):
    summary, coefs = C.moderator_test(
        _landmark(lit, case["endpoint"], case["horizon"]), "histology_group", ci_method=case["ci"]
    )
    qmdf = np.atleast_1d(case["QMdf"])
    assert summary["k"] == case["k"]
    assert summary["statistic"] == pytest.approx(case["QM"], rel=TOL)
    assert summary["df1"] == qmdf[0]
    if case["ci"] != "Wald":
        assert summary["df2"] == qmdf[1]
    assert summary["p"] == pytest.approx(case["QMp"], abs=TOL)
    assert summary["tau2_residual"] == pytest.approx(case["tau2"], abs=TOL)
    assert summary["qe"] == pytest.approx(case["QE"], rel=TOL)
    assert summary["r2"] == pytest.approx(case["R2"], abs=TOL)
    np.testing.assert_allclose(coefs["estimate"], case["b"], atol=TOL)
    np.testing.assert_allclose(coefs["se"], case["se"], atol=TOL)


# ------------------------------------------------------------- 3b prediction interval with t_{k-2}
@pytest.mark.parametrize("case", REF["prediction_k2"], ids=lambda c: c["case"])
def test_prediction_interval_t_k_minus_2(lit, case):
    ep, h, group = _split(case)
    d = _landmark(lit, ep, h, "particle_group", group)
    res = P.pool_rates(d["rate_percent"], d["n_patients"], tau2_method="REML", ci_method="HKSJ-adhoc")
    assert res.k == case["k"]
    assert res.se == pytest.approx(case["se"], abs=TOL)  # the HKSJ SE, as metafor's predict() uses
    if res.k < 3:
        assert case["pi_lb"] is None and case["pi_ub"] is None  # t with 0 df: undefined
        return
    half = stats.t.ppf(0.975, res.k - 2) * np.sqrt(res.tau2 + res.se**2)
    assert res.mu - half == pytest.approx(case["pi_lb"], abs=TOL)
    assert res.mu + half == pytest.approx(case["pi_ub"], abs=TOL)
    # and it is wider than the package's (metafor's) t_{k-1} interval
    assert res.mu - half < res.pi_logit[0] and res.pi_logit[1] < res.mu + half


# --------------------------------------------------------------------- 3c Bayesian: both priors, tau
def _bayes_input(lit, case):
    return _landmark(lit, case["endpoint"], case["horizon"], "particle_group", case["subgroup"])


@pytest.mark.parametrize(
    "section, case", [(s, c) for s in PRIORS for c in REF[s]], ids=lambda x: x if isinstance(x, str) else x["case"]
)
def test_bayes_both_priors_match_r_integrate(lit, section, case):
    tau_scale = PRIORS[section]
    assert case["prior_tau_scale"] == tau_scale and case["prior_mu_sd"] == P.PRIOR_MU_SD
    d = _bayes_input(lit, case)
    y, v, _ = P.logit_rates(d["rate_percent"], d["n_patients"])
    post = P.bayes_posterior(y, v, tau_scale=tau_scale)
    for key in ("mu_low", "mu_median", "mu_high"):
        assert post[key] == pytest.approx(case[key], abs=TOL), key
    tau_tol = TOL  # module docstring
    assert post["tau_median"] == pytest.approx(case["tau_median"], abs=tau_tol)
    # the tidy row the pooled page shows (percent; tau2 = squared posterior median of tau)
    out = P.pool_bayes(d, tau_scale=tau_scale).iloc[0]
    for col, key in [("estimate", "mu_median"), ("ci_low", "mu_low"), ("ci_high", "mu_high")]:
        assert special.logit(out[col] / 100) == pytest.approx(r_value(case, key), abs=TOL, nan_ok=True), col
    assert np.sqrt(out["tau2"]) == pytest.approx(case["tau_median"], abs=tau_tol)


@pytest.mark.parametrize("tau_scale", [P.PRIOR_TAU_SCALE, WIDE_TAU_SCALE])
def test_tau_median_converges_with_the_grid(lit, tau_scale):
    # A median read at cell midpoints is half a cell (tau_scale / 1000 on 4000 cells) low and moves
    # tenfold with a tenfold finer grid; read between cell edges it agrees with R at both grids.
    case = next(c for c in REF["bayes" if tau_scale == P.PRIOR_TAU_SCALE else "bayes_wide"] if c["case"] == "LC_5y_all")
    d = _bayes_input(lit, case)
    y, v, _ = P.logit_rates(d["rate_percent"], d["n_patients"])
    for n_grid in (4000, 40_000):
        got = P.bayes_posterior(y, v, tau_scale=tau_scale, n_grid=n_grid)["tau_median"]
        assert got == pytest.approx(case["tau_median"], abs=TOL / 10), n_grid


# ------------------------------------------------------------------ 3e per-series intervals (forest)
@pytest.mark.parametrize("case", REF["forest"], ids=lambda c: c["case"])
def test_forest_per_series_wald_ci(lit, case):
    st = P.study_table(_landmark(lit, case["endpoint"], case["horizon"]))
    assert list(st["study_id"]) == case["study_id"]
    np.testing.assert_allclose(st["yi"], case["yi"], atol=TOL)
    np.testing.assert_allclose(st["vi"], case["vi"], atol=TOL)
    np.testing.assert_allclose(st["estimate"], case["estimate_percent"], atol=TOL)
    np.testing.assert_allclose(st["ci_low"], case["ci_low_percent"], atol=TOL)
    np.testing.assert_allclose(st["ci_high"], case["ci_high_percent"], atol=TOL)
