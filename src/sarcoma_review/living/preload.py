"""Imported once by the chapter fork server (:mod:`sarcoma_review.living.warm`): the heavy imports.

Importing this module imports what every chapter imports (NumPy, pandas, SciPy, pandera, Altair,
IPython, myst-nb's glue and the package's data, statistics, audit
and page modules) and records the SHA-256 of every ``sarcoma_review`` module file loaded, so a forked
chapter process can tell whether the package changed since (:func:`stale_package_modules`).
Nothing here reads data or runs a chapter: a forked process starts with modules as imported.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

MODULES = (
    "numpy",
    "pandas",
    "scipy.stats",
    "scipy.optimize",
    "scipy.special",
    "pandera.pandas",
    "altair",
    "IPython",
    "IPython.core.interactiveshell",
    "IPython.display",
    "myst_nb",
    "nbformat",
    "sarcoma_review.data.loaders",
    "sarcoma_review.data.vocabulary",
    "sarcoma_review.stats.pooling",
    "sarcoma_review.stats.sensitivity",
    "sarcoma_review.stats.moderators",
    "sarcoma_review.stats.survival",
    "sarcoma_review.audit.runner",
    "sarcoma_review.audit.reconstruct",
    "sarcoma_review.pages.common",
    "sarcoma_review.pages.methods",
    "sarcoma_review.pages.literature",
    "sarcoma_review.pages.cnao",
    "sarcoma_review.pages.ifosfamide",
    "sarcoma_review.pages.pooled",
    "sarcoma_review.stats.certainty",
    "sarcoma_review.stats.comparators",
    "sarcoma_review.pages.comparisons",
    "sarcoma_review.pages.audit",
    "sarcoma_review.pages.appraisal",
    "sarcoma_review.pages.summary",
    "sarcoma_review.pages.toxicity",
    "sarcoma_review.pages.protocol",
    "sarcoma_review.pages.render.charts",
    "sarcoma_review.pages.render.tables",
    "sarcoma_review.pages.render.appraisal",
    "sarcoma_review.living.notebooks",
    "sarcoma_review.living.analyses",
)


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def package_files() -> dict[str, str | None]:
    """``{file: sha256}`` of every loaded ``sarcoma_review`` module."""
    out = {}
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if (name == "sarcoma_review" or name.startswith("sarcoma_review.")) and f:
            out[f] = _digest(f)
    return out


for _m in MODULES:
    try:
        importlib.import_module(_m)
    except ImportError:  # an optional import missing here is imported (and fails clearly) in the chapter
        pass

#: The package as the fork server imported it.
LOADED = package_files()


def stale_package_modules() -> bool:
    """True when a preloaded ``sarcoma_review`` module's file has changed since the preload."""
    return any(_digest(f) != h for f, h in LOADED.items())


__all__ = ["LOADED", "MODULES", "package_files", "stale_package_modules"]
