"""Versioned, citable releases: ``review release VERSION``.

A release

1. checks that VERSION is a semantic version (``MAJOR.MINOR.PATCH``) greater than the current one
   and that ``data/`` has no uncommitted changes (otherwise the tag could not reproduce it);
2. computes the pooled-estimates table from ``data/`` (:func:`current_estimates`) and compares it
   with the previous release (:mod:`sarcoma_review.living.whatsnew`);
3. writes the version into ``src/sarcoma_review/_version.py``, rewrites ``CITATION.cff`` (version,
   date-released), prepends a ``CHANGELOG.md`` entry (the What's-new comparison), regenerates
   ``book/cite.md`` and ``book/whats-new.md``;
4. freezes ``releases/<VERSION>/``: ``estimates.csv`` (deterministic bytes), ``audit.csv`` (when the
   audit module exists; otherwise the manifest and the command say it was skipped),
   ``summary_of_findings.csv`` (the certainty ratings What's new compares; when the data can rate them),
   ``data_hashes.json``
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.errors import ReleaseError
from sarcoma_review.living import citation, store
from sarcoma_review.living.analyses import (
    DEFAULT_SUBGROUPS,
    PoolFn,
    current_estimates,
    standard_analyses,
)
from sarcoma_review.living.store import (
    FLOAT_FORMAT,
    data_hashes,
    estimates_csv_bytes,
    parse_version,
    previous_release_dir,
    write_estimates_csv,
)
from sarcoma_review.paths import REPO_ROOT

#: What a release is computed and built from (relative to the checkout): an uncommitted change in any of
#: them would be released without being in the release commit its manifest names.
RELEASE_INPUTS = (
    "data",
    "src",
    "book",
    "_config.yml",
    "_toc.yml",
    "requirements.txt",
    "constraints.txt",
    "pyproject.toml",
    "CITATION.cff",
    "CHANGELOG.md",
    "releases",
)


def _previous_release_date(root: Path, version: str) -> tuple[str, str] | None:
    """``(version, date)`` of the newest release before ``version`` whose manifest records a date."""
    prev = previous_release_dir(root, before=version)
    if prev is None:
        return None
    try:
        date = json.loads((prev / "manifest.json").read_text(encoding="utf-8")).get("date")
        return (prev.name, _dt.date.fromisoformat(str(date)).isoformat())
    except (OSError, ValueError, AttributeError):
        return None


def check_new_version(new: str, current: str, current_released: bool = True) -> None:
    """Raise :class:`ReleaseError` unless ``new`` is a semantic version greater than ``current``.

    When ``current`` has never been released (no ``releases/<current>/``), ``new`` may equal it:
    the version file then names the release in preparation, and its first release uses it.
    """
    if not current_released and parse_version(new) == parse_version(current):
        return
    if parse_version(new) <= parse_version(current):
        raise ReleaseError(
            f"version {new} must be greater than the current version {current}; "
            f"e.g. {bump(current, 'patch')}, {bump(current, 'minor')} or {bump(current, 'major')}."
        )


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
        raise ReleaseError(f'{path}: expected exactly one `__version__ = "..."` line, found {n}.')
    path.write_text(new, encoding="utf-8", newline="\n")
    return path


def current_audit(
    data_dir: Path, audit_fn: Callable[[Path], pd.DataFrame] | None = None
) -> tuple[pd.DataFrame | None, str]:
    """The reproduction-audit table of ``data_dir`` (:func:`sarcoma_review.audit.runner.run_audit`,
    or ``audit_fn`` when given), with a note saying where it came from."""
    if audit_fn is not None:
        return audit_fn(Path(data_dir)), "audit.csv from the given audit function"
    missing = [g for g in ("cnao", "ifosfamide") if not (Path(data_dir) / g).is_dir()]
    if missing:
        return None, (
            f"audit skipped: the data have no {' or '.join(missing)} tables, whose statements the "
            "audit checks, so no audit.csv was frozen."
        )
    from sarcoma_review.audit.runner import run_audit

    return run_audit(Path(data_dir)), "audit.csv from sarcoma_review.audit.runner.run_audit"


def _git(root: Path, *args: str) -> str:
    """Run git in ``root``; a failure raises :class:`ReleaseError` naming the command."""
    return store.git(root, *args, check=True) or ""


def environment_record(root: Path) -> dict[str, Any]:
    """The environment a release was computed in: Python, platform, every installed distribution
    pinned by ``constraints.txt`` (name -> installed version) and the sha256 of the pin files."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    root = Path(root)
    pins: dict[str, str] = {}
    cons = root / "constraints.txt"
    if cons.exists():
        for line in cons.read_text(encoding="utf-8").splitlines():
            name = line.split("#", 1)[0].split("==", 1)[0].strip()
            if name and "==" in line:
                try:
                    pins[name] = version(name)
                except PackageNotFoundError:
                    pins[name] = "not installed"
    files = {
        n: hashlib.sha256((root / n).read_bytes()).hexdigest()
        for n in ("requirements.txt", "constraints.txt")
        if (root / n).exists()
    }
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "pin_files_sha256": files,
        "packages": pins,
    }


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
    header = (
        "# Changelog\n\nEvery release of the living review, newest first. Entries are generated by "
        "`review release` from the What's-new comparison with the previous release.\n\n"
    )
    text = Path(path).read_text(encoding="utf-8") if Path(path).exists() else header
    i = text.find("\n## [")
    new = text.rstrip("\n") + "\n\n" + entry if i < 0 else text[: i + 1] + entry + "\n" + text[i + 1 :]
    Path(path).write_text(new, encoding="utf-8", newline="\n")
    return Path(path)


