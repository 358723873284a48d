"""A comparator's rate with its own sampling uncertainty, and particle therapy minus comparator.

Numbers only; the words are in :mod:`sarcoma_review.pages.comparisons`.

The comparator
--------------
A comparator rate (percent) is a :class:`ComparatorRate` of one of four kinds (:data:`KINDS`):

* ``"kaplan-meier"`` -- recomputed from a patient table: the Kaplan-Meier estimate ``S`` at the
  landmark with the Greenwood variance, on the log(-log) scale: ``eta = log(-log S)``,
  ``SE(eta) = sqrt(G) / |log S|`` with ``G = sum d_j / (n_j (n_j - d_j))``, interval
  ``exp(-exp(eta +/- z SE))`` (R ``survfit(conf.type = "log-log")``). The log(-log) scale rather
  than the logit: it is the interval R's ``survfit`` gives and the ifosfamide chapter shows, so the
  book prints one interval for one estimate; like the logit it keeps the interval inside (0, 1).
* ``"exact"`` -- a rate whose ``n`` the text gives: the binomial variance on the logit scale,
  ``1 / (n p (1 - p))``, interval ``expit(logit p +/- z SE)`` -- the variance the pooled model gives
  every Table I series (for a Kaplan-Meier rate with censoring the true variance is larger).
* ``"bound"`` -- a subgroup of a series of known total ``N``: only ``n <= N`` is known, and the
  binomial variance with ``n = N`` is the smallest the comparator can have, so its interval is
  the **narrowest it can honestly have**; the real one is wider.
* ``"unknown"`` -- no size anywhere: the rate stays a fixed number (SE 0), labelled as such.

The particle side
-----------------
A :class:`~sarcoma_review.stats.pooling.PoolResult` of the primary model: the pooled logit ``mu``
with its HKSJ standard error and its t interval on ``k - 1`` df, or -- one series only -- that
series' own rate with its Wald logit interval (never called pooled).

The difference and its interval (MOVER)
---------------------------------------
``D = p1 - p2`` in percentage points (particle minus comparator). The 95% interval is the
square-and-add "method of variance estimates recovery" (MOVER; Newcombe 1998, Zou and Donner
2008), which takes each side's own 95% interval ``(l_i, u_i)`` as it is shown -- the HKSJ t
interval of the pooled rate, the Greenwood or binomial interval of the comparator -- and assumes
the two sides independent (different patients)::

    L = D - sqrt((p1 - l1)^2 + (u2 - p2)^2)
    U = D + sqrt((u1 - p1)^2 + (p2 - l2)^2)

It keeps each interval's asymmetry on the percent scale, never needs the two sides on one scale or
one reference distribution (t for the pooled side, normal for the comparator), and when the
comparator is fixed (``l2 = u2 = p2``) it is the pooled interval shifted by ``p2``, which is what
the book showed before comparators carried their uncertainty. :func:`verdict` reads an interval:
``"above"`` (``L > 0``), ``"below"`` (``U < 0``) or ``"includes"`` (zero inside).

The verdict allows for heterogeneity
------------------------------------
The verdict a page shows (``compare()["verdict"]``) reads the **new-series** interval: the same
MOVER construction with the pool's 95% prediction interval (:func:`particle_prediction`) in place of
the interval of its mean, so "higher" means that a new particle series like those pooled would be
expected to beat the comparator, the spread between series included. The verdict of the mean
(``verdict_mean``) is kept beside it. For one series no spread can be seen: its own interval is used.
With two series the spread cannot be estimated (no prediction interval): the verdict is
:data:`NOT_ASSESSABLE`.

Classification
--------------
:func:`classify` derives "comparable" or "context only" from the facts the sources state (intent,
dose group, selection, era, size), with every reason; :data:`MIN_AT_RISK` is the one threshold of the
number-at-risk flag.

The probability
---------------
``P(theta_new > logit R)``: that the true rate of a **new** particle series like those pooled
exceeds the comparator's true rate ``R``, with ``theta_new = mu + sqrt(SE^2 + tau^2) T``,
``T ~ t_{k-1}`` (the distribution behind the prediction interval; metafor ``predict.rma`` with
``test="knha"``) and ``R`` distributed as the comparator's estimate on its own scale
(``centre + se Z``, independent; a fixed comparator has ``se = 0``). The expectation over ``Z`` is
computed by Gauss-Hermite quadrature (:data:`QUADRATURE_NODES` nodes; deterministic). For one
series the probability is that **its** true rate exceeds ``R`` (``theta = y + SE Z``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import special, stats

from sarcoma_review.stats import survival
from sarcoma_review.stats.pooling import PoolResult

__all__ = [
    "KINDS",
    "MIN_AT_RISK",
    "CLASSES",
    "classify",
    "km_rate_reported",
    "particle_prediction",
    "ComparatorRate",
    "binomial_rate",
    "km_rate",
    "fixed_rate",
    "particle_interval",
    "mover_difference",
    "verdict",
    "prob_exceeds",
    "compare",
    "QUADRATURE_NODES",
]

#: The kinds of comparator uncertainty, from the most to the least informed.
KINDS = ("kaplan-meier", "exact", "bound", "unknown")
#: Gauss-Hermite nodes for the probability's expectation over the comparator (error far below 1e-8).
QUADRATURE_NODES = 81
_Z = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class ComparatorRate:
    """One comparator rate (percent) with the approximate distribution of its estimate.

    ``scale`` is ``"logit"``, ``"log-log"`` (``log(-log S)``) or ``"fixed"``; ``centre`` and ``se``
    are on that scale (``se = 0`` when fixed). ``ci_low``/``ci_high`` are the 95% interval in
    percent (equal to ``rate`` when fixed). ``n`` is the size used (the bound for ``"bound"``;
    NaN when unknown).
    """

    rate: float
    ci_low: float
    ci_high: float
    kind: str
    n: float
    scale: str
    centre: float
    se: float

    @property
    def fixed(self) -> bool:
        return self.se == 0.0

    def at(self, z) -> np.ndarray:
        """The rate (proportion, 0-1) at standard-normal deviates ``z`` of its estimate's scale."""
        x = self.centre + self.se * np.asarray(z, float)
        if self.scale == "logit":
            return special.expit(x)
        if self.scale == "log-log":
            return np.exp(-np.exp(x))
        return np.full_like(x, self.rate / 100.0, dtype=float)


