"""The ifosfamide radiochemotherapy chapter (``book/ifosfamide.ipynb``): tables, Kaplan–Meier
frames recomputed from Table 3, and the chapter's generated sentences and glue values.
Nothing here holds a number typed from a paper."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sarcoma_review.audit import grim
from sarcoma_review.audit.ipd import size_threshold
from sarcoma_review.pages.common import _number_word, _printed_number
from sarcoma_review.pages.render.tables import format_p
from sarcoma_review.stats import survival

# --------------------------------------------------------------------------------------------
# Ifosfamide (Eckert et al. 2010)
# --------------------------------------------------------------------------------------------
IFO_LABELS = {
    "age": "Age (years)",
    "gender": "Sex",
    "t_category": "T category",
    "initial_tumor_size": "Initial tumour size",
    "grade": "Grade (FNCLCC)",
    "localisation": "Site",
    "follow_up": "Follow-up (months)",
    "irradiation_dose": "Radiation dose (Gy)",
    "irradiation_technique": "Technique",
    "ifosfamide_dose_intended": "Ifosfamide dose, intended",
    "additional_modality": "Additional modality",
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
            t3 = {"median": float(dose.median()), "range_low": float(dose.min()), "range_high": float(dose.max())}.get(
                cat, float("nan")
            )
        if math.isnan(t3):
            agreement = ""
        else:
            printed = r["n"] if not pd.isna(r["n"]) else r["value"]
            agreement = "same" if float(printed) == t3 else "different"
        rows.append(
            {
                "characteristic": IFO_LABELS.get(var, var),
                "category": cat.replace("range_low", "range, lowest").replace("range_high", "range, highest"),
                "as_printed": str(r["as_printed"]),
                "n": r["n"],
                "table3_n": t3,
                "agreement": agreement,
                "n_total": n_total,
            }
        )
    return pd.DataFrame(rows)


def ifosfamide_therapy(therapy: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as printed beside Table 3 where Table 3 gives the same quantity."""
    return ifosfamide_characteristics(therapy, patients)


SETTING_NAMES = {"primary": "Primary", "after_R2": "After R2 resection"}


def ifosfamide_patient_table(patients: pd.DataFrame) -> pd.DataFrame:
    """Table 3 for display: one row per patient, with the readings of ``data/README.md`` applied."""
    p = patients.copy()
    p["setting_name"] = p["setting"].map(SETTING_NAMES).fillna(p["setting"])
    p["dose_text"] = [
        f"{d:.1f}" + (" HF" if hf else "") + (" + HT" if ht else "")
        for d, hf, ht in zip(p["dose_gy"], p["hyperfractionation"], p["hyperthermia"])
    ]
    p["lc_text"] = [
        f"{int(t)}" + (" (local failure)" if lf else "") for t, lf in zip(p["lc_months"], p["local_failure"])
    ]
    p["status_name"] = p["status"].map({"AWOD": "Alive without disease", "DOD": "Dead of disease"}).fillna(p["status"])
    p["toxicity"] = p["toxicity"].fillna("")
    return p


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
        (
            "lc_2y",
            "Local control at 2 years (%)",
            ["lc_2y_results"],
            100 * lc_lm.loc[24, "surv"],
            100 * lc_lm.loc[24, "ci_low"],
            100 * lc_lm.loc[24, "ci_high"],
            "%",
        ),
        (
            "lc_5y",
            "Local control at 5 years (%)",
            ["lc_5y_results", "lc_5y_abstract", "lc_5y_figure2"],
            100 * lc_lm.loc[60, "surv"],
            100 * lc_lm.loc[60, "ci_low"],
            100 * lc_lm.loc[60, "ci_high"],
            "%",
        ),
        (
            "lc_at_risk_2y",
            "Patients at risk for local control after 2 years",
            ["lc_at_risk_2y"],
            float((lc_t > 24).sum()),
            np.nan,
            np.nan,
            "patients",
        ),
        ("local_failures", "Local failures", ["local_relapses"], float(lc_e.sum()), np.nan, np.nan, "patients"),
        (
            "os_median",
            "Median overall survival (months)",
            ["os_median_results", "os_median_abstract"],
            os_med["median"],
            os_med["ci_low"],
            os_med["ci_high"],
            "months",
        ),
        (
            "os_5y",
            "Overall survival at 5 years (%)",
            ["os_5y_results", "os_5y_abstract", "os_5y_figure2"],
            100 * os_lm.loc[60, "surv"],
            100 * os_lm.loc[60, "ci_low"],
            100 * os_lm.loc[60, "ci_high"],
            "%",
        ),
        (
            "alive",
            "Patients alive and disease-free at analysis",
            ["alive_disease_free"],
            float(alive.sum()),
            np.nan,
            np.nan,
            "patients",
        ),
        (
            "follow_up_alive",
            "Median follow-up of patients alive (months)",
            ["follow_up_median_alive"],
            float(patients.loc[alive, "os_months"].astype(float).median()),
            np.nan,
            np.nan,
            "months",
        ),
    ]
    rows = []
    for key, quantity, ids, rec, lo, hi, unit in spec:
        rep, loc = _reported(reported, ids)
        rows.append(
            {
                "key": key,
                "quantity": quantity,
                "reported": rep,
                "recomputed": float(rec),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "unit": unit,
                "agree": bool(round(float(rec)) == round(rep)) if not math.isnan(rec) else False,
                "location": loc,
            }
        )
    return pd.DataFrame(rows)