def release(
    version: str,
    root: Path = REPO_ROOT,
    date: str | None = None,
    *,
    tag: bool = True,
    commit: bool = True,
    dry_run: bool = False,
    pool: PoolFn | None = None,
    audit_fn: Callable[[Path], pd.DataFrame] | None = None,
    pdf: bool = False,
) -> ReleaseResult:
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
        Pooling function (default :mod:`sarcoma_review.stats.pooling`).
    audit_fn
        Audit function ``data_dir -> DataFrame`` (default :mod:`sarcoma_review.audit` when it exists).
    pdf
        Build the book as released (``review build``) and print it into ``releases/VERSION/book.pdf``
        (:func:`sarcoma_review.living.versions.release_pdf`); needs a ``_toc.yml`` and Chromium.
    """
    from sarcoma_review.living import whatsnew

    root = Path(root).resolve()
    current = citation.read_version(root)
    check_new_version(version, current, current_released=(root / "releases" / current).is_dir())
    date = date or _dt.datetime.now(_dt.UTC).date().isoformat()
    _dt.date.fromisoformat(date)
    rel_dir = root / "releases" / version
    if rel_dir.exists():
        raise ReleaseError(f"{rel_dir} already exists: release {version} was frozen before; pick a new version.")
    if store.git(root, "rev-parse", "--is-inside-work-tree") != "true":
        raise ReleaseError(f"{root} is not a git checkout; releases are commits with tags.")
    if _git(root, "tag", "--list", f"v{version}"):
        raise ReleaseError(f"tag v{version} already exists.")
    inputs = [p for p in RELEASE_INPUTS if (root / p).exists()]
    dirty = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *inputs) if inputs else ""
    if dirty and not dry_run:
        lines = dirty.splitlines()
        shown = (
            ", ".join(ln.split(maxsplit=1)[-1] for ln in lines[:5])  # porcelain: "XY path"
            + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        )
        raise ReleaseError(
            f"uncommitted changes in what the release is built from ({shown}); commit or "
            "discard them first, so that the release commit and its tag hold exactly what was "
            "released (git status)"
        )
    prev_date = _previous_release_date(root, version)
    if prev_date is not None and date < prev_date[1]:
        raise ReleaseError(
            f"--date {date} is before release {prev_date[0]} ({prev_date[1]}); a release cannot "
            "be dated before the one it follows: give a later date (default today)"
        )
    head = _git(root, "rev-parse", "HEAD")
    data_dir = root / "data"
    analyses = standard_analyses(root)
    estimates = current_estimates(data_dir, analyses, pool=pool, root=root)
    prev_dir = previous_release_dir(root, before=version)
    sof, sof_why = whatsnew.current_sof(data_dir, root)
    comparison = whatsnew.compare(prev_dir, data_dir, estimates, sof)
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
    if sof is not None:
        from sarcoma_review.pages.summary import csv_bytes

        p = rel_dir / store.SOF_FILE
        p.write_bytes(csv_bytes(sof))
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
        "environment": environment_record(root),
        "estimates_sha256": hashlib.sha256((rel_dir / "estimates.csv").read_bytes()).hexdigest(),
        "notes": notes,
        "summary_of_findings": (store.SOF_FILE if sof is not None else f"not frozen: {sof_why}"),
    }
    (rel_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    written += [rel_dir / "data_hashes.json", rel_dir / "data", rel_dir / "whats-new.md", rel_dir / "manifest.json"]

    written.append(write_version(root, version))
    written.append(citation.write_cff(root / "CITATION.cff", version, date))
    written.append(prepend_changelog(root / "CHANGELOG.md", entry))
    (root / "book").mkdir(exist_ok=True)
    written.append(citation.write_cite_page(root / "book" / "cite.md", root / "CITATION.cff", root))
    written.append(whatsnew.write_page(root / "book" / "whats-new.md", root=root, estimates=estimates))
    if (root / "book" / "versions.md").exists():
        from sarcoma_review.living import versions

        written.append(versions.write_page(root / "book" / "versions.md", root=root, current_version=version))
    if pdf:
        from sarcoma_review.living.build import build_book
        from sarcoma_review.living.versions import release_pdf

        if not (root / "_toc.yml").exists():
            raise ReleaseError(f"{root} has no _toc.yml: there is no book to print; release with --no-pdf")
        build_book(root=root)
        written.append(release_pdf(root, version))
        notes.append(
            f"book.pdf: the built book printed with Chromium ({(rel_dir / 'book.pdf').stat().st_size // 1024} KiB)"
        )
    result.written = written

    if commit:
        _git(root, "add", "--", *[str(p.relative_to(root)) for p in written])
        _git(root, "commit", "-q", "-m", f"Release {version}", "-m", entry)
        result.commit = _git(root, "rev-parse", "HEAD")
        if tag:
            _git(root, "tag", "-a", f"v{version}", "-m", f"Living review version {version} ({date})")
            result.tag = f"v{version}"
    return result


def analyses_as_frozen(analyses: list[dict], estimates_csv: Path) -> list[dict]:
    """A release's analyses with the estimator and interval its frozen estimates record, where the entry
    does not name them: the releases made before the ad hoc correction became primary froze plain HKSJ (the
    default then), today's default is HKSJ with
    the ad hoc correction, so a release is recomputed with its own methods, not today's defaults."""
    est = pd.read_csv(estimates_csv)
    prim = est[est["subgroup_column"].isna() & (est["model"] == "random effects")].drop_duplicates("analysis_id")
    methods = prim.set_index("analysis_id")[["tau2_method", "ci_method"]].to_dict("index")
    out = []
    for a in analyses:
        a = dict(a)
        for key, value in methods.get(a["id"], {}).items():
            a.setdefault(key, value)
        out.append(a)
    return out


