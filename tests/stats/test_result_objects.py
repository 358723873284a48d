"""Result objects are frozen and built by keyword; the confidence level is a parameter."""

from __future__ import annotations

import dataclasses

import pytest
from scipy import stats

from sarcoma_review.stats import pooling, sensitivity


def test_pool_result_is_frozen_and_keyword_only():
    res = pooling.pool_rates([60, 70, 80], [40, 50, 60])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.mu = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        pooling.PoolResult(1, 10.0)  # type: ignore[misc]


def test_level_changes_only_the_critical_value():
    # Same fit, other level: the interval is mu +/- t_{(1+level)/2, k-1} * se (HKSJ df = k - 1 = 2),
    # derived by hand from the 95% fit's mu, se and tau^2.
    r95 = pooling.pool_rates([60, 70, 80], [40, 50, 60])
    r90 = pooling.pool_rates([60, 70, 80], [40, 50, 60], level=0.90)
    assert (r90.mu, r90.se, r90.tau2) == (r95.mu, r95.se, r95.tau2)
    t90 = stats.t.ppf(0.95, 2)
    assert r90.ci_logit == pytest.approx((r95.mu - t90 * r95.se, r95.mu + t90 * r95.se), rel=1e-12)
    spi = (r95.se**2 + r95.tau2) ** 0.5
    assert r90.pi_logit == pytest.approx((r95.mu - t90 * spi, r95.mu + t90 * spi), rel=1e-12)
    assert r90.level == 0.90 and r95.level == 0.95
    with pytest.raises(ValueError, match="level"):
        pooling.pool_rates([60, 70], [40, 50], level=95)


def test_single_study_at_another_level_uses_the_normal_quantile():
    r = pooling.pool_rates([50], [20], level=0.80)
    z = stats.norm.ppf(0.90)
    assert r.ci_logit == pytest.approx((-z * 0.2**0.5, z * 0.2**0.5), abs=1e-12)


def test_pooled_analysis_is_frozen():
    import pandas as pd

    lit = pd.DataFrame(
        {
            "study_id": ["a", "b", "c"],
            "first_author": ["A", "B", "C"],
            "year": [2001, 2002, 2003],
            "n_patients": [40, 50, 60],
            "rate_percent": [60.0, 70.0, 80.0],
            "endpoint": "LC",
            "horizon_years": 5,
            "particle_group": "carbon",
        }
    )
    a = sensitivity.run_analysis(lit, "LC", 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.primary = None  # type: ignore[misc]
    assert len(a.variants) == len(a.estimates) and a.variants[0] == sensitivity.PRIMARY
