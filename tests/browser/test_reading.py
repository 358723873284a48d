"""The built book read as a reader would: on a laptop (1280×900) and a phone (390×844), with and
without scripts, and on paper.

Every page named in the built book's table of contents (the sidebar of its front page; checked
against ``_toc.yml`` so a page cannot be missed) is opened at both widths and must:

- never be wider than the screen (a wide table or chart scrolls or scales inside its own box);
- at 1280 px, show every column of every table without sideways scrolling (details that do not
  fit are folded into the row, see ``pages.render.tables.html_table``);
- draw no chart label cut short ("…" in the SVG text of a chart, interactive or static);
- with scripts disabled, show a static image of every chart.

- be at most 12 screens long at 1280 x 900 and 30 at 390 x 844 (the page budgets);
- log no warning or error in the console (Vega's "Conflicting scale property" included);
- at 390 px, draw no chart text smaller than 10 CSS px on the screen;
- show no module path, file path, analysis id or column name in its visible text.

At 390 px the summary of findings shows every row's certainty inside the screen. A screenshot of
the first screen of every page at both widths goes to ``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from sarcoma_review.paths import BUILD_DIR, HTML_DIR, REPO_ROOT

pytestmark = pytest.mark.browser

VIEWPORTS = {"laptop": (1280, 900), "phone": (390, 844)}
CHART = ".sr-chart"


# ----------------------------------------------------------------------------- the pages of the toc


class _TocLinks(HTMLParser):
    """The hrefs of the links inside the sidebar's book navigation (``nav.bd-docs-nav``)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # >0 while inside the nav
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "nav" and "bd-docs-nav" in (a.get("class") or ""):
            self.depth = 1
        elif self.depth and tag == "nav":
            self.depth += 1
        elif self.depth and tag == "a" and a.get("href") and "reference" in (a.get("class") or ""):
            self.hrefs.append(a["href"])

    def handle_endtag(self, tag) -> None:
        if self.depth and tag == "nav":
            self.depth -= 1


