"""Tests of the chapter tables (sarcoma_review.pages: literature, cnao, ifosfamide) against hand derivations
from the papers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import PUBLISHED_DATA

from sarcoma_review.data import loaders as L
from sarcoma_review.pages import cnao, common, ifosfamide


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return L.load_ifosfamide_patients(PUBLISHED_DATA)  # Table 3 as published (frozen copy)


def test_plain_converts_numpy_scalars_for_glue():
    assert common.plain(np.int64(54)) == 54 and type(common.plain(np.int64(54))) is int
    assert type(common.plain(np.float64(67.4))) is float
    assert common.plain(float("nan")) == "NA" and common.plain(pd.NA) == "NA"
    assert common.plain("CNAO") == "CNAO"


def test_cnao_landmarks_abstract_has_no_one_year_lc():
    t = cnao.cnao_landmark_table(L.load_table("cnao", "landmark_rates")).set_index(["endpoint", "horizon_years"])
    assert t.loc[("LC", 1), "agreement"] == "results only"
    assert t.loc[("LC", 1), "results"] == 84.8 and math.isnan(t.loc[("LC", 1), "abstract"])
    # every other landmark is printed identically in both sections (read from the paper)
    others = t.drop(index=("LC", 1))
    assert (others["agreement"] == "same").all() and len(others) == 8
    assert t.loc[("DPFS", 1), "abstract_wording"].startswith("progression-free survival")


def test_cnao_characteristics_percent_checks():
    t = cnao.cnao_characteristics(L.load_table("cnao", "characteristics"), 54).set_index("category")
    # 37/54 = 68.52% prints as 68 only when truncated; 17/54 = 31.48% cannot print as 32; 27/54 = 50% exactly
    assert t.loc["Unresectable", "check"] == "fits only if truncated"
    assert t.loc["Subtotal resection", "check"] == "does not fit"
    assert t.loc["Pelvis", "check"] == "exact"
    assert t.loc["Chondrosarcoma", "recomputed_percent"] == pytest.approx(100 * 21 / 54)


def _wald_range(text: str) -> tuple[float, float]:
    import re

    m = re.search(r"Wald p ([0-9.e-]+)-([0-9.e-]+)", text)
    assert m, text
    return float(m.group(1)), float(m.group(2))


def test_cox_consistency_uses_the_audit_verdicts():
    from sarcoma_review.audit import grim

    t = cnao.cox_consistency(L.load_table("cnao", "cox"))
    assert len(t) == 27  # 30 cells minus the three dashes
    conflicts = t[t["verdict"] == "inconsistent"][["variable", "endpoint"]].apply(tuple, axis=1).tolist()
    # Table IV: Gender LC 0.35 (1.1-14.95) and Prior surgery LC 0.498 (1.0034-3.052) exclude 1 with p > 0.05
    assert conflicts == [("Gender", "LC"), ("Prior surgery", "LC")]
    assert t.set_index(["variable", "endpoint"]).loc[("Gender", "LC"), "interval_excludes_1"]
    # the chapter's verdict and wording are the audit's, cell by cell (one implementation)
    for r in t.itertuples():
        p, lo, hi = r.p, *r.interval.split("–")
        res = grim.check_p_from_ci("x", "cnao", "Table IV", "q", p, lo, hi)
        assert (r.verdict, r.explanation) == (res.verdict, res.explanation)
    # hand Wald p of GTV>1000cc OS (0.97-2.97): est = sqrt(0.97*2.97), se = ln(2.97/0.97)/(2*1.96)
    se = math.log(2.97 / 0.97) / (2 * 1.959964)
    p = math.erfc(abs(math.log(math.sqrt(0.97 * 2.97)) / se) / math.sqrt(2))
    row = t[(t["variable"] == "GTV volume>1000cc") & (t["endpoint"] == "OS")].iloc[0]
    lo, hi = _wald_range(row["wald_p"])
    # the printed range has 3 significant digits: widen by half a unit in the third digit
    assert lo - 5e-4 <= p <= hi + 5e-4 and row["verdict"] == "consistent with rounding"
    # Age LC 0.10 (0.43-1.9): Wald z = ln(sqrt(0.43*1.9)) / (ln(1.9/0.43)/3.92) = -0.27, p = 0.79, not 0.10:
    # conditional verdict "cannot check", worded as conditional on Wald 95% intervals
    se = math.log(1.9 / 0.43) / (2 * 1.959964)
    p_age = math.erfc(abs(math.log(math.sqrt(0.43 * 1.9))) / se / math.sqrt(2))
    age = t[(t["variable"] == "Age") & (t["endpoint"] == "LC")].iloc[0]
    lo, hi = _wald_range(age["wald_p"])
    assert lo - 5e-3 <= p_age <= hi + 5e-3 and age["verdict"] == "cannot check"
    assert age["explanation"].startswith(
        "if these are Wald 95% intervals of hazard ratios, the printed p-value "
        "does not fit (it would be between 0.75 and 0.83)"
    )
    assert age["explanation"].endswith("the paper does not say what the intervals are")
    # 9 cells do not fit a Wald interval, 16 fit, 2 are inconsistent: 27 in all
    assert (t["verdict"] == "cannot check").sum() == 9 and (t["verdict"] == "consistent with rounding").sum() == 16


def _cnao_values() -> dict:
    return cnao.cnao_glue_values(
        L.load_table("cnao", "facts"),
        L.load_table("cnao", "characteristics"),
        L.load_table("cnao", "landmark_rates"),
        L.load_table("cnao", "logrank"),
        L.load_table("cnao", "cox"),
        cnao.three_year_series(L.load_literature()),
    )


def test_cnao_key_point_caveat_and_generated_verdicts():
    v = _cnao_values()
    # Table III: GTV>1000cc LC p = 0.04; Table IV: 0.0010 (as printed)
    assert (v["cnao_gtv_logrank_p_lc"], v["cnao_gtv_cox_p_lc"]) == ("0.04", "0.0010")
    # factors with a printed p in Table III or IV: LC 8 (no local failure / distant metastases row),
    # DPFS 9 (local failure added), OS 10 (both added)
    assert (
        "(8 for local control, 9 for distant progression-free survival and 10 for overall survival)"
        in v["cnao_factor_caveat"]
    )
    assert v["cnao_factor_caveat"].endswith(
        "two Cox intervals for local control (Gender and Prior surgery) exclude 1 despite p > 0.05."
    )
    assert v["cnao_cox_n_direct"] == 2 and v["cnao_cox_n_wald_misfit"] == 9 and v["cnao_cox_n_wald_fit"] == 16
    # every landmark printed in both sections is equal; 1-year LC (84.8%) is in the results only
    assert v["cnao_sections_agreement"] == (
        "The two sections agree wherever both give a value. "
        "The 1-year local control (84.8%) appears in the results only."
    )
    # latest local failure at 35 months < 36
    assert v["cnao_ttlp_vs_3y"] == "which the range excludes"


def test_cnao_sections_agreement_reports_a_difference():
    lm = L.load_table("cnao", "landmark_rates").copy()
    i = lm[(lm["endpoint"] == "OS") & (lm["horizon_years"] == 2) & (lm["location"] == "abstract")].index[0]
    lm.loc[i, "rate_percent"] = 70.0
    text = cnao._cnao_landmark_sentences(lm, {"cnao_ttlp_high": 40.0})
    assert text["cnao_sections_agreement"].startswith(
        "The two sections differ for 2-year overall survival (abstract 70%, results 75.4%)."
    )
    assert text["cnao_ttlp_vs_3y"] == "which the range allows"


def test_three_year_series_cnao_ci():
    # Table I's 3-year series (the frozen copy: the published rows, whatever data/ holds today)
    s = cnao.three_year_series(L.load_literature(PUBLISHED_DATA))
    assert sorted(s.loc[s["endpoint"] == "LC", "study_id"]) == sorted(
        ["ciernik2011", "sugahara2012", "mima2014", "demizu2016", "cuccia2020"]
    )
    row = s[(s["study_id"] == "cuccia2020") & (s["endpoint"] == "LC")].iloc[0]
    assert bool(row["highlight"]) and s["highlight"].sum() == 2
    # logit Wald interval by hand: 67% of 54
    y, se = math.log(0.67 / 0.33), math.sqrt(1 / (54 * 0.67 * 0.33))
    expit = lambda x: 100 / (1 + math.exp(-x))  # noqa: E731
    assert row["ci_low"] == pytest.approx(expit(y - 1.959964 * se), abs=1e-4)
    assert row["ci_high"] == pytest.approx(expit(y + 1.959964 * se), abs=1e-4)


def test_ifosfamide_recomputed_by_hand(patients):
    t = ifosfamide.ifosfamide_recomputed(patients, L.load_table("ifosfamide", "reported_estimates")).set_index("key")
    # LC: failures at 6 (8 at risk) and 21 (5 at risk): 7/8 * 4/5 = 70%
    assert t.loc["lc_2y", "recomputed"] == pytest.approx(70.0) and t.loc["lc_2y", "agree"]
    assert t.loc["lc_5y", "recomputed"] == pytest.approx(70.0)
    # OS: 8 deaths by 30 months, no censoring before: S = 3/11 after 30 months; S(13) = 5/11 < 0.5
    assert t.loc["os_5y", "recomputed"] == pytest.approx(300 / 11) and not t.loc["os_5y", "agree"]
    assert t.loc["os_median", "recomputed"] == 13 and t.loc["os_median", "reported"] == 26
    assert t.loc["follow_up_alive", "recomputed"] == 106  # median of 72, 106, 124
    assert t.loc["lc_at_risk_2y", "recomputed"] == 4


def test_ifosfamide_logrank_size_lc_by_hand(patients):
    t = ifosfamide.ifosfamide_logrank(patients).set_index("key")
    # events at 6 (4 of 8 at risk > 10 cm) and 21 (2 of 5): E = 0.9, V = 0.25 + 0.24, O - E = 1.1
    assert t.loc["size_lc", "chisq"] == pytest.approx(1.1**2 / 0.49, rel=1e-9)
    assert "> 10 cm: n = 6, 2 observed / 0.9 expected" in t.loc["size_lc", "groups"]
    assert set(t["endpoint"]) == {"LC", "OS"} and len(t) == 6


def test_km_frames_os(patients):
    km, risk, cens = common.km_frames(patients["os_months"], patients["death"], "OS", [0, 12, 24])
    assert km.iloc[0][["time", "survival"]].tolist() == [0.0, 1.0]
    assert list(cens["time"]) == [72.0, 106.0, 124.0]
    assert np.allclose(cens["survival"], 3 / 11)
    assert list(risk["n_at_risk"]) == [11, 6, 5]  # OS times >= 12: 13, 26, 30, 72, 106, 124


def test_ifosfamide_characteristics_size_disagreement(patients):
    t = ifosfamide.ifosfamide_characteristics(L.load_table("ifosfamide", "characteristics"), patients)
    size = t[t["characteristic"] == "Initial tumour size"].set_index("category")
    # Table 1 prints 5 tumours > 10 cm; Table 3 has 6 initial diameters above 10 cm (11, 13, 25, 11, 15, 11)
    assert size.loc[">10 cm", "table3_n"] == 6 and size.loc[">10 cm", "agreement"] == "different"


def test_endpoint_must_be_in_table3(patients):
    with pytest.raises(ValueError, match="Table 3 has no other times"):
        ifosfamide._endpoint_arrays(patients, "DFS")


def test_audit_flags_link_each_failed_check_to_its_row():
    """The follow-up contradiction (abstract 4-61 vs results 6-61 months) is an inconsistency the
    audit must find, and the CNAO chapter must link it; every link points at a finding's anchor,
    and each failed finding (inconsistent or implausible) is listed once, its explorations not."""
    import re

    from sarcoma_review.audit import runner

    audit = runner.run_audit()
    from sarcoma_review.pages.common import audit_flags_html

    out = audit_flags_html("cnao", audit=audit).data
    hrefs = re.findall(r'href="([^"]+)"', out)
    failed = audit[
        (audit["source"] == "cnao")
        & audit["verdict"].isin(["inconsistent", "implausible"])
        & (audit["role"] == "finding")
    ]
    assert len(hrefs) == len(failed) == failed["finding_id"].nunique() > 0
    assert all(h.startswith("audit.html#finding-") for h in hrefs)
    assert "audit.html#finding-cnao.follow_up.range_low" in hrefs and "audit.html#finding-cnao.km.LC" in hrefs
    assert "<script" not in out


def test_size_cutoff_is_read_from_table1_not_row_order(patients):
    """Table 1 prints the size classes "5 - 10 cm" and ">10 cm"; the label and cut-off come from the
    ">X cm" category wherever its row sits, and the module default equals it."""
    chars = L.load_table("ifosfamide", "characteristics")
    reordered = chars.iloc[::-1].reset_index(drop=True)
    reported = L.load_table("ifosfamide", "reported_estimates")
    therapy = L.load_table("ifosfamide", "therapy")
    v = ifosfamide.ifosfamide_glue_values(patients, reported, reordered, therapy)
    assert v["ifo_size_label"] == ">10 cm"
    # Table 3 initial diameters 11, 13, 25, 11, 15, 11 exceed 10 cm: 6 (Table 1 prints 5)
    assert v["ifo_gt10_table3"] == 6 and v["ifo_gt10_table1"] == 5
    from sarcoma_review.audit.ipd import size_threshold

    assert size_threshold(chars)[0] == ifosfamide.TABLE1_SIZE_CUTOFF_CM


def test_missing_estimate_names_its_csv(patients):
    reported = L.load_table("ifosfamide", "reported_estimates")
    reported = reported[reported["estimate_id"] != "age_median_text"]
    with pytest.raises(ValueError, match=r"reported_estimates\.csv has no estimate_id 'age_median_text'"):
        ifosfamide.ifosfamide_glue_values(
            patients, reported, L.load_table("ifosfamide", "characteristics"), L.load_table("ifosfamide", "therapy")
        )


def test_ifosfamide_generated_phrases(patients):
    reported = L.load_table("ifosfamide", "reported_estimates")
    v = ifosfamide.ifosfamide_glue_values(
        patients, reported, L.load_table("ifosfamide", "characteristics"), L.load_table("ifosfamide", "therapy")
    )
    # Table 3: stage T2 in all 11 rows; grade G3 in 8 rows, G2 in 3
    assert v["ifo_stage_grade"] == "all 11 T2; 8 G3, 3 G2"
    # text: five tumours > 10 cm initially, four at the start of RT
    assert v["ifo_gt10_reduced"] == "one"
    # LC: 70% at 2 and 5 years, 4 at risk, 2 failures, all exact; OS median 13 vs 26 reported
    assert v["ifo_lc_verdict"] == "recomputes exactly" and v["ifo_os_verdict"] == "does not recompute"
    # Table 3: 8 deaths, all DOD
    assert v["ifo_deaths_cause"] == "All 8 deaths in Table 3 are recorded as death of disease (DOD)."
    alive_one = patients.copy()
    alive_one.loc[alive_one["death"] == 1, "status"] = ["DOC"] + ["DOD"] * 7
    v2 = ifosfamide._ifosfamide_sentences(alive_one, reported)
    assert v2["ifo_deaths_cause"] == "7 of the 8 deaths in Table 3 are recorded as death of disease (DOD)."


def test_table_i_rounding_words():
    assert cnao.table_i_rounding(67.4, 67.0) == "rounded"
    assert cnao.table_i_rounding(64.0, 64.0) == "as reported"
    assert cnao.table_i_rounding(67.4, 68.0) == "not the reported rate"
    assert cnao.table_i_rounding(67.45, 67.5) == "rounded"  # printed to one decimal


def test_cnao_among_the_review_series_follows_the_data():
    lit = L.load_literature(horizon_years=3)
    series = cnao.three_year_series(lit)
    t1 = L.load_table("literature", "table_i_rates")
    v = cnao._series_values(series, t1)
    own = lit[lit["study_id"] == "cuccia2020"].set_index("endpoint")["rate_percent"]
    for ep in ("LC", "OS"):
        e = ep.lower()
        others = series[(series["endpoint"] == ep) & (series["study_id"] != "cuccia2020")]
        assert v[f"cnao_own_{e}_3y"] == float(own[ep])  # the paper's own rate, not Table I's
        assert v[f"cnao_others_{e}_k"] == len(others) == others["study_id"].nunique()
        assert v[f"cnao_others_{e}_min"] == others["rate_percent"].min()
        printed = t1[(t1["study_id"] == "cuccia2020") & (t1["endpoint"] == ep)]["rate_percent"].iat[0]
        assert v[f"cnao_t1_{e}_3y"] == float(printed)
        assert cnao.table_i_rounding(float(own[ep]), float(printed)) in v["cnao_t1_rounding"]
    # each shared cohort once: no two series of one overlap group at the same endpoint
    grouped = series.merge(lit[["study_id", "overlap_group"]].drop_duplicates(), on="study_id", how="left")
    g = grouped.dropna(subset=["overlap_group"])
    assert not g.duplicated(["overlap_group", "endpoint"]).any()
    # without Table I's rates, the chapter's other values still come
    assert "cnao_t1_rounding" not in cnao._series_values(series, None)


def test_cnao_pseudo_cohort_sentence_counts_the_files_at_risk():
    """#19 item 7: the CNAO chapter's sentence on the one pseudo-cohort gives its size and, at the last time
    the paper reports (36 months: the 3-year rates), the numbers at risk counted here in each file."""
    from sarcoma_review.audit import reconstruct

    rec = reconstruct.joint_reconstruction()
    text = cnao.pseudo_cohort_sentence()
    n = len(rec.frames["OS"])
    assert text.startswith(f"{n} invented patients") and "one follow-up time per patient" in text
    last = max(12 * int(h) for h in L.load_table("cnao", "landmark_rates")["horizon_years"])
    counts = {ep: int((df["time_months"] >= last).sum()) for ep, df in rec.frames.items()}
    assert (
        f"At {last} months it has at risk {counts['LC']} for local control, {counts['DPFS']} for distant "
        f"progression-free survival, {counts['OS']} for overall survival" in text
    )
    assert counts["LC"] <= counts["OS"] and counts["DPFS"] <= counts["OS"]
