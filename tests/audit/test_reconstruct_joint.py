"""#19 item 7: the CNAO pseudo-patient files are one cohort.

Every check here recomputes from the published files themselves (patient by patient with numpy, the
Kaplan-Meier estimates with lifelines), never with the reconstruction's own evaluator: the same
patients in every file, one follow-up time per patient, no local failure or distant progression after
it, numbers at risk coherent at every month, and every statement the sidecars call honoured met.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sarcoma_review.audit import grim, reconstruct
from sarcoma_review.audit.feasibility import KMProblem


@pytest.fixture(scope="module")
def records():
    from sarcoma_review.audit.runner import pseudo_ipd_records

    return pseudo_ipd_records()


def _frames(records) -> dict[str, pd.DataFrame]:
    return {ep: df.set_index("patient_id").sort_index() for ep, (df, _) in records.items()}


def test_the_files_are_one_cohort_patient_by_patient(records):
    f = _frames(records)
    assert set(f) == {"LC", "DPFS", "OS"}
    os_ = f["OS"]
    n = reconstruct.cnao_problems()["OS"].n
    assert list(os_.index) == list(range(1, n + 1))
    for ep in ("LC", "DPFS"):
        d = f[ep]
        assert list(d.index) == list(os_.index)  # the same patients
        # each patient's time ends no later than the end of follow-up (death ends follow-up) ...
        assert (d["time_months"] <= os_["time_months"]).all(), ep
        # ... and a patient without the event is censored exactly there: one censoring shared by all files
        cens = d["event"] == 0
        assert (d.loc[cens, "time_months"] == os_.loc[cens, "time_months"]).all(), ep
        # a patient whose event lies before the end of follow-up was followed past it
        assert (d.loc[~cens, "time_months"] > 0).all()


def test_numbers_at_risk_are_coherent_at_every_month(records):
    """At every whole month up to the longest follow-up, no more patients are at risk (time >= t) for
    local control or DPFS than for overall survival: they are a subset, alive and free of the event."""
    f = _frames(records)
    end = int(math.ceil(f["OS"]["time_months"].max()))
    for t in range(end + 1):
        at = {ep: int((df["time_months"].to_numpy() >= t).sum()) for ep, df in f.items()}
        assert at["LC"] <= at["OS"] and at["DPFS"] <= at["OS"], (t, at)


def test_the_old_failure_cannot_happen(records):
    """The issue measured 24 patients at risk for DPFS at 36 months against 8 for overall survival.
    cohort_check names such files as not one cohort; the published files pass it, at 36 months and at
    every month before."""
    months = np.arange(0, 37)
    os_t = np.array([5.0] * 46 + [40.0] * 8)
    dpfs_t = np.array([5.0] * 30 + [40.0] * 24)
    ids = np.arange(1, 55)
    bad = {
        "OS": pd.DataFrame({"patient_id": ids, "time_months": os_t, "event": 0}),
        "DPFS": pd.DataFrame({"patient_id": ids, "time_months": dpfs_t, "event": 0}),
    }
    problems = reconstruct.cnao_problems()
    c = reconstruct.cohort_check(bad, problems)
    assert c["at_risk"] == {"OS": 8, "DPFS": 24} and not c["one_cohort"] and "DPFS" in c["violations"]
    assert "not one cohort" in c["sentence"]
    good = records["OS"][1]["one_cohort"]
    assert good["one_cohort"] and good["violations"] == {}
    f = _frames(records)
    for t in months:
        assert (f["DPFS"]["time_months"] >= t).sum() <= (f["OS"]["time_months"] >= t).sum()
    assert good["at_risk"]["DPFS"] == int((f["DPFS"]["time_months"] >= 36).sum())


def test_cohort_check_reads_patients_not_only_counts():
    """Coherent counts, yet patient 1's local-control time (30) lies after his follow-up ends (10)
    while patient 2's (10) ends before his (30): the counts match, the patients do not."""
    ids = [1, 2]
    frames = {
        "OS": pd.DataFrame({"patient_id": ids, "time_months": [10.0, 30.0], "event": [1, 0]}),
        "LC": pd.DataFrame({"patient_id": ids, "time_months": [30.0, 10.0], "event": [0, 1]}),
    }
    problems = {"OS": KMProblem(n=2, events=1, landmarks={12.0: "50"})}
    c = reconstruct.cohort_check(frames, problems)
    assert not c["one_cohort"] and "LC" in c["violations"]


