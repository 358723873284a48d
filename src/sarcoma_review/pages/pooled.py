"""The pooled chapter (``book/pooled.ipynb``, one page per entry of ``book/analyses.yml``):
its tables, charts and generated sentences, from a :class:`~sarcoma_review.stats.sensitivity.PooledAnalysis`.

Besides the pooled rate and its sensitivity panel, each page reports its strata (histology --
chordoma series against all others --, particle group, site) and, where the numbers at risk of a
series are known or reconstructed (the CNAO cohort, :func:`effective_sample_sizes`), a sensitivity
row with that series' effective sample size. One series is always shown as that series.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sarcoma_review.audit import flags as audit_flags
from sarcoma_review.data import vocabulary
from sarcoma_review.data.vocabulary import ENDPOINT_NAMES, analysis_label, landmark_name
from sarcoma_review.pages.render import charts
from sarcoma_review.pages.render.tables import md_text, p_text
from sarcoma_review.stats import pooling, sensitivity
from sarcoma_review.stats.sensitivity import (
    SMALL_K,
    WIDE_TAU_SCALE,
    EffectiveN,
    PooledAnalysis,
    Stratification,
)

#: The Table I row of the CNAO cohort itself ("Present study (2020)" in ``studies.csv``), whose
#: pseudo-patient data (:mod:`sarcoma_review.audit.reconstruct`) give its numbers at risk.
CNAO_STUDY_ID = "cuccia2020"


def _shift(lo: float, hi: float) -> str:
    """``"−1.2 / +0.9"``: how far a row's lower and upper bound lie from the primary's (points)."""
    if pd.isna(lo) or pd.isna(hi):
        return "—"
    lo, hi = round(float(lo), 1) + 0.0, round(float(hi), 1) + 0.0  # no "−0.0"
    return f"{lo:+.1f} / {hi:+.1f}".replace("-", "−")


def sensitivity_table(a: PooledAnalysis) -> pd.DataFrame:
    """The sensitivity panel as readers see it: one row per model, estimate and intervals (percent),
    and how far each row's CI and PI bounds lie from the primary model's (``ci_shift``, ``pi_shift``)."""
    e = a.estimates.copy()
    e["analysis"] = [_describe(v, r, a) for v, r in zip(a.variants, e.itertuples())]
    e["primary"] = [v in (sensitivity.PRIMARY, sensitivity.SINGLE) for v in a.variants]
    p = a.primary
    e["ci_shift"] = [_shift(lo - p["ci_low"], hi - p["ci_high"]) for lo, hi in zip(e["ci_low"], e["ci_high"])]
    e["pi_shift"] = [_shift(lo - p["pi_low"], hi - p["pi_high"]) for lo, hi in zip(e["pi_low"], e["pi_high"])]
    return e[
        [
            "analysis",
            "k",
            "estimate",
            "ci_low",
            "ci_high",
            "ci_shift",
            "pi_low",
            "pi_high",
            "pi_shift",
            "tau2",
            "primary",
        ]
    ]


def _left_out(a: PooledAnalysis | None, variant: str) -> str:
    """The series a subset row leaves out, by their labels."""
    if a is None:
        return ""
    return ", ".join(_label_of(a, s) for s in a.left_out.get(variant, ()))


#: The doubts the subset rows answer, in the reader's words.
SUBSET_DOUBTS = {
    sensitivity.ONE_PER_CENTRE: "Keeping one series per centre",
    sensitivity.NO_CHORDOMA_MAJORITY: "Leaving out the series most of whose patients have a chordoma",
}


def holds_up_line(a: PooledAnalysis) -> str:
    """ "Does the number hold up?": how the estimate and both ends of its 95% CI move across the sensitivity
    rows, then the doubts a reader raises (one series per centre, chordoma-majority series) answered row by
    row, or why a row is not there."""
    m = sensitivity.interval_moves(a)
    p = a.primary
    text = (
        f"- **Does the number hold up?** Across the {len(m)} {term('sensitivity analyses', 'sensitivity analysis')} "
        f"the estimate ranges from {_pct(m['estimate'].min())} to {_pct(m['estimate'].max())}; the 95% CI "
        f"({_pct(p['ci_low'])} to {_pct(p['ci_high'])}) moves its lower end between {_pct(m['ci_low'].min())} and "
        f"{_pct(m['ci_low'].max())} and its upper end between {_pct(m['ci_high'].min())} and "
        f"{_pct(m['ci_high'].max())}."
    )
    rows = dict(zip(a.variants, a.estimates.itertuples()))
    for variant, doubt in SUBSET_DOUBTS.items():
        if variant in rows:
            r = rows[variant]
            text += (
                f" {doubt}: {_pct(r.estimate)} ({_pct(r.ci_low)} to {_pct(r.ci_high)}, {int(r.k)} series; "
                f"left out: {md_text(_left_out(a, variant))})."
            )
        elif variant in a.skipped:
            text += f" {doubt}: not possible here ({md_text(a.skipped[variant])})."
    return text


#: The ad hoc correction is explained on a page when it widens the interval by more than this (percentage points).
SCALE_NOTE_POINTS = 1.0


def _scale_factor_lines(a: PooledAnalysis, p) -> list[str]:
    """What the ad hoc correction does on this page: the interval with and without it, when they differ."""

    def width(row) -> float:
        return float(row["ci_high"]) - float(row["ci_low"])

    e = a.estimates[a.estimates["model"] == "random effects"]
    plain, adhoc = e[e["ci_method"] == "HKSJ"], e[e["ci_method"] == pooling.ADHOC]
    if plain.empty or adhoc.empty or width(adhoc.iloc[0]) <= width(plain.iloc[0]) + SCALE_NOTE_POINTS:
        return []
    shown, other = (adhoc, plain) if p["ci_method"] == pooling.ADHOC else (plain, adhoc)
    if p["ci_method"] == pooling.ADHOC:
        return [
            f"- The {term('HKSJ scale factor')} is below 1 here (the series vary less around the pooled rate "
            f"than the fitted random-effects model expects); the {term('ad hoc correction')} holds it at 1, so "
            f"the interval is {_pct(shown['ci_low'].iat[0])} to {_pct(shown['ci_high'].iat[0])}. Without the "
            f"correction it would be {_pct(other['ci_low'].iat[0])} to {_pct(other['ci_high'].iat[0])}: "
            "narrower only because these few series happen to agree closely."
        ]
    return [
        f"- The {term('HKSJ scale factor')} is below 1 here (the series vary less around the pooled "
        f"rate than the fitted random-effects model expects), which narrows the HKSJ interval; held "
        f"at 1 or more ({term('ad hoc correction')}) the interval is {_pct(other['ci_low'].iat[0])} "
        f"to {_pct(other['ci_high'].iat[0])}."
    ]


def ci_words(ci_method: str) -> str:
    """The interval's name on a page: ``"HKSJ-adhoc"`` reads "HKSJ, ad hoc"."""
    return "HKSJ, ad hoc" if ci_method == pooling.ADHOC else str(ci_method)


