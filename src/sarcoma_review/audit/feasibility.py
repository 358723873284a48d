"""Feasibility of reported Kaplan-Meier figures without patient data ("GRIM for survival curves").

KM algebra
----------
With ties broken events-first (which leaves the KM estimate unchanged), ``S(t)`` is the product of
``(r_j - 1) / r_j`` over the events up to ``t``, where ``r_1 > r_2 > ... > r_d`` are the risk-set
sizes at the events. Censorings only decide how far ``r`` falls between two events, so *any*
strictly decreasing sequence ``n >= r_1 > ... > r_d >= 1`` is attainable by placing ``r_j - 1 - r_{j+1}`` censorings
between events ``j`` and ``j+1``. Reported statements then become linear constraints on binary
variables ``y[r, k]`` = "an event happens with ``r`` at risk, in time segment ``k``" (segments are cut
at the landmark times), and ``log S`` at a landmark is linear in ``y``. An event with one patient
at risk (``r = 1``) sets S to 0 for good; it is allowed only after the last reported landmark,
where it changes no reported (positive) S. The search is an exact
integer program solved with :func:`scipy.optimize.milp` (HiGHS, deterministic); every witness it
returns is then turned into a concrete dataset and re-checked with exact fractions
(:func:`evaluate_statements`), so a "feasible" verdict never rests on solver tolerances.

Statements (each can be dropped by name to search for the smallest conflicting set):

``landmark@T``   S(T) prints as the given percentage (half-up: ``[p - h, p + h)``)
``events_by@T``  exactly ``m`` events at times ``<= T``
``event_min``    the earliest event time (with ``fu_min``: no censoring before it, so ``r_1 = n``)
``event_max``    the latest event time
``event_median`` the median event time
``fu_min``       no censoring before this time (and for follow-up endpoints, no observation at all)
``fu_max``       no observation after this time
``fu_median``    for endpoints whose times are follow-up times (OS): median of all times
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from sarcoma_review import paths
from sarcoma_review.audit import grim as _grim
from sarcoma_review.audit.grim import printed_interval
from sarcoma_review.paths import write_atomic

#: Outward margin (in log S) around each printed interval. The integer program is a relaxation:
#: an attainable S on the closed end of a printed interval (4/5 = 80% exactly, printed "80" under
#: truncation) must never be cut off, or the check would call attainable statements inconsistent
#: (the brute-force oracle of tests/audit/test_feasibility_oracle.py found exactly that with an
#: inner margin). Every witness is re-checked with exact fractions, so the relaxation cannot make a
#: "feasible" verdict wrong; at worst a witness on a boundary fails the re-check ("cannot check").
LOG_MARGIN = 1e-7


@dataclass(frozen=True)
class KMProblem:
    """Everything reported about one KM curve.

    Parameters
    ----------
    n : int
        Patients in the analysis.
    events : int
        Number of events.
    landmarks : dict[float, str]
        Time (months) -> survival percentage *as printed* (string, precision matters).
    events_by : dict[float, int]
        Time -> number of events at or before it (e.g. "13 of 15 within two years").
    event_min, event_max, event_median : float, optional
        Reported range and median of the event times.
    fu_min, fu_max, fu_median : float, optional
        Reported follow-up range and median.
    times_are_followup : bool
        True for overall survival, whose observed times *are* the follow-up times (so every time
        lies in ``[fu_min, fu_max]`` and their median is ``fu_median``).
    rounding : str
        "half-up" or "truncate": how printed landmarks map to intervals.
    dropped : tuple[str, ...]
        Statement names switched off.
    at_risk_after : (float, int), optional
        Not a reported statement but a device of the pseudo-data reconstruction: ``(M, R)`` lets
        every event after ``M`` months have at most ``R`` patients at risk, so that enough
        censorings fall before ``M`` for the reverse Kaplan-Meier median follow-up to be ``M``.
    """

    n: int
    events: int
    landmarks: dict[float, str] = field(default_factory=dict)
    events_by: dict[float, int] = field(default_factory=dict)
    event_min: float | None = None
    event_max: float | None = None
    event_median: float | None = None
    fu_min: float | None = None
    fu_max: float | None = None
    fu_median: float | None = None
    times_are_followup: bool = False
    rounding: str = "half-up"
    dropped: tuple[str, ...] = ()
    at_risk_after: tuple[float, int] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.events < self.n:
            raise ValueError(f"need 0 < events < n, got events={self.events}, n={self.n}")
        for t, m in self.events_by.items():
            if not 0 <= m <= self.events:
                raise ValueError(f"events_by[{t}]={m} must lie in 0..{self.events}")

    # -- statements ---------------------------------------------------------------------------
    def statements(self) -> list[str]:
        """Names of the active statements (those given and not dropped)."""
        names = [f"landmark@{_t(t)}" for t in sorted(self.landmarks)]
        names += [f"events_by@{_t(t)}" for t in sorted(self.events_by)]
        for a in ("event_min", "event_max", "event_median", "fu_min", "fu_max"):
            if getattr(self, a) is not None:
                names.append(a)
        if self.fu_median is not None and self.times_are_followup:
            names.append("fu_median")
        return [s for s in names if s not in self.dropped]

    def describe(self, name: str) -> str:
        """Plain-words description of one statement."""
        if name.startswith("landmark@"):
            t = _find_key(self.landmarks, name)
            return f"S({_t(t)} mo) = {self.landmarks[t]}%"
        if name.startswith("events_by@"):
            t = _find_key(self.events_by, name)
            return f"{self.events_by[t]} of {self.events} events by {_t(t)} mo"
        labels = {
            "event_min": "earliest event at {} mo",
            "event_max": "latest event at {} mo",
            "event_median": "median event time {} mo",
            "fu_min": "minimum follow-up {} mo",
            "fu_max": "maximum follow-up {} mo",
            "fu_median": "median follow-up {} mo",
        }
        return labels[name].format(_t(getattr(self, name)))

    def plain_reason(self, conflict: list[str]) -> str | None:
        """A clinician-readable reason for a conflict of a recognised shape, else None.

        Recognised: two landmarks printed with the same rate, with a reported event time
        (earliest, latest or median) strictly between them. A Kaplan-Meier curve drops at every
        event, by at least a factor (n - 1)/n, so it cannot be flat across an interval that holds
        an event.
        """
        marks = sorted((_find_key(self.landmarks, s), s) for s in conflict if s.startswith("landmark@"))
        bounds = [s for s in conflict if s in ("event_min", "event_max", "event_median")]
        for (t1, _), (t2, _) in zip(marks, marks[1:]):
            if self.landmarks[t1] != self.landmarks[t2]:
                continue
            for b in bounds:
                tb = getattr(self, b)
                if t1 < tb < t2:
                    lo, hi = (float(x) for x in printed_interval(self.landmarks[t1], self.rounding))
                    return (
                        f"the rate is printed as {self.landmarks[t1]}% at both {_t(t1)} and {_t(t2)} months, "
                        f"so no event can have happened in between; yet the paper reports "
                        f"{self.describe(b)}. An event between {_t(t1)} and {_t(t2)} months lowers the "
                        f"curve by at least a factor {self.n - 1}/{self.n}: from at most {hi:g}% to at most "
                        f"{math.ceil(hi * (self.n - 1) / self.n * 100) / 100:.2f}%, below the {lo:g}% that a printed "
                        f"{self.landmarks[t2]}% allows"
                    )
        return None

    def without(self, *names: str) -> KMProblem:
        """A copy with the named statements dropped."""
        return replace(self, dropped=tuple(sorted(set(self.dropped) | set(names))))

    def active(self, name: str) -> bool:
        return name in self.statements()

    # -- derived --------------------------------------------------------------------------------
    def active_landmarks(self) -> dict[float, str]:
        return {t: p for t, p in self.landmarks.items() if self.active(f"landmark@{_t(t)}")}

    def active_events_by(self) -> dict[float, int]:
        return {t: m for t, m in self.events_by.items() if self.active(f"events_by@{_t(t)}")}

    def cutpoints(self) -> list[float]:
        cuts = set(self.active_landmarks()) | set(self.active_events_by())
        if self.active("fu_median"):
            cuts.add(self.fu_median)  # type: ignore[arg-type]
        if self.at_risk_after is not None:
            cuts.add(self.at_risk_after[0])
        return sorted(cuts)


def _t(t: float) -> str:
    return f"{t:g}"


def _find_key(d: dict[float, object], name: str) -> float:
    tag = name.split("@", 1)[1]
    for k in d:
        if _t(k) == tag:
            return k
    raise KeyError(name)


@dataclass
class Witness:
    """A concrete dataset that satisfies every active statement (verified exactly)."""

    times: list[float]
    events: list[int]
    risk_sets: list[int]
    segments: list[int]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time_months": self.times, "event": self.events})


class Undecided(RuntimeError):
    """The search could not settle a problem: the solver hit its time limit, or a solution it
    found could not be turned into a concrete dataset that passes the exact re-check.

    Neither means the statements conflict, so callers must record "cannot check", never
    "inconsistent" (and never "consistent": no verified witness exists).
    """


@dataclass
class FeasibilityResult:
    """Outcome of :func:`check_feasibility`.

    ``undecided`` holds the reason when the search could not settle the question (see
    :class:`Undecided`); then ``feasible`` is False, there is no witness and no conflict.
    """

    feasible: bool
    problem: KMProblem
    witness: Witness | None = None
    conflict: list[str] = field(default_factory=list)
    note: str = ""
    undecided: str = ""


# --------------------------------------------------------------------------------------------
# exact KM and statement evaluation on a concrete dataset (the oracle)
# --------------------------------------------------------------------------------------------
def km_exact(times: Sequence[float], events: Sequence[int], at: float) -> Fraction:
    """Exact KM survival at ``at`` (events before censorings at tied times)."""
    data = sorted(zip(times, events), key=lambda te: (te[0], -te[1]))
    s = Fraction(1)
    at_risk = len(data)
    i = 0
    while i < len(data) and data[i][0] <= at:
        t = data[i][0]
        d = c = 0
        while i < len(data) and data[i][0] == t:
            d += data[i][1]
            c += 1 - data[i][1]
            i += 1
        if d:
            s *= Fraction(at_risk - d, at_risk)
        at_risk -= d + c
    return s


def evaluate_statements(problem: KMProblem, times: Sequence[float], events: Sequence[int]) -> dict[str, bool]:
    """Check every active statement on a concrete dataset, exactly. Returns name -> holds."""
    times = [float(t) for t in times]
    ev = [int(e) for e in events]
    et = sorted(t for t, e in zip(times, ev) if e)
    ct = [t for t, e in zip(times, ev) if not e]
    out: dict[str, bool] = {"n": len(times) == problem.n, "events": sum(ev) == problem.events}
    for t, p in problem.active_landmarks().items():
        lo, hi = printed_interval(p, problem.rounding)
        s = km_exact(times, ev, t) * 100
        out[f"landmark@{_t(t)}"] = lo <= s < hi
    for t, m in problem.active_events_by().items():
        out[f"events_by@{_t(t)}"] = sum(1 for x in et if x <= t) == m
    if problem.active("event_min"):
        out["event_min"] = math.isclose(et[0], problem.event_min)  # type: ignore[arg-type]
    if problem.active("event_max"):
        out["event_max"] = math.isclose(et[-1], problem.event_max)  # type: ignore[arg-type]
    if problem.active("event_median"):
        out["event_median"] = math.isclose(float(np.median(et)), problem.event_median)  # type: ignore[arg-type]
    pool = times if problem.times_are_followup else ct
    if problem.active("fu_min"):
        out["fu_min"] = (not pool) or min(pool) >= problem.fu_min - 1e-9  # type: ignore[operator]
        if problem.times_are_followup:
            out["fu_min"] = out["fu_min"] and math.isclose(min(times), problem.fu_min)  # type: ignore[arg-type]
    if problem.active("fu_max"):
        out["fu_max"] = max(times) <= problem.fu_max + 1e-9 and math.isclose(max(times), problem.fu_max)  # type: ignore[operator]
    if problem.active("fu_median"):
        out["fu_median"] = math.isclose(float(np.median(times)), problem.fu_median)  # type: ignore[arg-type]
    return out


# --------------------------------------------------------------------------------------------
# the integer program
# --------------------------------------------------------------------------------------------
#: Cache folder (under the build context's, :func:`sarcoma_review.paths.context`) of memoised solver
#: results (no build context with a cache: no memo).
MEMO_CACHE = "feasibility"

#: Source files whose text is part of the memo key (this module and the printed-interval rules).
_MEMO_SOURCES = (__file__, _grim.__file__)


def _memo_path(problem: KMProblem, time_limit: float, strict_median: bool, inner: bool = False) -> Path | None:
    """Where the solver result for this exact problem lives, or None when memoising is off.

    The key is the problem's every field, the solver options, a hash of the source of this
    module and of :mod:`sarcoma_review.audit.grim` (whose ``printed_interval`` turns printed
    landmarks into the constraints) and the SciPy version (HiGHS ships with SciPy), so a changed
    statement, a changed constraint or a changed solver never reuses an old answer.
    """
    folder = paths.context().cache(MEMO_CACHE)
    if folder is None:
        return None
    code = hashlib.sha256()
    for module in _MEMO_SOURCES:
        code.update(Path(module).read_bytes())
    key = json.dumps(
        [repr(problem), time_limit, strict_median, code.hexdigest(), scipy.__version__] + (["inner"] if inner else [])
    )
    return Path(folder) / (hashlib.sha256(key.encode()).hexdigest() + ".json")


def _solve_risk_sets(
    problem: KMProblem, time_limit: float = 60.0, strict_median: bool = False, inner: bool = False
) -> tuple[list[int], list[int]] | None:
    """Memoised :func:`_solve_risk_sets_uncached` (see :func:`_memo_path`); the solver is
    deterministic, so a stored answer is the answer it would give again."""
    path = _memo_path(problem, time_limit, strict_median, inner)
    if path is not None and path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        return None if stored is None else (stored[0], stored[1])
    sol = _solve_risk_sets_uncached(problem, time_limit, strict_median, inner)
    if path is not None:  # atomic: a concurrent reader sees the old state or the whole answer
        write_atomic(
            path, json.dumps(None if sol is None else [list(map(int, sol[0])), list(map(int, sol[1]))]).encode("utf-8")
        )
    return sol


class _Model:
    """The integer program of :func:`_solve_risk_sets_uncached` under construction: variables y (risk-set
    size r in segment k), u (monotone segment thresholds) and one auxiliary per active landmark."""

    def __init__(self, problem: KMProblem):
        self.n, self.d = problem.n, problem.events
        self.cuts = cuts = problem.cutpoints()
        self.K = len(cuts) + 1  # segments: (-inf, c0], (c0, c1], ..., (c_{K-2}, inf)
        self.lows = [-math.inf] + cuts
        self.highs = cuts + [math.inf]
        # r = 1 (the last patient at risk has the event) makes S = 0 from then on. Every printed
        # landmark is > 0 (printed_interval floors it above 0), so r = 1 may only fall in a segment
        # after the last active landmark, where it touches no reported S (forbidden below).
        self.R = list(range(1, self.n + 1))
        self.nR = len(self.R)
        self.ny = self.nR * self.K
        self.nu = self.nR * (self.K - 1)
        self.nvar = self.ny + self.nu + len(problem.active_landmarks())
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.ub = np.ones(self.nvar)
        self.lb = np.zeros(self.nvar)
        self.objective = np.zeros(self.nvar)

    def yi(self, ri: int, k: int) -> int:
        return ri * self.K + k

    def ui(self, ri: int, k: int) -> int:
        return self.ny + ri * (self.K - 1) + k

    def add(self, coefs: dict[int, float], lb: float, ub: float) -> None:
        self.rows.append((coefs, lb, ub))

    def forbid(self, ri_pred, k_pred) -> None:
        for ri, r in enumerate(self.R):
            for k in range(self.K):
                if ri_pred(r) and k_pred(k):
                    self.ub[self.yi(ri, k)] = 0

    def seg_of(self, t: float) -> int:
        return next(k for k in range(self.K) if self.lows[k] < t <= self.highs[k])

    def count_in(self, segments) -> dict[int, float]:
        """Coefficients counting the events in ``segments``."""
        return {self.yi(ri, k): 1 for ri in range(self.nR) for k in segments}


def _structure(m: _Model) -> None:
    """Each risk-set size used at most once; the total of events; segments ordered by thresholds."""
    yi, ui, K, nR = m.yi, m.ui, m.K, m.nR
    for ri in range(nR):
        m.add({yi(ri, k): 1 for k in range(K)}, 0, 1)
    m.add({yi(ri, k): 1 for ri in range(nR) for k in range(K)}, m.d, m.d)
    for b in range(K - 1):
        for ri in range(nR):
            m.add({**{yi(ri, k): 1 for k in range(b + 1)}, ui(ri, b): -1}, -np.inf, 0)
            m.add({**{yi(ri, k): 1 for k in range(b + 1, K)}, ui(ri, b): 1}, -np.inf, 1)
            if ri > 0:
                m.add({ui(ri, b): 1, ui(ri - 1, b): -1}, 0, np.inf)


def _landmarks(m: _Model, problem: KMProblem, inner: bool) -> None:
    """Printed survival at the landmarks (log S is linear in y)."""
    # r = 1 cannot precede any landmark (it would make that S = 0, never a printed value)
    marks = problem.active_landmarks()
    if marks:
        last_mark = m.cuts.index(max(marks))
        m.forbid(lambda r: r == 1, lambda k: k <= last_mark)
    # r = 1 never enters: forbidden up to the last landmark
    L = [math.log1p(-1 / r) if r > 1 else 0.0 for r in m.R]
    for li, (t, p) in enumerate(sorted(problem.active_landmarks().items())):
        lo, hi = printed_interval(p, problem.rounding)
        if lo <= 0:
            lo = Fraction(1, 10**9)
        j = m.cuts.index(t)
        coefs = {m.yi(ri, k): L[ri] for ri in range(m.nR) for k in range(j + 1) if m.R[ri] > 1}
        margin = -LOG_MARGIN if inner else LOG_MARGIN
        m.add(coefs, math.log(lo / 100) - margin, math.log(hi / 100) + margin)
        # |log S - log p| <= aux (objective: land close to the printed value)
        aux = m.ny + m.nu + li
        target = math.log(float(p) / 100)
        m.lb[aux], m.ub[aux] = 0, np.inf
        m.add({**coefs, aux: -1}, -np.inf, target)
        m.add({**coefs, aux: 1}, target, np.inf)
        m.objective[aux] = 0  # pure feasibility: the first solution HiGHS finds is deterministic


def _event_statements(m: _Model, problem: KMProblem) -> None:
    """Events by time, the first and last event, the median event time."""
    for t, cnt in problem.active_events_by().items():
        m.add(m.count_in(range(m.cuts.index(t) + 1)), cnt, cnt)
    if problem.active("event_max"):
        tmax = problem.event_max
        m.forbid(lambda r: True, lambda k: m.lows[k] >= tmax)
        m.add(m.count_in([m.seg_of(tmax)]), 1, np.inf)
    if problem.active("event_min"):
        tmin = problem.event_min
        m.forbid(lambda r: True, lambda k: m.highs[k] < tmin)
        m.add(m.count_in([m.seg_of(tmin)]), 1, np.inf)
        if problem.active("fu_min") and tmin < problem.fu_min:  # type: ignore[operator]
            m.lb[m.yi(m.nR - 1, m.seg_of(tmin))] = 1  # first event before any censoring: r_1 = n
    if problem.active("event_median"):
        _event_median(m, problem.event_median)


def _event_median(m: _Model, med: float) -> None:
    half = m.d // 2
    below = [k for k in range(m.K) if m.highs[k] < med]
    above = [k for k in range(m.K) if m.lows[k] >= med]
    if below:
        m.add(m.count_in(below), 0, half)
    if above:
        m.add(m.count_in(above), 0, half)
    if m.d % 2 == 1:
        m.add(m.count_in([m.seg_of(med)]), 1, np.inf)


def _follow_up(m: _Model, problem: KMProblem, strict_median: bool) -> None:
    """Follow-up range, patients at risk after a time, median follow-up."""
    n = m.n
    if problem.times_are_followup and problem.active("fu_min"):
        m.forbid(lambda r: True, lambda k: m.highs[k] < problem.fu_min)
    if problem.active("fu_max"):
        m.forbid(lambda r: True, lambda k: m.lows[k] >= problem.fu_max)
    if problem.at_risk_after is not None:
        m_after, r_after = problem.at_risk_after
        m.forbid(lambda r: r > r_after, lambda k: m.lows[k] >= m_after)
    if problem.active("fu_median"):
        j = m.cuts.index(problem.fu_median)
        lo_r = n // 2 + 2 if strict_median else math.ceil(n / 2)
        hi_r = math.ceil(n / 2) - 1 if strict_median else n // 2
        # Events tied at the median time each take the next smaller risk set (r, r - 1, ...), so only the
        # first of them is sure to have ceil(n/2) at risk: the necessary condition binds the segments
        # before the median's own (found 2026-12-04, tests/audit/test_feasibility_median_ties.py); the
        # sufficient one (a witness) keeps it on the median's segment too.
        m.forbid(lambda r: r < lo_r, (lambda k: k <= j) if strict_median else (lambda k: k < j))
        m.forbid(lambda r: r > hi_r, lambda k: k > j)


def _solve(m: _Model, time_limit: float) -> tuple[list[int], list[int]] | None:
    A = lil_matrix((len(m.rows), m.nvar))
    lbs, ubs = [], []
    for i, (coefs, lo_, hi_) in enumerate(m.rows):
        for c, v in coefs.items():
            A[i, c] = v
        lbs.append(lo_)
        ubs.append(hi_)
    integrality = np.zeros(m.nvar)
    integrality[: m.ny + m.nu] = 1
    res = milp(
        m.objective,
        constraints=LinearConstraint(A.tocsr(), lbs, ubs),
        integrality=integrality,
        bounds=Bounds(m.lb, m.ub),
        options={"time_limit": time_limit, "disp": False},
    )
    if res.status == 2 or res.x is None:  # infeasible
        return None
    if res.status != 0:
        raise Undecided(f"the integer program did not finish within {time_limit:g} s ({res.message}); raise time_limit")
    x = res.x
    picks = [(m.R[ri], k) for ri in range(m.nR) for k in range(m.K) if x[m.yi(ri, k)] > 0.5]
    picks.sort(key=lambda rk: -rk[0])
    return [r for r, _ in picks], [k for _, k in picks]


def _solve_risk_sets_uncached(
    problem: KMProblem, time_limit: float = 60.0, strict_median: bool = False, inner: bool = False
) -> tuple[list[int], list[int]] | None:
    """Risk-set sizes and segment labels of the events, or None when infeasible.

    The printed intervals are widened by :data:`LOG_MARGIN` (a relaxation: None proves that no
    pattern exists); ``inner=True`` narrows them instead, to find a witness away from the ends
    when the relaxed solution sits on one and fails the exact re-check.

    ``fu_median`` is encoded by its necessary condition (last risk set before the median >= n/2,
    first after <= n/2); ``strict_median`` uses the sufficient one (>= n/2 + 2 and <= n/2 - 1, all
    censorings of the straddling gap placed at the median) for building a witness.
    """
    m = _Model(problem)
    _structure(m)
    _landmarks(m, problem, inner)
    _event_statements(m, problem)
    _follow_up(m, problem, strict_median)
    return _solve(m, time_limit)


# --------------------------------------------------------------------------------------------
# from risk sets to concrete times
# --------------------------------------------------------------------------------------------
def _statement_anchors(problem: KMProblem, d: int) -> dict[int, float]:
    """Events whose time a statement gives: the first, the last, the median (index: time)."""
    anchors: dict[int, float] = {}
    if problem.active("event_min"):
        anchors[0] = problem.event_min  # type: ignore[assignment]
    if problem.active("event_max"):
        anchors[d - 1] = problem.event_max  # type: ignore[assignment]
    if problem.active("event_median"):
        if d % 2:
            anchors[d // 2] = problem.event_median  # type: ignore[assignment]
        else:
            anchors[d // 2 - 1] = anchors[d // 2] = problem.event_median  # type: ignore[assignment]
    return anchors


def _range_anchors(
    problem: KMProblem,
    anchors: dict[int, float],
    segments: list[int],
    risk_sets: list[int],
    lo_seg: list[float],
    hi_seg: list[float],
) -> None:
    """Add the events the follow-up range pins down to ``anchors``."""
    d = len(segments)
    if (
        problem.times_are_followup
        and problem.active("fu_min")
        and d
        and 0 not in anchors
        and risk_sets[0] == problem.n
        and lo_seg[segments[0]] < problem.fu_min <= hi_seg[segments[0]]
    ):
        # nobody is censored before the first event, so the shortest follow-up (which the range
        # states exactly) must be that event's time
        anchors[0] = float(problem.fu_min)  # type: ignore[arg-type]
    if (
        problem.active("fu_max")
        and d
        and d - 1 not in anchors
        and risk_sets[-1] == 1
        and lo_seg[segments[-1]] < problem.fu_max <= max(hi_seg[segments[-1]], problem.fu_max)
    ):
        # nobody is left after the last event, so the longest observed time (which the range
        # states exactly) must be that event's time (found by the brute-force oracle)
        anchors[d - 1] = float(problem.fu_max)  # type: ignore[arg-type]


def _event_bounds(
    problem: KMProblem,
    anchors: dict[int, float],
    segments: list[int],
    risk_sets: list[int],
    lo_seg: list[float],
    hi_seg: list[float],
) -> tuple[list[float], list[float]]:
    """Lowest and highest time of each event."""
    floor_t = problem.fu_min if (problem.times_are_followup and problem.active("fu_min")) else 0.0
    lo = [max(lo_seg[s], floor_t or 0.0) for s in segments]
    if problem.active("fu_min"):
        # an event with a censoring before it must come after the earliest possible censoring
        for j, r in enumerate(risk_sets):
            if problem.n - r - j > 0:
                lo[j] = max(lo[j], float(problem.fu_min))  # type: ignore[arg-type]
    hi = [hi_seg[s] for s in segments]
    for i in range(len(segments)):  # monotone bounds from anchors
        for a, ta in anchors.items():
            if i < a:
                hi[i] = min(hi[i], ta)
            elif i > a:
                lo[i] = max(lo[i], ta)
    return lo, hi


def _spread(anchors: dict[int, float], lo: list[float], hi: list[float]) -> list[float]:
    """Anchored events at their time; each block of events with the same bounds evenly inside them."""
    d = len(lo)
    times: list[float] = []
    i = 0
    while i < d:
        if i in anchors:
            times.append(float(anchors[i]))
            i += 1
            continue
        j = i
        while j + 1 < d and j + 1 not in anchors and (lo[j + 1], hi[j + 1]) == (lo[i], hi[i]):
            j += 1
        block = j - i + 1
        for b in range(block):
            times.append(lo[i] + (hi[i] - lo[i]) * (b + 1) / (block + 1))
        i = j + 1
    return times


def _event_times(problem: KMProblem, segments: list[int], risk_sets: list[int]) -> list[float]:
    cuts = problem.cutpoints()
    d = len(segments)
    horizon = problem.fu_max if problem.fu_max is not None else (cuts[-1] + 24 if cuts else 60)
    lo_seg = [0.0] + cuts
    hi_seg = cuts + [horizon]
    anchors = _statement_anchors(problem, d)
    _range_anchors(problem, anchors, segments, risk_sets, lo_seg, hi_seg)
    lo, hi = _event_bounds(problem, anchors, segments, risk_sets, lo_seg, hi_seg)
    return [round(t, 1) for t in _spread(anchors, lo, hi)]


def build_witness(problem: KMProblem, risk_sets: list[int], segments: list[int]) -> Witness:
    """Concrete times from risk-set sizes: events as placed by the statements, censorings in the gaps."""
    n = problem.n
    et = _event_times(problem, segments, risk_sets)
    # an event preceded by a censoring must come after the earliest censoring time
    fu_min = problem.fu_min if problem.active("fu_min") else 0.0
    fu_max = problem.fu_max if problem.active("fu_max") else max(et) + 24
    fu_med = problem.fu_median if problem.active("fu_median") else None
    times: list[float] = []
    events: list[int] = []

    def censor(count: int, start: float, end: float, closed_end: bool) -> None:
        start = max(start, fu_min or 0.0)
        if count <= 0:
            return
        if fu_med is not None and start <= fu_med < end:
            pts = [fu_med] * count
        elif closed_end:
            pts = [start + (end - start) * k / max(count - 1, 1) for k in range(count)] if count > 1 else [end]
        else:
            pts = [start + (end - start) * k / count for k in range(count)]
        times.extend(round(p, 2) for p in pts)
        events.extend([0] * count)

    prev_t = 0.0
    prev_r = n + 1
    for t, r in zip(et, risk_sets):
        gap = prev_r - 1 - r
        censor(gap, prev_t, t, closed_end=False)
        times.append(t)
        events.append(1)
        prev_t, prev_r = t, r
    censor(prev_r - 1, prev_t, fu_max, closed_end=True)
    return Witness(times=times, events=events, risk_sets=list(risk_sets), segments=list(segments))


def find_witness(problem: KMProblem, time_limit: float = 60.0) -> Witness | None:
    """A verified witness dataset, or None when the statements cannot all hold.

    The relaxed integer program decides infeasibility; a solution it finds is built into a dataset
    and re-checked exactly. If that fails (a risk-set product on the very end of a printed
    interval), the program is solved again with the intervals narrowed (``inner``) and re-checked.

    Raises
    ------
    Undecided
        When the solver runs out of time or no solution can be built into a dataset that
        passes the exact re-check (:func:`evaluate_statements`).
    """
    if _solve_risk_sets(problem, time_limit) is None:
        return None
    failures = []
    for inner in (False, True):
        sol = _solve_risk_sets(problem, time_limit, inner=inner)
        if sol is not None and problem.active("fu_median"):
            sol = _solve_risk_sets(problem, time_limit, strict_median=True, inner=inner)
            if sol is None:
                failures.append("the median follow-up is attainable only with ties the witness builder does not place")
                continue
        if sol is None:
            continue
        w = build_witness(problem, *sol)
        checks = evaluate_statements(problem, w.times, w.events)
        failed = [k for k, ok in checks.items() if not ok]
        if not failed:
            return w
        failures.append(
            f"the solver found risk sets {sol[0]}, but the dataset built from them breaks "
            f"{', '.join(failed)} on the exact re-check"
        )
    raise Undecided("; ".join(failures) or "no solution away from the ends of the printed intervals")


def minimal_conflict(problem: KMProblem, time_limit: float = 60.0) -> list[str]:
    """An irreducible set of statements that cannot hold together (deletion filter).

    Each statement is dropped in turn; if the rest stays infeasible it is left out for good.
    The result is minimal (dropping any one member restores feasibility), not necessarily the
    smallest of all conflicting sets.
    """
    current = problem
    for name in problem.statements():
        trial = current.without(name)
        if _solve_risk_sets(trial, time_limit) is None:
            current = trial
    return current.statements()


def check_feasibility(problem: KMProblem, time_limit: float = 60.0) -> FeasibilityResult:
    """Decide whether any event/censoring pattern reproduces every active statement.

    Returns a verified witness when feasible, else a minimal conflicting set of statements.
    When the search cannot settle the question (:class:`Undecided`), the result has
    ``feasible=False``, no conflict and the reason in ``undecided``: an audit must then say
    "cannot check", never accuse the paper.
    """
    try:
        w = find_witness(problem, time_limit)
        if w is not None:
            return FeasibilityResult(True, problem, witness=w)
        return FeasibilityResult(False, problem, conflict=minimal_conflict(problem, time_limit))
    except Undecided as exc:
        return FeasibilityResult(False, problem, undecided=str(exc))


# --------------------------------------------------------------------------------------------
# plausibility: attainable, but only with events where few patients can still be followed
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plausibility:
    """The numbers of the plausibility rule for one curve (see :func:`plausibility`)."""

    implausible: bool
    landmark: float
    landmark_printed: str
    events: int
    max_events_by: int
    late_events: int
    n: int
    followed_max: int
    fu_median: float
    fu_max: float | None
    rate_ratio: float | None
    s_end_max: float | None

    def sentence(self) -> str:
        """The rule's numbers in one plain sentence."""
        head = (
            f"at least {self.late_events} of the {self.events} events must fall after {_t(self.landmark)} months "
            f"(at most {self.max_events_by} fit before it with S({_t(self.landmark)} mo) = {self.landmark_printed}%), "
            f"when with a median follow-up of {_t(self.fu_median)} months at most {self.followed_max} of the "
            f"{self.n} patients can still be followed after {_t(self.landmark)} months"
        )
        if self.rate_ratio is not None and self.fu_max is not None:
            ratio = "without bound" if math.isinf(self.rate_ratio) else f"at least {self.rate_ratio:.1f} times"
            head += (
                f"; the monthly event rate after {_t(self.landmark)} months would have to be {ratio} that of "
                f"the first {_t(self.landmark)} months (the curve falling to at most "
                f"{100 * (self.s_end_max or 0):.1f}% by {_t(self.fu_max)} months)"
            )
        return head


