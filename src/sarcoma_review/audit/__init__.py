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
    ``run_audit``, ``write_audit_csv``, ``reconstruct_all``, ``write_pseudo_ipd``, ``links``.

``links(source)`` (also ``sarcoma_review.audit.links``) lists a paper's failed checks with an
``href`` to their row in the audit chapter (``audit.html#audit-<check_id>``).
"""

from sarcoma_review.audit.records import COLUMNS, VERDICTS, CheckResult


def links(source, audit=None, data_dir=None):
    """See :func:`sarcoma_review.audit.runner.links` (imported lazily: the runner pulls in SciPy)."""
    from sarcoma_review.audit.runner import links as _links

    return _links(source, audit=audit, data_dir=data_dir)


__all__ = ["COLUMNS", "VERDICTS", "CheckResult", "links"]
