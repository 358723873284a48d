"""Static checks of the built book (`make book` first; `make test` does it): every page carries
the version banner, chart libraries are loaded once, in order, exactly on the pages that draw
charts, and no page leaks a local path or a traceback."""

from __future__ import annotations

import re

import pytest

from sarcoma_review import __version__
from sarcoma_review.paths import HTML_DIR, REPO_ROOT

LIBS = ["vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js"]


def _pages():
    if not (HTML_DIR / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first")
    return sorted(p for p in (HTML_DIR / "book").rglob("*.html"))


def test_every_page_shows_version_and_data_date():
    """Every page names its version: the release (the version file's, when the book is exactly that release)
    or a development version after a release (#20: never a release's number on a book that is not it)."""
    release = rf"Version {re.escape(__version__)}"
    development = r"Development version (after \d+\.\d+\.\d+|\S+ \(no release yet\))"
    for page in _pages():
        html = page.read_text(encoding="utf-8")
        assert re.search(rf"({release}|{development}) · data (as of \d{{4}}-\d{{2}}-\d{{2}}|date unknown)", html), page


def test_chart_libraries_only_where_charts_are_drawn():
    chart_pages = 0
    for page in _pages():
        html = page.read_text(encoding="utf-8")
        srcs = re.findall(r'<script[^>]+src="([^"]+)"', html)
        loaded = [lib for s in srcs for lib in LIBS if s.split("?")[0].endswith(lib)]
        if "vegaEmbed(" in html.split("</head>", 1)[1]:
            chart_pages += 1
            assert loaded == LIBS, page  # each once, in order
        else:
            assert loaded == [], page
    assert chart_pages >= 8  # literature, cnao, ifosfamide, five pooled pages, comparisons, audit, what's new


def test_no_local_paths_or_tracebacks():
    for page in _pages():
        html = page.read_text(encoding="utf-8")
        assert str(REPO_ROOT) not in html and "Traceback" not in html, page
