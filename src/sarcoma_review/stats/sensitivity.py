"""One pooled analysis: the primary model and its sensitivity panel (numbers only).

The pooled chapter (``book/pooled.ipynb`` through :mod:`sarcoma_review.pages.pooled`) calls
:func:`run_analysis`; the release tooling calls :func:`pool_primary`, which is the same primary
model that :func:`run_analysis` puts first. Nothing statistical happens in a notebook.

Each row of the panel carries a key saying what it is (:data:`VARIANTS`), so pages never parse
a row's label to recognise it. Besides the panel, each analysis is split into strata
(:data:`STRATA`: histology -- chordoma series against all others --, particle group and site),
each stratum pooled on its own (one series is shown as that series, never as a pooled estimate),
with the between-subgroup tests where the strata do not overlap (:class:`Stratification`).
:func:`estimates_table` is every estimate a pooled page shows, in one table (its published CSV).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sarcoma_review.data import overlap, vocabulary
from sarcoma_review.stats import moderators, pooling, survival

#: Below this many studies HKSJ intervals are very wide; the Bayesian estimate is shown beside them.
SMALL_K = 5
#: A wider half-normal scale for tau than the primary prior's 0.5: the prior-sensitivity row.
WIDE_TAU_SCALE = 1.0


#: The keys of the sensitivity panel, one per kind of row, in the order :func:`run_analysis` adds them.
#: ``"tau2:<method>/<ci>"`` rows (every other estimator and interval) are formed from
#: :data:`sarcoma_review.stats.pooling.TAU2_METHODS` and ``CI_METHODS``.
#: ``PLAIN_HKSJ``: HKSJ without the ad hoc correction (its scale factor may fall below 1), beside a
#: primary ad hoc interval; ``ADHOC``: the ad hoc interval beside a primary plain HKSJ one (an analyst's choice).
#: ``PI_K2``: the primary fit with Higgins' t(k-2) prediction interval instead of metafor's t(k-1)
#: (only with k >= 3); ``EFFECTIVE_N``: the primary model with a series' n replaced by its effective
#: sample size at the landmark (only when one is known, see :func:`greenwood_effective_n`).
#: ``ALL_SERIES``: the primary model on every series as published, overlapping cohorts included (only
#: when the overlap rule left a series out, see :mod:`sarcoma_review.data.overlap`).
PRIMARY, SINGLE, ADHOC, PLAIN_HKSJ, PI_K2, HALVED_N, EFFECTIVE_N, GLMM, BAYES, BAYES_WIDE, ALL_SERIES = (
    "primary",
    "single study",
    "hksj-adhoc",
    "hksj-plain",
    "pi-k2",
    "halved-n",
    "effective-n",
    "glmm",
    "bayes",
    "bayes-wide",
    "all-series",
)
#: ``ONE_PER_CENTRE``: the primary model on the largest series of each centre (``literature/centres``;
#: only when that leaves a series out and two or more remain). ``NO_CHORDOMA_MAJORITY``: without the
#: series most of whose patients have a chordoma (:func:`chordoma_majority`; same conditions).
ONE_PER_CENTRE, NO_CHORDOMA_MAJORITY = "one-per-centre", "no-chordoma-majority"
VARIANTS = (
    PRIMARY,
    SINGLE,
    ADHOC,
    PLAIN_HKSJ,
    PI_K2,
    HALVED_N,
    EFFECTIVE_N,
    GLMM,
    BAYES,
    BAYES_WIDE,
    ALL_SERIES,
    ONE_PER_CENTRE,
    NO_CHORDOMA_MAJORITY,
)
#: Keys of the other estimates a page shows (the ``variant`` column of :func:`estimates_table`).
STRATUM, LEAVE_ONE_OUT, CUMULATIVE = "stratum", "leave-one-out", "cumulative"

#: The study columns each pooled page is split by, in display order. Only strata that cannot
#: overlap are tested against each other: a "Various" site (or histology) label may contain the
#: sites of other series, so site strata are shown without a test.
STRATA = (vocabulary.HISTOLOGY_STRATUM, "particle_group", "site")
TESTED_STRATA = (vocabulary.HISTOLOGY_STRATUM, "particle_group")


def chordoma_majority(rows: pd.DataFrame) -> pd.Series:
    """True for a series most of whose patients have a chordoma: ``patient_group`` chordoma, or a chordoma
    count above half its patients. A series that gives no count and is not a chordoma series is False
    (it cannot be shown to be one)."""
    group = rows.get("patient_group", pd.Series("", index=rows.index)).astype("string").fillna("").str.lower()
    n_ch = pd.to_numeric(rows.get("n_chordoma", pd.Series(np.nan, index=rows.index)), errors="coerce")
    named = (group.str.strip() == "chordoma").fillna(False).astype(bool)
    counted = (n_ch > rows["n_patients"].astype(float) / 2).fillna(False).astype(bool)
    return named | counted


def _subset_rows(
    d: pd.DataFrame, kw: dict, tau2_method: str, ci_method: str, parts: list, variants: list
) -> tuple[dict, dict]:
    """The one-per-centre and without-chordoma-majority rows, when each leaves a series out and two remain;
    returns ``(left_out, skipped)`` as :class:`PooledAnalysis` keeps them."""
    left_out: dict[str, tuple[str, ...]] = {}
    skipped: dict[str, str] = {}
    subsets = {
        ONE_PER_CENTRE: (overlap.one_per_centre(d), "every series comes from its own centre"),
        NO_CHORDOMA_MAJORITY: (d[~chordoma_majority(d)], "no series has a chordoma majority"),
    }
    for variant, (rows, none_why) in subsets.items():
        left = sorted(set(d["study_id"].astype(str)) - set(rows["study_id"].astype(str)))
        if left:
            left_out[variant] = tuple(left)
        if not left:
            skipped[variant] = none_why
        elif len(rows) < 2:
            skipped[variant] = f"leaving out {len(left)} series leaves {len(rows)}: nothing to pool"
        else:
            parts.append(pooling.pool(rows, tau2_method=tau2_method, ci_method=ci_method, **kw))
            variants.append(variant)
    return left_out, skipped


def estimator_variant(tau2_method: str, ci_method: str) -> str:
    """The key of the panel row that pools with another estimator or interval: ``"tau2:DL/Wald"``."""
    return f"tau2:{tau2_method}/{ci_method}"


def pool_primary(
    rows: pd.DataFrame,
    endpoint: str,
    horizon_years: float,
    *,
    tau2_method: str = "REML",
    ci_method: str = pooling.PRIMARY_CI,
    analysis_id: str | None = None,
    subgroup: str | None = None,
) -> pd.DataFrame:
    """The primary random-effects result of one landmark (or one per value of ``subgroup``).

    The first row of :func:`run_analysis` and the rows a release freezes both come from here.
    """
    return pooling.pool(
        rows,
        endpoint,
        horizon_years,
        tau2_method=tau2_method,
        ci_method=ci_method,
        analysis_id=analysis_id,
        subgroup=subgroup,
    )


@dataclass(frozen=True)
class PooledAnalysis:
    """Everything one pooled page shows.

    Attributes
    ----------
    primary : pd.Series
        The primary result (one row of :data:`sarcoma_review.stats.pooling.RESULT_COLUMNS`).
    estimates : pd.DataFrame
        Primary plus every sensitivity result, in the tidy result shape (written as the page's CSV).
    studies : pd.DataFrame
        Per-study table for the forest plot (rate, 95% CI, weight), joined with study columns.
    leave_one_out, cumulative : pd.DataFrame
        Leave-one-out and cumulative-by-year results (empty when ``k < 2``).
    variants : tuple of str
        One key per row of ``estimates`` (:data:`VARIANTS` or :func:`estimator_variant`).
    strata : tuple of Stratification
        One per column of :data:`STRATA` present in the data.
    stand_ins : pd.DataFrame
        The overlap groups in which one series stood in for others
        (:func:`sarcoma_review.data.overlap.stand_ins`; empty when none).
    effective_n : dict
        ``{study_id: EffectiveN}`` used by the ``EFFECTIVE_N`` row (empty when there is none).
    """

    primary: pd.Series
    estimates: pd.DataFrame
    studies: pd.DataFrame
    leave_one_out: pd.DataFrame
    cumulative: pd.DataFrame
    variants: tuple[str, ...] = ()
    strata: tuple[Stratification, ...] = ()
    effective_n: dict = field(default_factory=dict)
    stand_ins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(overlap.STAND_IN_COLUMNS)))
    #: ``{variant: study ids left out}`` of the ``ONE_PER_CENTRE`` and ``NO_CHORDOMA_MAJORITY`` rows, and of
    #: those not run (``skipped``: ``{variant: why}``).
    left_out: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.primary["k"])

    @property
    def is_pooled(self) -> bool:
        """False when only one study reports this landmark (nothing is pooled)."""
        return self.primary["model"] != "single study"


def landmark_rows(
    literature: pd.DataFrame, endpoint: str, horizon_years: float, *, every_series: bool = False
) -> pd.DataFrame:
    """The rows of ``literature`` for one endpoint at one horizon (possibly none), each shared cohort
    counted once (:func:`sarcoma_review.data.overlap.independent`) unless ``every_series``."""
    d = literature[
        (literature["endpoint"] == endpoint) & (literature["horizon_years"].astype(float) == float(horizon_years))
    ]
    return d if every_series else overlap.independent(d)


def select_landmark(
    literature: pd.DataFrame,
    endpoint: str,
    horizon_years: float,
    subgroup_column: str | None = None,
    subgroup_value: str | None = None,
) -> pd.DataFrame:
    """The study rows reporting ``endpoint`` at ``horizon_years`` (optionally one subgroup), every series
    as published (:func:`run_analysis` then counts each shared cohort once).

    Raises a ValueError naming what is available when nothing matches.
    """
    d = landmark_rows(literature, endpoint, horizon_years, every_series=True)
    if subgroup_column:
        if subgroup_column not in literature.columns:
            raise ValueError(
                f"subgroup column {subgroup_column!r} is not a study column; choose one of {sorted(literature.columns)}"
            )
        d = d[d[subgroup_column].astype(str) == str(subgroup_value)]
    if d.empty:
        have = (
            literature[["endpoint", "horizon_years"]]
            .drop_duplicates()
            .sort_values(["endpoint", "horizon_years"])
            .itertuples(index=False)
        )
        avail = ", ".join(f"{e} at {h:g} years" for e, h in have)
        what = f"{endpoint} at {horizon_years:g} years"
        if subgroup_column:
            what += f" with {subgroup_column} = {subgroup_value!r}"
        raise ValueError(f"no study reports {what}; the data have {avail}")
    return d.reset_index(drop=True)


@dataclass(frozen=True)
class EffectiveN:
    """A series' effective sample size at one landmark, and how it was obtained.

    ``n_eff = S (1 - S) / Var(S)``: the number of patients followed completely to the landmark
    whose binomial variance equals the Kaplan-Meier estimate's Greenwood variance. The primary
    model gives each series the binomial variance of all its ``n`` patients, as if none had been
    censored before the landmark; ``n_eff`` is the n that carries the information its Kaplan-Meier
    rate actually has (held at most ``n_reported``). ``n_at_risk`` is the number still followed at the
    landmark, shown beside it (with usual censoring patterns a lower value than ``n_eff``).
    """

    study_id: str
    n_reported: float
    n_eff: float
    n_at_risk: int
    surv: float
    source: str
    #: False when the reconstruction does not honour the series' rate at this landmark: then the
    #: series does not enter with ``n_eff`` (``why`` says so on the page).
    honoured: bool = True
    why: str = ""


def greenwood_effective_n(time, event, t: float) -> dict:
    """Kaplan-Meier ``S(t)``, its Greenwood variance, effective sample size and number at risk at ``t``.

    ``Var(S(t)) = S(t)^2 sum_{t_j <= t} d_j / (n_j (n_j - d_j))`` (Greenwood; R ``survfit``'s
    ``std.err`` on the survival scale), ``n_eff = S (1 - S) / Var``. ``n_eff`` is NaN when
    ``S(t)`` is 0 or 1 (no binomial information to match).
    """
    km = survival.kaplan_meier(time, event)
    upto = km[km["time"] <= t]
    n, d = upto["n_risk"].to_numpy(float), upto["n_event"].to_numpy(float)
    s = float(upto["surv"].iloc[-1]) if len(upto) else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d > 0, d / (n * (n - d)), 0.0)
    var = s**2 * float(terms.sum())
    n_eff = s * (1 - s) / var if 0 < s < 1 and var > 0 else float("nan")
    at_risk = int((np.asarray(time, float) >= t).sum())
    return {"surv": s, "var": var, "se": float(np.sqrt(var)), "n_eff": n_eff, "n_risk": at_risk}


@dataclass(frozen=True)
class Stratification:
    """One study column's strata at one landmark: each stratum's estimate and the between-strata tests.

    Attributes
    ----------
    column : str
        The study column (one of :data:`STRATA`).
    estimates : pd.DataFrame
        One row per stratum (:data:`sarcoma_review.stats.pooling.RESULT_COLUMNS`): pooled when
        it holds two or more series (``kind = "pooled"``), else that series (``kind = "single
        series"``, ``series`` naming it, its own rate and Wald CI).
    tested : bool
        Whether the strata are tested against each other (:data:`TESTED_STRATA`).
    test : dict
        ``f``, ``df1``, ``df2``, ``p_moderator`` (mixed-effects moderator test, common tau²,
        Knapp-Hartung F), ``q_between``, ``q_df``, ``p_between`` (Q test on separately pooled
        strata, each with its Wald SE) and ``note`` saying why a test is missing (NaN then).
    """

    column: str
    estimates: pd.DataFrame
    tested: bool
    test: dict


def stratify(
    d: pd.DataFrame,
    column: str,
    *,
    tau2_method: str = "REML",
    ci_method: str = pooling.PRIMARY_CI,
    analysis_id: str | None = None,
) -> Stratification:
    """Pool each value of ``column`` separately and test the strata (:class:`Stratification`)."""
    ep, hz = str(d["endpoint"].iloc[0]), float(d["horizon_years"].iloc[0])
    est = pooling.pool(d, tau2_method=tau2_method, ci_method=ci_method, analysis_id=analysis_id, subgroup=column)
    groups = int(d[column].nunique())
    test = {
        "f": np.nan,
        "df1": np.nan,
        "df2": np.nan,
        "p_moderator": np.nan,
        "q_between": np.nan,
        "q_df": np.nan,
        "p_between": np.nan,
        "note": "",
    }
    tested = column in TESTED_STRATA
    if not tested:
        test["note"] = (
            "not tested: the labels overlap (a series of 'Various' sites may include the sites of other series)"
        )
    elif groups < 2:
        test["note"] = f"all {len(d)} series are in one stratum: nothing to compare"
    else:
        q, _ = moderators.subgroup_q_test(d, column, ep, hz, tau2_method=tau2_method)
        test.update(q_between=q["q"], q_df=q["df"], p_between=q["p"])
        if len(d) <= groups:
            test["note"] = f"{len(d)} series cannot estimate {groups} stratum means and τ²: no moderator test"
        else:
            summary, _ = moderators.moderator_test(d, column, ep, hz, tau2_method=tau2_method, ci_method=ci_method)
            test.update(f=summary["statistic"], df1=summary["df1"], df2=summary["df2"], p_moderator=summary["p"])
    return Stratification(column=column, estimates=est, tested=tested, test=test)


def _labelled_stand_ins(d_all: pd.DataFrame) -> pd.DataFrame:
    """The overlap rule's stand-ins, with the kept and left-out series' labels when the data give them."""
    stand = overlap.stand_ins(d_all)
    if len(stand) and {"first_author", "year"} <= set(d_all.columns):
        names = {str(r.study_id): vocabulary.study_label(r.first_author, r.year) for r in d_all.itertuples()}
        stand["kept_label"] = [names[k] for k in stand["kept"]]
        stand["left_out_labels"] = [", ".join(names[x] for x in v.split()) for v in stand["left_out"]]
    return stand


def _estimator_rows(
    d: pd.DataFrame, primary: pd.DataFrame, tau2_method: str, ci_method: str, kw: dict, parts: list, variants: list
) -> None:
    """Every other tau² estimator and interval, HKSJ with (or without) the ad hoc correction, the t(k-2)
    prediction interval."""
    for m in pooling.TAU2_METHODS:
        for c in pooling.CI_METHODS:
            if (m, c) != (primary["tau2_method"].iat[0], primary["ci_method"].iat[0]):
                parts.append(pooling.pool(d, tau2_method=m, ci_method=c, **kw))
                variants.append(estimator_variant(m, c))
    other_hksj = {"HKSJ": (pooling.ADHOC, ADHOC), pooling.ADHOC: ("HKSJ", PLAIN_HKSJ)}.get(primary["ci_method"].iat[0])
    if other_hksj is not None:
        parts.append(pooling.pool(d, tau2_method=tau2_method, ci_method=other_hksj[0], **kw))
        variants.append(other_hksj[1])
    if len(d) >= 3:
        parts.append(pooling.pool(d, tau2_method=tau2_method, ci_method=ci_method, pi_convention="k-2", **kw))
        variants.append(PI_K2)


def _effective_n_row(
    d: pd.DataFrame,
    used_eff: Mapping[str, EffectiveN],
    tau2_method: str,
    ci_method: str,
    kw: dict,
    parts: list,
    variants: list,
) -> None:
    """The primary model with each series' own effective sample size where one is honoured."""
    if not used_eff:
        return
    d_eff = d.copy()
    d_eff["n_patients"] = d_eff["n_patients"].astype(float)
    for s, e in used_eff.items():
        d_eff.loc[d_eff["study_id"].astype(str) == s, "n_patients"] = e.n_eff
    names = ", ".join(f"{s}: {e.n_eff:.1f} instead of {e.n_reported:g}" for s, e in used_eff.items())
    parts.append(
        pooling.pool(
            d_eff, tau2_method=tau2_method, ci_method=ci_method, model=f"random effects, effective n ({names})", **kw
        )
    )
    variants.append(EFFECTIVE_N)


def _panel(
    d: pd.DataFrame,
    primary: pd.DataFrame,
    tau2_method: str,
    ci_method: str,
    kw: dict,
    effective_n: Mapping[str, EffectiveN] | None,
    parts: list,
    variants: list,
):
    """The sensitivity rows (appended to ``parts``/``variants``); returns leave-one-out, cumulative and
    the effective sample sizes known for the pooled series."""
    _estimator_rows(d, primary, tau2_method, ci_method, kw, parts, variants)
    parts.append(pooling.pool(d, tau2_method=tau2_method, ci_method=ci_method, n_scale=0.5, **kw))
    variants.append(HALVED_N)
    known_eff = {s: e for s, e in (effective_n or {}).items() if s in set(d["study_id"].astype(str))}
    _effective_n_row(d, {s: e for s, e in known_eff.items() if e.honoured}, tau2_method, ci_method, kw, parts, variants)
    parts.append(pooling.pool_glmm(d, **kw))
    parts.append(pooling.pool_bayes(d, **kw))
    parts.append(pooling.pool_bayes(d, tau_scale=WIDE_TAU_SCALE, **kw))
    variants += [GLMM, BAYES, BAYES_WIDE]
    loo = pooling.leave_one_out(d, tau2_method=tau2_method, ci_method=ci_method, **kw)
    cum = pooling.cumulative(d, tau2_method=tau2_method, ci_method=ci_method, **kw)
    return loo, cum, known_eff


def _study_rows(d: pd.DataFrame, tau2_method: str) -> pd.DataFrame:
    """The per-series table with the series' descriptive columns and labels."""
    studies = pooling.study_table(d, tau2_method=tau2_method)
    extra = [
        c
        for c in (
            "study_id",
            "first_author",
            "particle_group",
            "site",
            "histology",
            "patient_group",
            "n_chordoma",
            vocabulary.HISTOLOGY_STRATUM,
            "source_outcome",
        )
        if c in d.columns
    ]
    studies = studies.merge(d[extra], on="study_id", how="left")
    studies["label"] = [vocabulary.study_label(a, y) for a, y in zip(studies["first_author"], studies["year"])]
    return studies


def run_analysis(
    literature: pd.DataFrame,
    endpoint: str,
    horizon_years: float,
    *,
    tau2_method: str = "REML",
    ci_method: str = pooling.PRIMARY_CI,
    analysis_id: str | None = None,
    subgroup_column: str | None = None,
    subgroup_value: str | None = None,
    effective_n: Mapping[str, EffectiveN] | None = None,
    panel: bool = True,
) -> PooledAnalysis:
    """Pool one landmark, run the sensitivity panel and split it into strata.

    With ``panel=False`` only the primary model and the per-series table are computed (no
    sensitivity rows, leave-one-out, cumulative or strata): what a forest plot needs.

    The panel: every other tau² estimator (REML, DL, PM) and interval (HKSJ with the ad hoc correction,
    Wald), HKSJ without the correction (its scale factor may fall below 1), the prediction interval
    with t(k-2) instead of t(k-1) (k >= 3), the binomial-normal GLMM on reconstructed events, halved effective sample
    size, a series' own effective sample size where ``effective_n`` gives one for a pooled
    series, and the Bayesian normal-normal model with the primary prior on tau and a wider one
    (always computed; emphasised when ``k <`` :data:`SMALL_K`). With one study, only the
    single-study row is returned. The strata are those of :data:`STRATA` (:func:`stratify`).

    Shared cohorts are counted once (:mod:`sarcoma_review.data.overlap`): every row of the page is
    computed on the series the overlap rule keeps, and, when it left one out, the panel adds the
    primary model on every series as published (``ALL_SERIES``).
    """
    literature = vocabulary.with_strata(literature)
    d_all = select_landmark(literature, endpoint, horizon_years, subgroup_column, subgroup_value)
    d = overlap.independent(d_all).reset_index(drop=True)
    stand = _labelled_stand_ins(d_all)
    aid = analysis_id or f"{endpoint}_{horizon_years:g}y"
    kw = dict(endpoint=endpoint, horizon_years=horizon_years, analysis_id=aid)
    primary = pool_primary(d, endpoint, horizon_years, tau2_method=tau2_method, ci_method=ci_method, analysis_id=aid)
    parts = [primary]
    variants = [PRIMARY if len(d) >= 2 else SINGLE]
    loo = cum = pd.DataFrame(columns=pooling.RESULT_COLUMNS)
    known_eff: dict[str, EffectiveN] = {}
    if len(d) >= 2 and panel:
        loo, cum, known_eff = _panel(d, primary, tau2_method, ci_method, kw, effective_n, parts, variants)
    if len(stand) and len(d_all) >= 2 and panel:
        parts.append(
            pool_primary(d_all, endpoint, horizon_years, tau2_method=tau2_method, ci_method=ci_method, analysis_id=aid)
        )
        variants.append(ALL_SERIES)
    left_out, skipped = (
        _subset_rows(d, kw, tau2_method, ci_method, parts, variants) if len(d) >= 2 and panel else ({}, {})
    )
    estimates = pd.concat(parts, ignore_index=True)
    estimates["analysis_id"] = aid
    if subgroup_column:
        estimates["subgroup_column"] = subgroup_column
        estimates["subgroup_value"] = str(subgroup_value)
    studies = _study_rows(d, tau2_method)
    strata = (
        tuple(
            stratify(d, c, tau2_method=tau2_method, ci_method=ci_method, analysis_id=aid)
            for c in STRATA
            if c in d.columns and c != subgroup_column
        )
        if panel
        else ()
    )
    return PooledAnalysis(
        primary=estimates.iloc[0],
        estimates=estimates,
        studies=studies,
        leave_one_out=loo,
        cumulative=cum,
        variants=tuple(variants),
        strata=strata,
        effective_n=known_eff if len(d) >= 2 and panel else {},
        stand_ins=stand,
        left_out=left_out,
        skipped=skipped,
    )


def interval_moves(a: PooledAnalysis) -> pd.DataFrame:
    """How each sensitivity row moves the estimate and both intervals against the primary model.

    One row per row of ``a.estimates`` after the first: ``variant``, the estimate, CI and PI
    bounds, and their differences from the primary's (percentage points; NaN where a row has no
    such interval, e.g. the prediction interval of a Bayesian or t(k-2) row with two series).
    """
    p = a.primary
    e = a.estimates.iloc[1:].copy()
    e.insert(0, "variant", list(a.variants[1:]))
    for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        e[f"d_{col}"] = e[col].astype(float) - float(p[col])
    return e.reset_index(drop=True)


#: Columns of :func:`estimates_table` after :data:`sarcoma_review.stats.pooling.RESULT_COLUMNS`.
TABLE_EXTRA = ["variant"]


def estimates_table(a: PooledAnalysis) -> pd.DataFrame:
    """Every estimate one pooled page shows, in the tidy result shape plus ``variant``.

    Rows: the primary model and each sensitivity row (``variant`` from :data:`VARIANTS`), every
    stratum (``variant = "stratum"``, ``subgroup_column`` naming the column), leave-one-out
    (``"leave-one-out"``, ``subgroup_value`` = the omitted series) and cumulative
    (``"cumulative"``, ``subgroup_value`` = the series added). ``kind`` says whether a row is
    pooled or one series shown as itself; ``series`` names that series.
    """
    labels = a.studies.set_index("study_id")["label"].to_dict()
    parts = [a.estimates.assign(variant=list(a.variants))]
    for s in a.strata:
        parts.append(s.estimates.assign(variant=STRATUM))
    if not a.leave_one_out.empty:
        loo = a.leave_one_out.assign(variant=LEAVE_ONE_OUT)
        only = {sid: [o for o in labels if o != sid] for sid in labels}
        loo["series"] = [labels[only[s][0]] if k == 1 else "" for s, k in zip(loo["subgroup_value"], loo["k"])]
        parts.append(loo)
    if not a.cumulative.empty:
        cum = a.cumulative.assign(variant=CUMULATIVE)
        cum["series"] = [labels.get(s, s) if k == 1 else "" for s, k in zip(cum["subgroup_value"], cum["k"])]
        parts.append(cum)
    out = pd.concat([x for x in parts if not x.empty], ignore_index=True)
    out["analysis_id"] = a.primary["analysis_id"]
    out["kind"] = np.where(out["k"].astype(int) == 1, pooling.SINGLE_SERIES, pooling.POOLED)
    out["series"] = out["series"].fillna("")
    return out[pooling.RESULT_COLUMNS + TABLE_EXTRA]


#: Key (``variant``) of the row that pools a landmark without the series whose value the reproduction
#: audit flags (added by the pooled pages, :mod:`sarcoma_review.pages.pooled`; not part of the panel).
WITHOUT_FLAGGED = "without-audit-flags"


def pool_without(
    literature: pd.DataFrame,
    endpoint: str,
    horizon_years: float,
    drop: Iterable[str],
    *,
    tau2_method: str = "REML",
    ci_method: str = pooling.PRIMARY_CI,
    analysis_id: str | None = None,
    subgroup_column: str | None = None,
    subgroup_value: str | None = None,
) -> pd.DataFrame:
    """The primary model on the series :func:`run_analysis` pools (shared cohorts counted once), the
    series ``drop`` left out: one row (one series shown as itself when one remains; no row when none
    remains)."""
    d = overlap.independent(
        select_landmark(vocabulary.with_strata(literature), endpoint, horizon_years, subgroup_column, subgroup_value)
    )
    d = d[~d["study_id"].astype(str).isin({str(s) for s in drop})].reset_index(drop=True)
    if d.empty:
        return pd.DataFrame(columns=pooling.RESULT_COLUMNS)
    aid = analysis_id or f"{endpoint}_{horizon_years:g}y"
    return pool_primary(d, endpoint, horizon_years, tau2_method=tau2_method, ci_method=ci_method, analysis_id=aid)
