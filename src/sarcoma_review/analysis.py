"""One pooled analysis end to end: the primary model, its sensitivity panel and its charts.

The pooled chapter (``book/pooled.ipynb``, executed once per entry of ``book/analyses.yml``) and
the release tooling call :func:`run_analysis`; nothing statistical happens in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sarcoma_review import charts, pooling

#: Below this many studies HKSJ intervals are very wide; the Bayesian estimate is shown beside them.
SMALL_K = 5
#: A wider half-normal scale for tau than the primary prior's 0.5: the prior-sensitivity row.
WIDE_TAU_SCALE = 1.0


@dataclass
class PooledAnalysis:
    """Everything one pooled page shows.

    Attributes
    ----------
    primary : pd.Series
        The primary result (one row of :data:`sarcoma_review.pooling.RESULT_COLUMNS`).
    estimates : pd.DataFrame
        Primary plus every sensitivity result, in the tidy result shape (written as the page's CSV).
    studies : pd.DataFrame
        Per-study table for the forest plot (rate, 95% CI, weight), joined with study columns.
    leave_one_out, cumulative : pd.DataFrame
        Leave-one-out and cumulative-by-year results (empty when ``k < 2``).
    """

    primary: pd.Series
    estimates: pd.DataFrame
    studies: pd.DataFrame
    leave_one_out: pd.DataFrame
    cumulative: pd.DataFrame

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
    primary = pooling.pool(d, method=tau2_method, ci=ci_method, **kw)
    parts = [primary]
    loo = cum = pd.DataFrame(columns=pooling.RESULT_COLUMNS)
    if len(d) >= 2:
        for m in pooling.TAU2_METHODS:
            for c in pooling.CI_METHODS:
                if (m, c) != (primary["tau2_method"].iat[0], primary["ci_method"].iat[0]):
                    parts.append(pooling.pool(d, method=m, ci=c, **kw))
        if primary["ci_method"].iat[0] == "HKSJ":
            parts.append(pooling.pool(d, method=tau2_method, ci=pooling.ADHOC, **kw))
        parts.append(pooling.pool(d, method=tau2_method, ci=ci_method, n_scale=0.5, **kw))
        parts.append(pooling.pool_glmm(d, **kw))
        parts.append(pooling.pool_bayes(d, **kw))
        parts.append(pooling.pool_bayes(d, tau_scale=WIDE_TAU_SCALE, **kw))
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
                          leave_one_out=loo, cumulative=cum)


def sensitivity_table(a: PooledAnalysis) -> pd.DataFrame:
    """The sensitivity panel as readers see it: one row per model, estimate and intervals (percent)."""
    e = a.estimates.copy()
    e["analysis"] = [_describe(r) for r in e.itertuples()]
    e["primary"] = [i == 0 for i in range(len(e))]
    return e[["analysis", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "primary"]]


def _describe(r) -> str:
    if r.model == "single study":
        return "Single study (nothing pooled)"
    if r.model == "random effects" and r.ci_method != "HKSJ-adhoc":
        return f"{r.tau2_method} · {r.ci_method}"
    if r.model.startswith("random effects, n x"):
        return f"Halved n ({r.tau2_method} · {r.ci_method})"
    if r.model == "random effects" and r.ci_method == "HKSJ-adhoc":
        return f"{r.tau2_method} · HKSJ, scale ≥ 1 (ad hoc)"
    if r.model.startswith("binomial-normal GLMM"):
        return "GLMM (ML, events = n·p)"
    if r.model == "Bayesian normal-normal":
        return f"Bayesian, τ ~ half-normal({pooling.PRIOR_TAU_SCALE:g})"
    if r.model.startswith("Bayesian normal-normal (tau scale"):
        return f"Bayesian, τ ~ half-normal({WIDE_TAU_SCALE:g})"
    return str(r.model)


def settings_markdown(endpoint: str, horizon_years: float, tau2_method: str, ci_method: str,
                      subgroup_column: str = "", subgroup_value: str = "", data_dir: str = "data") -> str:
    """One line saying what this page computed (the parameters readers cannot see)."""
    scope = f"series with {subgroup_column} = {subgroup_value}" if subgroup_column else "all series"
    return (f"*Analysis: {landmark_name(endpoint, horizon_years)} ({endpoint} at {horizon_years:g} years), "
            f"{scope}; τ² by {tau2_method}, {ci_method} interval; data from `{data_dir}/literature/`.*")


def forest_chart(a: PooledAnalysis, title: str | None = None, colour_by: str | None = "particle_group"):
    """Forest plot of one analysis (RevMan layout; coloured by ``colour_by``)."""
    per = a.studies.rename(columns={"weight_percent": "weight", "source_outcome": "source"})
    if colour_by and colour_by in per.columns:
        per = per.assign(subgroup=per[colour_by])
    return charts.forest_plot(per, a.primary, title=title, scale="percent")


def cumulative_chart(a: PooledAnalysis, title: str | None = None):
    """Cumulative estimate as studies accumulate by publication year."""
    c = a.cumulative.copy()
    years = a.studies.set_index("study_id")["year"]
    c["year"] = [int(years[s]) for s in c["subgroup_value"]]
    labels = a.studies.set_index("study_id")["label"]
    c["added"] = [labels[s] for s in c["subgroup_value"]]
    return charts.cumulative_plot(c, title=title, scale="percent")


def write_estimates(a: PooledAnalysis, path: str | Path | None) -> Path | None:
    """Write the analysis' estimates (tidy result shape) to ``path`` as CSV; None: do nothing."""
    if not path:
        return None
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    a.estimates.to_csv(p, index=False, float_format="%.10g", lineterminator="\n")
    return p


ENDPOINT_NAMES = {"LC": "local control", "OS": "overall survival", "DPFS": "distant progression-free survival"}


def _pct(x: float) -> str:
    return f"{x:.1f}%"


def landmark_name(endpoint: str, horizon_years: float) -> str:
    """``"5-year local control"``."""
    return f"{horizon_years:g}-year {ENDPOINT_NAMES.get(endpoint, endpoint)}"


def summary_markdown(a: PooledAnalysis, endpoint: str, horizon_years: float) -> str:
    """The page's key findings as Markdown, every number taken from ``a``."""
    p = a.primary
    what = landmark_name(endpoint, horizon_years)
    if not a.is_pooled:
        sid = html.escape(str(a.studies["label"].iat[0]), quote=False)  # data text in Markdown: never markup
        return (f"Only one series ({sid}, {int(p['n_patients'])} patients) reports {what}: "
                f"{_pct(p['estimate'])} (95% CI {_pct(p['ci_low'])} to {_pct(p['ci_high'])}). "
                "Nothing is pooled; the figure is that study's own estimate.")
    lines = [
        f"- **Pooled {what}: {_pct(p['estimate'])}** (95% CI {_pct(p['ci_low'])} to {_pct(p['ci_high'])}), "
        f"from {a.k} series with {int(p['n_patients'])} patients "
        f"(random effects, τ² by {p['tau2_method']}, {p['ci_method']} interval).",
        f"- The true rate of a new series like these would be expected between {_pct(p['pi_low'])} and "
        f"{_pct(p['pi_high'])} (95% prediction interval; the rate it reports would vary more, by its own "
        "sampling error).",
        f"- Between-series heterogeneity: I² = {p['i2']:.0f}%, τ² = {p['tau2']:.3f} "
        f"(95% CI {p['tau2_ci_low']:.3f} to {p['tau2_ci_high']:.3f}), "
        f"Q = {p['q']:.2f} on {int(p['q_df'])} df, p = {p['q_p']:.3f}.",
    ]
    sens = a.estimates.iloc[1:]
    lo, hi = sens["estimate"].min(), sens["estimate"].max()
    lines.append(f"- Across the sensitivity analyses the estimate ranges from {_pct(lo)} to {_pct(hi)}.")
    adhoc = a.estimates[a.estimates["ci_method"] == "HKSJ-adhoc"]
    if not adhoc.empty and (adhoc["ci_high"].iat[0] - adhoc["ci_low"].iat[0]) > (p["ci_high"] - p["ci_low"]) + 0.05:
        lines.append(f"- The HKSJ scale factor is below 1 here (the series vary less around the pooled rate than "
                     f"the fitted random-effects model expects), which narrows the HKSJ interval; held at 1 or "
                     f"more (ad hoc correction) the interval is {_pct(adhoc['ci_low'].iat[0])} to "
                     f"{_pct(adhoc['ci_high'].iat[0])}.")
    if a.k < SMALL_K:
        b = a.estimates[a.estimates["model"] == "Bayesian normal-normal"].iloc[0]
        w = a.estimates[a.estimates["model"].str.startswith("Bayesian normal-normal (tau scale")].iloc[0]
        lines.append(f"- With fewer than {SMALL_K} series the HKSJ interval is wide. A Bayesian model gives "
                     f"{_pct(b['estimate'])} (95% credible interval {_pct(b['ci_low'])} to {_pct(b['ci_high'])}), "
                     f"but that interval leans on its prior for the between-series spread (half-normal, scale "
                     f"{pooling.PRIOR_TAU_SCALE:g}): with scale {WIDE_TAU_SCALE:g} it is {_pct(w['ci_low'])} to "
                     f"{_pct(w['ci_high'])}.")
    return "\n".join(lines)


def heterogeneity_table(a: PooledAnalysis) -> pd.DataFrame:
    """Q, its df and p, I², H², τ² with its Q-profile CI: one row, for display."""
    p = a.primary
    return pd.DataFrame([{
        "k": int(p["k"]), "Q": p["q"], "df": p["q_df"], "p": p["q_p"], "I² (%)": p["i2"], "H²": p["h2"],
        "τ²": p["tau2"], "τ² 95% CI": (f"{p['tau2_ci_low']:.3f} to {p['tau2_ci_high']:.3f}"
                                       if pd.notna(p["tau2_ci_low"]) and pd.notna(p["tau2_ci_high"]) else "—"),
    }])


def leave_one_out_table(a: PooledAnalysis) -> pd.DataFrame:
    """Leave-one-out results with the omitted study's label."""
    labels = a.studies.set_index("study_id")["label"]
    t = a.leave_one_out.copy()
    t["omitted"] = [labels[s] for s in t["subgroup_value"]]
    t["change"] = t["estimate"] - float(a.primary["estimate"])
    return t[["omitted", "k", "estimate", "ci_low", "ci_high", "tau2", "i2", "change"]]
