"""Audit checks on hand-made cases with known answers, then on the project data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import helpers
import numpy as np
import pytest

from sarcoma_review.audit import grim
from sarcoma_review.audit.feasibility import (
    KMProblem,
    check_feasibility,
    evaluate_statements,
    km_exact,
)
from sarcoma_review.audit.ipd import km_median, km_rmst
from sarcoma_review.audit.reconstruct import (
    cnao_problems,
    reconstruction_problems,
    validate_pseudo_ipd,
)


# --- GRIM ---------------------------------------------------------------------------------
def test_percent_only_truncation_explains():
    # 6/11 = 54.5454...%: half-up and half-even give 55, dropping digits gives 54.
    r = grim.check_percent("t", "s", "l", "q", 6, 11, "54")
    assert r.verdict == "consistent with rounding"
    assert "truncate only" in r.explanation
    assert grim.matching_modes(Fraction(600, 11), "55") == ["half-up", "half-even"]


def test_percent_no_rounding_explains():
    # 5/11 = 45.45% prints as 45 under every rule; 46% fits no k/11 (k=5 -> 45.45, k=6 -> 54.55).
    r = grim.check_percent("t", "s", "l", "q", 5, 11, "46")
    assert r.verdict == "inconsistent"
    assert grim.grim_numerators(11, "46") == []
    # 66% of 11 patients: 7/11 = 63.6, 8/11 = 72.7 -> impossible
    assert grim.check_percent("t", "s", "l", "q", None, 11, "66").verdict == "inconsistent"


def test_half_even_differs_from_half_up_on_ties():
    # 1/8 = 12.5%: half-up 13, half-even 12, truncation 12
    assert grim.matching_modes(Fraction(25, 2), "13") == ["half-up"]
    assert grim.matching_modes(Fraction(25, 2), "12") == ["half-even", "truncate"]


def test_restatement_and_sum():
    assert grim.check_restatement("t", "s", "l", "q", "77.2", "77", "a", "b").verdict == "consistent with rounding"
    assert grim.check_restatement("t", "s", "l", "q", "4", "6", "a", "b").verdict == "inconsistent"
    # 268.51 rounds half-up to 269: only truncation gives the printed 268
    assert "truncate" in grim.check_restatement("t", "s", "l", "q", "268.51", "268", "a", "b").explanation
    assert grim.check_sum("t", "s", "l", "q", [37, 17], 54).verdict == "consistent"
    assert grim.check_sum("t", "s", "l", "q", [8, 17], 24).verdict == "inconsistent"


def test_p_from_ci():
    # HR CI 1.1-14.95 excludes 1, so p must be < 0.05: p = 0.35 is a contradiction
    r = grim.check_p_from_ci("t", "s", "l", "q", "0.35", "1.1", "14.95")
    assert r.verdict == "inconsistent" and "no 95% confidence interval of any kind" in r.explanation
    # Age LC 0.10 (0.43-1.9): Wald p 0.75-0.83 over the printed precision; the paper does not say what
    # the intervals are, so the verdict is conditional: "cannot check", worded "if these are Wald ..."
    r = grim.check_p_from_ci("t", "s", "l", "q", "0.10", "0.43", "1.9")
    assert r.verdict == "cannot check"
    assert r.explanation == (
        "if these are Wald 95% intervals of hazard ratios, the printed p-value does not fit "
        "(it would be between 0.75 and 0.83); the paper does not say what the intervals are"
    )
    # Pre-RT chemotherapy OS 0.13 (0.73-9.7): Wald p 0.135-0.141; two digits would print "0.14 and 0.14"
    assert "between 0.135 and 0.141" in grim.check_p_from_ci("t", "s", "l", "q", "0.13", "0.73", "9.7").explanation
    r = grim.check_p_from_ci("t", "s", "l", "q", "0.06", "0.97", "2.97")
    assert r.verdict == "consistent with rounding" and r.explanation.startswith("if these are Wald 95% intervals")
    # Wald: log HR = (ln 2.9 + ln 65)/2, SE = (ln 65 - ln 2.9)/3.92 -> z = 3.29, p = 0.0010
    assert grim.wald_p_from_ci(2.9, 65) == pytest.approx(0.00098, abs=5e-5)


# --- KM feasibility -------------------------------------------------------------------------
def test_km_exact_matches_hand_value():
    # 5 patients: event 1, censor 2, event 3 (3 at risk), censor 4, 5: S(3) = 4/5 * 2/3 = 8/15
    assert km_exact([1, 2, 3, 4, 5], [1, 0, 1, 0, 0], 3) == Fraction(8, 15)


def test_infeasible_plateau_with_late_event():
    """S(24) and S(36) both print 50.0%, yet the last of 4 events (n=10) is at 30 months.

    Derivation: the event at 30 lies in (24, 36], so S(36) = S(24) * (1 - 1/r) with r <= 10
    at risk, i.e. S(36) <= 0.9 * S(24). With S(24) < 50.05%, S(36) < 45.05%, which cannot print
    as 50.0%. Dropping the latest-event statement restores feasibility.
    """
    p = KMProblem(n=10, events=4, landmarks={24: "50.0", 36: "50.0"}, event_max=30)
    res = check_feasibility(p)
    assert not res.feasible
    assert sorted(res.conflict) == ["event_max", "landmark@24", "landmark@36"]
    assert check_feasibility(p.without("event_max")).feasible


def test_infeasible_too_few_at_risk():
    """n=10, 1 event by 12 months, S(12) printed 95%: max S after one event is 9/10 = 90% < 94.5%."""
    p = KMProblem(n=10, events=3, landmarks={12: "95"}, events_by={12: 1})
    assert not check_feasibility(p).feasible


def test_last_patient_at_risk_may_fail_after_the_last_landmark():
    """n=4, 2 events, S(12) printed 50%, 1 event by 12 months: attainable, e.g. times
    1 (censored), 2 (censored), 6 (event), 20 (event).

    By hand: at 6 months 2 of 4 remain at risk (two censored earlier), so S(12) = 1/2 = 50%;
    exactly one event by 12. The second event, at 20, has r = 1 at risk: S drops to 0, but only
    after 12 months, where nothing is reported. Conversely S(12) = (r_1 - 1)/r_1 = 1/2 forces
    r_1 = 2, so the second event *must* have r_2 = 1: a search that excludes r = 1 would call
    these statements inconsistent, a false accusation.
    """
    p = KMProblem(n=4, events=2, landmarks={12: "50"}, events_by={12: 1})
    assert evaluate_statements(p, [1, 2, 6, 20], [0, 0, 1, 1]) == {
        "n": True,
        "events": True,
        "landmark@12": True,
        "events_by@12": True,
    }
    res = check_feasibility(p)
    assert res.feasible and not res.undecided
    assert res.witness.risk_sets == [2, 1]
    assert km_exact(res.witness.times, res.witness.events, 12) == Fraction(1, 2)
    # r = 1 before a landmark would make that S = 0, which no printed 50% allows: still infeasible
    assert not check_feasibility(
        KMProblem(n=4, events=2, landmarks={12: "50", 24: "50"}, events_by={12: 1, 24: 2})
    ).feasible


def test_unbuildable_witness_is_cannot_check_not_a_crash(monkeypatch):
    """If the solver's risk sets cannot be built into a dataset that passes the exact re-check
    (simulated by a builder that drops an event), the result is undecided, and the runner's row
    says "cannot check": neither a crash of the build nor a verdict either way."""
    from sarcoma_review.audit import feasibility as F
    from sarcoma_review.audit import runner

    def broken(problem, risk_sets, segments):
        w = real(problem, risk_sets, segments)
        w.events[w.events.index(1)] = 0
        return w

    real = F.build_witness
    monkeypatch.setattr(F, "build_witness", broken)
    helpers.set_context(monkeypatch, cache_dir=None)
    p = KMProblem(n=20, events=4, landmarks={12: "90.0", 24: "75.0"}, fu_min=6, fu_max=40)
    res = check_feasibility(p)
    assert not res.feasible and res.witness is None and res.conflict == []
    assert "breaks events" in res.undecided
    # on the CNAO data: DPFS and OS (feasible, so a witness is needed) become "cannot check";
    # LC's infeasibility needs no witness and keeps its verdict
    rows = {r.check_id: r for r in runner.feasibility_checks()}
    for cid in ("cnao.km.DPFS.fu6", "cnao.km.OS.fu6", "cnao.km.DPFS.fu4", "cnao.km.OS.fu4"):
        assert rows[cid].verdict == "cannot check", cid
        assert rows[cid].explanation.startswith("the search could not settle it"), cid
    assert rows["cnao.km.LC.fu6"].verdict == "inconsistent"
    assert rows["cnao.km.LC.fu6.without_event_max"].verdict == "cannot check"


def test_feasible_witness_recomputed():
    # n=20, 4 events, S(12) = 90.0% (e.g. 18/20 at full risk), S(24) = 75.0%: needs censoring.
    p = KMProblem(n=20, events=4, landmarks={12: "90.0", 24: "75.0"}, fu_min=6, fu_max=40)
    res = check_feasibility(p)
    assert res.feasible
    w = res.witness
    assert sum(w.events) == 4 and len(w.times) == 20
    # independent recomputation with exact fractions
    assert Fraction(8995, 100) <= km_exact(w.times, w.events, 12) * 100 < Fraction(9005, 100)
    assert Fraction(7495, 100) <= km_exact(w.times, w.events, 24) * 100 < Fraction(7505, 100)
    assert all(6 <= t <= 40 for t, e in zip(w.times, w.events) if not e)


# --- CNAO findings and reconstruction ----------------------------------------------------------
def test_cnao_lc_conflict():
    """Latest LC failure at 35 months lies in (24, 36], so S(36) <= S(24) * (1 - 1/54) < 66.3%."""
    res = check_feasibility(cnao_problems()["LC"])
    assert not res.feasible
    assert set(res.conflict) == {"landmark@24", "landmark@36", "event_max"}


@pytest.mark.parametrize("endpoint", ["LC", "DPFS", "OS"])
def test_reconstruction_tolerances(endpoint):
    """The pseudo-IPD checked with an independent Kaplan-Meier (lifelines, via
    sarcoma_review.stats.survival), not with the exact-fraction oracle the witness search uses.

    The issue's tolerances: event counts exact; KM within 1 percentage point of each HONOURED
    landmark (the reconstruction does better: inside the printed interval, up to 1e-9 pp of
    floating-point slack in lifelines' product); every event time inside each honoured range
    (earliest/latest event, follow-up range); the median follow-up, read as the median of all
    patients' follow-up times (the overall-survival times of the one cohort), equal to the reported
    median (the sidecar says it is honoured, and it is recomputed here with numpy).
    """
    from sarcoma_review.audit.runner import pseudo_ipd_records
    from sarcoma_review.stats import survival

    prob = reconstruction_problems()[endpoint]
    reported = cnao_problems()[endpoint]
    recs = pseudo_ipd_records()
    df, record = recs[endpoint]
    t, e = df["time_months"].to_numpy(float), df["event"].to_numpy(int)
    assert len(df) == prob.n and int(e.sum()) == prob.events == reported.events
    marks = sorted(prob.active_landmarks())
    lm = survival.landmarks(t, e, marks).set_index("time")
    for m in marks:
        lo, hi = grim.printed_interval(prob.landmarks[m])
        got = 100 * float(lm.loc[m, "surv"])
        assert float(lo) - 1e-9 <= got < float(hi) + 1e-9, (m, prob.landmarks[m], got)
        assert abs(got - float(prob.landmarks[m])) <= 1.0
    ev = t[e == 1]
    if prob.active("event_min"):
        assert ev.min() == prob.event_min
    if prob.active("event_max"):
        assert ev.max() == prob.event_max
    for t_by, m in prob.active_events_by().items():
        assert (ev <= t_by).sum() == m
    assert (t[e == 0] >= prob.fu_min).all() and t.max() <= prob.fu_max and ev.min() > 0
    follow_up = recs["OS"][0]["time_months"].to_numpy(float)
    assert record["follow_up_median"]["honoured"]
    assert float(np.median(follow_up)) == reported.fu_median
    assert all(validate_pseudo_ipd(df, prob).values())
    # the sidecar names every reported statement, honoured or dropped with a reason
    names = {s["statement"]: s for s in record["statements"]}
    assert set(names) == set(reported.statements())
    for s_ in names.values():
        assert s_["honoured"] == (s_["statement"] in prob.statements())
        assert s_["honoured"] or s_["why_dropped"]


def test_drops_follow_the_priority_order():
    """Hand case: S(24) = S(36) = 80.0% with the latest of 3 events at 30 months (n = 10). An event
    in (24, 36] multiplies S by <= 9/10, so the three cannot hold together. The event-time range
    outranks the landmarks, so one landmark goes: the later one (36 months)."""
    from sarcoma_review.audit.reconstruct import choose_drops

    p = KMProblem(n=10, events=3, landmarks={24: "80.0", 36: "80.0"}, event_max=30, fu_min=6, fu_max=40)
    assert choose_drops(p) == ("landmark@36",)
    assert choose_drops(p.without("event_max")) == ()


# --- ifosfamide helpers on Table 3 (hand-computed) ---------------------------------------------
LC_T = [72, 9, 124, 106, 21, 1, 6, 26, 13, 5, 4]
LC_E = [0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]
OS_T = [72, 9, 124, 106, 30, 1, 10, 26, 13, 5, 4]
OS_E = [0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1]


def test_ifosfamide_hand_values():
    # LC: 8 at risk at 6 months, 5 at 21 -> 7/8 * 4/5 = 0.70
    assert km_exact(LC_T, LC_E, 60) == Fraction(7, 10)
    # area: 6*1 + 15*0.875 + 103*0.7 = 91.225
    assert km_rmst(LC_T, LC_E, 124) == pytest.approx(91.225)
    # OS: no censoring before 72 -> 5/11 after the 6th death at 13 months
    assert km_median(OS_T, OS_E) == 13
    assert km_exact(OS_T, OS_E, 60) == Fraction(3, 11)


def test_audit_runs_on_project_data():
    from sarcoma_review.audit.records import VERDICTS
    from sarcoma_review.audit.runner import run_audit

    df = run_audit()
    assert set(df["verdict"]) <= set(VERDICTS) and set(df["role"]) <= {"finding", "exploration"}
    # one finding per conflict: every finding_id has exactly one row stating it
    assert (df[df["role"] == "finding"].groupby("finding_id").size() == 1).all()
    assert set(df.loc[df["role"] == "exploration", "finding_id"]) <= set(df.loc[df["role"] == "finding", "finding_id"])
    bad = set(df.loc[df["verdict"] == "inconsistent", "check_id"])
    for cid in (
        "cnao.surgery_percent_abstract",
        "cnao.follow_up.range_low",
        "cnao.km.LC.fu6",
        "ifo.table1.initial_tumor_size.>10 cm",
        "ifo.ipd.os_median",
        "ifo.ipd.os_5y",
        "ifo.distant_metastases_percent",
        "ifo.ipd.size_gt10_initial",
    ):
        assert cid in bad, cid
    assert "cnao.km.OS.fu6" not in bad and "cnao.km.DPFS.fu6" not in bad


def test_audit_reads_the_data_so_a_changed_landmark_changes_its_rows(tmp_path, monkeypatch):
    """In a copy of data/, the Results' 3-year OS "64" becomes "70.0".

    Expected by hand: the Abstract still prints 64, i.e. [63.5, 64.5), which cannot meet
    [69.95, 70.05), so the Abstract-vs-Results row turns inconsistent (it is consistent on the real
    data); the KM feasibility row states S(36 mo) = 70.0% (printed precision kept: "70.0", not "70");
    and every file the audit read is recorded, from the copy named by the build context.
    """
    import shutil

    import pandas as pd

    from sarcoma_review.audit.runner import run_audit
    from sarcoma_review.paths import data_dir

    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    path = copy / "cnao" / "landmark_rates.csv"
    lm = pd.read_csv(path, dtype=str, keep_default_na=False)
    hit = (lm["endpoint"] == "OS") & (lm["horizon_years"] == "3") & (lm["location"] == "results")
    assert lm.loc[hit, "rate_percent"].tolist() == ["64"]
    lm.loc[hit, "rate_percent"] = "70.0"
    lm.to_csv(path, index=False)

    assert cnao_problems(data_dir=copy)["OS"].landmarks == {12: "87.1", 24: "75.4", 36: "70.0"}
    log = tmp_path / "reads.log"
    helpers.set_context(monkeypatch, data_dir=copy, reads_log=log)
    df = run_audit().set_index("check_id")
    row = df.loc["cnao.OS.3y.abstract_vs_results"]
    assert (row["reported"], row["recomputed"], row["verdict"]) == ("Abstract: 64", "Results: 70.0", "inconsistent")
    assert "S(36 mo) = 70.0%" in df.loc["cnao.km.OS.fu6", "reported"]
    from sarcoma_review.data.tracking import reads_from_log

    reads = {str(p) for p in reads_from_log(log)}
    for table in ("landmark_rates", "facts", "characteristics", "cox"):
        assert str((copy / "cnao" / f"{table}.csv").resolve()) in reads
    assert all(p.startswith(str(copy.resolve())) for p in reads), reads


def test_audit_rows_on_real_data_for_the_changed_landmark():
    """The counterpart on the real data: Abstract and Results both print 64 (same printed value)."""
    from sarcoma_review.audit.runner import cnao_checks
    from sarcoma_review.paths import data_dir

    rows = {r.check_id: r for r in cnao_checks(data_dir())}
    assert rows["cnao.OS.3y.abstract_vs_results"].verdict == "consistent"
    assert cnao_problems()["OS"].landmarks == {12: "87.1", 24: "75.4", 36: "64"}


def test_links_point_failed_checks_to_their_audit_rows():
    import pandas as pd

    from sarcoma_review.audit import links
    from sarcoma_review.audit.runner import anchor_id

    rows = [
        ("cnao.a", "cnao.a", "finding", "cnao", "inconsistent"),
        ("cnao.b", "cnao.b", "finding", "cnao", "consistent"),
        ("cnao.a.x", "cnao.a", "exploration", "cnao", "inconsistent"),
        ("cnao.c", "cnao.c", "finding", "cnao", "implausible"),
        (
            "ifo.table1.initial_tumor_size.>10 cm",
            "ifo.table1.initial_tumor_size.>10 cm",
            "finding",
            "ifosfamide",
            "inconsistent",
        ),
    ]
    audit = pd.DataFrame(
        [
            {
                "check_id": c,
                "finding_id": f,
                "role": r,
                "source": s,
                "location": "",
                "quantity": "",
                "reported": "",
                "recomputed": "",
                "verdict": v,
                "explanation": "",
            }
            for c, f, r, s, v in rows
        ]
    )
    got = links("cnao", audit=audit)
    # the exploration of cnao.a is not listed again; the implausible finding is
    assert got["check_id"].tolist() == ["cnao.a", "cnao.c"]
    assert got["href"].tolist() == ["audit.html#finding-cnao.a", "audit.html#finding-cnao.c"]
    # spaces and '>' cannot stand in an HTML id: they become '-'
    assert links("ifosfamide", audit=audit)["href"].tolist() == [
        "audit.html#finding-ifo.table1.initial_tumor_size.-10-cm"
    ]
    assert anchor_id("x y") == "audit-x-y"
    with pytest.raises(ValueError, match="source must be"):
        links("other", audit=audit)


def test_plain_reason_for_flat_interval_with_an_event():
    """Hand case: S(12) = S(24) = 70.0% but the latest event is at 18 months. With n = 10 an event at
    18 months multiplies S by at most 9/10, so S(24) <= 70.05 * 0.9 = 63.045% < 69.95%."""
    from sarcoma_review.audit.feasibility import KMProblem, check_feasibility

    prob = KMProblem(n=10, events=3, landmarks={12.0: "70.0", 24.0: "70.0"}, event_max=18.0)
    res = check_feasibility(prob)
    assert not res.feasible
    reason = prob.plain_reason(list(res.conflict))
    assert "printed as 70.0% at both 12 and 24 months" in reason
    assert "factor 9/10" in reason and "at most 63.05%" in reason and "below the 69.95%" in reason
    # a conflict of another shape gets no canned sentence
    assert prob.plain_reason(["landmark@12"]) is None


def test_feasibility_memo_returns_the_solver_answer(tmp_path, monkeypatch):
    """With the memo folder set, a second solve of the same problem comes from disk, unchanged;
    a problem that differs in one printed value is solved afresh (the deletion filter of the first
    solve already stored the sub-problems without each statement, so a value change is the test)."""
    from sarcoma_review.audit import feasibility as F

    helpers.set_context(monkeypatch, cache_dir=tmp_path)
    prob = F.KMProblem(n=10, events=3, landmarks={12.0: "70.0", 24.0: "70.0"}, event_max=18.0)
    first = F.check_feasibility(prob)
    assert list((tmp_path / F.MEMO_CACHE).glob("*.json"))

    def boom(*a, **k):
        raise AssertionError("solver called despite a stored answer")

    monkeypatch.setattr(F, "_solve_risk_sets_uncached", boom)
    again = F.check_feasibility(prob)
    assert again.feasible == first.feasible and again.conflict == first.conflict
    with pytest.raises(AssertionError, match="solver called"):
        F.check_feasibility(F.KMProblem(n=10, events=3, landmarks={12.0: "70.0", 24.0: "60.0"}, event_max=18.0))


def test_feasibility_memo_key_covers_grim_and_scipy(tmp_path, monkeypatch):
    """The memo key changes when grim.py's text (printed_interval) or the SciPy version changes."""
    import scipy

    from sarcoma_review.audit import feasibility as F

    helpers.set_context(monkeypatch, cache_dir=tmp_path)
    prob = F.KMProblem(n=10, events=3, landmarks={12.0: "70.0"})
    base = F._memo_path(prob, 60.0, False)
    fake_grim = tmp_path / "grim.py"
    fake_grim.write_bytes(Path(F._grim.__file__).read_bytes() + b"# changed")
    monkeypatch.setattr(F, "_MEMO_SOURCES", (F.__file__, str(fake_grim)))
    assert F._memo_path(prob, 60.0, False) != base
    monkeypatch.setattr(F, "_MEMO_SOURCES", (F.__file__, F._grim.__file__))
    assert F._memo_path(prob, 60.0, False) == base
    monkeypatch.setattr(scipy, "__version__", "0.0.0")
    assert F._memo_path(prob, 60.0, False) != base


def test_links_for_one_paper_read_only_that_papers_data(tmp_path, monkeypatch):
    from sarcoma_review.audit import runner

    log = tmp_path / "reads.log"
    helpers.set_context(monkeypatch, reads_log=log)
    flagged = runner.links("ifosfamide")
    assert len(flagged) > 0 and set(flagged["source"]) == {"ifosfamide"}
    read = log.read_text()
    # toxicity/events (the text statements about patients) has foreign keys into appraisal/sources,
    # which reads the literature tables; the CNAO tables are never read
    assert "/ifosfamide/" in read and "/toxicity/" in read and "/cnao/" not in read


def _data_copy(tmp_path):
    import shutil

    from sarcoma_review.paths import data_dir

    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    return copy


def test_ifosfamide_checks_read_reported_values_from_the_data(tmp_path):
    """In a copy of data/, the reported median OS (Results) becomes 13 months instead of 26.

    By hand from Table 3: no censoring before 72 months, so S falls to 5/11 <= 0.5 at the 6th
    death, 13 months: the recomputed median is 13. With "13" printed the row must report 13 and
    turn consistent (it is inconsistent with the printed 26), and its explanation no longer
    names 26.
    """
    import pandas as pd

    from sarcoma_review.audit.runner import ifosfamide_checks
    from sarcoma_review.paths import data_dir

    real = {r.check_id: r for r in ifosfamide_checks(data_dir())}["ifo.ipd.os_median"]
    assert (real.reported, real.recomputed, real.verdict) == ("26", "13", "inconsistent")
    assert "26 months is death number 7 of 8" in real.explanation

    copy = _data_copy(tmp_path)
    path = copy / "ifosfamide" / "reported_estimates.csv"
    est = pd.read_csv(path, dtype=str, keep_default_na=False)
    est.loc[est["estimate_id"] == "os_median_results", "value"] = "13"
    est.to_csv(path, index=False)
    row = {r.check_id: r for r in ifosfamide_checks(copy)}["ifo.ipd.os_median"]
    assert (row.reported, row.recomputed, row.verdict) == ("13", "13", "consistent")
    assert "26" not in row.explanation


def test_ifosfamide_checks_name_the_file_of_a_missing_estimate(tmp_path):
    import pandas as pd

    from sarcoma_review.audit.runner import ifosfamide_checks

    copy = _data_copy(tmp_path)
    path = copy / "ifosfamide" / "reported_estimates.csv"
    est = pd.read_csv(path, dtype=str, keep_default_na=False)
    est[est["estimate_id"] != "lc_plateau"].to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"reported_estimates\.csv has no estimate_id 'lc_plateau'"):
        ifosfamide_checks(copy)


