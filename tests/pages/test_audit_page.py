"""The audit chapter's shaping: findings counted once, anchors, the collapsed and filterable table."""

from __future__ import annotations

import re

import pandas as pd

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
    return pd.DataFrame([{"check_id": c, "finding_id": f, "role": r, "source": s, "location": "L", "quantity": "Q <b>",
                          "reported": "1", "recomputed": "2", "verdict": v, "explanation": "why"}
                         for c, f, r, s, v in rows], columns=list(COLUMNS))


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
    assert ids == ["finding-cnao.km.LC", "finding-cnao.table4.age.LC", "finding-cnao.table2.sex.male",
                   "finding-ifo.pt.x"]
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
