"""The ``review`` command line: every command of the living review, in one place.

``validate``, ``run``, ``build``, ``add-study``, ``release``, ``verify-release``, ``site`` and ``serve``
(the benchmarks are ``python -m benchmarks``, outside the package). Domain modules never import typer: they raise
:class:`~sarcoma_review.errors.ReviewError` subclasses, which
:class:`ReviewGroup` catches once and prints as one message (``error: ...``), exit status 1, no
traceback; a bad option (click's own parsing) is likewise one line, exit status 2.
Every command that reads the working data takes ``--data DIR`` (``validate``, ``run``, ``build``,
``add-study``); ``release`` freezes the checkout's committed ``data/``, ``verify-release`` reads the
release's frozen copy.

Every command works on the checkout you stand in (:func:`sarcoma_review.paths.project_problem`): it
refuses, with one line, to run outside a checkout or with another checkout's package, and it sets
``$REVIEW_ROOT`` for the kernels and subprocesses it starts.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sarcoma_review.errors import ReviewError, UsageError

#: The command-line parser's own error for a bad option value or argument (typer vendors click, so
#: the class is found through the public ``typer.BadParameter``).
ParserUsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class ReviewGroup(TyperGroup):
    """The one place where a :class:`ReviewError` becomes a message and exit status 1."""

    def invoke(self, ctx):  # noqa: D102 - click's hook
        try:
            return super().invoke(ctx)
        except ReviewError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            # Ctrl-C: the chapter processes ignore it and are ended by the command (living.warm.end_pool);
            # the published book is only ever replaced by a rename, add-study restores its files
            typer.secho(
                "error: interrupted (Ctrl-C) before the command finished; run it again", fg=typer.colors.RED, err=True
            )
            raise typer.Exit(code=130) from None
        except ParserUsageError as exc:
            # click's parsing errors (bad option value, missing argument) as one line too
            command = exc.ctx.command_path if exc.ctx is not None else "review"
            typer.secho(f"error: {exc.format_message()} (see `{command} --help`)", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from None


def _project() -> Path:
    """The checkout the command works on (see :func:`sarcoma_review.paths.project_problem`); its root is
    exported as ``$REVIEW_ROOT`` so every kernel and subprocess reads the same project."""
    from sarcoma_review.errors import ProjectError
    from sarcoma_review.paths import REPO_ROOT, ROOT_ENV_VAR, project_problem

    problem = project_problem()
    if problem:
        raise ProjectError(problem)
    os.environ[ROOT_ENV_VAR] = str(REPO_ROOT)
    return REPO_ROOT


app = typer.Typer(
    cls=ReviewGroup,
    help="Build, validate and release the living review of particle therapy for sarcoma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataOption = Annotated[Path | None, typer.Option("--data", help="Data folder to use instead of the checkout's data/.")]


def _data(data: Path | None) -> Path:
    from sarcoma_review.paths import data_dir

    _project()
    if data is None:
        return data_dir()
    if not data.is_dir():
        raise UsageError(
            f"--data {data}: no such folder; give a data folder laid out like data/ (literature/, cnao/, ...)"
        )
    return data.resolve()


def parse_parameters(texts: list[str]) -> dict[str, Any]:
    """Every ``-p NAME=VALUE`` (:func:`parse_parameter`); a name given twice is refused, not silently
    the last value."""
    out: dict[str, Any] = {}
    for text in texts:
        name, value = parse_parameter(text)
        if name in out:
            raise UsageError(f"-p {name} is given twice ({out[name]!r} and {value!r}); give each parameter once")
        out[name] = value
    return out


def _run_folder(base: Path, name: str) -> Path:
    """A new folder ``base/<name>-<timestamp>`` for one run, created here (``-2``, ``-3``... when another
    run took that name in the same second): two runs never share a folder."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base.mkdir(parents=True, exist_ok=True)
    for i in range(1, 1000):
        folder = base / (f"{name}-{stamp}" if i == 1 else f"{name}-{stamp}-{i}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"{base} holds too many runs named {name}-{stamp}; give --out")


def _check_out(out: Path, root: Path, data_dirs: list[Path]) -> Path:
    """``--out`` as a new (or empty) folder outside the published book, the data and the sources; it is
    created here, so a second run given the same folder is refused instead of mixing its files."""
    from sarcoma_review.paths import BUILD_DIR

    target = out.resolve()
    protected = {
        BUILD_DIR / "html": "the published book (_build/html), which a run never touches",
        BUILD_DIR / "html.old": "the published book's swap folder",
        BUILD_DIR / "sphinx": "the build's own Sphinx folder",
        BUILD_DIR / "cache": "the build's cache",
        BUILD_DIR / "work": "the build's work folder",
        root / "book": "the book's sources",
        root / "src": "the package",
        root / "releases": "the releases",
        root / "tests": "the tests",
    }
    for d in data_dirs:
        protected[d] = f"the data folder {d}"
    for folder, what in protected.items():
        folder = folder.resolve()
        if target == folder or folder in target.parents:
            raise UsageError(f"--out {out} is inside {what}; give a folder of its own, e.g. _build/runs/mine")
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {out} is an existing file; give a new folder (a run writes several files there)")
    try:
        target.mkdir(parents=True)
    except FileExistsError:
        if any(target.iterdir()):
            raise UsageError(
                f"--out {out} already holds files; give a new or empty folder, so that one run's "
                "files never mix with another's"
            ) from None
    except OSError as exc:
        raise UsageError(f"--out {out} cannot be created ({exc.strerror}); give a folder you can write") from None
    return target


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
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Data folders or table files to validate (default: every table under the data folder)."),
    ] = None,
    data: DataOption = None,
) -> None:
    """Validate the data tables against their schemas; exit 1 with a clear message on the first problem."""
    from sarcoma_review.data.loaders import check_required_tables, validate_paths
    from sarcoma_review.living.build import default_validator

    _project()
    targets = list(paths or [_data(data)])
    for p in targets:
        if p.is_dir():
            check_required_tables(p.resolve())  # an empty or partial folder is not the review's data
            default_validator(p.resolve())
        elif p.is_file():
            validate_paths([p.resolve()])
        else:
            raise UsageError(f"{p} does not exist; give a data folder or a table's CSV file")
        typer.echo(f"valid: {p}")