def test_missing_cnao_fact_names_the_file():
    import pandas as pd

    from sarcoma_review.audit.runner import _fact

    with pytest.raises(ValueError, match=r"data/cnao/facts\.csv has no fact_id 'nope'"):
        _fact(pd.DataFrame({"fact_id": ["a"], "value": ["1"]}), "nope")


def test_dropped_reason_is_built_from_the_reported_values():
    """LC: latest failure at 35 months lies between the 24- and 36-month landmarks, both 67.4%; the
    event-time range outranks the landmarks, so the 36-month landmark is dropped."""
    from sarcoma_review.audit.reconstruct import drop_reason, dropped_reasons

    assert dropped_reasons()["LC"] == {
        "landmark@36": "S(36 mo) = 67.4% cannot hold together with S(24 mo) = 67.4%; latest event at 35 mo; "
        "of these it has the lowest priority (landmark)"
    }
    # n = 10, 3 events all by 18 months (the latest at 18): S(24) <= 9/10 * 8/9 * 7/8 = 70%, so a
    # printed 80.0% at 24 months conflicts with the latest event time alone
    p = KMProblem(n=10, events=3, landmarks={12: "80.0", 24: "80.0"}, event_max=18)
    assert drop_reason(p, "landmark@24") == (
        "S(24 mo) = 80.0% cannot hold together with latest event at 18 mo; "
        "of these it has the lowest priority (landmark)"
    )


