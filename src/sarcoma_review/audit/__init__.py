"""Reproduction audit of the two sources: arithmetic checks, KM feasibility, pseudo-IPD.

Modules
-------
grim
    Pure checks on printed numbers (GRIM-style percentages, sums, restatements, p from CI).
feasibility
    "GRIM for survival curves": can any event/censoring pattern give the reported KM figures?
reconstruct
    Deterministic pseudo-individual patient data for the CNAO endpoints.
ipd
    Recomputation of the ifosfamide series' estimates from its Table 3.
runner
    ``run_audit``, ``write_audit_csv``, ``reconstruct_all``, ``write_pseudo_ipd``.
"""

from sarcoma_review.audit.records import COLUMNS, VERDICTS, CheckResult

__all__ = ["COLUMNS", "VERDICTS", "CheckResult"]
