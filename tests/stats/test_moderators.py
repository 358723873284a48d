"""Comparisons (src/sarcoma_review/moderators.py) against R metafor 3.8-1 (tests/fixtures/r_reference.json).

Tolerance 1e-4 (absolute on logit-scale coefficients, test statistics, p values and percent;
relative for chi-square/F statistics): the fixture solves REML to 1e-12, both sides solve the same
equations, so the residual differences are round-off; a wrong df, contrast or scale factor would
change these numbers in the 2nd-3rd decimal.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FROZEN_DATA

from sarcoma_review.data import overlap
from sarcoma_review.stats import moderators as C

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4


def landmark(ep: str, h: float) -> pd.DataFrame:
    lit = FROZEN_DATA / "literature"  # the R fixture's inputs, not the live data/
    s = pd.read_csv(lit / "studies.csv").drop(columns="source")
    o = pd.read_csv(lit / "outcomes.csv").drop(columns="source")
    d = o.merge(s, on="study_id", suffixes=("_outcome", ""))
    # each shared cohort counted once, as R's landmark() does (scripts/r/make_reference.R)
    return overlap.independent(d[(d.endpoint == ep) & (d.horizon_years == h)]).sort_values("study_id")


def _eh(case):
    ep, h = case["case"].split("_")[:2]
    return ep, float(h[:-1])


def test_grid_cannot_shrink():
    names = {c["case"] for c in REF["moderators"]}
    assert {
        f"{ep}_{h}y_particle_group_{c}" for ep in ("LC", "OS") for h in (5, 3) for c in ("HKSJ", "HKSJ-adhoc", "Wald")
    } <= names
    assert len(REF["metareg"]) >= 8 and len(REF["between"]) >= 4 and len(REF["benchmark"]) >= 24


@pytest.mark.parametrize("case", REF["moderators"], ids=lambda c: c["case"])
def test_moderator_test_matches_metafor(case):
    summary, coefs = C.moderator_test(landmark(*_eh(case)), "particle_group", ci_method=case["ci"])
    qmdf = np.atleast_1d(case["QMdf"])  # (df1, df2) for the F test, df1 for the Wald QM
    assert summary["statistic"] == pytest.approx(case["QM"], rel=TOL)
    assert summary["df1"] == qmdf[0]
    if case["ci"] != "Wald":
        assert summary["df2"] == qmdf[1] and summary["test"] == "Knapp-Hartung F"
    assert summary["p"] == pytest.approx(case["QMp"], abs=TOL)
    assert summary["tau2_residual"] == pytest.approx(case["tau2"], abs=TOL)
    assert summary["qe"] == pytest.approx(case["QE"], rel=TOL)
    assert summary["r2"] == pytest.approx(case["R2"], abs=TOL)
    np.testing.assert_allclose(coefs.estimate, case["b"], atol=TOL)
    np.testing.assert_allclose(coefs.se, case["se"], atol=TOL)


@pytest.mark.parametrize("case", REF["metareg"], ids=lambda c: c["case"])
def test_meta_regression_on_year_matches_metafor(case):
    summary, coefs = C.meta_regression(landmark(*_eh(case)), "year", ci_method=case["ci"])
    np.testing.assert_allclose(coefs.estimate, case["b"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(coefs.se, case["se"], rtol=TOL)
    np.testing.assert_allclose(coefs.ci_low, case["ci_lb"], rtol=TOL, atol=TOL)
    assert summary["statistic"] == pytest.approx(case["QM"], rel=TOL)
    assert summary["p"] == pytest.approx(case["QMp"], abs=TOL)
    assert summary["tau2_residual"] == pytest.approx(case["tau2"], abs=TOL)


@pytest.mark.parametrize("case", REF["between"], ids=lambda c: c["case"])
def test_between_subgroup_q_matches_metafor(case):
    summary, tab = C.subgroup_q_test(landmark(*_eh(case)), "particle_group")
    assert summary["groups"] == case["groups"]
    np.testing.assert_allclose(tab.mu, case["estimate"], atol=TOL)
    np.testing.assert_allclose(tab.se, case["se"], atol=TOL)
    assert summary["q"] == pytest.approx(case["Q"], rel=TOL)
    assert summary["df"] == case["df"]
    assert summary["p"] == pytest.approx(case["p"], abs=TOL)


@pytest.mark.parametrize("case", REF["benchmark"], ids=lambda c: c["case"])
def test_benchmark_matches_r(case):
    row = C.benchmark_comparison(
        landmark(case["endpoint"], case["horizon"]), case["benchmark"], ci_method=case["ci"]
    ).iloc[0]
    assert row.difference == pytest.approx(case["diff"], abs=TOL)
    assert row.diff_low == pytest.approx(case["diff_lb"], abs=TOL)
    assert row.diff_high == pytest.approx(case["diff_ub"], abs=TOL)
    # R: pt(.., df = k - 1, lower.tail = FALSE) on the predictive z of predict.rma
    assert row.prob_new_study_exceeds == pytest.approx(case["prob_exceed"], abs=TOL)


def test_benchmark_at_pooled_estimate_is_one_half():
    d = landmark("LC", 5)
    est = C.benchmark_comparison(d, 50).iloc[0].estimate
    assert C.benchmark_comparison(d, est).iloc[0].prob_new_study_exceeds == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(
    "call, msg",
    [
        (lambda d: C.moderator_test(d, "nope"), "not in df"),
        (lambda d: C.moderator_test(d[d.particle_group == "carbon"], "particle_group"), "single value"),
        (lambda d: C.benchmark_comparison(d, 0), "strictly between"),
        (lambda d: C.meta_regression(d, "site"), "numeric"),
        (lambda d: C.moderator_test(d, "particle_group", tau2_method="EB"), "unknown tau"),
    ],
)
def test_bad_arguments_raise(call, msg):
    with pytest.raises(ValueError, match=msg):
        call(landmark("LC", 5))
