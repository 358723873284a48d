"""The summary of findings follows the data: a changed rate changes the table (on a copy of data/), one
series is never shown as a pooled estimate, every downgrade has a footnote, and data text is escaped."""

from __future__ import annotations

import csv
import html
from pathlib import Path

import pandas as pd
import pytest

from sarcoma_review.data import loaders, overlap
from sarcoma_review.living.analyses import standard_analyses
from sarcoma_review.pages import appraisal, protocol, summary, toxicity
from sarcoma_review.stats import certainty as grade
from sarcoma_review.stats import pooling


def _set_rate(data: Path, study_id: str, endpoint: str, horizon: int, rate: float) -> None:
    p = data / "literature" / "outcomes.csv"
    rows = list(csv.DictReader(p.open(encoding="utf-8")))
    hit = [r for r in rows if (r["study_id"], r["endpoint"], r["horizon_years"]) == (study_id, endpoint, str(horizon))]
    assert len(hit) == 1
    hit[0]["rate_percent"] = str(rate)
    with p.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _row(sof: pd.DataFrame, endpoint: str, horizon: float, population: str = "all") -> pd.Series:
    r = sof[(sof["endpoint"] == endpoint) & (sof["horizon_years"] == horizon) & (sof["population"] == population)]
    assert len(r) == 1
    return r.iloc[0]


def test_changing_one_rate_changes_the_summary_of_findings(data_copy: Path):
    analyses = standard_analyses()
    before = summary.load_sof(analyses, data_copy)
    lit = loaders.load_literature(data_copy)
    lc5 = overlap.independent(lit[(lit["endpoint"] == "LC") & (lit["horizon_years"] == 5)])  # the series counted
    target = lc5.sort_values("rate_percent").iloc[0]  # the lowest 5-year LC rate ...
    _set_rate(data_copy, target["study_id"], "LC", 5, 99.0)  # ... raised to 99%
    after = summary.load_sof(analyses, data_copy)
    b, a = _row(before, "LC", 5.0), _row(after, "LC", 5.0)
    assert a["estimate"] > b["estimate"]  # raising one series' rate raises the pooled rate
    # the new row is exactly the primary pooled model on the changed data (same function as the pooled page)
    new = loaders.load_literature(data_copy)
    expect = pooling.pool(
        overlap.independent(new[(new["endpoint"] == "LC") & (new["horizon_years"] == 5)]),
        tau2_method="REML",
        ci_method="HKSJ-adhoc",
    )
    assert a["estimate"] == pytest.approx(float(expect["estimate"].iat[0]), abs=1e-9)
    assert f"about {a['estimate']:.0f}%" in a["statement"]
    assert a["statement"] != b["statement"]
    # other landmarks do not move
    assert _row(after, "OS", 5.0)["estimate"] == pytest.approx(_row(before, "OS", 5.0)["estimate"], abs=1e-12)


def test_homogeneous_rates_clear_the_computed_inconsistency(data_copy: Path):
    lit = loaders.load_literature(data_copy)
    lc5 = lit[(lit["endpoint"] == "LC") & (lit["horizon_years"] == 5)]
    for sid in lc5["study_id"]:
        _set_rate(data_copy, sid, "LC", 5, 70.0)
    row = _row(summary.load_sof(standard_analyses(), data_copy), "LC", 5.0)
    # identical rates: Q = 0, so REML puts tau² at 0 and the range of the series' true rates is the single
    # point 70%, which crosses no decision threshold -> not serious by the stated rule
    assert row["inconsistency"] == "not serious"


def test_single_series_rows_are_never_pooled_estimates():
    sof = summary.load_sof(standard_analyses())
    for _, r in sof.iterrows():
        if r["k"] == 1:
            assert r["model"] == "single study"
            assert pd.isna(r["pi_low"]) and pd.isna(r["pi_high"])
            assert r["statement"].startswith("Only one series")
            assert r["series"] in r["statement"]
            # one series: inconsistency is not assessable (never "not serious"), and nothing is rated down for it
            assert r["inconsistency"] == "not assessable" and r["inconsistency_downgrade"] == 0
        elif r["k"] == 2:  # two series side by side, never a pooled bottom line
            assert r["statement"].startswith("Two series report") and "about" not in r["statement"]
            assert r["statement"].count("patients)") == 2
        else:
            assert r["statement"].startswith("Particle therapy series report")
        if r["k"] >= 2:
            assert r["inconsistency"] != "not assessable"
    assert (sof["k"] == 1).any()  # the live data have single-series rows, so the check above ran


