"""Table shaping for the two study chapters (``book/cnao.ipynb``, ``book/ifosfamide.ipynb``).

The chapters stay thin: every table they show and every number their prose quotes comes from a
function here, which reads the validated data frames (:mod:`sarcoma_review.loaders`) and calls
the statistics modules (:mod:`sarcoma_review.survival`, :mod:`sarcoma_review.pooling`,
:mod:`sarcoma_review.audit.grim`). Nothing here holds a number typed from a paper.

Conventions: rates are percentages (0-100) in the returned tables, except the Kaplan-Meier
frames for :func:`sarcoma_review.charts.km_plot`, which take fractions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from sarcoma_review import pooling, survival
from sarcoma_review.audit import grim

__all__ = [
    "plain",
    "glue_values",
    "fact_values",
    "cnao_characteristics",
    "cnao_landmark_table",
    "p_value_grid",
    "cox_consistency",
    "three_year_series",
    "series_dot_chart",
    "ifosfamide_characteristics",
    "ifosfamide_therapy",
    "ifosfamide_patient_table",
    "km_frames",
    "ifosfamide_recomputed",
    "ifosfamide_logrank",
]

ENDPOINT_ORDER = ("LC", "DPFS", "OS")
ENDPOINT_NAMES = {"LC": "Local control", "DPFS": "Distant progression-free survival",
                  "OS": "Overall survival", "DFS": "Disease-free survival"}


# --------------------------------------------------------------------------------------------
# glue helpers
# --------------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A Python scalar for ``myst_nb.glue``: numpy/pandas scalars become ``int``/``float``/``str``.

    myst-nb pastes the ``text/plain`` repr, which for ``np.int64(54)`` is ``"np.int64(54)"``;
    converting first makes ``{glue:text}`key:.1f``` work. Missing values become ``"NA"``.
    """
    if value is None or value is pd.NA:
        return "NA"
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return "NA"
        return f
    return str(value)


def glue_values(values: Mapping[str, Any]) -> None:
    """``myst_nb.glue(key, plain(value), display=False)`` for every item (call inside a notebook)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, plain(value), display=False)


def fact_values(facts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{fact_id: {"value", "low", "high", "printed", "location"}}`` from ``cnao/facts``."""
    out = {}
    for _, r in facts.iterrows():
        out[str(r["fact_id"])] = {"value": r["value"], "low": r["value_low"], "high": r["value_high"],
                                  "printed": r["value_as_printed"], "location": r["location"]}
    return out


# --------------------------------------------------------------------------------------------
# CNAO (Cuccia et al. 2020)
# --------------------------------------------------------------------------------------------
CNAO_LABELS = {
    "sex": "Sex", "age": "Age (years)", "histology": "Histology", "grading": "Grade (FNCLCC)",
    "disease_presentation": "Disease presentation", "tumor_site": "Tumour site", "surgery": "Surgery",
    "chemotherapy_pre_rt": "Chemotherapy before RT", "total_dose": "Total dose",
    "daily_dose": "Dose per fraction", "gtv": "GTV", "ptv": "PTV",
}


def cnao_characteristics(chars: pd.DataFrame, n_total: int) -> pd.DataFrame:
    """Table II as printed with ``n / n_total`` recomputed and the printed percentage checked.

    Returns columns ``characteristic, category, as_printed, n, recomputed_percent, check`` where
    ``check`` is the verdict of :func:`sarcoma_review.audit.grim.check_percent` in words
    (empty for rows without a printed percentage).
    """
    rows = []
    for _, r in chars.iterrows():
        n = r["n"]
        rec = float("nan") if pd.isna(n) else 100.0 * int(n) / n_total
        check = ""
        if not pd.isna(n) and not pd.isna(r["percent"]):
            res = grim.check_percent("cnao.table2", "cnao", "Table II", str(r["category"]), int(n), n_total,
                                     _printed_number(r["percent"]))
            check = {"consistent": "exact", "consistent with rounding": _rounding_words(res.explanation),
                     "inconsistent": "does not fit"}.get(res.verdict, res.verdict)
        rows.append({"characteristic": CNAO_LABELS.get(r["variable"], str(r["variable"])),
                     "category": "" if r["category"] in ("median", "yes") else str(r["category"]),
                     "as_printed": str(r["as_printed"]), "n": n, "recomputed_percent": rec, "check": check})
    return pd.DataFrame(rows)


