"""One pooled analysis: the primary model and its sensitivity panel (numbers only).

The pooled chapter (``book/pooled.ipynb`` through :mod:`sarcoma_review.pages.pooled`) calls
:func:`run_analysis`; the release tooling calls :func:`pool_primary`, which is the same primary
model that :func:`run_analysis` puts first. Nothing statistical happens in a notebook.

Each row of the panel carries a key saying what it is (:data:`VARIANTS`), so pages never parse
a row's label to recognise it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sarcoma_review.stats import pooling

#: Below this many studies HKSJ intervals are very wide; the Bayesian estimate is shown beside them.
SMALL_K = 5
#: A wider half-normal scale for tau than the primary prior's 0.5: the prior-sensitivity row.
WIDE_TAU_SCALE = 1.0


#: The keys of the sensitivity panel, one per kind of row, in the order :func:`run_analysis` adds them.
#: ``"tau2:<method>/<ci>"`` rows (every other estimator and interval) are formed from
#: :data:`sarcoma_review.stats.pooling.TAU2_METHODS` and ``CI_METHODS``.
PRIMARY, SINGLE, ADHOC, HALVED_N, GLMM, BAYES, BAYES_WIDE = (
    "primary", "single study", "hksj-adhoc", "halved-n", "glmm", "bayes", "bayes-wide")
VARIANTS = (PRIMARY, SINGLE, ADHOC, HALVED_N, GLMM, BAYES, BAYES_WIDE)


def estimator_variant(tau2_method: str, ci_method: str) -> str:
    """The key of the panel row that pools with another estimator or interval: ``"tau2:DL/Wald"``."""
    return f"tau2:{tau2_method}/{ci_method}"


def pool_primary(rows: pd.DataFrame, endpoint: str, horizon_years: float, *, tau2_method: str = "REML",
                 ci_method: str = "HKSJ", analysis_id: str | None = None,
                 subgroup: str | None = None) -> pd.DataFrame:
    """The primary random-effects result of one landmark (or one per value of ``subgroup``).

    The first row of :func:`run_analysis` and the rows a release freezes both come from here.
    """
    return pooling.pool(rows, endpoint, horizon_years, method=tau2_method, ci=ci_method,
                        analysis_id=analysis_id, subgroup=subgroup)


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
    """

    primary: pd.Series
    estimates: pd.DataFrame
    studies: pd.DataFrame
    leave_one_out: pd.DataFrame
    cumulative: pd.DataFrame
    variants: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        return int(self.primary["k"])

    @property
    def is_pooled(self) -> bool:
        """False when only one study reports this landmark (nothing is pooled)."""
        return self.primary["model"] != "single study"


def landmark_rows(literature: pd.DataFrame, endpoint: str, horizon_years: float) -> pd.DataFrame:
    """The rows of ``literature`` for one endpoint at one horizon (possibly none)."""
    return literature[(literature["endpoint"] == endpoint)
                      & (literature["horizon_years"].astype(float) == float(horizon_years))]


def select_landmark(literature: pd.DataFrame, endpoint: str, horizon_years: float,
                    subgroup_column: str | None = None, subgroup_value: str | None = None) -> pd.DataFrame:
    """The study rows reporting ``endpoint`` at ``horizon_years`` (optionally one subgroup).

    Raises a ValueError naming what is available when nothing matches.
    """
    d = landmark_rows(literature, endpoint, horizon_years)
    if subgroup_column:
        if subgroup_column not in literature.columns:
            raise ValueError(f"subgroup column {subgroup_column!r} is not a study column; "
                             f"choose one of {sorted(literature.columns)}")
        d = d[d[subgroup_column].astype(str) == str(subgroup_value)]
    if d.empty:
        have = (literature[["endpoint", "horizon_years"]].drop_duplicates()
                .sort_values(["endpoint", "horizon_years"]).itertuples(index=False))
        avail = ", ".join(f"{e} at {h:g} years" for e, h in have)
        what = f"{endpoint} at {horizon_years:g} years"
        if subgroup_column:
            what += f" with {subgroup_column} = {subgroup_value!r}"
        raise ValueError(f"no study reports {what}; the data have {avail}")
    return d.reset_index(drop=True)


def run_analysis(literature: pd.DataFrame, endpoint: str, horizon_years: float, *,
                 tau2_method: str = "REML", ci_method: str = "HKSJ", analysis_id: str | None = None,
                 subgroup_column: str | None = None, subgroup_value: str | None = None) -> PooledAnalysis:
    """Pool one landmark and run the sensitivity panel.

    The panel: every other tau² estimator (REML, DL, PM) and interval (HKSJ, Wald), HKSJ with the
    ad hoc correction (scale factor at least 1), the binomial-normal GLMM on reconstructed
    events, halved effective sample size, and the Bayesian normal-normal model with the primary
    prior on tau and a wider one (always computed; emphasised when ``k <`` :data:`SMALL_K`).
    With one study, only the single-study row is returned.
    """
    d = select_landmark(literature, endpoint, horizon_years, subgroup_column, subgroup_value)
    aid = analysis_id or f"{endpoint}_{horizon_years:g}y"
    kw = dict(endpoint=endpoint, horizon=horizon_years, analysis_id=aid)
    primary = pool_primary(d, endpoint, horizon_years, tau2_method=tau2_method, ci_method=ci_method,
                           analysis_id=aid)
    parts = [primary]
    variants = [PRIMARY if len(d) >= 2 else SINGLE]
    loo = cum = pd.DataFrame(columns=pooling.RESULT_COLUMNS)
    if len(d) >= 2:
        for m in pooling.TAU2_METHODS:
            for c in pooling.CI_METHODS:
                if (m, c) != (primary["tau2_method"].iat[0], primary["ci_method"].iat[0]):
                    parts.append(pooling.pool(d, method=m, ci=c, **kw))
                    variants.append(estimator_variant(m, c))
        if primary["ci_method"].iat[0] == "HKSJ":
            parts.append(pooling.pool(d, method=tau2_method, ci=pooling.ADHOC, **kw))
            variants.append(ADHOC)
        parts.append(pooling.pool(d, method=tau2_method, ci=ci_method, n_scale=0.5, **kw))
        parts.append(pooling.pool_glmm(d, **kw))
        parts.append(pooling.pool_bayes(d, **kw))
        parts.append(pooling.pool_bayes(d, tau_scale=WIDE_TAU_SCALE, **kw))
        variants += [HALVED_N, GLMM, BAYES, BAYES_WIDE]
        loo = pooling.leave_one_out(d, method=tau2_method, ci=ci_method, **kw)
        cum = pooling.cumulative(d, method=tau2_method, ci=ci_method, **kw)
    estimates = pd.concat(parts, ignore_index=True)
    estimates["analysis_id"] = aid
    if subgroup_column:
        estimates["subgroup_column"] = subgroup_column
        estimates["subgroup_value"] = str(subgroup_value)
    studies = pooling.study_table(d, method=tau2_method)
    extra = [c for c in ("study_id", "first_author", "particle_group", "site", "histology", "source_outcome")
             if c in d.columns]
    studies = studies.merge(d[extra], on="study_id", how="left")
    studies["label"] = [f"{a} {int(y)}" for a, y in zip(studies["first_author"], studies["year"])]
    return PooledAnalysis(primary=estimates.iloc[0], estimates=estimates, studies=studies,
                          leave_one_out=loo, cumulative=cum, variants=tuple(variants))
