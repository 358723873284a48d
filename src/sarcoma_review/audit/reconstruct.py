"""Deterministic pseudo-individual patient data for the CNAO endpoints, as one cohort.

Every statement is read from ``data/cnao`` (:func:`cnao_problems`), so a data change changes the
reconstruction. The three files (local control, DPFS, overall survival) are the same invented patients
(``patient_id``), built together by one exact integer program (:func:`joint_solution`, HiGHS through
:func:`scipy.optimize.milp`, no random numbers):

* **One follow-up per patient.** Each patient's follow-up ends once, at death or at the last contact;
  that is the overall-survival time. A patient without a local failure is censored for local control at
  that same time (deaths censored, as the paper's curves count them), and likewise for DPFS; a local
  failure or distant progression lies at or before the end of follow-up. So at any time no more patients
  are at risk for local control or DPFS than for overall survival (:func:`cohort_check`).
* **The program.** Time is cut into cells (every month up to the first landmark, then every three
  months, and at every time a statement names; :func:`_grid`). Per cell it chooses the deaths, the other
  follow-up ends and each endpoint's events; within a cell, events come first, then deaths, then the
  other ends. The number followed at the start of a cell is ``n`` minus the ends before it; the number
  at risk for local control is that minus the patients with a local failure who are still followed
  (``Phi``), which grows at each failure and falls when such a patient's follow-up ends. The events of a
  cell then have consecutive risk sets, and log S at a landmark is linear in binary "event with r at
  risk in cell c" variables (the encoding of :mod:`sarcoma_review.audit.feasibility`). At most
  :data:`PER_MONTH_CAP` deaths, other ends and events of each endpoint per month, so that the program
  cannot heap them into one cell (lifted only when no capped cohort exists; the sidecar says so).
* **Times.** Items of a cell are spread evenly inside it; a statement that names a time (earliest,
  latest or median event, minimum, maximum or median follow-up) puts its item on the cell's end, with
  no follow-up end tied to an event there. Each follow-up end the program marks as a patient with a
  local failure takes the earliest unassigned failure (:func:`joint_frames`). The files are then
  re-checked exactly, statement by statement and patient by patient (:func:`joint_checks`).

What the reconstruction honours, in this order of priority (:data:`PRIORITY`):

1. study-level facts: the number of patients, the minimum, maximum and median follow-up, the accrual
   window. The median follow-up is read as the median of all patients' follow-up times
   (:data:`FOLLOW_UP_MEDIAN_READING`): the paper prints it with the range of those times and does not say
   how it was computed; the reverse Kaplan-Meier median and the survivors' median of the pseudo-cohort
   are reported beside it (:func:`follow_up_median_record`), not honoured;
2. the reported event counts (all events, and events by a time: "13 of 15 within two years"), and, for
   the cohort, that at least 6 of the deaths follow a local failure or a distant progression
   ("6 died by disease progression");
3. the reported range and median of the event times;
4. the landmark survival rates.

Each endpoint's own conflicts are resolved first, as for a curve alone (:func:`choose_drops`: the
smallest set of lowest-priority statements; among sets of the same size the later landmarks go first,
since they rest on fewer patients at risk). Only if the rest cannot be one cohort are more dropped
(:func:`joint_reconstruction`). The sidecar of each file (:func:`sidecar`, published as
``cnao_pseudo_ipd_<endpoint>.json``) records what it honours, what it drops and why, the assumptions,
the reading of the median follow-up and the plausibility caveat where the honoured statements need an
implausible timing of events. The four patients lost to follow-up are not located: any four of the
patients alive at last contact can be them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from sarcoma_review.audit.feasibility import (
    LOG_MARGIN,
    KMProblem,
    Undecided,
    evaluate_statements,
    km_exact,
)
from sarcoma_review.audit.grim import printed_interval
from sarcoma_review.data import tracking
from sarcoma_review.data.vocabulary import ENDPOINT_NAMES
from sarcoma_review.paths import data_dir as default_data_dir

#: Month names as printed in the accrual statements ("January 2013").
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

#: Which fact gives each endpoint's event count, and where in the paper it is stated.
EVENT_FACTS = {"LC": "local_failures_results", "DPFS": "distant_progression_results", "OS": "deaths_results"}


@tracking.frame_loader
def read_strings(group: str, table: str, data_dir: Path | str | None = None) -> pd.DataFrame:
    """``<data_dir>/<group>/<table>.csv`` with every cell as the printed string.

    The table is first validated against its schema (:func:`sarcoma_review.data.loaders.load_table`,
    clear errors on bad data), then read again as text so that printed precision survives
    ("64" and "64.0" are different statements). The read is recorded with
    :func:`sarcoma_review.data.tracking.record_read`, so the build knows the audit depends on it.
    ``data_dir`` defaults to :func:`sarcoma_review.paths.data_dir` (the build context's data folder).
    """
    from sarcoma_review.data.loaders import load_table

    d = Path(data_dir) if data_dir is not None else default_data_dir()
    path = d / group / f"{table}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the audit needs data/{group}/{table}.csv (see data/README.md)")
    load_table(group, table, d)
    tracking.record_read(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _fact_row(facts: pd.DataFrame, fact_id: str) -> pd.Series:
    row = facts.loc[facts["fact_id"] == fact_id]
    if row.empty:
        raise ValueError(f"data/cnao/facts.csv has no fact_id {fact_id!r}; the audit needs it (add the row)")
    return row.iloc[0]


def _num(text: str, what: str) -> float | int:
    """A printed number as int when integral (so landmark keys stay 12, 24, 36), else float."""
    if str(text).strip() == "":
        raise ValueError(f"{what} is empty in data/cnao; the audit needs a number there")
    x = float(text)
    return int(x) if x.is_integer() else x


def month_index(printed: str) -> int:
    """``"January 2013"`` -> months since year 0 (so differences are month counts)."""
    parts = str(printed).split()
    if len(parts) != 2 or parts[0].lower() not in _MONTHS or not parts[1].isdigit():
        raise ValueError(f"accrual date {printed!r} must read like 'January 2013' (month name, year)")
    return int(parts[1]) * 12 + _MONTHS.index(parts[0].lower())


def accrual_months(data_dir: Path | str | None = None, location: str = "results") -> int:
    """Length of the CNAO accrual window in months (``accrual_end - accrual_start`` of facts.csv)."""
    facts = read_strings("cnao", "facts", data_dir)
    start = _fact_row(facts, f"accrual_start_{location}")["value_as_printed"]
    end = _fact_row(facts, f"accrual_end_{location}")["value_as_printed"]
    return month_index(end) - month_index(start)


def follow_up_minima(data_dir: Path | str | None = None) -> list[tuple[float | int, str]]:
    """The distinct minimum follow-up figures and where each is printed, Results first.

    Cuccia et al. print the follow-up range twice (Results 6-61, Abstract 4-61); the feasibility
    checks run once per distinct minimum.
    """
    facts = read_strings("cnao", "facts", data_dir)
    out: dict[float | int, str] = {}
    for loc in ("results", "abstract"):
        row = facts.loc[facts["fact_id"] == f"follow_up_median_{loc}"]
        if not row.empty:
            v = _num(row.iloc[0]["value_low"], f"follow_up_median_{loc}.value_low")
            out.setdefault(v, loc.capitalize())
    return list(out.items())


def cnao_problems(
    fu_min: float | None = None, fu_max: float | None = None, data_dir: Path | str | os.PathLike[str] | None = None
) -> dict[str, KMProblem]:
    """The full set of CNAO statements per endpoint, as reported (before any is dropped).

    Read from ``data/cnao`` (through :func:`read_strings`, printed precision kept):

    * ``n``: the sum of the sex counts of Table II (``characteristics.csv``), which must equal
      the ``n_patients_results`` fact;
    * events: :data:`EVENT_FACTS`; "13 of 15 within two years": ``local_failures_within_2y_discussion``;
    * LC event-time median and range: ``time_to_lp_results``;
    * landmarks: ``landmark_rates.csv``, the Results statement where there is one, else the
      Abstract's (horizon in years x 12 = months; "84.8" stands for ``[84.75, 84.85)``);
    * follow-up: ``follow_up_median_results`` (median and range); ``fu_min`` / ``fu_max`` override
      the range (the runner also tries the Abstract's minimum).
    """
    ch = read_strings("cnao", "characteristics", data_dir)
    facts = read_strings("cnao", "facts", data_dir)
    lm = read_strings("cnao", "landmark_rates", data_dir)
    sex = ch.loc[ch["variable"] == "sex", "n"]
    n = sum(int(x) for x in sex)
    stated_n = int(_fact_row(facts, "n_patients_results")["value"])
    if n != stated_n:
        raise ValueError(
            f"data/cnao: Table II sex counts sum to {n} but n_patients_results says {stated_n}; fix one of them"
        )
    fu = _fact_row(facts, "follow_up_median_results")
    lo = _num(fu["value_low"], "follow_up_median_results.value_low") if fu_min is None else fu_min
    hi = _num(fu["value_high"], "follow_up_median_results.value_high") if fu_max is None else fu_max
    fu_median = _num(fu["value"], "follow_up_median_results.value")

    def landmarks(ep: str) -> dict[float | int, str]:
        rows = lm[lm["endpoint"] == ep]
        out: dict[float | int, str] = {}
        for loc in ("results", "abstract"):
            for _, r in rows[rows["location"] == loc].iterrows():
                out.setdefault(12 * int(r["horizon_years"]), r["rate_percent"].strip())
        if not out:
            raise ValueError(f"data/cnao/landmark_rates.csv has no {ep} rows; the audit needs them")
        return dict(sorted(out.items()))

    events = {ep: int(_fact_row(facts, fid)["value"]) for ep, fid in EVENT_FACTS.items()}
    ttp = _fact_row(facts, "time_to_lp_results")
    within_2y = int(_fact_row(facts, "local_failures_within_2y_discussion")["value"])
    return {
        "LC": KMProblem(
            n=n,
            events=events["LC"],
            landmarks=landmarks("LC"),
            events_by={24: within_2y},
            event_min=_num(ttp["value_low"], "time_to_lp_results.value_low"),
            event_max=_num(ttp["value_high"], "time_to_lp_results.value_high"),
            event_median=_num(ttp["value"], "time_to_lp_results.value"),
            fu_min=lo,
            fu_max=hi,
            fu_median=fu_median,
        ),
        "DPFS": KMProblem(
            n=n, events=events["DPFS"], landmarks=landmarks("DPFS"), fu_min=lo, fu_max=hi, fu_median=fu_median
        ),
        "OS": KMProblem(
            n=n,
            events=events["OS"],
            landmarks=landmarks("OS"),
            fu_min=lo,
            fu_max=hi,
            fu_median=fu_median,
            times_are_followup=True,
        ),
    }


#: Priority class of each kind of statement (1 = honoured first; see the module docstring).
PRIORITY = {
    "fu_min": 1,
    "fu_max": 1,
    "fu_median": 1,
    "events_by": 2,
    "event_min": 3,
    "event_max": 3,
    "event_median": 3,
    "landmark": 4,
}

#: Words for each priority class (the sidecar and the chapter use them).
PRIORITY_NAMES = {1: "study-level fact", 2: "event count", 3: "event-time range or median", 4: "landmark"}


def priority(name: str) -> int:
    """Priority class of a statement name (``landmark@36`` -> 4)."""
    return PRIORITY[name.split("@", 1)[0]]


def choose_drops(problem: KMProblem) -> tuple[str, ...]:
    """The smallest set of lowest-priority statements whose removal makes ``problem`` attainable.

    Classes are opened from the lowest priority up (landmarks alone first, then landmarks and
    event-time statements, ...); within the open classes, sets are tried by size; among sets of
    one size, the one whose statements are latest (landmarks at later times first) wins.
    ``()`` when every statement can hold.
    """
    from itertools import combinations

    from sarcoma_review.audit.feasibility import _solve_risk_sets

    if _solve_risk_sets(problem) is not None:
        return ()
    names = problem.statements()

    def key(name: str) -> float:
        return -float(name.split("@", 1)[1]) if "@" in name else 0.0

    for lowest in (4, 3, 2, 1):
        pool = sorted([s for s in names if priority(s) >= lowest], key=key)
        for size in range(1, len(pool) + 1):
            for combo in combinations(pool, size):
                if _solve_risk_sets(problem.without(*combo)) is not None:
                    return tuple(combo)
    raise ValueError(f"no subset of {names} can be dropped to make the statements attainable")


def drop_reason(problem: KMProblem, name: str, drops: tuple[str, ...] = ()) -> str:
    """Why ``name`` is left out of ``problem``'s reconstruction, in words built from its values.

    Names the statements it cannot hold together with (a minimal conflict of the full set that
    contains it) and its priority class.
    """
    from sarcoma_review.audit.feasibility import minimal_conflict

    others = [d for d in drops if d != name]
    conflict = minimal_conflict(problem.without(*others)) if others else minimal_conflict(problem)
    partners = [problem.describe(c) for c in conflict if c != name]
    cls = PRIORITY_NAMES[priority(name)]
    if not partners:
        return f"{problem.describe(name)} cannot hold with the other statements ({cls}: lowest priority)"
    return (
        f"{problem.describe(name)} cannot hold together with "
        + "; ".join(partners)
        + f"; of these it has the lowest priority ({cls})"
    )


def reverse_km_median(times, events) -> float | None:
    """Median follow-up by the reverse Kaplan-Meier method: censorings are the "events", events
    are censored; the smallest time at which that curve falls to 1/2 or below (None if never)."""
    return _km_median_of([float(t) for t in times], [1 - int(e) for e in events])


def _km_median_of(times: list[float], ev: list[int]) -> float | None:
    from fractions import Fraction

    s = Fraction(1)
    for t in sorted({t for t, e in zip(times, ev) if e}):
        r = sum(1 for x in times if x >= t)
        d = sum(1 for x, e in zip(times, ev) if e and x == t)
        s *= Fraction(r - d, r)
        if s <= Fraction(1, 2):
            return t
    return None


def sidecar(endpoint: str, rec: JointReconstruction, caveat: str | None, data_dir=None) -> dict:
    """What one pseudo-patient file honours and drops, and why (published as JSON beside the CSV)."""
    reported, honoured = rec.reported[endpoint], rec.honoured[endpoint]
    reasons = rec.reasons.get(endpoint, {})
    lost = _fact_row(read_strings("cnao", "facts", data_dir), "lost_to_follow_up_results")["value"]
    statements = [
        {
            "statement": s,
            "says": reported.describe(s),
            "priority": priority(s),
            "priority_class": PRIORITY_NAMES[priority(s)],
            "honoured": s in honoured.statements(),
            "why_dropped": reasons.get(s, ""),
        }
        for s in reported.statements()
    ]
    return {
        "file": f"cnao_pseudo_ipd_{endpoint}.csv",
        "what": f"reconstructed pseudo-patient data for {endpoint} of the CNAO series (Cuccia et al. 2020): "
        "invented patients that reproduce the honoured statements, NOT the paper's patients",
        "one_cohort_of_files": [f"cnao_pseudo_ipd_{ep}.csv" for ep in rec.frames],
        "columns": {
            "patient_id": "the same invented patient in every file of the cohort (1 = shortest follow-up)",
            "time_months": "months from the start of carbon-ion therapy to the event, or to the end of the "
            "patient's follow-up (death or last contact; the same in every file)",
            "event": "1 = the endpoint's event, 0 = censored",
            "endpoint": "LC, DPFS or OS",
        },
        "n": reported.n,
        "events": reported.events,
        "assumptions": [
            "one follow-up time per patient, shared by every endpoint: the overall-survival time (death or "
            "last contact)",
            "a patient without a local failure (or distant progression) is censored at the end of that "
            "follow-up, death included: deaths are censored for local control and DPFS, as the paper's curves "
            "count them",
            "a local failure or distant progression lies at or before the end of the patient's follow-up",
            f"at least {rec.died_of_progression} of the deaths follow a local failure or a distant progression "
            "(the paper: died by disease progression)"
            + ("" if rec.died_of_progression_honoured else " - NOT honoured: it cannot hold with the rest"),
            "within each interval of the program, events before deaths before other follow-up ends; events "
            "and follow-up ends spread evenly between the times the statements name",
            f"at most {PER_MONTH_CAP} deaths, {PER_MONTH_CAP} other follow-up ends and {PER_MONTH_CAP} events "
            "of each endpoint per month of an interval"
            + ("" if rec.capped else " - NOT honoured: no cohort with this cap exists"),
        ],
        "priority_order": [PRIORITY_NAMES[c] for c in sorted(PRIORITY_NAMES)],
        "statements": statements,
        "follow_up_median": follow_up_median_record(rec, data_dir),
        "accrual_months": accrual_months(data_dir),
        "losses_to_follow_up": f"{lost} in the paper; not located: any {lost} of the patients alive at last contact "
        "can be them",
        "implausible_timing": caveat or "",
        "method": "one exact integer program over the shared follow-up and the events of every endpoint "
        "(sarcoma_review.audit.reconstruct.joint_solution, deterministic, no random numbers); every honoured "
        "statement and every cohort condition re-checked exactly on the files",
    }


def validate_pseudo_ipd(
    df: pd.DataFrame, problem: KMProblem, tolerance_pp: float = 1.0, accrual: int | None = None
) -> dict[str, bool]:
    """Tolerances of the brief: events exact, every landmark within ``tolerance_pp``, times in bounds.

    ``accrual`` is the accrual window in months (default :func:`accrual_months` of the data).
    """
    accrual = accrual_months() if accrual is None else accrual
    t, e = df["time_months"].tolist(), df["event"].astype(int).tolist()
    out = {"n": len(df) == problem.n, "events": sum(e) == problem.events}
    for lm, p in problem.active_landmarks().items():
        out[f"landmark@{lm:g}"] = abs(float(km_exact(t, e, lm)) * 100 - float(p)) <= tolerance_pp
    cens = [x for x, ev in zip(t, e) if not ev]
    lo = problem.fu_min or 0
    hi = min(problem.fu_max or 1e9, accrual + lo)
    out["censoring_in_followup_and_accrual"] = all(lo <= x <= hi for x in cens)
    out["times_in_followup"] = all(0 < x <= (problem.fu_max or 1e9) for x in t)
    out.update({f"statement:{k}": v for k, v in evaluate_statements(problem, t, e).items()})
    return out


def last_reported_time(problem: KMProblem) -> float:
    """The last time (months) at which the paper says anything about the curve: its latest landmark
    rate, count of events by a time, or latest event time. Follow-up is not a statement about the
    curve, so the maximum follow-up does not extend it."""
    times = [*problem.landmarks, *problem.events_by]
    if problem.event_max is not None:
        times.append(problem.event_max)
    if not times:
        raise ValueError(
            "the paper reports no time on this curve (no landmark rate, event count by a time or "
            "event time): there is nothing to draw the reconstruction against"
        )
    return float(max(times))


def cohort_check(frames: dict[str, pd.DataFrame], problems: dict[str, KMProblem]) -> dict:
    """Whether the per-endpoint pseudo-patient files are one cohort.

    In one cohort every patient's local-control and DPFS times end no later than the survival time, so at
    any time no more patients are at risk for local control or DPFS (alive, followed and free of the
    event) than for overall survival. Checked at every whole month up to the last time the paper reports
    (:func:`last_reported_time`, the latest over the endpoints) and at that time; with a ``patient_id``
    column, also patient by patient (same patients, each endpoint's time at most the survival time).
    Returns ``last_reported_month``, ``at_risk`` per endpoint at that time, ``violations`` (endpoint ->
    the first month with more at risk than OS), ``one_cohort`` and a plain ``sentence``.
    """
    import math

    last = max(last_reported_time(p) for p in problems.values())
    months = sorted({*range(0, math.floor(last) + 1), last})
    table = at_risk_table(frames, months)
    at_risk = {ep: int(table.loc[last, ep]) for ep in frames}
    bad: dict[str, float] = {}
    if FOLLOW_UP_ENDPOINT in frames:
        for ep in frames:
            over = table.index[table[ep] > table[FOLLOW_UP_ENDPOINT]]
            if ep != FOLLOW_UP_ENDPOINT and len(over):
                bad[ep] = float(over[0])
    per_patient = all("patient_id" in df.columns for df in frames.values()) and FOLLOW_UP_ENDPOINT in frames
    if per_patient:
        fu = frames[FOLLOW_UP_ENDPOINT].set_index("patient_id")["time_months"]
        for ep, df in frames.items():
            d = df.set_index("patient_id")["time_months"]
            same = set(d.index) == set(fu.index) and len(d) == len(fu)
            if ep != FOLLOW_UP_ENDPOINT and (not same or (d.loc[fu.index] > fu + 1e-9).any()):
                bad.setdefault(ep, 0.0)
    counts = "; ".join(f"{ENDPOINT_NAMES.get(ep, ep)} {n}" for ep, n in at_risk.items())
    if bad:
        sentence = (
            f"The files are not one cohort: at {last:g} months, the last time the paper reports, they have at "
            f"risk {counts}, and at some month more patients are at risk for "
            + " or ".join(ENDPOINT_NAMES.get(ep, ep) for ep in sorted(bad))
            + " than for overall survival. As one cohort this is impossible: a patient at risk for either is "
            "alive and followed, so at risk for overall survival too."
        )
    else:
        sentence = (
            f"At {last:g} months, the last time the paper reports, at risk: {counts}; at no month up to then are "
            "more patients at risk for another endpoint than for overall survival"
            + (", and no patient's time for another endpoint ends after the end of follow-up." if per_patient else ".")
        )
    return {
        "last_reported_month": last,
        "at_risk": at_risk,
        "violations": bad,
        "one_cohort": not bad,
        "sentence": sentence,
    }


# --------------------------------------------------------------------------------------------
# one cohort: the endpoints reconstructed jointly
# --------------------------------------------------------------------------------------------
#: Cache folder (under the build context's) of the memoised joint solutions, like the feasibility memo.
JOINT_CACHE = "joint_reconstruction"

#: The endpoint whose times are the follow-up times (death ends follow-up).
FOLLOW_UP_ENDPOINT = "OS"

#: The joint statement of the paper that ties the endpoints together ("Among these 15 patients, 6 died by
#: disease progression"): at least that many deaths follow a local failure or a distant progression.
DIED_OF_PROGRESSION_FACT = "died_of_progression_results"

#: How the reconstruction reads "median follow-up" (the sidecar and the chapter say it).
FOLLOW_UP_MEDIAN_READING = (
    "the median of all patients' follow-up times (from the start of carbon-ion therapy to death or last "
    "contact), the same times whose range the paper prints beside it"
)


def died_of_progression(data_dir: Path | str | os.PathLike[str] | None = None) -> int:
    """The number of deaths the paper attributes to disease progression (``facts.csv``)."""
    facts = read_strings("cnao", "facts", data_dir)
    return int(_num(_fact_row(facts, DIED_OF_PROGRESSION_FACT)["value"], f"{DIED_OF_PROGRESSION_FACT}.value"))


#: Months between the regular cell boundaries of the joint program after the first landmark (before it,
#: one month); statement times are boundaries too.
JOINT_STEP = 3

#: Patients whose follow-up equals the minimum follow-up (the program lets exactly one patient have it).
FU_MIN_ENDS = 1

#: At most this many deaths, this many other follow-up ends and this many events of each endpoint per month
#: of a cell (rounded up), so that the program cannot pile them into one cell (the statements do not
#: say how events and ends spread between the times they name). Without it the program may put, say, a
#: third of the cohort's follow-up ends into the last month; None lifts the cap (used when no capped
#: cohort exists, and the sidecar says so).
PER_MONTH_CAP = 2


def _grid(problems: dict[str, KMProblem], step: int = JOINT_STEP) -> list[float]:
    """Cell boundaries of the joint program: every month up to the earliest landmark (where follow-up
    starts to end and the first rates are set, so the order of events and ends matters most), then every
    ``step`` months up to the last time any statement names; every statement time is a boundary, so a
    cell lies wholly before or after it. Finer cells admit more orders of events and ends but make the
    program larger."""
    import math

    times: set[float] = {0.0}
    marks: list[float] = []
    for p in problems.values():
        times |= {float(t) for t in (*p.landmarks, *p.events_by)}
        marks += [float(t) for t in p.landmarks]
        for a in ("event_min", "event_max", "event_median", "fu_min", "fu_max", "fu_median"):
            if getattr(p, a) is not None:
                times.add(float(getattr(p, a)))
    end = max(times)
    fine = min(marks) if marks else 0.0
    times |= {float(m) for m in range(1, math.floor(fine) + 1)}
    times |= {float(m) for m in range(math.ceil(fine), math.ceil(end) + 1, step)}
    return sorted(t for t in times if t <= end)


class _Joint:
    """The joint integer program (see :func:`joint_risk_sets`): one shared follow-up, the events of
    every endpoint placed inside it."""

    def __init__(
        self, problems: dict[str, KMProblem], min_died_of_progression: int, inner: bool, cap: int | None = None
    ):
        self.problems = problems
        self.os = problems[FOLLOW_UP_ENDPOINT]
        self.subs = [ep for ep in problems if ep != FOLLOW_UP_ENDPOINT]
        self.n = self.os.n
        self.B = _grid(problems)
        self.C = len(self.B) - 1  # cells (B[c], B[c+1]], c = 0..C-1
        self.nvar = 0
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.inner = inner
        self.kdp = min_died_of_progression
        C, n = self.C, self.n
        self.D = [self.var(0, n) for _ in range(C)]  # deaths in cell c
        self.X = [self.var(0, n) for _ in range(C)]  # alive at last contact, in cell c
        self.N = [self.var(0, n) for _ in range(C)]  # followed at the start of cell c
        self.y = {ep: {(r, c): self.var(0, 1) for r in range(1, n + 1) for c in range(C)} for ep in problems}
        self.E = {ep: [self.var(0, n) for _ in range(C)] for ep in self.subs}  # events in cell c
        self.Phi = {ep: [self.var(0, n) for _ in range(C + 1)] for ep in self.subs}  # failed, still followed
        self.delta = {ep: [self.var(0, n) for _ in range(C)] for ep in self.subs}  # failed among the ends
        self.delta_dead = {ep: [self.var(0, n) for _ in range(C)] for ep in self.subs}  # ... who died
        if cap is not None:
            import math

            for c in range(C):
                k = math.ceil(cap * (self.B[c + 1] - self.B[c]))
                for v in (self.D[c], self.X[c], *(self.E[ep][c] for ep in self.subs)):
                    self.ub[v] = min(self.ub[v], k)

    def var(self, lo: float, hi: float, integer: bool = True) -> int:
        self.lb.append(lo)
        self.ub.append(hi)
        self.integer.append(1 if integer else 0)
        self.nvar += 1
        return self.nvar - 1

    def add(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((coefs, lo, hi))

    def cells_to(self, t: float) -> range:
        """Cells wholly at or before ``t`` (``t`` is a boundary)."""
        return range(self.B.index(float(t)))

    def cell_ending(self, t: float) -> int:
        return self.B.index(float(t)) - 1

    def no_ends(self, c: int) -> None:
        self.ub[self.D[c]] = self.ub[self.X[c]] = 0

    def counts(self, ep: str) -> list[int]:
        return self.D if ep == FOLLOW_UP_ENDPOINT else self.E[ep]

    # -- structure -----------------------------------------------------------------------------
    def follow_up(self) -> None:
        """N[0] = n, N[c+1] = N[c] - ends in c; deaths are the OS events, each at its own risk set."""
        C, n = self.C, self.n
        self.add({self.N[0]: 1}, n, n)
        for c in range(C - 1):
            self.add({self.N[c + 1]: 1, self.N[c]: -1, self.D[c]: 1, self.X[c]: 1}, 0, 0)
        self.add({**{self.D[c]: 1 for c in range(C)}, **{self.X[c]: 1 for c in range(C)}}, n, n)  # all end
        self.add({self.N[C - 1]: 1, self.D[C - 1]: -1, self.X[C - 1]: -1}, 0, 0)
        self.window(FOLLOW_UP_ENDPOINT, lambda c: {self.N[c]: 1}, self.D)
        deaths = self.problems[FOLLOW_UP_ENDPOINT].events
        self.add({v: 1 for v in self.D}, deaths, deaths)

    def window(self, ep: str, top, count) -> None:
        """The events of ``ep`` in cell c have the risk sets top(c), top(c) - 1, ..., top(c) - count[c] + 1:
        each risk set used once, count[c] of them, none outside that window (so exactly that window)."""
        M = self.n + 1
        for c in range(self.C):
            self.add({**{self.y[ep][(r, c)]: 1 for r in range(1, self.n + 1)}, count[c]: -1}, 0, 0)
            for r in range(1, self.n + 1):
                y = self.y[ep][(r, c)]
                self.add({**{k: -v for k, v in top(c).items()}, y: M}, -np.inf, M - r)  # r <= top
                self.add({**top(c), count[c]: -1, y: M}, -np.inf, M + r - 1)  # r >= top - count + 1
        for r in range(1, self.n + 1):
            self.add({self.y[ep][(r, c)]: 1 for c in range(self.C)}, 0, 1)

    def sub_endpoint(self, ep: str) -> None:
        """Local control or DPFS inside the shared follow-up: at risk = followed - failed still followed;
        a patient's follow-up can end only after (or at) the failure; the follow-up of every failed
        patient ends by the end of the grid."""
        C = self.C
        E, Phi, de, dd = self.E[ep], self.Phi[ep], self.delta[ep], self.delta_dead[ep]
        self.add({Phi[0]: 1}, 0, 0)
        self.add({Phi[C]: 1}, 0, 0)
        for c in range(C):
            self.add({Phi[c + 1]: 1, Phi[c]: -1, E[c]: -1, de[c]: 1}, 0, 0)
            self.add({de[c]: 1, self.D[c]: -1, self.X[c]: -1}, -np.inf, 0)  # failed ends <= ends
            self.add({dd[c]: 1, self.D[c]: -1}, -np.inf, 0)
            self.add({dd[c]: 1, de[c]: -1}, -np.inf, 0)
            self.add({de[c]: 1, dd[c]: -1, self.X[c]: -1}, -np.inf, 0)  # failed alive <= alive ends
            # ends of patients still at risk <= at risk after this cell's events
            self.add({self.D[c]: 1, self.X[c]: 1, de[c]: -1, self.N[c]: -1, Phi[c]: 1, E[c]: 1}, -np.inf, 0)
        self.window(ep, lambda c: {self.N[c]: 1, Phi[c]: -1}, E)
        self.add({v: 1 for v in E}, self.problems[ep].events, self.problems[ep].events)

    def died_after_progression(self) -> None:
        if not self.kdp or not self.subs:
            return
        for c in range(self.C):
            self.add({**{self.delta_dead[ep][c]: 1 for ep in self.subs}, self.D[c]: -1}, -np.inf, 0)
        self.add({self.delta_dead[ep][c]: 1 for ep in self.subs for c in range(self.C)}, self.kdp, np.inf)

    # -- statements ----------------------------------------------------------------------------
    def statements(self, ep: str) -> None:
        import math

        p = self.problems[ep]
        count = self.counts(ep)
        marks = p.active_landmarks()
        if marks:  # one patient at risk failing sets S to 0: only after the last landmark
            for c in self.cells_to(max(marks)):
                self.ub[self.y[ep][(1, c)]] = 0
        for t, pr in marks.items():
            lo, hi = printed_interval(pr, p.rounding)
            lo = max(lo, Fraction(1, 10**9))
            coefs = {self.y[ep][(r, c)]: math.log1p(-1 / r) for r in range(2, self.n + 1) for c in self.cells_to(t)}
            margin = -LOG_MARGIN if self.inner else LOG_MARGIN
            self.add(coefs, math.log(lo / 100) - margin, math.log(hi / 100) + margin)
        for t, m in p.active_events_by().items():
            self.add({count[c]: 1 for c in self.cells_to(t)}, m, m)
        # A statement that places an event at a time t puts it last in the cell ending at t, with no
        # follow-up end in that cell (which would have to tie with it at t).
        if p.active("event_min"):  # the earliest event alone in its cell
            for c in self.cells_to(p.event_min):
                if c != self.cell_ending(p.event_min):
                    self.ub[count[c]] = 0
            self.add({count[self.cell_ending(p.event_min)]: 1}, 1, 1)
            self.no_ends(self.cell_ending(p.event_min))
        if p.active("event_max"):
            for c in range(self.cell_ending(p.event_max) + 1, self.C):
                self.ub[count[c]] = 0
            self.add({count[self.cell_ending(p.event_max)]: 1}, 1, np.inf)
            self.no_ends(self.cell_ending(p.event_max))
        if p.active("event_median"):  # the middle event(s) the last of their cell
            half, k = p.events // 2, self.cell_ending(p.event_median)
            before = half if p.events % 2 else half - 1  # events strictly before the median
            self.add({count[c]: 1 for c in range(k)}, 0, before)
            self.add({count[c]: 1 for c in range(k + 1)}, p.events - before, p.events - before)
            self.no_ends(self.cell_ending(p.event_median))
        if ep == FOLLOW_UP_ENDPOINT:
            self.follow_up_statements(p)
        elif p.active("fu_max"):  # the patient followed longest is alive at last contact, without this event
            last = self.cell_ending(p.fu_max)
            self.add({self.X[last]: 1, self.delta[ep][last]: -1, self.delta_dead[ep][last]: 1}, 1, np.inf)

    def follow_up_statements(self, p: KMProblem) -> None:
        """Range and median of the shared follow-up times (the OS times)."""
        ends = {c: {self.D[c]: 1, self.X[c]: 1} for c in range(self.C)}

        def total(cells) -> dict[int, float]:
            out: dict[int, float] = {}
            for c in cells:
                for k, v in ends[c].items():
                    out[k] = out.get(k, 0) + v
            return out

        if p.active("fu_min"):  # one patient followed for exactly the minimum, nobody for less
            k = self.cell_ending(p.fu_min)
            for c in range(k):
                self.ub[self.D[c]] = self.ub[self.X[c]] = 0
            self.add(total([k]), 1, FU_MIN_ENDS)
        if p.active("fu_max"):
            k = self.cell_ending(p.fu_max)
            for c in range(k + 1, self.C):
                self.ub[self.D[c]] = self.ub[self.X[c]] = 0
            self.add(total([k]), 1, np.inf)
        if p.active("fu_median"):  # the middle end(s) the last of their cell, at the median
            k, n = self.cell_ending(p.fu_median), self.n
            before = (n - 1) // 2 if n % 2 else n // 2 - 1  # ends strictly before the median
            self.add(total(range(k)), 0, before)
            self.add(total(range(k + 1)), n - before, n - before)

    def solve(self, time_limit: float):
        A = lil_matrix((len(self.rows), self.nvar))
        lbs, ubs = [], []
        for i, (coefs, lo_, hi_) in enumerate(self.rows):
            for c, v in coefs.items():
                A[i, c] = v
            lbs.append(lo_)
            ubs.append(hi_)
        res = milp(
            np.zeros(self.nvar),
            constraints=LinearConstraint(A.tocsr(), lbs, ubs),
            integrality=np.array(self.integer),
            bounds=Bounds(np.array(self.lb), np.array(self.ub)),
            options={"time_limit": time_limit, "disp": False},
        )
        if res.status == 2 or res.x is None:
            return None
        if res.status != 0:
            raise Undecided(f"the joint integer program did not finish within {time_limit:g} s ({res.message})")
        return [int(round(v)) for v in res.x]


def _joint_problem_key(
    problems: dict[str, KMProblem], kdp: int, inner: bool, time_limit: float, cap: int | None
) -> str:
    import hashlib
    import json

    import scipy

    from sarcoma_review.audit import feasibility, grim

    code = hashlib.sha256()
    for module in (__file__, feasibility.__file__, grim.__file__):
        code.update(Path(module).read_bytes())
    key = json.dumps(
        [
            sorted((ep, repr(p)) for ep, p in problems.items()),
            kdp,
            inner,
            time_limit,
            cap,
            _grid(problems),
            code.hexdigest(),
            scipy.__version__,
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()


def joint_solution(
    problems: dict[str, KMProblem],
    min_died_of_progression: int = 0,
    inner: bool = False,
    time_limit: float = 120.0,
    cap: int | None = PER_MONTH_CAP,
) -> dict | None:
    """The joint integer program's answer (memoised like the feasibility program), or None when the
    statements cannot hold in one cohort.

    Returns per cell: ``deaths``, ``alive`` (follow-up ends of survivors), ``followed`` (at its start),
    and per endpoint other than OS ``events``, ``failed_ends`` and ``failed_deaths`` (how many of the
    cell's follow-up ends are patients who had that endpoint's event, and how many of those died);
    ``risk_sets`` per endpoint (risk set of each event, in time order) and the grid ``cells``.
    """
    import json

    from sarcoma_review import paths
    from sarcoma_review.paths import write_atomic

    folder = paths.context().cache(JOINT_CACHE)
    path = None
    if folder is not None:
        path = Path(folder) / (_joint_problem_key(problems, min_died_of_progression, inner, time_limit, cap) + ".json")
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    m = _Joint(problems, min_died_of_progression, inner, cap)
    m.follow_up()
    for ep in m.subs:
        m.sub_endpoint(ep)
    for ep in problems:
        m.statements(ep)
    m.died_after_progression()
    x = m.solve(time_limit)
    out = None
    if x is not None:
        out = {
            "cells": [[m.B[c], m.B[c + 1]] for c in range(m.C)],
            "deaths": [x[v] for v in m.D],
            "alive": [x[v] for v in m.X],
            "followed": [x[v] for v in m.N],
            "events": {ep: [x[v] for v in m.E[ep]] for ep in m.subs},
            "failed_ends": {ep: [x[v] for v in m.delta[ep]] for ep in m.subs},
            "failed_deaths": {ep: [x[v] for v in m.delta_dead[ep]] for ep in m.subs},
            "risk_sets": {
                ep: [[r, c] for c in range(m.C) for r in range(m.n, 0, -1) if x[m.y[ep][(r, c)]] == 1]
                for ep in problems
            },
        }
    if path is not None:
        write_atomic(path, json.dumps(out).encode("utf-8"))
    return out


def _anchored_events(p: KMProblem) -> dict[int, float]:
    """Index (in time order) -> time of the events a statement places exactly."""
    d = p.events
    out: dict[int, float] = {}
    if p.active("event_min"):
        out[0] = float(p.event_min)  # type: ignore[arg-type]
    if p.active("event_max"):
        out[d - 1] = float(p.event_max)  # type: ignore[arg-type]
    if p.active("event_median"):
        for i in (d // 2,) if d % 2 else (d // 2 - 1, d // 2):
            out[i] = float(p.event_median)  # type: ignore[arg-type]
    return out


def _anchored_ends(p: KMProblem) -> dict[int, float]:
    """Rank (in time order) -> time of the follow-up ends a statement places exactly."""
    n = p.n
    out: dict[int, float] = {}
    if p.active("fu_min"):
        out[0] = float(p.fu_min)  # type: ignore[arg-type]
    if p.active("fu_max"):
        out[n - 1] = float(p.fu_max)  # type: ignore[arg-type]
    if p.active("fu_median"):
        for i in ((n - 1) // 2,) if n % 2 else (n // 2 - 1, n // 2):
            out[i] = float(p.fu_median)  # type: ignore[arg-type]
    return out


def _place_cell(a: float, b: float, items: list[tuple[str, bool]]) -> list[float]:
    """Times of one cell's items in their canonical order (events of each endpoint, then deaths, then
    the other follow-up ends): from the first item a statement places at ``b`` on, all at ``b``
    (ties: events before censorings, as Kaplan-Meier counts them); the ones before it evenly inside
    ``(a, b)``."""
    pinned = [i for i, (_, pin) in enumerate(items) if pin]
    p = pinned[0] if pinned else len(items)
    return [round(a + (b - a) * (i + 1) / (p + 1), 2) if i < p else float(b) for i in range(len(items))]


def _cell_items(
    c: int, b: float, sol: dict, subs: list[str], anchors: tuple[dict, dict], n_ev: dict[str, int], rank0: int
) -> list[tuple[str, bool]]:
    """One cell's items in canonical order (each endpoint's events, deaths, other ends), each with
    whether a statement places it on the cell's end ``b``; ``n_ev`` (events so far) is advanced."""
    ev_anchor, end_anchor = anchors
    items: list[tuple[str, bool]] = []
    for ep in subs:
        for _ in range(sol["events"][ep][c]):
            items.append((ep, ev_anchor[ep].get(n_ev[ep]) == b))
            n_ev[ep] += 1
    d = sol["deaths"][c]
    for k in range(d):
        pin = end_anchor.get(rank0 + k) == b or ev_anchor[FOLLOW_UP_ENDPOINT].get(n_ev[FOLLOW_UP_ENDPOINT] + k) == b
        items.append(("death", pin))
    items += [("alive", end_anchor.get(rank0 + d + k) == b) for k in range(sol["alive"][c])]
    n_ev[FOLLOW_UP_ENDPOINT] += d
    return items


def joint_frames(problems: dict[str, KMProblem], sol: dict) -> dict[str, pd.DataFrame]:
    """Patient-level files from :func:`joint_solution`: one row per patient in each, the same
    ``patient_id`` (1 = shortest follow-up) in every file.

    Within each cell the endpoints' events come first, then deaths, then the other follow-up ends.
    Each follow-up end that the program marks as a patient with a local failure (or distant
    progression) takes the earliest such event still unassigned, which lies at or before it; that
    patient's local-control time is the failure time, every other patient's is the follow-up time
    (censored: alive at last contact, or dead without failure). For DPFS the dying patients are taken
    from the other end of the cell's deaths, so that the deaths after a local failure and after a
    distant progression are different patients (the count of deaths after progression is then at least
    their sum)."""
    subs = [ep for ep in problems if ep != FOLLOW_UP_ENDPOINT]
    anchors = ({ep: _anchored_events(p) for ep, p in problems.items()}, _anchored_ends(problems[FOLLOW_UP_ENDPOINT]))
    follow: list[float] = []
    died: list[bool] = []
    fail_time: dict[str, dict[int, float]] = {ep: {} for ep in subs}  # patient index -> failure time
    queue: dict[str, list[float]] = {ep: [] for ep in subs}
    n_ev = dict.fromkeys(problems, 0)
    for c, (a, b) in enumerate(sol["cells"]):
        items = _cell_items(c, b, sol, subs, anchors, n_ev, len(follow))
        ends = []
        for (kind, _), t in zip(items, _place_cell(a, b, items)):
            if kind in subs:
                queue[kind].append(t)
            else:
                ends.append(len(follow))
                follow.append(t)
                died.append(kind == "death")
        deaths_here = [i for i in ends if died[i]]
        alive_here = [i for i in ends if not died[i]]
        for j, ep in enumerate(subs):
            dd, de = sol["failed_deaths"][ep][c], sol["failed_ends"][ep][c]
            dying = deaths_here[:dd] if j % 2 == 0 else deaths_here[len(deaths_here) - dd :]
            for i in [*dying, *alive_here[: de - dd]]:
                fail_time[ep][i] = queue[ep].pop(0)
                if fail_time[ep][i] > follow[i]:
                    raise ValueError(f"{ep}: a failure at {fail_time[ep][i]} would follow the end of follow-up")
    ids = list(range(1, len(follow) + 1))
    out = {
        FOLLOW_UP_ENDPOINT: pd.DataFrame({"patient_id": ids, "time_months": follow, "event": [int(d) for d in died]})
    }
    for ep in subs:
        t = [fail_time[ep].get(i, x) for i, x in enumerate(follow)]
        e = [int(i in fail_time[ep]) for i in range(len(follow))]
        out[ep] = pd.DataFrame({"patient_id": ids, "time_months": t, "event": e})
    for ep, df in out.items():
        df["endpoint"] = ep
    return {ep: out[ep] for ep in problems}


def joint_checks(frames: dict[str, pd.DataFrame], problems: dict[str, KMProblem], kdp: int = 0) -> dict[str, bool]:
    """Every honoured statement of every endpoint (exactly, :func:`evaluate_statements`) and the
    cohort conditions: the same patients in every file, no endpoint's time after the follow-up time,
    the follow-up time the censoring time of every endpoint, death ending follow-up, at least ``kdp``
    deaths after a local failure or distant progression."""
    out: dict[str, bool] = {}
    for ep, df in frames.items():
        for k, ok in evaluate_statements(problems[ep], df["time_months"].tolist(), df["event"].tolist()).items():
            out[f"{ep}:{k}"] = ok
    fu = frames[FOLLOW_UP_ENDPOINT].set_index("patient_id")
    after = set()
    for ep, df in frames.items():
        d = df.set_index("patient_id")
        out[f"{ep}:same_patients"] = set(d.index) == set(fu.index) and len(d) == len(fu)
        if ep == FOLLOW_UP_ENDPOINT:
            continue
        d = d.loc[fu.index]
        out[f"{ep}:time_within_follow_up"] = bool((d["time_months"] <= fu["time_months"] + 1e-9).all())
        cens = d["event"] == 0
        out[f"{ep}:censored_at_follow_up"] = bool((d.loc[cens, "time_months"] == fu.loc[cens, "time_months"]).all())
        after |= set(d.index[(d["event"] == 1) & (fu["event"] == 1)])
    out["deaths_after_progression"] = len(after) >= kdp
    return out


def at_risk_table(frames: dict[str, pd.DataFrame], times) -> pd.DataFrame:
    """Numbers at risk (time >= t) per endpoint at each of ``times``."""
    return pd.DataFrame(
        {ep: [int((df["time_months"].astype(float) >= t).sum()) for t in times] for ep, df in frames.items()},
        index=pd.Index(list(times), name="month"),
    )


#: Name of the joint statement (the deaths after progression) in the sidecar and the drop search.
JOINT_STATEMENT = "deaths_after_progression"


@dataclass(frozen=True)
class JointReconstruction:
    """The CNAO pseudo-cohort: one file per endpoint over the same patients, and what it honours.

    ``reported`` are the paper's statements per endpoint (:func:`cnao_problems`), ``honoured`` the ones
    the files meet, ``reasons`` ``{endpoint: {statement: why dropped}}``, ``died_of_progression`` the
    reported count and whether it is honoured (at least that many deaths after a local failure or a
    distant progression), ``capped`` whether the per-month cap (:data:`PER_MONTH_CAP`) holds.
    """

    frames: dict[str, pd.DataFrame]
    reported: dict[str, KMProblem]
    honoured: dict[str, KMProblem]
    reasons: dict[str, dict[str, str]]
    died_of_progression: int
    died_of_progression_honoured: bool
    capped: bool


def _solve_frames(problems: dict[str, KMProblem], kdp: int, cap: int | None) -> dict[str, pd.DataFrame] | None:
    """Frames meeting every statement of ``problems`` in one cohort (re-checked exactly), or None.

    As in :func:`sarcoma_review.audit.feasibility.find_witness`, a solution on the very end of a printed
    interval that fails the exact re-check is searched again with the intervals narrowed."""
    if joint_solution(problems, kdp, cap=cap) is None:
        return None
    failed: list[str] = []
    for inner in (False, True):
        sol = joint_solution(problems, kdp, inner=inner, cap=cap)
        if sol is None:
            continue
        frames = joint_frames(problems, sol)
        failed = [k for k, ok in joint_checks(frames, problems, kdp).items() if not ok]
        if not failed:
            return frames
    raise Undecided(f"the joint solution breaks {', '.join(failed)} on the exact re-check")


def _joint_candidates(problems: dict[str, KMProblem]) -> list[tuple[str, str]]:
    """(endpoint, statement) pairs that the joint drop search may leave out, lowest priority and latest first."""

    def key(item: tuple[str, str]) -> tuple[int, float]:
        ep, name = item
        return (-priority(name), -float(name.split("@", 1)[1]) if "@" in name else 0.0)

    return sorted(((ep, s) for ep, p in problems.items() for s in p.statements()), key=key)


_JOINT_MEMO: dict[str, JointReconstruction] = {}


def joint_reconstruction(data_dir: Path | str | os.PathLike[str] | None = None) -> JointReconstruction:
    """The CNAO endpoints reconstructed as one cohort (see the module docstring).

    1. Each endpoint's own conflicts are resolved first, as for a curve alone (:func:`choose_drops`:
       the smallest set of lowest-priority statements).
    2. The remaining statements of all endpoints, the shared follow-up and the deaths after progression
       go into one integer program (:func:`joint_solution`), first with the per-month cap, then without.
    3. Only if that fails: the joint statement (deaths after progression) is dropped, then the smallest
       set (one, then two) of the remaining statements, lowest priority and latest first.
    """
    reported = cnao_problems(data_dir=data_dir)
    kdp_reported = died_of_progression(data_dir)
    memo_key = repr((sorted((ep, repr(p)) for ep, p in reported.items()), kdp_reported))
    if memo_key in _JOINT_MEMO:
        return _JOINT_MEMO[memo_key]
    reasons: dict[str, dict[str, str]] = {}
    kept: dict[str, KMProblem] = {}
    for ep, p in reported.items():
        drops = choose_drops(p)
        reasons[ep] = {s: drop_reason(p, s, drops) for s in drops}
        kept[ep] = p.without(*drops)
    result = _joint_search(kept, kdp_reported, reasons)
    if result is None:
        raise ValueError("no set of up to two statements can be dropped to reconstruct the CNAO cohort jointly")
    frames, honoured, kdp_ok, capped = result
    out = JointReconstruction(frames, reported, honoured, reasons, kdp_reported, kdp_ok, capped)
    _JOINT_MEMO[memo_key] = out
    return out


def _joint_search(kept: dict[str, KMProblem], kdp: int, reasons: dict[str, dict[str, str]]):
    """Frames, honoured problems, whether the deaths after progression hold, whether the cap holds."""
    from itertools import combinations

    for cap in (PER_MONTH_CAP, None):
        frames = _solve_frames(kept, kdp, cap)
        if frames is not None:
            return frames, kept, True, cap is not None
    frames = _solve_frames(kept, 0, None)
    if frames is not None:
        return frames, kept, False, False
    cands = _joint_candidates(kept)
    for size in (1, 2):
        for combo in combinations(cands, size):
            trial = dict(kept)
            for ep, s in combo:
                trial[ep] = trial[ep].without(s)
            frames = _solve_frames(trial, 0, None)
            if frames is None:
                continue
            others = ", ".join(f"{ENDPOINT_NAMES.get(e, e)}: {kept[e].describe(s)}" for e, s in combo)
            for ep, s in combo:
                reasons[ep][s] = (
                    f"{kept[ep].describe(s)} cannot hold in one cohort (one follow-up shared by every endpoint) "
                    f"with the statements kept; the smallest set of lowest-priority statements to leave out is "
                    f"{others} ({PRIORITY_NAMES[priority(s)]})"
                )
            return frames, trial, False, False
    return None


def reconstruction_problems(data_dir: Path | str | os.PathLike[str] | None = None) -> dict[str, KMProblem]:
    """The statements the pseudo-cohort honours, per endpoint (:func:`joint_reconstruction`)."""
    return joint_reconstruction(data_dir).honoured


def dropped_reasons(
    problems: dict[str, KMProblem] | None = None, data_dir: Path | str | os.PathLike[str] | None = None
) -> dict[str, dict[str, str]]:
    """``{endpoint: {statement: reason}}`` for the statements the pseudo-cohort leaves out.

    ``problems`` are the reported statements (default :func:`cnao_problems` of ``data_dir``); when they
    are the data's, the reasons are those of :func:`joint_reconstruction`, else of each endpoint alone."""
    reported = cnao_problems(data_dir=data_dir)
    if problems is None or {ep: repr(p) for ep, p in problems.items()} == {ep: repr(p) for ep, p in reported.items()}:
        return joint_reconstruction(data_dir).reasons
    out = {}
    for ep, p in problems.items():
        drops = choose_drops(p)
        out[ep] = {s: drop_reason(p, s, drops) for s in drops}
    return out


def follow_up_median_record(rec: JointReconstruction, data_dir=None) -> dict:
    """Which reading of "median follow-up" the pseudo-cohort honours, the paper's words, and the value
    of each reading in the pseudo-cohort (all patients, reverse Kaplan-Meier, survivors only)."""
    facts = read_strings("cnao", "facts", data_dir)
    wording = [
        {"where": r["location"], "says": r["statement"], "source": r["source"]}
        for _, r in facts[facts["quantity"] == "follow_up_median"].iterrows()
    ]
    os_df = rec.frames[FOLLOW_UP_ENDPOINT]
    t, e = os_df["time_months"].astype(float).tolist(), os_df["event"].astype(int).tolist()
    alive = [x for x, d in zip(t, e) if not d]
    reported = rec.reported[FOLLOW_UP_ENDPOINT].fu_median
    honoured = rec.honoured[FOLLOW_UP_ENDPOINT].active("fu_median")
    return {
        "reported": reported,
        "paper_wording": wording,
        "paper_says_how": False,
        "read_as": FOLLOW_UP_MEDIAN_READING,
        "why_this_reading": "the paper prints the median with a range (the shortest and longest follow-up); a "
        "median and a range of the same thing are those of the patients' follow-up times. It does not say how "
        "the median was computed, so this is an assumption.",
        "honoured": honoured,
        "in_the_reconstruction": {
            "median_of_all_follow_up_times": float(np.median(t)),
            "reverse_kaplan_meier_median": reverse_km_median(t, e),
            "median_follow_up_of_survivors": float(np.median(alive)) if alive else None,
        },
        "other_readings_honoured": "not sought: they are shown for comparison only",
    }
