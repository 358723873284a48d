"""Build the book: validate the data, execute the chapters (cached), run Jupyter Book, swap into place.

Steps of :func:`build_book` (all under an exclusive lock on ``_build/.lock``):

1. validate every data table (:func:`sarcoma_review.data.loaders.validate_all`); bad data stops the build
   before anything is executed (the verdict is reused when the same data, byte for byte, package and
   environment passed before: ``_build/cache/validated.sha256``);
2. read ``_toc.yml`` and ``book/analyses.yml`` and check that they agree (every analysis ``<id>`` is
   the page ``book/pooled/<id>`` and vice versa);
3. execute every notebook chapter (papermill's parameters; each in its own process forked from a
   fork server that has done the heavy imports, see :mod:`sarcoma_review.living.warm`), in parallel,
   working directory at the repository root, unless the content-hash cache
   (``_build/cache/manifest.json``) holds an executed copy made from the same inputs and the same
   data (see :meth:`Cache.lookup`); each analysis runs the template ``book/pooled.ipynb`` with its
   parameters into ``book/pooled/<id>.ipynb``;
4. concatenate the analyses' estimates into ``_static/downloads/pooled_estimates.csv`` (published
   at ``<book URL>/_static/downloads/pooled_estimates.csv``; one file per analysis beside it under
   ``_static/downloads/pooled/<id>.csv``);
   a chapter whose ``parameters`` cell declares ``downloads_dir = ""`` gets a fresh folder
   (``_build/work/<run>/downloads/<page>/``, relative to the root) as that parameter; every file it
   writes there is stored with its cache entry (``files`` ``downloads/<name>``) and copied, from the
   fresh or the cached entry alike, into ``_static/downloads/<name>`` (published at
   ``<book URL>/_static/downloads/<name>``; a chapter links it as ``[name](_static/downloads/name)``
   from ``book/``); two chapters publishing one name is an error;
5. run Jupyter Book on the staged sources with execution off and warnings as errors;
6. check that no page holds the repository's absolute path or a Python traceback;
7. swap the new HTML into ``_build/html`` with renames only.

Any failure leaves the previous ``_build/html`` untouched.

Cache manifest (``_build/cache/manifest.json``)::

    {"version": 1,
     "chapters": {
       "<page, e.g. book/pooled/lc5>": {
         "source": "book/pooled.ipynb",          # notebook executed (relative to the root)
         "inputs": {"notebook": "<sha256>", "parameters": "<sha256>",
                    "package": "<sha256>", "data_dir": "data"},
         "reads": {"data/literature/outcomes.csv": "<sha256>", ...},   # every data file read
         "raw": ["data/..."],                    # those read outside a frame loader
         "frames": [{"module": "sarcoma_review.data.loaders", "loader": "load_landmark",
                     "args": {...}, "sha256": "<frame digest>"}, ...],
         "entry": "entries/<uuid>",              # folder under _build/cache holding the results
         "files": {"notebook.ipynb": "<sha256>", "estimates.csv": "<sha256>"},
         "seconds": 3.2, "executed_at": "2026-01-01T12:00:00+00:00"}}}

A chapter is reused when its inputs are unchanged, its cached files intact, and either every file
it read is unchanged or, when some changed, none of them was read outside a frame loader and every
frame it received, recomputed on the current data, has the same digest (it would receive exactly
the same data; see :mod:`sarcoma_review.data.tracking`); otherwise it is executed again.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import sarcoma_review
from sarcoma_review import paths
from sarcoma_review.data.tracking import memoised
from sarcoma_review.errors import (  # noqa: F401  (re-exported for callers of the build)
    BuildError,
    BuildLockedError,
    ChapterExecutionError,
    ConfigurationError,
    DataValidationError,
    UsageError,
)
from sarcoma_review.living.analyses import ANALYSES_FILE, load_analyses
from sarcoma_review.living.notebooks import (
    clean_executed_notebook,
    finish_notebook,
    notebook_parameters,
    run_notebook,
)
from sarcoma_review.living.warm import (
    run_isolated,
    start_fork_server,
    submit,
    submit_call,
    warm_pool,
)

CACHE_VERSION = 1
POOLED_PREFIX = "book/pooled/"
TEMPLATE = "book/pooled.ipynb"
DOWNLOADS = "book/_static/downloads"
POOLED_CSV = f"{DOWNLOADS}/pooled_estimates.csv"
#: Parameter through which a chapter receives the folder of files to publish (see :func:`build_book`).
DOWNLOADS_PARAMETER = "downloads_dir"
#: Names under ``_static/downloads`` the build writes itself (pooled estimates).
RESERVED_DOWNLOADS = frozenset({"pooled_estimates.csv", "pooled"})
#: Parameters that name outputs, not inputs: excluded from the cache key.
OUTPUT_PARAMETERS = frozenset({"estimates_out", DOWNLOADS_PARAMETER})
# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Layout:
    """Where a book's sources and build folders are (``root`` is the repository root)."""

    root: Path
    package_dir: Path = Path(sarcoma_review.__file__).resolve().parent

    @property
    def config(self) -> Path:
        return self.root / "_config.yml"

    @property
    def toc(self) -> Path:
        return self.root / "_toc.yml"

    @property
    def book(self) -> Path:
        return self.root / "book"

    @property
    def analyses(self) -> Path:
        return self.root / ANALYSES_FILE

    @property
    def build(self) -> Path:
        return self.root / "_build"

    @property
    def html(self) -> Path:
        return self.build / "html"

    @property
    def cache(self) -> Path:
        return self.build / "cache"

    @property
    def lock(self) -> Path:
        return self.build / ".lock"

    def default_data_dir(self) -> Path:
        """``paths.data_dir()`` (honours ``$REVIEW_DATA_DIR``) for the real repository, else ``root/data``."""
        if self.root.resolve() == paths.REPO_ROOT.resolve():
            return paths.data_dir()
        return self.root / "data"

    def rel(self, p: Path) -> str:
        """``p`` relative to the root when inside it (posix), else absolute."""
        p = Path(p).resolve()
        try:
            return p.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(p)


@dataclass
class ChapterJob:
    """One page of the book: a notebook to execute, or a Markdown page to copy."""

    page: str                      # toc name, e.g. "book/intro" or "book/pooled/lc5"
    source: Path                   # file in the sources
    parameters: dict[str, Any] = field(default_factory=dict)
    analysis_id: str | None = None

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"


@dataclass
class ChapterTiming:
    page: str
    seconds: float


@dataclass
class BuildReport:
    """What a build did."""

    html_dir: Path
    executed: list[ChapterTiming] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)
    pooled_csv: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: Files published under ``_static/downloads/`` by chapters (file name -> page).
    downloads: dict[str, str] = field(default_factory=dict)
    #: True when the staged sources equalled those of the published book, so Sphinx was not run.
    sphinx_skipped: bool = False
    #: Peak resident memory of the largest chapter process (MB; 0 when nothing executed).
    chapter_rss_mb: float = 0.0

    @property
    def executed_pages(self) -> list[str]:
        return [t.page for t in self.executed]


