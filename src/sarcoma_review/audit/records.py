"""The one row format every audit check returns, and the columns of the published ``audit.csv``.

Checks and findings
-------------------
Every row of the audit is a *check*. A *finding* is one conclusion about the paper: one conflict,
one passed comparison, one thing that cannot be decided. Several rows can explain the same
finding: the Kaplan-Meier conflict of a curve is re-examined with each of its statements dropped
in turn, and a value the paper prints ambiguously (a minimum follow-up of 6 or 4 months) is tried
under each reading. Those rows are *explorations* (``role == "exploration"``) and carry the
``finding_id`` of the finding they explain; the one row that states the finding has
``role == "finding"``. Only findings are counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: Allowed verdicts, from best to worst, plus "cannot check".
#:
#: ``implausible``: every statement can hold at once, but only with a timing of events that the
#: follow-up makes implausible (see :func:`sarcoma_review.audit.feasibility.plausibility` for the
#: exact rule).
VERDICTS = ("consistent", "consistent with rounding", "implausible", "inconsistent", "cannot check")

#: Verdicts that make a finding worth a reader's attention (listed in plain words in the chapter).
FLAGGED = ("inconsistent", "implausible", "cannot check")

#: Roles of a row: the row stating a finding (counted once) or a row exploring it.
ROLES = ("finding", "exploration")

#: Column order of the audit table (and of the published audit.csv).
COLUMNS = (
    "check_id",
    "finding_id",
    "role",
    "source",
    "location",
    "quantity",
    "reported",
    "recomputed",
    "verdict",
    "explanation",
)

#: What each column of audit.csv holds (printed in the audit chapter and checked against COLUMNS).
COLUMN_DOCS = {
    "check_id": "stable identifier of the row (<source>.<topic>.<detail>); the row's anchor is audit-<check_id>",
    "finding_id": "the finding this row belongs to; one finding per conflict (anchor finding-<finding_id>)",
    "role": "'finding': the one row that states the finding and is counted; 'exploration': a row that "
    "explains it (a statement dropped in turn, another reading of an ambiguous value), not counted",
    "source": "cnao (Cuccia et al. 2020), ifosfamide (Eckert et al. 2010), or table_i (Table I of Cuccia et al. 2020 "
    "against each series' own publication: a secondary table checked against primary publications)",
    "location": "where in the paper the checked statements are printed",
    "quantity": "what is checked, in words",
    "reported": "the value or statements as printed",
    "recomputed": "what recomputation gives, or the competing statement",
    "verdict": "consistent, consistent with rounding, implausible, inconsistent or cannot check",
    "explanation": "one line saying why, with the numbers",
}


@dataclass(frozen=True)
class CheckResult:
    """One audit row.

    Parameters
    ----------
    check_id : str
        Stable identifier (``<source>.<topic>.<detail>``).
    source : str
        ``"cnao"`` (Cuccia et al. 2020) or ``"ifosfamide"`` (Eckert et al. 2010).
    location : str
        Where in the paper the reported value is printed.
    quantity : str
        What is being checked, in words.
    reported : str
        The value as printed.
    recomputed : str
        What recomputation gives (or the competing statement).
    verdict : str
        One of :data:`VERDICTS`.
    explanation : str
        One line saying why.
    finding_id : str
        The finding the row belongs to (default: the row's own ``check_id``).
    role : str
        ``"finding"`` (default) or ``"exploration"`` (see the module docstring).
    """

    check_id: str
    source: str
    location: str
    quantity: str
    reported: str
    recomputed: str
    verdict: str
    explanation: str
    finding_id: str = ""
    role: str = "finding"

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} must be one of {VERDICTS}")
        if self.role not in ROLES:
            raise ValueError(f"role {self.role!r} must be one of {ROLES}")
        if "\n" in self.explanation:
            raise ValueError("explanation must be one line")
        if not self.finding_id:
            object.__setattr__(self, "finding_id", self.check_id)

    def as_dict(self) -> dict[str, str]:
        """The row as a plain dict in :data:`COLUMNS` order."""
        d = {k: str(v) for k, v in asdict(self).items()}
        return {k: d[k] for k in COLUMNS}

    def explores(self, finding_id: str) -> CheckResult:
        """This row as an exploration of ``finding_id``."""
        from dataclasses import replace

        return replace(self, finding_id=finding_id, role="exploration")
