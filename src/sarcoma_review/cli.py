"""The ``review`` command line: every command of the living review, in one place.

``validate``, ``run``, ``build``, ``release``, ``verify-release`` and ``bench``. Domain modules never
import typer: they raise :class:`~sarcoma_review.errors.ReviewError` subclasses, which
:class:`ReviewGroup` catches once and prints as one line (``error: ...``), exit status 1, no traceback.
Every command that reads data takes ``--data DIR``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sarcoma_review.errors import ReviewError, UsageError


class ReviewGroup(TyperGroup):
    """The one place where a :class:`ReviewError` becomes a message and exit status 1."""

    def invoke(self, ctx):  # noqa: D102 - click's hook
        try:
            return super().invoke(ctx)
        except ReviewError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1) from None


app = typer.Typer(cls=ReviewGroup,
                  help="Build, validate and release the living review of particle therapy for sarcoma.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

DataOption = Annotated[Path | None, typer.Option(
    "--data", help="Data folder to use instead of the checkout's data/.")]


def _data(data: Path | None) -> Path:
    from sarcoma_review.paths import data_dir

    if data is None:
        return data_dir()
    if not data.is_dir():
        raise UsageError(f"--data {data}: no such folder; give a data folder laid out like data/ "
                         "(literature/, cnao/, ...)")
    return data.resolve()


def parse_parameter(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` → ``(name, value)``, typed as papermill's ``-p`` does (int, float, bool, None, str)."""
    if "=" not in text:
        raise UsageError(f"{text!r} is not NAME=VALUE (e.g. -p horizon_years=5)")
    name, raw = text.split("=", 1)
    name = name.strip()
    if not name.isidentifier():
        raise UsageError(f"{name!r} is not a valid parameter name")
    value: Any = raw
    for conv in (int, float):
        try:
            return name, conv(raw)
        except ValueError:
            pass
    value = {"True": True, "true": True, "False": False, "false": False, "None": None}.get(raw, raw)
    return name, value


@app.callback()
def main() -> None:
    """Living review of particle therapy for bone and soft-tissue sarcoma."""


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Data folders or table files to validate (default: every table under the data folder).")] = None,
    data: DataOption = None,
) -> None:
    """Validate the data tables against their schemas; exit 1 with a clear message on the first problem."""
    from sarcoma_review.data.loaders import validate_paths
    from sarcoma_review.living.build import default_validator

    targets = list(paths or [_data(data)])
    for p in targets:
        if p.is_dir():
            default_validator(p.resolve())
        elif p.is_file():
            validate_paths([p.resolve()])
        else:
            raise UsageError(f"{p} does not exist; give a data folder or a table's CSV file")
        typer.echo(f"valid: {p}")


@app.command()
def run(
    chapter: Annotated[str, typer.Argument(
        help="Notebook path (book/pooled.ipynb), chapter name under book/ (pooled) or analysis id.")],
    data: DataOption = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "-p", "--parameter", help="NAME=VALUE parameter for the notebook (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output folder (default _build/runs/<chapter>-<timestamp>).")] = None,
) -> None:
    """Re-execute one chapter with other data or parameters into its own folder (never touches _build/html).

    Writes the executed notebook, a one-page HTML rendering (html/index.html) and, for notebooks
    with an `estimates_out` parameter, estimates.csv.
    """
    from sarcoma_review.living.build import execute_chapter, resolve_chapter
    from sarcoma_review.paths import BUILD_DIR

    notebook, params, name = resolve_chapter(chapter)
    params.update(dict(parse_parameter(p) for p in parameter or []))
    if out is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = BUILD_DIR / "runs" / f"{name}-{stamp}"
    typer.echo(f"executing {notebook.name} into {out} ...")
    res = execute_chapter(notebook, out, params, data if data is None else _data(data))
    typer.echo(f"notebook:  {res.notebook}")
    if res.html:
        typer.echo(f"html:      {res.html}")
    if res.estimates:
        typer.echo(f"estimates: {res.estimates}")
    typer.echo(f"done in {res.seconds:.1f} s; read {len(res.reads)} data file(s)")


