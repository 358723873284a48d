"""The pooled analyses of the book: the one reader of ``book/analyses.yml``, and the estimates
table that the build, a release and What's new all compute the same way.

Each entry of ``book/analyses.yml`` becomes the page ``book/pooled/<id>`` (executed from the
template ``book/pooled.ipynb``); the same entries define what a release freezes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sarcoma_review.data import overlap
from sarcoma_review.data.tracking import record_read
from sarcoma_review.errors import ConfigurationError, ReleaseError, UsageError
from sarcoma_review.living.store import ESTIMATE_COLUMNS, canonical_estimates  # noqa: F401
from sarcoma_review.paths import REPO_ROOT

ANALYSES_FILE = "book/analyses.yml"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def load_analyses(path: Path) -> list[dict[str, Any]]:
    """The analyses listed in ``book/analyses.yml`` (empty when the file is absent).

    Each entry needs ``id`` (lower-case letters, digits, ``-``, ``_``; unique), ``title``,
    ``endpoint`` and ``horizon_years``; every other key is passed to the template as a parameter.
    """
    if not path.exists():
        return []
    record_read(path)  # a chapter that lists the analyses depends on this file (see data.tracking)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get("analyses") if isinstance(data, dict) else None
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ConfigurationError(f"{ANALYSES_FILE}: 'analyses' must be a list of mappings")
    seen: set[str] = set()
    for i, a in enumerate(items):
        if not isinstance(a, dict):
            raise ConfigurationError(f"{ANALYSES_FILE}: entry {i + 1} is not a mapping (id: ..., title: ...)")
        missing = [k for k in ("id", "title", "endpoint", "horizon_years") if k not in a]
        if missing:
            raise ConfigurationError(
                f"{ANALYSES_FILE}: entry {i + 1} ({a.get('id', '?')}) lacks {', '.join(missing)}; add them"
            )
        aid = str(a["id"])
        if not _ID.match(aid):
            raise ConfigurationError(
                f"{ANALYSES_FILE}: id {aid!r} must use lower-case letters, digits, '-' "
                "or '_' (it becomes the page name book/pooled/<id>)"
            )
        if aid in seen:
            raise ConfigurationError(f"{ANALYSES_FILE}: id {aid!r} appears twice; ids must be unique")
        seen.add(aid)
    return items


def _same(a: Any, b: Any) -> bool:
    """Two parameter values are the same value (``5`` and ``5.0`` are; ``"LC"`` and ``"OS"`` are not)."""
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def check_run_parameters(
    base: dict[str, Any], given: dict[str, Any], analyses: Iterable[dict[str, Any]], chapter: str
) -> None:
    """Refuse a run whose parameters contradict the analysis it names (:class:`UsageError`).

    ``base``: the parameters ``review run CHAPTER`` starts from (an analysis id's own parameters, or
    nothing for a notebook); ``given``: the ``-p`` values. A run of ``lc-5y`` with ``-p endpoint=OS``
    would publish overall survival under the title and id of 5-year local control, so any value of
    the analysis' own parameters must stay as book/analyses.yml gives it; likewise ``-p analysis_id``
    may name a listed analysis only with that analysis' parameters.
    """
    listed = {str(a["id"]): a for a in analyses}
    if base.get("analysis_id"):
        own = {k: v for k, v in base.items()}
        for k, v in given.items():
            if k in own and not _same(v, own[k]):
                raise UsageError(
                    f"-p {k}={v} contradicts the analysis {chapter!r}, which book/analyses.yml defines with "
                    f"{k}={own[k]}; run the template instead (review run pooled -p {k}={v} ...), or the "
                    "analysis id that has those parameters"
                )
        return
    aid = given.get("analysis_id")
    if aid is not None and str(aid) in listed:
        a = listed[str(aid)]
        merged = {**base, **given}
        for k, v in a.items():
            if k in ("id", "title"):
                continue
            if k not in merged or not _same(merged[k], v):
                raise UsageError(
                    f"-p analysis_id={aid} names the analysis of {ANALYSES_FILE} with {k}={v}, but this run has "
                    f"{k}={merged.get(k, '(the template default)')}; run `review run {aid}`, or give another "
                    "analysis_id"
                )


#: Used when book/analyses.yml (owned by the build) does not exist yet.
DEFAULT_ANALYSES: list[dict[str, Any]] = [
    {"id": "lc5", "title": "5-year local control", "endpoint": "LC", "horizon_years": 5},
    {"id": "os5", "title": "5-year overall survival", "endpoint": "OS", "horizon_years": 5},
    {"id": "lc3", "title": "3-year local control", "endpoint": "LC", "horizon_years": 3},
    {"id": "os3", "title": "3-year overall survival", "endpoint": "OS", "horizon_years": 3},
]
#: Every analysis is also run by these subgroup columns of the studies table (the histology stratum
#: is derived once, :func:`sarcoma_review.data.vocabulary.with_strata`).
DEFAULT_SUBGROUPS = ["particle_group", "histology_group"]

#: A pooling function: (rows of one analysis: studies merged with outcomes, the analysis entry,
#: subgroup column or None) -> tidy DataFrame with :data:`ESTIMATE_COLUMNS`.
PoolFn = Callable[[pd.DataFrame, dict[str, Any], "str | None"], pd.DataFrame]


# --- versions ------------------------------------------------------------------------------------


def analysis_rows(data_dir: Path) -> pd.DataFrame:
    """Studies joined with their outcomes, validated (:func:`sarcoma_review.data.loaders.load_literature`),
    with the histology stratum (:func:`sarcoma_review.data.vocabulary.with_strata`).

    Invalid data raise the loaders' ``DataValidationError`` (a release never freezes unvalidated data).
    """
    from sarcoma_review.data import loaders, vocabulary

    return vocabulary.with_strata(loaders.load_literature(Path(data_dir)))


def _default_pool() -> PoolFn:
    """:func:`sarcoma_review.stats.sensitivity.pool_primary`: the primary model of the pooled pages
    (REML, HKSJ with the ad hoc correction unless the analysis entry says otherwise)."""
    from sarcoma_review.stats import pooling, sensitivity

    def pool(rows: pd.DataFrame, analysis: dict[str, Any], subgroup: str | None) -> pd.DataFrame:
        return sensitivity.pool_primary(
            rows,
            analysis["endpoint"],
            analysis["horizon_years"],
            tau2_method=analysis.get("tau2_method", "REML"),
            ci_method=analysis.get("ci_method", pooling.PRIMARY_CI),
            analysis_id=analysis["id"],
            subgroup=subgroup,
        )

    return pool


def current_estimates(
    data_dir: Path,
    analyses: list[dict[str, Any]] | None = None,
    subgroups: Iterable[str] = DEFAULT_SUBGROUPS,
    pool: PoolFn | None = None,
    root: Path = REPO_ROOT,
) -> pd.DataFrame:
    """The pooled-estimates table for the data in ``data_dir`` (all studies, then by each subgroup column).

    Parameters
    ----------
    data_dir
        A data folder laid out like ``data/``.
    analyses
        Entries with ``id``, ``endpoint``, ``horizon_years``; default :func:`load_analyses` of ``root``.
    subgroups
        Subgroup columns of the studies table; every analysis is also run by each of them.
    pool
        The pooling function (default: :mod:`sarcoma_review.stats.pooling`).

    Returns
    -------
    pandas.DataFrame
        Tidy table with :data:`ESTIMATE_COLUMNS` in canonical order (see :func:`canonical_estimates`).
    """
    analyses = standard_analyses(root) if analyses is None else analyses
    pool = pool or _default_pool()
    rows = analysis_rows(Path(data_dir))
    parts = []
    for a in analyses:
        sel = rows[(rows["endpoint"] == a["endpoint"]) & (rows["horizon_years"] == a["horizon_years"])]
        sel = overlap.independent(sel)  # shared cohorts counted once, as on the pooled pages
        if sel.empty:
            continue
        for sub in [None, *subgroups]:
            out = pool(sel.reset_index(drop=True), a, sub)
            if out is not None and len(out):
                parts.append(out)
    if not parts:
        raise ReleaseError(f"no analysis found any outcome rows in {data_dir}; check book/analyses.yml.")
    return canonical_estimates(pd.concat(parts, ignore_index=True))


def standard_analyses(root: Path = REPO_ROOT) -> list[dict[str, Any]]:
    """The analyses a release freezes: ``book/analyses.yml`` (:func:`load_analyses`), or
    :data:`DEFAULT_ANALYSES` when it is absent or lists none."""
    return load_analyses(Path(root) / ANALYSES_FILE) or [dict(a) for a in DEFAULT_ANALYSES]
