"""Build the book: stage the sources, run Jupyter Book (warnings as errors), swap into place.

The last good book in ``_build/html`` is replaced only after a new build succeeds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from sarcoma_review.paths import BOOK_DIR, BUILD_DIR, HTML_DIR, REPO_ROOT


def stage_sources(stage: Path) -> None:
    """Copy the book configuration and chapters into ``stage`` (a fresh folder)."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO_ROOT / name, stage / name)
    shutil.copytree(BOOK_DIR, stage / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


def build_html(stage: Path, out: Path) -> Path:
    """Run Jupyter Book on ``stage`` with warnings as errors; return the HTML folder."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(stage), "--path-output", str(out),
           "--warningiserror", "--nitpick", "--keep-going", "--quiet"]
    subprocess.run(cmd, check=True)
    return out / "_build" / "html"


def swap_into_place(new_html: Path, target: Path = HTML_DIR) -> None:
    """Replace ``target`` by ``new_html`` with renames only, so a reader never sees half a book."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    new_html.rename(target)
    if old.exists():
        shutil.rmtree(old)


def build_book() -> Path:
    work = BUILD_DIR / "work"
    stage = work / "stage"
    stage_sources(stage)
    html = build_html(stage, work / "out")
    swap_into_place(html)
    return HTML_DIR