@app.command()
def build(
    data: DataOption = None,
    force: Annotated[bool, typer.Option("--force", help="Execute every chapter, ignoring the cache.")] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Chapters executed in parallel (default: number of cores).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for a running build instead of failing.")] = False,
) -> None:
    """Build the whole book into _build/html (the last good book stays in place if this fails).

    Validates the data, executes changed chapters with papermill (cached by content hash under
    _build/cache), runs Jupyter Book with warnings as errors and swaps the new HTML into place.
    """
    from sarcoma_review.living.build import build_book

    build_book(data_dir=None if data is None else _data(data), force=force, jobs=jobs, wait=wait)


def _date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UsageError(f"--date {text!r} is not a date that exists; give YYYY-MM-DD (e.g. 2026-12-01)") from None


@app.command("release")
def release_command(
    version: Annotated[str, typer.Argument(
        help="New semantic version MAJOR.MINOR.PATCH, greater than the current version (or equal to it "
             "when that version has never been released: _version.py names the release in preparation).")],
    date: Annotated[str | None, typer.Option(help="Release date YYYY-MM-DD (default: today, UTC).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute and show the changelog entry; write nothing.")] = False,
    no_tag: Annotated[bool, typer.Option("--no-tag", help="Commit the release but do not tag it.")] = False,
    no_commit: Annotated[bool, typer.Option("--no-commit", help="Write the files; no commit, no tag.")] = False,
    root: Annotated[Path | None, typer.Option(hidden=True, help="Repository root (tests).")] = None,
) -> None:
    """Release VERSION (semantic versioning, greater than the last release): bump _version.py, CITATION.cff
    and CHANGELOG.md, freeze releases/VERSION/ (estimates, audit, data hashes, manifest), commit and tag vVERSION.
    """
    from sarcoma_review.living.release import parse_version, release
    from sarcoma_review.paths import REPO_ROOT

    parse_version(version)
    res = release(version, root=root or REPO_ROOT, date=_date(date), tag=not (no_tag or no_commit),
                  commit=not no_commit, dry_run=dry_run)
    for note in res.notes:
        typer.echo(f"note: {note}")
    if dry_run:
        typer.echo(res.changelog_entry)
        typer.echo(f"(dry run: nothing written; would freeze {res.release_dir})")
        return
    typer.echo(f"released {res.version} into {res.release_dir}"
               + (f", commit {res.commit[:12]}" if res.commit else "") + (f", tag {res.tag}" if res.tag else ""))


@app.command("bench")
def bench_command(
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs per figure (the median is reported).")] = 3,
    quick: Annotated[bool, typer.Option("--quick", help="One run each, scaling up to 1,000 studies (a few minutes).")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Parallel chapter executions (default: cores).")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Where to write the Markdown report (default BENCHMARKS.md).")] = None,
) -> None:
    """Benchmark the build and the pooling; writes _build/bench/results.json and BENCHMARKS.md.

    Cold build vs Jupyter Book's serial execution, no-change, one-rate and one-study rebuilds vs cold,
    side by side with Jupyter Book's own cache (times, and what each shows after the edit),
    run_analysis and the pooled chapter on 10 to 10,000 synthetic studies, page weights, memory.
    Builds a scratch copy of the book: _build/html is not touched.
    """
    from sarcoma_review.living.bench import Bench, run_bench
    from sarcoma_review.paths import REPO_ROOT

    cfg = Bench(repeat=1 if quick and repeat == 3 else repeat, quick=quick, jobs=jobs,
                report=report or REPO_ROOT / "BENCHMARKS.md")
    results = run_bench(cfg)
    for r in results["comparisons"]:
        ratio = "" if r["ratio"] is None else f" ratio {r['ratio']:.2f}"
        status = {True: "met", False: "NOT met", None: "n/a"}[r["met"]]
        typer.echo(f"{r['comparison']}: {r['measured']}{ratio} (target {r['target']}: {status})")
    for n in results["notes"]:
        typer.echo(f"  not met: {n}")
    typer.echo(f"wrote {cfg.out_dir / 'results.json'} and {cfg.report}")
