"""Reproduction audit of the two sources: arithmetic checks, KM feasibility, pseudo-IPD.

Modules
-------
grim
    Pure checks on printed numbers (GRIM-style percentages, sums, restatements, p from CI).
feasibility
    "GRIM for survival curves": can any event/censoring pattern give the reported KM figures?
reconstruct
    Deterministic pseudo-individual patient data for the CNAO endpoints, reconstructed as one cohort.
ipd
    Recomputation of the ifosfamide series' estimates from its Table 3.
patients
    The ifosfamide text's statements about patients against Table 3, pair by pair.
narratives
    The ifosfamide text's narratives about identified patients (data/ifosfamide/narratives) against Table 3.
flags
    The used values (series, endpoint, landmark, rate) that the audit's flagged findings concern.
runner
    ``run_audit``, ``write_audit_csv``, ``reconstruct_all``, ``write_pseudo_ipd``, ``links``.

``links(source)`` (also ``sarcoma_review.audit.links``) lists a paper's failed findings with an
``href`` to the finding in the audit chapter (``audit.html#finding-<finding_id>``); each conflict
is listed once (see :mod:`sarcoma_review.audit.records` for findings and explorations).
"""

from sarcoma_review.audit.records import COLUMNS, VERDICTS, CheckResult


def links(source, audit=None, data_dir=None):
    """See :func:`sarcoma_review.audit.runner.links` (imported lazily: the runner pulls in SciPy)."""
    from sarcoma_review.audit.runner import links as _links

    return _links(source, audit=audit, data_dir=data_dir)


__all__ = ["COLUMNS", "VERDICTS", "CheckResult", "links"]