def verify_release(version: str, root: Path = REPO_ROOT, pool: PoolFn | None = None) -> bool:
    """Recompute the estimates from ``<root>`` (e.g. a checkout of tag ``vVERSION``) and compare bytes.

    Returns True when the recomputed table equals ``releases/<VERSION>/estimates.csv`` byte for byte.
    """
    root = Path(root)
    frozen = (root / "releases" / version / "estimates.csv").read_bytes()
    manifest = json.loads((root / "releases" / version / "manifest.json").read_text(encoding="utf-8"))
    analyses = analyses_as_frozen(manifest["analyses"], root / "releases" / version / "estimates.csv")
    df = current_estimates(root / "data", analyses, manifest.get("subgroups", DEFAULT_SUBGROUPS), pool=pool, root=root)
    recorded = frozen.split(b"\n", 1)[0].decode("utf-8").split(",")  # the columns this release froze
    if estimates_csv_bytes(df, columns=recorded) != frozen:
        return False
    sof_frozen = root / "releases" / version / store.SOF_FILE
    if not sof_frozen.exists():  # releases made before certainty was rated (0.1.0) froze no summary of findings
        return True
    from sarcoma_review.living.whatsnew import current_sof
    from sarcoma_review.pages.summary import csv_bytes

    sof, _ = current_sof(root / "data", root)
    return sof is not None and csv_bytes(sof) == sof_frozen.read_bytes()


# --- verifying a frozen release without its tag ---------------------------------------------------


@dataclass
class VerifyReport:
    """How :func:`verify_frozen_release` reproduced a release."""

    version: str
    code: str  # "this checkout" or "commit <sha>"
    summary: str
    notes: list[str] = field(default_factory=list)