@app.command()
def run(
    chapter: Annotated[
        str, typer.Argument(help="Notebook path (book/pooled.ipynb), chapter name under book/ (pooled) or analysis id.")
    ],
    data: DataOption = None,
    parameter: Annotated[
        list[str] | None, typer.Option("-p", "--parameter", help="NAME=VALUE parameter for the notebook (repeatable).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default _build/runs/<chapter>-<timestamp>).")
    ] = None,
) -> None:
    """Re-execute one chapter with other data or parameters into its own folder (never touches _build/html).

    Writes the executed notebook, a one-page HTML rendering (html/index.html) and, for notebooks
    with an `estimates_out` parameter, estimates.csv.
    """
    from sarcoma_review.living.analyses import check_run_parameters, load_analyses
    from sarcoma_review.living.execute import (
        check_parameters,
        execute_chapter,
        resolve_chapter,
    )
    from sarcoma_review.paths import BUILD_DIR, data_dir

    root = _project()
    ddir = None if data is None else _data(data)
    notebook, params, name = resolve_chapter(chapter)
    given = parse_parameters(parameter or [])
    check_parameters(notebook, given)
    check_run_parameters(params, given, load_analyses(root / "book" / "analyses.yml"), chapter)
    params.update(given)
    if out is None:
        out = _run_folder(BUILD_DIR / "runs", name)
    else:
        out = _check_out(out, root, [data_dir().resolve(), *([ddir] if ddir else [])])
    typer.echo(f"executing {notebook.name} into {out} ...")
    res = execute_chapter(notebook, out, params, ddir)
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
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Chapters executed in parallel (default: number of cores)."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for a running build instead of failing.")] = False,
) -> None:
    """Build the whole book into _build/html (the last good book stays in place if this fails).

    Validates the data, executes the chapters whose inputs or data changed (papermill's parameters,
    one warm process per chapter; cached by content hash under _build/cache), runs Jupyter Book
    with warnings as errors and swaps the new HTML into place.
    """
    from sarcoma_review.data.loaders import check_required_tables
    from sarcoma_review.living.build import build_book

    _project()
    ddir = _data(data)
    check_required_tables(ddir)
    build_book(data_dir=None if data is None else ddir, force=force, jobs=jobs, wait=wait)
    from sarcoma_review.pages.appraisal import not_appraised

    missing = not_appraised(ddir)
    if missing:  # the book is built; the appraisal chapter shows these series as not appraised
        typer.echo(
            f"note: no risk-of-bias assessment yet for {', '.join(missing)}: add their rows to "
            "data/appraisal/sources.csv and risk_of_bias.csv"
        )


