"""Which clinical question each series answers: its patient group, derived by one rule from its histology make-up.

The front page answers a clinician's question for a patient group. A series answers a group's question only
when every patient it reports is of that group, so the rule reads the study columns ``patient_group`` (the
histology make-up the extraction recorded), ``n_chordoma`` and ``n_patients``:

* **chordoma** (sacrum or spine): every patient has a chordoma (``n_chordoma`` = ``n_patients``, or
  ``patient_group`` chordoma);
* **bone other than chordoma**: ``patient_group`` bone and no chordoma counted (``n_chordoma`` 0 or not
  reported: the text read names no chordoma; this is an assumption and is said so in the row);
* **soft tissue**: ``patient_group`` soft tissue;
* **mixed** (answers no single group's question): bone and soft tissue together, chordomas with other bone
  sarcomas, or a histology the text read does not give.

:func:`derive` returns one row per series with its group, the rule that placed it and what it assumes; the
introduction publishes it as ``patient_groups.csv``.
"""

from __future__ import annotations

import pandas as pd

#: Groups in the order the front page asks their questions; the last answers no group's question.
CHORDOMA, BONE, SOFT, MIXED = "chordoma", "bone other than chordoma", "soft tissue", "mixed"
GROUPS = (CHORDOMA, BONE, SOFT)
#: The clinician's question for each group (reader's words).
QUESTIONS = {
    CHORDOMA: "A patient with a chordoma of the sacrum or spine",
    BONE: "A patient with a bone sarcoma other than chordoma",
    SOFT: "A patient with a soft-tissue sarcoma",
}
#: Short names of the groups for tables.
NAMES = {
    CHORDOMA: "chordoma of the sacrum or spine",
    BONE: "bone sarcoma other than chordoma",
    SOFT: "soft-tissue sarcoma",
    MIXED: "mixed or unreported histology",
}
#: The GRADE population whose judged domains (risk of bias, indirectness, publication bias) a group's rating
#: uses: the chordoma series for chordoma; the series other than chordoma, which hold the other two groups.
JUDGEMENT_POPULATION = {CHORDOMA: "chordoma", BONE: "non-chordoma", SOFT: "non-chordoma"}

COLUMNS = (
    "study_id",
    "series",
    "n_patients",
    "n_chordoma",
    "site",
    "histology",
    "patient_group_data",
    "group",
    "rule",
    "assumption",
)
CSV_NAME = "patient_groups.csv"


def _num(x) -> float | None:
    v = pd.to_numeric(pd.Series([x]), errors="coerce").iloc[0]
    return None if pd.isna(v) else float(v)


def classify(patient_group: str, n_chordoma, n_patients) -> tuple[str, str, str]:
    """``(group, rule, assumption)`` for one series (see the module's rule)."""
    pg = str(patient_group).strip().casefold()
    nc, n = _num(n_chordoma), _num(n_patients)
    if pg == "chordoma" or (nc is not None and n is not None and nc == n and n > 0):
        return CHORDOMA, "every patient has a chordoma", ""
    if pg == "bone":
        if nc is not None and nc > 0:
            return (
                MIXED,
                f"bone sarcomas, {nc:.0f} of {n:.0f} with a chordoma: neither all chordoma nor free of it",
                "",
            )
        if nc == 0:
            return BONE, "bone sarcomas, none with a chordoma", ""
        return (
            BONE,
            "bone sarcomas; the text read counts no chordoma",
            "that the series holds no chordoma (its publication names none and gives no count)",
        )
    if pg == "soft tissue":
        return SOFT, "soft-tissue sarcomas only", ""
    if pg == "mixed":
        return MIXED, "bone and soft-tissue sarcomas together", ""
    return MIXED, "the text read does not give the histology", ""


def derive(studies: pd.DataFrame) -> pd.DataFrame:
    """One row per series (:data:`COLUMNS`): its patient group, the rule that placed it there and what it assumes."""
    rows = []
    for r in studies.drop_duplicates("study_id").itertuples(index=False):
        group, rule, assumption = classify(r.patient_group, r.n_chordoma, r.n_patients)
        rows.append(
            {
                "study_id": r.study_id,
                "series": f"{r.first_author} {int(r.year)}",
                "n_patients": int(r.n_patients),
                "n_chordoma": _num(r.n_chordoma),
                "site": r.site,
                "histology": r.histology,
                "patient_group_data": r.patient_group,
                "group": group,
                "rule": rule,
                "assumption": assumption,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def group_of(studies: pd.DataFrame) -> dict[str, str]:
    """``{study_id: group}``."""
    d = derive(studies)
    return dict(zip(d["study_id"], d["group"]))
