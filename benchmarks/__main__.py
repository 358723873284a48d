"""``python -m benchmarks`` (``make bench``): benchmark the build and the pooling; writes
``_build/bench/results.json`` and ``BENCHMARKS.md``. One line on bad input, never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sarcoma_review.errors import ReviewError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=False)


@app.command()
def bench(
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs per figure (the median is reported).")] = 3,
    quick: Annotated[
        bool, typer.Option("--quick", help="One run each, scaling up to 1,000 studies, no serve row (a few minutes).")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parallel chapter executions (default: cores).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Where to write the Markdown report (default BENCHMARKS.md).")
    ] = None,
) -> None:
    """Cold build vs Jupyter Book's serial execution, no-change, one-rate and one-study rebuilds vs cold,
    one rate changed under ``review serve``, side by side with Jupyter Book's own cache, run_analysis and
    the pooled chapter on 10 to 10,000 synthetic studies, page weights, memory. Builds scratch copies of
    the book: ``_build/html`` is not touched."""
    try:
        results, cfg = _run(repeat, quick, jobs, report)
    except ReviewError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    for r in results["comparisons"]:
        ratio = "" if r["ratio"] is None else f" ratio {r['ratio']:.2f}"
        status = {True: "met", False: "NOT met", None: "n/a"}[r["met"]]
        typer.echo(f"{r['comparison']}: {r['measured']}{ratio} (target {r['target']}: {status})")
    for n in results["notes"]:
        typer.echo(f"  not met: {n}")
    typer.echo(f"wrote {cfg.out_dir / 'results.json'} and {cfg.report}")


def _run(repeat: int, quick: bool, jobs: int | None, report: Path | None):
    from benchmarks.harness import Bench, run_bench
    from sarcoma_review.living.build import default_validator
    from sarcoma_review.paths import REPO_ROOT, project_problem

    problem = project_problem()
    if problem:
        raise UsageError(problem)
    if report is not None and report.is_dir():
        raise UsageError(
            f"--report {report} is a folder; give the Markdown file to write (e.g. {report / 'BENCHMARKS.md'})"
        )
    if report is not None and not report.resolve().parent.is_dir():
        raise UsageError(
            f"--report {report}: the folder {report.resolve().parent} does not exist; create it or give another path"
        )
    if report is not None and not os.access(report.resolve().parent, os.W_OK):
        raise UsageError(f"--report {report}: the folder {report.resolve().parent} is not writable; give another path")
    default_validator(REPO_ROOT / "data")  # bad data: one message before minutes of benchmarks
    cfg = Bench(
        repeat=1 if quick and repeat == 3 else repeat,
        quick=quick,
        jobs=jobs,
        report=report or REPO_ROOT / "BENCHMARKS.md",
    )
    return run_bench(cfg), cfg


if __name__ == "__main__":
    sys.exit(app(prog_name="python -m benchmarks"))
