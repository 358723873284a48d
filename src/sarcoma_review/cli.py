"""The ``review`` command line: ``validate``, ``run``, ``build`` (``release`` and ``bench`` join later).

Errors the user can fix (bad data, a failing cell, a busy lock, an inconsistent table of contents)
are printed as one clear message without a traceback, and the command exits with status 1.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Build, validate and release the living review of particle therapy for sarcoma.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _fail(exc: BaseException) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _user_errors() -> tuple[type[BaseException], ...]:
    from sarcoma_review.build import BuildError, DataValidationError

    return (BuildError, DataValidationError)


def parse_parameter(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` → ``(name, value)``, typed as papermill's ``-p`` does (int, float, bool, None, str)."""
    if "=" not in text:
        raise typer.BadParameter(f"{text!r} is not NAME=VALUE (e.g. -p horizon_years=5)")
    name, raw = text.split("=", 1)
    name = name.strip()
    if not name.isidentifier():
        raise typer.BadParameter(f"{name!r} is not a valid parameter name")
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
) -> None:
    """Validate the data tables against their schemas; exit 1 with a clear message on the first problem."""
    from sarcoma_review.build import default_validator
    from sarcoma_review.paths import data_dir

    targets = list(paths or [data_dir()])
    try:
        for p in targets:
            if p.is_dir():
                default_validator(p.resolve())
            elif p.is_file():
                from sarcoma_review.loaders import validate_paths

                validate_paths([p.resolve()])
            else:
                _fail(FileNotFoundError(f"{p} does not exist; give a data folder or a table's CSV file"))
            typer.echo(f"valid: {p}")
    except _user_errors() as exc:
        _fail(exc)


@app.command()
def run(
    chapter: Annotated[str, typer.Argument(
        help="Notebook path (book/pooled.ipynb), chapter name under book/ (pooled) or analysis id.")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="Data folder to use instead of data/ (sets $REVIEW_DATA_DIR and the data_dir parameter).")] = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "-p", "--parameter", help="NAME=VALUE parameter for the notebook (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output folder (default _build/runs/<chapter>-<timestamp>).")] = None,
) -> None:
    """Re-execute one chapter with other data or parameters into its own folder (never touches _build/html).

    Writes the executed notebook, a one-page HTML rendering (html/index.html) and, for notebooks
    with an `estimates_out` parameter, estimates.csv.
    """
    from sarcoma_review.build import execute_chapter, resolve_chapter
    from sarcoma_review.paths import BUILD_DIR

    try:
        notebook, params, name = resolve_chapter(chapter)
        params.update(dict(parse_parameter(p) for p in parameter or []))
        if out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = BUILD_DIR / "runs" / f"{name}-{stamp}"
        typer.echo(f"executing {notebook.name} into {out} ...")
        res = execute_chapter(notebook, out, params, data)
    except _user_errors() as exc:
        _fail(exc)
        return
    typer.echo(f"notebook:  {res.notebook}")
    if res.html:
        typer.echo(f"html:      {res.html}")
    if res.estimates:
        typer.echo(f"estimates: {res.estimates}")
    typer.echo(f"done in {res.seconds:.1f} s; read {len(res.reads)} data file(s)")


@app.command()
def build(
    force: Annotated[bool, typer.Option("--force", help="Execute every chapter, ignoring the cache.")] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Chapters executed in parallel (default: number of cores).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for a running build instead of failing.")] = False,
) -> None:
    """Build the whole book into _build/html (the last good book stays in place if this fails).

    Validates the data, executes changed chapters with papermill (cached by content hash under
    _build/cache), runs Jupyter Book with warnings as errors and swaps the new HTML into place.
    """
    from sarcoma_review.build import build_book

    try:
        build_book(force=force, jobs=jobs, wait=wait)
    except _user_errors() as exc:
        _fail(exc)


from sarcoma_review.release import release_command  # noqa: E402  (registered by the release module)

app.command("release")(release_command)

from sarcoma_review.bench import bench_command  # noqa: E402  (registered by the bench module)

app.command("bench")(bench_command)
