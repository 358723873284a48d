"""Random-effects pooling of landmark survival rates (the review's primary model).

Primary model
-------------
The inputs are **Kaplan-Meier rates at a fixed horizon** (percent) with the number of patients
``n`` of each series -- not event counts. Each rate ``p`` is analysed on the logit scale,
``y = log(p / (1 - p))``, with the binomial sampling variance ``v = 1 / (n p (1 - p))``
(metafor ``escalc(measure="PLO", xi=n*p, ni=n)``). Studies are combined by inverse-variance
random effects, ``y_i ~ N(mu, v_i + tau^2)``:

* ``tau^2`` by restricted maximum likelihood (``"REML"``, default), DerSimonian-Laird (``"DL"``)
  or Paule-Mandel (``"PM"``);
* the confidence interval of ``mu`` by Hartung-Knapp-Sidik-Jonkman with the Knapp-Hartung ad hoc
  correction (``"HKSJ-adhoc"``, :data:`PRIMARY_CI`, the default; metafor ``test="adhoc"``): the
  HKSJ scale factor is truncated at 1, so the interval is never narrower than Wald's with the
  same ``t_{k-1}`` quantile. Plain HKSJ (``"HKSJ"``, metafor ``test="knha"``, the factor not
  truncated) can be narrower than that when the series agree more closely than their sampling
  variances suggest -- with two or three series a falsely narrow interval -- and is a sensitivity
  row; Wald (``"Wald"``, normal quantile) is another;
* the prediction interval as metafor 3.8 ``predict.rma``: ``mu +/- q * sqrt(SE(mu)^2 + tau^2)``
  with ``q`` from ``t_{k-1}`` under HKSJ and from the normal distribution under Wald -- given only
  from :data:`MIN_K_PREDICTION` series on: with two series it rests on ``t`` with one degree of
  freedom and one between-series difference, and says nothing (NaN, the note says why);
* Cochran's ``Q`` (fixed-effect weights) with ``k-1`` df and its p value, ``I^2`` and ``H^2``
  as metafor (from ``tau^2`` and the "typical" within-study variance), and the Q-profile
  95% CI of ``tau^2`` (metafor ``confint(rma)``).

Estimates and intervals are back-transformed to percent; ``tau2`` stays on the logit scale.

Continuity correction: a rate of exactly 0% or 100% has no finite logit. Such a study gets
0.5 added to its events ``x = n p`` and to its non-events, i.e. ``p' = (x + 0.5) / (n + 1)``
and ``v = 1 / (x + 0.5) + 1 / (n - x + 0.5)`` (metafor ``add=1/2, to="only0"``).

A group of **one** study is never "pooled": it is returned as that study (its own rate with a
Wald logit interval), labelled ``model="single study"``.

Sensitivity analyses (same tidy shape; the ``model`` column says which): binomial-normal GLMM by
maximum likelihood with adaptive Gauss-Hermite quadrature (:func:`pool_glmm`), halved effective
sample size (:func:`pool` with ``n_scale=0.5``), leave-one-out (:func:`leave_one_out`),
cumulative by publication year (:func:`cumulative`) and a Bayesian normal-normal model by
numerical integration (:func:`pool_bayes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from sarcoma_review.data.vocabulary import study_label

__all__ = [
    "RESULT_COLUMNS",
    "STUDY_COLUMNS",
    "PoolResult",
    "logit_rates",
    "fit_rma",
    "pool_rates",
    "pool",
    "study_table",
    "leave_one_out",
    "cumulative",
    "pool_glmm",
    "pool_bayes",
    "tau2_estimate",
]

#: Column order of every pooled-result table.
RESULT_COLUMNS: list[str] = [
    "analysis_id",
    "endpoint",
    "horizon_years",
    "subgroup_column",
    "subgroup_value",
    "k",
    "n_patients",
    "model",
    "tau2_method",
    "ci_method",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_p",
    "note",
    "kind",
    "series",
]
#: ``kind`` of a row: a random-effects (or GLMM, Bayesian) estimate over two or more series, or one
#: series shown as itself (never called pooled); ``series`` names that one series.
POOLED, SINGLE_SERIES = "pooled", "single series"
#: Prediction-interval conventions: metafor's (``t_{k-1}`` with HKSJ, normal with Wald; primary) and
#: Higgins, Thompson & Spiegelhalter's ``t_{k-2}`` (a sensitivity row; needs k >= 3).
PI_CONVENTIONS = ("k-1", "k-2")

#: Column order of the per-study (forest plot) table.
STUDY_COLUMNS: list[str] = [
    "study_id",
    "label",
    "year",
    "n_patients",
    "rate_percent",
    "yi",
    "vi",
    "estimate",
    "ci_low",
    "ci_high",
    "weight_percent",
    "corrected",
]

TAU2_METHODS = ("REML", "DL", "PM")
#: HKSJ with the scale factor truncated at 1 (metafor ``test="adhoc"``): the primary interval.
ADHOC = "HKSJ-adhoc"
#: The interval every pool, stratum and comparison uses unless told otherwise (issue 19: no stratum
#: interval narrower than the ad hoc one).
PRIMARY_CI = ADHOC
#: The intervals of the estimator grid on each pooled page (plain HKSJ is its own sensitivity row).
CI_METHODS = (ADHOC, "Wald")
#: Fewest series for a prediction interval (with two, ``t_1`` and one between-series difference).
MIN_K_PREDICTION = 3
NO_PREDICTION_NOTE = f"no prediction interval with fewer than {MIN_K_PREDICTION} series"
_CI_ALIASES = {
    "hksj": "HKSJ",
    "knha": "HKSJ",
    "kh": "HKSJ",
    "wald": "Wald",
    "z": "Wald",
    "hksj-adhoc": ADHOC,
    "adhoc": ADHOC,
}
_LEVEL = 0.95


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _norm_method(tau2_method: str) -> str:
    if not isinstance(tau2_method, str) or tau2_method.upper() not in TAU2_METHODS:
        raise ValueError(f"unknown tau^2 method {tau2_method!r}; use one of {', '.join(TAU2_METHODS)}")
    return tau2_method.upper()


def _norm_ci(ci_method: str) -> str:
    if not isinstance(ci_method, str) or ci_method.lower() not in _CI_ALIASES:
        raise ValueError(
            f"unknown CI method {ci_method!r}; use 'HKSJ' (alias 'knha'), 'HKSJ-adhoc' (alias 'adhoc') or 'Wald'"
        )
    return _CI_ALIASES[ci_method.lower()]


def _check_inputs(rate_percent, n_patients) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate_percent, dtype=float).ravel()
    n = np.asarray(n_patients, dtype=float).ravel()
    if r.size == 0:
        raise ValueError("empty group: no studies to pool (check the endpoint/horizon/subgroup filter)")
    if r.shape != n.shape:
        raise ValueError(f"rate_percent has {r.size} values but n_patients has {n.size}; give one n per rate")
    if np.isnan(r).any() or np.isnan(n).any():
        raise ValueError("rate_percent / n_patients contain NaN; drop or fill the missing studies first")
    if (n <= 0).any():
        raise ValueError("n_patients must be > 0 for every study")
    if ((r < 0) | (r > 100)).any():
        raise ValueError("rate_percent must lie in [0, 100] (percent, not a proportion)")
    return r, n


def logit_rates(rate_percent, n_patients) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logit-transformed rates and their sampling variances.

    Parameters
    ----------
    rate_percent : array-like
        Kaplan-Meier rates in percent, in ``[0, 100]``.
    n_patients : array-like
        Number of patients of each series (> 0).

    Returns
    -------
    yi, vi, corrected : numpy arrays
        ``yi = logit(p)``, ``vi = 1/(n p (1-p))`` and a boolean flag for the studies that got the
        continuity correction (rate 0% or 100%: ``p = (n p + 0.5) / (n + 1)``,
        ``vi = 1/(x + 0.5) + 1/(n - x + 0.5)``).

    Examples
    --------
    50% of 20 patients: logit 0, variance 1/(20 x 0.5 x 0.5) = 0.2; 80% of 10: logit(0.8) = 1.3863,
    variance 1/(10 x 0.8 x 0.2) = 0.625.

    >>> y, v, corrected = logit_rates([50, 80], [20, 10])
    >>> [round(float(x), 4) for x in y], [round(float(x), 4) for x in v], corrected.tolist()
    ([0.0, 1.3863], [0.2, 0.625], [False, False])
    """
    r, n = _check_inputs(rate_percent, n_patients)
    x = n * r / 100.0
    corrected = (x <= 0) | (x >= n)
    xa = np.where(corrected, x + 0.5, x)
    ma = np.where(corrected, n - x + 0.5, n - x)
    yi = np.log(xa / ma)
    vi = 1.0 / xa + 1.0 / ma
    return yi, vi, corrected


