"""Sphinx keeps its environment between builds (``_build/sphinx``) and re-writes only changed pages,
and never serves a stale page: after each edit the published pages equal a forced build's byte for byte.

A tiny throwaway book (two Markdown pages and one notebook chapter). Edits: a chapter's computation
(only that page is re-written), an authored page's text and its title (Sphinx starts afresh: other
pages may show them), a page removed from the table of contents.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from helpers import tiny_book, write_toc

from sarcoma_review.living.build import build_book
from sarcoma_review.living.publish import SPHINX_DIR, navigation_digest


def _book(root: Path) -> Path:
    return tiny_book(
        root,
        {"ch": "print('MARK')"},
        {"other": "# Other page\n\nFirst text.\n"},
        intro="# Tiny\n\nIntro, see {doc}`other`.\n",
    )


def _pages(root: Path) -> dict[str, bytes]:
    html = root / "_build" / "html"
    return {p.relative_to(html).as_posix(): p.read_bytes() for p in sorted(html.rglob("*.html"))}


def _build(root: Path, force: bool = False):
    return build_book(root=root, validator=lambda d: None, quiet=True, force=force)


def _sphinx_mtimes(root: Path) -> dict[str, int]:
    out = root / "_build" / SPHINX_DIR / "out" / "_build" / "html" / "book"
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.html")}


def _same_as_forced(root: Path) -> None:
    incremental = _pages(root)
    _build(root, force=True)
    forced = _pages(root)
    assert sorted(k for k in set(incremental) | set(forced) if incremental.get(k) != forced.get(k)) == []


@pytest.mark.slow
def test_incremental_sphinx_rewrites_only_changed_pages_and_never_a_stale_one(tmp_path):
    root = _book(tmp_path / "repo")
    _build(root)
    assert (root / "_build" / SPHINX_DIR / "state.json").exists()
    before = _sphinx_mtimes(root)

    # 1. what a chapter computes (its code, as a data edit would change its outputs): that page is
    # written again, the other page is not; the book equals a forced build's
    nb = nbformat.read(root / "book" / "ch.ipynb", as_version=4)
    nb.cells[1].source = "print('SECOND')"
    nbformat.write(nb, root / "book" / "ch.ipynb")
    _build(root)
    after = _sphinx_mtimes(root)
    assert after["ch.html"] != before["ch.html"]
    assert after["other.html"] == before["other.html"]  # (Sphinx also re-writes the root, whose toctree lists it)
    assert "SECOND" in (root / "_build" / "html" / "book" / "ch.html").read_text(encoding="utf-8")
    _same_as_forced(root)

    # 1b. an authored page's text (it may define what others show: a glossary term, a citation, a
    # label): Sphinx starts afresh, every page is written again
    before = _sphinx_mtimes(root)
    (root / "book" / "other.md").write_text("# Other page\n\nSecond text.\n")
    _build(root)
    after = _sphinx_mtimes(root)
    assert all(after[p] != before[p] for p in ("intro.html", "ch.html", "other.html"))
    _same_as_forced(root)

    # 2. a page's title: every page's navigation (and the intro's {doc} link) shows the new one
    (root / "book" / "other.md").write_text("# Renamed page\n\nSecond text.\n")
    _build(root)
    for page in ("intro", "ch", "other"):
        assert "Renamed page" in (root / "_build" / "html" / "book" / f"{page}.html").read_text(encoding="utf-8")
    _same_as_forced(root)

    # 3. a page leaves the table of contents (and the intro's link to it): it is not published, and no
    # page's navigation names it
    write_toc(root, ["book/ch"])
    (root / "book" / "intro.md").write_text("# Tiny\n\nIntro.\n")
    _build(root)
    assert not (root / "_build" / "html" / "book" / "other.html").exists()
    for page in ("intro", "ch"):
        assert "Renamed page" not in (root / "_build" / "html" / "book" / f"{page}.html").read_text(encoding="utf-8")
    _same_as_forced(root)


def test_navigation_digest_sees_authored_text_not_what_the_data_compute(tmp_path):
    stage = tmp_path / "stage"
    (stage / "book" / "_static" / "downloads").mkdir(parents=True)
    (stage / "_toc.yml").write_text("root: book/a\n")
    (stage / "book" / "a.md").write_text("# A\n\ntext\n")
    (stage / "book" / "whats-new.md").write_text("# What's new\n\n70.9%\n")
    (stage / "book" / "_static" / "downloads" / "x.csv").write_text("x\n1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Some words\n\n# Title of B"), nbformat.v4.new_code_cell("1")]
    nbformat.write(nb, stage / "book" / "b.ipynb")
    base = navigation_digest(stage)

    # what the data compute: outputs, a generated page's body, a download
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="42")]
    nbformat.write(nb, stage / "book" / "b.ipynb")
    (stage / "book" / "whats-new.md").write_text("# What's new\n\n71.0%\n")
    (stage / "book" / "_static" / "downloads" / "x.csv").write_text("x\n2\n")
    assert navigation_digest(stage) == base

    # authored: a Markdown page's text, a notebook's Markdown, a generated page's title, a file added,
    # the toc
    for edit in (
        lambda: (stage / "book" / "a.md").write_text("# A\n\nother text\n"),
        lambda: (
            nb.cells.__setitem__(0, nbformat.v4.new_markdown_cell("Some words\n\n# New title")),
            nbformat.write(nb, stage / "book" / "b.ipynb"),
        ),
        lambda: (stage / "book" / "whats-new.md").write_text("# What changed\n\n71.0%\n"),
        lambda: (stage / "book" / "references.bib").write_text("@article{a, title={A}}\n"),
        lambda: (stage / "_toc.yml").write_text("root: book/b\n"),
    ):
        previous = navigation_digest(stage)
        edit()
        assert navigation_digest(stage) != previous
