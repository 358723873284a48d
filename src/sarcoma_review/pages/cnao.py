"""The CNAO carbon-ion chapter (``book/cnao.ipynb``): tables, p-value grids, the three-year
series chart and the chapter's generated sentences and glue values.
Nothing here holds a number typed from a paper."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from sarcoma_review.audit import grim
from sarcoma_review.data.vocabulary import ENDPOINT_NAMES
from sarcoma_review.pages.common import (
    _COX_PRINTED,
    ENDPOINT_ORDER,
    _join,
    _number_word,
    _position,
    _printed_number,
    _records,
    _rounding_words,
    endpoint_title,
    fact_values,
    significant_cells,
)
from sarcoma_review.pages.render import charts
from sarcoma_review.stats import pooling
from sarcoma_review.stats.sensitivity import landmark_rows

# --------------------------------------------------------------------------------------------
# CNAO (Cuccia et al. 2020)
# --------------------------------------------------------------------------------------------
CNAO_LABELS = {
    "sex": "Sex",
    "age": "Age (years)",
    "histology": "Histology",
    "grading": "Grade (FNCLCC)",
    "disease_presentation": "Disease presentation",
    "tumor_site": "Tumour site",
    "surgery": "Surgery",
    "chemotherapy_pre_rt": "Chemotherapy before RT",
    "total_dose": "Total dose",
    "daily_dose": "Dose per fraction",
    "gtv": "GTV",
    "ptv": "PTV",
}


def cnao_characteristics(chars: pd.DataFrame, n_total: int) -> pd.DataFrame:
    """Table II as printed with ``n / n_total`` recomputed and the printed percentage checked.

    Returns columns ``characteristic, category, item, as_printed, n, recomputed_percent, check`` where
    ``check`` is the verdict of :func:`sarcoma_review.audit.grim.check_percent` in words
    (empty for rows without a printed percentage).
    """
    rows = []
    for _, r in chars.iterrows():
        n = r["n"]
        rec = float("nan") if pd.isna(n) else 100.0 * int(n) / n_total
        check = ""
        if not pd.isna(n) and not pd.isna(r["percent"]):
            res = grim.check_percent(
                "cnao.table2", "cnao", "Table II", str(r["category"]), int(n), n_total, _printed_number(r["percent"])
            )
            check = {
                "consistent": "exact",
                "consistent with rounding": _rounding_words(res.explanation),
                "inconsistent": "does not fit",
            }.get(res.verdict, res.verdict)
        label = CNAO_LABELS.get(r["variable"], str(r["variable"]))
        category = "" if r["category"] in ("median", "yes") else str(r["category"])
        rows.append(
            {
                "characteristic": label,
                "category": category,
                "item": f"{label}: {category}" if category else label,
                "as_printed": str(r["as_printed"]),
                "n": n,
                "recomputed_percent": rec,
                "check": check,
            }
        )
    return pd.DataFrame(rows)


def cnao_landmark_table(landmarks: pd.DataFrame) -> pd.DataFrame:
    """Endpoint x horizon with the abstract's and the results' value side by side.

    Returns columns ``endpoint, endpoint_name, horizon_years, abstract, results, agreement,
    abstract_wording`` (rates in percent; NaN where a section prints no value). ``agreement``
    is ``"same"``, ``"different"`` or ``"results only"`` / ``"abstract only"``.
    """
    rows = []
    for ep in ENDPOINT_ORDER:
        sub = landmarks[landmarks["endpoint"] == ep]
        for hz in sorted(sub["horizon_years"].unique()):
            cell = sub[sub["horizon_years"] == hz]
            vals = {loc: cell.loc[cell["location"] == loc, "rate_percent"] for loc in ("abstract", "results")}
            a = float(vals["abstract"].iloc[0]) if len(vals["abstract"]) else float("nan")
            b = float(vals["results"].iloc[0]) if len(vals["results"]) else float("nan")
            if math.isnan(a):
                agreement = "results only"
            elif math.isnan(b):
                agreement = "abstract only"
            else:
                agreement = "same" if a == b else "different"
            wording = cell.loc[cell["location"] == "abstract", "endpoint_as_printed"]
            rows.append(
                {
                    "endpoint": ep,
                    "endpoint_name": endpoint_title(ep),
                    "horizon_years": int(hz),
                    "abstract": a,
                    "results": b,
                    "agreement": agreement,
                    "abstract_wording": str(wording.iloc[0]) if len(wording) else "",
                }
            )
    return pd.DataFrame(rows)


def p_value_grid(df: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """Tables III/IV as printed: one row per variable (table order), one column per endpoint.

    Cells hold ``value_column`` (e.g. ``p_as_printed`` or ``as_printed``); rows with
    ``applicable`` false show ``"–"`` (the paper's dash).
    """
    order = list(dict.fromkeys(df["variable"]))
    out = []
    for var in order:
        sub = df[df["variable"] == var]
        row = {"variable": str(sub["variable_as_printed"].iloc[0])}
        for ep in ENDPOINT_ORDER:
            cell = sub[sub["endpoint"] == ep]
            if cell.empty or not bool(cell["applicable"].iloc[0]):
                row[ep] = "–"
            else:
                row[ep] = str(cell[value_column].iloc[0])
        out.append(row)
    return pd.DataFrame(out)


def cox_consistency(cox: pd.DataFrame) -> pd.DataFrame:
    """Each Table IV cell checked by the audit's own test, :func:`sarcoma_review.audit.grim.check_p_from_ci`.

    The paper does not say what the intervals are. A printed interval that excludes 1 with
    p > 0.05 (or includes 1 with p < 0.05) is ``"inconsistent"`` under any reading of a 95% CI;
    otherwise the verdict is conditional on the intervals being Wald 95% hazard-ratio intervals:
    ``"consistent with rounding"`` (p fits) or ``"cannot check"`` (p does not fit a Wald
    interval). Returns one row per printed cell: ``variable, endpoint, p, interval,
    interval_excludes_1, verdict, wald_p`` (the audit's recomputed range, in words) and
    ``explanation`` (the audit's wording), in table order.
    """
    rows = []
    for _, r in cox[cox["applicable"].astype(bool)].iterrows():
        m = _COX_PRINTED.match(str(r["as_printed"]))
        if not m:
            raise ValueError(f"cnao/cox: cannot read {r['as_printed']!r} as 'p (low-high)'; fix the as_printed cell")
        p_s, lo_s, hi_s = m.groups()
        res = grim.check_p_from_ci(
            f"cnao.table4.{r['variable']}.{r['endpoint']}",
            "cnao",
            "Table IV",
            f"Cox {r['variable_as_printed']} ({r['endpoint']})",
            p_s,
            lo_s,
            hi_s,
        )
        rows.append(
            {
                "variable": str(r["variable_as_printed"]),
                "endpoint": str(r["endpoint"]),
                "p": p_s,
                "interval": f"{lo_s}–{hi_s}",
                "interval_excludes_1": float(lo_s) > 1 or float(hi_s) < 1,
                "verdict": res.verdict,
                "wald_p": res.recomputed,
                "explanation": res.explanation,
            }
        )
    return pd.DataFrame(rows)


def three_year_series(
    literature: pd.DataFrame, highlight: str = "cuccia2020", endpoints: Sequence[str] = ("LC", "OS")
) -> pd.DataFrame:
    """The review's series with a 3-year rate, each as its own publication reports it and each shared
    cohort once (:func:`sarcoma_review.stats.sensitivity.landmark_rows`): each series' rate with its 95% CI.

    The CI is the per-study Wald interval on the logit scale from
    :func:`sarcoma_review.stats.pooling.study_table` (binomial variance with the series' n; it ignores
    censoring, so it is a rough guide). Adds ``endpoint``, ``particle``, ``particle_group`` (and ``site``,
    ``histology`` where the table has them), ``row_label`` ("Author (year), n = N") and ``highlight``.
    """
    parts = []
    for ep in endpoints:
        sub = landmark_rows(literature, ep, 3.0)
        if sub.empty:
            continue
        st = pooling.study_table(sub, endpoint=ep, horizon_years=3)
        extra = [c for c in ("site", "histology") if c in sub.columns and c not in st.columns]
        st = st.merge(sub[["study_id", "particle", "particle_group", *extra]], on="study_id", how="left")
        st["endpoint"] = ep
        parts.append(st)
    if not parts:
        raise ValueError("no 3-year rates in the literature table")
    out = pd.concat(parts, ignore_index=True)
    out["highlight"] = out["study_id"] == highlight
    out["row_label"] = [
        f"{lab} ({int(y)}), n = {int(n)}" for lab, y, n in zip(out["label"], out["year"], out["n_patients"])
    ]
    return out


def series_dot_chart(
    series: pd.DataFrame,
    highlight_label: str = "CNAO (this chapter)",
    other_label: str = "Other series of the review",
    width: int = 170,
) -> alt.HConcatChart:
    """Dot-and-whisker chart of :func:`three_year_series`: one panel per endpoint; the highlighted
    series is a vermillion diamond, the others blue circles (shape tells them apart without colour)."""
    df = series.copy()
    df["series"] = np.where(df["highlight"], highlight_label, other_label)
    df["ci_text"] = [
        f"{e:g}% (95% CI {lo:.0f}–{hi:.0f})" for e, lo, hi in zip(df["rate_percent"], df["ci_low"], df["ci_high"])
    ]
    order = list(dict.fromkeys(df.sort_values(["year", "label"])["row_label"]))
    legend = alt.Legend(orient="bottom", symbolSize=120)
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=[highlight_label, other_label], range=[charts.HIGHLIGHT_COLOUR, charts.STUDY_COLOUR]),
        legend=legend,
    )
    shape = alt.Shape(
        "series:N",
        title=None,
        scale=alt.Scale(domain=[highlight_label, other_label], range=["diamond", "circle"]),
        legend=legend,
    )
    panels = []
    for i, ep in enumerate([e for e in ENDPOINT_ORDER if e in set(df["endpoint"])]):
        sub = df[df["endpoint"] == ep]
        data = alt.Data(
            values=_records(sub[["row_label", "rate_percent", "ci_low", "ci_high", "series", "particle", "ci_text"]])
        )
        y = alt.Y("row_label:N", sort=order, title=None, axis=alt.Axis(labels=i == 0, labelLimit=0))
        xs = alt.Scale(domain=[0, 100], nice=False)
        tip = [
            alt.Tooltip("row_label:N", title="Series"),
            alt.Tooltip("particle:N", title="Particle"),
            alt.Tooltip("ci_text:N", title="3-year rate"),
        ]
        base = alt.Chart(data)
        panel = alt.layer(
            base.mark_rule(strokeWidth=2).encode(
                x=alt.X("ci_low:Q", scale=xs, title=f"3-year {ep} (%)"), x2="ci_high:Q", y=y, color=colour, tooltip=tip
            ),
            base.mark_point(filled=True, size=90, opacity=1).encode(
                x=alt.X("rate_percent:Q", scale=xs), y=y, color=colour, shape=shape, tooltip=tip
            ),
        ).properties(width=width, height=28 * len(order), title=endpoint_title(ep))
        panels.append(panel)
    return alt.hconcat(*panels, spacing=12).configure_view(stroke=None)


def _cnao_key_point_values(logrank: pd.DataFrame, cox: pd.DataFrame, cc: pd.DataFrame) -> dict[str, Any]:
    """The GTV p-values the paper quotes for local control, and the caveat on its "only factor" claim.

    ``cnao_factor_caveat`` counts the factors tested per endpoint (log-rank and Cox, Tables III
    and IV) and names the Cox intervals for local control that exclude 1 with p > 0.05.
    """
    v: dict[str, Any] = {}
    for name, df, col in (("logrank", logrank, "p_as_printed"), ("cox", cox, "as_printed")):
        cell = df[(df["variable"] == "gtv_gt_1000cc") & (df["endpoint"] == "LC")]
        if cell.empty:
            raise ValueError(f"data/cnao/{name}.csv has no gtv_gt_1000cc row for LC; the CNAO chapter quotes it")
        text = str(cell[col].iloc[0])
        v[f"cnao_gtv_{name}_p_lc"] = text if name == "logrank" else _COX_PRINTED.match(text).group(1)
    counts = []
    for ep in ENDPOINT_ORDER:
        tested = set(logrank.loc[(logrank["endpoint"] == ep) & logrank["applicable"].astype(bool), "variable"])
        tested |= set(cox.loc[(cox["endpoint"] == ep) & cox["applicable"].astype(bool), "variable"])
        counts.append(f"{len(tested)} for {ENDPOINT_NAMES.get(ep, ep)}")
    text = (
        f"The paper tested several factors per endpoint ({_join(counts)}), each by log-rank and by Cox, "
        "and reports no correction for multiple testing"
    )
    lc_bad = cc[(cc["endpoint"] == "LC") & (cc["verdict"] == "inconsistent") & cc["interval_excludes_1"]]
    if len(lc_bad):
        n = len(lc_bad)
        text += (
            f"; {_number_word(n)} Cox interval{'s' if n != 1 else ''} for local control "
            f"({_join(list(lc_bad['variable']))}) exclude{'s' if n == 1 else ''} 1 despite p > 0.05"
        )
    v["cnao_factor_caveat"] = text + "."
    return v


def _cnao_landmark_sentences(landmarks: pd.DataFrame, v: Mapping[str, Any]) -> dict[str, Any]:
    """Generated verdicts on the landmark rates: abstract vs results, and a failure after 3 years.

    ``cnao_sections_agreement``: whether the abstract and the results give the same rate wherever
    both give one, and which rates only one section gives. ``cnao_ttlp_vs_3y``: whether the
    printed range of time to local failure allows a failure after 36 months.
    """
    lm = cnao_landmark_table(landmarks)
    both = lm[lm["agreement"].isin(["same", "different"])]
    diff = both[both["agreement"] == "different"]
    if diff.empty:
        text = "The two sections agree wherever both give a value."
    else:
        text = (
            "The two sections differ for "
            + _join(
                [
                    f"{r.horizon_years}-year {ENDPOINT_NAMES.get(r.endpoint, r.endpoint)} (abstract {r.abstract:g}%, "
                    f"results {r.results:g}%)"
                    for r in diff.itertuples()
                ]
            )
            + "."
        )
    for only, section in (("results only", "results"), ("abstract only", "abstract")):
        sub = lm[lm["agreement"] == only]
        if len(sub):
            col = "results" if section == "results" else "abstract"
            items = [
                f"{r.horizon_years}-year {ENDPOINT_NAMES.get(r.endpoint, r.endpoint)} ({getattr(r, col):g}%)"
                for r in sub.itertuples()
            ]
            text += f" The {_join(items)} appear{'s' if len(items) == 1 else ''} in the {section} only."
    ttlp_high = float(v["cnao_ttlp_high"])
    return {
        "cnao_sections_agreement": text,
        "cnao_ttlp_vs_3y": "which the range excludes" if ttlp_high <= 36 else "which the range allows",
    }


def _distinct(values) -> list[str]:
    """Distinct non-empty labels, in order of first appearance."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str) and v.strip() and v not in out:
            out.append(v)
    return out


#: Reader's words for the labels of a series of several sites or histologies, or none reported.
MIXED_WORDS = {"Various": "mixed histologies", "not reported": "not reported"}


def _histology_words(h: str) -> str:
    """A histology label in running text: ``"Chordoma"`` -> ``"chordoma"``, ``"Various"`` -> ``"mixed
    histologies"``; an eponym keeps its capital (``"Ewing sarcoma"``)."""
    if h in MIXED_WORDS:
        return MIXED_WORDS[h]
    return h if h.split()[0] in ("Ewing",) else h[:1].lower() + h[1:]


def _sites_text(sites) -> str:
    """``"sacrum, trunk, pelvis and extremities, and series of several or unreported sites"``."""
    named = [x for x in _distinct(sites) if x not in ("Various", "not reported")]
    vague = [x for x in _distinct(sites) if x in ("Various", "not reported")]
    text = _join([x.lower() for x in named]) if named else ""
    if vague:
        what = " or ".join({"Various": "several", "not reported": "unreported"}[x] for x in vague)
        text += (", and series of " if text else "series of ") + f"{what} sites"
    return text


def table_i_rounding(own: float, printed: float) -> str:
    """How Table I's printed rate relates to the rate the publication reports: ``"as reported"``,
    ``"rounded"`` (to the printed precision) or ``"not the reported rate"``."""
    if float(own) == float(printed):
        return "as reported"
    text = _printed_number(printed)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return "rounded" if round(float(own), decimals) == float(printed) else "not the reported rate"


def _series_values(
    series: pd.DataFrame, table_i_rates: pd.DataFrame | None, highlight: str = "cuccia2020"
) -> dict[str, Any]:
    """The values of the section on the cohort among the review's 3-year series (``cnao_own_*``,
    ``cnao_others_*``, ``cnao_t1_*``)."""
    v: dict[str, Any] = {}
    s = series.set_index(["study_id", "endpoint"])
    for ep in ("LC", "OS"):
        e = ep.lower()
        row = s.loc[(highlight, ep)]
        v[f"cnao_own_{e}_3y"] = float(row["rate_percent"])
        v[f"cnao_own_{e}_3y_ci_low"] = float(row["ci_low"])
        v[f"cnao_own_{e}_3y_ci_high"] = float(row["ci_high"])
        others = series[(series["endpoint"] == ep) & ~series["highlight"]]
        v[f"cnao_others_{e}_min"] = float(others["rate_percent"].min())
        v[f"cnao_others_{e}_max"] = float(others["rate_percent"].max())
        v[f"cnao_others_{e}_k"] = len(others)
        v[f"cnao_{e}_position"] = _position(
            float(row["rate_percent"]), float(others["rate_percent"].min()), float(others["rate_percent"].max())
        )
    others = series[~series["highlight"]].sort_values(["year", "label"], kind="stable")
    v["cnao_others_k"] = int(others["study_id"].nunique())
    v["cnao_others_sites"] = _sites_text(others["site"]) if "site" in others.columns else "not given"
    v["cnao_others_histologies"] = (
        _join([_histology_words(h) for h in _distinct(others["histology"])])
        if "histology" in others.columns
        else "not given"
    )
    v["cnao_others_particles"] = _join(_distinct(others["particle"]))
    if table_i_rates is not None:
        t1 = table_i_rates[
            (table_i_rates["study_id"] == highlight) & (table_i_rates["horizon_years"].astype(float) == 3.0)
        ].set_index("endpoint")
        words = []
        for ep in ("LC", "OS"):
            e = ep.lower()
            printed = float(t1.at[ep, "rate_percent"])
            v[f"cnao_t1_{e}_3y"] = printed
            how = table_i_rounding(v[f"cnao_own_{e}_3y"], printed)
            words.append(f"{how} for {ENDPOINT_NAMES[ep]}")
        v["cnao_t1_rounding"] = _join(words)
    return v


def cnao_glue_values(
    facts: pd.DataFrame,
    chars: pd.DataFrame,
    landmarks: pd.DataFrame,
    logrank: pd.DataFrame,
    cox: pd.DataFrame,
    series: pd.DataFrame,
    table_i_rates: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Every value the CNAO chapter's prose quotes, keyed ``cnao_*``.

    ``series`` is :func:`three_year_series`; ``table_i_rates`` (``literature/table_i_rates``, optional) adds
    the CNAO rates as Table I prints them (``cnao_t1_lc_3y``, ``cnao_t1_os_3y``) and how they relate to the
    reported rates (``cnao_t1_rounding``).
    """
    f = fact_values(facts)
    v: dict[str, Any] = {}

    def fv(key: str, fact_id: str, part: str = "value") -> None:
        if fact_id not in f:
            raise ValueError(
                f"data/cnao/facts.csv has no fact_id {fact_id!r}; the CNAO chapter quotes it (add the row)"
            )
        v[key] = f[fact_id][part]

    fv("cnao_n", "n_patients_results")
    fv("cnao_accrual_start", "accrual_start_results", "printed")
    fv("cnao_accrual_end", "accrual_end_results", "printed")
    for part, suffix in (("value", ""), ("low", "_low"), ("high", "_high")):
        fv(f"cnao_age{suffix}", "age_median_results", part)
        fv(f"cnao_dose{suffix}", "total_dose_results", part)
        fv(f"cnao_daily_dose{suffix}", "daily_dose_results", part)
        fv(f"cnao_gtv_text{suffix}", "gtv_median_results", part)
        fv(f"cnao_ptv_text{suffix}", "ptv_median_results", part)
        fv(f"cnao_fu{suffix}_results", "follow_up_median_results", part)
        fv(f"cnao_fu{suffix}_abstract", "follow_up_median_abstract", part)
        fv(f"cnao_ttlp{suffix}", "time_to_lp_results", part)
    for part in ("low", "high"):
        fv(f"cnao_ctv_margin_{part}", "ctv_margin_methods", part)
        fv(f"cnao_ptv_margin_{part}", "ptv_margin_methods", part)
    fv("cnao_fractions", "fractions_results")
    fv("cnao_fractions_per_week", "fractions_per_week_results")
    fv("cnao_kps_min", "kps_min_methods")
    fv("cnao_mf_ratio", "male_female_ratio_results")
    fv("cnao_surgery_n", "surgery_n_results")
    fv("cnao_surgery_pct_abstract", "surgery_percent_abstract")
    fv("cnao_r1", "r1_n_results")
    fv("cnao_r2", "r2_n_results")
    fv("cnao_lost", "lost_to_follow_up_results")
    fv("cnao_late_g3", "late_g3_neuropathy_n_results")
    fv("cnao_late_g3_pct", "late_g3_neuropathy_percent_abstract")
    fv("cnao_acute_max", "acute_max_grade_results")
    fv("cnao_local_failures", "local_failures_results")
    fv("cnao_lf_within_2y", "local_failures_within_2y_discussion")
    fv("cnao_distant", "distant_progression_results")
    fv("cnao_deaths", "deaths_results")
    fv("cnao_deaths_progression", "died_of_progression_results")
    fv("cnao_grading_unavailable", "grading_unavailable_n_results")
    n = int(v["cnao_n"])
    v["cnao_surgery_pct_exact"] = 100 * int(v["cnao_surgery_n"]) / n
    v["cnao_lf_after_2y"] = int(v["cnao_local_failures"]) - int(v["cnao_lf_within_2y"])

    c = chars.set_index(["variable", "category"])
    male, female = int(c.loc[("sex", "male"), "n"]), int(c.loc[("sex", "female"), "n"])
    v.update(cnao_male=male, cnao_female=female, cnao_mf_exact=male / female)
    for cat, key in (("Unresectable", "unresectable"), ("Subtotal resection", "subtotal")):
        v[f"cnao_{key}_n"] = int(c.loc[("surgery", cat), "n"])
        v[f"cnao_{key}_pct"] = float(c.loc[("surgery", cat), "percent"])
        v[f"cnao_{key}_pct_exact"] = 100 * v[f"cnao_{key}_n"] / n
    v["cnao_chemo_n"] = int(c.loc[("chemotherapy_pre_rt", "yes"), "n"])
    v["cnao_chemo_pct"] = float(c.loc[("chemotherapy_pre_rt", "yes"), "percent"])
    v["cnao_chemo_pct_exact"] = 100 * v["cnao_chemo_n"] / n
    v["cnao_table2_surgery_sum"] = v["cnao_unresectable_n"] + v["cnao_subtotal_n"]
    for key, var in (("gtv", "gtv"), ("ptv", "ptv")):
        v[f"cnao_{key}_table"] = float(c.loc[(var, "median"), "value"])
        v[f"cnao_{key}_table_low"] = float(c.loc[(var, "median"), "value_low"])
        v[f"cnao_{key}_table_high"] = float(c.loc[(var, "median"), "value_high"])
    for var, cat, key in (
        ("tumor_site", "Pelvis", "pelvis"),
        ("histology", "Chondrosarcoma", "chondro"),
        ("histology", "Osteosarcoma", "osteo"),
        ("disease_presentation", "Recurrent", "recurrent"),
        ("grading", "G3", "g3"),
    ):
        v[f"cnao_{key}_n"] = int(c.loc[(var, cat), "n"])
        v[f"cnao_{key}_pct"] = float(c.loc[(var, cat), "percent"])

    lm = cnao_landmark_table(landmarks).set_index(["endpoint", "horizon_years"])
    for ep in ENDPOINT_ORDER:
        for hz in (1, 2, 3):
            v[f"cnao_{ep.lower()}_{hz}y"] = float(lm.loc[(ep, hz), "results"])

    sig_lr = significant_cells(logrank)
    sig_cox = significant_cells(cox)
    v.update(
        cnao_logrank_significant=_join(sig_lr),
        cnao_logrank_n_significant=len(sig_lr),
        cnao_cox_significant=_join(sig_cox),
        cnao_cox_n_significant=len(sig_cox),
    )
    cc = cox_consistency(cox)
    direct = cc[cc["verdict"] == "inconsistent"]
    v["cnao_cox_n_cells"] = len(cc)
    v["cnao_cox_n_direct"] = len(direct)
    v["cnao_cox_direct"] = _join(
        [f"{r.variable} for {r.endpoint} (p = {r.p}, interval {r.interval})" for r in direct.itertuples()]
    )
    v["cnao_gtv_factor"] = str(cox.loc[cox["variable"] == "gtv_gt_1000cc", "variable_as_printed"].iloc[0])
    v["cnao_cox_n_wald_misfit"] = int((cc["verdict"] == "cannot check").sum())
    v["cnao_cox_n_wald_fit"] = int((cc["verdict"] == "consistent with rounding").sum())
    v.update(_cnao_key_point_values(logrank, cox, cc))
    v.update(_cnao_landmark_sentences(landmarks, v))

    v.update(_series_values(series, table_i_rates))
    return v


def pseudo_cohort_sentence(data_dir=None) -> str:
    """What the reconstructed pseudo-cohort of the audit chapter says about the numbers at risk the
    paper does not print, in plain words, to follow "rebuilds one cohort of"; every number from
    :func:`sarcoma_review.audit.reconstruct.joint_reconstruction`."""
    from sarcoma_review.audit import reconstruct
    from sarcoma_review.data.vocabulary import ENDPOINT_NAMES

    rec = reconstruct.joint_reconstruction(data_dir)
    last = max(reconstruct.last_reported_time(p) for p in rec.reported.values())
    risk = reconstruct.at_risk_table(rec.frames, [last]).iloc[0]
    counts = ", ".join(f"{int(risk[ep])} for {ENDPOINT_NAMES.get(ep, ep)}" for ep in rec.frames)
    n = len(rec.frames[reconstruct.FOLLOW_UP_ENDPOINT])
    return (
        f"{n} invented patients that reproduces the paper's statements, with one follow-up time per patient "
        "shared by the three curves (deaths censored for local control and distant progression-free survival). "
        f"At {last:g} months it has at risk {counts}: one possible set of numbers, not the paper's."
    )