def _expit_pct(x):
    return 100.0 * special.expit(x)


# --------------------------------------------------------------------------------------------
# the random-effects model (general design matrix; intercept-only is the common case)
# --------------------------------------------------------------------------------------------
def _wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float):
    w = 1.0 / (v + tau2)
    XtW = X.T * w
    A = XtW @ X
    Ainv = np.linalg.inv(A)
    b = Ainv @ (XtW @ y)
    r = y - X @ b
    return w, b, Ainv, r


def _trP(w: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> float:
    # tr(P) with P = W - W X (X'WX)^-1 X'W, without forming the k x k matrix
    XtW2X = (X.T * w**2) @ X
    return float(w.sum() - np.trace(Ainv @ XtW2X))


def _upper_bracket(f, start: float) -> float:
    hi = max(start, 1.0)
    for _ in range(200):
        if f(hi) < 0:
            return hi
        hi *= 2.0
    raise RuntimeError("could not bracket the tau^2 estimate")  # pragma: no cover


def tau2_estimate(y, v, X=None, tau2_method: str = "REML") -> float:
    """Estimate the between-study variance ``tau^2``.

    ``"REML"`` solves the restricted-likelihood score equation ``y'PPy = tr(P)`` by Brent's
    root-finding (truncated at 0), ``"DL"`` is the DerSimonian-Laird moment estimator (its
    metafor generalisation to a design matrix), ``"PM"`` solves the generalised
    ``Q(tau^2) = k - p`` (Paule-Mandel).

    Parameters
    ----------
    y, v : array-like
        Effect sizes (logits) and their sampling variances.
    X : array-like, optional
        Design matrix (default: intercept only).
    tau2_method : {"REML", "DL", "PM"}
        The estimator.

    Returns
    -------
    float
        ``tau^2`` (>= 0).

    Examples
    --------
    Two studies with equal variance 0.1 and logits 0 and 1: DL gives
    ``(Q - 1) / (sum w - sum w^2 / sum w)`` with ``w = 10``, ``Q = 10 x 0.25 x 2 = 5``: ``(5 - 1) / (20 - 10) = 0.4``.

    >>> round(tau2_estimate([0.0, 1.0], [0.1, 0.1], tau2_method="DL"), 4)
    0.4
    """
    tau2_method = _norm_method(tau2_method)
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    X = np.ones((y.size, 1)) if X is None else np.asarray(X, float)
    k, p = X.shape
    if k - p < 1:
        return 0.0
    if tau2_method == "DL":
        w, _, Ainv, r = _wls(y, v, X, 0.0)
        qe = float(np.sum(w * r**2))
        return max(0.0, (qe - (k - p)) / _trP(w, X, Ainv))
    if tau2_method == "PM":

        def g(t):
            w, _, _, r = _wls(y, v, X, t)
            return float(np.sum(w * r**2)) - (k - p)
    else:

        def g(t):
            w, _, Ainv, r = _wls(y, v, X, t)
            return float(np.sum(w**2 * r**2)) - _trP(w, X, Ainv)

    if g(0.0) <= 0:
        return 0.0
    hi = _upper_bracket(g, 10.0 * float(np.var(y)) + 1.0)
    return float(optimize.brentq(g, 0.0, hi, xtol=1e-14, rtol=1e-14, maxiter=500))


@dataclass(frozen=True, kw_only=True)
class RmaFit:
    """A fitted random-effects (meta-regression) model on the logit scale."""

    k: int
    p: int
    tau2: float
    b: np.ndarray
    vb: np.ndarray  # covariance of b (HKSJ-scaled when ci == "HKSJ")
    se: np.ndarray
    ci: str
    ddf: float  # inf for Wald
    qe: float
    qe_df: int
    qe_p: float
    i2: float
    h2: float
    s2_hksj: float
    tau2_method: str
    extra: dict = field(default_factory=dict)


def fit_rma(y, v, X=None, tau2_method: str = "REML", ci_method: str = PRIMARY_CI) -> RmaFit:
    """Fit ``y_i ~ N(x_i'b, v_i + tau^2)`` (metafor ``rma(yi, vi, mods=X, method, test)``).

    ``I^2 = tau^2 / (tau^2 + s^2)`` with the typical within-study variance
    ``s^2 = (k - p) / tr(P_FE)``, ``H^2 = (tau^2 + s^2) / s^2`` (metafor's definitions).
    Under HKSJ the covariance of ``b`` is scaled by ``s2 = sum w r^2 / (k - p)`` (not truncated)
    and tests use ``t_{k-p}``.
    """
    tau2_method = _norm_method(tau2_method)
    ci_method = _norm_ci(ci_method)
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    X = np.ones((y.size, 1)) if X is None else np.asarray(X, float)
    k, p = X.shape
    tau2 = tau2_estimate(y, v, X, tau2_method)
    w0, _, Ainv0, r0 = _wls(y, v, X, 0.0)
    qe = float(np.sum(w0 * r0**2))
    qe_df = k - p
    qe_p = float(stats.chi2.sf(qe, qe_df)) if qe_df > 0 else float("nan")
    if qe_df > 0:
        s2 = qe_df / _trP(w0, X, Ainv0)
        i2 = 100.0 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
    else:
        i2 = h2 = float("nan")
    w, b, Ainv, r = _wls(y, v, X, tau2)
    if ci_method in ("HKSJ", ADHOC):
        s2_hk = float(np.sum(w * r**2) / (k - p)) if k > p else float("nan")
        if ci_method == ADHOC:
            s2_hk = max(1.0, s2_hk)
        vb = s2_hk * Ainv
        ddf = float(k - p)
    else:
        s2_hk = float("nan")
        vb = Ainv
        ddf = float("inf")
    return RmaFit(
        k=k,
        p=p,
        tau2=tau2,
        b=b,
        vb=vb,
        se=np.sqrt(np.diag(vb)),
        ci=ci_method,
        ddf=ddf,
        qe=qe,
        qe_df=qe_df,
        qe_p=qe_p,
        i2=i2,
        h2=h2,
        s2_hksj=s2_hk,
        tau2_method=tau2_method,
    )


def _crit(ddf: float, level: float = _LEVEL) -> float:
    """Two-sided critical value at ``level``: normal when ``ddf`` is infinite, else t(ddf)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    a = 1 - (1 - level) / 2
    return float(stats.norm.ppf(a)) if not np.isfinite(ddf) else float(stats.t.ppf(a, ddf))


def _qgen(y, v, tau2):
    w = 1.0 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))


def tau2_qprofile_ci(y, v) -> tuple[float, float]:
    """Q-profile 95% CI of ``tau^2`` (metafor ``confint.rma.uni``, intercept-only model).

    The bounds solve ``Q(tau^2) = chi^2_{k-1; 0.975}`` (lower) and ``chi^2_{k-1; 0.025}``
    (upper); a bound is 0 when ``Q(0)`` is already below the quantile.
    """
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    k = y.size
    if k < 2:
        return float("nan"), float("nan")
    out = []
    for a in ((1 + _LEVEL) / 2, (1 - _LEVEL) / 2):
        crit = float(stats.chi2.ppf(a, k - 1))
        g = lambda t, c=crit: _qgen(y, v, t) - c  # noqa: E731
        if g(0.0) <= 0:
            out.append(0.0)
        else:
            hi = _upper_bracket(g, 10.0 * float(np.var(y)) + 1.0)
            out.append(float(optimize.brentq(g, 0.0, hi, xtol=1e-14, rtol=1e-14, maxiter=500)))
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
# pooled results on arrays
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PoolResult:
    """One pooled result, built by keyword and never modified: logit-scale quantities plus the
    tidy percent row (:meth:`row`). Intervals are at ``level`` (0.95 unless asked otherwise)."""

    k: int
    n_patients: float
    model: str
    tau2_method: str
    ci_method: str
    mu: float
    se: float
    ci_logit: tuple[float, float]
    pi_logit: tuple[float, float]
    tau2: float
    tau2_ci: tuple[float, float]
    i2: float
    h2: float
    q: float
    q_df: float
    q_p: float
    ddf: float
    note: str = ""
    level: float = _LEVEL

    def row(self, **labels) -> dict:
        """The result as a dict with :data:`RESULT_COLUMNS` (rates in percent)."""
        d = dict.fromkeys(RESULT_COLUMNS, np.nan)
        d.update(
            analysis_id="",
            endpoint="",
            horizon_years=np.nan,
            subgroup_column="",
            subgroup_value="all",
            k=self.k,
            n_patients=self.n_patients,
            model=self.model,
            tau2_method=self.tau2_method,
            ci_method=self.ci_method,
            estimate=_expit_pct(self.mu),
            ci_low=_expit_pct(self.ci_logit[0]),
            ci_high=_expit_pct(self.ci_logit[1]),
            pi_low=_expit_pct(self.pi_logit[0]),
            pi_high=_expit_pct(self.pi_logit[1]),
            tau2=self.tau2,
            tau2_ci_low=self.tau2_ci[0],
            tau2_ci_high=self.tau2_ci[1],
            i2=self.i2,
            h2=self.h2,
            q=self.q,
            q_df=self.q_df,
            q_p=self.q_p,
            note=self.note,
            kind=SINGLE_SERIES if self.k == 1 else POOLED,
            series="",
        )
        d.update(labels)
        return d


def _single_study(y: float, v: float, n: float, note: str = "", level: float = _LEVEL) -> PoolResult:
    z = _crit(float("inf"), level)
    se = float(np.sqrt(v))
    nan2 = (np.nan, np.nan)
    note = "; ".join(s for s in ("one study: its own rate with a Wald logit CI, not pooled", note) if s)
    return PoolResult(
        k=1,
        n_patients=n,
        model="single study",
        tau2_method="",
        ci_method="Wald",
        mu=float(y),
        se=se,
        ci_logit=(y - z * se, y + z * se),
        pi_logit=nan2,
        tau2=np.nan,
        tau2_ci=nan2,
        i2=np.nan,
        h2=np.nan,
        q=np.nan,
        q_df=np.nan,
        q_p=np.nan,
        ddf=float("inf"),
        note=note,
        level=level,
    )


def pool_rates(
    rate_percent,
    n_patients,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
    n_scale: float = 1.0,
    model: str = "random effects",
    level: float = _LEVEL,
    pi_convention: str = "k-1",
) -> PoolResult:
    """Pool landmark rates (percent) of ``k`` studies by the primary model (module docstring).

    Parameters
    ----------
    rate_percent, n_patients : array-like
        One rate (percent) and one patient number per study.
    tau2_method : {"REML", "DL", "PM"}
        ``tau^2`` estimator.
    ci_method : {"HKSJ", "HKSJ-adhoc", "Wald"}
        Interval for the pooled logit (``"knha"`` is accepted for ``"HKSJ"``, ``"adhoc"`` for
        ``"HKSJ-adhoc"``).
    n_scale : float
        Multiplies every ``n`` (``0.5`` = the halved-effective-sample-size sensitivity analysis).
    model : str
        Label written into the ``model`` column.
    level : float
        Confidence level of the interval and the prediction interval (default 0.95).
    pi_convention : {"k-1", "k-2"}
        ``"k-1"`` (primary): the prediction interval as metafor, ``t_{k-1}`` under HKSJ and the
        normal quantile under Wald. ``"k-2"``: Higgins' ``t_{k-2}`` quantile (same ``SE`` and
        ``tau^2``); with ``k < 3`` it is undefined and the interval is NaN (the note says so).

    Returns
    -------
    PoolResult
        Logit-scale fit; :meth:`PoolResult.row` gives the tidy row in percent.

    Examples
    --------
    Three series (the same numbers as ``rma(measure="PLO")`` in metafor, REML + Knapp-Hartung):

    >>> res = pool_rates([60, 70, 80], [40, 50, 60])
    >>> row = res.row()
    >>> res.k, *(round(float(row[c]), 1) for c in ("estimate", "ci_low", "ci_high"))
    (3, 70.7, 41.7, 89.0)
    """
    tau2_method = _norm_method(tau2_method)
    ci_method = _norm_ci(ci_method)
    if pi_convention not in PI_CONVENTIONS:
        raise ValueError(f"unknown prediction-interval convention {pi_convention!r}; use one of {PI_CONVENTIONS}")
    if not n_scale > 0:
        raise ValueError("n_scale must be > 0")
    r, n = _check_inputs(rate_percent, n_patients)
    y, v, corr = logit_rates(r, n * n_scale)
    note = f"continuity correction (+0.5) applied to {int(corr.sum())} study(ies) at 0%/100%" if corr.any() else ""
    if y.size == 1:
        return _single_study(float(y[0]), float(v[0]), float(n.sum()), note, level)
    f = fit_rma(y, v, None, tau2_method, ci_method)
    mu = float(f.b[0])
    se = float(f.se[0])
    c = _crit(f.ddf, level)
    spi = float(np.sqrt(se**2 + f.tau2))
    cp = c if y.size >= MIN_K_PREDICTION else np.nan
    if pi_convention == "k-2":
        cp = float(stats.t.ppf(1 - (1 - level) / 2, y.size - 2)) if y.size >= 3 else np.nan
    if y.size < MIN_K_PREDICTION:
        note = "; ".join(s for s in (note, NO_PREDICTION_NOTE) if s)
    return PoolResult(
        k=int(y.size),
        n_patients=float(n.sum()),
        model=model,
        tau2_method=tau2_method,
        ci_method=ci_method,
        mu=mu,
        se=se,
        ci_logit=(mu - c * se, mu + c * se),
        pi_logit=(mu - cp * spi, mu + cp * spi),
        tau2=f.tau2,
        tau2_ci=tau2_qprofile_ci(y, v),
        i2=f.i2,
        h2=f.h2,
        q=f.qe,
        q_df=f.qe_df,
        q_p=f.qe_p,
        ddf=f.ddf,
        note=note,
        level=level,
    )


#: Matrix cells per block in the vectorised subset fits (memory bound, ~8 bytes each, a few arrays).
_BLOCK_CELLS = 2_000_000


def _tau2_subsets(y: np.ndarray, v: np.ndarray, M: np.ndarray, tau2_method: str) -> np.ndarray:
    """``tau^2`` of every subset at once: row ``i`` of the 0/1 matrix ``M`` selects the studies.

    Intercept-only model. DL in closed form; REML by Fisher scoring
    ``tau2 <- tau2 + (y'PPy - tr P) / tr(PP)`` from the DL value (metafor's algorithm); PM by
    Newton's method on ``Q(tau2) = k - 1`` (``dQ/dtau2 = -sum w^2 r^2``) from 0, which
    increases monotonically to the root. Both iterate to a relative change of 1e-13 and are
    truncated at 0, so they solve the estimating equations of :func:`tau2_estimate` (checked
    against it in the tests).
    """
    k = M.sum(axis=1)

    def parts(t):
        W = M / (v[None, :] + t[:, None])
        s1 = W.sum(axis=1)
        mu = (W @ y) / s1
        R = (y[None, :] - mu[:, None]) * M
        return W, s1, R

    W0, s0, R0 = parts(np.zeros(M.shape[0]))
    q0 = np.sum(W0 * R0**2, axis=1)
    trp0 = s0 - np.sum(W0**2, axis=1) / s0
    tau2 = np.maximum(0.0, (q0 - (k - 1)) / trp0)  # DerSimonian-Laird
    if tau2_method == "DL":
        return tau2
    if tau2_method == "PM":
        tau2 = np.zeros_like(tau2)
    for _ in range(1000):
        W, s1, R = parts(tau2)
        if tau2_method == "REML":
            s2w = np.sum(W**2, axis=1)
            g = np.sum(W**2 * R**2, axis=1) - (s1 - s2w / s1)
            trpp = s2w - 2 * np.sum(W**3, axis=1) / s1 + (s2w / s1) ** 2
            new = np.maximum(0.0, tau2 + g / trpp)
        else:  # PM
            g = np.sum(W * R**2, axis=1) - (k - 1)
            d = np.sum(W**2 * R**2, axis=1)
            new = np.maximum(0.0, tau2 + np.where(d > 0, g / np.where(d > 0, d, 1.0), 0.0))
        done = np.abs(new - tau2) <= 1e-13 * (1.0 + tau2)
        tau2 = new
        if done.all():
            break
    return tau2


def _pool_subsets(
    r: np.ndarray, n: np.ndarray, M: np.ndarray, tau2_method: str, ci_method: str, model: str
) -> list[PoolResult]:
    """:func:`pool_rates` for every row of the boolean matrix ``M`` in one vectorised pass.

    Used by :func:`leave_one_out` and :func:`cumulative`, whose ``k`` subsets would otherwise
    cost ``k`` separate fits (quadratic in ``k`` with a large constant). The tau^2 Q-profile
    interval is not computed for these rows (metafor's ``leave1out`` and ``cumul`` do not
    report it either).
    """
    y, v, corr = logit_rates(r, n)
    Mf = M.astype(float)
    k = Mf.sum(axis=1).astype(int)
    out: list[PoolResult | None] = [None] * M.shape[0]
    nan2 = (np.nan, np.nan)
    for i in np.flatnonzero(k == 1):
        j = int(np.flatnonzero(M[i])[0])
        note = "continuity correction (+0.5) applied to 1 study(ies) at 0%/100%" if corr[j] else ""
        out[i] = _single_study(float(y[j]), float(v[j]), float(n[j]), note)
    # Subsets of two or more studies, a block of rows at a time (each block holds about
    # _BLOCK_CELLS matrix cells, so 10,000 leave-one-out subsets need ~100 MB, not ~4 GB).
    rows_all = np.flatnonzero(k >= 2)
    step = max(1, _BLOCK_CELLS // max(1, M.shape[1]))
    for start in range(0, rows_all.size, step):
        multi = rows_all[start : start + step]
        Mm = Mf[multi]
        km = k[multi]
        tau2 = _tau2_subsets(y, v, Mm, tau2_method)
        W = Mm / (v[None, :] + tau2[:, None])
        s1 = W.sum(axis=1)
        mu = (W @ y) / s1
        R = (y[None, :] - mu[:, None]) * Mm
        if ci_method in ("HKSJ", ADHOC):
            scale = np.sum(W * R**2, axis=1) / (km - 1)
            if ci_method == ADHOC:
                scale = np.maximum(1.0, scale)
            se = np.sqrt(scale / s1)
            ddf = (km - 1).astype(float)
            crit = stats.t.ppf(1 - (1 - _LEVEL) / 2, ddf)
        else:
            se = np.sqrt(1.0 / s1)
            ddf = np.full(km.shape, np.inf)
            crit = np.full(km.shape, stats.norm.ppf(1 - (1 - _LEVEL) / 2))
        W0 = Mm / v[None, :]
        s0 = W0.sum(axis=1)
        R0 = (y[None, :] - ((W0 @ y) / s0)[:, None]) * Mm
        q = np.sum(W0 * R0**2, axis=1)
        qdf = km - 1
        qp = stats.chi2.sf(q, qdf)
        s2 = qdf / (s0 - np.sum(W0**2, axis=1) / s0)
        i2 = 100.0 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
        ncorr = (Mm * corr[None, :]).sum(axis=1).astype(int)
        npat = Mm @ n
        spi = np.sqrt(se**2 + tau2)
        crit_pi = np.where(km >= MIN_K_PREDICTION, crit, np.nan)
        for a, i in enumerate(multi):
            note = f"continuity correction (+0.5) applied to {ncorr[a]} study(ies) at 0%/100%" if ncorr[a] else ""
            if km[a] < MIN_K_PREDICTION:
                note = "; ".join(s for s in (note, NO_PREDICTION_NOTE) if s)
            out[i] = PoolResult(
                k=int(km[a]),
                n_patients=float(npat[a]),
                model=model,
                tau2_method=tau2_method,
                ci_method=ci_method,
                mu=float(mu[a]),
                se=float(se[a]),
                ci_logit=(float(mu[a] - crit[a] * se[a]), float(mu[a] + crit[a] * se[a])),
                pi_logit=(float(mu[a] - crit_pi[a] * spi[a]), float(mu[a] + crit_pi[a] * spi[a])),
                tau2=float(tau2[a]),
                tau2_ci=nan2,
                i2=float(i2[a]),
                h2=float(h2[a]),
                q=float(q[a]),
                q_df=float(qdf[a]),
                q_p=float(qp[a]),
                ddf=float(ddf[a]),
                note=note,
            )
    return out  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# DataFrame front ends
# --------------------------------------------------------------------------------------------
def _select(df: pd.DataFrame, endpoint, horizon_years) -> tuple[pd.DataFrame, str, float]:
    if not isinstance(df, pd.DataFrame):
        raise ValueError("df must be a pandas DataFrame with columns rate_percent and n_patients")
    missing = {"rate_percent", "n_patients"} - set(df.columns)
    if missing:
        raise ValueError(f"df lacks column(s) {sorted(missing)}; it needs rate_percent and n_patients")
    d = df
    if endpoint is not None:
        if "endpoint" not in d.columns:
            raise ValueError("endpoint= given but df has no 'endpoint' column")
        d = d[d["endpoint"] == endpoint]
    if horizon_years is not None:
        if "horizon_years" not in d.columns:
            raise ValueError("horizon_years= given but df has no 'horizon_years' column")
        d = d[d["horizon_years"] == horizon_years]
    if d.empty:
        raise ValueError(f"empty group: no rows for endpoint={endpoint!r}, horizon={horizon_years!r}")
    ep = ""
    horizon_years = np.nan
    for col in ("endpoint", "horizon_years"):
        if col in d.columns and d[col].nunique() > 1:
            raise ValueError(
                f"df mixes several values of {col} ({sorted(d[col].unique())}); "
                f"pass endpoint= and horizon_years= so that one landmark is pooled at a time"
            )
    if "endpoint" in d.columns:
        ep = str(d["endpoint"].iloc[0])
    if "horizon_years" in d.columns:
        horizon_years = float(d["horizon_years"].iloc[0])
    return d, ep, horizon_years


def series_label(rows: pd.DataFrame) -> str:
    """The name of the one series in ``rows`` ("Imai 2016"), or "" when ``rows`` hold more than one.

    Uses ``first_author`` and ``year`` when present, else ``study_id``.
    """
    if len(rows) != 1:
        return ""
    r = rows.iloc[0]
    if "first_author" in rows.columns and "year" in rows.columns and pd.notna(r["year"]):
        return study_label(r["first_author"], r["year"])
    return str(r["study_id"]) if "study_id" in rows.columns else "one series"


def _aid(analysis_id, ep, horizon_years, suffix=""):
    if analysis_id:
        return analysis_id
    h = "" if np.isnan(horizon_years) else f"{horizon_years:g}y"
    return "_".join(s for s in (ep, h, suffix) if s) or "pooled"


def pool(
    df: pd.DataFrame,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
    analysis_id: str | None = None,
    subgroup: str | None = None,
    n_scale: float = 1.0,
    pi_convention: str = "k-1",
    model: str | None = None,
) -> pd.DataFrame:
    """Pool one landmark (endpoint x horizon) of a study table, overall or by subgroup.

    Parameters
    ----------
    df : DataFrame
        One row per study with ``rate_percent`` and ``n_patients`` (and optionally ``endpoint``,
        ``horizon_years`` and label/moderator columns), e.g. ``loaders.load_literature()``.
    endpoint, horizon : optional
        Filters on ``endpoint`` and ``horizon_years``. After filtering one landmark must remain.
    tau2_method, ci_method : str
        ``tau^2`` estimator (``"REML"``, ``"DL"``, ``"PM"``) and CI (``"HKSJ"``, ``"Wald"``).
    analysis_id : str, optional
        Label of the analysis (default ``"<endpoint>_<horizon>y"``).
    subgroup : str, optional
        Pool each value of this column separately (a value with one study gives a
        ``"single study"`` row).
    n_scale : float
        ``0.5`` runs the halved-effective-sample-size sensitivity analysis (``model`` says so).
    pi_convention : {"k-1", "k-2"}
        The prediction interval's quantile (:func:`pool_rates`).
    model : str, optional
        Label of the ``model`` column (default from ``n_scale`` and ``pi_convention``).

    Returns
    -------
    DataFrame with :data:`RESULT_COLUMNS`, one row per pooled result, rates in percent. A group of
    one series has ``kind = "single series"`` and ``series`` naming it (:func:`series_label`).
    """
    d, ep, horizon_years = _select(df, endpoint, horizon_years)
    if model is None:
        model = "random effects" if n_scale == 1.0 else f"random effects, n x {n_scale:g}"
        if pi_convention == "k-2":
            model += ", PI t(k-2)"
    aid = _aid(analysis_id, ep, horizon_years)
    rows = []
    if subgroup is None:
        res = pool_rates(
            d["rate_percent"], d["n_patients"], tau2_method, ci_method, n_scale, model, pi_convention=pi_convention
        )
        rows.append(res.row(analysis_id=aid, endpoint=ep, horizon_years=horizon_years, series=series_label(d)))
    else:
        if subgroup not in d.columns:
            raise ValueError(f"subgroup column {subgroup!r} not in df; columns are {list(d.columns)}")
        if d[subgroup].isna().any():
            raise ValueError(f"subgroup column {subgroup!r} has missing values; fill them first")
        for val, g in d.groupby(subgroup, sort=True):
            res = pool_rates(
                g["rate_percent"], g["n_patients"], tau2_method, ci_method, n_scale, model, pi_convention=pi_convention
            )
            rows.append(
                res.row(
                    analysis_id=aid,
                    endpoint=ep,
                    horizon_years=horizon_years,
                    subgroup_column=subgroup,
                    subgroup_value=str(val),
                    series=series_label(g),
                )
            )
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def study_table(
    df: pd.DataFrame,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    label_column: str = "first_author",
) -> pd.DataFrame:
    """Per-study rows for a forest plot: the study's own rate with a 95% Wald logit CI and its
    random-effects weight (percent of ``sum 1/(v_i + tau^2)``, ``tau^2`` by ``tau2_method``)."""
    d, _, _ = _select(df, endpoint, horizon_years)
    y, v, corr = logit_rates(d["rate_percent"], d["n_patients"])
    tau2 = tau2_estimate(y, v, None, tau2_method) if y.size > 1 else 0.0
    w = 1.0 / (v + tau2)
    z = _crit(float("inf"))
    se = np.sqrt(v)
    out = pd.DataFrame(
        {
            "study_id": d["study_id"].to_numpy() if "study_id" in d else np.arange(len(d)).astype(str),
            "label": d[label_column].astype(str).to_numpy() if label_column in d else "",
            "year": d["year"].to_numpy() if "year" in d else np.nan,
            "n_patients": d["n_patients"].to_numpy(float),
            "rate_percent": d["rate_percent"].to_numpy(float),
            "yi": y,
            "vi": v,
            "estimate": _expit_pct(y),
            "ci_low": _expit_pct(y - z * se),
            "ci_high": _expit_pct(y + z * se),
            "weight_percent": 100.0 * w / w.sum(),
            "corrected": corr,
        }
    )
    return out[STUDY_COLUMNS]


def leave_one_out(
    df: pd.DataFrame,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
    analysis_id: str | None = None,
    id_column: str = "study_id",
) -> pd.DataFrame:
    """Leave-one-out pooled results (metafor ``leave1out``): one row per omitted study, with
    ``subgroup_column="omitted"`` and ``subgroup_value`` the omitted study's id."""
    d, ep, horizon_years = _select(df, endpoint, horizon_years)
    if len(d) < 2:
        raise ValueError("leave-one-out needs at least 2 studies")
    ids = d[id_column].astype(str).to_numpy() if id_column in d else np.arange(len(d)).astype(str)
    r = d["rate_percent"].to_numpy(float)
    n = d["n_patients"].to_numpy(float)
    aid = _aid(analysis_id, ep, horizon_years, "loo")
    _check_inputs(r, n)
    fits = _pool_subsets(
        r,
        n,
        ~np.eye(len(d), dtype=bool),
        _norm_method(tau2_method),
        _norm_ci(ci_method),
        "random effects, leave one out",
    )
    rows = [
        res.row(
            analysis_id=aid, endpoint=ep, horizon_years=horizon_years, subgroup_column="omitted", subgroup_value=ids[i]
        )
        for i, res in enumerate(fits)
    ]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def cumulative(
    df: pd.DataFrame,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    tau2_method: str = "REML",
    ci_method: str = PRIMARY_CI,
    analysis_id: str | None = None,
    order_by: str = "year",
    id_column: str = "study_id",
) -> pd.DataFrame:
    """Cumulative meta-analysis in order of ``order_by`` (stable sort; metafor ``cumul``).

    Row ``j`` pools the first ``j`` studies; ``subgroup_column="added"`` and ``subgroup_value``
    names the study added at that step. The first row is a ``"single study"`` row.
    """
    d, ep, horizon_years = _select(df, endpoint, horizon_years)
    if order_by not in d.columns:
        raise ValueError(f"order_by column {order_by!r} not in df")
    d = d.sort_values(order_by, kind="stable")
    ids = d[id_column].astype(str).to_numpy() if id_column in d else np.arange(len(d)).astype(str)
    r = d["rate_percent"].to_numpy(float)
    n = d["n_patients"].to_numpy(float)
    aid = _aid(analysis_id, ep, horizon_years, "cumulative")
    _check_inputs(r, n)
    prefixes = np.tri(len(d), dtype=bool)  # row j selects the first j + 1 studies
    fits = _pool_subsets(r, n, prefixes, _norm_method(tau2_method), _norm_ci(ci_method), "random effects, cumulative")
    rows = [
        res.row(
            analysis_id=aid, endpoint=ep, horizon_years=horizon_years, subgroup_column="added", subgroup_value=ids[j]
        )
        for j, res in enumerate(fits)
    ]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


