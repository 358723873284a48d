"""The audit chapter's shaping: findings counted once, anchors, the collapsed and filterable table."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sarcoma_review.audit.records import COLUMNS
from sarcoma_review.pages import audit as page
from sarcoma_review.pages.render.tables import html_table


def _audit():
    rows = [
        ("cnao.km.LC.fu6", "cnao.km.LC", "finding", "cnao", "inconsistent"),
        ("cnao.km.LC.fu4", "cnao.km.LC", "exploration", "cnao", "inconsistent"),
        ("cnao.km.LC.fu6.without_event_max", "cnao.km.LC", "exploration", "cnao", "consistent"),
        ("cnao.table2.sex.male", "cnao.table2.sex.male", "finding", "cnao", "inconsistent"),
        ("cnao.table4.age.LC", "cnao.table4.age.LC", "finding", "cnao", "cannot check"),
        ("cnao.ok", "cnao.ok", "finding", "cnao", "consistent"),
        ("ifo.pt.x", "ifo.pt.x", "finding", "ifosfamide", "implausible"),
    ]
    return pd.DataFrame(
        [
            {
                "check_id": c,
                "finding_id": f,
                "role": r,
                "source": s,
                "location": "L",
                "quantity": "Q <b>",
                "reported": "1",
                "recomputed": "2",
                "verdict": v,
                "explanation": "why",
            }
            for c, f, r, s, v in rows
        ],
        columns=list(COLUMNS),
    )


def test_summary_counts_findings_not_rows():
    t = page.summary(_audit()).set_index("paper")
    cnao = t.loc[page.SOURCE_NAMES["cnao"]]
    # 3 rows about the LC conflict count once; 2 explorations are reported apart
    assert (cnao["inconsistent"], cnao["all findings"], cnao["rows exploring a finding"]) == (2, 4, 2)
    assert t.loc[page.SOURCE_NAMES["ifosfamide"], "implausible"] == 1


def test_findings_ordered_by_importance_with_stable_anchors():
    out = page.findings_html(_audit(), lambda f: "finding-" + f, lambda c: "audit-" + c)
    ids = re.findall(r'<li id="([^"]+)"', out)
    # survival first, then statistical tests, then who the patients were; consistent ones not listed
    assert ids == [
        "finding-cnao.km.LC",
        "finding-cnao.table4.age.LC",
        "finding-cnao.table2.sex.male",
        "finding-ifo.pt.x",
    ]
    assert "Q &lt;b&gt;" in out and "<b>" not in out
    assert "2 further rows explore it" in out
    assert out.index("Cuccia") < out.index("Eckert")


def test_checks_collapsed_by_source_and_filterable_by_verdict():
    out = page.checks_html(_audit(), lambda c: "audit-" + c, html_table)
    # one fold per paper (each row's identifiers fold into its own "more")
    assert out.count("<details>") - out.count("<summary>more</summary>") == 2
    assert 'id="audit-cnao.km.LC.fu4" data-verdict="inconsistent"' in out
    assert 'id="audit-cnao.ok" data-verdict="consistent"' in out
    for v in ("inconsistent", "implausible", "cannot-check", "consistent"):
        assert f'id="audit-v-{v}"' in out
        assert f'#audit-v-{v}:checked) tr[data-verdict]:not([data-verdict="{v}"])' in out
    assert "<script" not in out


def test_columns_doc_covers_every_column():
    doc = page.columns_doc()
    assert doc["column"].tolist() == list(COLUMNS) and (doc["what it holds"].str.len() > 10).all()


# ----------------------------------------------------------------------------- reconstructed curves


def _chart_rows(spec: dict, mark: str) -> list[dict]:
    """The inline rows of the first layer drawn with ``mark`` (the chart embeds its data as values)."""

    def walk(d):
        if isinstance(d, dict):
            yield d
            for v in d.values():
                yield from walk(v)
        elif isinstance(d, list):
            for v in d:
                yield from walk(v)

    for d in walk(spec):
        m = d.get("mark")
        if (m == mark or (isinstance(m, dict) and m.get("type") == mark)) and "data" in d:
            data = d["data"]
            return data["values"] if "values" in data else spec["datasets"][data["name"]]
    raise AssertionError(f"no {mark} layer")


def test_reconstruction_curve_stops_at_the_last_reported_time():
    """#19 item 7: a paper reporting rates at 12 and 24 months and a last event at 30 months says
    nothing about the curve after 30 months, so neither the curve, its band nor the numbers at risk
    go beyond 30, though the pseudo-patients are followed to 50 months. Numbers at risk by hand:
    times 3, 10, 20, 30, 40, 50 with events at 10 and 30; at 0: 6, at 12: 4, at 24: 3, at 30: 3."""
    from sarcoma_review.audit.feasibility import KMProblem

    problem = KMProblem(n=6, events=2, landmarks={12.0: "80", 24.0: "60"}, event_max=30.0, fu_max=50.0)
    assert page.last_reported_time(problem) == 30.0
    pseudo = pd.DataFrame({"time_months": [3, 10, 20, 30, 40, 50], "event": [0, 1, 0, 1, 0, 0]})
    spec = page.reconstruction_km(pseudo, problem, "LC").to_dict()
    for mark in ("line", "area"):
        assert max(r["time"] for r in _chart_rows(spec, mark)) == 30.0
    risk = _chart_rows(spec, "text")
    assert [(r["time"], r["n_at_risk"]) for r in risk] == [(0.0, 6), (12.0, 4), (24.0, 3), (30.0, 3)]
    assert "drawn to 30 months" in str(spec["title"])
    # without an event time the last landmark ends the drawing; with no time at all, one clear error
    assert page.last_reported_time(KMProblem(n=6, events=2, landmarks={12.0: "80", 36.0: "60"})) == 36.0
    with pytest.raises(ValueError, match="reports no time on this curve"):
        page.last_reported_time(KMProblem(n=6, events=2))


def test_the_chapters_reconstructed_curves_stop_at_the_last_reported_time():
    """#19 item 7 on the project data: each curve of the one pseudo-cohort, as the audit chapter draws
    it, ends at the last time the paper reports about that curve (its latest landmark, count of events
    by a time or latest event time, read here from the reported statements), although the invented
    patients are followed to the maximum follow-up."""
    from sarcoma_review.audit import reconstruct

    rec = reconstruct.joint_reconstruction()
    for ep, df in rec.frames.items():
        p = rec.reported[ep]
        last = max([*p.landmarks, *p.events_by, *([p.event_max] if p.event_max is not None else [])])
        assert df["time_months"].max() > last
        spec = page.reconstruction_km(df, p, ep).to_dict()
        for mark in ("line", "area"):
            assert max(r["time"] for r in _chart_rows(spec, mark)) == last, (ep, mark)
        assert max(r["time"] for r in _chart_rows(spec, "text")) == last


def test_the_one_cohort_text_and_table_come_from_the_reconstruction():
    """The chapter's words on the pseudo-cohort: its size, follow-up range, deaths and the median
    follow-up reading come from the files (recomputed here with numpy); the numbers at risk table
    counts time >= t in each file, and never shows more at risk for LC or DPFS than for OS."""
    from sarcoma_review.audit import reconstruct

    rec = reconstruct.joint_reconstruction()
    os_ = rec.frames["OS"]
    text = page.one_cohort_text(rec, reconstruct.follow_up_median_record(rec))
    assert f"The {len(os_)} invented patients are one cohort" in text
    assert f"from {os_['time_months'].min():g} to {os_['time_months'].max():g} months" in text
    assert f"of the {int(os_['event'].sum())} deaths" in text
    assert f"median of all {len(os_)} patients' follow-up times" in text
    assert f"that median is {np.median(os_['time_months']):g} months" in text
    t = page.at_risk_by_month(rec.frames, 36.0)
    assert t["months"].tolist() == [0, 6, 12, 18, 24, 30, 36]
    for row in t.itertuples(index=False):
        m = row[0]
        want = [int((rec.frames[ep]["time_months"] >= m).sum()) for ep in rec.frames]
        assert list(row[1:]) == want
    assert (t["Local control"] <= t["Overall survival"]).all()
    assert (t["Distant progression-free survival"] <= t["Overall survival"]).all()
