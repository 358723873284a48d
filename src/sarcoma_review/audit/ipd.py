"""Small exact survival helpers used to recompute the ifosfamide series from its Table 3."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from sarcoma_review.audit.feasibility import km_exact

if TYPE_CHECKING:
    import pandas as pd


def km_steps(times: Sequence[float], events: Sequence[int]) -> list[tuple[float, Fraction, int]]:
    """(time, S after the time, number at risk at the time) at every event time, exactly."""
    out = []
    for t in sorted({t for t, e in zip(times, events) if e}):
        r = sum(1 for x in times if x >= t)
        out.append((t, km_exact(times, events, t), r))
    return out


def km_median(times: Sequence[float], events: Sequence[int]) -> float | None:
    """Smallest event time at which S drops to 0.5 or below (None if never)."""
    for t, s, _ in km_steps(times, events):
        if s <= Fraction(1, 2):
            return t
    return None


def km_rmst(times: Sequence[float], events: Sequence[int], horizon: float) -> float:
    """Area under the KM curve from 0 to ``horizon`` (restricted mean)."""
    area = Fraction(0)
    prev_t, prev_s = Fraction(0), Fraction(1)
    for t, s, _ in km_steps(times, events):
        if t > horizon:
            break
        area += prev_s * (Fraction(t) - prev_t)
        prev_t, prev_s = Fraction(t), s
    area += prev_s * (Fraction(horizon) - prev_t)
    return float(area)


def at_risk(times: Sequence[float], after: float) -> int:
    """Number of patients still under observation after ``after`` (time > after)."""
    return sum(1 for t in times if t > after)


def last_event_time(times: Sequence[float], events: Sequence[int]) -> float | None:
    """Time of the last event (start of the final plateau)."""
    ts = [t for t, e in zip(times, events) if e]
    return max(ts) if ts else None


def size_threshold(chars: pd.DataFrame) -> tuple[float, str]:
    """The tumour-size cut-off of Eckert et al.'s Table 1, read from its category label.

    ``characteristics.csv`` prints the upper size class of ``initial_tumor_size`` as ``">10 cm"``;
    this returns ``(10.0, ">10 cm")``. Raises ``ValueError`` naming the file when no such row exists.
    """
    import re

    rows = chars.loc[chars["variable"] == "initial_tumor_size", "category"].astype(str)
    for cat in rows:
        m = re.fullmatch(r"\s*>\s*([0-9.]+)\s*cm\s*", cat)
        if m:
            return float(m.group(1)), cat.strip()
    raise ValueError(
        "data/ifosfamide/characteristics.csv has no initial_tumor_size row whose category reads "
        f"'>X cm' (found {list(rows)}); the size cut-off is read from it"
    )