# --------------------------------------------------------------------------------------------
# sensitivity: binomial-normal GLMM (ML, adaptive Gauss-Hermite quadrature)
# --------------------------------------------------------------------------------------------
def _glmm_negloglik(params, x, n, gh_x, gh_w, logc):
    """-log L of x_i ~ Bin(n_i, expit(mu + u_i)), u_i ~ N(0, tau^2), by adaptive GH per study."""
    mu, log_tau = params
    tau = np.exp(log_tau)
    # conditional modes of u_i by Newton steps (vectorised)
    u = np.zeros_like(x)
    for _ in range(50):
        pr = special.expit(mu + u)
        g = x - n * pr - u / tau**2
        h = n * pr * (1 - pr) + 1 / tau**2
        step = g / h
        u = u + step
        if np.max(np.abs(step)) < 1e-12:
            break
    pr = special.expit(mu + u)
    s = 1.0 / np.sqrt(n * pr * (1 - pr) + 1 / tau**2)
    # nodes u_ij = u_i + sqrt(2) s_i t_j
    uu = u[:, None] + np.sqrt(2.0) * s[:, None] * gh_x[None, :]
    eta = mu + uu
    ll = (
        x[:, None] * eta
        - n[:, None] * np.logaddexp(0, eta)
        - 0.5 * uu**2 / tau**2
        - 0.5 * np.log(2 * np.pi * tau**2)
        + gh_x[None, :] ** 2
    )
    li = special.logsumexp(ll, b=gh_w[None, :], axis=1) + np.log(np.sqrt(2.0) * s)
    return -float(np.sum(li + logc))


