"""Versioned, citable releases: ``review release VERSION``.

A release

1. checks that VERSION is a semantic version (``MAJOR.MINOR.PATCH``) greater than the current one
   and that ``data/`` has no uncommitted changes (otherwise the tag could not reproduce it);
2. computes the pooled-estimates table from ``data/`` (:func:`current_estimates`) and compares it
   with the previous release (:mod:`sarcoma_review.whatsnew`);
3. writes the version into ``src/sarcoma_review/_version.py``, rewrites ``CITATION.cff`` (version,
   date-released), prepends a ``CHANGELOG.md`` entry (the What's-new comparison), regenerates
   ``book/cite.md`` and ``book/whats-new.md``;
4. freezes ``releases/<VERSION>/``: ``estimates.csv`` (deterministic bytes), ``audit.csv`` (when the
   audit module exists; otherwise the manifest and the command say it was skipped), ``data_hashes.json``
   (sha256 of every file under ``data/``), ``manifest.json`` (version, date, git commit, data date,
   analyses, library versions), ``whats-new.md`` and a copy of ``data/`` (for the next comparison);
5. commits exactly those files and tags the commit ``vVERSION`` (annotated).

Rebuilding a release from its tag reproduces ``estimates.csv`` byte for byte: see
:func:`verify_release`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import typer
import yaml

from sarcoma_review import citation
from sarcoma_review.paths import REPO_ROOT

#: Column order of the frozen estimates table (the pooling module's tidy output).
ESTIMATE_COLUMNS = ["analysis_id", "endpoint", "horizon_years", "subgroup_column", "subgroup_value", "k",
                    "n_patients", "model", "tau2_method", "ci_method", "estimate", "ci_low", "ci_high", "pi_low",
                    "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high", "i2", "h2", "q", "q_df", "q_p", "note"]
#: Rows are sorted by these columns (then by every other column, so the order is total).
SORT_KEYS = ["analysis_id", "subgroup_column", "subgroup_value", "model", "tau2_method", "ci_method"]
#: Float format of the frozen CSV (10 significant digits: far below any reported precision, and
#: stable across platforms for the same computation).
FLOAT_FORMAT = "%.10g"

#: Used when book/analyses.yml (owned by the build) does not exist yet.
DEFAULT_ANALYSES: list[dict[str, Any]] = [
    {"id": "lc5", "title": "5-year local control", "endpoint": "LC", "horizon_years": 5},
    {"id": "os5", "title": "5-year overall survival", "endpoint": "OS", "horizon_years": 5},
    {"id": "lc3", "title": "3-year local control", "endpoint": "LC", "horizon_years": 3},
    {"id": "os3", "title": "3-year overall survival", "endpoint": "OS", "horizon_years": 3},
]
#: Every analysis is also run by these subgroup columns of the studies table.
DEFAULT_SUBGROUPS = ["particle_group"]

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

#: A pooling function: (rows of one analysis: studies merged with outcomes, the analysis entry,
#: subgroup column or None) -> tidy DataFrame with :data:`ESTIMATE_COLUMNS`.
PoolFn = Callable[[pd.DataFrame, dict[str, Any], "str | None"], pd.DataFrame]


class ReleaseError(RuntimeError):
    """A release cannot proceed; the message says how to fix it."""


# --- versions ------------------------------------------------------------------------------------

def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2.3"`` -> ``(1, 2, 3)``; anything else raises :class:`ReleaseError`."""
    m = _SEMVER.match(text.strip())
    if not m:
        raise ReleaseError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 0.2.0).")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def check_new_version(new: str, current: str, current_released: bool = True) -> None:
    """Raise :class:`ReleaseError` unless ``new`` is a semantic version greater than ``current``.

    When ``current`` has never been released (no ``releases/<current>/``), ``new`` may equal it:
    the version file then names the release in preparation, and its first release uses it.
    """
    if not current_released and parse_version(new) == parse_version(current):
        return
    if parse_version(new) <= parse_version(current):
        raise ReleaseError(f"version {new} must be greater than the current version {current}; "
                           f"e.g. {bump(current, 'patch')}, {bump(current, 'minor')} or {bump(current, 'major')}.")


def bump(version: str, part: str) -> str:
    """The next ``major``/``minor``/``patch`` version after ``version``."""
    ma, mi, pa = parse_version(version)
    return {"major": f"{ma + 1}.0.0", "minor": f"{ma}.{mi + 1}.0", "patch": f"{ma}.{mi}.{pa + 1}"}[part]


