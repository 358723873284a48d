"""Numerical edges of the pooling and of what a pooled page shows.

Rates of 0% and 100%, one and two studies, identical rates (tau^2 = 0), very large and very small
n: :func:`sarcoma_review.stats.sensitivity.run_analysis` gives finite, documented results (or a clear
ValueError), and nothing a page shows (the key findings, the sensitivity and heterogeneity tables
as rendered by :func:`sarcoma_review.pages.render.tables.html_table`) reads "nan" or "inf". Expected values are
derived by hand in the comments.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sarcoma_review.pages import pooled
from sarcoma_review.pages.render.tables import html_table
from sarcoma_review.stats import sensitivity

Z = 1.959963984540054  # standard normal 97.5% quantile


def literature(rates, ns) -> pd.DataFrame:
    """A literature table (the columns of ``loaders.load_literature``) for LC at 5 years."""
    k = len(rates)
    return pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(k)],
            "first_author": [f"Author{i}" for i in range(k)],
            "year": [2000 + i for i in range(k)],
            "n_patients": list(ns),
            "site": "Axis",
            "histology": "Chordoma",
            "particle": "Carbon ions",
            "particle_group": "carbon",
            "endpoint": "LC",
            "horizon_years": 5,
            "rate_percent": [float(r) for r in rates],
            "source_study": "test",
            "source_outcome": "test",
        }
    )


def shown_text(a: sensitivity.PooledAnalysis) -> str:
    """Everything the page's key findings and tables put in front of a reader."""
    md = pooled.summary_markdown(a, "LC", 5)
    sens = html_table(
        pooled.sensitivity_table(a), formats={c: ".1f" for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
    ).data
    het = html_table(pooled.heterogeneity_table(a)).data
    return md + sens + het


def assert_no_nan_shown(a: sensitivity.PooledAnalysis) -> None:
    text = re.sub(r"<[^>]+>", " ", shown_text(a))  # text only: attribute values are not shown
    assert not re.search(r"\bnan\b|\binf\b", text, flags=re.I), text


def run(rates, ns) -> sensitivity.PooledAnalysis:
    with warnings.catch_warnings():
        # a RuntimeWarning in a pooled page's cell would be printed on the page
        warnings.simplefilter("error", RuntimeWarning)
        return sensitivity.run_analysis(literature(rates, ns), "LC", 5)


def test_single_study_at_zero_percent_uses_the_continuity_correction():
    # x = 0 events of n = 20: p' = (0 + 0.5) / (20 + 1) = 2.381%; v = 1/0.5 + 1/20.5 = 2.04878
    a = run([0], [20])
    p = a.primary
    assert not a.is_pooled and p["model"] == "single study"
    assert p["estimate"] == pytest.approx(100 * 0.5 / 21, rel=1e-12)
    y, se = math.log(0.5 / 20.5), math.sqrt(1 / 0.5 + 1 / 20.5)
    expit = lambda t: 100 / (1 + math.exp(-t))  # noqa: E731
    assert p["ci_low"] == pytest.approx(expit(y - Z * se), rel=1e-9)
    assert p["ci_high"] == pytest.approx(expit(y + Z * se), rel=1e-9)
    assert_no_nan_shown(a)


@pytest.mark.parametrize("rate", [0, 100])
def test_every_study_at_the_edge_is_finite_and_the_glmm_says_it_is_not_estimable(rate):
    a = run([rate] * 3, [20, 30, 40])
    p = a.primary
    # every study corrected: p_i' = 0.5/(n_i+1) (or 1 - that); the pooled rate lies between them
    corrected = [100 * 0.5 / (n + 1) for n in (20, 30, 40)]
    lo, hi = min(corrected), max(corrected)
    if rate == 100:
        lo, hi = 100 - hi, 100 - lo
    assert lo <= p["estimate"] <= hi
    assert np.isfinite(p[["estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"]].astype(float)).all()
    glmm = a.estimates[a.estimates["model"].str.startswith("binomial-normal GLMM")].iloc[0]
    assert "not estimable" in glmm["note"] and np.isnan(glmm["estimate"])
    assert_no_nan_shown(a)


def test_identical_rates_give_tau2_zero_and_the_wald_interval_by_hand():
    # 4 studies of 70% in 50 patients: Q = 0, tau^2 = 0 (every estimator); v = 1/(50*0.7*0.3) = 1/10.5,
    # pooled SE = sqrt(v/4) = sqrt(1/42); Wald CI = expit(logit(0.7) +/- 1.96 sqrt(1/42))
    a = run([70] * 4, [50] * 4)
    e = a.estimates
    re_rows = e[e["model"] == "random effects"]
    assert (re_rows["tau2"] == 0).all() and a.primary["q"] == pytest.approx(0, abs=1e-12)
    assert a.primary["estimate"] == pytest.approx(70, abs=1e-9)
    wald = re_rows[(re_rows["tau2_method"] == "REML") & (re_rows["ci_method"] == "Wald")].iloc[0]
    y, se = math.log(0.7 / 0.3), math.sqrt(1 / 42)
    assert wald["ci_low"] == pytest.approx(100 / (1 + math.exp(-(y - Z * se))), rel=1e-9)
    assert wald["ci_high"] == pytest.approx(100 / (1 + math.exp(-(y + Z * se))), rel=1e-9)
    assert a.primary["i2"] == pytest.approx(0, abs=1e-9)
    assert_no_nan_shown(a)


def test_two_studies_pool_with_one_degree_of_freedom():
    # HKSJ uses t with k - 1 = 1 df (97.5% quantile 12.706): wide but finite
    a = run([60, 80], [30, 40])
    p = a.primary
    assert p["k"] == 2 and p["q_df"] == 1
    assert 0 < p["ci_low"] < p["estimate"] < p["ci_high"] < 100
    # leaving one of two out leaves a single study: its own rate, not a pooled one
    loo = a.leave_one_out
    assert (loo["model"] == "single study").all()
    assert loo["estimate"].tolist() == pytest.approx([80, 60], rel=1e-12)
    assert_no_nan_shown(a)


def test_very_large_n_is_finite_and_close_to_the_rates():
    # n = 1e6 each: within-study variances ~5e-6, so the pooled rate is the mean of the logits (70, 71, 69
    # average to ~70 on the logit scale) and every interval stays within the range of the rates +/- a few points
    a = run([70, 71, 69], [1e6] * 3)
    p = a.primary
    assert p["estimate"] == pytest.approx(70.0, abs=0.05)
    assert 60 < p["pi_low"] < p["pi_high"] < 80
    assert_no_nan_shown(a)


@pytest.mark.parametrize("rates, ns", [([50, 50], [1, 1]), ([100, 0, 50], [1, 2, 2])])
def test_one_or_two_patients_per_study_is_finite_or_marked_not_estimable(rates, ns):
    a = run(rates, ns)
    p = a.primary
    assert np.isfinite(p[["estimate", "ci_low", "ci_high"]].astype(float)).all()
    for _, r in a.estimates.iterrows():  # any missing estimate is explained in the note
        if not np.isfinite(r["estimate"]) or not np.isfinite(r["ci_low"]):
            assert r["note"], r.to_dict()
    assert_no_nan_shown(a)


def test_invalid_inputs_are_clear_value_errors():
    with pytest.raises(ValueError, match=r"rate_percent must lie in \[0, 100\]"):
        sensitivity.run_analysis(literature([120, 50], [10, 10]), "LC", 5)
    with pytest.raises(ValueError, match="n_patients must be > 0"):
        sensitivity.run_analysis(literature([70, 50], [0, 10]), "LC", 5)
    with pytest.raises(ValueError, match="no study reports OS at 5 years"):
        sensitivity.run_analysis(literature([70, 50], [10, 10]), "OS", 5)


@settings(derandomize=True, max_examples=25, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.sampled_from([1, 2, 3, 15, 50, 200, 10_000, 1_000_000])),
        min_size=1,
        max_size=6,
    )
)
def test_any_small_literature_shows_no_nan(studies):
    rates, ns = zip(*studies)
    a = run(rates, ns)
    assert np.isfinite(a.primary[["estimate", "ci_low", "ci_high"]].astype(float)).all()
    assert_no_nan_shown(a)