def _num_hessian(f, x0: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    k = x0.size
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            H[i, j] = H[j, i] = (
                f(x0 + E[i] + E[j]) - f(x0 + E[i] - E[j]) - f(x0 - E[i] + E[j]) + f(x0 - E[i] - E[j])
            ) / (4 * h * h)
    return H


def pool_glmm(
    df: pd.DataFrame,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    analysis_id: str | None = None,
    n_agq: int = 7,
) -> pd.DataFrame:
    """Binomial-normal GLMM by maximum likelihood (sensitivity analysis).

    Events are ``x_i = round(n_i p_i)``; ``x_i ~ Bin(n_i, expit(mu + u_i))``,
    ``u_i ~ N(0, tau^2)``; the likelihood is integrated by adaptive Gauss-Hermite quadrature
    with ``n_agq`` nodes per study (metafor ``rma.glmm(measure="PLO")`` calls lme4 ``glmer``
    with ``nAGQ=7``). The CI is Wald (from the observed information of ``mu``; metafor's
    default ``test="z"``); ``I^2``/``H^2`` use metafor's typical within-study variance of the
    escalc'd logits; ``Q`` columns are left empty (the GLMM has no Cochran Q).
    """
    d, ep, horizon_years = _select(df, endpoint, horizon_years)
    r, n = _check_inputs(d["rate_percent"], d["n_patients"])
    x = np.round(n * r / 100.0)
    aid = _aid(analysis_id, ep, horizon_years)
    if x.size == 1:
        y, v, _ = logit_rates(100 * x / n, n)
        res = _single_study(float(y[0]), float(v[0]), float(n.sum()))
        return pd.DataFrame(
            [res.row(analysis_id=aid, endpoint=ep, horizon_years=horizon_years)], columns=RESULT_COLUMNS
        )
    if x.sum() == 0 or x.sum() == n.sum():
        # every study 0% (or every study 100%): the likelihood keeps rising as mu -> -inf (+inf), so the
        # GLMM has no finite ML estimate; say so instead of reporting an optimiser's stopping point
        edge = "0%" if x.sum() == 0 else "100%"
        nan2 = (np.nan, np.nan)
        res = PoolResult(
            k=int(x.size),
            n_patients=float(n.sum()),
            model="binomial-normal GLMM (ML)",
            tau2_method="ML",
            ci_method="Wald",
            mu=np.nan,
            se=np.nan,
            ci_logit=nan2,
            pi_logit=nan2,
            tau2=np.nan,
            tau2_ci=nan2,
            i2=np.nan,
            h2=np.nan,
            q=np.nan,
            q_df=np.nan,
            q_p=np.nan,
            ddf=float("inf"),
            note=f"not estimable: every study at {edge} (no finite maximum-likelihood estimate)",
        )
        return pd.DataFrame(
            [res.row(analysis_id=aid, endpoint=ep, horizon_years=horizon_years)], columns=RESULT_COLUMNS
        )
    gh_x, gh_w = np.polynomial.hermite.hermgauss(n_agq)
    logc = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    y, v, _ = logit_rates(100 * x / n, n)
    start = np.array([float(np.average(y, weights=1 / v)), np.log(np.sqrt(max(np.var(y), 0.01)))])
    fun = lambda p: _glmm_negloglik(p, x, n, gh_x, gh_w, logc)  # noqa: E731
    opt = optimize.minimize(
        fun, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
    )
    opt = optimize.minimize(fun, opt.x, method="BFGS", options={"gtol": 1e-9})
    mu, log_tau = opt.x
    tau2 = float(np.exp(2 * log_tau))
    note = ""
    if tau2 < 1e-8:  # boundary: refit mu with tau -> 0 (plain binomial ML)
        mu = float(special.logit(x.sum() / n.sum()))
        tau2 = 0.0
        note = "tau^2 at the boundary 0"
    # SE of mu from the inverse of the observed information of (mu, log tau) (lme4's vcov of a
    # glmer fit with nAGQ > 1 also inverts the full Hessian, so the uncertainty of tau counts)
    if tau2 > 0:
        hess = _num_hessian(fun, np.array([mu, log_tau]))
        try:
            var_mu = float(np.linalg.inv(hess)[0, 0])
        except np.linalg.LinAlgError:
            var_mu = np.nan
        se = float(np.sqrt(var_mu)) if np.isfinite(var_mu) and var_mu > 0 else np.nan
        if np.isnan(se):  # flat or non-convex likelihood (e.g. a few studies of 1-2 patients)
            note = "; ".join(s for s in (note, "observed information not positive definite: no Wald interval") if s)
    else:
        pbar = x.sum() / n.sum()
        se = float(1 / np.sqrt(n.sum() * pbar * (1 - pbar)))
    z = _crit(float("inf"))
    spi = np.sqrt(se**2 + tau2)
    w0 = 1 / v
    s2 = (len(y) - 1) / (w0.sum() - np.sum(w0**2) / w0.sum())
    res = PoolResult(
        k=int(x.size),
        n_patients=float(n.sum()),
        model="binomial-normal GLMM (ML)",
        tau2_method="ML",
        ci_method="Wald",
        mu=float(mu),
        se=se,
        ci_logit=(mu - z * se, mu + z * se),
        pi_logit=(mu - z * spi, mu + z * spi),
        tau2=tau2,
        tau2_ci=(np.nan, np.nan),
        i2=100 * tau2 / (tau2 + s2),
        h2=(tau2 + s2) / s2,
        q=np.nan,
        q_df=np.nan,
        q_p=np.nan,
        ddf=float("inf"),
        note="; ".join(s for s in (f"events = round(n*p); adaptive Gauss-Hermite, {n_agq} nodes", note) if s),
    )
    return pd.DataFrame([res.row(analysis_id=aid, endpoint=ep, horizon_years=horizon_years)], columns=RESULT_COLUMNS)


# --------------------------------------------------------------------------------------------
# sensitivity: Bayesian normal-normal model by numerical integration
# --------------------------------------------------------------------------------------------
#: Prior of the pooled logit: N(0, PRIOR_MU_SD^2) (vague: +/-20 on the logit scale covers all rates).
PRIOR_MU_SD = 10.0
#: Prior of tau: half-normal with this scale (logit scale; a "moderate heterogeneity" prior).
PRIOR_TAU_SCALE = 0.5


def _bayes_tau_grid(y, v, mu_sd, tau_scale, n_grid):
    # tau over [0, 8 prior scales] (prior mass beyond is < 1e-15), midpoint rule
    upper = 8.0 * tau_scale
    edges = np.linspace(0.0, upper, n_grid + 1)
    tau = 0.5 * (edges[1:] + edges[:-1])
    dtau = np.diff(edges)
    s = v[None, :] + tau[:, None] ** 2
    w = 1.0 / s
    prec = w.sum(1) + 1.0 / mu_sd**2
    m = (w * y[None, :]).sum(1) / prec
    # log p(y | tau) with mu integrated against N(0, mu_sd^2), up to a constant
    logml = -0.5 * np.log(s).sum(1) - 0.5 * (w * y[None, :] ** 2).sum(1) + 0.5 * prec * m**2 - 0.5 * np.log(prec)
    logprior = stats.halfnorm.logpdf(tau, scale=tau_scale)
    lw = logml + logprior + np.log(dtau)
    wt = np.exp(lw - lw.max())
    wt /= wt.sum()
    return tau, wt, m, 1.0 / np.sqrt(prec)


def bayes_posterior(y, v, mu_sd: float = PRIOR_MU_SD, tau_scale: float = PRIOR_TAU_SCALE, n_grid: int = 4000) -> dict:
    """Posterior of the normal-normal model ``y_i ~ N(mu, v_i + tau^2)``,
    ``mu ~ N(0, mu_sd^2)``, ``tau ~ half-normal(tau_scale)``.

    ``mu`` is integrated analytically given ``tau`` (conjugate normal), ``tau`` numerically on a
    fine midpoint grid; the posterior of ``mu`` is the resulting normal mixture, whose quantiles
    are found by root-finding. Returns logit-scale median and 2.5/97.5% quantiles of ``mu`` and
    the posterior median of ``tau``.
    """
    y = np.asarray(y, float)
    v = np.asarray(v, float)
    tau, wt, m, sd = _bayes_tau_grid(y, v, mu_sd, tau_scale, n_grid)
    cdf = lambda q: float(np.sum(wt * stats.norm.cdf((q - m) / sd)))  # noqa: E731
    lo, hi = float(np.min(m - 12 * sd)), float(np.max(m + 12 * sd))
    qs = {a: optimize.brentq(lambda q, a=a: cdf(q) - a, lo, hi, xtol=1e-12) for a in (0.025, 0.5, 0.975)}
    # The grid holds each cell's mass at its midpoint; the posterior CDF of tau reaches
    # cumsum(wt)[i] at the UPPER edge of cell i, and is linear within a cell (piecewise-constant
    # density), so the median interpolates between cell edges (reading it at the midpoints would put
    # it half a cell low).
    half = float(tau[0])  # uniform grid starting at 0: the first midpoint is half a cell
    ctau = np.concatenate([[0.0], np.cumsum(wt)])
    tau_med = float(np.interp(0.5, ctau, np.concatenate([[0.0], tau + half])))
    return {
        "mu_median": qs[0.5],
        "mu_low": qs[0.025],
        "mu_high": qs[0.975],
        "tau_median": tau_med,
        "tau2_median": tau_med**2,
        "mu_mean": float(np.sum(wt * m)),
    }


def pool_bayes(
    df: pd.DataFrame,
    endpoint: str | None = None,
    horizon_years: float | None = None,
    analysis_id: str | None = None,
    subgroup: str | None = None,
    mu_sd: float = PRIOR_MU_SD,
    tau_scale: float = PRIOR_TAU_SCALE,
) -> pd.DataFrame:
    """Bayesian normal-normal pooling (sensitivity analysis for small subgroups, k < 5).

    Priors: pooled logit ``mu ~ N(0, 10^2)`` (vague), ``tau ~ half-normal(scale 0.5)`` -- weakly
    informative, not vague: it puts about 5% of its mass above tau = 1 on the logit scale, so with
    few studies the credible interval leans on it (the book also shows ``tau_scale=1``). Posterior
    by numerical integration (:func:`bayes_posterior`, no MCMC). ``estimate`` is the posterior
    median and ``ci_low``/``ci_high`` the 95% equal-tailed credible interval (back-transformed,
    which commutes with quantiles); ``tau2`` is the square of the posterior median of ``tau``.
    """
    d, ep, horizon_years = _select(df, endpoint, horizon_years)
    aid = _aid(analysis_id, ep, horizon_years, "bayes")
    groups = (
        [("", "all", d)] if subgroup is None else [(subgroup, str(k), g) for k, g in d.groupby(subgroup, sort=True)]
    )
    rows = []
    for col, val, g in groups:
        y, v, _ = logit_rates(g["rate_percent"], g["n_patients"])
        post = bayes_posterior(y, v, mu_sd, tau_scale)
        row = dict.fromkeys(RESULT_COLUMNS, np.nan)
        row.update(
            analysis_id=aid,
            endpoint=ep,
            horizon_years=horizon_years,
            subgroup_column=col,
            subgroup_value=val,
            k=int(y.size),
            n_patients=float(g["n_patients"].sum()),
            model="Bayesian normal-normal" + ("" if tau_scale == PRIOR_TAU_SCALE else f" (tau scale {tau_scale:g})"),
            tau2_method="posterior median",
            ci_method="95% credible",
            estimate=_expit_pct(post["mu_median"]),
            ci_low=_expit_pct(post["mu_low"]),
            ci_high=_expit_pct(post["mu_high"]),
            tau2=post["tau2_median"],
            note=f"priors: mu ~ N(0, {mu_sd:g}^2), tau ~ half-normal({tau_scale:g}); numerical integration",
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