def _describe(variant: str, r, a: PooledAnalysis | None = None) -> str:
    """The reader's label of one panel row, chosen by the row's key (never by parsing its text)."""
    eff = ", ".join(
        f"{_label_of(a, s)} n = {e.n_eff:.0f} instead of {e.n_reported:.0f}"
        for s, e in (a.effective_n.items() if a is not None else ())
        if e.honoured
    )
    labels = {
        sensitivity.SINGLE: f"One series, nothing pooled ({r.series})"
        if getattr(r, "series", "")
        else "One series (nothing pooled)",
        sensitivity.PRIMARY: f"{r.tau2_method} · {ci_words(r.ci_method)}",
        sensitivity.PI_K2: f"{r.tau2_method} · {ci_words(r.ci_method)}, prediction interval t(k−2)",
        sensitivity.EFFECTIVE_N: f"Effective sample size ({eff})",
        sensitivity.HALVED_N: f"Halved n ({r.tau2_method} · {ci_words(r.ci_method)})",
        sensitivity.ADHOC: f"{r.tau2_method} · HKSJ, scale ≥ 1 (ad hoc)",
        sensitivity.PLAIN_HKSJ: f"{r.tau2_method} · HKSJ without the ad hoc correction (scale may fall below 1)",
        sensitivity.GLMM: "GLMM (ML, events = n·p)",
        sensitivity.BAYES: f"Bayesian, τ ~ half-normal({pooling.PRIOR_TAU_SCALE:g})",
        sensitivity.BAYES_WIDE: f"Bayesian, τ ~ half-normal({WIDE_TAU_SCALE:g})",
        sensitivity.ONE_PER_CENTRE: f"One series per centre (left out: {_left_out(a, sensitivity.ONE_PER_CENTRE)})",
        sensitivity.NO_CHORDOMA_MAJORITY: "Without series most of whose patients have a chordoma (left out: "
        f"{_left_out(a, sensitivity.NO_CHORDOMA_MAJORITY)})",
        sensitivity.ALL_SERIES: f"Every series as published, shared cohorts counted twice ({r.tau2_method} · "
        f"{ci_words(r.ci_method)})",
    }
    if variant.startswith("tau2:"):
        return f"{r.tau2_method} · {ci_words(r.ci_method)}"
    return labels[variant]


def settings_markdown(
    endpoint: str,
    horizon_years: float,
    tau2_method: str,
    ci_method: str,
    subgroup_column: str = "",
    subgroup_value: str = "",
    data_dir: str = "data",
) -> str:
    """One line saying what this page computed (the parameters readers cannot see), in readers' words:
    no column name, no file path (``data_dir`` is accepted for callers and not shown)."""
    what = analysis_label(f"{endpoint.lower()}-{horizon_years:g}y", subgroup_column, subgroup_value)
    return f"*Analysis: {what}; τ² by {tau2_method}, {ci_method} interval.*"


