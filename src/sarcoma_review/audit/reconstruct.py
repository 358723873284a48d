"""Deterministic pseudo-individual patient data for the CNAO endpoints.

Every statement is read from ``data/cnao`` (:func:`cnao_problems`), so a data change changes the
audit. Assumptions (documented in the audit chapter; the figures are those of the current data):

* Time origin is the start of CIRT; times are months. Follow-up range 6-61 months (Results; the
  abstract's 4-61 is the competing statement). Every censoring lies in ``[6, 61]``.
* Accrual January 2013 - September 2018 (68 months; :func:`accrual_months` reads it from
  facts.csv). With the data cut-off at the earliest date the minimum follow-up allows (September 2018 + 6 months), the potential follow-up of a patient still
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

import os
from pathlib import Path

import pandas as pd

from sarcoma_review.audit.feasibility import (
    KMProblem,
    evaluate_statements,
    find_witness,
    km_exact,
)
from sarcoma_review.data import tracking
from sarcoma_review.paths import data_dir as default_data_dir

#: Month names as printed in the accrual statements ("January 2013").
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")

#: Which fact gives each endpoint's event count, and where in the paper it is stated.
EVENT_FACTS = {"LC": "local_failures_results", "DPFS": "distant_progression_results", "OS": "deaths_results"}


def read_strings(group: str, table: str, data_dir: Path | str | None = None) -> pd.DataFrame:
    """``<data_dir>/<group>/<table>.csv`` with every cell as the printed string.

    The table is first validated against its schema (:func:`sarcoma_review.data.loaders.load_table`,
    clear errors on bad data), then read again as text so that printed precision survives
    ("64" and "64.0" are different statements). The read is recorded with
    :func:`sarcoma_review.data.tracking.record_read`, so the build knows the audit depends on it.
    ``data_dir`` defaults to :func:`sarcoma_review.paths.data_dir` (honours ``$REVIEW_DATA_DIR``).
    """
    from sarcoma_review.data.loaders import load_table

    d = Path(data_dir) if data_dir is not None else default_data_dir()
    path = d / group / f"{table}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the audit needs data/{group}/{table}.csv "
                                "(see data/README.md)")
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


def cnao_problems(fu_min: float | None = None, fu_max: float | None = None,
                  data_dir: Path | str | os.PathLike[str] | None = None) -> dict[str, KMProblem]:
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
        raise ValueError(f"data/cnao: Table II sex counts sum to {n} but n_patients_results says {stated_n}; "
                         "fix one of them")
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
        "LC": KMProblem(n=n, events=events["LC"], landmarks=landmarks("LC"), events_by={24: within_2y},
                        event_min=_num(ttp["value_low"], "time_to_lp_results.value_low"),
                        event_max=_num(ttp["value_high"], "time_to_lp_results.value_high"),
                        event_median=_num(ttp["value"], "time_to_lp_results.value"), fu_min=lo, fu_max=hi,
                        fu_median=fu_median),
        "DPFS": KMProblem(n=n, events=events["DPFS"], landmarks=landmarks("DPFS"), fu_min=lo, fu_max=hi,
                          fu_median=fu_median),
        "OS": KMProblem(n=n, events=events["OS"], landmarks=landmarks("OS"), fu_min=lo, fu_max=hi,
                        fu_median=fu_median, times_are_followup=True),
    }


#: Statements each reconstruction leaves out (a modelling choice; the reasons are generated from
#: the data by :func:`dropped_reasons`).
DROP: dict[str, tuple[str, ...]] = {"LC": ("event_max",), "DPFS": (), "OS": ()}


def drop_reason(problem: KMProblem, name: str) -> str:
    """Why ``name`` is left out of ``problem``'s reconstruction, in words built from its values.

    For an event time lying strictly between two landmarks printed with the same rate:
    ``"latest event at 35 mo contradicts S(24 mo) = S(36 mo) = 67.4%"``; otherwise a pointer to
    the feasibility check.
    """
    if name in ("event_min", "event_max", "event_median") and getattr(problem, name) is not None:
        tb = getattr(problem, name)
        marks = sorted(problem.landmarks.items())
        for (t1, p1), (t2, p2) in zip(marks, marks[1:]):
            if p1 == p2 and t1 < tb < t2:
                return f"{problem.describe(name)} contradicts S({t1:g} mo) = S({t2:g} mo) = {p1}%"
    return f"{problem.describe(name)} is left out (see the KM feasibility check of the audit)"


def dropped_reasons(problems: dict[str, KMProblem] | None = None,
                    data_dir: Path | str | os.PathLike[str] | None = None) -> dict[str, dict[str, str]]:
    """``{endpoint: {statement: reason}}`` for the statements :data:`DROP` leaves out.

    ``problems`` defaults to :func:`cnao_problems` of ``data_dir`` (the reported statements).
    """
    problems = cnao_problems(data_dir=data_dir) if problems is None else problems
    return {ep: {s: drop_reason(p, s) for s in DROP.get(ep, ())} for ep, p in problems.items()}


def reconstruction_problems(fu_min: float | None = None, fu_max: float | None = None,
                            data_dir: Path | str | os.PathLike[str] | None = None) -> dict[str, KMProblem]:
    """The statements each pseudo-IPD honours (the reported set minus :data:`DROP`)."""
    return {ep: p.without(*DROP[ep]) for ep, p in cnao_problems(fu_min, fu_max, data_dir).items()}


def reconstruct(problem: KMProblem, endpoint: str) -> pd.DataFrame:
    """Pseudo-IPD (``time_months``, ``event``, ``endpoint``) satisfying every statement of ``problem``."""
    w = find_witness(problem)
    if w is None:
        raise ValueError(f"{endpoint}: the statements {problem.statements()} cannot all hold; drop one "
                         "(see feasibility.minimal_conflict)")
    df = w.frame().sort_values(["time_months", "event"], ascending=[True, False], kind="stable")
    df["endpoint"] = endpoint
    return df.reset_index(drop=True)


def validate_pseudo_ipd(df: pd.DataFrame, problem: KMProblem, tolerance_pp: float = 1.0,
                        accrual: int | None = None) -> dict[str, bool]:
    """Tolerances of the brief: events exact, every landmark within ``tolerance_pp``, times in bounds.

    ``accrual`` is the accrual window in months (default :func:`accrual_months` of the data).
    """
    accrual = accrual_months() if accrual is None else accrual
    t, e = df["time_months"].tolist(), df["event"].astype(int).tolist()
    out = {"n": len(df) == problem.n, "events": sum(e) == problem.events}
    for lm, p in problem.landmarks.items():
        out[f"landmark@{lm:g}"] = abs(float(km_exact(t, e, lm)) * 100 - float(p)) <= tolerance_pp
    cens = [x for x, ev in zip(t, e) if not ev]
    lo = problem.fu_min or 0
    hi = min(problem.fu_max or 1e9, accrual + lo)
    out["censoring_in_followup_and_accrual"] = all(lo <= x <= hi for x in cens)
    out["times_in_followup"] = all(0 < x <= (problem.fu_max or 1e9) for x in t)
    out.update({f"statement:{k}": v for k, v in evaluate_statements(problem, t, e).items()})
    return out
