"""GRADE rating of a comparison (stats.comparison_certainty): each domain from hand-built rows whose
expected judgement follows from the rules written in the module docstring (start low = 2, one level per
serious domain, two per very serious, floor very low)."""

from __future__ import annotations

import pytest

from sarcoma_review.stats import comparison_certainty as CC
from sarcoma_review.stats.comparators import MIN_AT_RISK

BASE = {
    "landmark": "5-year local control",
    "particle_population": "non-chordoma series",
    "comparator": "X",
    "comparator_class": "comparable",
    "endpoint": "LC",
    "n_at_risk": float("nan"),
    "k": 4,
    "verdict": "above",
    "verdict_mean": "above",
    "diff_low": 5.0,
    "diff_high": 20.0,
    "new_diff_low": 1.0,
    "new_diff_high": 30.0,
    "particle_soft_tissue_series": 4,
    "comparator_n_kind": "exact",
}


def test_nothing_serious_stays_low():
    r = CC.rate_comparison(BASE)
    assert r["start"] == "low" and r["certainty"] == "low"
    assert {r[d] for d in ("risk_of_bias", "inconsistency", "indirectness", "imprecision")} == {"not serious"}


@pytest.mark.parametrize(
    "change,domain,judgement",
    [
        ({"n_at_risk": MIN_AT_RISK - 1.0}, "risk_of_bias", "serious"),
        ({"verdict": "includes", "new_diff_low": -3.0}, "inconsistency", "serious"),
        ({"particle_soft_tissue_series": 3}, "indirectness", "serious"),
        ({"diff_low": -1.0, "verdict": "includes", "verdict_mean": "includes"}, "imprecision", "serious"),
    ],
)
def test_one_serious_domain_takes_low_to_very_low(change, domain, judgement):
    r = CC.rate_comparison({**BASE, **change})
    assert r[domain] == judgement and r["certainty"] == "very low"


def test_at_risk_counts_only_for_local_control_and_at_the_threshold_is_not_flagged():
    assert CC.rate_comparison({**BASE, "n_at_risk": float(MIN_AT_RISK)})["risk_of_bias"] == "not serious"
    assert CC.rate_comparison({**BASE, "endpoint": "OS", "n_at_risk": 2.0})["risk_of_bias"] == "not serious"


def test_one_series_inconsistency_is_not_assessable_and_does_not_downgrade():
    r = CC.rate_comparison({**BASE, "k": 1, "particle_soft_tissue_series": 1})
    assert r["inconsistency"] == "not assessable" and r["certainty"] == "low"


def test_bounded_comparator_crossing_zero_is_very_serious():
    r = CC.rate_comparison({**BASE, "diff_low": -1.0, "comparator_n_kind": "bound"})
    assert r["imprecision"] == "very serious" and r["certainty"] == "very low"


# ----------------------------------------------------------------------------- imprecision against the margin
#: The protocol's practice-changing difference used in these hand cases (points); thresholds -10 and +10.
M = 10.0


@pytest.mark.parametrize(
    "lo, hi, kind, expected",
    [
        (12.0, 30.0, "exact", "not serious"),  # wholly above +10: practice-changing benefit at both ends
        (-8.0, 9.0, "exact", "not serious"),  # wholly within -10..+10: no practice-changing difference either way
        (-30.0, -11.0, "exact", "not serious"),  # wholly below -10
        (-4.0, 24.0, "exact", "serious"),  # crosses +10 only (the curative-dose photon comparison)
        (5.0, 20.0, "exact", "serious"),  # excludes zero but crosses +10: action differs between its ends
        (-12.0, 15.0, "exact", "very serious"),  # crosses -10 and +10
        (-4.0, 24.0, "bound", "very serious"),  # one threshold, and the real interval is wider still
        (12.0, 30.0, "bound", "not serious"),  # even the narrowest interval clears both thresholds
    ],
)
def test_imprecision_against_the_practice_margin(lo, hi, kind, expected):
    r = CC.rate_comparison({**BASE, "diff_low": lo, "diff_high": hi, "comparator_n_kind": kind}, margin=M)
    assert r["imprecision"] == expected
    down = {"not serious": 0, "serious": 1, "very serious": 2}[expected]
    assert r["certainty"] == CC.LEVELS[max(1, CC.START - down)]  # the other domains are not serious in BASE


def test_live_margin_is_the_protocols():
    from sarcoma_review.data import loaders
    from sarcoma_review.pages.comparisons import practice_margin

    t = loaders.load_table("appraisal", "grade_thresholds").set_index("threshold_id")
    assert practice_margin() == float(t.at["practice_margin", "value"])