def forest_chart(a: PooledAnalysis, title: str | None = None, colour_by: str | None = "particle_group"):
    """Forest plot of one analysis (RevMan layout; coloured by ``colour_by``). Each series' label
    carries its Table I histology ("Imai 2016 · Chordoma"), so the histology strata can be read off."""
    per = a.studies.rename(columns={"weight_percent": "weight", "source_outcome": "source"})
    if "histology" in per.columns:
        per = per.assign(label=[f"{lab} · {h}" for lab, h in zip(per["label"], per["histology"])])
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
    """Write every estimate the page shows (:func:`sarcoma_review.stats.sensitivity.estimates_table`:
    primary, sensitivity rows, strata, leave-one-out, cumulative; ``kind`` = pooled or single series)
    to ``path`` as CSV; None: do nothing."""
    if not path:
        return None
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    sensitivity.estimates_table(a).to_csv(p, index=False, float_format="%.10g", lineterminator="\n")
    return p


def _pct(x: float) -> str:
    return f"{x:.1f}%"


COCHRAN_Q = "Cochran's Q"  # its glossary entry

#: What the rate counts, in a clinician's words ("... of patients <phrase> 5 years after treatment").
#: Local control is not a plain share of patients (deaths without regrowth are censored): its lead is
#: :func:`_lead`, with :data:`LC_MEANING`.
OUTCOME_PHRASES = {
    "OS": "were alive",
    "DPFS": "had no distant spread of the disease",
    "PFS": "were alive without progression of the disease",
    "DFS": "were alive without signs of the disease",
    "DMFS": "had no distant metastasis",
    "LRFS": "had no local recurrence",
    "CSS": "had not died of the sarcoma",
}


#: Local control as the series report it, in plain words (the glossary entry says the same at length).
LC_MEANING = (
    "a Kaplan–Meier estimate in which patients who died without regrowth are {censored}: the estimated "
    "share free of regrowth of the treated tumour among patients had they all lived, not the share of "
    "all patients alive without regrowth, which is lower where many die ({competing})"
)


def _lead(endpoint: str, horizon_years: float, estimate: float, outcome: str) -> str:
    """The bold lead of the key findings: "On average, 72.0% of patients were alive 5 years after
    treatment" or, for local control, "On average, the estimated 5-year local control was 72.0%"
    followed by :data:`LC_MEANING` (never a plain share of patients)."""
    if endpoint == "LC":
        meaning = LC_MEANING.format(censored=term("censored"), competing=term("competing death"))
        return f"**On average, the estimated {horizon_years:g}-year {outcome} was {_pct(estimate)}** ({meaning})"
    phrase = OUTCOME_PHRASES.get(endpoint, f"reached {ENDPOINT_NAMES.get(endpoint, endpoint)}")
    return (
        f"**On average, {_pct(estimate)} of patients {phrase} {horizon_years:g} years after "
        f"treatment** ({horizon_years:g}-year {outcome})"
    )


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
        sid = md_text(str(a.studies["label"].iat[0]))  # data text in Markdown: never markup
        return (
            f"Only one series ({sid}, {int(p['n_patients'])} patients) reports {what} "
            f"({outcome}): {_pct(p['estimate'])} "
            f"({term('95% CI', 'confidence interval')} {_pct(p['ci_low'])} to {_pct(p['ci_high'])}). "
            "Nothing is pooled; the figure is that study's own estimate."
        )
    if p["q_p"] < 0.05:
        agree = (
            f"The series differ more than chance alone would explain ({term('heterogeneity')}): "
            "a single average hides real differences between them."
        )
    else:
        agree = (
            f"The differences between the series are no larger than chance would explain, but with "
            f"{a.k} series a test of {term('heterogeneity')} often misses real differences."
        )
    lines = [
        f"- {_lead(endpoint, horizon_years, p['estimate'], outcome)}, across {a.k} {term('series')} with "
        f"{int(p['n_patients'])} "
        f"patients ({term('95% CI', 'confidence interval')} {_pct(p['ci_low'])} to {_pct(p['ci_high'])}).",
        _new_centre_line(a),
        f"- **Do the series agree?** {agree}",
        holds_up_line(a),
    ]
    detail = [
        f"- Model: {term('random effects', 'random-effects model')} on the {term('logit scale')}, "
        f"{term('τ²')} by {term(str(p['tau2_method']), 'REML') if p['tau2_method'] == 'REML' else p['tau2_method']}, "
        f"{_interval_words(str(p['ci_method']))}.",
        f"- Heterogeneity: {term('I²')} = {p['i2']:.0f}%, {term('τ²')} = {p['tau2']:.3f} "
        f"({term('Q-profile')} 95% CI {p['tau2_ci_low']:.3f} to {p['tau2_ci_high']:.3f}), "
        f"{term('Q', COCHRAN_Q)} = {p['q']:.2f} on {int(p['q_df'])} df, {p_text(p['q_p'])}.",
        f"- {pi_convention_sentence(a)}",
        f"- {interval_moves_sentence(a)}",
    ]
    detail += _scale_factor_lines(a, p)
    if a.k < SMALL_K:
        b = a.estimates[a.estimates["model"] == "Bayesian normal-normal"].iloc[0]
        w = a.estimates[a.estimates["model"].str.startswith("Bayesian normal-normal (tau scale")].iloc[0]
        lines.append(
            f"- **With fewer than {SMALL_K} series the interval is wide.** A "
            f"{term('Bayesian model')} gives {_pct(b['estimate'])} ({term('credible interval')} "
            f"{_pct(b['ci_low'])} to {_pct(b['ci_high'])}), but that interval leans on its "
            f"{term('prior')} for how much the series vary (half-normal, scale "
            f"{pooling.PRIOR_TAU_SCALE:g}): with scale {WIDE_TAU_SCALE:g} it is {_pct(w['ci_low'])} to "
            f"{_pct(w['ci_high'])}."
        )
    return "\n".join(lines) + "\n\n**Statistical detail**\n\n" + "\n".join(detail)


