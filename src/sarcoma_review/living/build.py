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
import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from sarcoma_review.living.cache import (
    Cache,
    chapter_inputs,
    environment_hash,
    generated_pages_key,
    keep_generated_pages,
    package_hash,
    restore_generated_pages,
    tree_hash,
)
from sarcoma_review.living.execute import _execute_all, _place
from sarcoma_review.living.notebooks import (
    notebook_parameters,
)
from sarcoma_review.living.plan import (
    DOWNLOADS,
    DOWNLOADS_PARAMETER,
    POOLED_CSV,
    BuildReport,
    ChapterJob,
    Layout,
    plan_chapters,
)
from sarcoma_review.living.publish import (
    SphinxProcess,
    _console,
    build_lock,
    check_published,
    concat_estimates,
    generate_pages,
    generate_pages_isolated,
    recover_html,
    run_jupyter_book_incremental,
    stage_sources,
    swap_into_place,
)
from sarcoma_review.living.warm import (
    start_fork_server,
)


def default_validator(data_dir: Path) -> bool:
    """Validate every data table with :func:`sarcoma_review.data.loaders.validate_all`."""
    try:
        from sarcoma_review.data.loaders import validate_all
    except ImportError as exc:  # pragma: no cover - until the loaders land
        if "sarcoma_review.data.loaders" not in str(exc):
            raise
        print("warning: sarcoma_review.data.loaders not available yet; data not validated", file=sys.stderr)
        return False
    validate_all(data_dir)
    return True


def _validation_key(layout: Layout, data_dir: Path, pkg_hash: str) -> str:
    """Every data file's bytes, the package code, the pinned environment and the data folder's name."""
    return hashlib.sha256(
        "\0".join([tree_hash(data_dir), pkg_hash, environment_hash(layout.root), layout.rel(data_dir)]).encode()
    ).hexdigest()


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


