"""Findings, plausibility, self-comparisons, patient-level pairs, and the pinned verdict table.

The pinned table (``verdicts.csv`` beside this file) holds the verdict of every audit row on a
FROZEN copy of the audited data (``frozen_data/``: the cnao, ifosfamide, literature, toxicity and
appraisal tables as they were when the table was reviewed), with a one-line derivation, worked by
hand or by plain arithmetic, for every row that is not ``consistent``. A change of verdict, or a new
or vanished row, fails :func:`test_pinned_verdicts`; a study added to ``data/`` does not.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sarcoma_review.audit.feasibility import KMProblem, max_events_by, plausibility
from sarcoma_review.audit.records import CheckResult

HERE = Path(__file__).parent
FROZEN = HERE / "frozen_data"


@pytest.fixture(scope="module")
def frozen_audit():
    from sarcoma_review.audit.runner import run_audit

    return run_audit(FROZEN)


def test_pinned_verdicts(frozen_audit):
    pinned = pd.read_csv(HERE / "verdicts.csv", dtype=str, keep_default_na=False)
    assert (pinned.loc[pinned["verdict"] != "consistent", "derivation"].str.len() > 0).all(), (
        "every row that is not consistent needs a one-line derivation"
    )
    got = frozen_audit[["check_id", "finding_id", "role", "verdict"]]
    merged = pinned.merge(got, on="check_id", how="outer", suffixes=("_pinned", "_now"), indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"rows added or gone (review and re-pin verdicts.csv):\n{missing[['check_id', '_merge']]}"
    for col in ("verdict", "finding_id", "role"):
        diff = merged[merged[f"{col}_pinned"] != merged[f"{col}_now"]]
        assert diff.empty, f"{col} changed:\n{diff[['check_id', f'{col}_pinned', f'{col}_now']].to_string()}"


def test_one_row_per_finding_and_explorations_point_to_it(frozen_audit):
    df = frozen_audit
    findings = df[df["role"] == "finding"]
    assert findings["finding_id"].is_unique
    assert set(df.loc[df["role"] == "exploration", "finding_id"]) <= set(findings["finding_id"])
    # the KM conflict of local control is ONE finding, whatever reading and whichever statement dropped
    lc = df[df["finding_id"] == "cnao.km.LC"]
    assert (lc["role"] == "finding").sum() == 1 and len(lc) > 1


def test_no_self_comparison(frozen_audit):
    """Table I has no DPFS column: no Table I vs Discussion row for DPFS (it compared the Discussion
    value with itself). The present study's row is compared once (Results vs Table I)."""
    ids = set(frozen_audit["check_id"])
    assert not [c for c in ids if c.startswith("cnao.table1_vs_text.") and c.endswith(".DPFS")]
    assert not [c for c in ids if c.startswith("cnao.table1_vs_text.cuccia2020")]
    assert {"cnao.table1_vs_text.imai2016.LC", "cnao.table1_vs_text.imai2018.OS", "cnao.table1.present.LC"} <= ids


def test_check_result_roles():
    r = CheckResult("a.b", "cnao", "l", "q", "1", "2", "implausible", "why")
    assert r.finding_id == "a.b" and r.role == "finding"
    e = r.explores("a")
    assert (e.finding_id, e.role, e.check_id) == ("a", "exploration", "a.b")
    with pytest.raises(ValueError, match="role"):
        CheckResult("a", "cnao", "l", "q", "1", "2", "consistent", "w", role="other")


# --- plausibility, on hand cases ----------------------------------------------------------------
def test_max_events_by_hand():
    """n = 10, S(12) printed 90.0%: (r-1)/r in [0.8995, 0.9005) only for r = 10 with one event, and two
    events give at most 8/10 = 0.8: so at most (and exactly) 1 event by 12 months."""
    p = KMProblem(n=10, events=4, landmarks={12: "90.0"}, fu_max=40)
    assert max_events_by(p, 12) == 1


def test_implausible_when_most_events_come_after_the_last_landmark():
    """n = 10, 4 events, S(12) = 90.0% -> at most 1 event by 12 months (above), so >= 3 of 4 after 12.
    Median follow-up 10 <= 12: at most 5 patients can be followed after 12. 3 > 4/2: implausible.
    Numbers: a = 5, k = 3 late events, factor (5-3)/5 = 0.4; rate after >= -ln(0.4)/(40-12) = 0.0327/mo,
    before <= -ln(0.8995)/12 = 0.00883/mo: ratio >= 3.71."""
    p = KMProblem(n=10, events=4, landmarks={12: "90.0"}, fu_max=40, fu_median=10)
    pl = plausibility(p)
    assert pl.implausible and (pl.max_events_by, pl.late_events, pl.followed_max) == (1, 3, 5)
    assert pl.rate_ratio == pytest.approx(3.71, abs=0.01)
    assert "at least 3 of the 4 events must fall after 12 months" in pl.sentence()
    # median follow-up beyond the landmark: the rule does not apply
    assert plausibility(KMProblem(n=10, events=4, landmarks={12: "90.0"}, fu_max=40, fu_median=20)) is None
    # half the events late is not "most": 2 events, S(12) = 90.0% -> 1 by 12, 1 after: plausible
    assert not plausibility(KMProblem(n=10, events=2, landmarks={12: "90.0"}, fu_max=40, fu_median=10)).implausible


