"""Comparisons page helpers against the R fixture (metafor) and hand checks.

The fixture's benchmark cases are rma(..., test="adhoc") fits (the primary interval) with benchmarks 50/60/70% and the
moderator cases rma(yi, vi, mods=~factor(particle_group), test="adhoc"); tolerance 1e-4 as in
tests/test_compare.py.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import frozen_literature, frozen_patients

from sarcoma_review.data import loaders, overlap
from sarcoma_review.pages import comparisons
from sarcoma_review.stats import comparators as C

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())


@pytest.fixture(scope="module")
def lit():
    return frozen_literature()  # the R fixture's inputs (tests/helpers.py), not the live data/


@pytest.mark.parametrize(
    "landmark,case",
    [
        ("5-year local control", "LC_5y"),
        ("5-year overall survival", "OS_5y"),
        ("3-year local control", "LC_3y"),
        ("3-year overall survival", "OS_3y"),
    ],
)
def test_subgroup_tests_match_metafor_moderator(lit, landmark, case):
    row = comparisons.subgroup_tests(lit, "particle_group").set_index("landmark").loc[landmark]
    ref = next(c for c in FIXTURE["moderators"] if c["case"] == f"{case}_particle_group_HKSJ-adhoc")
    assert row["f"] == pytest.approx(ref["QM"], abs=1e-4)
    assert row["p_moderator"] == pytest.approx(ref["QMp"], abs=1e-4)


@pytest.fixture(scope="module")
def live_lit():
    return loaders.load_literature()  # live data/: only structural truths are asserted on it


def _bench():
    return comparisons.benchmarks(
        loaders.load_comparators(),
        loaders.load_table("ifosfamide", "reported_estimates"),
        loaders.load_ifosfamide_patients(),
    )


def test_benchmarks_include_ifosfamide_recomputation(lit):
    b = comparisons.benchmarks(
        loaders.load_comparators(), loaders.load_table("ifosfamide", "reported_estimates"), frozen_patients()
    )
    rec = b[b["label"].str.contains("recomputed")].set_index("endpoint")["rate_percent"]
    # Table 3 by hand: LC 7/8 * 4/5 = 70%; OS: 3 of 11 alive beyond 60 months, no censoring before -> 3/11
    assert rec["LC"] == pytest.approx(70.0, abs=1e-9)
    assert rec["OS"] == pytest.approx(100 * 3 / 11, abs=1e-9)
    panel = comparisons.benchmark_panel(lit, b)
    assert (
        "radiotherapy alone (ref. [18]), retroperitoneal sarcomas",
        "a rate of 0% has no logit to compare on",
    ) in panel.attrs["skipped"]
    assert "Not compared:" in comparisons.skipped_markdown(panel)
    # the recomputed comparator carries its own Kaplan-Meier 95% interval at 60 months: R survfit
    # (conf.type "log-log") in the fixture; 1e-6 as in tests/test_survival.py
    km = FIXTURE["survival"]["km"]["OS"]
    at60 = km["landmark_times"].index(60)
    osrow = panel[
        panel["comparator"].str.contains("recomputed") & (panel["landmark"] == "5-year overall survival")
    ].iloc[0]
    assert osrow["comparator_estimate"] == pytest.approx(100 * km["landmark_surv"][at60], abs=1e-6)
    assert osrow["comparator_ci_low"] == pytest.approx(100 * km["landmark_lower"][at60], abs=1e-6)
    assert osrow["comparator_ci_high"] == pytest.approx(100 * km["landmark_upper"][at60], abs=1e-6)


# ------------------------------------------------------------------ structural truths on the live data
def test_every_sized_comparator_has_an_interval_and_unknown_ones_are_fixed(live_lit):
    b = _bench()
    comps = loaders.load_comparators().set_index("comparator_id")
    for r in b.itertuples():
        if r.rate is None:
            continue
        if r.n_kind in ("exact", "bound"):
            assert r.rate_ci_low < r.rate_percent < r.rate_ci_high, r.label
            if r.source in comps.index:  # a comparator of the table: its size is the one recorded in data/
                assert r.n_value == comps.loc[r.source, "n_value"] and r.n_kind == comps.loc[r.source, "n_kind"]
        else:
            assert r.rate_ci_low == r.rate_ci_high == r.rate_percent and "fixed" in r.uncertainty
        if r.n_kind == "bound":
            assert "narrowest" in r.uncertainty
    panel = comparisons.benchmark_panel(live_lit, b)
    assert not panel.empty
    sized = panel[panel["comparator_n_kind"] != "unknown"]
    assert (sized["comparator_ci_low"] < sized["comparator_ci_high"]).all()
    # the difference follows from both intervals: never narrower than either side's
    assert (
        (panel["diff_high"] - panel["diff_low"]) >= (panel["particle_ci_high"] - panel["particle_ci_low"]) - 1e-9
    ).all()
    assert (
        (panel["diff_high"] - panel["diff_low"]) >= (panel["comparator_ci_high"] - panel["comparator_ci_low"]) - 1e-9
    ).all()
    assert np.allclose(panel["difference"], panel["particle_estimate"] - panel["comparator_estimate"])
    v = np.where(panel["diff_low"] > 0, "above", np.where(panel["diff_high"] < 0, "below", "includes"))
    assert (panel["verdict_mean"] == v).all()
    # the verdict reads the new-series interval, never narrower than the interval of the mean
    nv = np.where(panel["new_diff_low"] > 0, "above", np.where(panel["new_diff_high"] < 0, "below", "includes"))
    assert (panel["verdict"] == nv).all()
    assert (panel["new_diff_low"] <= panel["diff_low"] + 1e-9).all()
    assert (panel["new_diff_high"] >= panel["diff_high"] - 1e-9).all()
    # every comparator is classified, with a reason; only comparable ones reach the summary of findings
    assert set(panel["comparator_class"]) <= {"comparable", "context only"}
    assert (panel["class_reason"].str.len() > 0).all()
    sof = comparisons.comparable_for_summary(panel)
    assert (sof["comparator_class"] == "comparable").all() and (sof["population_role"] == "primary").all()
    # the number-at-risk flag stands on every local-control row below the threshold
    few = (panel["endpoint"] == "LC") & (panel["n_at_risk"] < C.MIN_AT_RISK)
    assert panel.loc[few, "at_risk_flag"].str.startswith("only").all()
    assert panel["prob_particle_exceeds"].between(0, 1).all()


def test_primary_population_is_the_non_chordoma_series(live_lit):
    panel = comparisons.benchmark_panel(live_lit, _bench())
    for _, g in panel.groupby(["landmark", "comparator"]):
        assert list(g["population_role"]) == ["primary", "sensitivity"][: len(g)]
        prim = g.iloc[0]
        d = live_lit[(live_lit["endpoint"] == prim["endpoint"]) & (live_lit["horizon_years"] == prim["horizon_years"])]
        d = overlap.independent(d)  # each shared cohort counted once
        assert prim["particle_population"] == "non-chordoma series"
        assert prim["k"] == int((d["histology"] != "Chordoma").sum())
        if len(g) > 1:
            assert g.iloc[1]["k"] == len(d)
        # one series is that series, never "pooled"
        for r in g.itertuples():
            assert ("pooled" in r.particle_label) == (r.k >= 2)


def test_comparisons_csv_has_its_columns(live_lit, tmp_path):
    import pandas as pd

    panel = comparisons.benchmark_panel(live_lit, _bench())
    path = comparisons.write_comparisons_csv(panel, tmp_path)
    back = pd.read_csv(path)
    required = {
        "landmark",
        "endpoint",
        "horizon_years",
        "particle_population",
        "comparator",
        "comparator_n",
        "comparator_n_kind",
        "comparator_estimate",
        "comparator_ci_low",
        "comparator_ci_high",
        "difference",
        "diff_low",
        "diff_high",
        "verdict",
        "prob_particle_exceeds",
        "notes",
    }
    assert required <= set(back.columns) and list(back.columns) == comparisons.CSV_COLUMNS
    assert len(back) == len(panel) and back["notes"].str.contains("MOVER").all()
    assert back.loc[back["comparator_n_kind"] == "bound", "notes"].str.contains("narrowest").all()


# ------------------------------------------------------------------ rules on small hand-made cases
def _toy_lit(histologies):
    import pandas as pd

    rows = [
        {
            "study_id": f"s{i}",
            "first_author": f"Author{i}",
            "year": 2000 + i,
            "n_patients": 40,
            "histology": h,
            "endpoint": "LC",
            "horizon_years": 5.0,
            "rate_percent": 60.0 + 5 * i,
        }
        for i, h in enumerate(histologies)
    ]
    return pd.DataFrame(rows)


def _toy_bench(rate=40.0, kind="bound", n=112, intent="curative", dose_group="at or above 63 Gy"):
    import pandas as pd

    from sarcoma_review.stats import comparators as C

    cr = C.binomial_rate(rate, n, kind) if kind != "unknown" else C.fixed_rate(rate)
    return pd.DataFrame(
        [
            {
                "label": "Toy et al., >=63 Gy",
                "modality": "photon RT",
                "endpoint": "LC",
                "horizon_years": 5.0,
                "rate_percent": rate,
                "n_kind": kind,
                "n_value": float(n) if kind != "unknown" else np.nan,
                "source": "toy",
                "size_note": "",
                "rate": cr,
                "uncertainty": comparisons.UNCERTAINTY[cr.kind],
                "rate_ci_low": cr.ci_low,
                "rate_ci_high": cr.ci_high,
                "intent": intent,
                "intent_statement": "",
                "dose_group": dose_group,
                "selection": "none stated",
                "era_year": np.nan,
                "n_at_risk": np.nan,
            }
        ]
    )


def test_a_context_only_comparator_gets_no_verdict_and_says_why():
    bench = _toy_bench(dose_group="below 63 Gy")
    panel = comparisons.benchmark_panel(_toy_lit(["Various"] * 3), bench)
    assert (panel["comparator_class"] == "context only").all() and "sub-curative" in panel["class_reason"].iloc[0]
    text = comparisons.benchmark_points(panel)
    assert "Context only" in text and "sub-curative" in text and "higher even" not in text
    assert comparisons.comparable_for_summary(panel).empty
    # without any stated intent the comparator cannot be comparable either
    panel = comparisons.benchmark_panel(_toy_lit(["Various"] * 3), bench.drop(columns=["intent"]))
    assert "curative intent" in panel["class_reason"].iloc[0]


def test_a_single_non_chordoma_series_is_shown_as_that_series():
    # Author1 is the only non-chordoma series: its rate 65% with its own Wald logit interval,
    # 65 -/+ ... = expit(logit .65 -/+ 1.96/sqrt(40 * .65 * .35)); the all-series row pools 3.
    import math

    panel = comparisons.benchmark_panel(_toy_lit(["Chordoma", "Various", "Chordoma"]), _toy_bench())
    prim, sens = panel.iloc[0], panel.iloc[1]
    assert prim["k"] == 1 and prim["particle_label"] == "Author1 2001 (one series, not pooled)"
    y, se = math.log(0.65 / 0.35), 1 / math.sqrt(40 * 0.65 * 0.35)
    assert prim["particle_ci_low"] == pytest.approx(100 / (1 + math.exp(-(y - 1.959963984540054 * se))), abs=1e-9)
    assert prim["particle_interval"].startswith("Wald") and "this one series" in prim["probability_of"]
    assert sens["k"] == 3 and sens["particle_label"] == "pooled, 3 series"
    text = comparisons.benchmark_points(panel)
    assert "one series only, Author1 2001" in text and "non-chordoma series, pooled" not in text


def test_a_comparator_whose_size_is_unknown_is_labelled_fixed():
    panel = comparisons.benchmark_panel(_toy_lit(["Various", "Various", "Osteosarcoma"]), _toy_bench(kind="unknown"))
    r = panel.iloc[0]
    assert r["comparator_ci_low"] == r["comparator_ci_high"] == 40 and "fixed" in r["comparator_uncertainty"]
    assert r["verdict"] == r["verdict_if_comparator_fixed"]
    assert "a fixed number" in comparisons.benchmark_points(panel)
    spec = comparisons.benchmark_chart(panel).to_dict()
    assert "(fixed: size unknown)" in json.dumps(spec)


def test_a_bound_verdict_is_qualified():
    text = comparisons.benchmark_points(comparisons.benchmark_panel(_toy_lit(["Various"] * 3), _toy_bench(rate=20.0)))
    assert "the narrowest interval it can have" in text and "with the comparator's narrowest possible interval" in text


def test_size_notes_list_every_sized_comparator_with_its_reason():
    b = _bench()
    text = comparisons.size_notes_markdown(b)
    sized = b[b["n_kind"].isin(["exact", "bound"]) & b["rate"].notna()]
    for r in sized.drop_duplicates("label").itertuples():
        sign = "≤" if r.n_kind == "bound" else "="
        assert f"(n {sign} {int(r.n_value)})" in text


def test_missing_comparator_size_is_a_data_error(tmp_path):
    from sarcoma_review.errors import DataValidationError

    comps = loaders.load_comparators()
    i = comps.index[comps["n_kind"].eq("bound") & comps["endpoint"].eq("LC")][0]
    comps.loc[i, "n_value"] = None
    with pytest.raises(DataValidationError, match="n_value"):
        comparisons.benchmarks(comps)


def test_chart_draws_the_comparator_interval(live_lit):
    panel = comparisons.benchmark_panel(live_lit, _bench())
    spec = comparisons.benchmark_chart(panel).to_dict()
    rows = [v for layer in spec["vconcat"] for v in layer["layer"][1]["data"]["values"]]
    kepka = [v for v in rows if v["row"].startswith("Kepka")]
    assert kepka and all(v["ci_low"] < v["estimate"] < v["ci_high"] for v in kepka)
    assert all("narrowest interval" in v["row"] for v in kepka)


def test_methods_text_names_the_method():
    text = comparisons.method_markdown()
    assert "MOVER" in text and "{cite:t}`newcombe1998`" in text and "Greenwood" in text and "narrowest" in text


def test_single_group_landmark_gets_a_note(lit):
    carbon = lit[lit["particle_group"] == "carbon"]
    t = comparisons.subgroup_tests(carbon, "particle_group")
    assert t["note"].str.contains("in the same particle group").all() and t["f"].isna().all()


def test_benchmark_text_never_claims_certainty_and_escapes():
    panel = comparisons.benchmark_panel(_toy_lit(["Various"] * 3), _toy_bench(rate=2.0, n=500))
    panel["comparator"] = "<b>x</b> >=63 Gy"
    panel["prob_particle_exceeds"] = 0.99999
    text = comparisons.benchmark_points(panel)
    assert "more than 99 in 100" in text and "100%" not in text and ">99%" not in text
    assert "&lt;b&gt;x&lt;/b&gt; ≥63 Gy" in text and "<b>" not in text
    # a pooled verdict is read from the new-series interval and says so
    assert panel["verdict"].iloc[0] == "above" and "higher even for a new particle series" in text
    spec = comparisons.benchmark_chart(panel).to_dict()
    assert len(spec["vconcat"]) == 1


def test_other_series_chordomas_named_from_the_series_own_histology():
    import pandas as pd

    s = pd.DataFrame(
        [
            {
                "study_id": "a",
                "first_author": "A",
                "year": 2010,
                "n_patients": 50,
                "histology": "Various",
                "patient_group": "mixed",
                "n_chordoma": 29,
            },  # counts its chordomas
            {
                "study_id": "b",
                "first_author": "B",
                "year": 2011,
                "n_patients": 40,
                "histology": "Various",
                "patient_group": "mixed",
                "n_chordoma": np.nan,
            },  # mixed, count not given
            {
                "study_id": "c",
                "first_author": "C",
                "year": 2012,
                "n_patients": 30,
                "histology": "Various",
                "patient_group": "soft tissue",
                "n_chordoma": np.nan,
            },  # soft tissue: no chordoma
            {
                "study_id": "d",
                "first_author": "D",
                "year": 2013,
                "n_patients": 20,
                "histology": "Osteosarcoma",
                "patient_group": "bone",
                "n_chordoma": np.nan,
            },  # one named histology
            {
                "study_id": "e",
                "first_author": "E",
                "year": 2014,
                "n_patients": 60,
                "histology": "Chordoma",
                "patient_group": "chordoma",
                "n_chordoma": 60,
            },  # the chordoma stratum itself
            {
                "study_id": "f",
                "first_author": "F",
                "year": 2015,
                "n_patients": 54,
                "histology": "Various",
                "patient_group": "mixed",
                "n_chordoma": 0,
            },  # chordomas excluded
        ]
    )
    with_ch, unknown = comparisons.other_series_chordomas(s)
    assert with_ch == ["A 2010 (29 of 50 patients)"] and unknown == ["B 2011"]
    text = comparisons.other_series_chordomas_text(s, "The pool")
    assert text.startswith("The pool is not chordoma-free: A 2010 (29 of 50 patients) includes chordomas")
    assert "B 2011 is of mixed or unreported histology and does not say how many chordomas, if any, it holds." in text
    clean = s[s["study_id"].isin(["c", "d", "e", "f"])]
    assert comparisons.other_series_chordomas_text(clean).startswith("No series outside the chordoma stratum")


def test_other_series_chordomas_on_the_live_studies():
    studies = loaders.load_studies()
    with_ch, unknown = comparisons.other_series_chordomas(studies)
    labels = {f"{r.first_author} {int(r.year)}": r for r in studies.itertuples()}
    for item in with_ch:
        r = labels[item.split(" (")[0]]
        assert r.histology != "Chordoma" and r.n_chordoma > 0
    for item in unknown:
        r = labels[item]
        assert r.histology != "Chordoma" and pd.isna(r.n_chordoma) and r.patient_group != "soft tissue"


def test_summary_of_findings_gets_only_comparable_comparisons_with_their_certainty():
    sof = comparisons.sof_comparisons()
    assert (sof["comparator_class"] == "comparable").all() and (sof["population_role"] == "primary").all()
    assert sof["certainty"].isin(["high", "moderate", "low", "very low"]).all()
    # the few-at-risk flag travels into the summary's short text
    few = (sof["endpoint"] == "LC") & (sof["n_at_risk"] < C.MIN_AT_RISK)
    assert all("at risk" in t for t in sof.loc[few, "short"])