def write_version(root: Path, version: str) -> Path:
    """Rewrite the ``__version__`` line of ``<root>/src/sarcoma_review/_version.py``."""
    path = Path(root) / "src" / "sarcoma_review" / "_version.py"
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r'^__version__\s*=\s*"[^"]*"', f'__version__ = "{version}"', text, flags=re.M)
    if n != 1:
        raise ReleaseError(f"{path}: expected exactly one `__version__ = \"...\"` line, found {n}.")
    path.write_text(new, encoding="utf-8", newline="\n")
    return path


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

def load_analyses(root: Path = REPO_ROOT) -> list[dict[str, Any]]:
    """The standard analyses: ``book/analyses.yml`` when it exists (shared with the book), else the default.

    Each entry has ``id``, ``title``, ``endpoint`` and ``horizon_years``. The file may be a list or a
    mapping with an ``analyses`` list. An empty list (no pooled page in the book yet) gives the default.
    """
    path = Path(root) / "book" / "analyses.yml"
    if not path.exists():
        return [dict(a) for a in DEFAULT_ANALYSES]
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not raw or (isinstance(raw, dict) and not raw.get("analyses")):
        # The book lists no pooled page yet: a release still freezes the standard analyses.
        return [dict(a) for a in DEFAULT_ANALYSES]
    entries = raw.get("analyses", raw) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ReleaseError(f"{path}: expected a list of analyses (id, title, endpoint, horizon_years).")
    for e in entries:
        missing = {"id", "endpoint", "horizon_years"} - set(e)
        if missing:
            raise ReleaseError(f"{path}: analysis {e!r} lacks {sorted(missing)}.")
    return entries


def analysis_rows(data_dir: Path) -> pd.DataFrame:
    """Studies joined with their outcomes, validated: :func:`sarcoma_review.loaders.load_literature`.

    Invalid data raise the loaders' ``DataValidationError`` (a release never freezes unvalidated data).
    """
    from sarcoma_review import loaders

    return loaders.load_literature(Path(data_dir))


def _default_pool() -> PoolFn:
    """:func:`sarcoma_review.pooling.pool` (REML, HKSJ unless the analysis entry says otherwise)."""
    from sarcoma_review import pooling

    def pool(rows: pd.DataFrame, analysis: dict[str, Any], subgroup: str | None) -> pd.DataFrame:
        return pooling.pool(rows, analysis["endpoint"], analysis["horizon_years"],
                            method=analysis.get("tau2_method", "REML"), ci=analysis.get("ci_method", "HKSJ"),
                            analysis_id=analysis["id"], subgroup=subgroup)

    return pool


def current_estimates(data_dir: Path, analyses: list[dict[str, Any]] | None = None,
                      subgroups: Iterable[str] = DEFAULT_SUBGROUPS, pool: PoolFn | None = None,
                      root: Path = REPO_ROOT) -> pd.DataFrame:
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
        The pooling function (default: :mod:`sarcoma_review.pooling`).

    Returns
    -------
    pandas.DataFrame
        Tidy table with :data:`ESTIMATE_COLUMNS` in canonical order (see :func:`canonical_estimates`).
    """
    analyses = load_analyses(root) if analyses is None else analyses
    pool = pool or _default_pool()
    rows = analysis_rows(Path(data_dir))
    parts = []
    for a in analyses:
        sel = rows[(rows["endpoint"] == a["endpoint"]) & (rows["horizon_years"] == a["horizon_years"])]
        if sel.empty:
            continue
        for sub in [None, *subgroups]:
            out = pool(sel.reset_index(drop=True), a, sub)
            if out is not None and len(out):
                parts.append(out)
    if not parts:
        raise ReleaseError(f"no analysis found any outcome rows in {data_dir}; check book/analyses.yml.")
    return canonical_estimates(pd.concat(parts, ignore_index=True))


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


def estimates_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV bytes: canonical order, ``%.10g`` floats, empty NA, ``\\n`` line endings, UTF-8."""
    return canonical_estimates(df).to_csv(index=False, float_format=FLOAT_FORMAT, na_rep="",
                                          lineterminator="\n").encode("utf-8")


