"""sarcoma_review: the package behind the living review of particle therapy for sarcoma.

Modules
-------
paths      where the repository, its data and its build folders are
schemas    the data dictionary (one schema file per table under ``data/``) as pandera schemas
loaders    read and validate every table; bad input raises :class:`DataValidationError`
pooling    random-effects pooling of landmark survival rates (the review's primary model)
survival   Kaplan-Meier, medians, RMST and log-rank on individual patient data (lifelines)
charts     Altair forest plots and Kaplan-Meier curves
build      execute chapters with papermill in parallel and build the book with Jupyter Book
"""

from sarcoma_review._version import __version__

__all__ = ["__version__"]