def heterogeneity_table(a: PooledAnalysis) -> pd.DataFrame:
    """Q, its df and p, I², H², τ² with its Q-profile CI: one row, for display."""
    p = a.primary
    return pd.DataFrame(
        [
            {
                "k": int(p["k"]),
                "Q": p["q"],
                "df": p["q_df"],
                "p": p["q_p"],
                "I² (%)": p["i2"],
                "H²": p["h2"],
                "τ²": p["tau2"],
                "τ² 95% CI": (
                    f"{p['tau2_ci_low']:.3f} to {p['tau2_ci_high']:.3f}"
                    if pd.notna(p["tau2_ci_low"]) and pd.notna(p["tau2_ci_high"])
                    else "—"
                ),
            }
        ]
    )


def leave_one_out_table(a: PooledAnalysis) -> pd.DataFrame:
    """Leave-one-out results with the omitted study's label; ``remaining`` says what the estimate is
    (with two series, leaving one out leaves that other series alone: named, not pooled)."""
    labels = a.studies.set_index("study_id")["label"]
    t = a.leave_one_out.copy()
    t["omitted"] = [labels[s] for s in t["subgroup_value"]]
    t["change"] = t["estimate"] - float(a.primary["estimate"])
    t["remaining"] = [
        f"one series: {next(lab for sid, lab in labels.items() if sid != s)} (not pooled)"
        if k == 1
        else f"pooled, {int(k)} series"
        for s, k in zip(t["subgroup_value"], t["k"])
    ]
    return t[["omitted", "remaining", "k", "estimate", "ci_low", "ci_high", "tau2", "i2", "change"]]


def _new_centre_line(a: PooledAnalysis) -> str:
    """What a new centre might see: the prediction interval, or why there is none."""
    p = a.primary
    if pd.isna(p["pi_low"]):
        return (
            f"- **What a new centre might see:** with {a.k} series the spread between series cannot be "
            f"estimated, so no {term('prediction interval')} is given: a new series could differ from this "
            "average by more than its confidence interval shows."
        )
    tail = ""
    if float(p["tau2"]) == 0:
        tail = (
            f" Here the {a.k} series vary no more than chance would make them (their estimated spread is zero), "
            "so this interval equals the confidence interval; with so few series the real spread between centres "
            "may be larger."
        )
    return (
        f"- **What a new centre might see:** the true rate of a new series like these would be expected "
        f"between {_pct(p['pi_low'])} and {_pct(p['pi_high'])} ({term('prediction interval')}; the rate it "
        "reports would vary more, by its own chance variation)." + tail
    )


def _interval_words(ci_method: str) -> str:
    """The primary interval's name with its glossary links."""
    if ci_method == pooling.ADHOC:
        return f"{term('HKSJ')} interval with the {term('ad hoc correction')}"
    if ci_method.startswith("HKSJ"):
        return f"{term(ci_method, 'HKSJ')} interval"
    return f"{ci_method} interval"


def pi_convention_sentence(a: PooledAnalysis) -> str:
    """The prediction interval's convention, and the t(k−2) interval beside it (from ``a``)."""
    p = a.primary
    if pd.isna(p["pi_low"]):
        return (
            f"No prediction interval with {a.k} series: it is given from {pooling.MIN_K_PREDICTION} series on "
            "(with two it rests on a single difference between series and t with one degree of freedom)."
        )
    if p["ci_method"] == "Wald":
        head = "The prediction interval uses the normal quantile (Wald), as metafor does."
    else:
        df = a.k - 1
        head = (
            f"The prediction interval uses the t distribution with k − 1 = {df} degree{'s' if df != 1 else ''} "
            "of freedom, as metafor does; others use k − 2 (Higgins and colleagues)."
        )
    k2 = a.estimates[[v == sensitivity.PI_K2 for v in a.variants]]
    if k2.empty:
        return head + f" With {a.k} series the k − 2 interval is undefined."
    r = k2.iloc[0]
    return head + f" With k − 2 it is {_pct(r['pi_low'])} to {_pct(r['pi_high'])}."


