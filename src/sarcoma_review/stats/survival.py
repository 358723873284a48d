"""Survival analysis of individual patient data (Kaplan-Meier, medians, RMST, log-rank).

Built on lifelines; every function takes plain arrays (times, event indicators 0/1, groups) and
returns tidy DataFrames or dicts. Conventions follow R ``survival`` so that results can be
checked against ``survfit``/``survdiff`` (tests/fixtures/r_reference.json):

* pointwise 95% intervals of S(t) on the log(-log) scale (lifelines' "exponential Greenwood",
  R ``survfit(..., conf.type="log-log")``); where S(t) = 1 the interval is undefined on that
  scale and is reported as [1, 1] (R reports NA there -- an empty-risk convention, not a
  different estimate);
* the median is the first time S(t) <= 0.5 (R's ``quantile.survfit``: when S is exactly 0.5 on a
  flat stretch, the midpoint of that stretch); its CI is {t : lower(t) <= 0.5 <= upper(t)}, found
  by the same rule applied to the lower and upper confidence curves (Brookmeyer-Crowley style,
  as ``survfit``'s printed median CI);
* RMST at ``tau`` is the area under the KM curve on [0, tau], its SE the Greenwood-type
  estimator R prints for ``rmean``;
* the log-rank test is the ``survdiff`` (rho = 0) chi-square on G-1 df;
* :func:`greenwood` gives, at given times, S(t), the Greenwood variance sum
  ``G(t) = sum_{t_j <= t} d_j / (n_j (n_j - d_j))``, the standard error of S(t)
  ``S(t) sqrt(G(t))`` (R ``summary(survfit)$std.err``) and that of ``log(-log S(t))``,
  ``sqrt(G(t)) / |log S(t)|`` (the scale of the log-log interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from scipy import stats

__all__ = [
    "kaplan_meier",
    "landmarks",
    "greenwood",
    "number_at_risk",
    "median_survival",
    "rmst",
    "logrank",
    "competing_deaths",
]

_TOL = np.sqrt(np.finfo(float).eps)


def _check(time, event) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=float).ravel()
    if t.size == 0:
        raise ValueError("no patients: time is empty")
    if t.shape != e.shape:
        raise ValueError(f"time has {t.size} values but event has {e.size}")
    if np.isnan(t).any() or np.isnan(e).any():
        raise ValueError("time/event contain missing values; drop those patients first")
    if (t < 0).any():
        raise ValueError("times must be >= 0")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    return t, e.astype(int)


def _fit(t, e) -> KaplanMeierFitter:
    return KaplanMeierFitter(alpha=0.05).fit(t, e)


def kaplan_meier(time, event) -> pd.DataFrame:
    """Kaplan-Meier estimate at every distinct observed time (as R ``survfit``).

    Parameters
    ----------
    time : array-like
        Follow-up time of each patient (any unit, >= 0).
    event : array-like
        1 when the patient had the event at ``time``, 0 when censored.

    Returns
    -------
    DataFrame with ``time``, ``n_risk``, ``n_event``, ``n_censor``, ``surv``, ``ci_low``,
    ``ci_high`` (95%, log(-log) scale).

    Examples
    --------
    Five patients, events at 2, 5 and 8: S = 4/5, then 4/5 x 2/3, then x 1/2.

    >>> km = kaplan_meier([2, 3, 5, 8, 13], [1, 0, 1, 1, 0])
    >>> print(km[["time", "n_risk", "surv"]].round(4).to_string(index=False))
    time  n_risk   surv
     2.0       5 0.8000
     3.0       4 0.8000
     5.0       3 0.5333
     8.0       2 0.2667
    13.0       1 0.2667
    """
    t, e = _check(time, event)
    kmf = _fit(t, e)
    et = kmf.event_table
    et = et[et.index > 0] if (t > 0).all() else et
    times = et.index.to_numpy(float)
    sf = kmf.survival_function_.iloc[:, 0].reindex(times).to_numpy()
    ci = kmf.confidence_interval_survival_function_.reindex(times)
    lo = ci.iloc[:, 0].to_numpy(float)
    hi = ci.iloc[:, 1].to_numpy(float)
    one = np.isclose(sf, 1.0)
    lo = np.where(one, 1.0, lo)
    hi = np.where(one, 1.0, hi)
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": et["at_risk"].to_numpy(int),
            "n_event": et["observed"].to_numpy(int),
            "n_censor": et["censored"].to_numpy(int),
            "surv": sf,
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def _step_at(curve: pd.DataFrame, col: str, times: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(curve["time"].to_numpy(), times, side="right") - 1
    vals = curve[col].to_numpy(float)
    return np.where(idx >= 0, vals[np.clip(idx, 0, None)], 1.0)


def number_at_risk(time, event, times) -> pd.DataFrame:
    """Numbers at risk (time >= t), events and censorings up to each time in ``times``.

    Parameters
    ----------
    time, event : array-like
        As :func:`kaplan_meier`.
    times : array-like
        The times at which to count (e.g. the ticks of a Kaplan-Meier plot's axis).

    Returns
    -------
    DataFrame with ``time``, ``n_risk``, ``cum_events``, ``cum_censored``.

    Examples
    --------
    >>> print(number_at_risk([2, 3, 5, 8, 13], [1, 0, 1, 1, 0], [0, 4, 10]).to_string(index=False))
     time  n_risk  cum_events  cum_censored
      0.0       5           0             0
      4.0       3           1             1
     10.0       1           3             1
    """
    t, e = _check(time, event)
    times = np.asarray(times, float)
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": [(t >= x).sum() for x in times],
            "cum_events": [int(((t <= x) & (e == 1)).sum()) for x in times],
            "cum_censored": [int(((t <= x) & (e == 0)).sum()) for x in times],
        }
    )


def competing_deaths(local_time, local_failure, os_time, death, at: float) -> dict:
    """What a local-control Kaplan-Meier rate at ``at`` leaves out: deaths before local failure.

    Local control is estimated with deaths without local failure **censored**, so the rate is the
    share free of local failure among patients had they all lived, not the share of all patients
    alive without it. This counts, per patient (one row each), who the estimate rests on at ``at``.

    Returns a dict with ``n`` (patients), ``n_at_risk`` (local-control time >= ``at``: followed
    free of local failure up to the landmark), ``n_failed`` (local failure by ``at``),
    ``n_died_first`` (died without local failure by ``at``: censored by a competing death),
    ``n_died`` (deaths by ``at``, whatever came first) and ``n_other`` (the rest: follow-up ended
    alive and free of local failure before ``at``).

    Examples
    --------
    >>> competing_deaths([5, 9, 12, 70], [1, 0, 0, 0], [8, 9, 12, 70], [1, 1, 0, 0], 60)
    {'n': 4, 'n_at_risk': 1, 'n_failed': 1, 'n_died_first': 1, 'n_died': 2, 'n_other': 1}
    """
    t, f = _check(local_time, local_failure)
    o, d = _check(os_time, death)
    if len(t) != len(o):
        raise ValueError(
            f"local-control and survival times differ in length ({len(t)} and {len(o)}); expected one row per patient"
        )
    at_risk = t >= at
    failed = (f == 1) & (t <= at)
    died_first = (f == 0) & (d == 1) & (o <= at) & ~at_risk
    return {
        "n": int(len(t)),
        "n_at_risk": int(at_risk.sum()),
        "n_failed": int(failed.sum()),
        "n_died_first": int(died_first.sum()),
        "n_died": int(((d == 1) & (o <= at)).sum()),
        "n_other": int((~at_risk & ~failed & ~died_first).sum()),
    }


def landmarks(time, event, times) -> pd.DataFrame:
    """S(t) with its 95% log(-log) CI and the number at risk at each landmark time
    (R ``summary(survfit(...), times=times, extend=TRUE)``).

    Parameters
    ----------
    time, event : array-like
        As :func:`kaplan_meier`.
    times : array-like
        Landmark times, in the unit of ``time``.

    Returns
    -------
    DataFrame with ``time``, ``surv``, ``ci_low``, ``ci_high``, ``n_risk`` and
    ``beyond_follow_up`` (True past the last observed time).

    Examples
    --------
    >>> lm = landmarks([2, 3, 5, 8, 13], [1, 0, 1, 1, 0], [4, 10])
    >>> [round(s, 4) for s in lm["surv"]], list(lm["n_risk"])
    ([0.8, 0.2667], [3, 1])
    """
    t, e = _check(time, event)
    times = np.asarray(times, float)
    km = kaplan_meier(t, e)
    out = pd.DataFrame(
        {
            "time": times,
            "surv": _step_at(km, "surv", times),
            "ci_low": _step_at(km, "ci_low", times),
            "ci_high": _step_at(km, "ci_high", times),
            "n_risk": [(t >= x).sum() for x in times],
        }
    )
    out["beyond_follow_up"] = times > t.max()
    return out


def greenwood(time, event, times) -> pd.DataFrame:
    """Kaplan-Meier S(t) with its Greenwood standard errors at each time in ``times``.

    Returns
    -------
    DataFrame with ``time``, ``surv``, ``greenwood_sum`` (``G(t) = sum d_j / (n_j (n_j - d_j))``
    over event times ``t_j <= t``; R ``survfit()$std.err`` squared), ``se_surv``
    (``S(t) sqrt(G(t))``, R ``summary(survfit)$std.err``), ``se_loglog`` (standard error of
    ``log(-log S(t))``: ``sqrt(G(t)) / |log S(t)|``; NaN where S(t) is 0 or 1), ``n_risk`` and
    ``beyond_follow_up``. Where every patient at risk has the event (``n_j = d_j``), S falls to 0
    and ``G`` is infinite (R: NaN).
    """
    t, e = _check(time, event)
    times = np.asarray(times, float)
    km = kaplan_meier(t, e)
    nr = km["n_risk"].to_numpy(float)
    d = km["n_event"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, np.where(nr > d, d / (nr * (nr - d)), np.inf), 0.0)
    cum = np.cumsum(term)
    idx = np.searchsorted(km["time"].to_numpy(), times, side="right") - 1
    g = np.where(idx >= 0, cum[np.clip(idx, 0, None)], 0.0)
    surv = _step_at(km, "surv", times)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_ll = np.where((surv > 0) & (surv < 1), np.sqrt(g) / np.abs(np.log(surv)), np.nan)
    return pd.DataFrame(
        {
            "time": times,
            "surv": surv,
            "greenwood_sum": g,
            "se_surv": surv * np.sqrt(g),
            "se_loglog": se_ll,
            "n_risk": [(t >= x).sum() for x in times],
            "beyond_follow_up": times > t.max(),
        }
    )


def _first_below(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R quantile.survfit rule on a step curve y(x) (y at and after x[i])."""
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    hit = np.nonzero(y <= p + _TOL)[0]
    if hit.size == 0:
        return float("nan")
    i = hit[0]
    if abs(y[i] - p) < _TOL:  # flat at exactly p: midpoint to the next drop below p
        nxt = np.nonzero(y < p - _TOL)[0]
        return float((x[i] + x[nxt[0]]) / 2) if nxt.size else float(x[i])
    return float(x[i])


def median_survival(time, event) -> dict:
    """Median survival with its 95% CI (R ``quantile(survfit(conf.type="log-log"), 0.5)``).

    Parameters
    ----------
    time, event : array-like
        As :func:`kaplan_meier`.

    Returns
    -------
    dict

    Returns ``{"median", "ci_low", "ci_high"}``; NaN where the curve (or a CI curve) never
    reaches 0.5 (R: NA).

    Examples
    --------
    The curve first falls to 0.5 or below at 8 (0.8, 0.533, then 0.267):

    >>> median_survival([2, 3, 5, 8, 13], [1, 0, 1, 1, 0])["median"]
    8.0
    """
    km = kaplan_meier(time, event)
    x = km["time"].to_numpy(float)
    return {
        "median": _first_below(x, km["surv"].to_numpy(float), 0.5),
        "ci_low": _first_below(x, km["ci_low"].to_numpy(float), 0.5),
        "ci_high": _first_below(x, km["ci_high"].to_numpy(float), 0.5),
    }


def rmst(time, event, tau: float) -> dict:
    """Restricted mean survival time on [0, tau] with its standard error.

    ``RMST = int_0^tau S(t) dt``; ``Var = sum_j A_j^2 d_j / (n_j (n_j - d_j))`` over event times
    ``t_j <= tau``, ``A_j = int_{t_j}^tau S(t) dt`` (the estimator R prints as ``se(rmean)``).

    Parameters
    ----------
    time, event : array-like
        As :func:`kaplan_meier`.
    tau : float
        Horizon (> 0), in the unit of ``time``.

    Returns
    -------
    dict with ``tau``, ``rmst`` and ``se``.

    Examples
    --------
    Area under the steps 1, 0.8, 0.533, 0.267 on [0, 2), [2, 5), [5, 8), [8, 10):
    2 + 2.4 + 1.6 + 0.533 = 6.533.

    >>> round(rmst([2, 3, 5, 8, 13], [1, 0, 1, 1, 0], 10)["rmst"], 3)
    6.533
    """
    t, e = _check(time, event)
    if not tau > 0:
        raise ValueError("tau must be > 0")
    km = kaplan_meier(t, e)
    x = km["time"].to_numpy(float)
    s = km["surv"].to_numpy(float)
    keep = x < tau
    knots = np.concatenate([[0.0], x[keep], [tau]])
    svals = np.concatenate([[1.0], s[keep]])
    widths = np.diff(knots)
    area = float(np.sum(svals * widths))
    # A_j: area from knot j (an observed time) to tau
    seg = svals * widths
    tail = np.cumsum(seg[::-1])[::-1]  # tail[m] = area from knots[m] to tau
    nr = km["n_risk"].to_numpy(float)[keep]
    d = km["n_event"].to_numpy(float)[keep]
    aj = tail[1:]  # area from x_j to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(nr - d > 0, d / (nr * (nr - d)), 0.0)
    var = float(np.sum(aj**2 * h))
    return {"tau": float(tau), "rmst": area, "se": float(np.sqrt(var))}


def logrank(time, event, group) -> tuple[dict, pd.DataFrame]:
    """Log-rank test between groups (R ``survdiff``, rho = 0).

    Parameters
    ----------
    time, event : array-like
        As :func:`kaplan_meier`.
    group : array-like
        One label per patient (two or more groups).

    Returns
    -------
    summary : dict with ``chisq``, ``df``, ``p``
    table : DataFrame with ``group``, ``n``, ``observed``, ``expected`` (sorted group labels)

    Examples
    --------
    Six events at 1..6, alternating groups a, b: group a expects
    3/6 + 2/5 + 2/4 + 1/3 + 1/2 + 0/1 = 2.233 of them.

    >>> summary, table = logrank([1, 2, 3, 4, 5, 6], [1] * 6, list("ababab"))
    >>> round(float(table.loc[0, "expected"]), 3), summary["df"]
    (2.233, 1)
    """
    t, e = _check(time, event)
    g = pd.Series(np.asarray(group, dtype=object).ravel())
    if len(g) != t.size:
        raise ValueError("group must have one value per patient")
    if g.isna().any():
        raise ValueError("group has missing values; drop those patients first")
    g = g.astype(str).to_numpy()
    levels = sorted(set(g))
    if len(levels) < 2:
        raise ValueError("log-rank needs at least two groups")
    res = multivariate_logrank_test(t, g, e)
    # observed and expected events per group (hypergeometric expectation at each event time)
    ut = np.unique(t[e == 1])
    obs, exp_ = [], []
    at_risk_all = np.array([(t >= u).sum() for u in ut], float)
    d_all = np.array([((t == u) & (e == 1)).sum() for u in ut], float)
    for lv in levels:
        m = g == lv
        nr = np.array([((t >= u) & m).sum() for u in ut], float)
        obs.append(int(((e == 1) & m).sum()))
        exp_.append(float(np.sum(d_all * nr / at_risk_all)))
    dfree = len(levels) - 1
    chisq = float(res.test_statistic)
    table = pd.DataFrame(
        {"group": levels, "n": [int((g == lv).sum()) for lv in levels], "observed": obs, "expected": exp_}
    )
    return {"chisq": chisq, "df": dfree, "p": float(stats.chi2.sf(chisq, dfree))}, table