#: Size cut-off of Eckert et al.'s Table 1 (category ">10 cm" of ``initial_tumor_size`` in
#: data/ifosfamide/characteristics.csv); the chapter passes the value read from the data
#: (:func:`sarcoma_review.audit.ipd.size_threshold`), and a test checks this default against it.
TABLE1_SIZE_CUTOFF_CM = 10.0


def ifosfamide_groupings(
    patients: pd.DataFrame, threshold_cm: float = TABLE1_SIZE_CUTOFF_CM
) -> dict[str, tuple[str, pd.Series]]:
    """The groupings Table 3 allows: ``{key: (title, labels per patient)}``."""
    d = patients["diameter_initial_cm"].astype(float)
    return {
        "size": (
            "Initial diameter",
            pd.Series(
                np.where(d > threshold_cm, f"> {threshold_cm:g} cm", f"≤ {threshold_cm:g} cm"), index=patients.index
            ),
        ),
        "grade": ("Grade", patients["grade"].astype(str)),
        "setting": ("Setting", patients["setting"].map(SETTING_NAMES).fillna(patients["setting"]).astype(str)),
    }


def ifosfamide_logrank(patients: pd.DataFrame, threshold_cm: float = TABLE1_SIZE_CUTOFF_CM) -> pd.DataFrame:
    """Log-rank tests (:func:`sarcoma_review.stats.survival.logrank`) by size, grade and setting, LC and OS.

    Returns one row per comparison x endpoint: ``comparison, endpoint, groups`` (text with n,
    observed and expected events per group), ``events``, ``chisq``, ``p``.
    """
    rows = []
    for key, (title, labels) in ifosfamide_groupings(patients, threshold_cm).items():
        for ep in ("LC", "OS"):
            t, e = _endpoint_arrays(patients, ep)
            summary, table = survival.logrank(t, e, labels.to_numpy())
            groups = "; ".join(
                f"{g}: n = {n}, {o} observed / {x:.1f} expected"
                for g, n, o, x in zip(table["group"], table["n"], table["observed"], table["expected"])
            )
            rows.append(
                {
                    "key": f"{key}_{ep.lower()}",
                    "comparison": title,
                    "endpoint": ep,
                    "groups": groups,
                    "events": int(e.sum()),
                    "chisq": summary["chisq"],
                    "p": summary["p"],
                }
            )
    return pd.DataFrame(rows)


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
            raise ValueError(
                f"data/ifosfamide/reported_estimates.csv has no estimate_id {eid!r}; "
                "the ifosfamide chapter quotes it (add the row)"
            )
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


def lc_competing_sentence(patients: pd.DataFrame, at_months: float) -> str:
    """What the local-control rate at ``at_months`` rests on, counted from Table 3
    (:func:`sarcoma_review.stats.survival.competing_deaths`): deaths without local failure are
    censored, so the rate describes patients had they lived, not the share of all patients alive
    without local failure."""
    c = survival.competing_deaths(
        patients["lc_months"], patients["local_failure"], patients["os_months"], patients["death"], at_months
    )
    years = f"{at_months / 12:g} years"
    rate = 100 * float(survival.landmarks(patients["lc_months"], patients["local_failure"], [at_months])["surv"].iat[0])
    other = f"; {c['n_other']} left follow-up alive without it before {years}" if c["n_other"] else ""
    return (
        f"Of the {c['n']} patients, {c['n_died_first']} died without local failure before {years} and "
        f"{c['n_failed']} had a local failure{other}; {c['n_at_risk']} were followed free of local failure "
        f"to {years}. The {rate:.0f}% local control at {years} is a Kaplan–Meier estimate in which those "
        f"deaths are censored: the share free of local failure had all patients lived, resting on "
        f"{c['n_at_risk']} patients at risk, not the share of the {c['n']} patients alive without local "
        f"failure at {years} ({c['n_at_risk']} of {c['n']} were seen so)."
    )


def ifosfamide_glue_values(
    patients: pd.DataFrame, reported: pd.DataFrame, chars: pd.DataFrame, therapy: pd.DataFrame
) -> dict[str, Any]:
    """Every value the ifosfamide chapter's prose quotes, keyed ``ifo_*``."""
    r = reported.set_index("estimate_id")
    v: dict[str, Any] = {"ifo_n": len(patients)}

    def rv(key: str, estimate_id: str, part: str = "value") -> None:
        if estimate_id not in r.index:
            raise ValueError(
                f"data/ifosfamide/reported_estimates.csv has no estimate_id {estimate_id!r}; "
                "the ifosfamide chapter quotes it (add the row)"
            )
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
    dm = grim.check_percent(
        "ifosfamide.dm_percent",
        "ifosfamide",
        "Discussion",
        "distant metastases",
        None,
        n,
        _printed_number(v["ifo_dm_pct_text"]),
    )
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
    v["ifo_logrank_min_p"] = format_p(lr["p"].min())  # p-values print one way (render.tables.format_p)
    v["ifo_logrank_max_p"] = format_p(lr["p"].max())
    v["ifo_lc_events"] = int(patients["local_failure"].sum())
    v["ifo_lc_competing"] = lc_competing_sentence(patients, 60.0)
    v["ifo_logrank_n_tests"] = len(lr)
    sizes = [int(n) for text in lr["groups"] for n in re.findall(r"n = (\d+)", text)]
    v["ifo_logrank_min_n"], v["ifo_logrank_max_n"] = min(sizes), max(sizes)
    v["ifo_size_label"] = size_threshold(chars)[1]
    return v