# --- reconstructions side by side (#19 item 7) ----------------------------------------------
def test_cohort_check_by_hand():
    """Hand-made files: OS reported to 24 months, LC to 36 (a landmark), so the check reads 36.
    At risk at 36 (time >= 36): LC 2 (36, 40), DPFS 3 (36, 50, 60), OS 2 (40, 50). DPFS 3 > OS 2
    cannot be one cohort (a patient at risk for DPFS is alive). The check reads every month: DPFS first
    has more at risk than OS at 11 months (DPFS 4: 30, 36, 50, 60; OS 3: 20, 40, 50). LC never has more
    than OS (at 11-20: 3 against 3; at 21-36: 2 against 2)."""
    import pandas as pd

    from sarcoma_review.audit.reconstruct import cohort_check, last_reported_time

    problems = {
        "LC": KMProblem(n=5, events=1, landmarks={12.0: "80", 36.0: "80"}),
        "DPFS": KMProblem(n=5, events=1, landmarks={12.0: "80"}, event_max=30.0),
        "OS": KMProblem(n=5, events=1, landmarks={24.0: "80"}),
    }
    assert [last_reported_time(p) for p in problems.values()] == [36.0, 30.0, 24.0]
    frames = {
        "LC": pd.DataFrame({"time_months": [5, 10, 20, 36, 40]}),
        "DPFS": pd.DataFrame({"time_months": [5, 30, 36, 50, 60]}),
        "OS": pd.DataFrame({"time_months": [5, 10, 20, 40, 50]}),
    }
    c = cohort_check(frames, problems)
    assert c["last_reported_month"] == 36.0 and c["at_risk"] == {"LC": 2, "DPFS": 3, "OS": 2}
    assert c["violations"] == {"DPFS": 11.0} and not c["one_cohort"]
    assert "at 36 months" in c["sentence"] and "impossible" in c["sentence"]
    frames["DPFS"] = frames["OS"]
    assert cohort_check(frames, problems)["one_cohort"]


def test_pseudo_ipd_sidecars_say_whether_the_files_are_one_cohort():
    """On the project data (any valid reconstruction): every sidecar carries the same cohort check,
    whose counts are the files' own numbers at risk at the last time the paper reports."""
    from sarcoma_review.audit.reconstruct import last_reported_time
    from sarcoma_review.audit.runner import pseudo_ipd_records

    recs = pseudo_ipd_records()
    checks = [r["one_cohort"] for _, r in recs.values()]
    assert all(c == checks[0] for c in checks)
    last = max(last_reported_time(p) for p in cnao_problems().values())
    assert checks[0]["last_reported_month"] == last
    for ep, (df, _) in recs.items():
        assert checks[0]["at_risk"][ep] == int((df["time_months"] >= last).sum())
    assert checks[0]["one_cohort"] == all(checks[0]["at_risk"][ep] <= checks[0]["at_risk"]["OS"] for ep in recs)