def _date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UsageError(f"--date {text!r} is not a date that exists; give YYYY-MM-DD (e.g. 2026-12-01)") from None


@app.command("release")
def release_command(
    version: Annotated[
        str,
        typer.Argument(
            help="New semantic version MAJOR.MINOR.PATCH, greater than the current version (or equal to it "
            "when that version has never been released: _version.py names the release in preparation)."
        ),
    ],
    date: Annotated[str | None, typer.Option(help="Release date YYYY-MM-DD (default: today, UTC).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute and show the changelog entry; write nothing.")
    ] = False,
    no_tag: Annotated[bool, typer.Option("--no-tag", help="Commit the release but do not tag it.")] = False,
    no_commit: Annotated[bool, typer.Option("--no-commit", help="Write the files; no commit, no tag.")] = False,
    no_pdf: Annotated[
        bool, typer.Option("--no-pdf", help="Do not build and print the book into releases/VERSION/book.pdf.")
    ] = False,
    root: Annotated[Path | None, typer.Option(hidden=True, help="Repository root (tests).")] = None,
) -> None:
    """Release VERSION (semantic versioning, greater than the last release): bump _version.py, CITATION.cff
    and CHANGELOG.md, freeze releases/VERSION/ (estimates, audit, data hashes, manifest with the commit and the
    environment, and book.pdf: the book as released, printed with Debian's Chromium), commit and tag vVERSION.
    """
    from sarcoma_review.living.release import parse_version, release

    parse_version(version)
    when = _date(date)
    if root is None:
        root = _project()
    res = release(
        version,
        root=root,
        date=when,
        tag=not (no_tag or no_commit),
        commit=not no_commit,
        dry_run=dry_run,
        pdf=not no_pdf,
    )
    for note in res.notes:
        typer.echo(f"note: {note}")
    if dry_run:
        typer.echo(res.changelog_entry)
        typer.echo(f"(dry run: nothing written; would freeze {res.release_dir})")
        return
    typer.echo(
        f"released {res.version} into {res.release_dir}"
        + (f", commit {res.commit[:12]}" if res.commit else "")
        + (f", tag {res.tag}" if res.tag else "")
    )


def _ask(value: Any, name: str, text: str, kind: type = str) -> Any:
    """``value``, or in a terminal the answer to a prompt; without a terminal a missing value is left
    to :func:`~sarcoma_review.living.add_study.add_study`, which names every missing option at once."""
    if value not in (None, "") or not sys.stdin.isatty():
        return value
    return typer.prompt(text, type=kind)


