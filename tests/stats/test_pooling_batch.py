"""Vectorised leave-one-out / cumulative fits equal one fit per subset.

pooling._pool_subsets solves tau^2 for all subsets at once (Fisher scoring for REML, Newton for
PM, closed form for DL); pooling.pool_rates fits one subset with Brent's root finder. Both solve
the same estimating equations, so they must agree to the iteration tolerances (1e-13 relative on
tau^2; 1e-9 is a comfortable bound for everything derived from it). The metafor comparison of
leave_one_out and cumulative is in tests/stats/test_pooling.py.
"""

import numpy as np
import pytest

from sarcoma_review.stats import pooling as P

rng = np.random.default_rng(20261121)  # fixed seed: the same synthetic studies every run
R = np.clip(np.round(100 * 1 / (1 + np.exp(-rng.normal(0.9, 0.6, 40))), 1), 0, 100)
R[[3, 17]] = [100.0, 0.0]  # two studies that need the continuity correction
N = rng.integers(12, 200, 40).astype(float)


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
@pytest.mark.parametrize("ci", ["HKSJ", "HKSJ-adhoc", "Wald"])
def test_subsets_equal_separate_fits(method, ci):
    M = ~np.eye(R.size, dtype=bool)
    M[5, :] = False
    M[5, 9] = True  # one subset of a single study
    M[6, :] = False
    M[6, [1, 2]] = True  # and one of two
    batch = P._pool_subsets(R, N, M, method, ci, "x")
    for i, b in enumerate(batch):
        one = P.pool_rates(R[M[i]], N[M[i]], method, ci, model="x")
        assert b.k == one.k and b.model == one.model
        for name in ("mu", "se", "tau2", "i2", "h2", "q", "q_p"):
            x, y = getattr(b, name), getattr(one, name)
            assert (np.isnan(x) and np.isnan(y)) or x == pytest.approx(y, rel=1e-9, abs=1e-12), (i, name)
        assert np.allclose(b.ci_logit, one.ci_logit, rtol=1e-9, atol=1e-12)
        assert np.allclose(b.pi_logit, one.pi_logit, rtol=1e-9, atol=1e-12, equal_nan=True)
        assert b.note == one.note or (one.k == 1 and one.note.endswith(b.note))


def test_tau2_zero_when_studies_agree():
    r = np.full(6, 70.0)
    n = np.full(6, 50.0)
    fits = P._pool_subsets(r, n, np.tri(6, dtype=bool), "REML", "HKSJ", "x")
    assert [f.tau2 for f in fits[1:]] == [0.0] * 5
    assert all(f.mu == pytest.approx(np.log(0.7 / 0.3)) for f in fits)


def test_blocking_does_not_change_results(monkeypatch):
    """Subsets are fitted a block of rows at a time; one row per block must give the same fits
    (to floating-point summation order, ~1e-14; 1e-12 allows for it)."""
    M = ~np.eye(R.size, dtype=bool)
    whole = P._pool_subsets(R, N, M, "REML", "HKSJ", "x")
    monkeypatch.setattr(P, "_BLOCK_CELLS", 1)
    rowwise = P._pool_subsets(R, N, M, "REML", "HKSJ", "x")
    for a, b in zip(whole, rowwise):
        assert a.mu == pytest.approx(b.mu, abs=1e-12) and a.tau2 == pytest.approx(b.tau2, abs=1e-12)
