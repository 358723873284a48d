"""The ``review`` command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build, validate and release the living review of particle therapy for sarcoma.",
                  no_args_is_help=True)


@app.command()
def build() -> None:
    """Build the whole book into _build/html (the last good book stays in place if this fails)."""
    from sarcoma_review.build import build_book

    html = build_book()
    typer.echo(f"book built: {html / 'index.html'}")


@app.callback()
def main() -> None:
    """Living review of particle therapy for bone and soft-tissue sarcoma."""