def interval_moves_sentence(a: PooledAnalysis) -> str:
    """How far the estimate, the CI and the prediction interval move across the sensitivity rows."""
    m = sensitivity.interval_moves(a)
    p = a.primary
    names = {v: _describe(v, r, a) for v, r in zip(a.variants, a.estimates.itertuples())}

    def span(col: str) -> str:
        s = m.dropna(subset=[col])
        lo, hi = s.loc[s[col].idxmin()], s.loc[s[col].idxmax()]
        return f"{_pct(lo[col])} ({md_text(names[lo['variant']])}) to {_pct(hi[col])} ({md_text(names[hi['variant']])})"

    text = (
        f"Across the {len(m)} sensitivity analyses the estimate ranges from "
        f"{_pct(m['estimate'].min())} to {_pct(m['estimate'].max())}. The 95% CI of the primary model "
        f"({_pct(p['ci_low'])} to {_pct(p['ci_high'])}) moves as follows: its lower bound ranges from "
        f"{span('ci_low')}, its upper bound from {span('ci_high')}."
    )
    if m["pi_low"].notna().any() and pd.notna(p["pi_low"]):
        text += (
            f" The prediction interval ({_pct(p['pi_low'])} to {_pct(p['pi_high'])}): lower bound from "
            f"{span('pi_low')}, upper bound from {span('pi_high')} (the Bayesian rows have no prediction "
            "interval here)."
        )
    return text


# --------------------------------------------------------------------------- strata
def effective_sample_sizes(
    literature: pd.DataFrame, endpoint: str, horizon_years: float, data_dir: str | Path | None = None
) -> dict[str, EffectiveN]:
    """The series whose numbers at risk at this landmark are known or reconstructed, with their
    effective sample size (:class:`~sarcoma_review.stats.sensitivity.EffectiveN`).

    Today that is the CNAO cohort (:data:`CNAO_STUDY_ID`), from its pseudo-patient data as published
    (:func:`sarcoma_review.audit.reconstruct.joint_reconstruction`: one cohort for all endpoints), at the
    landmarks it reports in Table I. When the reconstruction does not honour the paper's rate at this
    landmark (its statements conflict and the landmark is the one dropped), the entry is marked
    ``honoured=False`` and the series does not enter with an effective n. Empty when the landmark has
    no such series or the paper states no rate at it.
    """
    rows = sensitivity.landmark_rows(literature, endpoint, horizon_years)
    if CNAO_STUDY_ID not in set(rows["study_id"].astype(str)):
        return {}
    from sarcoma_review.audit import reconstruct

    joint = reconstruct.joint_reconstruction(data_dir)
    reported, kept = joint.reported, joint.honoured
    months = 12.0 * float(horizon_years)
    statement = f"landmark@{months:g}"
    if endpoint not in kept or statement not in reported[endpoint].statements():
        return {}
    ipd = joint.frames[endpoint]
    g = sensitivity.greenwood_effective_n(ipd["time_months"], ipd["event"], months)
    if not g["n_eff"] == g["n_eff"]:  # NaN: S is 0 or 1
        return {}
    n = float(rows.loc[rows["study_id"].astype(str) == CNAO_STUDY_ID, "n_patients"].iat[0])
    honoured = statement in kept[endpoint].statements()
    why = (
        ""
        if honoured
        else (
            f"its reconstructed patient data do not reproduce its {landmark_name(endpoint, horizon_years)} "
            f"(the paper's statements about it conflict, and the reconstruction keeps the others; Kaplan–Meier "
            f"{100 * g['surv']:.1f}% there), so their numbers at risk do not describe that rate"
        )
    )
    return {
        CNAO_STUDY_ID: EffectiveN(
            CNAO_STUDY_ID,
            n,
            min(g["n_eff"], n),
            g["n_risk"],
            g["surv"],
            "pseudo-patient data of the CNAO cohort (audit chapter)",
            honoured,
            why,
        )
    }


def _label_of(a: PooledAnalysis | None, study_id: str) -> str:
    if a is None:
        return study_id
    labels = a.studies.set_index("study_id")["label"]
    return str(labels.get(study_id, study_id))


def effective_n_markdown(a: PooledAnalysis) -> str:
    """Why and how a series enters with its effective sample size (empty when none does)."""
    if not a.effective_n:
        return ""
    out = []
    row = a.estimates[[v == sensitivity.EFFECTIVE_N for v in a.variants]]
    for sid, e in a.effective_n.items():
        lab = md_text(_label_of(a, sid))
        if not e.honoured:
            out.append(
                f"{lab} does not enter a sensitivity analysis with its effective sample size here: "
                f"{md_text(e.why)}. See the audit chapter for the conflict."
            )
            continue
        text = (
            f"The primary model treats every series as if all its patients had been followed to the "
            f"landmark. For {lab} the numbers at risk are known from its reconstructed patient data: "
            f"{e.n_at_risk} of {e.n_reported:.0f} patients were still followed at the landmark, and the "
            f"Kaplan–Meier estimate there ({_pct(100 * e.surv)}) has the precision of "
            f"{e.n_eff:.1f} patients followed completely (effective sample size: the n whose binomial "
            f"variance equals the estimate's Greenwood variance"
            + (
                "; the number at risk would understate it, because patients censored before the landmark "
                "still inform the curve up to their censoring)."
                if e.n_at_risk < e.n_eff
                else ")."
            )
        )
        if not row.empty:
            r = row.iloc[0]
            text += (
                f" With {lab} entering with n = {e.n_eff:.1f}, the pooled estimate is {_pct(r['estimate'])} "
                f"(95% CI {_pct(r['ci_low'])} to {_pct(r['ci_high'])}; primary {_pct(a.primary['estimate'])})."
            )
        out.append(text)
    return "\n\n".join(out)