@app.command("add-study")
def add_study_command(
    study_id: Annotated[
        str | None, typer.Option(help="New id: first author in lower case + year (e.g. smith2025).")
    ] = None,
    first_author: Annotated[str | None, typer.Option(help="First author as printed.")] = None,
    year: Annotated[int | None, typer.Option(help="Publication year.")] = None,
    n_patients: Annotated[int | None, typer.Option(help="Patients in the series.")] = None,
    site: Annotated[str | None, typer.Option(help="Anatomical site as printed.")] = None,
    histology: Annotated[str | None, typer.Option(help="Histology as printed.")] = None,
    particle: Annotated[
        str | None, typer.Option(help="Particle as printed, one of the forms in data/literature/particle_groups.csv.")
    ] = None,
    particle_group: Annotated[
        str | None, typer.Option(help="Optional check: the group you expect (the group written is the mapping's).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the series is printed (e.g. 'Smith 2025, Table 2').")
    ] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate",
            help="ENDPOINT:YEARS=PERCENT, e.g. LC:5=70 (repeatable; endpoints LC, OS, PFS, DFS, DMFS, DPFS, "
            "LRFS, CSS; years 1 to 10).",
        ),
    ] = None,
    rate_source: Annotated[str | None, typer.Option(help="Where the rates are printed (default: --source).")] = None,
    patient_group: Annotated[
        str | None, typer.Option(help="chordoma (every patient), bone, soft tissue, mixed or not reported.")
    ] = None,
    setting: Annotated[str | None, typer.Option(help="definitive, postoperative, mixed or not reported.")] = None,
    centre: Annotated[
        str | None, typer.Option(help="Treating centre as printed ('not named in the text read').")
    ] = None,
    citation: Annotated[str | None, typer.Option(help="The publication as printed on the page read.")] = None,
    identifier: Annotated[str | None, typer.Option(help="DOI or PMID as printed (doi:... or pmid:...).")] = None,
    address: Annotated[str | None, typer.Option(help="The address the publication was read at.")] = None,
    access: Annotated[str | None, typer.Option(help="What was read: full text or abstract.")] = None,
    quote: Annotated[str | None, typer.Option(help="The sentence that gives the rates, copied exactly.")] = None,
    origin: Annotated[str | None, typer.Option(help="The update that found the series, e.g. 'update 2026-12'.")] = None,
    overlap_group: Annotated[
        str | None,
        typer.Option(help="Overlap group of series from the same centre and years (literature/overlap_groups.csv)."),
    ] = None,
    n_chordoma: Annotated[int | None, typer.Option(help="Patients with chordoma, if given.")] = None,
    n_definitive: Annotated[
        int | None, typer.Option(help="Patients treated for macroscopic disease, if given.")
    ] = None,
    n_postoperative: Annotated[int | None, typer.Option(help="Patients treated after resection, if given.")] = None,
    accrual_start: Annotated[int | None, typer.Option(help="First year of treatment, if given.")] = None,
    accrual_end: Annotated[int | None, typer.Option(help="Last year of treatment, if given.")] = None,
    median_followup_months: Annotated[float | None, typer.Option(help="Median follow-up in months, if given.")] = None,
    data: DataOption = None,
) -> None:
    """Add one literature series and its rates to data/literature (studies.csv and outcomes.csv).

    Checks the particle mapping and the keys, writes the rows with their provenance, validates every
    table (on failure both files are restored) and prints each affected pooled estimate before and
    after. Missing fields are asked for one by one when run in a terminal.
    """
    from sarcoma_review.data.loaders import check_required_tables
    from sarcoma_review.living.add_study import add_study, parse_rate

    root = _project()
    ddir = _data(data)
    check_required_tables(ddir)  # the data validate accepts, and no other
    fields = {
        "study_id": _ask(study_id, "study_id", "study id (first author in lower case + year)"),
        "first_author": _ask(first_author, "first_author", "first author"),
        "year": _ask(year, "year", "publication year", int),
        "n_patients": _ask(n_patients, "n_patients", "patients (n)", int),
        "site": _ask(site, "site", "anatomical site as printed"),
        "histology": _ask(histology, "histology", "histology as printed"),
        "particle": _ask(particle, "particle", "particle as printed"),
        "source": _ask(source, "source", "where the series is printed"),
        "patient_group": _ask(patient_group, "patient_group", "histology group (chordoma, bone, soft tissue, mixed)"),
        "setting": _ask(setting, "setting", "setting (definitive, postoperative, mixed, not reported)"),
        "centre": _ask(centre, "centre", "treating centre"),
        "citation": _ask(citation, "citation", "the publication as printed"),
        "address": _ask(address, "address", "address the publication was read at"),
        "access": _ask(access, "access", "what was read (full text or abstract)"),
        "quote": _ask(quote, "quote", "the sentence that gives the rates"),
        "identifier": identifier,
        "origin": origin or f"update {_dt.date.today():%Y-%m}",
        "overlap_group": overlap_group,
        "n_chordoma": n_chordoma,
        "n_definitive": n_definitive,
        "n_postoperative": n_postoperative,
        "accrual_start": accrual_start,
        "accrual_end": accrual_end,
        "median_followup_months": median_followup_months,
    }
    texts = list(rate or [])
    if not texts and sys.stdin.isatty():
        while True:
            answer = typer.prompt(
                "rate ENDPOINT:YEARS=PERCENT (e.g. LC:5=70; empty to finish)", default="", show_default=False
            )
            if not answer.strip():
                break
            texts.append(answer)
    rates = [parse_rate(t) for t in texts]
    res = add_study(ddir, fields, rates, rate_source=rate_source, particle_group=particle_group, root=root)
    typer.echo(
        f"added {res.study_id} ({res.particle_group}) with {len(rates)} rate(s) to "
        + " and ".join(str(p) for p in res.files)
        + "; data valid"
    )
    for change in res.changes:
        typer.echo("  " + change.describe())
    if not res.changes:
        typer.echo("  no pooled analysis in book/analyses.yml uses these endpoints and landmarks")
    typer.echo(
        f"next: appraise its risk of bias (data/appraisal/sources.csv, risk_of_bias.csv with the ten JBI "
        f"items: until then {res.study_id} is shown as not appraised), "
        "review build (the book), then commit data/"
    )