def max_events_by(problem: KMProblem, at: float, time_limit: float = 60.0) -> int | None:
    """The largest number of events at or before ``at`` that is attainable with every active
    statement of ``problem`` (exact integer program, one solve per candidate count, from the
    largest down); None when the statements cannot hold at all."""
    fixed = problem.active_events_by()
    if at in fixed:
        return fixed[at] if _solve_risk_sets(problem, time_limit) is not None else None
    for m in range(problem.events, -1, -1):
        trial = replace(problem, events_by={**problem.events_by, at: m})
        if _solve_risk_sets(trial, time_limit) is not None:
            return m
    return None


def plausibility(problem: KMProblem, time_limit: float = 60.0) -> Plausibility | None:
    """Is a feasible set of statements attainable only with an implausible timing of events?

    The rule (stated in the audit chapter too). Let ``T`` be the latest landmark the paper
    reports for the curve and ``M`` its reported median follow-up. The rule applies when
    ``M <= T``: then at least half of the patients have a follow-up of at most ``M`` months, so at
    most ``floor(n / 2)`` patients can still be under observation after ``T``. Let ``m`` be the
    largest number of events by ``T`` that the integer program finds attainable together with
    every statement (:func:`max_events_by`); the other ``events - m`` must fall after ``T``. The
    statements are **implausible** when that is more than half of all events: most events of the
    endpoint in the unreported tail, where at most half of the patients can still be followed.

    The numbers reported with it: the late events, the bound on patients followed, and how steep
    the curve must then fall: with at most ``a = floor(n/2)`` at risk, ``k`` late events lower the
    curve by at least the factor ``(a - k) / a``, so the monthly event rate after ``T`` (on the log
    scale, up to the maximum follow-up) must be at least ``-ln((a - k)/a) / (fu_max - T)`` against
    at most ``-ln(S_low(T)) / T`` before ``T`` (``S_low`` the lowest value the printed landmark
    allows); their ratio is ``rate_ratio``.

    Reading the median follow-up as the median of the patients' follow-up times is an assumption
    (a paper may give the reverse Kaplan-Meier median, an estimate of the same quantity).

    Returns None when the rule does not apply (no landmark, no median follow-up, ``M > T``) or
    the statements cannot hold at all.
    """
    marks = problem.active_landmarks()
    if not marks or problem.fu_median is None:
        return None
    t_last = max(marks)
    if problem.fu_median > t_last:
        return None
    m = max_events_by(problem, t_last, time_limit)
    if m is None:
        return None
    late = problem.events - m
    a = problem.n // 2
    lo, hi = printed_interval(marks[t_last], problem.rounding)
    ratio = s_end = None
    fu_max = problem.fu_max
    if fu_max is not None and fu_max > t_last and late > 0:
        h_before = -math.log(float(lo) / 100) / t_last
        factor = (a - late) / a if late < a else 0.0
        s_end = float(hi) / 100 * factor
        h_after = math.inf if factor <= 0 else -math.log(factor) / (fu_max - t_last)
        ratio = math.inf if h_before <= 0 else h_after / h_before
    return Plausibility(
        implausible=2 * late > problem.events,
        landmark=t_last,
        landmark_printed=marks[t_last],
        events=problem.events,
        max_events_by=m,
        late_events=late,
        n=problem.n,
        followed_max=a,
        fu_median=problem.fu_median,
        fu_max=fu_max,
        rate_ratio=ratio,
        s_end_max=s_end,
    )