def _printed_number(x: Any) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f)


def _rounding_words(explanation: str) -> str:
    """``"... prints as 68 under truncate only"`` -> ``"fits only if truncated"``; else ``"rounded"``."""
    return "fits only if truncated" if explanation.endswith("truncate only") else "rounded"


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
            rows.append({"endpoint": ep, "endpoint_name": ENDPOINT_NAMES[ep], "horizon_years": int(hz),
                         "abstract": a, "results": b, "agreement": agreement,
                         "abstract_wording": str(wording.iloc[0]) if len(wording) else ""})
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


_COX_PRINTED = re.compile(r"^\s*([0-9.]+)\s*\(\s*([0-9.]+)\s*-\s*([0-9.]+)\s*\)\s*$")


def cox_consistency(cox: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Each Table IV cell: does the printed interval agree with the printed p-value?

    The paper does not say what the intervals are; if they are 95% hazard-ratio intervals, an
    interval that excludes 1 means p < 0.05 and vice versa (``direct_conflict``). Under the
    further assumption of a Wald interval (symmetric on the log scale) the interval implies a
    p-value range (``wald_p_low``-``wald_p_high``, from the printed precision; see
    :func:`sarcoma_review.audit.grim.check_p_from_ci`); ``wald_verdict`` says whether the
    printed p lies in it.
    """
    rows = []
    for _, r in cox[cox["applicable"].astype(bool)].iterrows():
        m = _COX_PRINTED.match(str(r["as_printed"]))
        if not m:
            raise ValueError(f"cnao/cox: cannot read {r['as_printed']!r} as 'p (low-high)'; fix the as_printed cell")
        p_s, lo_s, hi_s = m.groups()
        res = grim.check_p_from_ci(f"cnao.cox.{r['variable']}.{r['endpoint']}", "cnao", "Table IV",
                                   f"{r['variable_as_printed']} ({r['endpoint']})", p_s, lo_s, hi_s)
        lo, hi, p = float(lo_s), float(hi_s), float(p_s)
        excludes = lo > 1 or hi < 1
        wald = [grim.wald_p_from_ci(float(a), float(b)) for a in grim.printed_interval(lo_s)
                for b in grim.printed_interval(hi_s) if 0 < a < b]
        rows.append({
            "variable": str(r["variable_as_printed"]), "endpoint": str(r["endpoint"]), "p": p_s,
            "interval": f"{lo_s}–{hi_s}", "interval_excludes_1": excludes, "p_significant": p <= alpha,
            "direct_conflict": excludes != (p <= alpha),
            "wald_p_low": min(wald), "wald_p_high": max(wald),
            "wald_verdict": "fits" if res.verdict != "inconsistent" else "does not fit",
        })
    return pd.DataFrame(rows)


def three_year_series(literature: pd.DataFrame, highlight: str = "cuccia2020",
                      endpoints: Sequence[str] = ("LC", "OS")) -> pd.DataFrame:
    """Table I series with a 3-year rate: each study's rate with its 95% CI.

    The CI is the per-study Wald interval on the logit scale from
    :func:`sarcoma_review.pooling.study_table` (binomial variance with the series' n; it ignores
    censoring, so it is a rough guide). Adds ``endpoint``, ``particle``, ``particle_group``,
    ``row_label`` ("Author (year), n = N") and ``highlight``.
    """
    parts = []
    for ep in endpoints:
        sub = literature[(literature["endpoint"] == ep) & (literature["horizon_years"].astype(float) == 3.0)]
        if sub.empty:
            continue
        st = pooling.study_table(sub, endpoint=ep, horizon=3)
        st = st.merge(sub[["study_id", "particle", "particle_group"]], on="study_id", how="left")
        st["endpoint"] = ep
        parts.append(st)
    if not parts:
        raise ValueError("no 3-year rates in the literature table")
    out = pd.concat(parts, ignore_index=True)
    out["highlight"] = out["study_id"] == highlight
    out["row_label"] = [f"{lab} ({int(y)}), n = {int(n)}" for lab, y, n in
                        zip(out["label"], out["year"], out["n_patients"])]
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.astype("object").where(df.notna(), None)
    return out.to_dict(orient="records")


def series_dot_chart(series: pd.DataFrame, highlight_label: str = "CNAO (this chapter)",
                     other_label: str = "Other Table I series", width: int = 260) -> alt.HConcatChart:
    """Dot-and-whisker chart of :func:`three_year_series`: one panel per endpoint, highlighted row in red."""
    df = series.copy()
    df["series"] = np.where(df["highlight"], highlight_label, other_label)
    df["ci_text"] = [f"{e:.0f}% (95% CI {lo:.0f}–{hi:.0f})" for e, lo, hi in
                     zip(df["rate_percent"], df["ci_low"], df["ci_high"])]
    order = list(dict.fromkeys(df.sort_values(["year", "label"])["row_label"]))
    colour = alt.Color("series:N", title=None, scale=alt.Scale(domain=[highlight_label, other_label],
                                                               range=["#d62728", "#1f77b4"]),
                       legend=alt.Legend(orient="bottom"))
    panels = []
    for i, ep in enumerate([e for e in ENDPOINT_ORDER if e in set(df["endpoint"])]):
        sub = df[df["endpoint"] == ep]
        data = alt.Data(values=_records(sub[["row_label", "rate_percent", "ci_low", "ci_high", "series",
                                             "particle", "ci_text"]]))
        y = alt.Y("row_label:N", sort=order, title=None, axis=alt.Axis(labels=i == 0, labelLimit=260))
        xs = alt.Scale(domain=[0, 100], nice=False)
        tip = [alt.Tooltip("row_label:N", title="Series"), alt.Tooltip("particle:N", title="Particle"),
               alt.Tooltip("ci_text:N", title="3-year rate")]
        base = alt.Chart(data)
        panel = alt.layer(
            base.mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", scale=xs, title=f"3-year {ep} (%)"),
                                                 x2="ci_high:Q", y=y, color=colour, tooltip=tip),
            base.mark_point(filled=True, size=80).encode(x=alt.X("rate_percent:Q", scale=xs), y=y,
                                                         color=colour, tooltip=tip),
        ).properties(width=width, height=28 * len(order), title=ENDPOINT_NAMES[ep])
        panels.append(panel)
    return alt.hconcat(*panels, spacing=12).configure_view(stroke=None)


# --------------------------------------------------------------------------------------------
# Ifosfamide (Eckert et al. 2010)
# --------------------------------------------------------------------------------------------
IFO_LABELS = {
    "age": "Age (years)", "gender": "Sex", "t_category": "T category", "initial_tumor_size": "Initial tumour size",
    "grade": "Grade (FNCLCC)", "localisation": "Site", "follow_up": "Follow-up (months)",
    "irradiation_dose": "Radiation dose (Gy)", "irradiation_technique": "Technique",
    "ifosfamide_dose_intended": "Ifosfamide dose, intended", "additional_modality": "Additional modality",
}


def _table3_count(patients: pd.DataFrame, variable: str, category: str) -> float:
    """How many Table 3 rows fall in a Table 1 category (NaN when Table 3 does not say)."""
    p = patients
    if variable == "t_category":
        return float((p["stage"] == category).sum())
    if variable == "grade":
        return float((p["grade"] == "G" + category.split()[-1]).sum())
    if variable == "initial_tumor_size":
        d = p["diameter_initial_cm"].astype(float)
        if category.startswith(">"):
            return float((d > 10).sum())
        return float(((d >= 5) & (d <= 10)).sum())
    if variable == "localisation":
        site = {"Craniocervical": "HN", "Trunk": "Trunk"}.get(category)
        return float((p["site"] == site).sum()) if site else float("nan")
    if variable == "additional_modality" and category == "Hyperthermia":
        return float(p["hyperthermia"].astype(bool).sum())
    if variable == "irradiation_technique":
        return float("nan")
    return float("nan")


def ifosfamide_characteristics(chars: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Table 1 (or Table 2) rows as printed beside the count Table 3 gives, where it gives one.

    Returns ``characteristic, category, as_printed, n, table3_n, agreement``.
    """
    rows = []
    n_total = len(patients)
    for _, r in chars.iterrows():
        var, cat = str(r["variable"]), str(r["category"])
        t3 = _table3_count(patients, var, cat) if not pd.isna(r["n"]) else float("nan")
        if var == "irradiation_dose":
            dose = patients["dose_gy"].astype(float)
            t3 = {"median": float(dose.median()), "range_low": float(dose.min()),
                  "range_high": float(dose.max())}.get(cat, float("nan"))
        if math.isnan(t3):
            agreement = ""
        else:
            printed = r["n"] if not pd.isna(r["n"]) else r["value"]
            agreement = "same" if float(printed) == t3 else "different"
        rows.append({"characteristic": IFO_LABELS.get(var, var),
                     "category": cat.replace("range_low", "range, lowest").replace("range_high", "range, highest"),
                     "as_printed": str(r["as_printed"]), "n": r["n"], "table3_n": t3, "agreement": agreement,
                     "n_total": n_total})
    return pd.DataFrame(rows)


def ifosfamide_therapy(therapy: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as printed beside Table 3 where Table 3 gives the same quantity."""
    return ifosfamide_characteristics(therapy, patients)


SETTING_NAMES = {"primary": "Primary", "after_R2": "After R2 resection"}


def ifosfamide_patient_table(patients: pd.DataFrame) -> pd.DataFrame:
    """Table 3 for display: one row per patient, with the readings of ``data/README.md`` applied."""
    p = patients.copy()
    p["setting_name"] = p["setting"].map(SETTING_NAMES).fillna(p["setting"])
    p["dose_text"] = [f"{d:.1f}" + (" HF" if hf else "") + (" + HT" if ht else "")
                      for d, hf, ht in zip(p["dose_gy"], p["hyperfractionation"], p["hyperthermia"])]
    p["lc_text"] = [f"{int(t)}" + (" (local failure)" if lf else "") for t, lf in zip(p["lc_months"], p["local_failure"])]
    p["status_name"] = p["status"].map({"AWOD": "Alive without disease", "DOD": "Dead of disease"}).fillna(p["status"])
    p["toxicity"] = p["toxicity"].fillna("")
    return p


def km_frames(time: Sequence[float], event: Sequence[int], group: str,
              at_risk_times: Sequence[float]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three inputs of :func:`sarcoma_review.charts.km_plot` for one group.

    Returns ``km`` (from time 0, survival 1; fractions with the 95% log-log interval of
    :func:`sarcoma_review.survival.kaplan_meier`), ``at_risk`` (numbers at risk at
    ``at_risk_times``) and ``censored`` (time and survival at each censoring).
    """
    km = survival.kaplan_meier(time, event)
    start = pd.DataFrame({"time": [0.0], "surv": [1.0], "ci_low": [1.0], "ci_high": [1.0], "n_censor": [0]})
    curve = pd.concat([start, km[["time", "surv", "ci_low", "ci_high", "n_censor"]]], ignore_index=True)
    curve = curve.drop_duplicates("time", keep="last")
    kmf = pd.DataFrame({"group": group, "time": curve["time"], "survival": curve["surv"],
                        "ci_low": curve["ci_low"], "ci_high": curve["ci_high"]})
    cens = km[km["n_censor"] > 0]
    censored = pd.DataFrame({"group": group, "time": cens["time"], "survival": cens["surv"]})
    nar = survival.number_at_risk(time, event, at_risk_times)
    at_risk = pd.DataFrame({"group": group, "time": nar["time"], "n_at_risk": nar["n_risk"]})
    return kmf.reset_index(drop=True), at_risk, censored.reset_index(drop=True)


def _endpoint_arrays(patients: pd.DataFrame, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    if endpoint == "LC":
        return patients["lc_months"].to_numpy(float), patients["local_failure"].to_numpy(int)
    if endpoint == "OS":
        return patients["os_months"].to_numpy(float), patients["death"].to_numpy(int)
    raise ValueError(f"endpoint must be 'LC' or 'OS' (Table 3 has no other times), not {endpoint!r}")


def _reported(reported: pd.DataFrame, ids: Sequence[str]) -> tuple[float, str]:
    sub = reported[reported["estimate_id"].isin(ids)]
    if sub.empty:
        raise ValueError(f"ifosfamide/reported_estimates has none of {list(ids)}")
    vals = sub["value"].astype(float).unique()
    if len(vals) != 1:
        raise ValueError(f"estimates {list(ids)} disagree among themselves ({list(vals)}); report them separately")
    locations = "; ".join(dict.fromkeys(sub["location"].astype(str)))
    return float(vals[0]), locations


def ifosfamide_recomputed(patients: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Reported Kaplan-Meier figures beside the same figures recomputed from Table 3.

    Rates are compared after rounding the recomputed value to the printed precision (whole
    percent or month): ``agree`` is True when they match. Returns ``key, quantity, reported,
    recomputed, ci_low, ci_high, unit, agree, location``.
    """
    lc_t, lc_e = _endpoint_arrays(patients, "LC")
    os_t, os_e = _endpoint_arrays(patients, "OS")
    lc_lm = survival.landmarks(lc_t, lc_e, [24, 60]).set_index("time")
    os_lm = survival.landmarks(os_t, os_e, [60]).set_index("time")
    os_med = survival.median_survival(os_t, os_e)
    alive = patients["death"].astype(int) == 0
    spec = [
        ("lc_2y", "Local control at 2 years (%)", ["lc_2y_results"], 100 * lc_lm.loc[24, "surv"],
         100 * lc_lm.loc[24, "ci_low"], 100 * lc_lm.loc[24, "ci_high"], "%"),
        ("lc_5y", "Local control at 5 years (%)", ["lc_5y_results", "lc_5y_abstract", "lc_5y_figure2"],
         100 * lc_lm.loc[60, "surv"], 100 * lc_lm.loc[60, "ci_low"], 100 * lc_lm.loc[60, "ci_high"], "%"),
        ("lc_at_risk_2y", "Patients at risk for local control after 2 years", ["lc_at_risk_2y"],
         float((lc_t > 24).sum()), np.nan, np.nan, "patients"),
        ("local_failures", "Local failures", ["local_relapses"], float(lc_e.sum()), np.nan, np.nan, "patients"),
        ("os_median", "Median overall survival (months)", ["os_median_results", "os_median_abstract"],
         os_med["median"], os_med["ci_low"], os_med["ci_high"], "months"),
        ("os_5y", "Overall survival at 5 years (%)", ["os_5y_results", "os_5y_abstract", "os_5y_figure2"],
         100 * os_lm.loc[60, "surv"], 100 * os_lm.loc[60, "ci_low"], 100 * os_lm.loc[60, "ci_high"], "%"),
        ("alive", "Patients alive and disease-free at analysis", ["alive_disease_free"],
         float(alive.sum()), np.nan, np.nan, "patients"),
        ("follow_up_alive", "Median follow-up of patients alive (months)", ["follow_up_median_alive"],
         float(patients.loc[alive, "os_months"].astype(float).median()), np.nan, np.nan, "months"),
    ]
    rows = []
    for key, quantity, ids, rec, lo, hi, unit in spec:
        rep, loc = _reported(reported, ids)
        rows.append({"key": key, "quantity": quantity, "reported": rep, "recomputed": float(rec),
                     "ci_low": float(lo), "ci_high": float(hi), "unit": unit,
                     "agree": bool(round(float(rec)) == round(rep)) if not math.isnan(rec) else False,
                     "location": loc})
    return pd.DataFrame(rows)


def ifosfamide_groupings(patients: pd.DataFrame) -> dict[str, tuple[str, pd.Series]]:
    """The groupings Table 3 allows: ``{key: (title, labels per patient)}``."""
    d = patients["diameter_initial_cm"].astype(float)
    return {
        "size": ("Initial diameter", pd.Series(np.where(d > 10, "> 10 cm", "≤ 10 cm"), index=patients.index)),
        "grade": ("Grade", patients["grade"].astype(str)),
        "setting": ("Setting", patients["setting"].map(SETTING_NAMES).fillna(patients["setting"]).astype(str)),
    }


def ifosfamide_logrank(patients: pd.DataFrame) -> pd.DataFrame:
    """Log-rank tests (:func:`sarcoma_review.survival.logrank`) by size, grade and setting, LC and OS.

    Returns one row per comparison x endpoint: ``comparison, endpoint, groups`` (text with n,
    observed and expected events per group), ``events``, ``chisq``, ``p``.
    """
    rows = []
    for key, (title, labels) in ifosfamide_groupings(patients).items():
        for ep in ("LC", "OS"):
            t, e = _endpoint_arrays(patients, ep)
            summary, table = survival.logrank(t, e, labels.to_numpy())
            groups = "; ".join(f"{g}: n = {n}, {o} observed / {x:.1f} expected"
                               for g, n, o, x in zip(table["group"], table["n"], table["observed"], table["expected"]))
            rows.append({"key": f"{key}_{ep.lower()}", "comparison": title, "endpoint": ep,
                         "groups": groups, "events": int(e.sum()), "chisq": summary["chisq"], "p": summary["p"]})
    return pd.DataFrame(rows)
