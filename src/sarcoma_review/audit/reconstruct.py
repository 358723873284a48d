"""Deterministic pseudo-individual patient data for the CNAO endpoints.

Assumptions (documented in the audit chapter):

* Time origin is the start of CIRT; times are months. Follow-up range 6-61 months (Results; the
  abstract's 4-61 is the competing statement). Every censoring lies in ``[6, 61]``.
* Accrual January 2013 - September 2018 (68 months). With the data cut-off at the earliest date the
  minimum follow-up allows (September 2018 + 6 months), the potential follow-up of a patient still
  under observation lies in ``[6, 74]`` months, so every censoring time in ``[6, 61]`` corresponds to
  an entry date inside the accrual window. The four losses to follow-up are not located.
* The risk sets come from the exact integer program of :mod:`sarcoma_review.audit.feasibility`
  (first feasible point HiGHS finds: deterministic, no random numbers); event times are spread
  evenly inside the landmark intervals, censorings evenly inside the gaps between events.
* Local control: the reported event-time range 3-35 months cannot coexist with 2- and 3-year LC
  both printing as 67.4% (an event in (24, 35] lowers S(36) by at least S(24)/54 = 1.2 pp), so
  the reconstruction honours the three landmarks, the 15 failures, "13 of 15 within two years",
  the earliest failure at 3 and the median of 13 months, and drops the latest failure at 35
  months: the two late failures fall after 36 months.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sarcoma_review.audit.feasibility import KMProblem, evaluate_statements, find_witness, km_exact

#: Accrual window length in months (January 2013 to September 2018).
ACCRUAL_MONTHS = 68


def cnao_problems(fu_min: float = 6, fu_max: float = 61) -> dict[str, KMProblem]:
    """The full set of CNAO statements per endpoint, as reported (before any is dropped)."""
    return {
        "LC": KMProblem(n=54, events=15, landmarks={12: "84.8", 24: "67.4", 36: "67.4"}, events_by={24: 13},
                        event_min=3, event_max=35, event_median=13, fu_min=fu_min, fu_max=fu_max),
        "DPFS": KMProblem(n=54, events=12, landmarks={12: "97.5", 24: "92.2", 36: "92.2"},
                          fu_min=fu_min, fu_max=fu_max),
        "OS": KMProblem(n=54, events=15, landmarks={12: "87.1", 24: "75.4", 36: "64"}, fu_min=fu_min,
                        fu_max=fu_max, fu_median=24, times_are_followup=True),
    }


#: Statements each reconstruction leaves out, with the reason.
DROPPED = {
    "LC": {"event_max": "latest failure at 35 months contradicts S(24) = S(36) = 67.4%"},
    "DPFS": {},
    "OS": {},
}


def reconstruction_problems(fu_min: float = 6, fu_max: float = 61) -> dict[str, KMProblem]:
    """The statements each pseudo-IPD honours (the reported set minus :data:`DROPPED`)."""
    return {ep: p.without(*DROPPED[ep]) for ep, p in cnao_problems(fu_min, fu_max).items()}


def reconstruct(problem: KMProblem, endpoint: str) -> pd.DataFrame:
    """Pseudo-IPD (``time_months``, ``event``, ``endpoint``) satisfying every statement of ``problem``."""
    w = find_witness(problem)
    if w is None:
        raise ValueError(f"{endpoint}: the statements {problem.statements()} cannot all hold; drop one "
                         "(see feasibility.minimal_conflict)")
    df = w.frame().sort_values(["time_months", "event"], ascending=[True, False], kind="stable")
    df["endpoint"] = endpoint
    return df.reset_index(drop=True)


def validate_pseudo_ipd(df: pd.DataFrame, problem: KMProblem, tolerance_pp: float = 1.0) -> dict[str, bool]:
    """Tolerances of the brief: events exact, every landmark within ``tolerance_pp``, times in bounds."""
    t, e = df["time_months"].tolist(), df["event"].astype(int).tolist()
    out = {"n": len(df) == problem.n, "events": sum(e) == problem.events}
    for lm, p in problem.landmarks.items():
        out[f"landmark@{lm:g}"] = abs(float(km_exact(t, e, lm)) * 100 - float(p)) <= tolerance_pp
    cens = [x for x, ev in zip(t, e) if not ev]
    lo = problem.fu_min or 0
    hi = min(problem.fu_max or 1e9, ACCRUAL_MONTHS + lo)
    out["censoring_in_followup_and_accrual"] = all(lo <= x <= hi for x in cens)
    out["times_in_followup"] = all(0 < x <= (problem.fu_max or 1e9) for x in t)
    out.update({f"statement:{k}": v for k, v in evaluate_statements(problem, t, e).items()})
    return out