#: Run by :func:`_estimates_with_commit` in the recorded commit's code (old and new package layouts).
_OLD_CODE_SCRIPT = """
import json, sys
from pathlib import Path
try:
    from sarcoma_review.living.analyses import current_estimates
    from sarcoma_review.living.store import estimates_csv_bytes
except ImportError:
    from sarcoma_review.release import current_estimates, estimates_csv_bytes
manifest = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
kw = {"subgroups": manifest["subgroups"]} if "subgroups" in manifest else {}
df = current_estimates(Path(sys.argv[2]), manifest["analyses"], **kw)
Path(sys.argv[3]).write_bytes(estimates_csv_bytes(df))
"""


#: Run by :func:`_estimates_with_commit` for the summary of findings (releases that froze one).
_OLD_SOF_SCRIPT = """
import sys
from pathlib import Path
from sarcoma_review.living.whatsnew import current_sof
from sarcoma_review.pages.summary import csv_bytes
sof, _ = current_sof(Path(sys.argv[2]), Path.cwd())
Path(sys.argv[3]).write_bytes(csv_bytes(sof) if sof is not None else b"")
"""


def _estimates_with_commit(root: Path, commit: str, rel_dir: Path, script: str = _OLD_CODE_SCRIPT) -> bytes:
    """The estimates (or, with ``_OLD_SOF_SCRIPT``, the summary of findings) computed from ``rel_dir/data``
    by the package as it was at ``commit`` (``git archive`` of its ``src/`` into a temporary folder, run in a
    subprocess with that folder first on ``PYTHONPATH``, in this environment)."""
    import os
    import subprocess
    import sys
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory(prefix="verify-release-") as tmp:
        tar = Path(tmp) / "src.tar"
        proc = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", "-o", str(tar), commit, "src"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ReleaseError(f"cannot export the code of commit {commit[:12]}: {proc.stderr.strip()}")
        with tarfile.open(tar) as tf:
            tf.extractall(tmp, filter="data")
        out = Path(tmp) / "estimates.csv"
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src"), "REVIEW_ROOT": str(root)}
        proc = subprocess.run(
            [sys.executable, "-c", script, str(rel_dir / "manifest.json"), str(rel_dir / "data"), str(out)],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(root),
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise ReleaseError(f"the code of commit {commit[:12]} could not recompute the estimates: {last}")
        return out.read_bytes()


def _first_difference(a: bytes, b: bytes) -> str:
    la, lb = a.decode().splitlines(), b.decode().splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {i + 1}: frozen {x[:120]!r}, recomputed {y[:120]!r}"
    return f"frozen {len(la)} lines, recomputed {len(lb)} lines"


def _frozen_json(path: Path, kind: type, version: str) -> Any:
    """A frozen release's JSON file, or :class:`ReleaseError` naming it when it is unreadable or not a ``kind``."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReleaseError(
            f"releases/{version}/{path.name} is not readable JSON ({exc}); a frozen release must "
            "not change: restore it with git checkout -- releases/"
        ) from None
    if not isinstance(value, kind):
        raise ReleaseError(
            f"releases/{version}/{path.name} holds a JSON {type(value).__name__}, not the "
            f"{kind.__name__} a release freezes; restore it with git checkout -- releases/"
        )
    return value


def _verify_sof(root: Path, version: str, commit: str | None, pool, sof, frozen_path: Path) -> str:
    """The note on a frozen summary of findings reproduced with this checkout's code or, when the certainty
    rules changed since, with the recorded commit's; :class:`ReleaseError` when neither reproduces it."""
    from sarcoma_review.pages.summary import csv_bytes

    frozen = frozen_path.read_bytes()
    if sof is not None and csv_bytes(sof) == frozen:
        return f"{store.SOF_FILE} reproduced byte for byte"
    if pool is None and commit and store.git(root, "cat-file", "-e", f"{commit}^{{commit}}") is not None:
        if _estimates_with_commit(root, commit, root / "releases" / version, _OLD_SOF_SCRIPT) == frozen:
            return (
                f"{store.SOF_FILE} reproduced byte for byte with the code of the recorded commit {commit[:12]} "
                "(this checkout's certainty rules differ)"
            )
    raise ReleaseError(
        f"releases/{version}/{store.SOF_FILE} does not reproduce from releases/{version}/data "
        "with this checkout's code nor with the code of its recorded commit"
    )


def verify_frozen_release(version: str, root: Path = REPO_ROOT, pool: PoolFn | None = None) -> VerifyReport:
    """Check release ``version`` from what its folder records, without needing its git tag.

    1. ``releases/<version>/data/`` must hash to ``data_hashes.json``;
    2. the estimates recomputed from that data with the manifest's analyses and subgroups must equal
       ``estimates.csv`` byte for byte, with this checkout's code or, when the code changed since,
       with the code of the commit the manifest records (when this clone has it);
    3. differences between the recorded and the installed libraries are reported as notes.

    Raises
    ------
    ReleaseError
        No such release, a missing or altered frozen file, or estimates that do not reproduce.
    """
    parse_version(version)
    root = Path(root).resolve()
    rel_dir = root / "releases" / version
    if not rel_dir.is_dir():
        on_record = ", ".join(store.list_releases(root)) or "none"
        raise ReleaseError(f"no release {version} under {rel_dir.parent} (releases on record: {on_record})")
    for name in ("manifest.json", "estimates.csv", "data_hashes.json", "data"):
        if not (rel_dir / name).exists():
            raise ReleaseError(
                f"{rel_dir / name} is missing: release {version} cannot be verified without it "
                "(restore it from git: git checkout -- releases/)"
            )
    manifest = _frozen_json(rel_dir / "manifest.json", dict, version)
    for key, kind in (("analyses", list), ("version", str)):
        if not isinstance(manifest.get(key), kind):
            raise ReleaseError(
                f"releases/{version}/manifest.json has no {key!r} {kind.__name__}: the frozen "
                "manifest was altered; restore it with git checkout -- releases/"
            )
    recorded = _frozen_json(rel_dir / "data_hashes.json", dict, version)
    now = data_hashes(rel_dir / "data")
    if recorded != now:
        changed = sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))
        raise ReleaseError(
            f"releases/{version}/data no longer matches its data_hashes.json ({', '.join(changed)}); "
            "a frozen release must not change: restore it with git checkout -- releases/"
        )
    frozen = (rel_dir / "estimates.csv").read_bytes()
    notes = []
    libs = manifest.get("libraries", {})
    installed = _library_versions()
    for name, v in sorted(libs.items() if isinstance(libs, dict) else ()):
        if installed.get(name) != v:
            notes.append(f"{name} {installed.get(name, 'absent')} installed, {v} recorded")
    try:
        recorded = frozen.split(b"\n", 1)[0].decode("utf-8").split(",")  # the columns this release froze
        here = estimates_csv_bytes(
            current_estimates(
                rel_dir / "data",
                manifest["analyses"],
                manifest.get("subgroups", DEFAULT_SUBGROUPS),
                pool=pool,
                root=root,
            ),
            columns=recorded,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # ValueError includes UnicodeDecodeError
        raise ReleaseError(
            f"releases/{version}: estimates.csv or the analyses of manifest.json were altered "
            f"({type(exc).__name__}: {exc}); restore them with git checkout -- releases/"
        ) from None
    sof_frozen = rel_dir / store.SOF_FILE
    if sof_frozen.exists():  # releases made before certainty was rated (0.1.0) froze no summary of findings
        from sarcoma_review.living.whatsnew import current_sof

        sof, _ = current_sof(rel_dir / "data", root)
        notes.append(_verify_sof(root, version, manifest.get("git_commit"), pool, sof, sof_frozen))
    if here == frozen:
        return VerifyReport(
            version,
            "this checkout",
            f"estimates.csv reproduced byte for byte from releases/{version}/data with this checkout's code",
            notes,
        )
    commit = manifest.get("git_commit")
    diff = _first_difference(frozen, here)
    if pool is None and commit and store.git(root, "cat-file", "-e", f"{commit}^{{commit}}") is not None:
        old = _estimates_with_commit(root, commit, rel_dir)
        if old == frozen:
            notes.append(
                f"this checkout's code computes other bytes ({diff}): the analysis code changed since the release"
            )
            return VerifyReport(
                version,
                f"commit {commit}",
                f"estimates.csv reproduced byte for byte from releases/{version}/data with the "
                f"code of the recorded commit {commit[:12]}",
                notes,
            )
        diff = _first_difference(frozen, old)
        raise ReleaseError(
            f"release {version} does not reproduce with the code of its commit {commit[:12]} "
            f"({diff}); check the environment: " + ("; ".join(notes) or "same library versions")
        )
    raise ReleaseError(
        f"release {version} does not reproduce with this checkout's code ({diff}) and its commit "
        f"{(commit or 'unrecorded')[:12]} is not in this clone; fetch it (git fetch --all) and run "
        "verify-release again"
    )