def _toc_files() -> list[str]:
    """Every ``file`` of ``_toc.yml`` (and its root), as built HTML paths."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [f + ".html" for f in files]


@pytest.fixture(scope="module")
def toc_pages() -> list[str]:
    """The pages of the built book, read from the navigation of its front page."""
    root = _toc_files()[0]
    front = HTML_DIR / root
    if not front.exists():
        pytest.fail(f"{front} is missing: build the book first (`.venv/bin/review build`)")
    parser = _TocLinks()
    parser.feed(front.read_text(encoding="utf-8"))
    pages = [root]
    for href in parser.hrefs:
        url = urlsplit(urljoin(f"http://book/{root}", href))
        rel = url.path.lstrip("/")
        if url.netloc == "book" and rel.endswith(".html") and rel not in pages:
            pages.append(rel)
    missing = sorted(set(_toc_files()) - set(pages))
    assert not missing, f"pages of _toc.yml missing from the built navigation: {missing}"
    return pages


# ----------------------------------------------------------------------------- one visit per page and width

_MEASURE = r"""() => {
  const vw = window.innerWidth;
  const article = document.querySelector('.bd-article') || document.body;
  const visible = el => el.offsetParent !== null && el.getBoundingClientRect().width > 0;
  const tables = Array.from(article.querySelectorAll('table')).filter(visible).map(t => {
    const box = t.closest('.review-table-wrap, .table-wrapper, .cell_output, .output') || t.parentElement;
    const r = t.getBoundingClientRect();
    return {id: t.id || (t.caption ? t.caption.textContent.slice(0, 60) : t.className),
            width: Math.round(r.width), right: Math.round(r.right),
            room: Math.round(Math.min(box.clientWidth, article.clientWidth)),
            scrolls: box.scrollWidth > box.clientWidth + 1};
  });
  const texts = Array.from(document.querySelectorAll('.sr-chart svg text, .vega-embed svg text'))
                     .map(t => t.textContent).filter(t => t.includes('…'));
  const charts = Array.from(document.querySelectorAll('.sr-chart')).map(c => {
    const r = c.getBoundingClientRect();
    return {right: Math.round(r.right), width: Math.round(r.width)};
  });
  // chart text as large as it is drawn on the screen (an SVG scaled down to the column shrinks it)
  const fonts = [];
  for (const svg of document.querySelectorAll('.sr-chart svg')) {
    const r = svg.getBoundingClientRect();
    if (!visible(svg) || r.width === 0) { continue; }
    const vb = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width
      ? svg.viewBox.baseVal.width : (svg.width && svg.width.baseVal ? svg.width.baseVal.value : r.width);
    const scale = vb ? r.width / vb : 1;
    for (const t of svg.querySelectorAll('text')) {
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (t.textContent.trim()) { fonts.push({px: Math.round(px * 10) / 10, text: t.textContent.slice(0, 40)}); }
    }
  }
  fonts.sort((a, b) => a.px - b.px);
  // the summary of findings: where each outcome row's certainty (its last cell) lies
  const sof = Array.from(document.querySelectorAll("table#summary-of-findings tr[id^='sof-']")).map(tr => {
    const cell = tr.querySelector('td:last-child');
    const r = cell.getBoundingClientRect();
    return {id: tr.id, left: Math.round(r.left), right: Math.round(r.right), width: Math.round(r.width),
            text: cell.innerText.trim()};
  });
  // the visible text, less the names of files offered for download (a link to a CSV is named by its file)
  function readerText(root) {
    let text = root.innerText;
    for (const a of root.querySelectorAll('a[href]')) {
      const href = a.getAttribute('href').split('#')[0].split('?')[0];
      if (a.hasAttribute('download') || /\.(csv|json|zip|pdf|txt)$/.test(href)) {
        const t = a.innerText.trim();
        if (t) { text = text.split(t).join(' '); }
      }
    }
    return text;
  }
  return {pageWidth: document.documentElement.scrollWidth, viewport: vw, tables, cut: texts, charts,
          height: document.documentElement.scrollHeight, screenHeight: window.innerHeight,
          smallestFonts: fonts.slice(0, 5), sof,
          // table cells that may cut a word or a number ("recurr ent", "0.|10")
          cutters: Array.from(article.querySelectorAll('td, th')).filter(c => {
            const cs = getComputedStyle(c);
            return cs.overflowWrap === 'anywhere' || cs.wordBreak === 'break-all' || cs.hyphens === 'auto';
          }).slice(0, 5).map(c => c.textContent.slice(0, 40)),
          text: readerText(article)};
}"""


def _wait_for_charts(page) -> None:
    if page.locator(CHART).count():
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.sr-chart')).every(c => c.classList.contains('sr-drawn'))",
            timeout=30000,
        )


@pytest.fixture(scope="module")
def readings(browser, serve_dir, toc_pages) -> dict:
    """``{(viewport, page): measures}`` with scripts on (``console``: the warnings and errors the page
    logged), and a screenshot of the first screen of every page at both widths."""
    origin = serve_dir(HTML_DIR)
    shots = BUILD_DIR / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (w, h) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        logged: list[str] = []
        # the browser's own request for /favicon.ico (the book has none) is not the page's doing
        page.on(
            "console",
            lambda m, logged=logged: (
                logged.append(f"console.{m.type}: {m.text}")
                if m.type in ("warning", "error") and not m.location.get("url", "").endswith("/favicon.ico")
                else None
            ),
        )
        page.on("pageerror", lambda e, logged=logged: logged.append(f"pageerror: {e}"))
        try:
            for rel in toc_pages:
                logged.clear()
                page.goto(f"{origin}/{rel}", wait_until="load")
                _wait_for_charts(page)
                out[(name, rel)] = {**page.evaluate(_MEASURE), "console": list(logged)}
                page.screenshot(path=str(shots / f"{_stem(rel)}-{w}.png"), full_page=False)
        finally:
            context.close()
    return out


def _stem(rel: str) -> str:
    return rel.removeprefix("book/").removesuffix(".html").replace("/", "-")


def test_the_toc_names_every_chapter(toc_pages) -> None:
    assert len(toc_pages) >= len(_toc_files()) and "book/glossary.html" in toc_pages


def test_no_page_is_wider_than_the_screen(readings) -> None:
    wide = {
        f"{v} {p}": f"{m['pageWidth']} px in a {m['viewport']} px window"
        for (v, p), m in readings.items()
        if m["pageWidth"] > m["viewport"] + 1
    }
    assert not wide, "pages that scroll sideways:\n" + json.dumps(wide, indent=1)
    charts = {
        f"{v} {p}": m["charts"]
        for (v, p), m in readings.items()
        if any(c["right"] > m["viewport"] + 1 for c in m["charts"])
    }
    assert not charts, "charts that reach past the screen's edge:\n" + json.dumps(charts, indent=1)


def test_every_table_shows_its_columns_on_a_laptop(readings) -> None:
    cut = {
        p: [t for t in m["tables"] if t["scrolls"] or t["width"] > t["room"] + 1 or t["right"] > m["viewport"]]
        for (v, p), m in readings.items()
        if v == "laptop"
    }
    cut = {p: ts for p, ts in cut.items() if ts}
    assert not cut, (
        "tables wider than the text column at 1280 px (fold identifiers and details into "
        "html_table(details=...)):\n" + json.dumps(cut, indent=1, ensure_ascii=False)
    )


def test_no_chart_label_is_cut_short(readings) -> None:
    cut = {f"{v} {p}": m["cut"] for (v, p), m in readings.items() if m["cut"]}
    assert not cut, "chart text ending in an ellipsis:\n" + json.dumps(cut, indent=1, ensure_ascii=False)


def test_the_screenshots_are_there(readings) -> None:
    shots = BUILD_DIR / "screenshots"
    for v, rel in readings:
        png = shots / f"{_stem(rel)}-{VIEWPORTS[v][0]}.png"
        assert png.exists() and png.stat().st_size > 10_000, png


#: Page budgets: at most this many screens (page height / window height) at each width.
BUDGET_SCREENS = {"laptop": 12, "phone": 30}


def test_every_page_fits_its_budget_of_screens(readings) -> None:
    """Every page of the toc is at most 12 screens long at 1280 x 900 and 30 at 390 x 844: long
    per-item tables are summaries with the detail folded or downloadable."""
    over = {
        f"{v} {p}": f"{m['height']} px = {m['height'] / m['screenHeight']:.1f} screens (budget {BUDGET_SCREENS[v]})"
        for (v, p), m in readings.items()
        if m["height"] > BUDGET_SCREENS[v] * m["screenHeight"]
    }
    assert not over, "pages longer than their budget:\n" + json.dumps(over, indent=1)


def test_no_page_logs_a_warning_or_an_error(readings) -> None:
    """No console error and no console warning (Vega logs its warnings there: "Conflicting scale
    property", an unknown field ...) on any page at either width."""
    logged = {f"{v} {p}": m["console"] for (v, p), m in readings.items() if m["console"]}
    assert not logged, "pages that log warnings or errors:\n" + json.dumps(logged, indent=1, ensure_ascii=False)


#: Smallest chart text on a phone, in CSS px as drawn on the screen.
MIN_CHART_TEXT_PX = 10


def test_chart_text_is_legible_on_a_phone(readings) -> None:
    small = {
        p: m["smallestFonts"]
        for (v, p), m in readings.items()
        if v == "phone" and m["smallestFonts"] and m["smallestFonts"][0]["px"] < MIN_CHART_TEXT_PX
    }
    assert not small, f"chart text under {MIN_CHART_TEXT_PX} px on a 390 px screen:\n" + json.dumps(
        small, indent=1, ensure_ascii=False
    )


def test_the_phone_summary_shows_every_rows_certainty(readings) -> None:
    """At 390 px every outcome row of the summary of findings shows its certainty (the row's last
    cell) inside the screen: no sideways scrolling to find it."""
    m = readings[("phone", "book/intro.html")]
    assert m["sof"], "the front page has no summary-of-findings rows"
    off = [r for r in m["sof"] if r["left"] < 0 or r["right"] > m["viewport"] or r["width"] < 40 or not r["text"]]
    assert not off, "certainty cells outside the 390 px screen:\n" + json.dumps(off, indent=1, ensure_ascii=False)


#: What a reader must never see: module paths, file paths, analysis ids, column names.
_INTERNAL = [
    (r"\bsarcoma_review(\.\w+)+", "module path"),
    (r"(?<![\w/])(data|src|book|tests|scripts)/[\w./-]+\.(csv|py|yaml|yml|json|ipynb)\b", "file path"),
    (r"\b\w+\.(csv|py|ipynb)\b", "file name"),
    (r"\b(lc|os|pfs|dfs)-\d+y\b", "analysis id"),
    (r"\b[a-z]+(_[a-z]+)+\s*=\s*\w+", "column = value"),
    (
        r"\b(initial_tumor_size|histology_group|particle_group|patient_group|n_patients|ci_low|ci_high|"
        r"study_id|horizon_years|rate_percent)\b",
        "column name",
    ),
]


def test_no_internal_identifiers_in_the_text(readings) -> None:
    """The visible text of every page (at 1280 px; folded details included as text) is in plain
    words: no module path, file path, analysis id or column name."""
    import re

    found: dict[str, list[str]] = {}
    for (v, p), m in readings.items():
        if v != "laptop":
            continue
        for pattern, what in _INTERNAL:
            for hit in re.finditer(pattern, m["text"]):
                context = " ".join(m["text"][max(0, hit.start() - 40) : hit.end() + 20].split())
                found.setdefault(p, []).append(f"{what}: {hit.group(0)!r} in '…{context}…'")
    found = {p: sorted(set(h))[:12] for p, h in found.items()}
    assert not found, "internal identifiers in reader-facing text:\n" + json.dumps(found, indent=1, ensure_ascii=False)


# ----------------------------------------------------------------------------- without scripts, and on paper


def test_every_chart_has_a_static_image_without_scripts(browser, serve_dir, toc_pages) -> None:
    origin = serve_dir(HTML_DIR)
    problems: dict[str, list[str]] = {}
    chart_pages = 0
    for name, (w, h) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": w, "height": h}, java_script_enabled=False)
        page = context.new_page()
        try:
            for rel in toc_pages:
                html = (HTML_DIR / rel).read_text(encoding="utf-8")
                embeds = html.split("</head>", 1)[-1].count("vegaEmbed(")
                page.goto(f"{origin}/{rel}", wait_until="load")
                # a chart with a phone layout has two boxes, one shown at each width (skip the other)
                shown = page.evaluate("""() => Array.from(document.querySelectorAll('.sr-responsive')).map(
                    r => Array.from(r.children).filter(c => c.offsetParent !== null).length)""")
                found = page.evaluate("""() => Array.from(document.querySelectorAll('.sr-chart')).map(c => {
                    if (c.parentElement.classList.contains('sr-responsive') && c.offsetParent === null) {
                        return 'hidden'; }
                    const svg = c.querySelector('.sr-vega-static svg');
                    if (!svg) { return null; }
                    const r = svg.getBoundingClientRect();
                    // a chart wider than a phone's column scrolls inside its own box: the box must fit
                    return {w: r.width, h: r.height, right: Math.min(r.right, c.getBoundingClientRect().right),
                            texts: svg.querySelectorAll('text').length};
                })""")
                if embeds:
                    chart_pages += 1
                bad = []
                if len(found) != embeds:
                    bad.append(f"{embeds} charts in the page, {len(found)} chart boxes")
                if any(n != 1 for n in shown):
                    bad.append(f"charts with a phone layout must show exactly one layout: {shown}")
                for i, f in enumerate(found):
                    if f == "hidden":
                        continue
                    if f is None:
                        bad.append(f"chart {i}: no static image")
                    elif f["w"] < 50 or f["h"] < 50 or f["texts"] == 0:
                        bad.append(f"chart {i}: static image not shown ({f})")
                    elif f["right"] > w + 1:
                        bad.append(f"chart {i}: static image wider than the screen ({f['right']:.0f} px)")
                if bad:
                    problems[f"{name} {rel}"] = bad
        finally:
            context.close()
    assert chart_pages >= 2 * 5, "expected charts on at least five pages"
    assert not problems, json.dumps(problems, indent=1)


@contextlib.contextmanager
def _laptop_page(browser, serve_dir, path: str):
    """The built page ``path`` opened at 1280 x 900 (loaded), its browser context closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{serve_dir(HTML_DIR)}/{path}", wait_until="load")
        yield page
    finally:
        context.close()


def test_print_shows_static_charts_and_no_navigation(browser, serve_dir) -> None:
    with _laptop_page(browser, serve_dir, "book/pooled/lc-5y.html") as page:
        _wait_for_charts(page)
        page.emulate_media(media="print")
        state = page.evaluate("""() => ({
            nav: ['.bd-sidebar-primary', '.bd-header', '.bd-sidebar-secondary']
                   .map(s => document.querySelector(s)).filter(e => e && e.offsetParent !== null).length,
            staticShown: Array.from(document.querySelectorAll('.sr-vega-static'))
                   .filter(e => !e.closest('.sr-narrow'))
                   .every(e => e.getBoundingClientRect().height > 50),
            interactiveShown: Array.from(document.querySelectorAll('.sr-vega-chart'))
                   .some(e => e.getBoundingClientRect().height > 0),
            scrollers: Array.from(document.querySelectorAll('.review-table-wrap'))
                   .filter(e => getComputedStyle(e).overflowX !== 'visible').length})""")
        assert state == {"nav": 0, "staticShown": True, "interactiveShown": False, "scrollers": 0}, state


# ----------------------------------------------------------------------------- long tables


def test_long_tables_filter_offline(browser, serve_dir) -> None:
    with _laptop_page(browser, serve_dir, "book/ifosfamide.html") as page:
        # the patient table: one row per patient, details folded into each row
        wrap = page.locator(".review-table-wrap:has(table.filterable td.review-details)").first
        table = wrap.locator("table")
        rows = table.locator("tbody tr")
        total = rows.count()
        assert total > 1
        word = rows.nth(0).locator("td").nth(1).inner_text().strip()  # the first patient's histology
        expected = sum(word.lower() in rows.nth(i).text_content().lower() for i in range(total))
        box = wrap.locator("xpath=preceding-sibling::div[contains(@class, 'review-filter')][1]")
        box.locator("input").fill("zzzz-no-such-text")
        assert table.locator("tbody tr:not([hidden])").count() == 0
        assert box.locator(".review-filter-count").inner_text().startswith("0 of")
        box.locator("input").fill(word)
        assert table.locator("tbody tr:not([hidden])").count() == expected >= 1
        box.locator("input").fill("")
        assert table.locator("tbody tr:not([hidden])").count() == total
        # a row's folded details open on a click
        details = rows.nth(0).locator("td.review-details details")
        assert details.count() == 1 and not details.locator("dl").is_visible()
        details.locator("summary").click()
        assert details.locator("dl").is_visible()


def test_the_page_contents_open_from_the_header_on_a_laptop(browser, serve_dir) -> None:
    """At 1280 px the contents column is folded into the header's button (the article takes the
    width); the button opens the page's contents."""
    with _laptop_page(browser, serve_dir, "book/pooled/lc-5y.html") as page:
        article = page.evaluate("document.querySelector('.bd-article').getBoundingClientRect().width")
        assert article > 900  # the width that the contents column used to take is the article's
        button = page.locator(".bd-header button.secondary-toggle")
        assert button.is_visible()
        button.click()
        dialog = page.locator("#pst-secondary-sidebar-modal")
        dialog.locator("nav.page-toc a").first.wait_for(state="visible", timeout=5000)
        assert dialog.locator("nav.page-toc a").count() >= 3


