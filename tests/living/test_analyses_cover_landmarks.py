"""The protocol's horizons rule on the live data (any valid data): 3 and 5 years of local control and overall
survival are landmark pages, and any other endpoint x horizon that at least three independent series report
(each shared cohort counted once) has its pooled page in book/analyses.yml; every page has at least one series."""

from __future__ import annotations

from sarcoma_review.data import loaders, overlap
from sarcoma_review.living.analyses import standard_analyses

MIN_INDEPENDENT = 3


def test_every_landmark_three_independent_series_report_has_a_page():
    lit = loaders.load_literature()
    pages = {(a["endpoint"], float(a["horizon_years"])) for a in standard_analyses()}
    assert {("LC", 5.0), ("LC", 3.0), ("OS", 5.0), ("OS", 3.0)} <= pages
    for (ep, hz), g in lit.groupby(["endpoint", "horizon_years"]):
        if len(overlap.independent(g)) >= MIN_INDEPENDENT:
            assert (ep, float(hz)) in pages, (
                f"{ep} at {hz} years: {len(overlap.independent(g))} independent series, no page"
            )
    for ep, hz in pages:
        assert len(lit[(lit["endpoint"] == ep) & (lit["horizon_years"] == hz)]) >= 1, (ep, hz)
