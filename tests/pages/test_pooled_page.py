"""The pooled pages: what they print and publish.

* The forest plot draws each series' 95% interval as R computes it (fixture ``forest``:
  ``yi +/- qnorm(.975) sqrt(vi)`` of ``escalc``; tolerance 1e-4 percentage points, both sides being
  the same closed form), with the series' histology in its label.
* The CSV a page publishes holds every estimate it shows, and never calls one series pooled; the
  properties are checked on the live data (they must hold for any valid data) and the frozen copies.
* Generated sentences: the PI convention, the interval moves, the 'Various' histology caveat, the
  overlap of site labels -- each number read back from the analysis, never typed in the test.
* One p-value format everywhere, derived by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import frozen_literature, two_series

from sarcoma_review.data import loaders, overlap, vocabulary
from sarcoma_review.pages import pooled
from sarcoma_review.pages.render.tables import format_p, html_table, p_text
from sarcoma_review.stats import pooling, sensitivity

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-4
LANDMARKS = [
    ("LC", 5.0),
    ("OS", 5.0),
    ("LC", 3.0),
    ("OS", 3.0),
    ("LC", 2.0),
    ("OS", 2.0),
    ("PFS", 3.0),
    ("PFS", 5.0),
    ("DFS", 5.0),
]


def _study_records(node):
    """Rows of kind 'study' anywhere in a Vega-Lite spec."""
    if isinstance(node, dict):
        if node.get("kind") == "study" and "study_id" in node:
            yield node
        for v in node.values():
            yield from _study_records(v)
    elif isinstance(node, list):
        for v in node:
            yield from _study_records(v)


@pytest.fixture(scope="module")
def frozen() -> pd.DataFrame:
    return frozen_literature()


@pytest.mark.parametrize("case", REF["forest"], ids=lambda c: c["case"])
def test_forest_plot_series_intervals_match_r(frozen, case):
    a = sensitivity.run_analysis(frozen, case["endpoint"], float(case["horizon"]))
    rows = {r["study_id"]: r for r in _study_records(pooled.forest_chart(a).to_dict())}
    assert sorted(rows) == sorted(case["study_id"])
    hist = vocabulary.with_strata(frozen).drop_duplicates("study_id").set_index("study_id")["histology"]
    for i, sid in enumerate(case["study_id"]):
        r = rows[sid]
        assert r["estimate"] == pytest.approx(case["estimate_percent"][i], abs=TOL)
        assert r["ci_low"] == pytest.approx(case["ci_low_percent"][i], abs=TOL)
        assert r["ci_high"] == pytest.approx(case["ci_high_percent"][i], abs=TOL)
        assert r["label"].endswith(" · " + hist[sid])  # the histology is shown with the series


@pytest.mark.parametrize("source", ["live", "frozen"])
@pytest.mark.parametrize("ep, h", LANDMARKS)
def test_published_csv_holds_every_estimate_and_never_calls_one_series_pooled(tmp_path, frozen, source, ep, h):
    lit = loaders.load_literature() if source == "live" else frozen
    if sensitivity.landmark_rows(lit, ep, h).empty:
        pytest.fail(f"{ep} at {h:g} years is in book/analyses.yml but no series reports it")
    a = sensitivity.run_analysis(lit, ep, h)
    back = pd.read_csv(
        pooled.write_estimates(a, tmp_path / "e.csv"), dtype={"series": "string"}, keep_default_na=False, na_values=[""]
    )
    one = back["k"] == 1
    assert (back.loc[one, "kind"] == pooling.SINGLE_SERIES).all()
    assert (back.loc[~one, "kind"] == pooling.POOLED).all()
    assert back.loc[one, "series"].notna().all() and (back.loc[one, "series"].str.len() > 0).all()
    # every stratum of every shown column, leave-one-out and cumulative rows are in it
    strata = back[back["variant"] == sensitivity.STRATUM]
    d = vocabulary.with_strata(overlap.independent(sensitivity.landmark_rows(lit, ep, h)))
    for col in sensitivity.STRATA:
        assert set(strata.loc[strata["subgroup_column"] == col, "subgroup_value"]) == set(d[col].astype(str))
    if a.k >= 2:
        assert (back["variant"] == sensitivity.LEAVE_ONE_OUT).sum() == a.k
        assert (back["variant"] == sensitivity.CUMULATIVE).sum() == a.k
    # a one-series stratum's series is the one series of that stratum
    for r in strata[strata["k"] == 1].itertuples():
        s = d[d[r.subgroup_column].astype(str) == r.subgroup_value].iloc[0]
        assert r.series == vocabulary.study_label(s["first_author"], s["year"])


@pytest.mark.parametrize("ep, h", LANDMARKS)
def test_generated_sentences_read_from_the_analysis(ep, h):
    lit = loaders.load_literature()
    a = sensitivity.run_analysis(lit, ep, h)
    text = pooled.summary_markdown(a, ep, h)
    if not a.is_pooled:  # possible with other data: then the page names the one series and pools nothing
        assert "Only one series" in text and str(a.studies["label"].iat[0]) in text
        return
    assert f"k − 1 = {a.k - 1} degree" in text
    m = sensitivity.interval_moves(a)
    assert f"{m['ci_low'].min():.1f}%" in text and f"{m['ci_high'].max():.1f}%" in text
    if a.k >= 3:
        k2 = a.estimates[[v == sensitivity.PI_K2 for v in a.variants]].iloc[0]
        assert f"With k − 2 it is {k2['pi_low']:.1f}% to {k2['pi_high']:.1f}%" in text
    else:
        assert f"With {a.k} series the k − 2 interval is undefined" in text
    # the histology caveat names every series of the other stratum that holds or may hold chordomas, by label
    caveat = pooled.histology_caveat(a)
    uncertain = pooled.chordoma_uncertain(a.studies)
    for lab in uncertain["label"]:
        assert lab in caveat
    assert ("may hold some chordomas" in caveat) == (not uncertain.empty)
    site = next(s for s in a.strata if s.column == "site")
    assert "not tested against each other" in pooled.strata_markdown(a, site)


def test_one_series_stratum_is_named_not_pooled_in_the_page_table():
    two = two_series()  # one chordoma series, one other
    a = sensitivity.run_analysis(two, "DPFS", 5)  # two series: one chordoma, one other
    s = next(x for x in a.strata if x.column == vocabulary.HISTOLOGY_STRATUM)
    t = pooled.strata_table(s)
    assert list(t["stratum"]) == [vocabulary.HISTOLOGY_STRATUM_NAMES[v] for v in s.estimates["subgroup_value"]]
    for what, series in zip(t["what"], s.estimates["series"]):
        assert what.startswith(f"one series: {series}") and "pooled" in what and "not pooled" in what
    assert t["pi_low"].isna().all()
    md = pooled.strata_markdown(a, s)
    assert p_text(s.test["p_between"]) in md and "no moderator test" in md
    # leaving one of two series out leaves the other alone: named, not pooled
    loo = pooled.leave_one_out_table(a)
    labels = set(a.studies["label"])
    for r in loo.itertuples():
        (other,) = labels - {r.omitted}
        assert r.k == 1 and r.remaining == f"one series: {other} (not pooled)"


def test_sensitivity_table_shifts_are_bounds_minus_the_primary(frozen):
    a = sensitivity.run_analysis(frozen, "LC", 5)
    t = pooled.sensitivity_table(a)
    p = a.primary
    for r in t.itertuples():
        if pd.isna(r.pi_low):
            assert r.pi_shift == "—"
        lo, hi = r.ci_shift.replace("−", "-").split(" / ")
        assert float(lo) == pytest.approx(round(r.ci_low - p["ci_low"], 1), abs=1e-9)
        assert float(hi) == pytest.approx(round(r.ci_high - p["ci_high"], 1), abs=1e-9)


def test_effective_n_of_the_cnao_cohort_is_at_most_its_n():
    lit = loaders.load_literature()
    for ep, h in LANDMARKS:
        eff = pooled.effective_sample_sizes(lit, ep, h)
        rows = sensitivity.landmark_rows(lit, ep, h)
        assert set(eff) <= {pooled.CNAO_STUDY_ID} & set(rows["study_id"])
        for e in eff.values():
            # never more information than all n patients followed to the landmark (held at n);
            # the number at risk is not a bound that holds for every censoring pattern, so not asserted
            assert 0 < e.n_eff <= e.n_reported and 0 <= e.n_at_risk <= e.n_reported and 0 < e.surv < 1
            a = sensitivity.run_analysis(lit, ep, h, effective_n=eff)
            md = pooled.effective_n_markdown(a)
            # the series enters only when its reconstruction honours the paper's rate at this landmark
            assert (sensitivity.EFFECTIVE_N in a.variants) == e.honoured
            assert (f"{e.n_eff:.1f}" in md) if e.honoured else ("does not enter" in md and e.why)


def test_a_reconstruction_that_drops_the_landmark_gives_no_effective_n_row(frozen):
    e = sensitivity.EffectiveN("cuccia2020", 54, 20.0, 5, 0.53, "test", honoured=False, why="it conflicts")
    a = sensitivity.run_analysis(frozen, "LC", 3, effective_n={"cuccia2020": e})
    assert sensitivity.EFFECTIVE_N not in a.variants and a.effective_n == {"cuccia2020": e}
    md = pooled.effective_n_markdown(a)
    assert "Cuccia 2020 does not enter" in md and "it conflicts" in md
    assert "instead of" not in " ".join(pooled.sensitivity_table(a)["analysis"])


# ------------------------------------------------------------------------------ p-values
@pytest.mark.parametrize(
    "p, table, text",
    [
        (0.0346, "0.035", "p = 0.035"),
        (0.0004, "< 0.001", "p < 0.001"),
        (0.001, "0.001", "p = 0.001"),
        (0.5, "0.500", "p = 0.500"),
        (0.9996, "> 0.999", "p > 0.999"),
        (1.0, "> 0.999", "p > 0.999"),
        (0.0, "< 0.001", "p < 0.001"),
        (float("nan"), "—", None),
    ],
)
def test_one_p_format(p, table, text):
    assert format_p(p) == table
    if text:
        assert p_text(p) == text
    if p == p:
        cell = str(html_table(pd.DataFrame({"p": [p]}), formats={"p": "p"}).data)
        assert f">{table.replace('<', '&lt;').replace('>', '&gt;')}</td>" in cell


def test_p_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="must lie in"):
        format_p(1.2)


def test_no_page_formats_p_by_hand():
    """Every p column of a chapter uses the one format ("p"), never a number format."""
    import re

    book = Path(__file__).parents[2] / "book"
    uses = 0
    for nb in sorted(book.glob("*.ipynb")):
        src = "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"])
        bad = re.findall(r'"(p|p_[a-z]+|q_p)"\s*:\s*"\.\d+[fg]"', src)
        assert not bad, f"{nb.name} formats p-values by hand: {bad}"
        uses += len(re.findall(r'"(p|p_[a-z]+|q_p)"\s*:\s*"p"', src))
    assert uses >= 4  # pooled (heterogeneity), comparisons (3 p columns), ifosfamide (log-rank) use it


@pytest.mark.parametrize("ep, h", LANDMARKS)
def test_small_pools_show_the_bayesian_estimate_methods_promises(ep, h):
    """Methods: with fewer than SMALL_K series each pooled page reports the Bayesian estimate and its credible
    interval beside the primary one, with the wider prior's interval. Checked on the live data for every page
    with 2 <= k < SMALL_K; the numbers are read back from the analysis's Bayesian rows (tested against R in
    tests/stats), never typed. A page with SMALL_K or more series does not lead with it."""
    a = sensitivity.run_analysis(loaders.load_literature(), ep, h)
    if not a.is_pooled:
        return
    md = pooled.summary_markdown(a, ep, h)
    b = a.estimates[a.estimates["model"] == "Bayesian normal-normal"].iloc[0]
    shown = f"{b['estimate']:.1f}%" in md and f"{b['ci_low']:.1f}% to {b['ci_high']:.1f}%" in md
    assert shown == (a.k < sensitivity.SMALL_K), (ep, h, a.k)


def test_two_series_page_gives_no_prediction_interval_and_says_why():
    """Methods: no prediction interval below three series. A two-series analysis shows none (no 'nan' either)
    and says why; the CSV row has empty bounds."""
    a = sensitivity.run_analysis(two_series(), "DPFS", 5)
    assert a.k == 2 and pd.isna(a.primary["pi_low"]) and pd.isna(a.primary["pi_high"])
    md = pooled.summary_markdown(a, "DPFS", 5)
    assert "no {term}`prediction interval` is given" in md and "nan" not in md.lower()
    assert "No prediction interval with 2 series" in md