def test_csv_columns_and_every_downgrade_has_a_footnote(tmp_path: Path):
    sof = summary.load_sof(standard_analyses())
    path = summary.write_csv(sof, tmp_path)
    back = pd.read_csv(path)
    required = [
        "outcome",
        "endpoint",
        "horizon_years",
        "population",
        "k",
        "n_patients",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "certainty",
        *grade.DOMAINS,
        *(f"{d}_basis" for d in grade.DOMAINS),
    ]
    assert [c for c in required if c not in back.columns] == []
    assert set(back["population"]) <= set(grade.POPULATIONS)
    shown = sof[sof["population"] == "all"].reset_index(drop=True)
    marks, notes = summary.footnotes(shown)
    for i, r in shown.iterrows():
        for d in grade.DOMAINS:
            assert ((i, d) in marks) == (r[f"{d}_downgrade"] < 0)
    page = summary.sof_html(shown)
    for m, _ in notes:
        assert f'id="sof-note-{m}"' in page
    for p in shown["page"]:
        assert f'href="{p}"' in page


def test_data_text_is_escaped_in_the_table():
    sof = summary.load_sof(standard_analyses())
    shown = sof[sof["population"] == "all"].head(1).copy()
    shown["statement"] = "<script>alert(1)</script>"
    out = summary.sof_html(shown.reset_index(drop=True))
    assert "<script>" not in out and html.escape("<script>") in out


def test_comparators_carry_their_source():
    for x in summary.comparator_figures("LC", 5.0):
        assert x["source"] and "[" in x["short"]


# ----------------------------------------------------------------------------- other new chapters
def test_appraisal_tables_cover_every_source_and_item():
    rob = appraisal.rob_long()
    n_sources = len(loaders.load_table("appraisal", "sources"))
    n_items = len(loaders.load_table("appraisal", "rob_items"))
    assert len(rob) == n_sources * n_items
    tl = appraisal.traffic_light_frame()
    assert len(tl) == n_sources * n_items  # every item; no overall verdict (the tool's guidance gives no rule)
    assert "Overall" not in set(tl["item"])
    share = appraisal.unappraisable_share()
    assert (share["n_concern"] + share["n_not_appraised"] <= share["n_patients"]).all()


def test_bias_items_are_apart_from_reporting_items():
    items = loaders.load_table("appraisal", "rob_items")
    assert set(items["kind"]) == {"bias", "reporting"}
    order = appraisal.item_order()
    kinds = items.set_index("item_id").loc[order, "kind"].tolist()
    assert kinds == sorted(kinds)  # every bias item before every reporting item ("bias" < "reporting")
    tl = appraisal.traffic_light_frame()
    assert tl["question"].str.match(r"^(bias|reporting) item: ").all()
    # the support table of the judged risk of bias counts bias items only: a series whose only concerns are on
    # reporting items counts as no concern
    rob = appraisal.rob_long()
    bias_concern = rob[(rob["kind"] == "bias") & (rob["judgement"] != "low")]["study_id"].dropna().unique()
    share = appraisal.unappraisable_share()
    lit = loaders.load_literature()
    row = share[(share["endpoint"] == "LC") & (share["horizon_years"] == 5.0)].iloc[0]
    lc5 = overlap.independent_by_landmark(lit)
    lc5 = lc5[(lc5["endpoint"] == "LC") & (lc5["horizon_years"] == 5.0)]
    assert row["n_concern"] == int(lc5[lc5["study_id"].isin(bias_concern)]["n_patients"].sum())


def test_the_tool_choice_and_its_overall_rule_are_recorded_with_their_sources():
    tools = loaders.load_table("appraisal", "tools").set_index("tool_id")
    jbi = tools.loc["jbi_case_series"]
    assert jbi["overall_rule"].startswith("none")  # the guidance gives no overall rule: none is invented
    assert jbi["overall_rule_source"].startswith("https://") and len(jbi["overall_rule_quote"]) > 40
    assert "QUIPS" in jbi["choice"] and "https://" in jbi["choice"]
    counts = appraisal.rob_counts()
    assert counts["rob_overall_quote"] == jbi["overall_rule_quote"]
    assert counts["rob_n_bias_items"] + counts["rob_n_reporting_items"] == counts["rob_n_items"]


