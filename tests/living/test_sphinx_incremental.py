"""Sphinx keeps its environment between builds (``_build/sphinx``) and re-writes only changed pages,
and never serves a stale page: after each edit the published pages equal a forced build's byte for byte.

A tiny throwaway book (two Markdown pages and one notebook chapter). Edits: a page's text (only that
page is re-written), a page's title (every page's navigation shows it, so every page is re-written),
a page removed from the table of contents.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from sarcoma_review.living.build import SPHINX_DIR, build_book, navigation_digest

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}


def _book(root: Path) -> Path:
    (root / "book").mkdir(parents=True)
    (root / "book" / "intro.md").write_text("# Tiny\n\nIntro, see {doc}`other`.\n")
    (root / "book" / "other.md").write_text("# Other page\n\nFirst text.\n")
    nb = nbformat.v4.new_notebook(metadata=KERNEL)
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter"), nbformat.v4.new_code_cell("print('MARK')")]
    nbformat.write(nb, root / "book" / "ch.ipynb")
    _toc(root, ["book/ch", "book/other"])
    (root / "_config.yml").write_text(yaml.safe_dump({
        "title": "Tiny", "author": "Test", "only_build_toc_files": True, "exclude_patterns": ["_build", "data"],
        "execute": {"execute_notebooks": "off"}}))
    (root / "data").mkdir()
    return root


def _toc(root: Path, chapters: list[str]) -> None:
    (root / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "book/intro",
                                                   "chapters": [{"file": c} for c in chapters]}, sort_keys=False))


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

    # 1. a page's text: that page is written again (and the intro, whose {doc} link Sphinx resolves
    # from it), the chapter is not; the book equals a forced build's
    (root / "book" / "other.md").write_text("# Other page\n\nSecond text.\n")
    _build(root)
    after = _sphinx_mtimes(root)
    assert after["other.html"] != before["other.html"]
    assert after["ch.html"] == before["ch.html"]
    assert "Second text." in (root / "_build" / "html" / "book" / "other.html").read_text(encoding="utf-8")
    _same_as_forced(root)

    # 2. a page's title: every page's navigation (and the intro's {doc} link) shows the new one
    (root / "book" / "other.md").write_text("# Renamed page\n\nSecond text.\n")
    _build(root)
    for page in ("intro", "ch", "other"):
        assert "Renamed page" in (root / "_build" / "html" / "book" / f"{page}.html").read_text(encoding="utf-8")
    _same_as_forced(root)

    # 3. a page leaves the table of contents (and the intro's link to it): it is not published, and no
    # page's navigation names it
    _toc(root, ["book/ch"])
    (root / "book" / "intro.md").write_text("# Tiny\n\nIntro.\n")
    _build(root)
    assert not (root / "_build" / "html" / "book" / "other.html").exists()
    for page in ("intro", "ch"):
        assert "Renamed page" not in (root / "_build" / "html" / "book" / f"{page}.html").read_text(encoding="utf-8")
    _same_as_forced(root)


def test_navigation_digest_sees_titles_and_files_not_body_text(tmp_path):
    stage = tmp_path / "stage"
    (stage / "book").mkdir(parents=True)
    (stage / "_toc.yml").write_text("root: book/a\n")
    (stage / "book" / "a.md").write_text("# A\n\ntext\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Some words\n\n# Title of B"), nbformat.v4.new_code_cell("1")]
    nbformat.write(nb, stage / "book" / "b.ipynb")
    base = navigation_digest(stage)
    (stage / "book" / "a.md").write_text("# A\n\nother text\n")
    assert navigation_digest(stage) == base  # body text: the navigation is unchanged
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="42")]
    nbformat.write(nb, stage / "book" / "b.ipynb")
    assert navigation_digest(stage) == base  # outputs too
    nb.cells[0].source = "Some words\n\n# New title of B"
    nbformat.write(nb, stage / "book" / "b.ipynb")
    retitled = navigation_digest(stage)
    assert retitled != base
    (stage / "book" / "c.csv").write_text("x\n")
    assert navigation_digest(stage) != retitled  # a file added
    (stage / "book" / "c.csv").unlink()
    assert navigation_digest(stage) == retitled
    (stage / "_toc.yml").write_text("root: book/b\n")
    assert navigation_digest(stage) != retitled