def test_cnao_dpfs_is_implausible_not_consistent(frozen_audit):
    row = frozen_audit.set_index("check_id").loc["cnao.km.DPFS.fu6"]
    assert row["verdict"] == "implausible"
    assert "at least 9 of the 12 events must fall after 36 months" in row["explanation"]


# --- text against Table 3, patient by patient ------------------------------------------------------
def test_cycle_withheld_pairs(frozen_audit):
    """By hand from Table 3: totals below 10 g/m2 (the lowest intended dose) are rows 1 (7.5),
    4 (5) and 6 (7.5): three, as the text says. Rows 6 ('Death during therapy') and 4 ('Interruption')
    are the two patients the text names; the third reduced row (1) lists skin toxicity, while both
    leucopenia rows (5: 10 g/m2, 10: 15 g/m2) received full doses - the text's reason does not fit."""
    r = frozen_audit.set_index("check_id")
    assert r.loc["ifo.pt.cycle_withheld.count", "verdict"] == "consistent"
    assert "row 1, row 4 and row 6" in r.loc["ifo.pt.cycle_withheld.count", "recomputed"]
    assert r.loc["ifo.pt.cycle_withheld.death", "verdict"] == "consistent"
    assert r.loc["ifo.pt.cycle_withheld.delay", "verdict"] == "consistent"
    assert r.loc["ifo.pt.cycle_withheld.leucopenia", "verdict"] == "inconsistent"
    assert r.loc["ifo.pt.local_relapse.time_dose", "verdict"] == "consistent"


def test_patient_pair_turns_consistent_when_table3_agrees(tmp_path):
    """In a copy of the frozen data, row 1's toxicity becomes 'Leucopenia °III': then a leucopenia
    patient lost a cycle and the pair is consistent."""
    import shutil

    from sarcoma_review.audit.runner import ifosfamide_checks

    copy = tmp_path / "data"
    shutil.copytree(FROZEN, copy)
    path = copy / "ifosfamide" / "patients.csv"
    pts = pd.read_csv(path, dtype=str, keep_default_na=False)
    pts.loc[pts["patient_id"] == "1", "toxicity"] = "Leucopenia °III"
    pts.to_csv(path, index=False)
    rows = {r.check_id: r for r in ifosfamide_checks(copy)}
    assert rows["ifo.pt.cycle_withheld.leucopenia"].verdict == "consistent"


def test_size_statement_with_two_readings(frozen_audit):
    """'The patients still at risk after 2 years all had tumours smaller than 10 cm': Table 3 rows
    with LC beyond 24 months are 1 (8 cm), 3 (9), 4 (8) and 8 (15 cm initially, 4 cm before RT).
    True only if the size before radiotherapy is meant: the finding is consistent and names the
    reading; the two readings are explorations of it (the initial-size one inconsistent)."""
    r = frozen_audit.set_index("check_id")
    assert r.loc["ifo.pt.at_risk_2y.size", ["role", "verdict"]].tolist() == ["finding", "consistent"]
    assert "by the diameter before radiotherapy only" in r.loc["ifo.pt.at_risk_2y.size", "explanation"]
    assert r.loc["ifo.pt.at_risk_2y.size.initial", ["role", "finding_id", "verdict"]].tolist() == [
        "exploration",
        "ifo.pt.at_risk_2y.size",
        "inconsistent",
    ]
    assert r.loc["ifo.pt.at_risk_2y.size.before_rt", "verdict"] == "consistent"
    # both local failures were over 10 cm by either size (13 and 11 cm): no exploration needed
    assert r.loc["ifo.pt.local_failure.size", "verdict"] == "consistent"
    assert "ifo.pt.local_failure.size.initial" not in r.index


def test_links_computed_alone_equal_links_from_the_whole_audit(frozen_audit):
    """A study chapter computes its failed findings without the explorations (fewer solver calls):
    the same findings, verdicts and links as the whole audit gives."""
    from sarcoma_review.audit.runner import links

    for source in ("cnao", "ifosfamide"):
        alone = links(source, data_dir=FROZEN)
        whole = links(source, audit=frozen_audit)
        assert len(whole) > 0
        pd.testing.assert_frame_equal(alone, whole)
