"""Shared cohorts counted once: the overlap rule of the protocol.

Series from one centre with overlapping accrual may report the same patients. They share an
``overlap_group`` in ``literature/studies`` (the evidence is in ``literature/overlap_groups``). A
primary pool counts each group once: among the group's series that report the pooled endpoint at
the pooled horizon, the one with the most patients; a tie goes to the later publication, then to
the smaller ``study_id``. The series it stands in for are left out of the primary pool and kept
for the sensitivity analysis that pools every series as published.

A series without a group (empty ``overlap_group``, or a table without the column) is its own group.
"""

from __future__ import annotations

import pandas as pd

#: The studies column naming a series' overlap group.
COLUMN = "overlap_group"
#: Columns of :func:`stand_ins`.
STAND_IN_COLUMNS = ("overlap_group", "kept", "left_out")


#: The studies column naming a series' centre (``literature/centres``): the "one series per centre" row.
CENTRE_COLUMN = "centre_key"


def _group_keys(rows: pd.DataFrame, column: str = COLUMN) -> pd.Series:
    if column not in rows.columns:
        return rows["study_id"].astype(str)
    g = rows[column].astype("string").fillna("").str.strip()
    return g.where(g != "", "series:" + rows["study_id"].astype(str))


def counted(rows: pd.DataFrame, column: str = COLUMN) -> pd.Series:
    """Boolean mask over ``rows`` (one landmark: one row per series): True for the series a primary
    pool counts, False for a series another one of its overlap group stands in for. With
    ``column=CENTRE_COLUMN`` the same rule keeps one series per centre."""
    if rows.empty:
        return pd.Series([], dtype=bool, index=rows.index)
    keys = _group_keys(rows, column)
    order = pd.DataFrame(
        {
            "key": keys,
            "n": rows["n_patients"].astype(float),
            "year": rows["year"].astype(float) if "year" in rows.columns else 0.0,
            "sid": rows["study_id"].astype(str),
        },
        index=rows.index,
    )
    # most patients first, then the later publication, then the smaller id
    order = order.sort_values(["key", "n", "year", "sid"], ascending=[True, False, False, True], kind="stable")
    first = ~order.duplicated("key", keep="first")
    return first.reindex(rows.index)


def independent(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a primary pool counts (each overlap group once), in their original order."""
    return rows[counted(rows)]


def stand_ins(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per overlap group that lost a series here: the group, the series kept and the
    series it stands in for (space-separated ids, sorted). Empty when nothing was left out."""
    mask = counted(rows)
    if mask.all():
        return pd.DataFrame(columns=list(STAND_IN_COLUMNS))
    keys = _group_keys(rows)
    out = []
    for key in sorted(set(keys[~mask])):
        members = rows[keys == key]
        kept = members[mask[members.index]]["study_id"].astype(str).tolist()
        left = sorted(members[~mask[members.index]]["study_id"].astype(str))
        out.append((key, kept[0], " ".join(left)))
    return pd.DataFrame(out, columns=list(STAND_IN_COLUMNS))


def one_per_centre(rows: pd.DataFrame) -> pd.DataFrame:
    """The largest series of each centre (the overlap rule's order) among ``rows`` (one landmark); rows
    unchanged when the table has no ``centre_key``."""
    return rows[counted(rows, CENTRE_COLUMN)]


def independent_by_landmark(literature: pd.DataFrame) -> pd.DataFrame:
    """:func:`independent` applied to each endpoint x horizon of a whole literature table (the rows
    every primary pool counts), in the table's original order."""
    if literature.empty:
        return literature
    keep = pd.Series(False, index=literature.index)
    for _, g in literature.groupby(["endpoint", "horizon_years"], sort=False):
        keep[g.index] = counted(g)
    return literature[keep]
