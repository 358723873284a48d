"""Comparisons: subgroup differences, meta-regression and pooled rate versus an external benchmark.

All models are on the logit scale of the landmark rates, with the sampling variances of
:func:`sarcoma_review.stats.pooling.logit_rates` (see the module docstring of
:mod:`sarcoma_review.stats.pooling` for the primary model).

* :func:`subgroup_q_test` -- between-subgroup Q test on **separately** pooled subgroups (each
  with its own ``tau^2`` and Wald standard error; a one-study subgroup enters with its own
  sampling variance), then a fixed-effect Q across subgroup estimates on ``G-1`` df.
* :func:`moderator_test` -- mixed-effects model with a **common** ``tau^2``
  (metafor ``rma(yi, vi, mods=~factor(g), test="knha")``): Knapp-Hartung F test on
  ``(G-1, k-G)`` df, or the Wald ``QM`` chi-square test (``ci="Wald"``).
* :func:`meta_regression` -- a continuous moderator (e.g. publication year), same tests.
* :func:`benchmark_comparison` -- pooled rate minus a benchmark rate (percentage points, the
  benchmark taken as fixed, so the interval is the pooled CI shifted; the book's comparisons use
  :mod:`sarcoma_review.stats.comparators`, which adds the comparator's own uncertainty) and the probability that a
  new particle-therapy study exceeds the benchmark under the predictive distribution
  ``mu + sqrt(SE^2 + tau^2) T``, ``T ~ t_{k-1}`` under HKSJ (normal under Wald), i.e. the
  distribution behind metafor's prediction interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from sarcoma_review.stats.pooling import (
    PRIMARY_CI,
    _crit,
    _norm_ci,
    _norm_method,
    _select,
    fit_rma,
    logit_rates,
)

__all__ = ["subgroup_q_test", "moderator_test", "meta_regression", "benchmark_comparison"]


def _design_factor(values: pd.Series) -> tuple[np.ndarray, list[str], list[str]]:
    levels = sorted(values.astype(str).unique())
    if len(levels) < 2:
        raise ValueError(f"moderator {values.name!r} has a single value ({levels}); nothing to compare")
    v = values.astype(str).to_numpy()
    X = np.column_stack([np.ones(v.size)] + [(v == lv).astype(float) for lv in levels[1:]])
    names = ["intercept"] + [f"{values.name}[{lv}]" for lv in levels[1:]]
    return X, names, levels


def _test_rows(fit, names, coef_idx, tau2_0):
    b = fit.b
    vb = fit.vb
    bi = b[coef_idx]
    m = len(coef_idx)
    qm = float(bi @ np.linalg.solve(vb[np.ix_(coef_idx, coef_idx)], bi))
    if fit.ci in ("HKSJ", "HKSJ-adhoc"):
        stat, df1, df2 = qm / m, m, fit.ddf
        p = float(stats.f.sf(stat, df1, df2))
        test = "Knapp-Hartung F"
    else:
        stat, df1, df2 = qm, m, np.nan
        p = float(stats.chi2.sf(stat, df1))
        test = "Wald chi-square (QM)"
    c = _crit(fit.ddf)
    coefs = pd.DataFrame(
        {
            "term": names,
            "estimate": b,
            "se": fit.se,
            "ci_low": b - c * fit.se,
            "ci_high": b + c * fit.se,
        }
    )
    r2 = max(0.0, 100.0 * (tau2_0 - fit.tau2) / tau2_0) if tau2_0 > 0 else 0.0
    summary = {
        "test": test,
        "statistic": stat,
        "df1": df1,
        "df2": df2,
        "p": p,
        "k": fit.k,
        "tau2_residual": fit.tau2,
        "qe": fit.qe,
        "qe_df": fit.qe_df,
        "qe_p": fit.qe_p,
        "i2_residual": fit.i2,
        "r2": r2,
        "tau2_method": fit.tau2_method,
        "ci_method": fit.ci,
    }
    return summary, coefs


def moderator_test(
    df: pd.DataFrame,
    column: str,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
) -> tuple[dict, pd.DataFrame]:
    """Mixed-effects subgroup (moderator) test with a common ``tau^2``.

    Parameters
    ----------
    df : DataFrame
        Study rows with ``rate_percent``, ``n_patients`` and ``column``.
    column : str
        Categorical study column (e.g. ``"particle_group"``); dummy-coded against its first
        level in sorted order (R's treatment contrasts on ``factor()``).
    tau2_method, ci_method : str
        ``tau^2`` estimator and ``"HKSJ-adhoc"`` (the default) or ``"HKSJ"`` (F test, t intervals) or
        ``"Wald"`` (QM chi-square).

    Returns
    -------
    summary : dict
        ``test``, ``statistic`` (F or QM), ``df1``, ``df2``, ``p``, residual ``tau2``, ``qe``
        (residual heterogeneity), ``r2`` (metafor's pseudo-R^2, percent) and more.
    coefs : DataFrame
        Coefficients (logit scale) with SE and 95% CI.
    """
    tau2_method, ci_method = _norm_method(tau2_method), _norm_ci(ci_method)
    d, _, _ = _select(df, endpoint, horizon_years)
    if column not in d.columns:
        raise ValueError(f"moderator column {column!r} not in df")
    X, names, _ = _design_factor(d[column].rename(column))
    if X.shape[0] <= X.shape[1]:
        raise ValueError(f"{X.shape[0]} studies cannot estimate {X.shape[1]} coefficients")
    y, v, _ = logit_rates(d["rate_percent"], d["n_patients"])
    fit = fit_rma(y, v, X, tau2_method, ci_method)
    tau2_0 = fit_rma(y, v, None, tau2_method, ci_method).tau2
    return _test_rows(fit, names, list(range(1, X.shape[1])), tau2_0)


def meta_regression(
    df: pd.DataFrame,
    moderator: str = "year",
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
) -> tuple[dict, pd.DataFrame]:
    """Meta-regression of the logit rate on a continuous study column (default ``year``).

    Same model and outputs as :func:`moderator_test` (metafor ``rma(yi, vi, mods=~year,
    test="knha")``); the slope is per unit of the moderator on the logit scale.
    """
    tau2_method, ci_method = _norm_method(tau2_method), _norm_ci(ci_method)
    d, _, _ = _select(df, endpoint, horizon_years)
    if moderator not in d.columns:
        raise ValueError(f"moderator column {moderator!r} not in df")
    x = pd.to_numeric(d[moderator], errors="coerce").to_numpy(float)
    if np.isnan(x).any():
        raise ValueError(f"moderator {moderator!r} must be numeric without missing values")
    if len(d) < 3:
        raise ValueError("meta-regression needs at least 3 studies")
    X = np.column_stack([np.ones(x.size), x])
    y, v, _ = logit_rates(d["rate_percent"], d["n_patients"])
    fit = fit_rma(y, v, X, tau2_method, ci_method)
    tau2_0 = fit_rma(y, v, None, tau2_method, ci_method).tau2
    return _test_rows(fit, ["intercept", moderator], [1], tau2_0)


def subgroup_q_test(
    df: pd.DataFrame,
    column: str,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
) -> tuple[dict, pd.DataFrame]:
    """Between-subgroup Q test on separately pooled subgroups.

    Each subgroup is pooled on its own (``tau^2`` by ``tau2_method``; Wald SE -- HKSJ scaling is a
    small-sample interval correction and is not used for the test); a one-study subgroup enters
    as its logit with its sampling variance. ``Q_between = sum_g w_g (mu_g - mu_FE)^2`` with
    ``w_g = 1 / SE_g^2``, on ``G-1`` df (metafor: ``rma(est, sei=se, method="FE")$QE``).

    Returns
    -------
    summary : dict with ``q``, ``df``, ``p``, ``groups``
    groups : DataFrame with ``subgroup_value``, ``k``, ``mu`` (logit), ``se``
    """
    tau2_method = _norm_method(tau2_method)
    d, _, _ = _select(df, endpoint, horizon_years)
    if column not in d.columns:
        raise ValueError(f"subgroup column {column!r} not in df")
    rows = []
    for val, g in d.groupby(column, sort=True):
        y, v, _ = logit_rates(g["rate_percent"], g["n_patients"])
        f = fit_rma(y, v, None, tau2_method, "Wald")
        rows.append({"subgroup_value": str(val), "k": int(y.size), "mu": float(f.b[0]), "se": float(f.se[0])})
    tab = pd.DataFrame(rows)
    if len(tab) < 2:
        raise ValueError(f"column {column!r} has a single subgroup; nothing to compare")
    w = 1.0 / tab["se"].to_numpy() ** 2
    mu = tab["mu"].to_numpy()
    mbar = np.sum(w * mu) / np.sum(w)
    q = float(np.sum(w * (mu - mbar) ** 2))
    dfq = len(tab) - 1
    return {
        "q": q,
        "df": dfq,
        "p": float(stats.chi2.sf(q, dfq)),
        "groups": list(tab["subgroup_value"]),
        "tau2_method": tau2_method,
    }, tab


def benchmark_comparison(
    df: pd.DataFrame,
    benchmark_percent: float,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
    benchmark_label: str = "",
) -> pd.DataFrame:
    """Pooled rate versus an external benchmark rate.

    Returns one row: ``estimate`` (pooled, percent), its ``ci_low``/``ci_high``, ``benchmark``,
    ``difference`` = pooled - benchmark (percentage points) with ``diff_low``/``diff_high``
    (the pooled CI minus the benchmark, which is treated as a fixed number), and
    ``prob_new_study_exceeds``: ``P(theta_new > logit(benchmark))`` with
    ``theta_new = mu + sqrt(SE^2 + tau^2) T``, ``T ~ t_{k-1}`` (HKSJ) or ``N(0, 1)`` (Wald).
    """
    tau2_method, ci_method = _norm_method(tau2_method), _norm_ci(ci_method)
    if not (0 < float(benchmark_percent) < 100):
        raise ValueError("benchmark_percent must be strictly between 0 and 100 (percent)")
    d, ep, horizon_years = _select(df, endpoint, horizon_years)
    if len(d) < 2:
        raise ValueError("a benchmark comparison needs a pooled estimate (k >= 2)")
    y, v, _ = logit_rates(d["rate_percent"], d["n_patients"])
    f = fit_rma(y, v, None, tau2_method, ci_method)
    mu, se = float(f.b[0]), float(f.se[0])
    c = _crit(f.ddf)
    est = 100 * special.expit(mu)
    lo, hi = 100 * special.expit(mu - c * se), 100 * special.expit(mu + c * se)
    z = (special.logit(benchmark_percent / 100) - mu) / np.sqrt(se**2 + f.tau2)
    prob = float(stats.t.sf(z, f.ddf)) if np.isfinite(f.ddf) else float(stats.norm.sf(z))
    return pd.DataFrame(
        [
            {
                "endpoint": ep,
                "horizon_years": horizon_years,
                "k": f.k,
                "tau2_method": tau2_method,
                "ci_method": ci_method,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "benchmark": float(benchmark_percent),
                "benchmark_label": benchmark_label,
                "difference": est - benchmark_percent,
                "diff_low": lo - benchmark_percent,
                "diff_high": hi - benchmark_percent,
                "prob_new_study_exceeds": prob,
            }
        ]
    )