@dataclass
class RunResult:
    """What :func:`execute_chapter` wrote."""

    output_dir: Path
    notebook: Path
    html: Path | None
    estimates: Path | None
    reads: list[Path]
    seconds: float
    downloads: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- hashing
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hash(folder: Path) -> str:
    """Hash of every file under ``folder`` (relative names and contents, in sorted order)."""
    h = hashlib.sha256()
    for p in sorted(q for q in Path(folder).rglob("*") if q.is_file()):
        h.update(p.relative_to(folder).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def package_hash(package_dir: Path) -> str:
    """Hash of every ``*.py`` under the package (relative names and contents)."""
    h = hashlib.sha256()
    for p in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        h.update(p.relative_to(package_dir).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def parameters_hash(parameters: Mapping[str, Any]) -> str:
    keyed = {k: v for k, v in parameters.items() if k not in OUTPUT_PARAMETERS}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------- toc and analyses
def toc_pages(toc_path: Path) -> list[str]:
    """Every page named in ``_toc.yml`` (``root`` and each ``file``, depth first, in order)."""
    if not toc_path.exists():
        raise ConfigurationError(f"{toc_path.name} not found at {toc_path}")
    data = yaml.safe_load(toc_path.read_text(encoding="utf-8")) or {}
    pages: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    pages.append(re.sub(r"\.(ipynb|md|rst)$", "", node[key]))
            for key, value in node.items():
                if key not in ("root", "file"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return pages


def check_toc_matches_analyses(pages: Sequence[str], analyses: Sequence[Mapping[str, Any]]) -> None:
    """Raise :class:`ConfigurationError` unless the toc's ``book/pooled/<id>`` pages are exactly the analyses."""
    in_toc = [p[len(POOLED_PREFIX):] for p in pages if p.startswith(POOLED_PREFIX)]
    ids = [str(a["id"]) for a in analyses]
    missing_in_toc = [i for i in ids if i not in in_toc]
    unknown = [i for i in in_toc if i not in ids]
    problems = []
    if missing_in_toc:
        problems.append("analyses not in _toc.yml (add `- file: " + POOLED_PREFIX + "<id>`): "
                        + ", ".join(missing_in_toc))
    if unknown:
        problems.append(f"_toc.yml pages with no analysis in {ANALYSES_FILE} (add the analysis or "
                        "remove the page): " + ", ".join(POOLED_PREFIX + i for i in unknown))
    if problems:
        raise ConfigurationError("_toc.yml and " + ANALYSES_FILE + " disagree: " + "; ".join(problems))


def analysis_parameters(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """Template parameters for one analysis: ``analysis_id`` plus every key but ``id``."""
    params = {k: v for k, v in analysis.items() if k != "id"}
    params["analysis_id"] = str(analysis["id"])
    return params


def plan_chapters(layout: Layout, data_dir: Path) -> list[ChapterJob]:
    """Every toc page as a job, with toc/analyses agreement checked."""
    pages = toc_pages(layout.toc)
    analyses = load_analyses(layout.analyses)
    by_id = {str(a["id"]): a for a in analyses}

    def has_source(page: str) -> bool:
        return any((layout.root / (page + sfx)).exists() for sfx in (".ipynb", ".md", ".rst"))

    clash = [aid for aid in by_id if has_source(POOLED_PREFIX + aid)]
    if clash:
        raise ConfigurationError(f"{ANALYSES_FILE}: analysis id(s) {', '.join(clash)} clash with existing files "
                                 f"under {POOLED_PREFIX}; rename the analysis")
    # pages under book/pooled/ with a source file of their own (e.g. an index.md) are ordinary pages
    generated = {p for p in pages if p.startswith(POOLED_PREFIX) and not has_source(p)}
    check_toc_matches_analyses([p for p in pages if p in generated or not p.startswith(POOLED_PREFIX)],
                               analyses)
    template = layout.root / TEMPLATE
    if analyses and not template.exists():
        raise ConfigurationError(f"{ANALYSES_FILE} lists analyses but the template {TEMPLATE} is missing")
    jobs: list[ChapterJob] = []
    for page in pages:
        if page in generated:
            aid = page[len(POOLED_PREFIX):]
            params = analysis_parameters(by_id[aid])
            params["data_dir"] = layout.rel(data_dir)
            jobs.append(ChapterJob(page, template, params, analysis_id=aid))
            continue
        for suffix in (".ipynb", ".md", ".rst"):
            src = layout.root / (page + suffix)
            if src.exists():
                jobs.append(ChapterJob(page, src))
                break
        else:
            raise ConfigurationError(f"_toc.yml names {page!r} but no {page}.ipynb/.md exists; "
                                     "create the chapter or remove the entry")
    return jobs


# --------------------------------------------------------------------------- validation
def default_validator(data_dir: Path) -> bool:
    """Validate every data table with :func:`sarcoma_review.data.loaders.validate_all`."""
    try:
        from sarcoma_review.data.loaders import validate_all
    except ImportError as exc:  # pragma: no cover - until the loaders land
        if "sarcoma_review.data.loaders" not in str(exc):
            raise
        print("warning: sarcoma_review.data.loaders not available yet; data not validated", file=sys.stderr)
        return False
    if inspect.signature(validate_all).parameters:
        validate_all(data_dir)
    else:
        with _env("REVIEW_DATA_DIR", str(data_dir)):
            validate_all()
    return True


def _validation_key(layout: Layout, data_dir: Path, pkg_hash: str) -> str:
    """Every data file's bytes, the package code, the pinned environment and the data folder's name."""
    return hashlib.sha256("\0".join([tree_hash(data_dir), pkg_hash, environment_hash(layout.root),
                                      layout.rel(data_dir)]).encode()).hexdigest()


def _validated_before(layout: Layout, key: str) -> bool:
    """True when data, package and environment with this :func:`_validation_key` passed validation in
    an earlier build."""
    try:
        return (layout.cache / "validated.sha256").read_text(encoding="utf-8").strip() == key
    except OSError:
        return False


def _validate(layout: Layout, data_dir: Path, validator: Callable[[Path], Any] | None, pkg_hash: str) -> Any:
    """Run the validator, or, for the default one, skip it when the very same data (every file under
    ``data_dir``, byte for byte), package code and pinned environment passed it before.

    Validation is a function of those alone, so its verdict is reused; the marker
    ``_build/cache/validated.sha256`` is written only after a validation passed.
    """
    if validator is not None:
        return validator(data_dir)
    marker = layout.cache / "validated.sha256"
    key = _validation_key(layout, data_dir, pkg_hash)
    if _validated_before(layout, key):
        return True
    checked = default_validator(data_dir)
    if checked is not False:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(key + "\n", encoding="utf-8")
    return checked


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


# --------------------------------------------------------------------------- lock and swap
@contextlib.contextmanager
def build_lock(path: Path, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path``; raise :class:`BuildLockedError` if busy and not ``wait``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            raise BuildLockedError(f"another build is running ({holder}; lock {path}). Wait for it to "
                                   "finish, or run `review build --wait` to queue behind it.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {_dt.datetime.now().isoformat(timespec='seconds')}".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the lock


def swap_into_place(new_html: Path, target: Path) -> None:
    """Replace ``target`` by ``new_html`` with renames only, so a reader never sees half a book.

    ``target`` is moved to ``<target>.old`` and ``new_html`` renamed to ``target``; if a build is
    killed between the two renames, :func:`recover_html` restores the old book next time.
    """
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    new_html.rename(target)
    if old.exists():
        shutil.rmtree(old)


def recover_html(target: Path) -> None:
    """Put ``<target>.old`` back if a build died between the two renames of :func:`swap_into_place`."""
    old = target.with_name(target.name + ".old")
    if old.exists() and not target.exists():
        old.rename(target)


# --------------------------------------------------------------------------- cache
class Cache:
    """The content-hash cache of executed notebooks under ``_build/cache`` (see the module docstring)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.dir = layout.cache
        self.manifest_path = self.dir / "manifest.json"
        self.chapters: dict[str, dict[str, Any]] = {}
        self._frames: dict[str, str | None] = {}
        if self.manifest_path.exists():
            try:
                data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
                if data.get("version") == CACHE_VERSION:
                    self.chapters = dict(data.get("chapters", {}))
            except (json.JSONDecodeError, AttributeError):
                self.chapters = {}

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "chapters": self.chapters}, indent=1,
                                  sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def last_seconds(self, page: str) -> float:
        """How long ``page`` took when it last executed (0 when it never has): the build starts the
        longest chapters first, so that a long one does not start last and finish alone."""
        try:
            return float(self.chapters.get(page, {}).get("seconds", 0.0))
        except (TypeError, ValueError):
            return 0.0

    def lookup(self, page: str, inputs: Mapping[str, str]) -> Path | None:
        """The cached entry folder for ``page`` when still valid, else ``None``.

        Valid when the inputs are unchanged, the cached files intact, and either every data file the
        chapter read is unchanged, or none of the changed ones was read outside a frame loader and
        every frame the chapter received is, recomputed on the current data, the same (see
        :mod:`sarcoma_review.data.tracking`). In the second case the entry's file digests are
        updated, so the next lookup takes the fast path.
        """
        e = self.chapters.get(page)
        if not e or e.get("inputs") != dict(inputs):
            return None
        entry = self.dir / e["entry"]
        for name, digest in e.get("files", {}).items():
            f = entry / name
            if not f.exists() or sha256_file(f) != digest:
                return None
        now: dict[str, str | None] = {}
        for name in e.get("reads", {}):
            p = Path(name) if Path(name).is_absolute() else self.layout.root / name
            now[name] = sha256_file(p) if p.exists() else None
        changed = [n for n, d in e.get("reads", {}).items() if now[n] != d]
        if not changed:
            return entry
        raw = set(e["raw"]) if "raw" in e else set(e.get("reads", {}))  # old entries: every read is raw
        if any(n in raw or now[n] is None for n in changed):
            return None
        frames = e.get("frames", [])
        if not frames or any(self.frame_digest(fr) != fr.get("sha256") for fr in frames):
            return None
        e["reads"] = {n: d for n, d in now.items() if d is not None}
        self.save()
        return entry

    def frame_digest(self, record: Mapping[str, Any]) -> str | None:
        """:func:`sarcoma_review.data.tracking.evaluate_frame`, memoised for this build."""
        from sarcoma_review.data.tracking import evaluate_frame

        args = dict(record.get("args", {}))
        if "data_dir" in args and not Path(str(args["data_dir"])).is_absolute():
            args["data_dir"] = str(self.layout.root / str(args["data_dir"]))  # stored relative to the root
        record = dict(record, args=args)
        key = json.dumps({k: record.get(k) for k in ("module", "loader", "args")}, sort_keys=True)
        if key not in self._frames:
            self._frames[key] = evaluate_frame(record)
        return self._frames[key]

    def store(self, page: str, source: Path, inputs: Mapping[str, str], reads: Sequence[str],
              files: Mapping[str, Path], seconds: float, raw: Sequence[str] | None = None,
              frames: Sequence[Mapping[str, Any]] = ()) -> Path:
        """Keep an executed chapter's files; ``reads`` every data file it read, ``raw`` those read
        outside a frame loader (default: all), ``frames`` the frame records (see :meth:`lookup`)."""
        entry_rel = f"entries/{uuid.uuid4().hex}"
        entry = self.dir / entry_rel
        entry.mkdir(parents=True)
        digests = {}
        for name, src in files.items():
            (entry / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, entry / name)
            digests[name] = sha256_file(entry / name)
        read_hashes = {}
        for r in reads:
            p = Path(r)
            if p.exists():
                read_hashes[self.layout.rel(p)] = sha256_file(p)
        raw_rel = sorted({self.layout.rel(Path(r)) for r in (reads if raw is None else raw)})
        self.chapters[page] = {
            "source": self.layout.rel(source), "inputs": dict(inputs), "reads": read_hashes,
            "raw": raw_rel, "frames": [self._relative_frame(f) for f in frames],
            "entry": entry_rel, "files": digests, "seconds": round(seconds, 3),
            "executed_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        self.save()
        return entry

    def _relative_frame(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` with its ``data_dir`` relative to the root when inside it (a moved checkout
        re-evaluates its own data, never the old location's)."""
        args = dict(record.get("args", {}))
        if "data_dir" in args:
            args["data_dir"] = self.layout.rel(Path(str(args["data_dir"])))
        return dict(record, args=args)

    def prune(self, pages: Sequence[str]) -> None:
        """Forget pages no longer in the book and delete entry folders nothing refers to."""
        self.chapters = {p: e for p, e in self.chapters.items() if p in set(pages)}
        self.save()
        used = {e["entry"] for e in self.chapters.values()}
        entries = self.dir / "entries"
        if entries.exists():
            for d in entries.iterdir():
                if f"entries/{d.name}" not in used:
                    shutil.rmtree(d, ignore_errors=True)


def environment_hash(root: Path) -> str:
    """Hash of the pinned environment (``requirements.txt`` and ``constraints.txt`` when present):
    a library upgrade can change what a chapter computes, so it re-executes every chapter."""
    h = hashlib.sha256()
    for name in ("requirements.txt", "constraints.txt"):
        p = Path(root) / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.exists() else b"") + b"\0")
    return h.hexdigest()


def chapter_inputs(layout: Layout, job: ChapterJob, pkg_hash: str, data_dir: Path) -> dict[str, str]:
    return {"notebook": sha256_file(job.source), "parameters": parameters_hash(job.parameters),
            "package": pkg_hash, "environment": environment_hash(layout.root),
            "data_dir": layout.rel(data_dir)}


# --------------------------------------------------------------------------- staging and sphinx
def stage_sources(layout: Layout, stage: Path) -> None:
    """Copy ``_config.yml``, ``_toc.yml`` and ``book/`` (without notebooks) into a fresh ``stage``.

    Jupyter Book's own execution is forced off in the staged configuration.
    """
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copy2(layout.toc, stage / "_toc.yml")
    config = yaml.safe_load(layout.config.read_text(encoding="utf-8")) or {}
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                                       encoding="utf-8")
    shutil.copytree(layout.book, stage / "book",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb", "__pycache__"))


def generate_pages(layout: Layout, stage: Path, data_dir: Path) -> None:
    """Write the pages generated from the repository's metadata into the stage.

    Only for a root that has a ``CITATION.cff`` (the review itself, not the small test books):
    the version/data-date banner on every page (``html.announcement``), the "How to cite" page
    from ``CITATION.cff``, the "What's new" page comparing the data with the last release and,
    when the toc lists ``book/versions``, the Versions page with every release's frozen files
    published under ``_static/releases/<version>/``.
    They are regenerated whenever anything they read changed (:func:`generated_pages_key`; and with
    ``--force``), so they can never be stale.
    """
    from sarcoma_review.living import citation, versions, whatsnew

    if (layout.book / "versions.md").exists():
        # Always regenerated (even in a tree without CITATION.cff): the committed page may list
        # releases this tree does not hold, whose files would then be missing.
        has_version = (layout.root / "src" / "sarcoma_review" / "_version.py").exists()
        versions.write_page(stage / "book" / "versions.md", root=layout.root,
                            current_version=citation.read_version(layout.root) if has_version else None)
        versions.publish_release_files(stage / "book", root=layout.root)
    if not (layout.root / "CITATION.cff").exists():
        return
    citation.inject_banner(stage / "_config.yml", root=layout.root)
    citation.write_cite_page(stage / "book" / "cite.md", cff_path=layout.root / "CITATION.cff", root=layout.root)
    whatsnew.write_page(stage / "book" / "whats-new.md", root=layout.root, data_dir=data_dir)


#: Modules Jupyter Book's build imports (its command line, Sphinx, the extensions and theme it loads).
SPHINX_PRELOAD = ("jupyter_book.cli.main", "jupyter_book.sphinx", "sphinx.application", "sphinx.builders.html",
                  "sphinx.search", "myst_nb", "myst_parser", "sphinx_book_theme", "pydata_sphinx_theme",
                  "sphinx_external_toc", "sphinx_copybutton", "sphinx_togglebutton", "sphinx_design",
                  "sphinx_comments", "sphinx_multitoc_numbering", "sphinx_jupyterbook_latex",
                  "sphinxcontrib.bibtex")

#: A Jupyter Book process that imports :data:`SPHINX_PRELOAD`, then waits for one line on its standard
#: input (the command-line arguments, JSON) and runs ``jupyter-book`` with them, exiting with its code.
_SPHINX_PROCESS_CODE = (
    "import importlib, json, sys\n"
    "for m in json.loads(sys.argv[1]):\n"
    "    try:\n"
    "        importlib.import_module(m)\n"
    "    except ImportError:\n"
    "        pass\n"
    "line = sys.stdin.readline()\n"
    "from jupyter_book.cli.main import main\n"
    "main.main(args=json.loads(line), prog_name='jupyter-book', standalone_mode=True)\n")


class SphinxProcess:
    """Jupyter Book started ahead: its imports (about a second) overlap the chapters' execution.

    :meth:`run` hands it the build's arguments; :meth:`close` ends it unused. Either way it runs once.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SPHINX_PROCESS_CODE, json.dumps(SPHINX_PRELOAD)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess:
        stdout, stderr = self.proc.communicate(json.dumps(list(args)) + "\n")
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, stdout, stderr)

    def close(self) -> None:
        """End it if it has not run (it has only imported modules: nothing to lose)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def run_jupyter_book(stage: Path, out: Path, strict: bool = True, process: SphinxProcess | None = None) -> Path:
    """Run Jupyter Book on ``stage`` (warnings as errors when ``strict``); return the HTML folder.

    With ``process`` (a :class:`SphinxProcess` started earlier) it runs there, its imports done."""
    args = ["build", str(stage), "--path-output", str(out), "--keep-going"]
    if strict:
        args += ["--warningiserror", "--nitpick"]
    if process is not None:
        proc = process.run(args)
    else:
        exe = Path(sys.executable).with_name("jupyter-book")
        proc = subprocess.run([str(exe) if exe.exists() else "jupyter-book", *args], capture_output=True, text=True)
    html = out / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        text = (proc.stdout + proc.stderr).replace(str(stage) + os.sep, "")
        lines = [ln for ln in text.splitlines()
                 if re.search(r"WARNING:|ERROR:|CRITICAL:|^\w*(Error|Exception)\b", ln)]
        detail = "\n".join(lines[-30:]) or text[-3000:]
        raise BuildError(f"Jupyter Book failed (warnings are errors):\n{detail}")
    return html


#: Folder under ``_build`` where Sphinx keeps its environment between builds (sources, doctrees, HTML).
SPHINX_DIR = "sphinx"


def _markdown_text(path: Path) -> str:
    """The authored text of a notebook: its Markdown cells (not its outputs, which come from the data),
    each starting a line of its own."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return "\0unreadable"
    return "\n\0\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                      for c in cells if c.get("cell_type") == "markdown")


def _first_heading(path: Path) -> str:
    """The first Markdown heading of a page (a staged ``.md`` or ``.ipynb``): what the navigation shows."""
    if path.suffix == ".ipynb":
        text = _markdown_text(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return "\0unreadable"
    for line in text.splitlines():
        if line.startswith("#"):
            return line.strip()
    return ""


#: Staged files computed from the data on every build: a change in them re-writes only their own pages
#: (they define nothing other pages show). Every other staged file is authored source.
DATA_DRIVEN = ("book/whats-new.md", "book/cite.md", "book/versions.md", "book/_static/downloads/",
               "book/_static/releases/")


def navigation_digest(stage: Path) -> str:
    """SHA-256 of everything a page can show about another page: the configuration, the table of
    contents, the set of staged files, every authored file's content (Markdown pages, the Markdown
    cells of notebooks: titles, section labels and glossary terms other pages link to; the
    bibliography; the local Sphinx extension; stylesheets and scripts) and the first heading of
    each page computed from the data (:data:`DATA_DRIVEN`). A page that is not re-written keeps what it
    showed: an incremental Sphinx build is sound only while this digest is unchanged, so any authored
    edit starts Sphinx afresh and a data edit re-writes only the pages whose sources changed."""
    h = hashlib.sha256()
    for p in sorted(q for q in stage.rglob("*") if q.is_file()):
        rel = p.relative_to(stage).as_posix()
        if rel.startswith(DATA_DRIVEN):
            part = _first_heading(p) if p.suffix in (".md", ".ipynb") else ""
        elif p.suffix == ".ipynb":
            part = _markdown_text(p)
        else:
            part = hashlib.sha256(p.read_bytes()).hexdigest()
        h.update(f"{rel}\0{part}\0".encode("utf-8"))
    return h.hexdigest()


def _sync_tree(src: Path, dest: Path) -> int:
    """Make ``dest`` hold exactly the files of ``src``; a file whose bytes are unchanged keeps its
    modification time (Sphinx then knows it need not read it again); a changed one is written now.
    Returns how many files were written or removed."""
    changed = 0
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    if dest.exists():
        for p in sorted(dest.rglob("*"), reverse=True):
            rel = p.relative_to(dest)
            if p.is_file() and rel not in wanted:
                p.unlink()
                changed += 1
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    for rel in sorted(wanted):
        a, b = src / rel, dest / rel
        if b.is_file() and b.stat().st_size == a.stat().st_size and b.read_bytes() == a.read_bytes():
            continue
        b.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a, b)  # not copy2: the new file must look newer than Sphinx's last read
        changed += 1
    return changed


def _touch_root_page(src: Path) -> None:
    """Mark the book's root page as changed (its modification time now), so that Sphinx writes it and
    with it the static files: with no source changed Sphinx stops early ("no targets are out of date"),
    skipping the copy of ``_static`` (removed before each run, see below) while myst-nb still writes its
    stylesheet there at the end, which fails, and the HTML would lack ``_static``."""
    try:
        root = yaml.safe_load((src / "_toc.yml").read_text(encoding="utf-8"))["root"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        root = None
    pages = [src / f"{root}{suffix}" for suffix in ("", ".md", ".ipynb")] if root else []
    for page in [*pages, src / "_toc.yml"]:
        if page.is_file():
            os.utime(page)
            return


def run_jupyter_book_incremental(layout: Layout, stage: Path, force: bool = False,
                                 process: SphinxProcess | None = None) -> Path:
    """Jupyter Book on a copy of ``stage`` kept under ``_build/sphinx`` with Sphinx's environment, so
    that Sphinx re-reads and re-writes only the pages whose sources changed; returns its HTML folder
    (copy it before publishing: the next build writes there).

    Never stale: when :func:`navigation_digest` differs from the last run's (an authored file edited, a
    page or file added or removed, the configuration or table of contents changed), with ``force``,
    after a failed or interrupted run, or with another Jupyter Book or pinned environment
    (``requirements.txt``, ``constraints.txt``), the folder is emptied first and every page is written
    anew. A build that fails empties it too.
    """
    import jupyter_book

    folder = layout.build / SPHINX_DIR
    src, out, state_file = folder / "src", folder / "out", folder / "state.json"
    state = {"navigation": navigation_digest(stage), "jupyter_book": jupyter_book.__version__,
             "python": sys.version, "environment": environment_hash(layout.root)}
    try:
        previous = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    if force or previous != state:
        shutil.rmtree(folder, ignore_errors=True)
    state_file.unlink(missing_ok=True)  # until this run succeeds, the next build starts afresh
    if not _sync_tree(stage, src):  # the published HTML (or the stage marker) was removed, nothing else
        _touch_root_page(src)
    # Sphinx adds "?v=<checksum>" to a stylesheet link when the file is already in _static as it
    # writes a page; myst-nb writes its stylesheet at the end of a build, so pages written from
    # nothing have no such suffix. Without the old _static (Sphinx copies it again), a page written
    # now is byte for byte what a build from nothing writes.
    shutil.rmtree(out / "_build" / "html" / "_static", ignore_errors=True)
    try:
        html = run_jupyter_book(src, out, process=process)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    state_file.write_text(json.dumps(state), encoding="utf-8")
    return html


def check_published(html: Path, root: Path) -> None:
    """Raise :class:`BuildError` if any page holds the repository's absolute path or a traceback."""
    needle = str(root.resolve())
    bad: list[str] = []
    for p in sorted(html.rglob("*")):
        if p.is_dir() or p.suffix not in {".html", ".txt", ".ipynb", ".md", ".csv", ".json", ".js"}:
            continue
        if "vendor" in p.relative_to(html).parts:
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        if needle in text:
            bad.append(f"{p.relative_to(html)} contains the local path {needle}")
        if p.suffix == ".html" and "Traceback" in text:
            bad.append(f"{p.relative_to(html)} contains a Python traceback")
    if bad:
        raise BuildError("the built book would publish local details; fix the chapters "
                         "(use paths relative to the repository root, silence warnings):\n  "
                         + "\n  ".join(bad[:20]))


def concat_estimates(files: Sequence[tuple[str, Path]], out: Path) -> Path:
    """Concatenate each analysis' estimates CSV (with an ``analysis_id`` column) into ``out``.

    Each pooled page writes every estimate it shows (primary, sensitivity rows, strata, leave-one-out,
    cumulative; :func:`sarcoma_review.stats.sensitivity.estimates_table`), so the published table
    holds them all. ``kind`` says whether a row is pooled or one series shown as itself (derived
    from ``k`` for a CSV written without it).
    """
    import pandas as pd

    frames = []
    for aid, path in files:
        df = pd.read_csv(path, dtype={"subgroup_value": "string", "series": "string"})
        if "analysis_id" not in df.columns:
            df.insert(0, "analysis_id", aid)
        if "kind" not in df.columns and "k" in df.columns:
            df["kind"] = ["single series" if k == 1 else "pooled" for k in df["k"]]
        frames.append(df)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)
    return out


# --------------------------------------------------------------------------- the build
def _console():
    from rich.console import Console

    return Console(stderr=True)


def build_book(data_dir: str | os.PathLike[str] | None = None, force: bool = False, jobs: int | None = None,
               *, root: str | os.PathLike[str] | None = None,
               validator: Callable[[Path], Any] | None = None,
               package_dir: Path | None = None, wait: bool = False, quiet: bool = False) -> BuildReport:
    """Build the book into ``<root>/_build/html``; the previous book stays if anything fails.

    Parameters
    ----------
    data_dir
        Data folder for every chapter (``$REVIEW_DATA_DIR`` and the analyses' ``data_dir``);
        default ``paths.data_dir()``.
    force
        Execute every chapter even when the cache holds a valid copy.
    jobs
        Parallel executions (default: the number of CPU cores).
    root
        Repository-like root holding ``_config.yml``, ``_toc.yml``, ``book/`` (default: this repository).
    validator
        Called with the data folder before anything runs; must raise on bad data
        (default :func:`default_validator`, i.e. ``loaders.validate_all``).
    package_dir
        Package whose ``*.py`` hash is part of every cache key (default: ``sarcoma_review``).
    wait
        Wait for another build's lock instead of failing at once.
    quiet
        No progress output.

    Raises
    ------
    DataValidationError, ConfigurationError, ChapterExecutionError, BuildLockedError, BuildError
    """
    t_start = time.perf_counter()
    layout = Layout(Path(root).resolve() if root else paths.REPO_ROOT,
                    **({"package_dir": Path(package_dir).resolve()} if package_dir else {}))
    ddir = Path(data_dir).resolve() if data_dir else layout.default_data_dir()
    console = None if quiet else _console()
    say = (lambda msg: console.print(msg, highlight=False)) if console else (lambda msg: None)
    report = BuildReport(html_dir=layout.html)

    with build_lock(layout.lock, wait=wait), contextlib.ExitStack() as cleanup:
        recover_html(layout.html)
        # When the data or the package differ from the last validated build (a chapter will most
        # likely execute), the fork server starts at once and does its imports on another core while
        # the cache is checked, the data validated and the sources staged; otherwise only once the
        # cache checks found a chapter to execute (its imports would compete with the rest).
        pkg = package_hash(layout.package_dir)
        if force or not _validated_before(layout, _validation_key(layout, ddir, pkg)):
            start_fork_server()
        plan = plan_chapters(layout, ddir)
        from sarcoma_review.data.loaders import TABLE_MEMO_ENV_VAR

        # the cache checks and the validation load the same tables: once each, and the validated
        # frames are kept on disk for the chapter processes (see loaders.TABLE_MEMO_ENV_VAR)
        with memoised(), _env(TABLE_MEMO_ENV_VAR, str(layout.cache / "tables")):
            t0 = time.perf_counter()
            cache = Cache(layout)
            decisions: dict[str, tuple[dict[str, str], Path | None]] = {}
            for job in plan:
                if job.is_notebook:
                    inputs = chapter_inputs(layout, job, pkg, ddir)
                    decisions[job.page] = (inputs, None if force else cache.lookup(job.page, inputs))
            report.timings["cache"] = time.perf_counter() - t0
            sphinx_process = None
            if any(entry is None for _, entry in decisions.values()):
                start_fork_server()  # a no-op when it runs already
                sphinx_process = SphinxProcess()  # Jupyter Book's imports overlap the chapters
                cleanup.callback(sphinx_process.close)  # ended unused when the build stops early
            t0 = time.perf_counter()
            checked = _validate(layout, ddir, validator, pkg)
            report.timings["validate"] = time.perf_counter() - t0
        if checked is not False:
            say(f"[green]✓[/] data valid ({layout.rel(ddir)})")

        work_root = layout.build / "work"
        for stale in (work_root, layout.build / "failed"):  # left by killed or failed builds
            if stale.exists():
                shutil.rmtree(stale, ignore_errors=True)
        work = work_root / f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        stage = work / "stage"
        stage_sources(layout, stage)

        to_run: list[tuple[ChapterJob, dict[str, str], dict[str, Any]]] = []
        estimates: dict[str, Path] = {}
        for job in plan:
            if not job.is_notebook:
                report.static.append(job.page)
                continue
            inputs, entry = decisions[job.page]
            if entry is not None:
                _place(entry, job, stage, estimates, report.downloads)
                report.cached.append(job.page)
                say(f"[dim]· cached[/] {job.page}")
                continue
            params = dict(job.parameters)
            if job.analysis_id:
                params["estimates_out"] = layout.rel(work / "estimates" / f"{job.analysis_id}.csv")
            if DOWNLOADS_PARAMETER in notebook_parameters(job.source):
                folder = work / "downloads" / job.page.replace("/", "__")
                folder.mkdir(parents=True, exist_ok=True)
                params[DOWNLOADS_PARAMETER] = layout.rel(folder)
            task = {"source": str(job.source), "output": str(work / "executed" / (job.page + ".ipynb")),
                    "parameters": params, "cwd": str(layout.root), "data_dir": str(ddir),
                    "reads_log": str(work / "reads" / (job.page.replace("/", "__") + ".log")),
                    "label": job.page + (f" ({layout.rel(job.source)})" if job.analysis_id else ".ipynb")}
            to_run.append((job, inputs, task))

        t0 = time.perf_counter()
        # The generated pages (banner, How to cite, What's new, Versions) are written into a folder of
        # their own (with the staged configuration, which the banner goes into), kept by the hash of
        # their inputs and merged into the stage; with unchanged inputs the kept ones are reused.
        gen_key = generated_pages_key(layout, ddir, pkg)
        reused = not force and restore_generated_pages(layout, stage, gen_key)
        gen = work / "generated"
        if not reused:
            (gen / "book").mkdir(parents=True)
            shutil.copyfile(stage / "_config.yml", gen / "_config.yml")
        if to_run:  # the generated pages are computed in the pool too, beside the chapters
            side = None if reused else (generate_pages_isolated, (str(layout.root), str(layout.package_dir),
                                                                  str(gen), str(ddir)))
            _execute_all(to_run, layout, cache, stage, estimates, report, work, jobs, console, side=side)
        elif not reused:
            with memoised():  # What's new recomputes the summary of findings: each table loaded once
                generate_pages(layout, gen, ddir)
        if not reused:
            keep_generated_pages(layout, gen, gen_key)
            shutil.copytree(gen, stage, dirs_exist_ok=True)
        report.timings["execute"] = time.perf_counter() - t0

        analyses_ids = [j.analysis_id for j in plan if j.analysis_id]
        if analyses_ids:
            files = [(aid, estimates[aid]) for aid in analyses_ids]
            for aid, f in files:
                dest = stage / DOWNLOADS / "pooled" / f"{aid}.csv"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
            concat_estimates(files, stage / POOLED_CSV)
            report.pooled_csv = layout.html / "_static" / "downloads" / "pooled_estimates.csv"
        cache.prune([j.page for j in plan])

        t0 = time.perf_counter()
        stage_sha = tree_hash(stage)
        marker = layout.build / "cache" / "published-stage.sha256"
        try:
            # the marker holds the stage's hash and the published tree's: a published book with a
            # file deleted or changed since (any part of _build/html) is built again
            if (not force and (layout.html / "index.html").exists() and marker.exists()
                    and marker.read_text(encoding="utf-8").split() == [stage_sha, tree_hash(layout.html)]):
                # Every staged file (config, pages, executed notebooks, downloads, generated pages)
                # is byte for byte what the published book was built from: Sphinx would write the
                # same book again.
                report.sphinx_skipped = True
                report.timings["sphinx"] = 0.0
                say("[green]✓[/] sources identical to the published book's: Jupyter Book not needed")
            else:
                say("[cyan]…[/] Jupyter Book (warnings are errors)")
                built = run_jupyter_book_incremental(layout, stage, force=force, process=sphinx_process)
                html = work / "html"
                shutil.copytree(built, html)  # Sphinx's own folder stays for the next build
                check_published(html, layout.root)
                report.timings["sphinx"] = time.perf_counter() - t0
                marker.unlink(missing_ok=True)
                swap_into_place(html, layout.html)
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(f"{stage_sha} {tree_hash(layout.html)}\n", encoding="utf-8")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    report.timings["total"] = time.perf_counter() - t_start
    say(f"[green]✓[/] book built: {layout.rel(layout.html / 'index.html')} "
        f"({len(report.executed)} executed, {len(report.cached)} cached, {report.timings['total']:.1f} s)")
    return report


def _place(entry: Path, job: ChapterJob, stage: Path, estimates: dict[str, Path],
           published: dict[str, str] | None = None) -> None:
    """Copy a cached (or freshly cached) entry into the stage, its downloads into ``_static/downloads``.

    ``published`` (file name -> page) collects the downloads and catches two chapters publishing one name.
    """
    dest = stage / (job.page + ".ipynb")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(entry / "notebook.ipynb", dest)
    if job.analysis_id:
        estimates[job.analysis_id] = entry / "estimates.csv"
    published = {} if published is None else published
    folder = entry / "downloads"
    for f in sorted(folder.iterdir()) if folder.is_dir() else []:
        if f.name in RESERVED_DOWNLOADS or published.get(f.name, job.page) != job.page:
            owner = published.get(f.name, "the build (pooled estimates)")
            raise BuildError(f"{job.page} publishes {f.name}, which {owner} already publishes under "
                             f"{DOWNLOADS}/; rename one of them")
        (stage / DOWNLOADS).mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, stage / DOWNLOADS / f.name)
        published[f.name] = job.page


