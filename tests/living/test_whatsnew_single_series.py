"""What's new never lists one series under "Pooled estimates": a subgroup that holds one series
is listed, named, under "Single series" (issue 11). Releases frozen before ``kind`` existed are read
with ``kind`` derived from ``k``. Expected texts are built from the rows given here."""

from __future__ import annotations

import io

import pandas as pd

from sarcoma_review.living import store, whatsnew


def _rows(**over):
    base = {
        "analysis_id": "lc-5y",
        "endpoint": "LC",
        "horizon_years": 5,
        "subgroup_column": "",
        "subgroup_value": "all",
        "k": 8,
        "n_patients": 500,
        "model": "random effects",
        "estimate": 72.0,
        "ci_low": 64.0,
        "ci_high": 79.0,
        "kind": "pooled",
        "series": "",
    }
    base.update(over)
    return base


def _split(md: str) -> tuple[str, str]:
    pooled = md.split("## Pooled estimates, before and after", 1)[1].split("\n## ", 1)[0]
    single = md.split("## Single series, before and after", 1)[1].split("\n## ", 1)[0]
    return pooled, single


def test_single_series_subgroup_is_named_and_not_under_pooled_estimates():
    after = pd.DataFrame(
        [
            _rows(),
            _rows(
                subgroup_column="particle_group",
                subgroup_value="mixed",
                k=1,
                n_patients=56,
                model="single study",
                estimate=79.0,
                ci_low=66.4,
                ci_high=87.7,
                kind="single series",
                series="Uhl 2015",
            ),
            _rows(
                subgroup_column="particle_group", subgroup_value="carbon", k=5, estimate=70.5, ci_low=60.1, ci_high=79.1
            ),
        ]
    )
    res = whatsnew.compare(None, "unused", after)
    md = whatsnew.render_markdown(res)
    pooled, single = _split(md)
    assert "mixed" not in pooled and "Uhl 2015" not in pooled
    assert "5-year local control, particle group mixed: one series, Uhl 2015, not pooled" in single
    assert "Uhl 2015 alone: 79.0% (66.4–87.7)" in single
    assert "5-year local control, particle group carbon" in pooled and "72.0% (64.0–79.0)" in pooled


def test_a_subgroup_that_grows_from_one_series_names_it_on_the_old_side():
    before = pd.DataFrame(
        [
            _rows(
                subgroup_column="histology_group",
                subgroup_value="chordoma",
                k=1,
                estimate=50.3,
                ci_low=43.2,
                ci_high=57.4,
                kind="single series",
                series="Imai 2016",
            )
        ]
    )
    after = pd.DataFrame(
        [
            _rows(
                subgroup_column="histology_group",
                subgroup_value="chordoma",
                k=2,
                estimate=55.0,
                ci_low=40.0,
                ci_high=69.0,
            )
        ]
    )
    est = whatsnew.compare_estimates(before, after)
    res = whatsnew.WhatsNew("0.1.0", None, estimates=est)
    md = whatsnew.render_markdown(res)
    assert "## Single series" not in md
    pooled = md.split("## Pooled estimates, before and after", 1)[1]
    assert "Imai 2016 alone: 50.3% (43.2–57.4)" in pooled and "| 55.0% (40.0–69.0) |" in pooled


def test_old_frozen_release_without_kind_reads_kind_from_k():
    old = pd.DataFrame([_rows(), _rows(subgroup_column="particle_group", subgroup_value="mixed", k=1)]).drop(
        columns=["kind", "series"]
    )
    raw = old.to_csv(index=False).encode()
    back = store.read_estimates_csv(io.BytesIO(raw))
    assert list(back["kind"]) == ["pooled", "single series"]