def strata_table(s: Stratification) -> pd.DataFrame:
    """One stratification for display: each stratum's estimate, or its one series named as such."""
    e = s.estimates
    if s.column == vocabulary.HISTOLOGY_STRATUM:
        names = [vocabulary.HISTOLOGY_STRATUM_NAMES.get(v, v) for v in e["subgroup_value"]]
    else:
        names = list(e["subgroup_value"])
    what = [
        f"one series: {r.series} (its own rate, not pooled)"
        if r.kind == pooling.SINGLE_SERIES
        else f"pooled, {r.tau2_method} · {r.ci_method}"
        for r in e.itertuples()
    ]
    return pd.DataFrame(
        {
            "stratum": names,
            "k": e["k"].astype(int),
            "n_patients": e["n_patients"],
            "what": what,
            "estimate": e["estimate"],
            "ci_low": e["ci_low"],
            "ci_high": e["ci_high"],
            "pi_low": e["pi_low"],
            "pi_high": e["pi_high"],
        }
    )


def strata_markdown(a: PooledAnalysis, s: Stratification) -> str:
    """The stratification's plain-language result and its tests (every number from ``s``)."""
    name = vocabulary.SUBGROUP_NAMES.get(s.column, s.column)
    lines = []
    e = s.estimates
    singles = e[e["kind"] == pooling.SINGLE_SERIES]
    if not singles.empty:
        lines.append(
            f"A stratum with one series shows that series' own rate and 95% Wald interval "
            f"({', '.join(md_text(x) for x in singles['series'])}); nothing is pooled there."
        )
    t = s.test
    if not s.tested:
        lines.append(
            f"The {name} strata are shown side by side but not tested against each other: the labels "
            'overlap ("Various" covers series from several sites, which may include the sites '
            "named in other rows), so the strata are not distinct groups of patients."
        )
    else:
        if pd.notna(t["p_moderator"]):
            lines.append(
                f"Mixed-effects moderator test (one τ² shared by the strata, Knapp–Hartung F): "
                f"F = {t['f']:.2f} on {int(t['df1'])} and {t['df2']:.0f} df, {p_text(t['p_moderator'])}."
            )
        if pd.notna(t["p_between"]):
            lines.append(
                f"Between-subgroup Q test (strata pooled separately, each with its Wald standard error"
                f"{'; a one-series stratum enters as that series' if not singles.empty else ''}): "
                f"Q = {t['q_between']:.2f} on {int(t['q_df'])} df, {p_text(t['p_between'])}."
            )
        if t["note"]:
            lines.append(md_text(t["note"])[0].upper() + md_text(t["note"])[1:] + ".")
        if pd.notna(t["p_between"]) or pd.notna(t["p_moderator"]):
            lines.append(
                "With so few series these tests have little power: a large p-value does not show "
                "that the strata have the same rate."
            )
    return " ".join(lines)


def chordoma_uncertain(studies: pd.DataFrame) -> pd.DataFrame:
    """The series of the other (non-chordoma-only) stratum that hold chordomas or may hold some: a chordoma
    count above 0 where the publication gives one, or, where it gives none, a histology that does not rule
    chordomas out ("Various", one that names chordoma among others, a mixed or unreported patient group; a
    single named histology such as osteosarcoma does)."""
    other = studies[studies[vocabulary.HISTOLOGY_STRATUM] != vocabulary.CHORDOMA]
    if "n_chordoma" in other.columns:
        n = pd.to_numeric(other["n_chordoma"], errors="coerce")
        hist = other["histology"].astype(str)
        open_ = (hist == vocabulary.MIXED_HISTOLOGY) | hist.str.contains("chordoma", case=False)
        if "patient_group" in other.columns:
            open_ |= other["patient_group"].astype(str).isin(["mixed", "not reported"])
            open_ &= other["patient_group"].astype(str) != "soft tissue"  # soft-tissue sarcomas only
        unknown = n.isna() & open_
        return other[(n > 0) | unknown]
    return other[other["histology"].astype(str) == vocabulary.MIXED_HISTOLOGY]


def histology_caveat(a: PooledAnalysis) -> str:
    """What the chordoma/other split cannot separate: series of the other stratum with chordomas in them,
    counted where the publication counts them."""
    st = a.studies
    if "histology" not in st.columns:
        return "The data give no histology for these series: no histology strata."
    chord = st[st[vocabulary.HISTOLOGY_STRATUM] == vocabulary.CHORDOMA]
    base = (
        f"The chordoma stratum holds the series whose publication reports chordomas only "
        f"({len(chord)} here); every other series is in the other stratum. "
    )
    mixed = chordoma_uncertain(st)
    if mixed.empty:
        return base + "No series of the other stratum pooled here holds chordomas, as far as its publication says."
    parts = []
    for r in mixed.itertuples():
        n = pd.to_numeric(pd.Series([getattr(r, "n_chordoma", None)]), errors="coerce").iat[0]
        lab = md_text(str(r.label))
        parts.append(f"{lab}: {int(n)} chordomas" if pd.notna(n) else f"{lab}: not said")
    verb = "holds" if len(mixed) == 1 else "hold"
    return base + (
        f"{len(mixed)} series of the other stratum {verb} or may hold some chordomas ({'; '.join(parts)}), "
        "so the split is chordoma-only series against the rest, not chordoma patients against other "
        "patients."
    )


