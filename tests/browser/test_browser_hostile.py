"""A book built with a hostile study in its data shows the text literally and runs none of it.

A copy of the repository's book files (config, toc, book/) and data, with one study whose first
author and site are markup, is built with :func:`sarcoma_review.living.build.build_book` in tmp_path
(never the real ``_build``), served on 127.0.0.1 and opened in Debian's Chromium (offline, as in
tests/test_browser.py). The text must appear literally in the literature table and the pooled
page's series table, in the forest plot's tooltip and in the search results; no ``alert`` may
fire and no ``<img src=x>`` element may be created.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import require_chromium
from helpers import append_rows

from sarcoma_review import paths
from sarcoma_review.living.build import build_book

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AUTHOR = "<script>alert(1)</script>"
SITE = '"><img src=x onerror=alert(2)>'
SEARCH_WORD = "Zyxhostile"  # a word only the hostile study's histology contains, for the search index


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory, serve_dir) -> tuple[Path, str]:
    require_chromium()
    root = tmp_path_factory.mktemp("hostile") / "repo"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(paths.REPO_ROOT / name, root / name)
    shutil.copytree(
        paths.REPO_ROOT / "book", root / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    )
    shutil.copytree(paths.REPO_ROOT / "data", root / "data")
    append_rows(
        root / "data" / "literature" / "studies.csv",
        [
            {
                "study_id": "hostile2021",
                "first_author": AUTHOR,
                "year": 2021,
                "n_patients": 40,
                "site": SITE,
                "histology": SEARCH_WORD,
                "centre": AUTHOR,
                "citation": SITE,
                "source": "test: hostile text",
            }
        ],
    )
    append_rows(
        root / "data" / "literature" / "outcomes.csv",
        [{"study_id": "hostile2021", "endpoint": "LC", "horizon_years": 5, "rate_percent": 70, "quote": AUTHOR}],
    )
    build_book(root=root, quiet=True)
    html = root / "_build" / "html"
    return html, serve_dir(html)


def _open(browser, origin: str, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith((origin, "data:", "blob:")) else route.abort(),
    )
    page.goto(origin + url, wait_until="load")
    return context, page, dialogs


def _no_injection(page, dialogs: list[str]) -> None:
    assert dialogs == [], f"an alert fired: {dialogs}"
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], img[onerror]').length") == 0
    # no script element carries the hostile text as code
    assert page.evaluate("Array.from(document.scripts).filter(s => s.textContent.trim() === 'alert(1)').length") == 0


def test_hostile_text_is_literal_in_the_literature_and_pooled_tables(browser, hostile_site):
    _, origin = hostile_site
    for url in ("/book/literature.html", "/book/pooled/lc-5y.html"):
        context, page, dialogs = _open(browser, origin, url)
        try:
            cells = page.locator("table.review-table td").all_inner_texts()
            assert any(AUTHOR in c for c in cells), f"{url}: the author is not shown literally in a table"
            if url.endswith("lc-5y.html"):
                assert SITE in cells, f"{url}: the site is not shown literally in the series table"
            _no_injection(page, dialogs)
        finally:
            context.close()


def test_hostile_text_is_literal_in_the_forest_tooltip(browser, hostile_site):
    _, origin = hostile_site
    context, page, dialogs = _open(browser, origin, "/book/pooled/lc-5y.html")
    try:
        page.wait_for_selector(".sr-vega-chart svg.marks", timeout=20000)
        chart = page.locator(".sr-vega-chart").first
        assert AUTHOR in chart.locator("svg.marks").text_content()  # drawn as SVG text
        squares = chart.locator("g.mark-symbol").first.locator("path")
        found = False
        tip = page.locator("#vg-tooltip-element")
        for i in range(squares.count()):
            square = squares.nth(i)
            square.scroll_into_view_if_needed()
            box = square.bounding_box()
            page.mouse.move(1, 1)  # leave the previous mark, then point at this square's centre
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
            page.wait_for_timeout(300)
            if tip.is_visible() and AUTHOR in tip.inner_text():
                assert tip.locator("img, script").count() == 0
                found = True
                break
        assert found, "no study square's tooltip shows the hostile author literally"
        _no_injection(page, dialogs)
    finally:
        context.close()


def test_hostile_study_is_found_by_search_and_shown_as_text(browser, hostile_site):
    _, origin = hostile_site
    context, page, dialogs = _open(browser, origin, f"/search.html?q={SEARCH_WORD}")
    try:
        page.wait_for_selector("#search-results .search-summary", timeout=20000)
        items = page.locator("#search-results ul.search li")
        assert items.count() > 0, "search for the hostile study's histology found no page"
        assert page.locator("#search-results img, #search-results script").count() == 0
        _no_injection(page, dialogs)
    finally:
        context.close()