def _check_rate(rate_percent: float) -> float:
    r = float(rate_percent)
    if not 0 < r < 100:
        raise ValueError(f"a comparator rate of {r:g}% has no logit (it must lie strictly between 0 and 100)")
    return r


def binomial_rate(rate_percent: float, n: float, kind: str = "exact") -> ComparatorRate:
    """A rate with binomial variance ``1 / (n p (1 - p))`` on the logit scale.

    ``kind`` is ``"exact"`` (``n`` is the comparator's size) or ``"bound"`` (``n`` is the upper
    bound of its size: the interval is the narrowest the comparator can have).
    """
    if kind not in ("exact", "bound"):
        raise ValueError(f"kind must be 'exact' or 'bound', not {kind!r}")
    r = _check_rate(rate_percent)
    n = float(n)
    if not n > 0:
        raise ValueError(f"n must be > 0, not {n:g}")
    p = r / 100.0
    y = float(special.logit(p))
    se = float(1.0 / np.sqrt(n * p * (1 - p)))
    return ComparatorRate(
        r, 100 * float(special.expit(y - _Z * se)), 100 * float(special.expit(y + _Z * se)), kind, n, "logit", y, se
    )


def km_rate(time, event, at: float) -> ComparatorRate:
    """Kaplan-Meier rate at ``at`` (same unit as ``time``) with the Greenwood variance, log(-log) scale."""
    g = survival.greenwood(time, event, [at]).iloc[0]
    s = float(g["surv"])
    if bool(g["beyond_follow_up"]):
        raise ValueError(f"the landmark {at:g} lies beyond the last follow-up time; no Kaplan-Meier rate there")
    if not 0 < s < 1:
        raise ValueError(f"Kaplan-Meier S({at:g}) = {s:g}: no Greenwood interval on the log(-log) scale")
    eta = float(np.log(-np.log(s)))
    se = float(g["se_loglog"])
    return ComparatorRate(
        100 * s,
        100 * float(np.exp(-np.exp(eta + _Z * se))),
        100 * float(np.exp(-np.exp(eta - _Z * se))),
        "kaplan-meier",
        float(len(np.asarray(time))),
        "log-log",
        eta,
        se,
    )


