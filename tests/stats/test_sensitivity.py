"""The pooled-page orchestration (sarcoma_review.stats.sensitivity) against the R reference fixture.

The fixture (tests/fixtures/r_reference.json) was produced by scripts/r/make_reference.R with
metafor; its estimates are on the logit scale, so our percentages are compared after the logit
transform. Tolerance 1e-4 on the logit scale, as in tests/stats/test_pooling.py: REML and DL agree to
~1e-13; metafor's Paule-Mandel iteration stops earlier (tau^2 differs by ~2e-5, the logit
estimate by ~3e-6), well inside 1e-4.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import frozen_literature
from scipy.special import logit

from sarcoma_review.pages import pooled
from sarcoma_review.stats import sensitivity

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4


def _case(group, name):
    return next(c for c in FIXTURE[group] if c["case"] == name)


@pytest.fixture(scope="module")
def literature():
    return frozen_literature()  # the R fixture's inputs (tests/helpers.py), not the live data/


@pytest.mark.parametrize("endpoint,horizon", [("LC", 5), ("OS", 5), ("LC", 3), ("OS", 3)])
def test_primary_and_panel_match_metafor(literature, endpoint, horizon):
    a = sensitivity.run_analysis(literature, endpoint, horizon)
    ref = _case("pooling", f"{endpoint}_{horizon}y_all_REML_HKSJ-adhoc")
    assert a.k == ref["k"]
    assert logit(a.primary["estimate"] / 100) == pytest.approx(ref["estimate"], abs=TOL)
    assert logit(a.primary["pi_low"] / 100) == pytest.approx(ref["pi_lb"], abs=TOL)
    # every other estimator x interval in the panel is the metafor fit with those settings
    for m in ("REML", "DL", "PM"):
        for c in ("HKSJ-adhoc", "Wald"):
            subsets = (sensitivity.ALL_SERIES, sensitivity.ONE_PER_CENTRE, sensitivity.NO_CHORDOMA_MAJORITY)
            panel = pd.Series([v not in subsets for v in a.variants], index=a.estimates.index)
            row = a.estimates[
                panel
                & (a.estimates["model"] == "random effects")
                & (a.estimates["tau2_method"] == m)
                & (a.estimates["ci_method"] == c)
            ]
            assert len(row) == 1
            r = _case("pooling", f"{endpoint}_{horizon}y_all_{m}_{c}")
            assert logit(row["ci_low"].iat[0] / 100) == pytest.approx(r["ci_lb"], abs=TOL)
            assert logit(row["estimate"].iat[0] / 100) == pytest.approx(r["estimate"], abs=TOL)
    halved = a.estimates[a.estimates["model"].str.contains("n x 0.5")]
    h = _case("halved", f"{endpoint}_{horizon}y")
    assert logit(halved["estimate"].iat[0] / 100) == pytest.approx(h["estimate"], abs=TOL)
    # the primary interval is metafor's test="adhoc" (the "adhoc" group, written separately)
    r = next(c for c in FIXTURE["adhoc"] if c["case"] == f"{endpoint}_{horizon}y")
    assert logit(a.primary["ci_low"] / 100) == pytest.approx(r["ci_lb"], abs=TOL)
    assert logit(a.primary["ci_high"] / 100) == pytest.approx(r["ci_ub"], abs=TOL)
    # plain HKSJ (test="knha") is its own row
    plain = a.estimates[pd.Series(a.variants, index=a.estimates.index) == sensitivity.PLAIN_HKSJ]
    r = _case("pooling", f"{endpoint}_{horizon}y_all_REML_HKSJ")
    assert logit(plain["ci_low"].iat[0] / 100) == pytest.approx(r["ci_lb"], abs=TOL)
    assert logit(plain["ci_high"].iat[0] / 100) == pytest.approx(r["ci_ub"], abs=TOL)
    # 6 estimator x interval fits, plain HKSJ, the t(k-2) prediction interval (k >= 3 here),
    # halved n, GLMM and two Bayesian priors
    subsets = (sensitivity.ALL_SERIES, sensitivity.ONE_PER_CENTRE, sensitivity.NO_CHORDOMA_MAJORITY)
    assert a.k >= 3 and len(a.estimates) == 12 + sum(v in a.variants for v in subsets)
    assert len(a.variants) == len(a.estimates) and sensitivity.PI_K2 in a.variants
    assert (a.estimates["analysis_id"] == f"{endpoint}_{horizon}y").all()


def test_leave_one_out_labels_and_change(literature):
    a = sensitivity.run_analysis(literature, "LC", 5)
    t = pooled.leave_one_out_table(a)
    assert len(t) == a.k
    assert np.allclose(t["change"], t["estimate"] - a.primary["estimate"])
    assert set(t["omitted"]) == set(a.studies["label"])  # each pooled series left out once


def test_single_study_is_labelled_not_pooled(literature):
    a = sensitivity.run_analysis(literature, "OS", 5, subgroup_column="particle_group", subgroup_value="proton-based")
    assert not a.is_pooled and a.k == 1  # Ciernik 2011 alone
    text = pooled.summary_markdown(a, "OS", 5)
    assert "Only one series" in text and "Nothing is pooled" in text
    assert len(a.estimates) == 1 and a.leave_one_out.empty


def test_unknown_landmark_names_what_exists(literature):
    with pytest.raises(ValueError, match=r"no study reports LC at 10 years; the data have .*LC at 5 years"):
        sensitivity.run_analysis(literature, "LC", 10)
    with pytest.raises(ValueError, match="is not a study column"):
        sensitivity.run_analysis(literature, "LC", 5, subgroup_column="colour", subgroup_value="x")


def test_write_estimates_roundtrip(tmp_path, literature):
    a = sensitivity.run_analysis(literature, "OS", 5)
    out = pooled.write_estimates(a, tmp_path / "sub" / "est.csv")
    back = pd.read_csv(out, dtype={"series": "string", "note": "string"})
    assert list(back.columns) == list(a.estimates.columns) + sensitivity.TABLE_EXTRA
    # the panel first (in order, with its keys), then strata, leave-one-out and cumulative rows
    panel = back.iloc[: len(a.estimates)]
    assert list(panel["variant"]) == list(a.variants)
    assert panel["estimate"].to_numpy() == pytest.approx(a.estimates["estimate"].to_numpy(), rel=1e-9)
    assert len(back) == len(a.estimates) + sum(len(s.estimates) for s in a.strata) + len(a.leave_one_out) + len(
        a.cumulative
    )
    assert pooled.write_estimates(a, "") is None


@pytest.mark.parametrize("endpoint,horizon", [("LC", 5), ("OS", 3)])
def test_without_the_panel_the_primary_and_the_series_are_those_of_the_whole_analysis(endpoint, horizon):
    """``panel=False`` (the literature chapter's forest plots) computes only what a forest plot shows:
    the same primary row and per-series table as the whole analysis, and nothing else."""
    lit = frozen_literature()
    whole = sensitivity.run_analysis(lit, endpoint, horizon)
    light = sensitivity.run_analysis(lit, endpoint, horizon, panel=False)
    pd.testing.assert_series_equal(light.primary, whole.primary)
    pd.testing.assert_frame_equal(light.studies, whole.studies)
    assert len(light.estimates) == 1 and light.strata == () and light.leave_one_out.empty and light.cumulative.empty
    assert len(whole.estimates) > 1 and whole.strata


@pytest.mark.parametrize("case", FIXTURE["all_series"], ids=lambda c: c["case"])
def test_every_series_as_published_row_matches_metafor(literature, case):
    """The sensitivity row that pools every series as published (shared cohorts counted twice): R's rma
    REML + knha on every row of the landmark (scripts/r/make_reference.R, all_series)."""
    a = sensitivity.run_analysis(literature, case["endpoint"], float(case["horizon"]))
    row = a.estimates[[v == sensitivity.ALL_SERIES for v in a.variants]]
    assert len(row) == 1 and int(row["k"].iat[0]) == case["k"] > a.k
    assert sorted(a.studies["study_id"]) == sorted(case["kept"])
    assert logit(row["estimate"].iat[0] / 100) == pytest.approx(case["estimate"], abs=TOL)
    assert logit(row["ci_low"].iat[0] / 100) == pytest.approx(case["ci_lb"], abs=TOL)
    assert logit(row["ci_high"].iat[0] / 100) == pytest.approx(case["ci_ub"], abs=TOL)
    assert row["tau2"].iat[0] == pytest.approx(case["tau2"], abs=TOL)


@pytest.mark.parametrize("case", FIXTURE["subsets"], ids=lambda c: c["case"])
def test_subset_rows_match_metafor(literature, case):
    """One series per centre and without chordoma-majority series: the rule written again in R
    (scripts/r/make_reference.R, subsets) picks the same series, and rma(test="adhoc") on them gives the row."""
    ep, h = case["case"].split("_")[:2]
    a = sensitivity.run_analysis(literature, ep, float(h[:-1]))
    row = a.estimates[[v == case["variant"] for v in a.variants]]
    assert len(row) == 1 and int(row["k"].iat[0]) == case["k"] == len(case["study_ids"])
    kept = sorted(set(a.studies["study_id"]) - set(a.left_out[case["variant"]]))
    assert kept == sorted(case["study_ids"])
    for col, key in (("estimate", "estimate"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        assert logit(row[col].iat[0] / 100) == pytest.approx(case[key], abs=TOL), col
    assert row["tau2"].iat[0] == pytest.approx(case["tau2"], abs=TOL)


def test_every_landmark_has_its_subset_rows_or_says_why(literature):
    """Each subset row R computes is on the page, and every landmark the package has no such row for says why
    (the same conditions: a series left out and two remaining)."""
    from sarcoma_review.living.analyses import standard_analyses

    r_cases = {c["case"] for c in FIXTURE["subsets"]}
    assert r_cases  # the frozen data have both kinds of row
    for an in standard_analyses():
        a = sensitivity.run_analysis(literature, an["endpoint"], float(an["horizon_years"]))
        for v in (sensitivity.ONE_PER_CENTRE, sensitivity.NO_CHORDOMA_MAJORITY):
            case = f"{an['endpoint']}_{float(an['horizon_years']):g}y_{v}"
            assert (v in a.variants) == (case in r_cases), case
            assert (v in a.variants) != (v in a.skipped), case