def test_protocol_shows_every_threshold_from_the_data():
    t = loaders.load_table("appraisal", "grade_thresholds")
    shown = protocol.threshold_table()
    assert len(shown) == len(t)
    assert list(shown["value"]) == [f"{v:g} {u}" for v, u in zip(t["value"], t["unit"])]
    assert list(shown["decision"]) == list(t["decision"])
    margin = float(t.set_index("threshold_id").at["practice_margin", "value"])
    comps = loaders.load_comparators()
    for r in protocol.decision_threshold_table().itertuples():
        rate = float(r._2.rsplit(": ", 1)[1].rstrip("%"))
        assert rate in set(comps["rate_percent"].dropna())  # the figure comes from the comparators' data
        assert r._3 == f"{rate - margin:g}% and {rate + margin:g}%"
    v = protocol.threshold_values()
    assert v["g_margin"] == f"{margin:g}"


def test_toxicity_restatements_are_flagged_and_not_counted_again():
    ev = toxicity.events()
    assert (ev["is_restatement"] == ev["overlaps_with"].notna()).all()
    s = toxicity.series_summary(ev)
    assert s["rows"].sum() == len(ev)
    assert s["restatements"].sum() == ev["is_restatement"].sum()
    assert (s["statements with a count"] <= s["rows"] - s["restatements"]).all()


def test_flow_counts_add_up():
    c = protocol.flow_counts(standard_analyses())
    lit = loaders.load_literature()
    for p in c["pools"]:
        reporting = lit[(lit["endpoint"] == p["endpoint"]) & (lit["horizon_years"] == p["horizon_years"])]
        inside = overlap.independent(reporting)
        # every series is in the pool, or does not report the landmark, or another of its overlap group stands in
        assert p["k"] + len(p["excluded"]) + len(reporting) - len(inside) == c["series"]
        assert p["k"] == len(inside) and p["n_patients"] == int(inside["n_patients"].sum())
    assert c["series"] == len(loaders.load_studies())


def test_table_shows_the_non_chordoma_series_under_each_rate():
    sof = summary.load_sof(standard_analyses())
    shown = sof[sof["population"] == "all"].reset_index(drop=True)
    page = summary.sof_html(shown, strata=sof)
    n_other = len(sof[sof["population"] == "non-chordoma"])
    assert page.count("other than chordoma:") == n_other
    assert "other than chordoma" not in summary.sof_html(shown)


def test_toxicity_counts_are_over_the_review_series():
    v = toxicity.pooling_values(toxicity.events())
    studies = loaders.load_studies()
    assert v["tox_n_review_series"] == len(studies)
    named = [x for x in v["tox_extracted"].split(", ") if x != "none"]
    assert len(named) == v["tox_n_extracted"]
    # every series is in the source papers' statements, among the extracted statements, or in neither
    assert len(studies) - v["tox_n_extracted"] - v["tox_n_in_sources"] <= v["tox_n_neither"]
    assert v["tox_n_neither"] <= len(studies) - max(v["tox_n_extracted"], v["tox_n_in_sources"])
    assert v["tox_n_particle_counted"] <= v["tox_n_in_sources"]


def test_intro_values_name_every_pooled_landmark():
    from sarcoma_review.data.vocabulary import ENDPOINT_NAMES
    from sarcoma_review.pages.methods import pooled_landmarks_text

    analyses = standard_analyses()
    v = summary.intro_values(analyses)
    assert v["intro_n_table_i_read"] <= v["intro_n_table_i"]
    assert v["intro_n_new"] == int((loaders.load_studies()["origin"] != "Table I").sum())
    for a in analyses:
        assert ENDPOINT_NAMES[a["endpoint"]] in v["intro_pooled_landmarks"]
    toy = [
        {"endpoint": "LC", "horizon_years": 5},
        {"endpoint": "OS", "horizon_years": 5},
        {"endpoint": "LC", "horizon_years": 3},
        {"endpoint": "OS", "horizon_years": 3},
        {"endpoint": "DFS", "horizon_years": 5},
        {"endpoint": "LC", "horizon_years": 5, "subgroup_column": "particle_group"},
    ]
    assert pooled_landmarks_text(toy) == (
        "local control and overall survival at 3 and 5 years and disease-free survival at 5 years"
    )