def km_rate_reported(rate_percent: float, time, event, at: float) -> ComparatorRate:
    """A series' *reported* Kaplan-Meier rate with the interval method of its recomputation.

    One series gets one interval method everywhere: the reported rate is centred on its own
    ``log(-log)`` value and carries the Greenwood standard error (log(-log) scale) of the
    Kaplan-Meier estimate recomputed from the same patients at the same landmark, so it differs from
    :func:`km_rate` only in its centre. (A binomial logit interval would ignore the censoring and
    give the same 11 patients a second, narrower interval.)
    """
    r = _check_rate(rate_percent)
    km = km_rate(time, event, at)
    eta = float(np.log(-np.log(r / 100.0)))
    return ComparatorRate(
        r,
        100 * float(np.exp(-np.exp(eta + _Z * km.se))),
        100 * float(np.exp(-np.exp(eta - _Z * km.se))),
        "kaplan-meier",
        km.n,
        "log-log",
        eta,
        km.se,
    )


def fixed_rate(rate_percent: float) -> ComparatorRate:
    """A comparator of unknown size: a fixed number without sampling uncertainty."""
    r = float(rate_percent)
    if not 0 <= r <= 100:
        raise ValueError(f"a rate must lie in [0, 100], not {r:g}")
    return ComparatorRate(r, r, r, "unknown", float("nan"), "fixed", r, 0.0)


def particle_interval(res: PoolResult) -> tuple[float, float, float]:
    """Estimate and 95% interval (percent) of a particle result: HKSJ t (pooled) or Wald (one series)."""
    est = 100 * float(special.expit(res.mu))
    return est, 100 * float(special.expit(res.ci_logit[0])), 100 * float(special.expit(res.ci_logit[1]))


def particle_prediction(res: PoolResult) -> tuple[float, float] | None:
    """The 95% prediction interval (percent) of a new series' true rate, or None for one series.

    ``mu +/- t_{k-1} sqrt(SE^2 + tau^2)`` on the logit scale (metafor ``predict.rma``), as the
    pooling gives it; NaN with two series (the pooling gives none, see
    :data:`sarcoma_review.stats.pooling.MIN_K_PREDICTION`).
    """
    if res.model == "single study":
        return None
    return 100 * float(special.expit(res.pi_logit[0])), 100 * float(special.expit(res.pi_logit[1]))


def mover_difference(p1: float, l1: float, u1: float, p2: float, l2: float, u2: float) -> tuple[float, float, float]:
    """``p1 - p2`` with its MOVER (square-and-add) interval from the two sides' own intervals."""
    for p, lo, hi, side in ((p1, l1, u1, "first"), (p2, l2, u2, "second")):
        if not lo <= p <= hi:
            raise ValueError(f"the {side} estimate {p:g} is not inside its interval ({lo:g}, {hi:g})")
    d = p1 - p2
    return d, d - float(np.hypot(p1 - l1, u2 - p2)), d + float(np.hypot(u1 - p1, p2 - l2))


#: The verdict of a pooled result whose spread between series cannot be estimated (two series: no
#: prediction interval, so no interval for a new series).
NOT_ASSESSABLE = "not assessable"


def verdict(low: float, high: float) -> str:
    """``"above"`` / ``"below"`` when the difference interval lies above / below zero, ``"includes"`` when it
    holds zero, :data:`NOT_ASSESSABLE` when there is no interval (NaN bounds)."""
    if np.isnan(low) or np.isnan(high):
        return NOT_ASSESSABLE
    return "above" if low > 0 else "below" if high < 0 else "includes"


def prob_exceeds(res: PoolResult, comp: ComparatorRate, nodes: int = QUADRATURE_NODES) -> float:
    """P(true rate of a new particle series -- or, for one series, of that series -- > comparator's true rate)."""
    pooled = res.model != "single study"
    if pooled:
        s = float(np.sqrt(res.se**2 + res.tau2))
        sf = (lambda x: stats.t.sf(x, res.ddf)) if np.isfinite(res.ddf) else stats.norm.sf
    else:
        s = float(res.se)
        sf = stats.norm.sf
    if comp.fixed:
        x = np.array([0.0])
        w = np.array([1.0])
    else:
        x, w = hermegauss(nodes)
        w = w / np.sqrt(2 * np.pi)
    r = np.clip(comp.at(x), 1e-300, 1 - 1e-16)
    return float(np.sum(w * sf((special.logit(r) - res.mu) / s)))


