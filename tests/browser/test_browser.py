"""Drive the built book in headless Chromium with the network cut off.

Every page of ``_build/html`` must load, draw each chart (an SVG or canvas inside every chart
container), log no console error, and link only to local pages and anchors that exist; the
search page must find a study by its first author; the summary of findings must be on the
introduction's first screen. Screenshots of the ifosfamide, pooled, introduction and appraisal
pages go to ``_build/screenshots/``. A throwaway book with a chart from
``sarcoma_review.pages.render.charts`` proves that charts draw offline and that tooltips show a hostile
study label as text.

Chromium is Debian's (``/usr/bin/chromium``); without it these tests skip, unless
``REQUIRE_BROWSER=1`` (CI), when they fail.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import require_chromium

from sarcoma_review.paths import BUILD_DIR, HTML_DIR, REPO_ROOT

pytestmark = pytest.mark.browser

CHART_SELECTOR = ".sr-vega-chart, .vega-embed, [id^='altair-viz']"


def _latest_first_author() -> str:
    """The first author of the last series in data/literature/studies.csv: whatever the data hold,
    the book must find it (the newest study included)."""
    import csv

    with open(REPO_ROOT / "data" / "literature" / "studies.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[-1]["first_author"]


SEARCH_AUTHOR = _latest_first_author()
SCREENSHOT_KEYS = ("ifosfamide", "pooled", "intro", "appraisal")
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}
EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def built_html() -> Path:
    if not (HTML_DIR / "index.html").exists():
        pytest.fail(f"{HTML_DIR} has no built book: run `make book` first")
    return HTML_DIR


@pytest.fixture(scope="module")
def site(built_html: Path, serve_dir) -> str:
    return serve_dir(built_html)


class Visit:
    """A page opened with every request off ``origin`` aborted; records errors and blocks."""

    def __init__(self, browser, origin: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.page.route("**/*", self._route(origin))
        self.page.on(
            "console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _route(self, origin: str):
        def handle(route) -> None:
            url = route.request.url
            if url == origin or url.startswith(origin + "/") or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.blocked.append(url)
                route.abort()

        return handle

    def close(self) -> None:
        self.context.close()


def _wait_for_charts(page, timeout_ms: int = 20000) -> int:
    """Wait until every chart container holds a drawn vega SVG (svg.marks; not just the actions icon) or
    canvas; return how many there are."""
    count = page.locator(CHART_SELECTOR).count()
    if count:
        page.wait_for_function(
            """(sel) => Array.from(document.querySelectorAll(sel)).every(
                   el => el.querySelector('svg.marks, canvas') !== null)""",
            arg=CHART_SELECTOR,
            timeout=timeout_ms,
        )
    return count


# ----------------------------------------------------------------------------- link checking


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs) -> None:
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.cache
def _ids_in(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _broken_links(root: Path, origin: str, page_url: str, hrefs: list[str]) -> list[str]:
    broken = []
    for href in hrefs:
        if not href or href.startswith(("mailto:", "javascript:", "tel:")):
            continue
        url = urljoin(page_url, href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            continue  # external links are not followed (no network); they are not local pages
        target = root / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} -> missing file {target.relative_to(root)}")
            continue
        frag = unquote(parts.fragment)
        if frag and target.suffix == ".html" and frag not in _ids_in(target):
            broken.append(f"{href} -> no anchor #{frag} in {target.relative_to(root)}")
    return broken


def _pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if not SKIP_DIRS.intersection(p.relative_to(root).parts[:-1]))


# ----------------------------------------------------------------------------- the built book


def _check_page(browser, root: Path, origin: str, rel: str) -> dict:
    visit = Visit(browser, origin)
    try:
        url = f"{origin}/{rel}"
        response = visit.page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{rel}: HTTP {response and response.status}"
        charts = _wait_for_charts(visit.page)
        visit.page.wait_for_load_state("networkidle")
        hrefs = visit.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        problems = [f"broken link {b}" for b in _broken_links(root, origin, visit.page.url, hrefs)]
        problems += visit.errors
        problems += [f"request off the site: {u}" for u in visit.blocked]
        if any(k in rel for k in SCREENSHOT_KEYS):
            shots = BUILD_DIR / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            visit.page.screenshot(path=str(shots / (Path(rel).stem + ".png")), full_page=True)
        return {"charts": charts, "problems": problems}
    finally:
        visit.close()


def test_every_page_loads_draws_and_links(browser, built_html: Path, site: str) -> None:
    pages = _pages(built_html)
    assert pages, f"no HTML pages under {built_html}"
    failures = {}
    for page in pages:
        rel = page.relative_to(built_html).as_posix()
        result = _check_page(browser, built_html, site, rel)
        if result["problems"]:
            failures[rel] = result["problems"]
    assert not failures, "pages with problems:\n" + json.dumps(failures, indent=1, ensure_ascii=False)


def test_search_finds_a_study_by_author(browser, built_html: Path, site: str) -> None:
    visit = Visit(browser, site)
    try:
        visit.page.goto(f"{site}/search.html?q={SEARCH_AUTHOR}", wait_until="load")
        visit.page.wait_for_selector("#search-results .search-summary", timeout=20000)
        items = visit.page.locator("#search-results ul.search li")
        summary = visit.page.inner_text("#search-results .search-summary")
        assert items.count() > 0, (
            f"searching the book for {SEARCH_AUTHOR!r} found no page "
            f"({summary!r}): the study chapters are missing from the build"
        )
        assert not visit.errors, visit.errors
    finally:
        visit.close()


def test_summary_of_findings_is_on_the_first_screen(browser, built_html: Path, site: str) -> None:
    """The introduction's first screen (1280 x 900) shows the summary of findings by patient group: the first
    group's question and answers start above the fold; the table of all series together, further down, has one
    outcome row per pooled landmark analysis."""
    from sarcoma_review.living.analyses import standard_analyses

    visit = Visit(browser, site)
    try:
        visit.page.goto(f"{site}/book/intro.html", wait_until="load")
        table = visit.page.locator("table#summary-of-findings")
        assert table.count() == 1, "the introduction has no summary-of-findings table"
        first = visit.page.locator("section.group-question li").first
        box = first.bounding_box()
        assert box is not None and box["y"] < 900, f"the first group's answer starts below the first screen: {box}"
        n_rows = table.locator("tbody tr[id^='sof-']").count()
        landmarks = {
            (a["endpoint"], float(a["horizon_years"])) for a in standard_analyses() if not a.get("subgroup_column")
        }
        assert n_rows == len(landmarks)
        assert not visit.errors, visit.errors
    finally:
        visit.close()


# ----------------------------------------------------------------------------- throwaway chart book


def _demo_notebook() -> dict:
    """A notebook whose stored output is what a chapter gets from ``charts.forest_plot``."""
    import altair as alt
    import pandas as pd

    from sarcoma_review.pages.render import charts

    per_study = pd.DataFrame(
        {
            "study_id": ["a2016", "b2010", "evil2018"],
            "label": ["Imai 2016", "Müller 2010", EVIL],
            "n_patients": [30, 12, 50],
            "estimate": [77.0, 60.0, 85.0],
            "ci_low": [60.0, 30.0, 75.0],
            "ci_high": [90.0, 85.0, 93.0],
            "weight": [30.0, 15.0, 55.0],
            "year": [2016, 2010, 2018],
            "source": ["demo", "demo", "demo"],
        }
    )
    pooled = {
        "estimate": 78.0,
        "ci_low": 70.0,
        "ci_high": 85.0,
        "pi_low": 50.0,
        "pi_high": 93.0,
        "tau2": 0.01,
        "i2": 45.0,
        "q": 3.6,
        "q_p": 0.165,
        "k": 3,
        "n_patients": 92,
    }
    before = alt.renderers.active
    try:
        charts.enable_offline()
        bundle = alt.renderers.get()(charts.forest_plot(per_study, pooled).to_dict())
    finally:
        alt.renderers.enable(before)
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Chart demo pooled\n"},
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "execution_count": 1,
                "source": "charts.forest_plot(per_study, pooled)",
                "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": bundle}],
            },
        ],
    }


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory, serve_dir) -> tuple[Path, str]:
    """A throwaway book (same _config.yml and _static) with one chart page, built and served."""
    require_chromium()
    stage = tmp_path_factory.mktemp("demo") / "stage"
    (stage / "book").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "_config.yml", stage / "_config.yml")
    shutil.copytree(REPO_ROOT / "book" / "_static", stage / "book" / "_static")
    shutil.copytree(REPO_ROOT / "book" / "_ext", stage / "book" / "_ext")  # local Sphinx extension in _config.yml
    shutil.copy2(REPO_ROOT / "book" / "references.bib", stage / "book" / "references.bib")
    (stage / "book" / "intro.md").write_text("# Demo\n\nA throwaway book for the chart test.\n")
    (stage / "book" / "chart_demo_pooled.ipynb").write_text(json.dumps(_demo_notebook()))
    (stage / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: book/chart_demo_pooled\n")
    out = stage.parent / "out"
    jb = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [
            str(jb),
            "build",
            str(stage),
            "--path-output",
            str(out),
            "--warningiserror",
            "--nitpick",
            "--keep-going",
            "--quiet",
        ],
        check=True,
        timeout=300,
    )
    html = out / "_build" / "html"
    return html, serve_dir(html)


def test_chart_draws_offline_and_tooltip_is_text(browser, demo_site) -> None:
    html, origin = demo_site
    page_html = (html / "book" / "chart_demo_pooled.html").read_text(encoding="utf-8")
    # libraries come from the book itself, each exactly once, in order; nothing from a CDN
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page_html)
    vendor = [s.split("?")[0].rsplit("/", 1)[-1] for s in scripts if "/vendor/" in s]
    assert vendor == ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"]
    assert "cdn.jsdelivr" not in page_html and "<img src=x" not in page_html

    visit = Visit(browser, origin)
    try:
        visit.page.goto(f"{origin}/book/chart_demo_pooled.html", wait_until="load")
        assert _wait_for_charts(visit.page) == 2  # the wide layout and the phone layout (hidden at 1280 px)
        svg_text = visit.page.locator(".sr-wide .sr-vega-chart svg.marks").text_content()
        assert "Müller 2010" in svg_text and "Heterogeneity" in svg_text
        # the hostile label is drawn as text (vega truncates long labels with an ellipsis)
        assert "<script>alert(1)" in visit.page.locator(".sr-wide .sr-vega-chart svg.marks").text_content()
        # the first symbol mark is the study squares (the pooled tooltip target comes later)
        squares = visit.page.locator(".sr-wide .sr-vega-chart g.mark-symbol").first.locator("path")
        assert squares.count() == 3
        squares.nth(2).hover()  # sorted by year: 2010, 2016, 2018 (the hostile label)
        tip = visit.page.locator("#vg-tooltip-element")
        tip.wait_for(state="visible", timeout=5000)
        assert EVIL in tip.inner_text()  # shown literally ...
        assert tip.locator("img, script").count() == 0  # ... and never parsed as HTML
        assert visit.page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert not visit.errors, visit.errors
        assert not visit.blocked, visit.blocked
        shots = BUILD_DIR / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(shots / "chart_demo_pooled.png"), full_page=True)
    finally:
        visit.close()


def test_the_audit_page_opens_with_findings_not_a_table(browser, built_html: Path, site: str) -> None:
    """The audit's first screen (1280 x 900) shows findings in plain words (their #finding-<id>
    anchors), and the full table of checks starts below the first finding."""
    visit = Visit(browser, site)
    try:
        visit.page.goto(f"{site}/book/audit.html", wait_until="load")
        first_finding = visit.page.locator("[id^='finding-']").first
        assert first_finding.count() == 1, "the audit page has no finding anchors"
        fbox = first_finding.bounding_box()
        assert fbox is not None and fbox["y"] < 900, f"the first finding starts below the first screen: {fbox}"
        tables = visit.page.locator("article table")
        if tables.count():
            tbox = tables.first.bounding_box()
            assert tbox is None or tbox["y"] > fbox["y"], "a table comes before the first finding"
        assert not visit.errors, visit.errors
    finally:
        visit.close()
