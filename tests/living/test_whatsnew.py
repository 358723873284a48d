"""What's new: studies added/corrected, each pooled estimate before and after, changed conclusions.

The added-study test uses a copy of the real data, with the literature tables the R fixture was
computed from (tests/fixtures/r_inputs), and the real pooling model. Its expected numbers are
independent: metafor 3.8 (R) computed the cumulative-by-year random-effects fit of 5-year local
control (tests/fixtures/r_reference.json, "cumul" LC_5y; REML, Hartung-Knapp): step 7 is every
study except the last one published (the older-patients series of 2024), the last step adds it back. Tolerance 1e-4
percentage points, as the pooling tests
(REML convergence in R vs scipy; the frozen CSV keeps 10 significant digits, far below that).
"""

from __future__ import annotations

import csv
import json
import shutil

import pandas as pd
import pytest
from helpers import FROZEN_DATA, git, make_real_repo, make_repo, toy_pool
from scipy import special

from sarcoma_review.living import analyses, whatsnew
from sarcoma_review.living import release as rel
from sarcoma_review.paths import REPO_ROOT

TOL = 1e-4
DROPPED = "olderpatients2024"


def _r_cumul_lc5() -> dict:
    ref = json.loads((REPO_ROOT / "tests" / "fixtures" / "r_reference.json").read_text())
    case = next(c for c in ref["cumul"] if c["case"] == "LC_5y")
    assert case["added"][-1] == DROPPED  # the fixture's last step is the study this test adds back
    return case


def _frozen_literature(repo) -> None:
    """Put the R fixture's literature inputs (tests/fixtures/r_inputs) in place of today's, so that
    the expected numbers (metafor, computed from those copies) hold when data/ gains a study;
    restatements of studies absent from the copies are dropped (their foreign key)."""
    lit = repo / "data" / "literature"
    for f in sorted((FROZEN_DATA / "literature").iterdir()):
        shutil.copy2(f, lit / f.name)
    ids = set(pd.read_csv(lit / "studies.csv")["study_id"])
    rs = lit / "restatements.csv"
    head, *rows = rs.read_text(encoding="utf-8").splitlines(keepends=True)
    rs.write_text(head + "".join(r for r in rows if r.split(",", 1)[0] in ids), encoding="utf-8")
    # appraisal rows of series absent from the copies (an analyst's newer series) go too (their foreign key)
    apr = repo / "data" / "appraisal"
    src = pd.read_csv(apr / "sources.csv", dtype=str, keep_default_na=False)
    src = src[(src["study_id"] == "") | src["study_id"].isin(ids)]
    src.to_csv(apr / "sources.csv", index=False, lineterminator="\n")
    for name in ("risk_of_bias", "rob_overall"):
        t = pd.read_csv(apr / f"{name}.csv", dtype=str, keep_default_na=False)
        t[t["source_id"].isin(src["source_id"])].to_csv(apr / f"{name}.csv", index=False, lineterminator="\n")
    git(repo, "commit", "-q", "--allow-empty", "-am", "literature as frozen for the R fixture")


def _overall(est: pd.DataFrame, analysis_id: str) -> pd.Series:
    """The all-studies row of one analysis (no subgroup column)."""
    rows = est[(est["analysis_id"] == analysis_id) & (est["subgroup_column"] == "")]
    assert len(rows) == 1
    return rows.iloc[0]


def _pct(x: float) -> float:
    return 100 * float(special.expit(x))


