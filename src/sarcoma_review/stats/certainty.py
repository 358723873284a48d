"""Certainty of evidence for overall prognosis (GRADE), per landmark and population (numbers and ratings only).

GRADE for prognosis (evidence about the outcome of a group of patients, not a comparison) starts a body of
observational evidence at **high** certainty and rates it down in five domains. Two domains are decided
here by stated rules from the pooled result, so new data can change them:

* **inconsistency** (:func:`rate_inconsistency`): from I² and the width of the 95% prediction interval;
* **imprecision** (:func:`rate_imprecision`): from the width of the 95% confidence interval, the number
  of series and the number of patients.

The other three (risk of bias, indirectness, publication bias) need judgement; they are read from
``data/appraisal/certainty_judgements.csv`` (:func:`judged_domain`) with their rationale and the sentences
they rest on. :func:`rate` combines the five; :func:`certainty_table` rates every landmark x population.

A landmark reported by one series is never a pooled estimate: its row carries that series' own rate
(``model`` = ``"single study"``), inconsistency cannot be assessed, and imprecision is very serious.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sarcoma_review.data import overlap
from sarcoma_review.errors import DataValidationError

#: The five GRADE domains, in the order GRADE tables list them.
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
#: Reader's names of the domains.
DOMAIN_NAMES = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}
#: Domains decided by a rule from the numbers; the others are judged (data/appraisal/certainty_judgements.csv).
COMPUTED_DOMAINS = ("inconsistency", "imprecision")
JUDGED_DOMAINS = ("risk_of_bias", "indirectness", "publication_bias")

#: Certainty levels, lowest first; a body of observational evidence about prognosis starts at the top.
LEVELS = ("very low", "low", "moderate", "high")
START_LEVEL = "high"
#: What each level means for a reader (GRADE's wording, shortened).
LEVEL_MEANING = {
    "high": "the true rate is very likely close to the estimate",
    "moderate": "the true rate is probably close to the estimate, but may be substantially different",
    "low": "the true rate may be substantially different from the estimate",
    "very low": "the true rate is likely to be substantially different from the estimate",
}

#: Populations a landmark is rated for: every series, the chordoma series, every other series.
POPULATIONS = ("all", "non-chordoma", "chordoma")
#: Table I histology that makes a series a chordoma series.
CHORDOMA = "Chordoma"

# --- the computed rules (Methods states them; tests check them on hand cases) ----------------------
#: Inconsistency is serious from this I² (percent) on, very serious from the next.
I2_SERIOUS = 50.0
I2_VERY_SERIOUS = 75.0
#: ... or when the 95% prediction interval is wider than this many percentage points (serious, very serious):
#: a new series' true rate could then lie anywhere over a range a clinician would act on differently.
PI_WIDTH_SERIOUS = 30.0
PI_WIDTH_VERY_SERIOUS = 50.0
#: Imprecision is serious when the 95% CI of the pooled rate is wider than this (percentage points),
#: very serious when wider than the next.
CI_WIDTH_SERIOUS = 20.0
CI_WIDTH_VERY_SERIOUS = 40.0
#: ... and at least serious with fewer than this many series or patients (too little information to
#: trust an interval whose width itself is estimated from so few series).
FEW_SERIES = 3
FEW_PATIENTS = 200

_DOWNGRADE = {"not serious": 0, "serious": -1, "very serious": -2}


@dataclass(frozen=True)
class DomainRating:
    """One domain of one landmark: judgement, levels rated down (0, -1, -2), computed or judged, why."""

    domain: str
    judgement: str
    downgrade: int
    basis: str  # "computed" or "judged"
    reason: str
    evidence: str = ""
    location: str = ""


@dataclass(frozen=True)
class Certainty:
    """The GRADE rating of one landmark in one population."""

    endpoint: str
    horizon_years: float
    population: str
    result: Mapping[str, Any]
    domains: tuple[DomainRating, ...] = field(default_factory=tuple)

    @property
    def total_downgrade(self) -> int:
        return sum(d.downgrade for d in self.domains)

    @property
    def level(self) -> str:
        return level_after(self.total_downgrade)

    @property
    def symbols(self) -> str:
        return level_symbols(self.level)

    @property
    def pooled(self) -> bool:
        """False when one series reports the landmark (its own rate; nothing pooled)."""
        return int(self.result["k"]) >= 2

    def domain(self, name: str) -> DomainRating:
        return next(d for d in self.domains if d.domain == name)


def level_after(downgrade: int, start: str = START_LEVEL) -> str:
    """The level reached from ``start`` after rating down ``-downgrade`` levels (never below very low)."""
    i = LEVELS.index(start) + int(downgrade)
    return LEVELS[max(0, min(i, len(LEVELS) - 1))]


def level_symbols(level: str) -> str:
    """``"low"`` -> ``"⊕⊕◯◯"`` (filled circles = level reached out of four)."""
    n = LEVELS.index(level) + 1
    return "⊕" * n + "◯" * (len(LEVELS) - n)


def _worse(a: str, b: str) -> str:
    return a if _DOWNGRADE[a] <= _DOWNGRADE[b] else b


def rate_inconsistency(k: int, i2: float, pi_low: float, pi_high: float) -> DomainRating:
    """Inconsistency from I² (percent) and the 95% prediction interval (percent).

    Rule: serious if I² ≥ :data:`I2_SERIOUS` or the PI is wider than :data:`PI_WIDTH_SERIOUS` percentage
    points; very serious if I² ≥ :data:`I2_VERY_SERIOUS` or the PI is wider than
    :data:`PI_WIDTH_VERY_SERIOUS`. With one series inconsistency cannot be assessed (no rating down here;
    imprecision rates the single series down instead).
    """
    if int(k) < 2:
        return DomainRating(
            "inconsistency",
            "not serious",
            0,
            "computed",
            "One series: inconsistency between series cannot be assessed (the missing "
            "replication is counted under imprecision).",
        )
    width = float(pi_high) - float(pi_low) if not (math.isnan(pi_low) or math.isnan(pi_high)) else math.inf
    by_i2 = "very serious" if i2 >= I2_VERY_SERIOUS else "serious" if i2 >= I2_SERIOUS else "not serious"
    by_pi = (
        "very serious" if width > PI_WIDTH_VERY_SERIOUS else "serious" if width > PI_WIDTH_SERIOUS else "not serious"
    )
    j = _worse(by_i2, by_pi)
    reason = (
        f"I² = {i2:.0f}% (serious from {I2_SERIOUS:g}%, very serious from {I2_VERY_SERIOUS:g}%); "
        f"95% prediction interval {pi_low:.1f}% to {pi_high:.1f}%, {width:.1f} percentage points wide "
        f"(serious above {PI_WIDTH_SERIOUS:g}, very serious above {PI_WIDTH_VERY_SERIOUS:g})."
    )
    return DomainRating("inconsistency", j, _DOWNGRADE[j], "computed", reason)


def rate_imprecision(k: int, n_patients: int, ci_low: float, ci_high: float) -> DomainRating:
    """Imprecision from the 95% CI width (percentage points), the number of series and of patients.

    Rule: very serious if one series only, or the CI is wider than :data:`CI_WIDTH_VERY_SERIOUS`;
    otherwise serious if the CI is wider than :data:`CI_WIDTH_SERIOUS`, or there are fewer than
    :data:`FEW_SERIES` series or fewer than :data:`FEW_PATIENTS` patients; otherwise not serious.
    """
    width = float(ci_high) - float(ci_low)
    facts = (
        f"{int(k)} series, {int(n_patients)} patients; 95% CI {ci_low:.1f}% to {ci_high:.1f}%, "
        f"{width:.1f} percentage points wide"
    )
    if int(k) < 2:
        return DomainRating(
            "imprecision",
            "very serious",
            -2,
            "computed",
            f"{facts}. One series only: its interval reflects one centre's patients, with no "
            "other series to replicate it.",
        )
    if width > CI_WIDTH_VERY_SERIOUS:
        j = "very serious"
        why = f"the CI is wider than {CI_WIDTH_VERY_SERIOUS:g} points"
    elif width > CI_WIDTH_SERIOUS:
        j = "serious"
        why = f"the CI is wider than {CI_WIDTH_SERIOUS:g} points"
    elif int(k) < FEW_SERIES or int(n_patients) < FEW_PATIENTS:
        j = "serious"
        why = f"fewer than {FEW_SERIES} series or {FEW_PATIENTS} patients"
    else:
        j = "not serious"
        why = (
            f"the CI is at most {CI_WIDTH_SERIOUS:g} points wide, from at least {FEW_SERIES} series and "
            f"{FEW_PATIENTS} patients"
        )
    return DomainRating("imprecision", j, _DOWNGRADE[j], "computed", f"{facts}: {why}.")


def judged_domain(
    judgements: pd.DataFrame, domain: str, endpoint: str, horizon_years: float, population: str
) -> DomainRating:
    """The judged rating of ``domain`` from ``certainty_judgements``: the most specific matching row.

    A row matches when its endpoint is ``endpoint`` or ``all`` and its horizon is ``horizon_years`` or
    empty, for the same population; a row naming the endpoint or the horizon beats a general one.
    No matching row, or two equally specific ones, raises :class:`DataValidationError`.
    """
    j = judgements
    hz = pd.to_numeric(j["horizon_years"], errors="coerce")
    match = j[
        (j["domain"] == domain)
        & (j["population"] == population)
        & j["endpoint"].isin([endpoint, "all"])
        & (hz.isna() | (hz == float(horizon_years)))
    ]
    path = "data/appraisal/certainty_judgements.csv"
    if match.empty:
        raise DataValidationError(
            path,
            [
                (
                    None,
                    "domain",
                    f"a row for {domain} / {population} covering {endpoint} at {horizon_years:g} years",
                    "none",
                )
            ],
        )
    spec = (match["endpoint"] != "all").astype(int) + hz[match.index].notna().astype(int)
    best = match[spec == spec.max()]
    if len(best) > 1:
        raise DataValidationError(
            path,
            [
                (
                    None,
                    "domain",
                    f"one most specific row for {domain} / {population} at {endpoint} {horizon_years:g} years",
                    f"{len(best)} rows",
                )
            ],
        )
    r = best.iloc[0]
    return DomainRating(
        domain,
        str(r["judgement"]),
        int(r["downgrade"]),
        "judged",
        str(r["rationale"]),
        evidence=str(r.get("evidence", "") or ""),
        location=str(r.get("location", "") or ""),
    )


def rate(
    result: Mapping[str, Any], judgements: pd.DataFrame, endpoint: str, horizon_years: float, population: str
) -> Certainty:
    """Rate one landmark: ``result`` is its primary pooled (or single-series) row (percent scale)."""
    k = int(result["k"])
    nan = float("nan")
    computed = {
        "inconsistency": rate_inconsistency(
            k, float(result.get("i2", nan)), float(result.get("pi_low", nan)), float(result.get("pi_high", nan))
        ),
        "imprecision": rate_imprecision(
            k, int(result["n_patients"]), float(result["ci_low"]), float(result["ci_high"])
        ),
    }
    domains = tuple(
        computed[d] if d in computed else judged_domain(judgements, d, endpoint, horizon_years, population)
        for d in DOMAINS
    )
    return Certainty(endpoint, float(horizon_years), population, dict(result), domains)


def population_rows(rows: pd.DataFrame, population: str) -> pd.DataFrame:
    """The series of ``rows`` in ``population`` (``all``, ``chordoma``: histology Chordoma, ``non-chordoma``)."""
    if population == "all":
        return rows
    is_chordoma = rows["histology"].astype(str).str.strip().str.casefold() == CHORDOMA.casefold()
    if population == "chordoma":
        return rows[is_chordoma]
    if population == "non-chordoma":
        return rows[~is_chordoma]
    raise ValueError(f"population must be one of {POPULATIONS}, not {population!r}")


PoolFn = Callable[[pd.DataFrame, str, float], Mapping[str, Any]]


def _pool_primary(rows: pd.DataFrame, endpoint: str, horizon_years: float) -> Mapping[str, Any]:
    from sarcoma_review.stats.sensitivity import pool_primary

    return pool_primary(rows, endpoint, horizon_years).iloc[0].to_dict()


def rate_all(
    literature: pd.DataFrame,
    judgements: pd.DataFrame,
    landmarks: Iterable[tuple[str, float]],
    populations: Iterable[str] = POPULATIONS,
    pool: PoolFn | None = None,
) -> list[Certainty]:
    """Rate every landmark in every population that has at least one series reporting it, each shared
    cohort counted once (:mod:`sarcoma_review.data.overlap`, applied to the landmark before the population
    is taken, as the pooled pages' strata are).

    ``pool(rows, endpoint, horizon)`` returns the primary result row (default: REML with HKSJ,
    :func:`sarcoma_review.stats.sensitivity.pool_primary`).
    """
    pool = pool or _pool_primary
    out = []
    for ep, hz in landmarks:
        d = literature[(literature["endpoint"] == ep) & (literature["horizon_years"].astype(float) == float(hz))]
        d = overlap.independent(d)  # each shared cohort counted once, as on the pooled pages
        for pop in populations:
            sel = population_rows(d, pop).reset_index(drop=True)
            if sel.empty:
                continue
            res = dict(pool(sel, ep, float(hz)))
            res["study_ids"] = ";".join(sel["study_id"].astype(str))
            out.append(rate(res, judgements, ep, float(hz), pop))
    return out


def certainty_table(ratings: Iterable[Certainty]) -> pd.DataFrame:
    """One row per rating: the numbers, the level, and per domain its judgement, rating-down, basis, reason."""
    rows = []
    for c in ratings:
        r = c.result
        row = {
            "endpoint": c.endpoint,
            "horizon_years": c.horizon_years,
            "population": c.population,
            "k": int(r["k"]),
            "n_patients": int(r["n_patients"]),
            "pooled": c.pooled,
            "estimate": float(r["estimate"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "pi_low": float(r["pi_low"]) if c.pooled else float("nan"),
            "pi_high": float(r["pi_high"]) if c.pooled else float("nan"),
            "i2": float(r["i2"]) if c.pooled else float("nan"),
            "study_ids": r.get("study_ids", ""),
            "certainty": c.level,
            "certainty_symbols": c.symbols,
            "downgrade_total": c.total_downgrade,
        }
        for d in c.domains:
            row[d.domain] = d.judgement
            row[f"{d.domain}_downgrade"] = d.downgrade
            row[f"{d.domain}_basis"] = d.basis
            row[f"{d.domain}_reason"] = d.reason
        rows.append(row)
    return pd.DataFrame(rows)
