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
from sarcoma_review.analysis import ENDPOINT_NAMES, landmark_rows
from sarcoma_review.audit import grim
from sarcoma_review.audit.ipd import size_threshold

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
    "significant_cells",
    "cnao_glue_values",
    "ifosfamide_glue_values",
]

ENDPOINT_ORDER = ("LC", "DPFS", "OS")


def endpoint_title(endpoint: str) -> str:
    """``"LC"`` -> ``"Local control"`` (:data:`sarcoma_review.analysis.ENDPOINT_NAMES`, capitalised)."""
    name = ENDPOINT_NAMES.get(endpoint, endpoint)
    return name[:1].upper() + name[1:]


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
            res = grim.check_percent("cnao.table2", "cnao", "Table II", str(r["category"]), int(n), n_total,
                                     _printed_number(r["percent"]))
            check = {"consistent": "exact", "consistent with rounding": _rounding_words(res.explanation),
                     "inconsistent": "does not fit"}.get(res.verdict, res.verdict)
        label = CNAO_LABELS.get(r["variable"], str(r["variable"]))
        category = "" if r["category"] in ("median", "yes") else str(r["category"])
        rows.append({"characteristic": label, "category": category,
                     "item": f"{label}: {category}" if category else label,
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
            rows.append({"endpoint": ep, "endpoint_name": endpoint_title(ep), "horizon_years": int(hz),
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
        res = grim.check_p_from_ci(f"cnao.table4.{r['variable']}.{r['endpoint']}", "cnao", "Table IV",
                                   f"Cox {r['variable_as_printed']} ({r['endpoint']})", p_s, lo_s, hi_s)
        rows.append({
            "variable": str(r["variable_as_printed"]), "endpoint": str(r["endpoint"]), "p": p_s,
            "interval": f"{lo_s}–{hi_s}", "interval_excludes_1": float(lo_s) > 1 or float(hi_s) < 1,
            "verdict": res.verdict, "wald_p": res.recomputed, "explanation": res.explanation,
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
        sub = landmark_rows(literature, ep, 3.0)
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
                     other_label: str = "Other Table I series", width: int = 170) -> alt.HConcatChart:
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
        ).properties(width=width, height=28 * len(order), title=endpoint_title(ep))
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
        m = re.fullmatch(r"\s*>\s*([0-9.]+)\s*cm\s*", category)
        if m:
            return float((d > float(m.group(1))).sum())
        m = re.fullmatch(r"\s*([0-9.]+)\s*-\s*([0-9.]+)\s*cm\s*", category)
        if m:
            return float(((d >= float(m.group(1))) & (d <= float(m.group(2)))).sum())
        return float("nan")
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


#: Size cut-off of Eckert et al.'s Table 1 (category ">10 cm" of ``initial_tumor_size`` in
#: data/ifosfamide/characteristics.csv); the chapter passes the value read from the data
#: (:func:`sarcoma_review.audit.ipd.size_threshold`), and a test checks this default against it.
TABLE1_SIZE_CUTOFF_CM = 10.0


def ifosfamide_groupings(patients: pd.DataFrame,
                         threshold_cm: float = TABLE1_SIZE_CUTOFF_CM) -> dict[str, tuple[str, pd.Series]]:
    """The groupings Table 3 allows: ``{key: (title, labels per patient)}``."""
    d = patients["diameter_initial_cm"].astype(float)
    return {
        "size": ("Initial diameter", pd.Series(np.where(d > threshold_cm, f"> {threshold_cm:g} cm",
                                                        f"≤ {threshold_cm:g} cm"), index=patients.index)),
        "grade": ("Grade", patients["grade"].astype(str)),
        "setting": ("Setting", patients["setting"].map(SETTING_NAMES).fillna(patients["setting"]).astype(str)),
    }


def ifosfamide_logrank(patients: pd.DataFrame, threshold_cm: float = TABLE1_SIZE_CUTOFF_CM) -> pd.DataFrame:
    """Log-rank tests (:func:`sarcoma_review.survival.logrank`) by size, grade and setting, LC and OS.

    Returns one row per comparison x endpoint: ``comparison, endpoint, groups`` (text with n,
    observed and expected events per group), ``events``, ``chisq``, ``p``.
    """
    rows = []
    for key, (title, labels) in ifosfamide_groupings(patients, threshold_cm).items():
        for ep in ("LC", "OS"):
            t, e = _endpoint_arrays(patients, ep)
            summary, table = survival.logrank(t, e, labels.to_numpy())
            groups = "; ".join(f"{g}: n = {n}, {o} observed / {x:.1f} expected"
                               for g, n, o, x in zip(table["group"], table["n"], table["observed"], table["expected"]))
            rows.append({"key": f"{key}_{ep.lower()}", "comparison": title, "endpoint": ep,
                         "groups": groups, "events": int(e.sum()), "chisq": summary["chisq"], "p": summary["p"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# values quoted in the chapters' prose (glued by key)
# --------------------------------------------------------------------------------------------
def _join(items: Sequence[str]) -> str:
    items = list(items)
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def significant_cells(df: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """``"GTV volume>1000cc (LC, p = 0.04)"`` for every Table III/IV cell with printed p <= alpha."""
    sub = df[df["applicable"].astype(bool) & (df["p_value"].astype(float) <= alpha)]
    col = "p_as_printed" if "p_as_printed" in df.columns else None
    out = []
    for _, r in sub.iterrows():
        p = r[col] if col else _COX_PRINTED.match(str(r["as_printed"])).group(1)
        out.append(f"{r['variable_as_printed']} ({r['endpoint']}, p = {p})")
    return out


def _position(x: float, lo: float, hi: float) -> str:
    """``"below"``, ``"within"`` or ``"above"`` the range ``lo``-``hi``."""
    return "below" if x < lo else ("above" if x > hi else "within")


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
    text = (f"The paper tested several factors per endpoint ({_join(counts)}), each by log-rank and by Cox, "
            "and reports no correction for multiple testing")
    lc_bad = cc[(cc["endpoint"] == "LC") & (cc["verdict"] == "inconsistent") & cc["interval_excludes_1"]]
    if len(lc_bad):
        n = len(lc_bad)
        text += (f"; {_number_word(n)} Cox interval{'s' if n != 1 else ''} for local control "
                 f"({_join(list(lc_bad['variable']))}) exclude{'s' if n == 1 else ''} 1 despite p > 0.05")
    v["cnao_factor_caveat"] = text + "."
    return v


def _number_word(n: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if 0 <= n < len(words) else str(n)


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
        text = "The two sections differ for " + _join(
            [f"{r.horizon_years}-year {ENDPOINT_NAMES.get(r.endpoint, r.endpoint)} (abstract {r.abstract:g}%, "
             f"results {r.results:g}%)" for r in diff.itertuples()]) + "."
    for only, section in (("results only", "results"), ("abstract only", "abstract")):
        sub = lm[lm["agreement"] == only]
        if len(sub):
            col = "results" if section == "results" else "abstract"
            items = [f"{r.horizon_years}-year {ENDPOINT_NAMES.get(r.endpoint, r.endpoint)} ({getattr(r, col):g}%)"
                     for r in sub.itertuples()]
            text += f" The {_join(items)} appear{'s' if len(items) == 1 else ''} in the {section} only."
    ttlp_high = float(v["cnao_ttlp_high"])
    return {"cnao_sections_agreement": text,
            "cnao_ttlp_vs_3y": "which the range excludes" if ttlp_high <= 36 else "which the range allows"}


def cnao_glue_values(facts: pd.DataFrame, chars: pd.DataFrame, landmarks: pd.DataFrame,
                     logrank: pd.DataFrame, cox: pd.DataFrame, series: pd.DataFrame) -> dict[str, Any]:
    """Every value the CNAO chapter's prose quotes, keyed ``cnao_*``."""
    f = fact_values(facts)
    v: dict[str, Any] = {}

    def fv(key: str, fact_id: str, part: str = "value") -> None:
        if fact_id not in f:
            raise ValueError(f"data/cnao/facts.csv has no fact_id {fact_id!r}; the CNAO chapter quotes it (add the row)")
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
    for var, cat, key in (("tumor_site", "Pelvis", "pelvis"), ("histology", "Chondrosarcoma", "chondro"),
                          ("histology", "Osteosarcoma", "osteo"), ("disease_presentation", "Recurrent", "recurrent"),
                          ("grading", "G3", "g3")):
        v[f"cnao_{key}_n"] = int(c.loc[(var, cat), "n"])
        v[f"cnao_{key}_pct"] = float(c.loc[(var, cat), "percent"])

    lm = cnao_landmark_table(landmarks).set_index(["endpoint", "horizon_years"])
    for ep in ENDPOINT_ORDER:
        for hz in (1, 2, 3):
            v[f"cnao_{ep.lower()}_{hz}y"] = float(lm.loc[(ep, hz), "results"])

    sig_lr = significant_cells(logrank)
    sig_cox = significant_cells(cox)
    v.update(cnao_logrank_significant=_join(sig_lr), cnao_logrank_n_significant=len(sig_lr),
             cnao_cox_significant=_join(sig_cox), cnao_cox_n_significant=len(sig_cox))
    cc = cox_consistency(cox)
    direct = cc[cc["verdict"] == "inconsistent"]
    v["cnao_cox_n_cells"] = len(cc)
    v["cnao_cox_n_direct"] = len(direct)
    v["cnao_cox_direct"] = _join([f"{r.variable} for {r.endpoint} (p = {r.p}, interval {r.interval})"
                                  for r in direct.itertuples()])
    v["cnao_gtv_factor"] = str(cox.loc[cox["variable"] == "gtv_gt_1000cc", "variable_as_printed"].iloc[0])
    v["cnao_cox_n_wald_misfit"] = int((cc["verdict"] == "cannot check").sum())
    v["cnao_cox_n_wald_fit"] = int((cc["verdict"] == "consistent with rounding").sum())
    v.update(_cnao_key_point_values(logrank, cox, cc))
    v.update(_cnao_landmark_sentences(landmarks, v))

    s = series.set_index(["study_id", "endpoint"])
    for ep in ("LC", "OS"):
        row = s.loc[("cuccia2020", ep)]
        v[f"cnao_t1_{ep.lower()}_3y"] = float(row["rate_percent"])
        v[f"cnao_t1_{ep.lower()}_3y_ci_low"] = float(row["ci_low"])
        v[f"cnao_t1_{ep.lower()}_3y_ci_high"] = float(row["ci_high"])
        others = series[(series["endpoint"] == ep) & ~series["highlight"]]
        v[f"cnao_others_{ep.lower()}_min"] = float(others["rate_percent"].min())
        v[f"cnao_others_{ep.lower()}_max"] = float(others["rate_percent"].max())
        v[f"cnao_others_{ep.lower()}_k"] = len(others)
        v[f"cnao_{ep.lower()}_position"] = _position(float(row["rate_percent"]), float(others["rate_percent"].min()),
                                                     float(others["rate_percent"].max()))
    return v


def _ifosfamide_sentences(patients: pd.DataFrame, reported: pd.DataFrame) -> dict[str, Any]:
    """Generated phrases of the ifosfamide chapter (counts and verdicts read from the data).

    ``ifo_stage_grade``: stage and grade counts of Table 3 ("all 11 T2; 8 G3, 3 G2").
    ``ifo_gt10_reduced``: tumours > 10 cm initially minus those > 10 cm at the start of RT (text).
    ``ifo_lc_verdict`` / ``ifo_os_verdict``: whether every local-control / overall-survival figure
    of :func:`ifosfamide_recomputed` is reproduced (exactly, or after rounding).
    ``ifo_deaths_cause``: how many deaths Table 3 records as death of disease (DOD).
    """
    n = len(patients)

    def counts(col: str) -> str:
        vc = patients[col].astype(str).value_counts()
        if len(vc) == 1:
            return f"all {n} {vc.index[0]}"
        return ", ".join(f"{k} {lab}" for lab, k in sorted(vc.items(), key=lambda x: (-x[1], x[0])))

    v: dict[str, Any] = {"ifo_stage_grade": f"{counts('stage')}; {counts('grade')}"}
    r = reported.set_index("estimate_id")
    for eid in ("size_gt10_initial_text", "size_gt10_before_rt_text"):
        if eid not in r.index:
            raise ValueError(f"data/ifosfamide/reported_estimates.csv has no estimate_id {eid!r}; "
                             "the ifosfamide chapter quotes it (add the row)")
    reduced = int(float(r.loc["size_gt10_initial_text", "value"]) - float(r.loc["size_gt10_before_rt_text", "value"]))
    v["ifo_gt10_reduced"] = _number_word(reduced) if reduced >= 0 else str(reduced)
    rec = ifosfamide_recomputed(patients, reported)
    for ep in ("lc", "os"):
        sub = rec[rec["key"].str.startswith(ep + "_")]
        if sub.empty:
            raise ValueError(f"no {ep.upper()} figure in data/ifosfamide/reported_estimates.csv to recompute")
        if (sub["recomputed"].astype(float) == sub["reported"].astype(float)).all():
            verdict = "recomputes exactly"
        elif sub["agree"].all():
            verdict = "recomputes after rounding"
        elif sub["agree"].any():
            verdict = "recomputes only in part"
        else:
            verdict = "does not recompute"
        v[f"ifo_{ep}_verdict"] = verdict
    deaths = patients[patients["death"] == 1]
    dod = int((deaths["status"] == "DOD").sum())
    if len(deaths) == 0:
        text = "Table 3 records no death."
    elif dod == len(deaths):
        text = f"All {len(deaths)} deaths in Table 3 are recorded as death of disease (DOD)."
    else:
        text = f"{dod} of the {len(deaths)} deaths in Table 3 are recorded as death of disease (DOD)."
    v["ifo_deaths_cause"] = text
    return v


def ifosfamide_glue_values(patients: pd.DataFrame, reported: pd.DataFrame, chars: pd.DataFrame,
                           therapy: pd.DataFrame) -> dict[str, Any]:
    """Every value the ifosfamide chapter's prose quotes, keyed ``ifo_*``."""
    r = reported.set_index("estimate_id")
    v: dict[str, Any] = {"ifo_n": len(patients)}

    def rv(key: str, estimate_id: str, part: str = "value") -> None:
        if estimate_id not in r.index:
            raise ValueError(f"data/ifosfamide/reported_estimates.csv has no estimate_id {estimate_id!r}; "
                             "the ifosfamide chapter quotes it (add the row)")
        v[key] = r.loc[estimate_id, part]

    rv("ifo_dose", "dose_median_text")
    rv("ifo_dose_low", "dose_median_text", "value_low")
    rv("ifo_dose_high", "dose_median_text", "value_high")
    rv("ifo_age", "age_median_text")
    rv("ifo_fu", "follow_up_median")
    rv("ifo_fu_low", "follow_up_median", "value_low")
    rv("ifo_fu_high", "follow_up_median", "value_high")
    rv("ifo_completed", "therapy_completed", "numerator")
    rv("ifo_completed_pct", "therapy_completed")
    rv("ifo_rt_planned", "rt_as_planned", "numerator")
    rv("ifo_skin_severe", "skin_toxicity_severe", "numerator")
    rv("ifo_skin_evaluable", "skin_toxicity_severe", "denominator")
    rv("ifo_died_metastasized", "died_metastasized")
    rv("ifo_dm_pct_text", "distant_metastases_percent")
    rv("ifo_dfs_median", "dfs_median_results")
    rv("ifo_dfs_5y", "dfs_5y_abstract")
    rv("ifo_lc_mean", "lc_mean_abstract")
    rv("ifo_latest_death_text", "os_no_death_after")
    rv("ifo_gt10_text", "size_gt10_initial_text")
    rv("ifo_gt10_before_rt_text", "size_gt10_before_rt_text")
    rv("ifo_dfs_grade_p", "dfs_by_grade_logrank")
    n = len(patients)
    dm = grim.check_percent("ifosfamide.dm_percent", "ifosfamide", "Discussion", "distant metastases",
                            None, n, _printed_number(v["ifo_dm_pct_text"]))
    v["ifo_dm_pct_check"] = dm.explanation
    ch = chars.set_index(["variable", "category"])
    th = therapy.set_index(["variable", "category"])
    threshold, gt_label = size_threshold(chars)
    sizes = chars[chars["variable"] == "initial_tumor_size"]
    le_label = str(sizes.loc[sizes["category"] != gt_label, "category"].iloc[0])
    v["ifo_gt10_table1"] = int(ch.loc[("initial_tumor_size", gt_label), "n"])
    v["ifo_gt10_table1_pct"] = float(ch.loc[("initial_tumor_size", gt_label), "percent"])
    v["ifo_le10_table1_pct"] = float(ch.loc[("initial_tumor_size", le_label), "percent"])
    v["ifo_ifo15_table2_pct"] = float(th.loc[("ifosfamide_dose_intended", "15 g/m2"), "percent"])
    v["ifo_ifo10_table2_pct"] = float(th.loc[("ifosfamide_dose_intended", "10 g/m2"), "percent"])
    d0 = patients["diameter_initial_cm"].astype(float)
    v["ifo_gt10_table3"] = int((d0 > threshold).sum())
    v["ifo_g3"] = int((patients["grade"] == "G3").sum())
    v["ifo_primary"] = int((patients["setting"] == "primary").sum())
    v["ifo_after_r2"] = int((patients["setting"] == "after_R2").sum())
    v["ifo_hyperthermia"] = int(patients["hyperthermia"].astype(bool).sum())
    v["ifo_deaths"] = int(patients["death"].sum())
    v.update(_ifosfamide_sentences(patients, reported))
    v["ifo_latest_death"] = float(patients.loc[patients["death"] == 1, "os_months"].max())
    v["ifo_os_max"] = float(patients["os_months"].max())
    v["ifo_os_min"] = float(patients["os_months"].min())
    lf = patients[patients["local_failure"] == 1]
    v["ifo_lf_gt10"] = int((lf["diameter_initial_cm"].astype(float) > threshold).sum())

    rec = ifosfamide_recomputed(patients, reported).set_index("key")
    for key in rec.index:
        v[f"ifo_{key}_reported"] = rec.loc[key, "reported"]
        v[f"ifo_{key}_recomputed"] = rec.loc[key, "recomputed"]
        v[f"ifo_{key}_ci_low"] = rec.loc[key, "ci_low"]
        v[f"ifo_{key}_ci_high"] = rec.loc[key, "ci_high"]
    lr = ifosfamide_logrank(patients, threshold)
    v["ifo_logrank_min_p"] = float(lr["p"].min())
    v["ifo_logrank_max_p"] = float(lr["p"].max())
    v["ifo_lc_events"] = int(patients["local_failure"].sum())
    v["ifo_logrank_n_tests"] = len(lr)
    sizes = [int(n) for text in lr["groups"] for n in re.findall(r"n = (\d+)", text)]
    v["ifo_logrank_min_n"], v["ifo_logrank_max_n"] = min(sizes), max(sizes)
    v["ifo_size_label"] = size_threshold(chars)[1]
    return v


def audit_flags_html(source: str, audit: pd.DataFrame | None = None):
    """The numbers of ``source`` ("cnao" or "ifosfamide") that failed a reproduction-audit check,
    as an HTML list linking each to its row of the audit chapter (``audit.html#audit-<id>``).

    Escaped throughout; the links are relative, and the study chapters sit beside ``audit`` in
    ``book/``.
    """
    import html as _html

    from IPython.display import HTML

    from sarcoma_review.audit import links

    flagged = links(source, audit=audit)
    # The "without <statement>" rows are the audit's diagnostics of a survival-curve conflict, not
    # numbers of the paper; the conflict itself is listed, in plain words.
    flagged = flagged[~flagged["check_id"].str.contains(".without_", regex=False)]
    if flagged.empty:
        return HTML("<p>No number of this paper failed a check of the reproduction audit.</p>")
    items = []
    for r in flagged.itertuples():
        if ".km." in r.check_id:
            what = _html.escape(str(r.explanation))
        else:
            what = (f"reported {_html.escape(str(r.reported))}; recomputed {_html.escape(str(r.recomputed))}")
        items.append(
            f'<li><strong>{_html.escape(str(r.quantity))}</strong> ({_html.escape(str(r.location))}): {what}. '
            f'<a href="{_html.escape(r.href, quote=True)}">Audit row</a></li>')
    return HTML('<ul class="audit-flags">' + "".join(items) + "</ul>")