def test_added_study_and_its_effect_on_the_pooled_estimate(tmp_path):
    repo = make_real_repo(tmp_path / "repo")
    _frozen_literature(repo)
    # every table with a row about the study (literature, and the appraisal and toxicity tables keyed to it)
    tables = [p.relative_to(repo / "data").as_posix() for p in sorted((repo / "data").glob("*/*.csv"))]
    originals = {t: (repo / "data" / t).read_text(encoding="utf-8") for t in tables}
    for t, text in originals.items():  # release 0.2.0 without the dropped series ...
        kept = [ln for ln in text.splitlines(keepends=True) if DROPPED not in next(csv.reader([ln]), [])]
        (repo / "data" / t).write_text("".join(kept), encoding="utf-8")
    git(repo, "commit", "-q", "-am", f"without {DROPPED}")
    rel.release("0.2.0", root=repo, date="2026-03-01")
    for t, text in originals.items():  # ... then add it back (the current data)
        (repo / "data" / t).write_text(text, encoding="utf-8")

    estimates = analyses.current_estimates(repo / "data", root=repo)
    res = whatsnew.compare(repo / "releases" / "0.2.0", repo / "data", estimates)
    assert res.previous_version == "0.2.0" and res.previous_date == "2026-03-01"
    assert [a["study_id"] for a in res.added] == [DROPPED] and not res.removed and not res.corrected
    assert res.added[0]["first_author"] == "Older-patients series"
    lc5 = _overall(res.estimates, "lc5")
    case = _r_cumul_lc5()
    last = len(case["added"]) - 1  # the fixture's last step adds the dropped series back
    for side, step in (("before", last - 1), ("after", last)):
        assert lc5[f"estimate_{side}"] == pytest.approx(_pct(case["estimate"][step]), abs=TOL)
        assert lc5[f"ci_low_{side}"] == pytest.approx(_pct(case["ci_lb"][step]), abs=TOL)
        assert lc5[f"ci_high_{side}"] == pytest.approx(_pct(case["ci_ub"][step]), abs=TOL)
    assert (lc5["k_before"], lc5["k_after"], lc5["status"]) == (last, last + 1, "changed")
    # Rendering shows the added study and the before/after numbers as the table cells.
    md = whatsnew.render_markdown(res)
    assert f"**Added** `{DROPPED}`" in md
    b, a = last - 1, last
    cell = (
        f"| lc5, all series | {last} | {_pct(case['estimate'][b]):.1f}% ({_pct(case['ci_lb'][b]):.1f}–"
        f"{_pct(case['ci_ub'][b]):.1f}) | {last + 1} | {_pct(case['estimate'][a]):.1f}% ({_pct(case['ci_lb'][a]):.1f}–"
        f"{_pct(case['ci_ub'][a]):.1f}) | changed |"
    )
    assert cell in md
    # The 3-year analyses do not involve the dropped series (a 5-year series): unchanged.
    lc3 = _overall(res.estimates, "lc3")
    assert lc3["status"] == "unchanged"


def test_corrected_value_is_listed_with_before_and_after(tmp_path):
    repo = make_repo(tmp_path / "repo")
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool)
    out = repo / "data" / "literature" / "outcomes.csv"
    out.write_text(out.read_text().replace("b2002,LC,5,70", "b2002,LC,5,72"))
    est = analyses.current_estimates(repo / "data", pool=toy_pool, root=repo)
    res = whatsnew.compare(repo / "releases" / "0.2.0", repo / "data", est)
    assert res.corrected == {
        "b2002": [
            {
                "table": "outcomes",
                "study_id": "b2002",
                "endpoint": "LC",
                "horizon_years": "5",
                "field": "LC 5-year rate_percent",
                "before": "70",
                "after": "72",
                "why": "",
            }
        ]
    }
    assert "**Corrected** `b2002`: LC 5-year rate_percent: 70 → 72." in whatsnew.render_markdown(res)
    # Toy pool by hand: (10*50 + 30*72)/40 = 66.5 (was 65); the 75% benchmark stays outside 50–72.
    lc5 = _overall(res.estimates, "lc5")
    assert (lc5["estimate_before"], lc5["estimate_after"]) == (65.0, 66.5)
    assert res.conclusions == []


def test_conclusions_benchmark_and_p_crossing():
    key = {"analysis_id": "lc5", "subgroup_column": "", "subgroup_value": "", "endpoint": "LC", "horizon_years": 5}
    before = pd.DataFrame([{**key, "estimate": 65.0, "ci_low": 50.0, "ci_high": 70.0, "k": 2, "q_p": 0.5}])
    after = pd.DataFrame([{**key, "estimate": 70.0, "ci_low": 50.0, "ci_high": 80.0, "k": 3, "q_p": 0.01}])
    est = whatsnew.compare_estimates(before, after)
    comps = pd.DataFrame(
        {
            "comparator_id": ["photon", "other_horizon", "low"],
            "endpoint": ["LC", "LC", "LC"],
            "horizon_years": [5, 3, 5],
            "rate_percent": [75, 75, 45],
        }
    )
    got = whatsnew.changed_conclusions(est, comps)
    assert [(c["kind"], c.get("comparator_id")) for c in got] == [("comparator", "photon"), ("p_crossing", None)]
    assert "now includes comparator photon (75%)" in got[0]["text"]
    assert (
        got[1]["test"] == "heterogeneity test" and "p = 0.500 → p = 0.010" in got[1]["text"]
    )  # the one p format (render.tables.format_p)
    # Reverse direction: excludes.
    back = whatsnew.changed_conclusions(whatsnew.compare_estimates(after, before), comps)
    assert "now excludes comparator photon (75%)" in back[0]["text"]