def test_printed_front_page_starts_the_summary_on_page_one_and_no_row_splits(browser, tmp_path) -> None:
    """Printed as the release PDF is (Chromium, A4, the margins of ``living.versions.print_book_pdf``),
    the front page's first page holds the summary of findings' first outcome row; in print every
    table row is kept whole (break-inside: avoid) while a table may run over pages."""
    from pypdf import PdfReader

    context = browser.new_context()
    try:
        page = context.new_page()
        page.emulate_media(media="print")
        page.goto((HTML_DIR / "book" / "intro.html").resolve().as_uri(), wait_until="load")
        first = page.evaluate("""() => document.querySelector("table#summary-of-findings tr[id^='sof-'] td")
                                          .innerText.trim()""")
        rules = page.evaluate("""() => ({
            rows: Array.from(document.querySelectorAll('.bd-article table tr'))
                       .filter(tr => getComputedStyle(tr).breakInside !== 'avoid').length,
            tables: Array.from(document.querySelectorAll('.bd-article table'))
                       .filter(t => getComputedStyle(t).breakInside === 'avoid').length})""")
        pdf = tmp_path / "intro.pdf"
        page.pdf(
            path=str(pdf),
            format="A4",
            print_background=True,
            margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"},
        )
    finally:
        context.close()
    page_one = " ".join(PdfReader(str(pdf)).pages[0].extract_text().split())
    assert " ".join(first.split()) in page_one, f"page 1 lacks the first outcome {first!r}: {page_one[:400]!r}"
    assert rules == {"rows": 0, "tables": 0}, rules


@pytest.mark.parametrize(
    "path, selector", [("book/appraisal.html", "table#grade-table"), ("book/audit.html", "[id^='finding-']")]
)
def test_what_a_reader_came_for_is_in_the_first_two_screens(browser, serve_dir, path, selector) -> None:
    """The appraisal page's GRADE table and the audit page's first finding start within the first two
    screens at 1280 x 900 (long per-item tables come after them, folded)."""
    with _laptop_page(browser, serve_dir, path) as page:
        top = page.evaluate(f"() => document.querySelector({json.dumps(selector)}).getBoundingClientRect().top")
        assert top < 2 * 900, f"{selector} on {path} starts at {top:.0f} px"


def test_table_text_breaks_only_between_words(readings) -> None:
    """No table cell may break inside a word or a number: no cell is styled to break anywhere or to
    hyphenate (long identifiers carry break hints after their punctuation instead)."""
    bad = {f"{v} {p}": m["cutters"] for (v, p), m in readings.items() if m["cutters"]}
    assert not bad, "table cells that may cut a word:\n" + json.dumps(bad, indent=1, ensure_ascii=False)
