"""HKSJ with the Knapp-Hartung ad hoc correction (scale factor truncated at 1) against metafor
``rma(yi, vi, method="REML", test="adhoc")`` (fixture group "adhoc"; tolerance 1e-4 on the logit
scale as for every pooled fit, see tests/stats/test_pooling.py), and the property that motivates it:
plain HKSJ can be narrower than Wald, the ad hoc variant never is."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import frozen_primary, r_value
from scipy import special

from sarcoma_review.stats import pooling as P

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4


@pytest.mark.parametrize("case", REF["adhoc"], ids=lambda c: c["case"])
def test_adhoc_matches_metafor(case):
    ep, h = case["case"].split("_")
    lit = frozen_primary()  # the R fixture's inputs, not the live data/
    d = lit[(lit.endpoint == ep) & (lit.horizon_years == float(h[:-1]))]
    out = P.pool(d, tau2_method="REML", ci_method="adhoc").iloc[0]
    assert out.ci_method == "HKSJ-adhoc"
    for col, key in (
        ("estimate", "estimate"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("pi_low", "pi_lb"),
        ("pi_high", "pi_ub"),
    ):
        assert special.logit(out[col] / 100) == pytest.approx(r_value(case, key), abs=TOL, nan_ok=True), col


def test_identical_rates_hksj_degenerate_adhoc_not():
    """Three series at exactly 70%: every residual is 0, so the HKSJ scale factor is 0 and its
    interval has zero width; truncating the factor at 1 gives the Wald standard error with t_2."""
    r, n = np.array([70.0, 70.0, 70.0]), np.array([40.0, 50.0, 60.0])
    plain = P.pool_rates(r, n, "REML", "HKSJ")
    adhoc = P.pool_rates(r, n, "REML", "adhoc")
    assert plain.ci_logit[1] - plain.ci_logit[0] == pytest.approx(0.0, abs=1e-12)
    v = 1 / (n * 0.7 * 0.3)  # logit sampling variances; tau^2 = 0
    se = np.sqrt(1 / np.sum(1 / v))
    t2 = 4.302652729911275  # qt(0.975, 2)
    assert adhoc.ci_logit[1] - adhoc.ci_logit[0] == pytest.approx(2 * t2 * se, rel=1e-9)


def test_adhoc_never_narrower_than_wald():
    rng = np.random.default_rng(7)
    for _ in range(50):
        k = int(rng.integers(2, 12))
        r = np.round(100 * special.expit(rng.normal(0.8, rng.uniform(0, 0.8), k)), 1)
        n = rng.integers(15, 200, k).astype(float)
        w = P.pool_rates(r, n, "REML", "Wald")
        a = P.pool_rates(r, n, "REML", "adhoc")
        assert a.ci_logit[1] - a.ci_logit[0] >= w.ci_logit[1] - w.ci_logit[0] - 1e-12


def test_no_stratum_interval_is_narrower_than_the_adhoc_one():
    """Issue 19: the sacrum stratum read 65-86% because plain HKSJ's scale factor was 0.10 with two series.
    On the live data, every pooled stratum of every pooled page uses the ad hoc interval, and it is never
    narrower than plain HKSJ on the same series (holds for any data: the factor is truncated at 1)."""
    from sarcoma_review.data import loaders, overlap, vocabulary
    from sarcoma_review.living.analyses import standard_analyses
    from sarcoma_review.stats import sensitivity

    lit = vocabulary.with_strata(loaders.load_literature())
    seen = 0
    for a in standard_analyses():
        ep, hz = a["endpoint"], float(a["horizon_years"])
        page = overlap.independent(lit[(lit["endpoint"] == ep) & (lit["horizon_years"].astype(float) == hz)])
        for s in sensitivity.run_analysis(lit, ep, hz).strata:
            for _, row in s.estimates[s.estimates["k"] >= 2].iterrows():
                assert row["ci_method"] == P.ADHOC, (a["id"], s.column, row["subgroup_value"])
                d = page[page[s.column].astype(str) == str(row["subgroup_value"])]
                plain = P.pool_rates(d["rate_percent"], d["n_patients"], "REML", "HKSJ")
                assert 100 * special.logit(row["ci_low"] / 100) == pytest.approx(
                    100 * P.pool_rates(d["rate_percent"], d["n_patients"], "REML", P.ADHOC).ci_logit[0], abs=1e-6
                )  # the row is the ad hoc fit of exactly these series
                assert special.logit(row["ci_high"] / 100) - special.logit(row["ci_low"] / 100) >= (
                    plain.ci_logit[1] - plain.ci_logit[0] - 1e-9
                )
                seen += 1
    assert seen > 0
