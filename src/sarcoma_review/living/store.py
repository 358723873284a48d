"""The frozen-release store under ``releases/<version>/``: what release, citation and What's new share.

A release folder holds ``estimates.csv`` (written by :func:`estimates_csv_bytes`, byte-stable),
``audit.csv``, ``data_hashes.json``, a copy of ``data/`` and ``manifest.json``. This module reads and
writes those files and knows the versions on record; it imports nothing else of the living layer,
so :mod:`~sarcoma_review.living.release`, :mod:`~sarcoma_review.living.citation` and
:mod:`~sarcoma_review.living.whatsnew` all depend on it and not on each other.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.errors import ReleaseError
from sarcoma_review.paths import REPO_ROOT


def git(root: Path, *args: str, check: bool = False) -> str | None:
    """``git -C root ARGS``'s output, stripped; None when git fails (or is absent) unless ``check``,
    in which case a :class:`ReleaseError` says which command failed."""
    try:
        res = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        if check:
            raise ReleaseError("git is not installed; a release needs git") from None
        return None
    if res.returncode != 0:
        if check:
            raise ReleaseError(f"git {' '.join(args)} failed: {res.stderr.strip()}")
        return None
    return res.stdout.strip()


#: Column order of the frozen estimates table (the pooling module's tidy output).
ESTIMATE_COLUMNS = [
    "analysis_id",
    "endpoint",
    "horizon_years",
    "subgroup_column",
    "subgroup_value",
    "k",
    "n_patients",
    "model",
    "tau2_method",
    "ci_method",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_p",
    "note",
    "kind",
    "series",
]
#: ``kind`` is "pooled" or "single series" (one series shown as itself, named in ``series``); releases
#: frozen before these columns existed are read with ``kind`` derived from ``k`` (:func:`read_estimates_csv`).

#: The summary-of-findings table a release freezes (with the certainty ratings What's new compares).
SOF_FILE = "summary_of_findings.csv"

#: Rows are sorted by these columns (then by every other column, so the order is total).
SORT_KEYS = ["analysis_id", "subgroup_column", "subgroup_value", "model", "tau2_method", "ci_method"]
#: Float format of the frozen CSV (10 significant digits: far below any reported precision, and
#: stable across platforms for the same computation).
FLOAT_FORMAT = "%.10g"

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2.3"`` -> ``(1, 2, 3)``; anything else raises :class:`ReleaseError`."""
    m = _SEMVER.match(text.strip())
    if not m:
        raise ReleaseError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 0.2.0).")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def list_releases(root: Path = REPO_ROOT) -> list[str]:
    """Versions frozen under ``<root>/releases/``, oldest first."""
    base = Path(root) / "releases"
    if not base.is_dir():
        return []
    versions = [p.name for p in base.iterdir() if p.is_dir() and _SEMVER.match(p.name)]
    return sorted(versions, key=parse_version)


def previous_release_dir(root: Path, before: str | None = None) -> Path | None:
    """The newest frozen release (strictly older than ``before`` when given), or None."""
    versions = [v for v in list_releases(root) if before is None or parse_version(v) < parse_version(before)]
    return Path(root) / "releases" / versions[-1] if versions else None


# --- analyses and estimates ----------------------------------------------------------------------


def canonical_estimates(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed column order (:data:`ESTIMATE_COLUMNS`, then any extra columns by name) and sorted rows."""
    df = df.copy()
    for col in ESTIMATE_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA
    cols = ESTIMATE_COLUMNS + sorted(c for c in df.columns if c not in ESTIMATE_COLUMNS)
    df = df[cols]
    keys = SORT_KEYS + [c for c in cols if c not in SORT_KEYS]
    order = sorted(range(len(df)), key=lambda i: tuple(_sort_key(df.iloc[i][k]) for k in keys))
    return df.iloc[order].reset_index(drop=True)


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return (0, "")
    if isinstance(v, (int, float)):
        return (1, float(v))
    return (2, str(v))


def estimates_csv_bytes(df: pd.DataFrame, columns: list[str] | None = None) -> bytes:
    """Deterministic CSV bytes: canonical order, ``%.10g`` floats, empty NA, ``\\n`` line endings, UTF-8.

    ``columns`` restricts the table to the columns a frozen file recorded (a release frozen before a
    column existed is verified on the columns it has).
    """
    df = canonical_estimates(df)
    if columns is not None:
        df = df[list(columns)]
    return df.to_csv(index=False, float_format=FLOAT_FORMAT, na_rep="", lineterminator="\n").encode("utf-8")


def write_estimates_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write :func:`estimates_csv_bytes` to ``path``."""
    Path(path).write_bytes(estimates_csv_bytes(df))
    return Path(path)


def read_estimates_csv(path: Path) -> pd.DataFrame:
    """Read a frozen estimates table (subgroup_value kept as text)."""
    df = pd.read_csv(
        path,
        dtype={
            "subgroup_column": "string",
            "subgroup_value": "string",
            "analysis_id": "string",
            "note": "string",
            "kind": "string",
            "series": "string",
        },
        keep_default_na=True,
    )
    if "k" in df.columns:
        derived = pd.Series(["single series" if k == 1 else "pooled" for k in df["k"]], index=df.index, dtype="string")
        df["kind"] = df["kind"].fillna(derived) if "kind" in df.columns else derived
    return df


# --- audit and hashes ----------------------------------------------------------------------------


def data_hashes(data_dir: Path) -> dict[str, str]:
    """sha256 of every file under ``data_dir`` (POSIX relative paths, sorted)."""
    data_dir = Path(data_dir)
    out = {}
    for p in sorted(data_dir.rglob("*"), key=lambda q: q.relative_to(data_dir).as_posix()):
        if p.is_file() and "__pycache__" not in p.parts:
            out[p.relative_to(data_dir).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# --- git -----------------------------------------------------------------------------------------