def write_estimates_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write :func:`estimates_csv_bytes` to ``path``."""
    Path(path).write_bytes(estimates_csv_bytes(df))
    return Path(path)


def read_estimates_csv(path: Path) -> pd.DataFrame:
    """Read a frozen estimates table (subgroup_value kept as text)."""
    return pd.read_csv(path, dtype={"subgroup_column": "string", "subgroup_value": "string",
                                    "analysis_id": "string", "note": "string"}, keep_default_na=True)


# --- audit and hashes ----------------------------------------------------------------------------

def current_audit(data_dir: Path, audit_fn: Callable[[Path], pd.DataFrame] | None = None
                  ) -> tuple[pd.DataFrame | None, str]:
    """The reproduction-audit table of ``data_dir`` (:func:`sarcoma_review.audit.runner.run_audit`,
    or ``audit_fn`` when given), with a note saying where it came from."""
    if audit_fn is not None:
        return audit_fn(Path(data_dir)), "audit.csv from the given audit function"
    missing = [g for g in ("cnao", "ifosfamide") if not (Path(data_dir) / g).is_dir()]
    if missing:
        return None, (f"audit skipped: the data have no {' or '.join(missing)} tables, whose statements the "
                      "audit checks, so no audit.csv was frozen.")
    from sarcoma_review.audit.runner import run_audit

    return run_audit(Path(data_dir)), "audit.csv from sarcoma_review.audit.runner.run_audit"


def data_hashes(data_dir: Path) -> dict[str, str]:
    """sha256 of every file under ``data_dir`` (POSIX relative paths, sorted)."""
    data_dir = Path(data_dir)
    out = {}
    for p in sorted(data_dir.rglob("*"), key=lambda q: q.relative_to(data_dir).as_posix()):
        if p.is_file() and "__pycache__" not in p.parts:
            out[p.relative_to(data_dir).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# --- git -----------------------------------------------------------------------------------------

def _git(root: Path, *args: str, check: bool = True) -> str:
    res = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout.strip()


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pandas", "numpy", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# --- the release ---------------------------------------------------------------------------------

@dataclass
class ReleaseResult:
    """What a release did (or, with ``dry_run``, would do)."""

    version: str
    previous_version: str | None
    date: str
    release_dir: Path
    estimates: pd.DataFrame
    changelog_entry: str
    notes: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    commit: str | None = None
    tag: str | None = None


def changelog_entry(version: str, date: str, whatsnew_markdown: str) -> str:
    """A CHANGELOG.md entry: ``## [VERSION] - DATE`` then the What's-new text (headings demoted)."""
    body = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", whatsnew_markdown.strip(), flags=re.M)
    return f"## [{version}] - {date}\n\n{body}\n"


def prepend_changelog(path: Path, entry: str) -> Path:
    """Insert ``entry`` above the newest entry of CHANGELOG.md (creating the file when absent)."""
    header = ("# Changelog\n\nEvery release of the living review, newest first. Entries are generated by "
              "`review release` from the What's-new comparison with the previous release.\n\n")
    text = Path(path).read_text(encoding="utf-8") if Path(path).exists() else header
    i = text.find("\n## [")
    new = text.rstrip("\n") + "\n\n" + entry if i < 0 else text[: i + 1] + entry + "\n" + text[i + 1:]
    Path(path).write_text(new, encoding="utf-8", newline="\n")
    return Path(path)