def _km(t, e, at):
    from lifelines import KaplanMeierFitter

    return float(KaplanMeierFitter().fit(t, e).survival_function_at_times([at]).iloc[0])


def test_every_honoured_statement_is_met_recomputed(records):
    """Each statement a sidecar calls honoured, recomputed from the file: landmarks with lifelines
    inside the printed interval (1e-9 pp of floating-point slack), event counts, event-time range and
    median with numpy, the follow-up range and median on the shared follow-up times (the OS file)."""
    f = _frames(records)
    fu = f["OS"]["time_months"].to_numpy(float)
    reported = reconstruct.cnao_problems()
    seen = set()
    for ep, (_, rec) in records.items():
        t, e = f[ep]["time_months"].to_numpy(float), f[ep]["event"].to_numpy(int)
        p = reported[ep]
        assert int(e.sum()) == p.events and len(t) == p.n
        ev = np.sort(t[e == 1])
        for s in rec["statements"]:
            assert s["honoured"] or s["why_dropped"], s
            if not s["honoured"]:
                continue
            name = s["statement"]
            seen.add(name.split("@")[0])
            if name.startswith("landmark@"):
                at = float(name.split("@")[1])
                lo, hi = grim.printed_interval(p.landmarks[at])
                got = 100 * _km(t, e, at)
                assert float(lo) - 1e-9 <= got < float(hi) + 1e-9, (ep, name, got)
            elif name.startswith("events_by@"):
                at = float(name.split("@")[1])
                assert int((ev <= at).sum()) == p.events_by[at]
            elif name == "event_min":
                assert ev[0] == p.event_min
            elif name == "event_max":
                assert ev[-1] == p.event_max
            elif name == "event_median":
                assert float(np.median(ev)) == p.event_median
            elif name == "fu_min":
                assert fu.min() == p.fu_min and (t[e == 0] >= p.fu_min).all()
            elif name == "fu_max":
                assert fu.max() == p.fu_max and t.max() == p.fu_max
            elif name == "fu_median":
                assert float(np.median(fu)) == p.fu_median
            else:
                raise AssertionError(f"statement {name} has no recomputation here")
    assert {"landmark", "events_by", "event_min", "event_max", "event_median", "fu_min", "fu_max", "fu_median"} <= seen


def test_deaths_after_progression_are_as_many_as_the_paper_says(records):
    """'Among these 15 patients, 6 died by disease progression': at least that many patients die
    after (or at) a local failure or a distant progression, counted patient by patient."""
    f = _frames(records)
    dead = f["OS"]["event"] == 1
    progressed = (f["LC"]["event"] == 1) | (f["DPFS"]["event"] == 1)
    facts = pd.read_csv(reconstruct.default_data_dir() / "cnao" / "facts.csv", dtype=str).set_index("fact_id")
    assert reconstruct.died_of_progression() == int(facts.loc["died_of_progression_results", "value"])
    assert int((dead & progressed).sum()) >= reconstruct.died_of_progression()
    assert int(dead.sum()) == int(facts.loc["deaths_results", "value"])