def build_book(
    data_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    jobs: int | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    validator: Callable[[Path], Any] | None = None,
    package_dir: Path | None = None,
    wait: bool = False,
    quiet: bool = False,
) -> BuildReport:
    """Build the book into ``<root>/_build/html``; the previous book stays if anything fails.

    Parameters
    ----------
    data_dir
        Data folder for every chapter (its build context, and the analyses' ``data_dir``);
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
    layout = Layout(
        Path(root).resolve() if root else paths.REPO_ROOT,
        **({"package_dir": Path(package_dir).resolve()} if package_dir else {}),
    )
    run = _Run(
        layout=layout,
        data_dir=Path(data_dir).resolve() if data_dir else layout.default_data_dir(),
        force=force,
        jobs=jobs,
        console=None if quiet else _console(),
    )
    with build_lock(layout.lock, wait=wait), contextlib.ExitStack() as cleanup:
        recover_html(layout.html)
        _check_cache_and_validate(run, validator, cleanup)  # 1. which chapters are cached; the data valid
        _stage(run)  # 2. the sources staged; what must execute
        try:
            _execute_and_generate(run)  # 3. chapters executed, generated pages
            _publish_estimates(run)  # 4. the analyses' estimates CSVs
            _publish_book(run)  # 5. Jupyter Book, checks, swap into place
        finally:
            shutil.rmtree(run.work, ignore_errors=True)
    run.report.timings["total"] = time.perf_counter() - t_start
    run.say(
        f"[green]✓[/] book built: {layout.rel(layout.html / 'index.html')} "
        f"({len(run.report.executed)} executed, {len(run.report.cached)} cached, "
        f"{run.report.timings['total']:.1f} s)"
    )
    return run.report


@dataclass
class _Run:
    """One build's state, passed from step to step of :func:`build_book`."""

    layout: Layout
    data_dir: Path
    force: bool
    jobs: int | None
    console: Any
    report: BuildReport = None  # type: ignore[assignment]
    plan: list[ChapterJob] = field(default_factory=list)
    pkg: str = ""
    decisions: dict[str, tuple[dict[str, str], Path | None]] = field(default_factory=dict)
    sphinx_process: SphinxProcess | None = None
    work: Path = None  # type: ignore[assignment]
    stage: Path = None  # type: ignore[assignment]
    to_run: list[tuple[ChapterJob, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    estimates: dict[str, Path] = field(default_factory=dict)
    cache: Cache = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.report = BuildReport(html_dir=self.layout.html)

    def say(self, msg: str) -> None:
        if self.console is not None:
            self.console.print(msg, highlight=False)


def _check_cache_and_validate(
    run: _Run, validator: Callable[[Path], Any] | None, cleanup: contextlib.ExitStack
) -> None:
    """Plan the chapters, look each up in the cache, validate the data (one load of each table for both,
    the validated frames kept on disk for the chapter processes: see ``loaders.TABLE_CACHE``).

    When the data or the package differ from the last validated build (a chapter will most likely
    execute), the fork server starts at once and does its imports on another core while the cache is
    checked, the data validated and the sources staged; otherwise only once the cache checks found a
    chapter to execute (its imports would compete with the rest)."""
    layout, ddir = run.layout, run.data_dir
    run.pkg = package_hash(layout.package_dir)
    if run.force or not _validated_before(layout, _validation_key(layout, ddir, run.pkg)):
        start_fork_server()
    run.plan = plan_chapters(layout, ddir)
    with memoised(), paths.using(paths.BuildContext(data_dir=ddir, cache_dir=layout.cache)):
        t0 = time.perf_counter()
        run.cache = Cache(layout)
        for job in run.plan:
            if job.is_notebook:
                inputs = chapter_inputs(layout, job, run.pkg, ddir)
                run.decisions[job.page] = (inputs, None if run.force else run.cache.lookup(job.page, inputs))
        run.report.timings["cache"] = time.perf_counter() - t0
        if any(entry is None for _, entry in run.decisions.values()):
            start_fork_server()  # a no-op when it runs already
            run.sphinx_process = SphinxProcess()  # Jupyter Book's imports overlap the chapters
            cleanup.callback(run.sphinx_process.close)  # ended unused when the build stops early
        t0 = time.perf_counter()
        checked = _validate(layout, ddir, validator, run.pkg)
        run.report.timings["validate"] = time.perf_counter() - t0
    if checked is not False:
        run.say(f"[green]✓[/] data valid ({layout.rel(ddir)})")


def _stage(run: _Run) -> None:
    """A fresh work folder with the staged sources; each cached chapter placed into the stage, each other
    one made a task for a chapter process."""
    layout = run.layout
    work_root = layout.build / "work"
    for stale in (work_root, layout.build / "failed"):  # left by killed or failed builds
        if stale.exists():
            shutil.rmtree(stale, ignore_errors=True)
    run.work = work_root / f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run.stage = run.work / "stage"
    stage_sources(layout, run.stage)
    for job in run.plan:
        if not job.is_notebook:
            run.report.static.append(job.page)
            continue
        inputs, entry = run.decisions[job.page]
        if entry is not None:
            _place(entry, job, run.stage, run.estimates, run.report.downloads)
            run.report.cached.append(job.page)
            run.say(f"[dim]· cached[/] {job.page}")
        else:
            run.to_run.append((job, inputs, _task(run, job)))


def _task(run: _Run, job: ChapterJob) -> dict[str, Any]:
    """What a chapter process needs to execute ``job``: its notebook, parameters and build context."""
    layout, work = run.layout, run.work
    params = dict(job.parameters)
    if job.analysis_id:
        params["estimates_out"] = layout.rel(work / "estimates" / f"{job.analysis_id}.csv")
    if DOWNLOADS_PARAMETER in notebook_parameters(job.source):
        folder = work / "downloads" / job.page.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        params[DOWNLOADS_PARAMETER] = layout.rel(folder)
    return {
        "source": str(job.source),
        "output": str(work / "executed" / (job.page + ".ipynb")),
        "parameters": params,
        "cwd": str(layout.root),
        "data_dir": str(run.data_dir),
        "cache_dir": str(layout.cache),
        "reads_log": str(work / "reads" / (job.page.replace("/", "__") + ".log")),
        "label": job.page + (f" ({layout.rel(job.source)})" if job.analysis_id else ".ipynb"),
    }


def _execute_and_generate(run: _Run) -> None:
    """Execute the chapters in parallel; the generated pages (banner, How to cite, What's new, Versions)
    computed in the pool beside them, or reused when their inputs are unchanged (they are written into
    a folder of their own, with the staged configuration the banner goes into, kept by the hash of
    their inputs and merged into the stage)."""
    layout, ddir, stage, work = run.layout, run.data_dir, run.stage, run.work
    t0 = time.perf_counter()
    gen_key = generated_pages_key(layout, ddir, run.pkg)
    reused = not run.force and restore_generated_pages(layout, stage, gen_key)
    gen = work / "generated"
    if not reused:
        (gen / "book").mkdir(parents=True)
        shutil.copyfile(stage / "_config.yml", gen / "_config.yml")
    if run.to_run:
        side = (
            None
            if reused
            else (generate_pages_isolated, (str(layout.root), str(layout.package_dir), str(gen), str(ddir)))
        )
        _execute_all(
            run.to_run, layout, run.cache, stage, run.estimates, run.report, work, run.jobs, run.console, side=side
        )
    elif not reused:
        with memoised():  # What's new recomputes the summary of findings: each table loaded once
            generate_pages(layout, gen, ddir)
    if not reused:
        keep_generated_pages(layout, gen, gen_key)
        shutil.copytree(gen, stage, dirs_exist_ok=True)
    run.report.timings["execute"] = time.perf_counter() - t0


def _publish_estimates(run: _Run) -> None:
    """Each analysis's estimates under ``_static/downloads/pooled/`` and all of them in one CSV."""
    analyses_ids = [j.analysis_id for j in run.plan if j.analysis_id]
    if analyses_ids:
        files = [(aid, run.estimates[aid]) for aid in analyses_ids]
        for aid, f in files:
            dest = run.stage / DOWNLOADS / "pooled" / f"{aid}.csv"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
        concat_estimates(files, run.stage / POOLED_CSV)
        run.report.pooled_csv = run.layout.html / "_static" / "downloads" / "pooled_estimates.csv"
    run.cache.prune([j.page for j in run.plan])


def _publish_book(run: _Run) -> None:
    """Jupyter Book on the stage, the HTML checked and swapped into place, unless every staged file is
    byte for byte what the published book was built from (then Sphinx would write the same book).

    The marker ``_build/cache/published-stage.sha256`` holds the stage's hash and the published tree's:
    a published book with a file deleted or changed since (any part of ``_build/html``) is built again."""
    layout, stage, report = run.layout, run.stage, run.report
    t0 = time.perf_counter()
    stage_sha = tree_hash(stage)
    marker = layout.build / "cache" / "published-stage.sha256"
    if (
        not run.force
        and (layout.html / "index.html").exists()
        and marker.exists()
        and marker.read_text(encoding="utf-8").split() == [stage_sha, tree_hash(layout.html)]
    ):
        report.sphinx_skipped = True
        report.timings["sphinx"] = 0.0
        run.say("[green]✓[/] sources identical to the published book's: Jupyter Book not needed")
        return
    run.say("[cyan]…[/] Jupyter Book (warnings are errors)")
    built = run_jupyter_book_incremental(layout, stage, force=run.force, process=run.sphinx_process)
    html = run.work / "html"
    shutil.copytree(built, html)  # Sphinx's own folder stays for the next build
    check_published(html, layout.root)
    report.timings["sphinx"] = time.perf_counter() - t0
    marker.unlink(missing_ok=True)
    swap_into_place(html, layout.html)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{stage_sha} {tree_hash(layout.html)}\n", encoding="utf-8")
