"""The pooled chapter (``book/pooled.ipynb``, one page per entry of ``book/analyses.yml``):
its tables, charts and generated sentences, from a :class:`~sarcoma_review.stats.sensitivity.PooledAnalysis`.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from sarcoma_review.data.vocabulary import ENDPOINT_NAMES, landmark_name
from sarcoma_review.pages.render import charts
from sarcoma_review.stats import pooling, sensitivity
from sarcoma_review.stats.sensitivity import SMALL_K, WIDE_TAU_SCALE, PooledAnalysis


def sensitivity_table(a: PooledAnalysis) -> pd.DataFrame:
    """The sensitivity panel as readers see it: one row per model, estimate and intervals (percent)."""
    e = a.estimates.copy()
    e["analysis"] = [_describe(v, r) for v, r in zip(a.variants, e.itertuples())]
    e["primary"] = [v in (sensitivity.PRIMARY, sensitivity.SINGLE) for v in a.variants]
    return e[["analysis", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "primary"]]


def _describe(variant: str, r) -> str:
    """The reader's label of one panel row, chosen by the row's key (never by parsing its text)."""
    labels = {
        sensitivity.SINGLE: "Single study (nothing pooled)",
        sensitivity.PRIMARY: f"{r.tau2_method} · {r.ci_method}",
        sensitivity.HALVED_N: f"Halved n ({r.tau2_method} · {r.ci_method})",
        sensitivity.ADHOC: f"{r.tau2_method} · HKSJ, scale ≥ 1 (ad hoc)",
        sensitivity.GLMM: "GLMM (ML, events = n·p)",
        sensitivity.BAYES: f"Bayesian, τ ~ half-normal({pooling.PRIOR_TAU_SCALE:g})",
        sensitivity.BAYES_WIDE: f"Bayesian, τ ~ half-normal({WIDE_TAU_SCALE:g})",
    }
    if variant.startswith("tau2:"):
        return f"{r.tau2_method} · {r.ci_method}"
    return labels[variant]


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


def _pct(x: float) -> str:
    return f"{x:.1f}%"


COCHRAN_Q = "Cochran's Q"  # its glossary entry

#: What the rate counts, in a clinician's words ("... of patients <phrase> 5 years after treatment").
OUTCOME_PHRASES = {
    "LC": "had no regrowth of the treated tumour",
    "OS": "were alive",
    "DPFS": "had no distant spread of the disease",
}


def term(text: str, target: str | None = None) -> str:
    """A MyST ``{term}`` role: ``text`` linked to its entry in ``book/glossary.md``."""
    return f"{{term}}`{text} <{target}>`" if target else f"{{term}}`{text}`"


def summary_markdown(a: PooledAnalysis, endpoint: str, horizon_years: float) -> str:
    """The page's key findings as Markdown, every number taken from ``a``.

    What a clinician needs comes first (how many patients reached the outcome on average, what a
    new centre might see, whether the series agree, whether the number holds up); the statistical
    detail (model, heterogeneity statistics, interval corrections) follows under its own heading.
    Technical words link to the glossary (MyST ``{term}`` roles; the book renders Markdown output
    as MyST).
    """
    p = a.primary
    what = landmark_name(endpoint, horizon_years)
    outcome = term(ENDPOINT_NAMES.get(endpoint, endpoint))
    if not a.is_pooled:
        sid = html.escape(str(a.studies["label"].iat[0]), quote=False)  # data text in Markdown: never markup
        return (f"Only one series ({sid}, {int(p['n_patients'])} patients) reports {what} "
                f"({outcome}): {_pct(p['estimate'])} "
                f"({term('95% CI', 'confidence interval')} {_pct(p['ci_low'])} to {_pct(p['ci_high'])}). "
                "Nothing is pooled; the figure is that study's own estimate.")
    phrase = OUTCOME_PHRASES.get(endpoint, f"reached {ENDPOINT_NAMES.get(endpoint, endpoint)}")
    sens = a.estimates.iloc[1:]
    lo, hi = sens["estimate"].min(), sens["estimate"].max()
    if p["q_p"] < 0.05:
        agree = (f"The series differ more than chance alone would explain ({term('heterogeneity')}): "
                 "a single average hides real differences between them.")
    else:
        agree = (f"The differences between the series are no larger than chance would explain, but with "
                 f"{a.k} series a test of {term('heterogeneity')} often misses real differences.")
    lines = [
        f"- **On average, {_pct(p['estimate'])} of patients {phrase} {horizon_years:g} years after "
        f"treatment** ({horizon_years:g}-year {outcome}), across {a.k} {term('series')} with {int(p['n_patients'])} "
        f"patients ({term('95% CI', 'confidence interval')} {_pct(p['ci_low'])} to {_pct(p['ci_high'])}).",
        f"- **What a new centre might see:** the true rate of a new series like these would be expected "
        f"between {_pct(p['pi_low'])} and {_pct(p['pi_high'])} ({term('prediction interval')}; the rate it "
        "reports would vary more, by its own chance variation).",
        f"- **Do the series agree?** {agree}",
        f"- **Does the number hold up?** Across the {term('sensitivity analyses', 'sensitivity analysis')} "
        f"the estimate ranges from {_pct(lo)} to {_pct(hi)}.",
    ]
    detail = [
        f"- Model: {term('random effects', 'random-effects model')} on the {term('logit scale')}, "
        f"{term('τ²')} by {term(str(p['tau2_method']), 'REML') if p['tau2_method'] == 'REML' else p['tau2_method']}, "
        f"{term(str(p['ci_method']), 'HKSJ') if str(p['ci_method']).startswith('HKSJ') else p['ci_method']} interval.",
        f"- Heterogeneity: {term('I²')} = {p['i2']:.0f}%, {term('τ²')} = {p['tau2']:.3f} "
        f"({term('Q-profile')} 95% CI {p['tau2_ci_low']:.3f} to {p['tau2_ci_high']:.3f}), "
        f"{term('Q', COCHRAN_Q)} = {p['q']:.2f} on {int(p['q_df'])} df, p = {p['q_p']:.3f}.",
    ]
    adhoc = a.estimates[a.estimates["ci_method"] == "HKSJ-adhoc"]
    if not adhoc.empty and (adhoc["ci_high"].iat[0] - adhoc["ci_low"].iat[0]) > (p["ci_high"] - p["ci_low"]) + 0.05:
        detail.append(f"- The {term('HKSJ scale factor')} is below 1 here (the series vary less around the pooled "
                      f"rate than the fitted random-effects model expects), which narrows the HKSJ interval; held "
                      f"at 1 or more ({term('ad hoc correction')}) the interval is {_pct(adhoc['ci_low'].iat[0])} "
                      f"to {_pct(adhoc['ci_high'].iat[0])}.")
    if a.k < SMALL_K:
        b = a.estimates[a.estimates["model"] == "Bayesian normal-normal"].iloc[0]
        w = a.estimates[a.estimates["model"].str.startswith("Bayesian normal-normal (tau scale")].iloc[0]
        lines.append(f"- **With fewer than {SMALL_K} series the interval is wide.** A "
                     f"{term('Bayesian model')} gives {_pct(b['estimate'])} ({term('credible interval')} "
                     f"{_pct(b['ci_low'])} to {_pct(b['ci_high'])}), but that interval leans on its "
                     f"{term('prior')} for how much the series vary (half-normal, scale "
                     f"{pooling.PRIOR_TAU_SCALE:g}): with scale {WIDE_TAU_SCALE:g} it is {_pct(w['ci_low'])} to "
                     f"{_pct(w['ci_high'])}.")
    return "\n".join(lines) + "\n\n**Statistical detail**\n\n" + "\n".join(detail)


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