def downloads_written(folder: Path, label: str) -> dict[str, Path]:
    """The files a chapter wrote into its ``downloads_dir`` (``downloads/<name>`` -> path).

    Only plain files at the top level are published; a sub-folder is an error naming the chapter.
    """
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not f.is_file():
            raise BuildError(f"{label}: wrote the folder {f.name}/ into its downloads_dir; only files are "
                             "published (write them at the top level)")
        out[f"downloads/{f.name}"] = f
    return out


#: Generated pages kept from earlier builds, by the hash of everything they are computed from.
GENERATED_DIR = "generated"


#: Notebook metadata key of a chapter's own estimate of its execution time (``expected_seconds``),
#: used to schedule a first build, before any time is recorded.
NOTEBOOK_METADATA_KEY = "sarcoma_review"


def expected_seconds(source: Path) -> float:
    """``metadata.sarcoma_review.expected_seconds`` of the notebook at ``source`` (0 when absent)."""
    try:
        meta = json.loads(Path(source).read_text(encoding="utf-8")).get("metadata", {})
        return float(meta.get(NOTEBOOK_METADATA_KEY, {}).get("expected_seconds", 0.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def generated_pages_key(layout: Layout, data_dir: Path, pkg_hash: str) -> str:
    """Hash of everything :func:`generate_pages` reads: the data (the build's and the checkout's own
    ``data/``, whose hashes say whether the edition is a frozen release), the package, the pinned environment,
    ``book/`` (``analyses.yml``), ``releases/``, ``CITATION.cff``, the configuration, the table of
    contents, the changelog, the version file, and the banner's git facts (the data's last commit
    date, uncommitted data changes)."""
    from sarcoma_review.living import citation

    root_data = layout.root / "data"
    h = hashlib.sha256()
    for part in (tree_hash(data_dir), tree_hash(root_data) if Path(data_dir).resolve() != root_data.resolve() else "",
                 pkg_hash, environment_hash(layout.root), layout.rel(data_dir), tree_hash(layout.book),
                 tree_hash(layout.root / "releases")):
        h.update(part.encode() + b"\0")
    for name in ("CITATION.cff", "_config.yml", "_toc.yml", "CHANGELOG.md", "src/sarcoma_review/_version.py"):
        p = layout.root / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"-") + b"\0")
    if (layout.root / "CITATION.cff").exists():
        try:
            h.update(citation.banner_text(layout.root).encode())
        except Exception as exc:  # noqa: BLE001 - generate_pages will raise it, clearly
            h.update(repr(exc).encode())
    return h.hexdigest()


