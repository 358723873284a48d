"""Executing chapters: in parallel processes forked from the fork server (the build), or one chapter on
its own (``review run``), and placing each executed or cached chapter into the stage."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import yaml

from sarcoma_review import paths
from sarcoma_review.errors import (  # noqa: F401  (re-exported for callers of the build)
    BuildError,
    BuildLockedError,
    ChapterExecutionError,
    ConfigurationError,
    DataValidationError,
    UsageError,
)
from sarcoma_review.living.analyses import load_analyses
from sarcoma_review.living.cache import Cache, expected_seconds
from sarcoma_review.living.notebooks import (
    finish_notebook,
    notebook_parameters,
    run_notebook,
)
from sarcoma_review.living.plan import (
    DOWNLOADS,
    DOWNLOADS_PARAMETER,
    RESERVED_DOWNLOADS,
    TEMPLATE,
    BuildReport,
    ChapterJob,
    ChapterTiming,
    Layout,
    RunResult,
    analysis_parameters,
)
from sarcoma_review.living.publish import run_jupyter_book, stage_sources
from sarcoma_review.living.warm import (
    run_isolated,
    submit,
    submit_call,
    warm_pool,
)


def _place(
    entry: Path, job: ChapterJob, stage: Path, estimates: dict[str, Path], published: dict[str, str] | None = None
) -> None:
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
            raise BuildError(
                f"{job.page} publishes {f.name}, which {owner} already publishes under {DOWNLOADS}/; rename one of them"
            )
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
            raise BuildError(
                f"{label}: wrote the folder {f.name}/ into its downloads_dir; only files are "
                "published (write them at the top level)"
            )
        out[f"downloads/{f.name}"] = f
    return out


#: Generated pages kept from earlier builds, by the hash of everything they are computed from.
def _execute_all(
    to_run,
    layout: Layout,
    cache: Cache,
    stage: Path,
    estimates: dict[str, Path],
    report: BuildReport,
    work: Path,
    jobs: int | None,
    console,
    side: tuple[Callable[..., BaseException | None], tuple] | None = None,
) -> None:
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
    progress = Progress(
        SpinnerColumn(),
        TextColumn("executing {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
        transient=True,
    )
    failures: list[str] = []
    with progress, warm_pool(workers) as pool:
        bar = progress.add_task(f"{len(to_run)} chapter(s) on {workers} worker(s)", total=len(to_run))
        side_future = submit_call(pool, side[0], *side[1]) if side else None
        # longest first (by the last recorded time, else the notebook's own estimate; the table of
        # contents' order among equals)
        ordered = sorted(
            to_run, key=lambda item: -(cache.last_seconds(item[0].page) or expected_seconds(item[0].source))
        )
        pending: dict[Future, tuple[ChapterJob, dict[str, str], dict[str, Any]]] = {
            submit(pool, run_notebook, task): (job, inputs, task) for job, inputs, task in ordered
        }
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
                        failures.append(
                            f"{task['label']}: did not write its estimates to the "
                            f"`estimates_out` parameter ({task['parameters']['estimates_out']})"
                        )
                        continue
                    files["estimates.csv"] = est
                if DOWNLOADS_PARAMETER in task["parameters"]:
                    files.update(
                        downloads_written(layout.root / task["parameters"][DOWNLOADS_PARAMETER], task["label"])
                    )
                entry = cache.store(
                    job.page,
                    job.source,
                    inputs,
                    res["reads"],
                    files,
                    res["seconds"],
                    raw=res.get("raw"),
                    frames=res.get("frames", ()),
                )
                _place(entry, job, stage, estimates, report.downloads)
                report.executed.append(ChapterTiming(job.page, res["seconds"]))
                report.chapter_rss_mb = max(report.chapter_rss_mb, float(res.get("max_rss_mb", 0.0)))
                if console:
                    progress.console.print(
                        f"[green]✓[/] executed {job.page} ({res['seconds']:.1f} s, "
                        f"read {len(res['reads'])} data file(s))",
                        highlight=False,
                    )
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
            + f"\nThe failed notebooks (with tracebacks) are in {layout.rel(kept)}/."
        )
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
    known = sorted(
        p.relative_to(layout.book).with_suffix("").as_posix()
        for p in layout.book.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )
    ids = [str(a["id"]) for a in load_analyses(layout.analyses)]
    raise UsageError(
        f"no chapter {chapter!r}: give a notebook path, a chapter name "
        f"({', '.join(known) or 'none yet'}) or an analysis id ({', '.join(ids) or 'none yet'})"
    )


def check_parameters(notebook: Path, given: Mapping[str, Any]) -> None:
    """Raise :class:`UsageError` when ``given`` names a parameter the notebook's ``parameters`` cell
    does not declare (papermill would inject it silently and the run would ignore it)."""
    declared = notebook_parameters(notebook)
    unknown = sorted(set(given) - declared)
    if unknown:
        raise UsageError(
            f"{notebook.name} has no parameter {', '.join(repr(u) for u in unknown)}; its "
            f"parameters are {', '.join(sorted(declared)) or 'none'} (e.g. -p horizon_years=5)"
        )


def execute_chapter(
    notebook: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    html: bool = True,
) -> RunResult:
    """Execute one notebook into ``output_dir`` (never touches ``_build/html``).

    Writes ``<name>.ipynb`` (executed, cleaned), ``estimates.csv`` when the notebook declares an
    ``estimates_out`` parameter, the files it publishes under ``downloads/`` when it declares a
    ``downloads_dir`` parameter, and with ``html`` a one-page Jupyter Book under ``html/``
    (``html/index.html`` opens the page). The kernel runs at the root under a build context whose data folder
    is ``data_dir`` (default ``paths.data_dir()``), which is also passed as the ``data_dir`` parameter
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
    task = {
        "source": str(nb_path),
        "output": str(executed),
        "parameters": params,
        "cwd": str(layout.root),
        "data_dir": str(ddir),
        "reads_log": str(out / ".reads.log"),
        "label": layout.rel(nb_path),
    }
    res = run_isolated(task)
    (out / ".reads.log").unlink(missing_ok=True)
    if not res["ok"]:
        raise ChapterExecutionError(res["message"] + f"\nThe failed notebook is {res['output']}")
    if estimates is not None and not estimates.exists():
        raise ChapterExecutionError(
            f"{layout.rel(nb_path)} did not write its estimates to the "
            f"`estimates_out` parameter ({params['estimates_out']})"
        )
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
    (stage / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": f"book/run/{name}"}), encoding="utf-8")
    try:
        built = run_jupyter_book(stage, stage / "out", strict=False)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(built), dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return dest / "index.html"


__all__ = ["check_parameters", "downloads_written", "execute_chapter", "resolve_chapter"]