def release(version: str, root: Path = REPO_ROOT, date: str | None = None, *, tag: bool = True,
            commit: bool = True, dry_run: bool = False, pool: PoolFn | None = None,
            audit_fn: Callable[[Path], pd.DataFrame] | None = None) -> ReleaseResult:
    """Make release ``version`` of the review in the git checkout ``root`` (see the module docstring).

    Parameters
    ----------
    version
        New semantic version, greater than the current one.
    root
        Repository root (a git checkout).
    date
        Release date ``YYYY-MM-DD`` (default: today, UTC).
    tag, commit
        Create the annotated tag ``vVERSION`` / the release commit (``tag`` needs ``commit``).
    dry_run
        Compute everything, write nothing.
    pool
        Pooling function (default :mod:`sarcoma_review.pooling`).
    audit_fn
        Audit function ``data_dir -> DataFrame`` (default :mod:`sarcoma_review.audit` when it exists).
    """
    from sarcoma_review import whatsnew

    root = Path(root).resolve()
    current = citation.read_version(root)
    check_new_version(version, current, current_released=(root / "releases" / current).is_dir())
    date = date or _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    _dt.date.fromisoformat(date)
    rel_dir = root / "releases" / version
    if rel_dir.exists():
        raise ReleaseError(f"{rel_dir} already exists: release {version} was frozen before; pick a new version.")
    if _git(root, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise ReleaseError(f"{root} is not a git checkout; releases are commits with tags.")
    if _git(root, "tag", "--list", f"v{version}"):
        raise ReleaseError(f"tag v{version} already exists.")
    dirty = _git(root, "status", "--porcelain", "--", "data")
    if dirty and not dry_run:
        raise ReleaseError("data/ has uncommitted changes; commit them first so the tag reproduces the release:\n"
                           + dirty)
    head = _git(root, "rev-parse", "HEAD")
    data_dir = root / "data"
    analyses = load_analyses(root)
    estimates = current_estimates(data_dir, analyses, pool=pool, root=root)
    prev_dir = previous_release_dir(root, before=version)
    comparison = whatsnew.compare(prev_dir, data_dir, estimates)
    md = whatsnew.render_markdown(comparison, title=f"What's new in version {version}")
    entry = changelog_entry(version, date, md)
    audit_df, audit_note = current_audit(data_dir, audit_fn)
    notes = [audit_note]
    result = ReleaseResult(version, prev_dir.name if prev_dir else None, date, rel_dir, estimates, entry, notes)
    if dry_run:
        return result

    rel_dir.mkdir(parents=True)
    written = [write_estimates_csv(estimates, rel_dir / "estimates.csv")]
    if audit_df is not None:
        p = rel_dir / "audit.csv"
        p.write_bytes(audit_df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode())
        written.append(p)
    hashes = data_hashes(data_dir)
    (rel_dir / "data_hashes.json").write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.copytree(data_dir, rel_dir / "data", ignore=shutil.ignore_patterns("__pycache__"))
    (rel_dir / "whats-new.md").write_text(md, encoding="utf-8", newline="\n")
    manifest = {
        "version": version,
        "date": date,
        "git_commit": head,
        "git_commit_note": "the commit the release was computed from; tag v" + version + " is its child "
                           "(same data and code, plus this folder)",
        "data_date": citation.data_date(root),
        "previous_version": result.previous_version,
        "analyses": analyses,
        "subgroups": DEFAULT_SUBGROUPS,
        "libraries": _library_versions(),
        "estimates_sha256": hashlib.sha256((rel_dir / "estimates.csv").read_bytes()).hexdigest(),
        "notes": notes,
    }
    (rel_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    written += [rel_dir / "data_hashes.json", rel_dir / "data", rel_dir / "whats-new.md", rel_dir / "manifest.json"]

    written.append(write_version(root, version))
    written.append(citation.write_cff(root / "CITATION.cff", version, date))
    written.append(prepend_changelog(root / "CHANGELOG.md", entry))
    (root / "book").mkdir(exist_ok=True)
    written.append(citation.write_cite_page(root / "book" / "cite.md", root / "CITATION.cff", root))
    written.append(whatsnew.write_page(root / "book" / "whats-new.md", root=root, estimates=estimates))
    result.written = written

    if commit:
        _git(root, "add", "--", *[str(p.relative_to(root)) for p in written])
        _git(root, "commit", "-q", "-m", f"Release {version}", "-m", entry)
        result.commit = _git(root, "rev-parse", "HEAD")
        if tag:
            _git(root, "tag", "-a", f"v{version}", "-m", f"Living review version {version} ({date})")
            result.tag = f"v{version}"
    return result


def verify_release(version: str, root: Path = REPO_ROOT, pool: PoolFn | None = None) -> bool:
    """Recompute the estimates from ``<root>`` (e.g. a checkout of tag ``vVERSION``) and compare bytes.

    Returns True when the recomputed table equals ``releases/<VERSION>/estimates.csv`` byte for byte.
    """
    root = Path(root)
    frozen = (root / "releases" / version / "estimates.csv").read_bytes()
    manifest = json.loads((root / "releases" / version / "manifest.json").read_text(encoding="utf-8"))
    df = current_estimates(root / "data", manifest["analyses"], manifest.get("subgroups", DEFAULT_SUBGROUPS),
                           pool=pool, root=root)
    return estimates_csv_bytes(df) == frozen


def release_command(
    version: str = typer.Argument(
        ..., help="New semantic version MAJOR.MINOR.PATCH, greater than the current version (or equal to it "
                  "when that version has never been released: _version.py names the release in preparation)."),
    date: str = typer.Option(None, help="Release date YYYY-MM-DD (default: today, UTC)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and show the changelog entry; write nothing."),
    no_tag: bool = typer.Option(False, "--no-tag", help="Commit the release but do not tag it."),
    no_commit: bool = typer.Option(False, "--no-commit", help="Write the files; no commit, no tag."),
    root: Path = typer.Option(REPO_ROOT, hidden=True, help="Repository root (tests)."),
) -> None:
    """Release VERSION (semantic versioning, greater than the last release): bump _version.py, CITATION.cff
    and CHANGELOG.md, freeze releases/VERSION/ (estimates, audit, data hashes, manifest), commit and tag vVERSION.
    """
    try:
        res = release(version, root=root, date=date, tag=not (no_tag or no_commit), commit=not no_commit,
                      dry_run=dry_run)
    except ReleaseError as exc:
        typer.echo(f"release failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    for note in res.notes:
        typer.echo(f"note: {note}")
    if dry_run:
        typer.echo(res.changelog_entry)
        typer.echo(f"(dry run: nothing written; would freeze {res.release_dir})")
        return
    typer.echo(f"released {res.version} into {res.release_dir}"
               + (f", commit {res.commit[:12]}" if res.commit else "") + (f", tag {res.tag}" if res.tag else ""))