def restore_generated_pages(layout: Layout, stage: Path, key: str) -> bool:
    """Copy the pages generated by an earlier build with the same :func:`generated_pages_key` into
    ``stage``; False when there are none."""
    kept = layout.cache / GENERATED_DIR / key
    try:
        files = json.loads((kept / "files.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not all((kept / "files" / rel).is_file() for rel in files):
        return False
    for rel in files:
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept / "files" / rel, stage / rel)
    return True


def keep_generated_pages(layout: Layout, generated: Path, key: str) -> None:
    """Keep the files :func:`generate_pages` wrote into the folder ``generated`` under
    ``_build/cache/generated/<key>`` (only the newest set is kept)."""
    folder = layout.cache / GENERATED_DIR
    shutil.rmtree(folder, ignore_errors=True)
    files = sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file())
    tmp = folder / (key + ".tmp")
    shutil.copytree(generated, tmp / "files")
    (tmp / "files.json").write_text(json.dumps(files), encoding="utf-8")
    tmp.rename(folder / key)


def generate_pages_isolated(root: str, package_dir: str, stage: str, data_dir: str) -> BaseException | None:
    """:func:`generate_pages` in a chapter process forked from the preloaded fork server (its imports
    done), so that What's new is computed beside the chapters instead of before them.

    Returns the exception it raised (one that survives pickling, else a :class:`BuildError` naming it),
    or ``None``: the submitting process raises it.
    """
    import pickle

    from sarcoma_review.living.notebooks import ensure_current_package

    ensure_current_package()
    try:
        from sarcoma_review.data.tracking import memoised as _memoised
        from sarcoma_review.living.build import Layout as _Layout
        from sarcoma_review.living.build import generate_pages as _generate

        with _memoised():
            _generate(_Layout(Path(root), package_dir=Path(package_dir)), Path(stage), Path(data_dir))
    except Exception as exc:  # noqa: BLE001 - handed to the submitting process, which raises it
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:  # noqa: BLE001 - an exception that cannot cross processes
            return BuildError(f"the generated pages (What's new, How to cite, Versions) failed: "
                              f"{type(exc).__name__}: {exc}")
    return None


