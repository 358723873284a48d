"""Comparisons page helpers against the R fixture (metafor) and hand checks.

The fixture's benchmark cases are rma(..., test="knha") fits with benchmarks 50/60/70% and the
moderator cases rma(yi, vi, mods=~factor(particle_group), test="knha"); tolerance 1e-4 as in
tests/test_compare.py.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import frozen_literature, frozen_patients

from sarcoma_review.data import loaders
from sarcoma_review.pages import comparisons

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())


@pytest.fixture(scope="module")
def lit():
    return frozen_literature()  # the R fixture's inputs (tests/helpers.py), not the live data/


@pytest.mark.parametrize("landmark,case", [("5-year local control", "LC_5y"), ("5-year overall survival", "OS_5y"),
                                           ("3-year local control", "LC_3y"), ("3-year overall survival", "OS_3y")])
def test_subgroup_tests_match_metafor_moderator(lit, landmark, case):
    row = comparisons.subgroup_tests(lit, "particle_group").set_index("landmark").loc[landmark]
    ref = next(c for c in FIXTURE["moderators"] if c["case"] == f"{case}_particle_group_HKSJ")
    assert row["f"] == pytest.approx(ref["QM"], abs=1e-4)
    assert row["p_moderator"] == pytest.approx(ref["QMp"], abs=1e-4)


def test_benchmarks_include_ifosfamide_recomputation(lit):
    b = comparisons.benchmarks(loaders.load_comparators(), loaders.load_table("ifosfamide", "reported_estimates"),
                               frozen_patients())
    rec = b[b["label"].str.contains("recomputed")].set_index("endpoint")["rate_percent"]
    # Table 3 by hand: LC 7/8 * 4/5 = 70%; OS: 3 of 11 alive beyond 60 months, no censoring before -> 3/11
    assert rec["LC"] == pytest.approx(70.0, abs=1e-9)
    assert rec["OS"] == pytest.approx(100 * 3 / 11, abs=1e-9)
    panel = comparisons.benchmark_panel(lit, b)
    assert ("radiotherapy alone (ref. [18]), retroperitoneal sarcomas", "a rate of 0% has no logit to compare on"
            ) in panel.attrs["skipped"]
    assert "Not compared:" in comparisons.skipped_markdown(panel)
    # the recomputed comparator carries its own Kaplan-Meier 95% interval at 60 months: R survfit
    # (conf.type "log-log") in the fixture; 1e-6 as in tests/test_survival.py
    km = FIXTURE["survival"]["km"]["OS"]
    at60 = km["landmark_times"].index(60)
    osrow = panel[panel["label"].str.contains("recomputed") & (panel["landmark"] == "5-year overall survival")].iloc[0]
    assert osrow["benchmark"] == pytest.approx(100 * km["landmark_surv"][at60], abs=1e-6)
    assert osrow["benchmark_ci_low"] == pytest.approx(100 * km["landmark_lower"][at60], abs=1e-6)
    assert osrow["benchmark_ci_high"] == pytest.approx(100 * km["landmark_upper"][at60], abs=1e-6)
    assert np.allclose(panel["difference"], panel["estimate"] - panel["benchmark"])
    assert (panel["excludes"] == ((panel["ci_low"] > panel["benchmark"]) | (panel["ci_high"] < panel["benchmark"]))).all()


def test_single_group_landmark_gets_a_note(lit):
    carbon = lit[lit["particle_group"] == "carbon"]
    t = comparisons.subgroup_tests(carbon, "particle_group")
    assert t["note"].str.contains("one particle_group group").all() and t["f"].isna().all()


def test_benchmark_text_never_claims_certainty_and_escapes(lit):
    import pandas as pd

    panel = pd.DataFrame([{"landmark": "5-year local control", "label": "<b>x</b> >=63 Gy", "estimate": 71.8,
                           "ci_low": 64.5, "ci_high": 78.1, "k": 8, "benchmark": 10.0, "difference": 61.8, "modality": "photon RT",
                           "diff_low": 54.5, "diff_high": 68.1, "prob_new_study_exceeds": 0.99999}])
    text = comparisons.benchmark_points(panel)
    assert ">99%" in text and "100%" not in text
    assert "&lt;b&gt;x&lt;/b&gt; ≥63 Gy" in text and "<b>" not in text
    assert "interval above it" in text
    spec = comparisons.benchmark_chart(panel).to_dict()
    assert len(spec["vconcat"]) == 1