def compare(res: PoolResult, comp: ComparatorRate) -> dict:
    """Particle result minus comparator: every number of one comparison.

    Returns a dict with ``particle_estimate``/``_ci_low``/``_ci_high``, ``particle_pi_low``/
    ``_pi_high`` (prediction interval; NaN for one series), ``comparator_estimate``/``_ci_low``/
    ``_ci_high``, ``difference``, ``diff_low``, ``diff_high`` (MOVER from the interval of the mean),
    ``new_diff_low``/``new_diff_high`` (MOVER from the prediction interval: a new series like those
    pooled minus the comparator; for one series equal to ``diff_low``/``diff_high``),
    ``verdict_mean`` (read from the interval of the mean), ``verdict`` (read from the new-series
    interval, so it accounts for between-series heterogeneity), ``verdict_if_comparator_fixed``
    (the mean verdict had the comparator no uncertainty), ``prob_particle_exceeds`` and ``pooled``.
    """
    p1, l1, u1 = particle_interval(res)
    d, lo, hi = mover_difference(p1, l1, u1, comp.rate, comp.ci_low, comp.ci_high)
    pi = particle_prediction(res)
    if pi is None:
        pl, pu, nlo, nhi = float("nan"), float("nan"), lo, hi
    elif np.isnan(pi[0]) or np.isnan(pi[1]):
        pl, pu, nlo, nhi = float("nan"), float("nan"), float("nan"), float("nan")
    else:
        pl, pu = pi
        _, nlo, nhi = mover_difference(p1, min(pl, p1), max(pu, p1), comp.rate, comp.ci_low, comp.ci_high)
    return {
        "particle_estimate": p1,
        "particle_ci_low": l1,
        "particle_ci_high": u1,
        "particle_pi_low": pl,
        "particle_pi_high": pu,
        "comparator_estimate": comp.rate,
        "comparator_ci_low": comp.ci_low,
        "comparator_ci_high": comp.ci_high,
        "difference": d,
        "diff_low": lo,
        "diff_high": hi,
        "new_diff_low": nlo,
        "new_diff_high": nhi,
        "verdict": verdict(nlo, nhi),
        "verdict_mean": verdict(lo, hi),
        "verdict_if_comparator_fixed": verdict(l1 - comp.rate, u1 - comp.rate),
        "prob_particle_exceeds": prob_exceeds(res, comp),
        "pooled": res.model != "single study",
    }


# --------------------------------------------------------------------------- classification
#: The two classes of a comparator.
CLASSES = ("comparable", "context only")

#: Fewest patients at risk at the landmark for a Kaplan-Meier comparator rate to stand without a flag.
#: Below 10 at risk, one more event at the landmark moves the estimate by more than a tenth of its
#: value (the Kaplan-Meier factor ``1 - 1/n``), so the rate rests on a handful of patients.
MIN_AT_RISK = 10


def classify(
    *, intent: str, dose_group: str, selection: str, era_year: float, n_kind: str, first_particle_year: float
) -> tuple[str, list[str]]:
    """Comparable or context only, with every reason, from the facts the sources state.

    A comparator is **comparable** only when all of these hold: the source states curative intent;
    the rate is not for a dose group below 63 Gy (the dose by which the source itself separates
    higher local control; a lower-dose group is sub-curative); its group is not selected by tumour
    size, site or resection margin (the particle series are not); it is not historical (a year
    printed before the first particle series of the pool); and its size is known or bounded (without
    one its uncertainty cannot be carried into the difference). A fact the sources do not give
    cannot make a comparator comparable: the reason says it is not stated.
    """
    reasons = []
    if intent != "curative":
        reasons.append("the sources do not state a curative intent")
    if dose_group == "below 63 Gy":
        reasons.append(
            "sub-curative dose: the rate is for doses below 63 Gy, which the source reports "
            "separately as the lower-dose group"
        )
    if selection not in ("none stated", ""):
        reasons.append(f"selected by {selection}, unlike the particle series")
    if era_year == era_year and era_year and era_year < first_particle_year:
        reasons.append(
            f"historical: a series of {int(era_year)}, before the first particle series ({int(first_particle_year)})"
        )
    if n_kind == "unknown":
        reasons.append("its size is given nowhere, so its uncertainty cannot be carried into a difference")
    return ("comparable" if not reasons else "context only"), reasons