def test_first_release_page_says_there_is_no_previous_release(tmp_path):
    repo = make_repo(tmp_path / "repo")
    est = analyses.current_estimates(repo / "data", pool=toy_pool, root=repo)
    res = whatsnew.compare(None, repo / "data", est)
    md = whatsnew.render_markdown(res)
    assert "There is no previous release to compare with" in md
    assert set(res.estimates["status"]) == {"new"}


def test_cumulative_table_and_chart_across_releases(tmp_path):
    repo = make_repo(tmp_path / "repo")
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool)
    from helpers import add_study

    add_study(repo)
    rel.release("0.3.0", root=repo, date="2026-04-01", pool=toy_pool, tag=False)
    cum = whatsnew.cumulative_table(repo)
    lc5 = cum[(cum["analysis_id"] == "lc5") & (cum["subgroup_column"] == "")]
    # Hand-derived toy estimates: 65 with two studies, 70 after adding c2003 (n=20, 80%).
    assert lc5[["release", "estimate"]].values.tolist() == [["0.2.0", 65.0], ["0.3.0", 70.0]]
    spec = whatsnew.cumulative_chart(cum).to_dict()
    assert spec["layer"][1]["mark"]["type"] == "line"
    page = (repo / "book" / "whats-new.md").read_text()
    assert "# What's new in version 0.3.0" in page and "## Estimates across releases" in page
    assert "| lc5, all series | 65.0% (50.0–70.0) | 70.0% (50.0–80.0) |" in page
    assert 'id="whatsnew-cumulative-chart"' in page and "window.vegaEmbed(el, spec, opts)" in page
    assert 'class="sr-vega-static"' in page  # the static chart for readers without scripts


def test_every_series_that_left_a_pool_since_0_1_0_is_listed_with_why():
    """Any valid data: a series of a 0.1.0 pool is in today's pool of that landmark (each shared cohort once)
    or is listed by left_pools with a reason."""
    from sarcoma_review.data import loaders, overlap

    prev = REPO_ROOT / "releases" / "0.1.0" / "data"
    before = pd.read_csv(prev / "literature" / "outcomes.csv")
    marks = sorted({(str(e), float(h)) for e, h in zip(before["endpoint"], before["horizon_years"])})
    left = whatsnew.left_pools(prev, REPO_ROOT / "data", marks)
    lit = loaders.load_literature()
    for ep, hz in marks:
        now = set(overlap.independent(lit[(lit["endpoint"] == ep) & (lit["horizon_years"] == hz)])["study_id"])
        was = set(before[(before["endpoint"] == ep) & (before["horizon_years"] == hz)]["study_id"])
        listed = {r["study_id"] for r in left if (r["endpoint"], r["horizon_years"]) == (ep, hz)}
        assert listed == was - now, (ep, hz)
    assert all(r["why"] for r in left)


def test_a_series_its_overlap_group_stands_in_for_is_named_with_the_stand_in(tmp_path):
    # two series of one centre at one landmark: the larger stands in, the smaller leaves the pool, by name
    prev, cur = tmp_path / "prev", tmp_path / "cur"
    for d in (prev, cur):
        (d / "literature").mkdir(parents=True)
    (prev / "literature" / "studies.csv").write_text(
        "study_id,first_author,year,n_patients\na2001,A,2001,10\nb2002,B,2002,30\n"
    )
    (prev / "literature" / "outcomes.csv").write_text(
        "study_id,endpoint,horizon_years,rate_percent\na2001,LC,5,50\nb2002,LC,5,70\n"
    )
    (cur / "literature" / "studies.csv").write_text(
        "study_id,first_author,year,n_patients,overlap_group\na2001,A,2001,10,g\nb2002,B,2002,30,g\n"
    )
    (cur / "literature" / "outcomes.csv").write_text(
        "study_id,endpoint,horizon_years,rate_percent\na2001,LC,5,50\nb2002,LC,5,70\n"
    )
    left = whatsnew.left_pools(prev, cur, [("LC", 5.0)])
    assert left == [
        {
            "endpoint": "LC",
            "horizon_years": 5.0,
            "study_id": "a2001",
            "why": "shared cohort: b2002 stands in for it (overlap rule)",
        }
    ]