def test_the_sidecar_says_which_median_follow_up_it_honours(records):
    """The reading is stated, the paper's words are quoted from facts.csv, the paper does not say how;
    the values of the other readings are the files' own (reverse Kaplan-Meier with lifelines on the
    flipped indicator; the median of the survivors' follow-up with numpy)."""
    from lifelines import KaplanMeierFitter

    facts = pd.read_csv(reconstruct.default_data_dir() / "cnao" / "facts.csv", dtype=str)
    said = set(facts.loc[facts["quantity"] == "follow_up_median", "statement"])
    f = _frames(records)
    t, e = f["OS"]["time_months"].to_numpy(float), f["OS"]["event"].to_numpy(int)
    for _, rec in records.values():
        m = rec["follow_up_median"]
        assert m["read_as"] == reconstruct.FOLLOW_UP_MEDIAN_READING and "median of all patients" in m["read_as"]
        assert {w["says"] for w in m["paper_wording"]} == said and m["paper_says_how"] is False
        reported = reconstruct.cnao_problems()["OS"].fu_median
        assert m["honoured"] and m["reported"] == reported
        got = m["in_the_reconstruction"]
        assert got["median_of_all_follow_up_times"] == float(np.median(t)) == reported
        rkm = KaplanMeierFitter().fit(t, 1 - e).median_survival_time_
        assert got["reverse_kaplan_meier_median"] == pytest.approx(float(rkm))
        assert got["median_follow_up_of_survivors"] == pytest.approx(float(np.median(t[e == 0])))
        assert any("one follow-up time per patient" in a for a in rec["assumptions"])


def test_the_reconstruction_is_deterministic(records):
    reconstruct._JOINT_MEMO.clear()
    again = reconstruct.joint_reconstruction()
    for ep, (df, _) in records.items():
        assert df.reset_index(drop=True).equals(again.frames[ep].reset_index(drop=True)), ep


# --- the joint program on hand cases --------------------------------------------------------------
def _hand(lc_landmark: str) -> dict[str, KMProblem]:
    """n = 10. OS: one death by 12 months with S(12) = 88.9% (8/9: one patient's follow-up ends before
    it), follow-up 6 to 40 months, median 20. LC: one failure, the earliest at 8 months, S(12) as given."""
    return {
        "LC": KMProblem(n=10, events=1, landmarks={12.0: lc_landmark}, event_min=8.0, fu_min=6.0, fu_max=40.0),
        "OS": KMProblem(
            n=10, events=1, landmarks={12.0: "88.9"}, fu_min=6.0, fu_max=40.0, fu_median=20.0, times_are_followup=True
        ),
    }


def test_a_curve_possible_alone_but_not_in_the_cohort_is_dropped_with_its_reason():
    """LC alone: S(12) = 90.0% needs its failure with all 10 at risk, possible when nobody is censored
    before 8 months. In one cohort, one patient's follow-up ends at 6 months (the minimum follow-up),
    so at 8 months at most 9 are at risk and S(12) <= 8/9 = 88.9%: the landmark (lowest priority) goes.
    With S(12) = 88.9% instead, both curves hold in one cohort, checked by hand below."""
    from sarcoma_review.audit.feasibility import check_feasibility

    bad = _hand("90.0")
    assert check_feasibility(bad["LC"]).feasible  # alone it is possible
    assert reconstruct.joint_solution(bad, cap=None) is None
    reasons: dict[str, dict[str, str]] = {"LC": {}, "OS": {}}
    frames, honoured, _, _ = reconstruct._joint_search(bad, 0, reasons)
    assert "landmark@12" not in honoured["LC"].statements()
    assert "one cohort" in reasons["LC"]["landmark@12"]
    good = _hand("88.9")
    frames = reconstruct._solve_frames(good, 0, reconstruct.PER_MONTH_CAP)
    lc, os_ = (frames[k].set_index("patient_id").sort_index() for k in ("LC", "OS"))
    assert os_["time_months"].min() == 6.0 and os_["time_months"].max() == 40.0
    assert float(np.median(os_["time_months"])) == 20.0 and int(os_["event"].sum()) == 1
    assert lc["time_months"][lc["event"] == 1].min() == 8.0
    assert (lc["time_months"] <= os_["time_months"]).all()
    assert _km(lc["time_months"], lc["event"], 12) == pytest.approx(8 / 9)
    assert _km(os_["time_months"], os_["event"], 12) == pytest.approx(8 / 9)
