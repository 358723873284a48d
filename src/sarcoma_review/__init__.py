"""sarcoma_review: the package behind the living review of particle therapy for sarcoma.

Layers, each importing only from the layers above it in this list (data → statistics → audit →
pages → living workflow → command line); ``paths`` and ``errors`` are shared by all.

Modules
-------
paths                   where the checkout, its data and its build folders are
errors                  the one error hierarchy (:class:`~sarcoma_review.errors.ReviewError` and below)
data.schemas            the data dictionary (one ``*.schema.yaml`` per table) as pandera schemas
data.loaders            read and validate every table; bad input raises ``DataValidationError``
data.row_rules          patterns that some rows' text must match because code reads those cells
data.tracking           record what data a chapter received: files and frame digests (the build's dependencies)
data.vocabulary         endpoint names and order, landmark names: the words every layer shares
data.overlap            shared cohorts counted once: the protocol's overlap rule
data.patient_groups     the patient group of each series (the clinical question it answers), by one rule
data.evidence           the update's evidence records: both extractions and their agreement, Table I verification,
search flow
stats.pooling           random-effects pooling of landmark rates (REML/DL/PM, HKSJ/Wald), GLMM, Bayesian
stats.sensitivity       one pooled analysis: the primary model and its sensitivity panel, keyed by variant
stats.moderators        subgroup differences, moderator tests, meta-regression, benchmark comparisons
stats.survival          Kaplan-Meier, medians, RMST, Greenwood and log-rank on individual patient data (lifelines)
stats.comparators       a comparator's rate with its own uncertainty; particle minus comparator (MOVER)
stats.comparison_certainty  GRADE for a comparison of particle therapy with a comparator (observational, rated as a
comparison)
stats.certainty         GRADE for overall prognosis: computed inconsistency/imprecision, judged domains from data
audit.records           the audit's result record, verdicts, roles (finding/exploration) and csv columns
audit.registry          the registry of named checks, each with its row of documentation, run group by group
audit.grim              checks of printed numbers (percentages, sums, restatements, p from CI)
audit.feasibility       can any event/censoring pattern give the reported Kaplan-Meier figures?
audit.ipd               recomputation from the ifosfamide patient table
audit.ifosfamide        the ifosfamide paper's printed percentages and values recomputed from Table 3, as checks
audit.patients          the ifosfamide text's statements about patients against its Table 3, pair by pair
audit.reconstruct       pseudo-individual patient data for the CNAO endpoints
audit.narratives        the ifosfamide text's narratives about identified patients against the coded Table 3
audit.runner            run every check; the audit table and its links
audit.flags             which used values the audit's inconsistent or implausible findings concern
pages.common            what the study chapters share (glue, plain values, fact lookups, flag lists)
pages.methods           the Methods chapter (versions of the R reference)
pages.literature        the Table I literature chapter
pages.cnao              the CNAO carbon-ion chapter
pages.ifosfamide        the ifosfamide radiochemotherapy chapter
pages.pooled            the pooled chapter (one page per analysis)
pages.comparisons       the comparisons chapter (subgroups, photon and radiochemotherapy comparators)
pages.audit             the reproduction-audit chapter
pages.summary           the summary of findings (introduction's first screen) and summary_of_findings.csv
pages.appraisal         the risk-of-bias and certainty chapter
pages.toxicity          the toxicity chapter (severe events with denominators; restatements not added)
pages.protocol          how the review was made: evidence flow counts and the limitations' numbers
pages.render.charts     Altair charts, drawn offline
pages.render.appraisal  the risk-of-bias traffic light (Altair) and the evidence flow diagram (HTML)
pages.render.tables     escaped, sortable HTML tables
living.analyses         the one reader of ``book/analyses.yml``; the estimates table every route shares
living.notebooks        execute one notebook (papermill's parameters, in-process IPython) and clean it
living.warm             warm, isolated chapter processes forked from a preloaded fork server
living.preload          the fork server's heavy imports (and the package digests it loaded)
living.plan             the checkout's layout, the chapters of the toc (one page per analysis), build records
living.cache            content hashes, the executed-chapter cache and the kept generated pages
living.execute          execute chapters in parallel (the build) or one on its own (``review run``)
living.publish          stage, generate pages, run Jupyter Book, check and swap the HTML into place
living.build            ``build_book``: the build as a list of steps over those four modules
living.store            the frozen-release store under ``releases/`` (read by release, citation, What's new)
living.release          ``review release``: freeze a version and verify a frozen one
living.citation         CITATION.cff, the How to cite page and the version banner
living.whatsnew         What's new: the evidence compared with the previous release
living.add_study        ``review add-study``: add one series and its rates, validated, estimates before/after
living.versions         every version on record: the Versions page, published release files, the release PDF
living.site             ``review site``: the current book and every release's book as released, versions.json
living.serve            ``review serve``: the book on localhost, rebuilt on every edit, the open page reloaded
cli                     the ``review`` command line; catches ``ReviewError`` once
"""

from sarcoma_review._version import __version__

__all__ = ["__version__"]
