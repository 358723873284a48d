"""Do printed counts and percentages agree? FLAG, don't fix: the exact set of disagreements is asserted.

Rounding rule: round-half-up of 100*n/N to an integer (how the papers print percentages).
"""

from __future__ import annotations

import math

import pandas as pd

from sarcoma_review.data import loaders


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _disagreements(df: pd.DataFrame, n_total: int) -> set[tuple[str, str, int, int]]:
    rows = df.dropna(subset=["n", "percent"])
    return {
        (r.variable, r.category, int(r.percent), _half_up(100 * r.n / n_total))
        for r in rows.itertuples()
        if _half_up(100 * r.n / n_total) != int(r.percent)
    }


def test_cnao_table2_percentages() -> None:
    ch = loaders.load_table("cnao", "characteristics")
    # (variable, category, printed %, computed %) with N = 54:
    # - Surgery: 37/54 = 68.5% printed 68; 17/54 = 31.5% printed 32 (the pair is printed to sum to 100).
    # - Chemotherapy pre-RT: 22/54 = 40.7% printed 40 (text says "40% of cases (n=22)" too).
    assert _disagreements(ch, 54) == {
        ("surgery", "Unresectable", 68, 69),
        ("surgery", "Subtotal resection", 32, 31),
        ("chemotherapy_pre_rt", "yes", 40, 41),
    }


def test_ifosfamide_tables_percentages() -> None:
    t1 = loaders.load_table("ifosfamide", "characteristics")
    # Table 1 prints 6/11 (54.5%) as 54% and 5/11 (45.5%) as 46%; Table 2 prints the same fractions as 55%/45%.
    assert _disagreements(t1, 11) == {
        ("initial_tumor_size", "5 - 10 cm", 54, 55),
        ("initial_tumor_size", ">10 cm", 46, 45),
    }
    assert _disagreements(loaders.load_table("ifosfamide", "therapy"), 11) == set()


def test_cnao_counts_sum_to_cohort() -> None:
    ch = loaders.load_table("cnao", "characteristics")
    sums = ch.dropna(subset=["n"]).groupby("variable")["n"].sum()
    for var in ["sex", "histology", "grading", "disease_presentation", "tumor_site", "surgery"]:
        assert sums[var] == 54, var
    # Contradiction kept: text says 25 had surgery (R1 8 + R2 17), Table II says 17 subtotal / 37 unresectable.
    facts = loaders.load_table("cnao", "facts").set_index("fact_id")
    assert facts.loc["surgery_n_results", "value"] == 25
    assert ch.set_index(["variable", "category"]).loc[("surgery", "Subtotal resection"), "n"] == 17
    # Follow-up range: abstract 4-61, results 6-61 (both stored).
    assert facts.loc["follow_up_median_abstract", "value_low"] == 4
    assert facts.loc["follow_up_median_results", "value_low"] == 6


def _t(df: pd.DataFrame, var: str, cat: str, col: str = "n") -> float:
    return df.set_index(["variable", "category"]).loc[(var, cat), col]


def test_ifosfamide_ipd_agrees_with_tables() -> None:
    p = loaders.load_ifosfamide_patients()
    t1 = loaders.load_table("ifosfamide", "characteristics")
    t2 = loaders.load_table("ifosfamide", "therapy")
    # Agreements (counted by hand from Table 3 and checked here).
    assert (p["grade"] == "G3").sum() == _t(t1, "grade", "Grade 3") == 8
    assert (p["grade"] == "G2").sum() == _t(t1, "grade", "Grade 2") == 3
    assert (p["site"] == "HN").sum() == _t(t1, "localisation", "Craniocervical") == 2
    assert (p["site"] == "Trunk").sum() == _t(t1, "localisation", "Trunk") == 9
    assert (p["stage"] == "T2").sum() == _t(t1, "t_category", "T2") == 11
    assert p["dose_gy"].median() == _t(t2, "irradiation_dose", "median", "value") == 60
    assert p["dose_gy"].min() == _t(t2, "irradiation_dose", "range_low", "value") == 50.0
    assert p["dose_gy"].max() == _t(t2, "irradiation_dose", "range_high", "value") == 72.6
    assert p["hyperthermia"].sum() == _t(t2, "additional_modality", "Hyperthermia") == 2
    assert p["hyperfractionation"].sum() == 2  # text: "Two patients were treated with hyperfractionated therapy"
    # Disagreement recorded: Table 3 has SIX initial diameters > 10 cm (11, 13, 25, 11, 15, 11 cm),
    # Table 1 says 5 (46%) and the text "Five tumours".
    assert (p["diameter_initial_cm"] > 10).sum() == 6
    assert _t(t1, "initial_tumor_size", ">10 cm") == 5
    # Before RT: text says four (36%); Table 3 gives 4 with row 11's before-RT size unknown (empty).
    assert (p["diameter_before_rt_cm"] > 10).sum() == 4
    # Disagreement recorded: Table 1 follow-up range 4-131 months; Table 3 OS times span 1-124.
    assert (p["os_months"].min(), p["os_months"].max()) == (1, 124)
    assert (_t(t1, "follow_up", "range_low", "value"), _t(t1, "follow_up", "range_high", "value")) == (4, 131)


def test_ifosfamide_ipd_agrees_with_text() -> None:
    p = loaders.load_ifosfamide_patients()
    lf = p[p["local_failure"] == 1]
    # "local relapse ... after 6 and 21 months ... after radiation doses of 70.2 Gy and 66 Gy"
    assert sorted(zip(lf["lc_months"], lf["dose_gy"])) == [(6, 70.2), (21, 66.0)]
    # "3 of 11 patients are still alive and disease free, all of them for more than 5 years"
    alive = p[p["death"] == 0]
    assert len(alive) == 3 and (alive["os_months"] > 60).all()
    # "No deaths occurred later than 38 months"
    assert p.loc[p["death"] == 1, "os_months"].max() <= 38
    # "Four patients were still at risk after 2 years" (LC time > 24 months)
    assert (p["lc_months"] > 24).sum() == 4
    # Disagreement recorded: "Median follow up of patients alive was 13 months" but the 3 alive patients
    # have 72, 106, 124 months; 13 is the median OS time of all 11 patients.
    assert sorted(alive["os_months"]) == [72, 106, 124] and p["os_months"].median() == 13