def _execute_all(to_run, layout: Layout, cache: Cache, stage: Path, estimates: dict[str, Path],
                 report: BuildReport, work: Path, jobs: int | None, console,
                 side: tuple[Callable[..., BaseException | None], tuple] | None = None) -> None:
    """Execute ``to_run`` in a process pool; cache each success; raise on the first failure.

    ``side`` is ``(function, args)`` run in the same pool, first (the generated pages): the exception
    it returns is raised once the chapters are done."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    workers = max(1, min(jobs or os.cpu_count() or 1, len(to_run) + (1 if side else 0)))
    progress = Progress(SpinnerColumn(), TextColumn("executing {task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=console, disable=console is None, transient=True)
    failures: list[str] = []
    with progress, warm_pool(workers) as pool:
        bar = progress.add_task(f"{len(to_run)} chapter(s) on {workers} worker(s)", total=len(to_run))
        side_future = submit_call(pool, side[0], *side[1]) if side else None
        # longest first (by the last recorded time, else the notebook's own estimate; the table of
        # contents' order among equals)
        ordered = sorted(to_run, key=lambda item: -(cache.last_seconds(item[0].page)
                                                    or expected_seconds(item[0].source)))
        pending: dict[Future, tuple[ChapterJob, dict[str, str], dict[str, Any]]] = {
            submit(pool, run_notebook, task): (job, inputs, task) for job, inputs, task in ordered}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job, inputs, task = pending.pop(fut)
                progress.advance(bar)
                try:
                    res = finish_notebook(task, fut.result())
                except Exception as exc:  # noqa: BLE001 - a worker died
                    res = {"ok": False, "message": f"{task['label']}: worker failed: {exc!r}"}
                if not res["ok"]:
                    failures.append(res["message"])
                    if console:
                        progress.console.print(f"[red]✗[/] {job.page}", highlight=False)
                    for f in pending:
                        f.cancel()
                    continue
                files = {"notebook.ipynb": Path(res["output"])}
                if job.analysis_id:
                    est = layout.root / task["parameters"]["estimates_out"]
                    if not est.exists():
                        failures.append(f"{task['label']}: did not write its estimates to the "
                                        f"`estimates_out` parameter ({task['parameters']['estimates_out']})")
                        continue
                    files["estimates.csv"] = est
                if DOWNLOADS_PARAMETER in task["parameters"]:
                    files.update(downloads_written(layout.root / task["parameters"][DOWNLOADS_PARAMETER],
                                                   task["label"]))
                entry = cache.store(job.page, job.source, inputs, res["reads"], files, res["seconds"],
                                    raw=res.get("raw"), frames=res.get("frames", ()))
                _place(entry, job, stage, estimates, report.downloads)
                report.executed.append(ChapterTiming(job.page, res["seconds"]))
                report.chapter_rss_mb = max(report.chapter_rss_mb, float(res.get("max_rss_mb", 0.0)))
                if console:
                    progress.console.print(f"[green]✓[/] executed {job.page} ({res['seconds']:.1f} s, "
                                           f"read {len(res['reads'])} data file(s))", highlight=False)
    side_error: BaseException | None = None
    if side_future is not None and not side_future.cancelled():
        try:
            side_error = side_future.result()
        except Exception as exc:  # noqa: BLE001 - the worker died
            side_error = BuildError(f"the generated pages (What's new, How to cite, Versions) failed: {exc!r}")
    if failures:
        kept = layout.build / "failed"
        kept.mkdir(parents=True, exist_ok=True)
        for job, _, task in to_run:
            out = Path(task["output"])
            if out.exists() and job.page not in report.executed_pages:
                dest = kept / (job.page.replace("/", "__") + ".ipynb")
                shutil.copy2(out, dest)
        raise ChapterExecutionError(
            "chapter execution failed; the previous book in _build/html is unchanged.\n"
            + "\n".join(failures)
            + f"\nThe failed notebooks (with tracebacks) are in {layout.rel(kept)}/.")
    if side_error is not None:
        raise side_error


# --------------------------------------------------------------------------- review run
def resolve_chapter(chapter: str, root: Path | None = None) -> tuple[Path, dict[str, Any], str]:
    """``(notebook, base parameters, name)`` for ``review run CHAPTER``.

    ``CHAPTER`` may be a notebook path (relative to the cwd or the root), a chapter name under
    ``book/`` (``pooled`` means ``book/pooled.ipynb``), or an analysis id from ``book/analyses.yml``
    (the template with that analysis' parameters).
    """
    layout = Layout(Path(root).resolve() if root else paths.REPO_ROOT)
    for cand in (Path(chapter), layout.root / chapter):
        if cand.suffix == ".ipynb" and cand.is_file():
            return cand.resolve(), {}, cand.stem
    named = layout.book / f"{chapter}.ipynb"
    if named.is_file():
        return named, {}, chapter
    for a in load_analyses(layout.analyses):
        if str(a["id"]) == chapter:
            return layout.root / TEMPLATE, analysis_parameters(a), chapter
    known = sorted(p.relative_to(layout.book).with_suffix("").as_posix() for p in layout.book.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    ids = [str(a["id"]) for a in load_analyses(layout.analyses)]
    raise UsageError(f"no chapter {chapter!r}: give a notebook path, a chapter name "
                             f"({', '.join(known) or 'none yet'}) or an analysis id ({', '.join(ids) or 'none yet'})")


def check_parameters(notebook: Path, given: Mapping[str, Any]) -> None:
    """Raise :class:`UsageError` when ``given`` names a parameter the notebook's ``parameters`` cell
    does not declare (papermill would inject it silently and the run would ignore it)."""
    declared = notebook_parameters(notebook)
    unknown = sorted(set(given) - declared)
    if unknown:
        raise UsageError(f"{notebook.name} has no parameter {', '.join(repr(u) for u in unknown)}; its "
                         f"parameters are {', '.join(sorted(declared)) or 'none'} (e.g. -p horizon_years=5)")


def execute_chapter(notebook: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                    parameters: Mapping[str, Any] | None = None,
                    data_dir: str | os.PathLike[str] | None = None, *,
                    root: str | os.PathLike[str] | None = None, html: bool = True) -> RunResult:
    """Execute one notebook into ``output_dir`` (never touches ``_build/html``).

    Writes ``<name>.ipynb`` (executed, cleaned), ``estimates.csv`` when the notebook declares an
    ``estimates_out`` parameter, the files it publishes under ``downloads/`` when it declares a
    ``downloads_dir`` parameter, and with ``html`` a one-page Jupyter Book under ``html/``
    (``html/index.html`` opens the page). The kernel runs at the root with ``$REVIEW_DATA_DIR`` set
    to ``data_dir`` (default ``paths.data_dir()``), which is also passed as the ``data_dir`` parameter
    when the notebook declares one.

    Raises
    ------
    ChapterExecutionError
        A cell failed (the message names the notebook and the cell).
    """
    layout = Layout(Path(root).resolve() if root else paths.REPO_ROOT)
    nb_path = Path(notebook).resolve()
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ddir = Path(data_dir).resolve() if data_dir else layout.default_data_dir()
    declared = notebook_parameters(nb_path)
    params = dict(parameters or {})
    if data_dir is not None and "data_dir" in declared:
        params["data_dir"] = layout.rel(ddir)
    estimates = out / "estimates.csv" if "estimates_out" in declared else None
    if estimates is not None:
        estimates.unlink(missing_ok=True)
        params["estimates_out"] = layout.rel(estimates)
    downloads = out / "downloads" if DOWNLOADS_PARAMETER in declared else None
    if downloads is not None:
        shutil.rmtree(downloads, ignore_errors=True)
        downloads.mkdir()
        params[DOWNLOADS_PARAMETER] = layout.rel(downloads)
    name = nb_path.stem if "analysis_id" not in params else str(params["analysis_id"])
    executed = out / f"{name}.ipynb"
    task = {"source": str(nb_path), "output": str(executed), "parameters": params,
            "cwd": str(layout.root), "data_dir": str(ddir),
            "reads_log": str(out / ".reads.log"), "label": layout.rel(nb_path)}
    res = run_isolated(task)
    (out / ".reads.log").unlink(missing_ok=True)
    if not res["ok"]:
        raise ChapterExecutionError(res["message"] + f"\nThe failed notebook is {res['output']}")
    if estimates is not None and not estimates.exists():
        raise ChapterExecutionError(f"{layout.rel(nb_path)} did not write its estimates to the "
                                    f"`estimates_out` parameter ({params['estimates_out']})")
    page = None
    if html:
        page = _single_page_html(layout, executed, out / "html", name)
    written = list(downloads_written(downloads, layout.rel(nb_path)).values()) if downloads is not None else []
    return RunResult(out, executed, page, estimates, [Path(r) for r in res["reads"]], res["seconds"], written)


def _single_page_html(layout: Layout, executed: Path, dest: Path, name: str) -> Path:
    """Render one executed notebook as a one-page Jupyter Book (same theme as the book) into ``dest``."""
    stage = dest.parent / ".stage"
    stage_sources(layout, stage)
    target = stage / "book" / "run" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    (stage / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": f"book/run/{name}"}),
                                    encoding="utf-8")
    try:
        built = run_jupyter_book(stage, stage / "out", strict=False)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(built), dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return dest / "index.html"


__all__ = ["BuildError", "BuildLockedError", "BuildReport", "ChapterExecutionError", "ConfigurationError",
           "DataValidationError", "Layout", "RunResult", "build_book", "build_lock", "check_published",
           "check_toc_matches_analyses", "clean_executed_notebook", "execute_chapter", "load_analyses",
           "resolve_chapter", "toc_pages"]