def stand_in_markdown(a: PooledAnalysis) -> str:
    """Which series stood in for which under the overlap rule (shared cohorts counted once), and what
    pooling every series as published gives."""
    if a.stand_ins.empty:
        return (
            "No two series here are in one overlap group (series of one centre with overlapping years, which "
            "may share patients; see the literature chapter): every series reporting this landmark is counted. "
            "Series whose publication does not name its centre cannot be linked to others."
        )
    items = []
    for r in a.stand_ins.itertuples():
        kept = getattr(r, "kept_label", r.kept)
        left = getattr(r, "left_out_labels", r.left_out)
        items.append(f"- {md_text(str(kept))} stands in for {md_text(str(left))} (shared centre and overlapping years)")
    row = a.estimates[[v == sensitivity.ALL_SERIES for v in a.variants]]
    tail = ""
    if len(row):
        r = row.iloc[0]
        tail = (
            f"\n\nPooling every series as published, shared cohorts counted twice: {_pct(r['estimate'])} "
            f"(95% CI {_pct(r['ci_low'])} to {_pct(r['ci_high'])}), {int(r['k'])} series."
        )
    return "Shared cohorts are counted once (the overlap rule of the protocol):\n\n" + "\n".join(items) + tail


# --- the audit's flags on the values pooled here ------------------------------------------------------


@dataclass(frozen=True)
class PoolFlags:
    """The values of one pooled page that the reproduction audit flags, and the pool without them.

    ``series``: the page's series table (``a.studies``) with ``audit_findings``, ``audit_verdict``,
    ``audit_href``, ``audit`` (the plain-words marker), ``audit_link`` (its link from the page; see
    :func:`sarcoma_review.audit.flags.flagged_literature`) and ``series_shown`` (the label with the marker).
    ``without``: the primary model without the flagged series (one row, variant
    :data:`~sarcoma_review.stats.sensitivity.WITHOUT_FLAGGED`; empty when no value is flagged or none remains).
    ``findings``: the audit's flags on these values (rows of :func:`sarcoma_review.audit.flags.concerned_values`).
    """

    series: pd.DataFrame
    without: pd.DataFrame
    findings: pd.DataFrame

    @property
    def flagged(self) -> pd.DataFrame:
        return self.series[self.series["audit_findings"] != ""]


#: From a pooled page (one folder down, ``book/pooled/``) to the audit chapter.
AUDIT_PREFIX = "../"


def pool_flags(
    a: PooledAnalysis,
    literature: pd.DataFrame,
    flags: pd.DataFrame,
    *,
    tau2_method: str = "REML",
    ci_method: str = pooling.PRIMARY_CI,
    subgroup_column: str | None = None,
    subgroup_value: str | None = None,
) -> PoolFlags:
    """Which pooled values the audit flags (``flags``: :func:`sarcoma_review.audit.flags.value_flags`) and
    the primary model without them (:func:`sarcoma_review.stats.sensitivity.pool_without`)."""
    p = a.primary
    rows = a.studies.assign(endpoint=p["endpoint"], horizon_years=float(p["horizon_years"]))
    series = audit_flags.flagged_literature(flags, rows)
    series["audit"] = [audit_flags.marker(v) for v in series["audit_verdict"]]
    series["audit_link"] = [AUDIT_PREFIX + h if h else "" for h in series["audit_href"]]
    # the series' name carries the flag (linked to the finding): the table keeps its width
    series["series_shown"] = [f"{lab} ({m})" if m else lab for lab, m in zip(series["label"], series["audit"])]
    drop = list(series.loc[series["audit_findings"] != "", "study_id"])
    without = pd.DataFrame(columns=pooling.RESULT_COLUMNS)
    if drop:
        without = sensitivity.pool_without(
            literature,
            str(p["endpoint"]),
            float(p["horizon_years"]),
            drop,
            tau2_method=tau2_method,
            ci_method=ci_method,
            analysis_id=str(p["analysis_id"]),
            subgroup_column=subgroup_column,
            subgroup_value=subgroup_value,
        )
    found = flags[flags["finding_id"].isin({f for x in series["audit_findings"] for f in x.split("; ") if f})]
    return PoolFlags(series=series, without=without, findings=found.reset_index(drop=True))


def _members(a: PooledAnalysis, row) -> set[str]:
    """The series one row of :func:`sarcoma_review.stats.sensitivity.estimates_table` pools."""
    ids = list(a.studies["study_id"])
    if row.variant == sensitivity.STRATUM:
        col = a.studies[row.subgroup_column].astype(str) if row.subgroup_column in a.studies.columns else None
        return set(a.studies.loc[col == str(row.subgroup_value), "study_id"]) if col is not None else set(ids)
    if row.variant == sensitivity.LEAVE_ONE_OUT:
        return set(ids) - {row.subgroup_value}
    if row.variant == sensitivity.CUMULATIVE:
        order = list(a.cumulative["subgroup_value"])
        return set(order[: order.index(row.subgroup_value) + 1])
    return set(ids)


