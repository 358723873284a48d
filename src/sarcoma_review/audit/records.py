"""The one row format every audit check returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: Allowed verdicts, from best to worst, plus "cannot check".
VERDICTS = ("consistent", "consistent with rounding", "inconsistent", "cannot check")

#: Column order of the audit table.
COLUMNS = ("check_id", "source", "location", "quantity", "reported", "recomputed", "verdict", "explanation")


@dataclass(frozen=True)
class CheckResult:
    """One audit finding.

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
    """

    check_id: str
    source: str
    location: str
    quantity: str
    reported: str
    recomputed: str
    verdict: str
    explanation: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} must be one of {VERDICTS}")
        if "\n" in self.explanation:
            raise ValueError("explanation must be one line")

    def as_dict(self) -> dict[str, str]:
        """The row as a plain dict in :data:`COLUMNS` order."""
        return {k: str(v) for k, v in asdict(self).items()}
