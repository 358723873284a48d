"""The front page's clinical questions by patient group (pages.summary) and the harms row (pages.toxicity).

Pooled group numbers are compared with metafor (tests/fixtures/r_reference_groups.json, computed from the frozen
inputs by scripts/r/make_reference.R, which derives the groups and the overlap rule again in R). Tests on the live
data assert what must hold for any valid data: one series shown as one, two side by side, never 'about X%'.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sarcoma_review.data import loaders
from sarcoma_review.living.analyses import standard_analyses
from sarcoma_review.pages import summary, toxicity
from tests.helpers import frozen_literature, r_value

REF_FILE = Path(__file__).parents[1] / "fixtures" / "r_reference_groups.json"
REF = json.loads(REF_FILE.read_text())


def _expit_pct(x: float) -> float:
    return 100.0 / (1.0 + math.exp(-x))


@pytest.fixture(scope="module")
def judgements():
    return loaders.load_table("appraisal", "certainty_judgements")


@pytest.fixture(scope="module")
def frozen_groups(judgements):
    return summary.group_frame(frozen_literature(), judgements, standard_analyses())


@pytest.fixture(scope="module")
def live_groups(judgements):
    return summary.group_frame(loaders.load_literature(), judgements, standard_analyses())


def test_every_pooled_group_row_matches_metafor(frozen_groups):
    """Estimate, CI and PI of every group landmark with two or more series against metafor REML with the
    interval the package reports (adhoc for HKSJ-adhoc, the primary; knha for plain HKSJ); 1e-6 on the
    percent scale (both solve REML to 1e-12 on the logit scale). The same series must be pooled."""
    pooled = frozen_groups[frozen_groups["k"] >= 2]
    assert len(pooled) > 0
    cases = {(c["group"], c["endpoint"], float(c["horizon"]), c["test"]): c for c in REF["group_pools"]}
    assert len(cases) == 2 * len(pooled)  # R pools exactly the group landmarks the package pools
    for _, r in pooled.iterrows():
        test = "adhoc" if "adhoc" in r["model"].lower() else "knha"
        c = cases[(r["group"], r["endpoint"], float(r["horizon_years"]), test)]
        ids = sorted(r["series"].split("; "))
        assert len(ids) == len(c["study_ids"]) == int(r["k"])
        for mine, theirs in (
            ("estimate", "estimate"),
            ("ci_low", "ci_lb"),
            ("ci_high", "ci_ub"),
            ("pi_low", "pi_lb"),
            ("pi_high", "pi_ub"),
        ):
            want = _expit_pct(r_value(c, theirs))  # no prediction interval below three series (Methods)
            assert r[mine] == pytest.approx(want, abs=1e-6, nan_ok=True), (r["group"], r["outcome"], mine)


def test_one_series_is_that_series_and_two_are_never_a_bottom_line(live_groups):
    lit = loaders.load_literature()
    assert len(live_groups) > 0
    for _, r in live_groups.iterrows():
        text = summary.result_text(r)
        if r["k"] == 1:
            assert r["shown_as"] == "single series" and text.startswith("one series")
            sid = lit[(lit["endpoint"] == r["endpoint"]) & (lit["horizon_years"] == r["horizon_years"])]
            rates = set(sid["rate_percent"].round(6))
            assert round(r["estimate"], 6) in rates  # the series' own rate, not a model's
        if r["k"] <= 2:
            assert "about" not in text
        if r["k"] == 2:
            assert r["shown_as"] == "two series" and text.count("patients)") == 2
        # the group table and its CSV carry every domain; one series: inconsistency not assessable
        assert (r["inconsistency"] == "not assessable") == (r["k"] == 1)


def test_front_page_html_has_each_question_and_no_two_series_pool(live_groups):
    studies = loaders.load_studies()
    harms = toxicity.harms_by_group(toxicity.events(), studies)
    front = live_groups[live_groups["endpoint"].isin(summary.GROUP_ENDPOINTS)]
    html = summary.group_answers_html(front, harms, studies)
    for g in front["group"].unique():
        assert summary.patient_groups.QUESTIONS[g] in html
    import html as h

    items = [h.unescape(li) for li in html.split('<li class="group-benefit">')[1:]]
    assert items
    for li in items:
        if "two series" in li:
            assert "about" not in li.split("</li>")[0]
    for _, r in front[front["k"] == 2].iterrows():
        if any(r["outcome"][1:] in li for li in items):
            assert f"two series (not pooled): {r['series_values']}" in "".join(items)


def test_harms_rows_carry_denominators_followup_and_their_own_certainty():
    studies = loaders.load_studies()
    e = toxicity.events()
    h = toxicity.harms_by_group(e, studies)
    assert len(h) > 0
    sev = toxicity.severe_late(e, studies)
    for r in h.itertuples():
        rows = sev[sev["group"] == r.group]
        assert r.k == rows["source_id"].nunique()
        # the patients behind the counts, each shared cohort once, never more than the series' sizes
        assert 0 <= r.n_patients <= rows.groupby("source_id")["denominator"].max().sum()
        assert "follow-up" in r.followup and "not counted" in r.followup_caveat
        assert r.certainty in ("very low", "low", "moderate", "high")


def test_harm_certainty_rules_on_hand_cases():
    import pandas as pd

    one = pd.DataFrame(
        {
            "denominator": [200.0],
            "events_counted": [10.0],
            "scale_named": [True],
            "any_late_explicit": [True],
            "several_rows": [False],
            "overlap_group": ["series:a"],
        }
    )
    c = toxicity.rate_harm(one, 1)
    assert dict((d[0], d[1]) for d in c["domains"]) == {
        "risk of bias": 0,
        "inconsistency": 0,
        "indirectness": 0,
        "imprecision": -2,
        "publication bias": 0,
    }
    assert c["certainty"] == "low"
    # two series whose Wilson intervals do not overlap (1/300 against 60/100): inconsistency serious
    two = pd.DataFrame(
        {
            "denominator": [300.0, 100.0],
            "events_counted": [1.0, 60.0],
            "scale_named": [True, False],
            "any_late_explicit": [True, True],
            "several_rows": [False, False],
            "overlap_group": ["series:a", "series:b"],
        }
    )
    c = toxicity.rate_harm(two, 5)
    d = dict((x[0], x[1]) for x in c["domains"])
    assert d["inconsistency"] == -1 and d["risk of bias"] == -1 and d["imprecision"] == 0
    assert d["publication bias"] == -1  # 2 of 5 series report it
    # shared cohort: the larger denominator only
    two["overlap_group"] = "g"
    assert toxicity.rate_harm(two, 2)["n_patients"] == 300