def estimates_with_flags(a: PooledAnalysis, pf: PoolFlags) -> pd.DataFrame:
    """:func:`sarcoma_review.stats.sensitivity.estimates_table` plus ``audit_flags`` (the audit findings
    on values a row pools, ``"; "``-joined; ``""`` when none) and, when a value is flagged, the row
    without the flagged series (``variant`` :data:`~sarcoma_review.stats.sensitivity.WITHOUT_FLAGGED`)."""
    t = sensitivity.estimates_table(a)
    by_series = pf.flagged.set_index("study_id")["audit_findings"].to_dict()
    t["audit_flags"] = [
        "; ".join(dict.fromkeys(f for s in sorted(_members(a, r)) if s in by_series for f in by_series[s].split("; ")))
        for r in t.itertuples()
    ]
    if not pf.without.empty:
        w = pf.without.assign(variant=sensitivity.WITHOUT_FLAGGED, audit_flags="")
        w["kind"] = np.where(w["k"].astype(int) == 1, pooling.SINGLE_SERIES, pooling.POOLED)
        t = pd.concat([t, w[t.columns]], ignore_index=True)
    return t


def write_estimates_with_flags(a: PooledAnalysis, pf: PoolFlags, path: str | Path | None) -> Path | None:
    """:func:`write_estimates` with the audit's flags (:func:`estimates_with_flags`)."""
    if not path:
        return None
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    estimates_with_flags(a, pf).to_csv(p, index=False, float_format="%.10g", lineterminator="\n")
    return p


def flags_html(a: PooledAnalysis, pf: PoolFlags, audit_prefix: str = AUDIT_PREFIX) -> str:
    """The pooled values the audit flags, each linked to its finding, and the pool without them (HTML).

    ``audit_prefix`` leads from the page to the audit chapter (the pooled pages sit one folder down)."""
    import html as _html

    if pf.flagged.empty:
        return (
            "<p>The reproduction audit flags none of the values pooled here as inconsistent or implausible "
            "(a value of Table I that the review replaced by the series' own publication carries no flag: the "
            "value pooled is the verified one).</p>"
        )
    items = []
    for r in pf.flagged.itertuples():
        found = pf.findings[pf.findings["finding_id"].isin(r.audit_findings.split("; "))].drop_duplicates("finding_id")
        links = ", ".join(
            f'<a href="{_html.escape(audit_prefix + f.href, quote=True)}">{_html.escape(audit_flags.marker(f.verdict))}'
            f"</a> ({_html.escape(str(f.explanation))})"
            for f in found.itertuples()
        )
        items.append(
            f"<li><strong>{_html.escape(str(r.label))}</strong>: {float(r.rate_percent):g}% as reported, "
            f"flagged by the reproduction audit: {links}</li>"
        )
    out = '<ul class="audit-flags">' + "".join(items) + "</ul>"
    return out + "<p>" + _html.escape(without_sentence(a, pf)) + "</p>"


def without_sentence(a: PooledAnalysis, pf: PoolFlags) -> str:
    """How the pooled estimate moves without the flagged values (plain words, numbers from the pool)."""
    p = a.primary
    labels = ", ".join(str(x) for x in pf.flagged["label"])
    if pf.without.empty:
        return f"Without {labels} no series remains: there is no estimate without the flagged values."
    w = pf.without.iloc[0]
    if int(w["k"]) == 1:
        return (
            f"Without {labels} one series remains ({w['series']}): {_pct(w['estimate'])} (95% CI "
            f"{_pct(w['ci_low'])} to {_pct(w['ci_high'])}), that series' own rate, not a pooled estimate; "
            f"with {labels} the pooled estimate is {_pct(p['estimate'])}."
        )
    change = f"{float(w['estimate']) - float(p['estimate']):+.1f}".replace("-", "−")
    return (
        f"Without {labels}, {int(w['k'])} series pool to {_pct(w['estimate'])} (95% CI {_pct(w['ci_low'])} to "
        f"{_pct(w['ci_high'])}), against {_pct(p['estimate'])} ({_pct(p['ci_low'])} to {_pct(p['ci_high'])}) "
        f"with the flagged value{'s' if len(pf.flagged) > 1 else ''}: a change of {change} points."
    )


def flags_lead(pf: PoolFlags) -> str:
    """One key-findings line when the audit flags a pooled value (``""`` when it flags none)."""
    if pf.flagged.empty:
        return ""
    names = ", ".join(f"{md_text(str(r.label))} ({float(r.rate_percent):g}%)" for r in pf.flagged.itertuples())
    n = len(pf.flagged)
    return (
        f"- **The audit flags {'a value' if n == 1 else f'{n} values'} pooled here:** {names}. "
        "See *Without the values the audit flags* below for the estimate without "
        f"{'it' if n == 1 else 'them'}."
    )
