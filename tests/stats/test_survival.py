"""Survival on the ifosfamide IPD (src/sarcoma_review/survival.py) against R survival 3.5
(``survfit(conf.type="log-log")``, ``quantile``, ``summary(rmean=)``, ``survdiff``) in
tests/fixtures/r_reference.json.

Tolerance 1e-6 (absolute) for survival probabilities, CIs, RMST and chi-square: KM and Greenwood
are closed-form, so both sides agree to round-off (~1e-15); 1e-6 leaves room for platform
differences while catching any wrong formula (plain vs log-log CI differ by >1e-2 here).
Median and its CI are observed times, compared exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FROZEN_DATA

from sarcoma_review.stats import survival as S

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())["survival"]
TOL = 1e-6
ENDPOINTS = {"LC": ("lc_months", "local_failure"), "OS": ("os_months", "death")}


def ipd() -> pd.DataFrame:
    d = pd.read_csv(FROZEN_DATA / "ifosfamide" / "patients.csv")  # the R fixture's input, not data/
    d["diam_gt10"] = np.where(d.diameter_initial_cm > 10, ">10 cm", "<=10 cm")
    return d


def _nan(x):
    return np.array([np.nan if v is None else v for v in x], float)


def test_grid_cannot_shrink():
    assert set(REF["km"]) >= {"LC", "OS"}
    assert {c["case"] for c in REF["logrank"]} >= {
        f"{e}_{g}" for e in ENDPOINTS for g in ("grade", "setting", "diam_gt10")
    }


@pytest.mark.parametrize("ep", ["LC", "OS"])
def test_kaplan_meier_matches_survfit(ep):
    d, ref = ipd(), REF["km"][ep]
    t, e = ENDPOINTS[ep]
    km = S.kaplan_meier(d[t], d[e])
    np.testing.assert_allclose(km.time, ref["time"])
    np.testing.assert_array_equal(km.n_risk, ref["n_risk"])
    np.testing.assert_array_equal(km.n_event, ref["n_event"])
    np.testing.assert_allclose(km.surv, ref["surv"], atol=TOL)
    lo, hi = _nan(ref["lower"]), _nan(ref["upper"])
    defined = ~np.isnan(lo)
    # R leaves the log(-log) CI undefined (NA) while S(t) = 1; we report [1, 1] there
    assert np.all(km.surv[~defined] == 1) and np.all(km.ci_low[~defined] == 1)
    np.testing.assert_allclose(km.ci_low[defined], lo[defined], atol=TOL)
    np.testing.assert_allclose(km.ci_high[defined], hi[defined], atol=TOL)


@pytest.mark.parametrize("ep", ["LC", "OS"])
def test_landmarks_median_rmst_match_r(ep):
    d, ref = ipd(), REF["km"][ep]
    t, e = ENDPOINTS[ep]
    lm = S.landmarks(d[t], d[e], REF["landmark_times"])
    np.testing.assert_allclose(lm.surv, ref["landmark_surv"], atol=TOL)
    np.testing.assert_allclose(lm.ci_low, ref["landmark_lower"], atol=TOL)
    np.testing.assert_allclose(lm.ci_high, ref["landmark_upper"], atol=TOL)
    np.testing.assert_array_equal(lm.n_risk, ref["landmark_n_risk"])
    nr = S.number_at_risk(d[t], d[e], REF["landmark_times"])
    np.testing.assert_array_equal(nr.n_risk, ref["landmark_n_risk"])
    med = S.median_survival(d[t], d[e])
    for ours, key in [(med["median"], "median"), (med["ci_low"], "median_lower"), (med["ci_high"], "median_upper")]:
        if ref[key] is None:
            assert np.isnan(ours), key  # R: NA (curve never reaches 0.5)
        else:
            assert ours == ref[key], key
    r = S.rmst(d[t], d[e], ref["rmst_tau"])
    assert r["rmst"] == pytest.approx(ref["rmst"], abs=TOL)
    assert r["se"] == pytest.approx(ref["rmst_se"], abs=TOL)


@pytest.mark.parametrize("case", REF["logrank"], ids=lambda c: c["case"])
def test_logrank_matches_survdiff(case):
    d = ipd()
    t, e = ENDPOINTS[case["endpoint"]]
    summary, table = S.logrank(d[t], d[e], d[case["by"]])
    assert list(table.group) == case["groups"]
    np.testing.assert_array_equal(table.n, case["n"])
    np.testing.assert_array_equal(table.observed, case["obs"])
    np.testing.assert_allclose(table.expected, case["exp"], atol=TOL)
    assert summary["chisq"] == pytest.approx(case["chisq"], abs=TOL)
    assert summary["df"] == case["df"]
    assert summary["p"] == pytest.approx(case["p"], abs=TOL)


def test_hand_computed_km():
    # 4 patients: events at 1 and 3, censored at 2 and 4 -> S = 3/4, then 3/4 * 1/2
    km = S.kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0])
    assert km.surv.tolist() == pytest.approx([0.75, 0.75, 0.375, 0.375])
    assert S.rmst([1, 2, 3, 4], [1, 0, 1, 0], 4)["rmst"] == pytest.approx(1 + 0.75 * 2 + 0.375)


@pytest.mark.parametrize(
    "args, msg",
    [
        (([1, 2], [1]), "values but event"),
        (([1, -2], [1, 0]), ">= 0"),
        (([1, 2], [1, 2]), "0 \\(censored\\)"),
        (([1, np.nan], [1, 0]), "missing"),
        (([], []), "empty"),
    ],
)
def test_bad_input_raises(args, msg):
    with pytest.raises(ValueError, match=msg):
        S.kaplan_meier(*args)