@app.command("verify-release")
def verify_release_command(
    version: Annotated[str, typer.Argument(help="A frozen release MAJOR.MINOR.PATCH (a folder under releases/).")],
    root: Annotated[Path | None, typer.Option(hidden=True, help="Repository root (tests).")] = None,
) -> None:
    """Rebuild release VERSION's estimates from its frozen data and compare them byte for byte.

    Reads releases/VERSION/manifest.json (analyses, commit, environment) and releases/VERSION/data/,
    checks the data against the recorded hashes, recomputes the estimates and compares them with
    releases/VERSION/estimates.csv.
    """
    from sarcoma_review.living.release import parse_version, verify_frozen_release

    parse_version(version)
    root = _project() if root is None else root
    report = verify_frozen_release(version, root=root)
    for note in report.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"release {version} verified: {report.summary}")


@app.command("site")
def site_command(
    out: Annotated[Path | None, typer.Option("--out", help="Site folder (default _build/site).")] = None,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Use the book already in _build/html instead of building it first.")
    ] = False,
) -> None:
    """Assemble the publishable site in _build/site: the current book at the root, every release's book as
    released under v/VERSION/ (built from its frozen data and its own code; kept, so an unchanged release is
    not built again), a banner naming its version on every page, versions.json and a version switcher.
    """
    from sarcoma_review.living.site import build_site

    root = _project()
    if out is not None:  # a new or empty folder, or a site written before (replaced whole)
        if not (out.resolve() / "versions.json").is_file():
            out = _check_out(out, root, [root / "data"])
        out = out.resolve()
    report = build_site(root, out, build_current=not no_build, say=typer.echo)
    for version in report.built:
        typer.echo(f"built release {version} from its record")
    for version in report.cached:
        typer.echo(f"release {version}: kept from an earlier build (unchanged)")
    typer.echo(f"site: {report.out} ({len(report.versions)} versions; versions.json lists them)")


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on localhost (0: any free port).")] = 8000,
) -> None:
    """Build the book, serve _build/html on http://127.0.0.1:PORT/ and rebuild on every edit of data/, book/,
    _config.yml, _toc.yml or the package (the same rules as review build); the open page reloads itself, a
    failed build shows its error there and here while the last good book stays served. Ctrl-C stops it.
    """
    from sarcoma_review.living.serve import serve

    raise typer.Exit(serve(_project(), port=port))
