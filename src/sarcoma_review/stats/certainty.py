"""Certainty of evidence for overall prognosis (GRADE), per landmark and population (numbers and ratings only).

GRADE for prognosis (evidence about the outcome of a group of patients, not a comparison) starts a body of
observational evidence at **high** certainty and rates it down in five domains. Two domains are decided
here by stated rules from the pooled result, so new data can change them:

* **inconsistency** (:func:`rate_inconsistency`): from the spread of the series' true rates (the pooled
  logit plus and minus 1.96 tau), judged against the landmark's decision thresholds;
* **imprecision** (:func:`rate_imprecision`): from the 95% confidence interval of the pooled mean against the
  same thresholds, and the number of patients against the optimal information size.

The thresholds are the protocol's (``data/appraisal/grade_thresholds.csv``, :class:`Thresholds`), each tied to
a decision: the comparable photon figure of the landmark plus and minus a practice-changing margin (a stated
protocol choice), or, where there is no such figure, an absolute width. The spread between series is counted
once: under inconsistency (the range of true rates, without the uncertainty of the mean); imprecision uses the
interval of the mean, never the prediction interval, which holds both.

The other three (risk of bias, indirectness, publication bias) need judgement; they are read from
``data/appraisal/certainty_judgements.csv`` (:func:`judged_domain`) with their rationale and the sentences
they rest on. :func:`rate` combines the five; :func:`certainty_table` rates every landmark x population.

A landmark reported by one series is never a pooled estimate: its row carries that series' own rate
(``model`` = ``"single study"``), inconsistency is **not assessable** (said so, not rated down), and
imprecision is at least serious.
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


# --- the computed rules (Methods states them; tests check them on hand cases) ----------------------
#: The judgements of a domain and the levels each rates down. "not assessable" (one series: no spread between
#: series can be seen) rates nothing down and says so, unlike "not serious".
_DOWNGRADE = {"not serious": 0, "not assessable": 0, "serious": -1, "very serious": -2}
_JUDGEMENT = {0: "not serious", -1: "serious", -2: "very serious"}
#: Normal quantile of a two-sided 95% interval (the information size and the spread of the true rates).
Z95 = 1.959963984540054
#: Populations the comparable photon figures are set against: the figures the sources quote describe soft-tissue
#: sarcoma series, so chordoma series are never judged against them (they use the width rules instead).
DECISION_POPULATIONS = ("all", "non-chordoma")
#: The ``threshold_id`` rows ``data/appraisal/grade_thresholds.csv`` must hold.
THRESHOLD_IDS = (
    "practice_margin",
    "ci_width_serious",
    "ci_width_very_serious",
    "spread_width_serious",
    "spread_width_very_serious",
    "information_rate",
)


@dataclass(frozen=True)
class Thresholds:
    """The protocol's thresholds for the computed domains (``data/appraisal/grade_thresholds.csv``), in
    percentage points (``information_rate`` in percent). Each is tied to a decision the data file states."""

    practice_margin: float
    ci_width_serious: float
    ci_width_very_serious: float
    spread_width_serious: float
    spread_width_very_serious: float
    information_rate: float

    @classmethod
    def from_table(cls, table: pd.DataFrame, path: str = "data/appraisal/grade_thresholds.csv") -> Thresholds:
        """Read the thresholds from their table; a missing row is a :class:`DataValidationError`."""
        values = dict(zip(table["threshold_id"].astype(str), table["value"].astype(float)))
        missing = [t for t in THRESHOLD_IDS if t not in values]
        if missing:
            raise DataValidationError(path, [(None, "threshold_id", f"a row {t}", "none") for t in missing])
        return cls(**{t: values[t] for t in THRESHOLD_IDS})

    @property
    def information_size(self) -> int:
        """Patients one series needs for its 95% interval to reach no further than the practice margin from its
        rate, at :attr:`information_rate` (GRADE's optimal information size): ``ceil(z² p(1-p) / m²)``."""
        p, m = self.information_rate / 100.0, self.practice_margin / 100.0
        return math.ceil(Z95**2 * p * (1.0 - p) / m**2 - 1e-9)

    def decision_points(self, figures: Iterable[tuple[str, float]]) -> list[tuple[float, str]]:
        """The decision thresholds of a landmark: each comparable photon figure minus and plus the margin,
        ``(value, words)``, lowest first (thresholds outside 0-100% cannot be crossed and are left out)."""
        out = []
        for label, rate in figures:
            for sign, side in ((-1, "below"), (1, "above")):
                v = float(rate) + sign * self.practice_margin
                if 0.0 < v < 100.0:
                    out.append((v, f"{v:g}% ({self.practice_margin:g} points {side} {label}, {float(rate):g}%)"))
        return sorted(set(out))


def _crossed(low: float, high: float, points: Iterable[tuple[float, str]]) -> list[tuple[float, str]]:
    """The decision thresholds strictly inside the interval (low, high)."""
    return [p for p in points if low < p[0] < high]


def _by_thresholds(low: float, high: float, points: list[tuple[float, str]], what: str) -> tuple[int, str]:
    """Levels down from the decision thresholds an interval crosses: none 0, one -1, two or more -2."""
    hit = _crossed(low, high, points)
    if not hit:
        return 0, f"{what} crosses no decision threshold ({'; '.join(p[1] for p in points)})"
    plural = "s" if len(hit) > 1 else ""
    return (-1 if len(hit) == 1 else -2), (
        f"{what} crosses {len(hit)} decision threshold{plural} ({'; '.join(p[1] for p in hit)})"
    )


def _by_width(width: float, serious: float, very: float, what: str) -> tuple[int, str]:
    why = "(no comparable photon figure for this landmark and population)"
    if width > very:
        return -2, f"{what} is wider than {very:g} points {why}"
    if width > serious:
        return -1, f"{what} is wider than {serious:g} points {why}"
    return 0, f"{what} is at most {serious:g} points wide {why}"


def true_rate_range(estimate: float, tau2: float) -> tuple[float, float]:
    """Where 95% of the series' true rates lie if the between-series spread were known: the pooled logit plus
    and minus 1.96 tau, back to percent. Unlike the prediction interval it leaves out the uncertainty of the
    pooled mean (imprecision's business), so the two domains never count the same uncertainty."""
    p = min(max(float(estimate) / 100.0, 1e-12), 1 - 1e-12)
    mu, tau = math.log(p / (1 - p)), math.sqrt(max(float(tau2), 0.0))
    return tuple(100.0 / (1.0 + math.exp(-(mu + s * Z95 * tau))) for s in (-1, 1))  # type: ignore[return-value]


def rate_inconsistency(
    k: int,
    estimate: float,
    tau2: float,
    thresholds: Thresholds,
    decision_points: list[tuple[float, str]] | None = None,
    i2: float = float("nan"),
) -> DomainRating:
    """Inconsistency from the spread of the series' true rates (:func:`true_rate_range`).

    Rule: with comparable photon figures for the landmark (``decision_points``, from
    :meth:`Thresholds.decision_points`), serious if the range of true rates crosses one decision threshold,
    very serious if it crosses two or more (series would sit on different sides of a decision); without them,
    serious if the range is wider than ``spread_width_serious`` points, very serious if wider than
    ``spread_width_very_serious``. I² is reported, not used: it grows with the series' size whatever the
    spread means for a decision. With one series inconsistency is **not assessable** (no rating down).
    """
    if int(k) < 2:
        return DomainRating(
            "inconsistency",
            "not assessable",
            0,
            "computed",
            "One series: no spread between series can be seen, so inconsistency is not assessable (not rated "
            "down here; the one series' interval is judged under imprecision).",
        )
    i2_text = f"; I² = {i2:.0f}% (reported, not used by the rule)" if i2 == i2 else ""
    if not (tau2 == tau2):  # no between-series variance estimated: the spread is unbounded, not zero
        return DomainRating(
            "inconsistency",
            "very serious",
            -2,
            "computed",
            f"{int(k)} series but no between-series variance could be estimated, so the spread is taken as "
            f"unbounded{i2_text}.",
        )
    lo, hi = true_rate_range(estimate, tau2)
    what = f"the range of the series' true rates ({lo:.1f}% to {hi:.1f}%, {hi - lo:.1f} points)"
    if decision_points:
        down, why = _by_thresholds(lo, hi, decision_points, what)
    else:
        down, why = _by_width(hi - lo, thresholds.spread_width_serious, thresholds.spread_width_very_serious, what)
    return DomainRating("inconsistency", _JUDGEMENT[down], down, "computed", why[0].upper() + why[1:] + i2_text + ".")


def rate_imprecision(
    k: int,
    n_patients: int,
    ci_low: float,
    ci_high: float,
    thresholds: Thresholds,
    decision_points: list[tuple[float, str]] | None = None,
) -> DomainRating:
    """Imprecision from the 95% confidence interval of the pooled mean (or of the one series' rate).

    Rule: with comparable photon figures (``decision_points``), not serious if the interval crosses no decision
    threshold, serious if it crosses one, very serious if it crosses two or more (clinical action would differ
    between its ends); without them, serious if it is wider than ``ci_width_serious`` points, very serious if
    wider than ``ci_width_very_serious``. Then at least serious with fewer patients than the optimal
    information size (:attr:`Thresholds.information_size`), and at least serious with one series (its interval
    holds one centre's patients only and no spread between centres can enter it). The interval of the mean is
    used, never the prediction interval: the spread between series is judged under inconsistency only.
    """
    width = float(ci_high) - float(ci_low)
    facts = (
        f"{int(k)} series, {int(n_patients)} patients; 95% CI {ci_low:.1f}% to {ci_high:.1f}%, {width:.1f} points wide"
    )
    what = "the 95% CI"
    if decision_points:
        down, why = _by_thresholds(float(ci_low), float(ci_high), decision_points, what)
    else:
        down, why = _by_width(width, thresholds.ci_width_serious, thresholds.ci_width_very_serious, what)
    reasons = [why]
    ois = thresholds.information_size
    if int(n_patients) < ois:
        down = min(down, -1)
        reasons.append(f"fewer patients than the optimal information size ({ois})")
    if int(k) < 2:
        down = min(down, -1)
        reasons.append(
            "one series only: its interval holds one centre's patients, with no other series to replicate it"
        )
    return DomainRating("imprecision", _JUDGEMENT[down], down, "computed", f"{facts}: " + "; ".join(reasons) + ".")


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


#: Comparable photon figures per landmark: ``{(endpoint, horizon_years): [(label, rate percent), ...]}``.
DecisionFigures = Mapping[tuple[str, float], Iterable[tuple[str, float]]]


def decision_points_for(
    thresholds: Thresholds, figures: DecisionFigures | None, endpoint: str, horizon_years: float, population: str
) -> list[tuple[float, str]]:
    """The decision thresholds that apply to one landmark and population: the comparable photon figures of
    the landmark plus and minus the margin, for :data:`DECISION_POPULATIONS` only; empty otherwise (the width
    rules then apply)."""
    if not figures or population not in DECISION_POPULATIONS:
        return []
    return thresholds.decision_points(figures.get((str(endpoint), float(horizon_years)), ()))


def rate(
    result: Mapping[str, Any],
    judgements: pd.DataFrame,
    endpoint: str,
    horizon_years: float,
    population: str,
    thresholds: Thresholds,
    figures: DecisionFigures | None = None,
) -> Certainty:
    """Rate one landmark: ``result`` is its primary pooled (or single-series) row (percent scale, with
    ``tau2`` on the logit scale); ``figures`` the comparable photon figures (:data:`DecisionFigures`)."""
    k = int(result["k"])
    nan = float("nan")
    points = decision_points_for(thresholds, figures, endpoint, horizon_years, population)
    computed = {
        "inconsistency": rate_inconsistency(
            k,
            float(result["estimate"]),
            float(result.get("tau2", nan)),
            thresholds,
            points,
            i2=float(result.get("i2", nan)),
        ),
        "imprecision": rate_imprecision(
            k, int(result["n_patients"]), float(result["ci_low"]), float(result["ci_high"]), thresholds, points
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
    *,
    thresholds: Thresholds,
    figures: DecisionFigures | None = None,
) -> list[Certainty]:
    """Rate every landmark in every population that has at least one series reporting it, each shared
    cohort counted once (:mod:`sarcoma_review.data.overlap`, applied to the landmark before the population
    is taken, as the pooled pages' strata are).

    ``pool(rows, endpoint, horizon)`` returns the primary result row (default: REML with HKSJ,
    :func:`sarcoma_review.stats.sensitivity.pool_primary`); ``thresholds`` and ``figures`` as :func:`rate`.
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
            out.append(rate(res, judgements, ep, float(hz), pop, thresholds, figures))
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
