"""Hostile text in every free-text field of every table runs nowhere it is shown.

A copy of data/ with a hostile string (:data:`helpers.HOSTILE`: script, handlers, javascript: link, MyST
roles, raw HTML) after the text of every free-text cell (:func:`helpers.make_hostile`) is

* rendered by the page functions in a tiny book (:func:`helpers.tiny_book`): every table as an HTML
  table, the literature summaries, the pooled key findings and forest plot;
* compared by What's new with a release of a tiny repository whose new and corrected studies carry
  the hostile strings (the generated What's new page, in the same tiny book);
* run through ``review run pooled --data <copy> -p title=<hostile>`` (the run's own HTML page).

Every page built is opened in Debian's Chromium (offline): no dialog may open, and the DOM may hold
no element the data injected (``on*`` handlers, ``javascript:`` links, ``<img src=x>``, ``<iframe>``,
``#injected``, a script whose code is the data's); the hostile text shows literally where it is shown.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import helpers
import pytest
from conftest import require_chromium
from typer.testing import CliRunner

from sarcoma_review import paths
from sarcoma_review.living.build import build_book

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AUTHOR, SITE = helpers.HOSTILE[0], helpers.HOSTILE[1]
TITLE = helpers.HOSTILE[2] + " " + helpers.HOSTILE[4]

CHAPTER = """
from pathlib import Path
from IPython.display import Markdown, display
from sarcoma_review.data import loaders
from sarcoma_review.pages import literature, pooled
from sarcoma_review.pages.render import charts
from sarcoma_review.pages.render.tables import html_table
from sarcoma_review.stats import sensitivity
charts.enable_offline()
d = Path({data!r})
for name in {tables!r}:
    group, table = name.split("/")
    display(Markdown("## " + name))
    display(html_table(loaders.load_table(group, table, d), filterable=True))
lit = loaders.load_literature(d)
for text in literature.study_summaries(lit):
    display(Markdown(text))
a = sensitivity.run_analysis(lit, "LC", 5)
display(Markdown(pooled.summary_markdown(a, "LC", 5)))
display(pooled.forest_chart(a))
"""


def _whats_new(tmp: Path) -> str:
    """What's new (Markdown) of a tiny repository whose data, since its release 0.2.0, gained a study
    and a correction written as markup."""
    from sarcoma_review.living import analyses, whatsnew
    from sarcoma_review.living import release as rel

    repo = helpers.make_repo(tmp / "repo")
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=helpers.toy_pool, tag=False)
    studies, outcomes = repo / "data" / "literature" / "studies.csv", repo / "data" / "literature" / "outcomes.csv"
    with open(studies, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows:
        if row[0] == "b2002":
            row[4] = SITE  # a correction whose new value is markup
    rows.append(
        [
            "h2003",
            AUTHOR,
            "2003",
            "20",
            helpers.HOSTILE[3],
            helpers.HOSTILE[5],
            "Carbon ions",
            "carbon",
            helpers.HOSTILE[6],
        ]
    )
    with open(studies, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with open(outcomes, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["h2003", "LC", 5, 80, helpers.HOSTILE[4]])
    est = analyses.current_estimates(repo / "data", pool=helpers.toy_pool, root=repo)
    res = whatsnew.compare(repo / "releases" / "0.2.0", repo / "data", est)
    assert res.added and res.corrected  # the hostile study and the hostile correction are listed
    return whatsnew.render_markdown(res, cumulative=whatsnew.cumulative_table(repo, est, "current"))


@pytest.fixture(scope="module")
def hostile_pages(tmp_path_factory, serve_dir) -> list[tuple[str, str]]:
    """``(origin, page)`` for every HTML page of the tiny book and of the run."""
    require_chromium()
    from sarcoma_review.cli import app

    tmp = tmp_path_factory.mktemp("hostile-everywhere")
    data = tmp / "data"
    shutil.copytree(paths.REPO_ROOT / "data", data)
    columns = helpers.make_hostile(data)
    assert "literature/studies" in columns and len(columns) >= 15  # every table that has free text
    root = helpers.tiny_book(
        tmp / "book",
        {"tables": CHAPTER.format(data=str(data), tables=sorted(columns))},
        pages={"whats-new": _whats_new(tmp)},
    )
    build_book(root=root, validator=lambda d: None, quiet=True, jobs=1)
    run = tmp / "run"
    res = CliRunner().invoke(app, ["run", "pooled", "--data", str(data), "-p", f"title={TITLE}", "--out", str(run)])
    assert res.exit_code == 0, res.output
    pages = []
    for folder in (root / "_build" / "html", run / "html"):
        origin = serve_dir(folder)
        for p in sorted(folder.rglob("*.html")):
            rel = p.relative_to(folder).as_posix()
            if not rel.startswith(("_static/", "_sources/")) and rel not in ("genindex.html", "search.html"):
                pages.append((origin, "/" + rel))
    assert any(p.endswith("whats-new.html") for _, p in pages) and any("/run/" in p for _, p in pages)
    return pages


INJECTED = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) bad.push(`${el.tagName} ${a.name}=${a.value}`);
      if (['href', 'src', 'action', 'formaction'].includes(a.name)
          && a.value.trim().toLowerCase().startsWith('javascript:')) bad.push(`${el.tagName} ${a.name}=javascript:`);
    }
  }
  for (const el of document.querySelectorAll('#injected, iframe, img[src="x"], svg > svg, b#injected')) {
    bad.push(`element ${el.outerHTML.slice(0, 80)}`);
  }
  for (const s of document.scripts) {
    if (/^\\s*alert\\(/.test(s.textContent)) bad.push(`script ${s.textContent.slice(0, 40)}`);
  }
  return bad;
}"""


def _plain_quotes(text: str) -> str:
    """Text with Sphinx's typographic quotes (smartquotes) made straight again."""
    return text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))


def _offline(origin: str):
    """A route handler that lets through only the served book (and data:/blob: URLs)."""

    def handle(route) -> None:
        if route.request.url.startswith((origin, "data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    return handle


def test_no_page_built_from_hostile_data_runs_or_injects_anything(browser, hostile_pages):
    seen_literal = {"whats-new": False, "run": False, "tables": False}
    theme: set[str] | None = None
    for origin, url in sorted(hostile_pages, key=lambda p: not p[1].endswith("/intro.html")):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
        page.route("**/*", _offline(origin))
        try:
            page.goto(origin + url, wait_until="load")
            page.wait_for_timeout(300)  # the charts' scripts have run
            assert dialogs == [], f"{url}: a dialog opened: {dialogs}"
            found = page.evaluate(INJECTED)
            if theme is None:  # the intro page shows no data: its handlers are the theme's own buttons
                assert url.endswith("/intro.html") and all(" on" in f for f in found), found
                theme = set(found)
            assert [f for f in found if f not in theme] == [], f"{url}: injected: {found}"
            text = _plain_quotes(page.inner_text("body"))
            if url.endswith("whats-new.html"):
                seen_literal["whats-new"] = AUTHOR in text and SITE in text
            elif "/run/" in url:
                # the title as typed, its angle brackets as ‹ › (page titles pass through the theme's striptags)
                seen_literal["run"] = TITLE.replace("<", "‹").replace(">", "›") in _plain_quotes(page.inner_text("h1"))
            elif url.endswith("tables.html"):
                seen_literal["tables"] = all(h in text for h in helpers.HOSTILE)
        finally:
            context.close()
    assert seen_literal == {"whats-new": True, "run": True, "tables": True}, seen_literal


# --- the real book, every chapter, from hostile data -------------------------------------------------


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory, serve_dir) -> tuple[str, list[str]]:
    """``(origin, pages)``: this repository's book (every chapter of ``_toc.yml``, its releases for What's
    new and Versions) built into a temporary root from a copy of ``data/`` whose every free-text cell
    carries a hostile string (:func:`helpers.make_hostile`)."""
    require_chromium()
    root = tmp_path_factory.mktemp("hostile-book")
    for name in ("book", "releases"):
        shutil.copytree(paths.REPO_ROOT / name, root / name)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(paths.REPO_ROOT / name, root / name)
    shutil.copytree(paths.REPO_ROOT / "data", root / "data")
    columns = helpers.make_hostile(root / "data")
    assert "literature/studies" in columns and len(columns) >= 15
    build_book(root=root, data_dir=root / "data", quiet=True, jobs=2)  # validates the hostile copy first
    html = root / "_build" / "html"
    pages = [
        "/" + p.relative_to(html).as_posix()
        for p in sorted(html.rglob("*.html"))
        if not p.relative_to(html).as_posix().startswith(("_static/", "_sources/"))
    ]
    return serve_dir(html), pages


def _toc_files(toc: Path) -> set[str]:
    """Every ``root``/``file`` entry of a Jupyter Book toc (``book/intro``, ...)."""
    import yaml

    out: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            out.update(str(node[k]) for k in ("root", "file") if k in node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    return out


def test_every_chapter_of_the_book_built_from_hostile_data_runs_nothing(browser, hostile_book):
    """Every page of the real book (each chapter, the pooled pages, What's new, the audit) built from the
    hostile data: no dialog opens and no handler, ``javascript:`` link or element the data carries is in
    the DOM (the theme's own handlers hold no ``alert``; every hostile payload does)."""
    origin, pages = hostile_book
    chapters = _toc_files(paths.REPO_ROOT / "_toc.yml")
    shown_literally = False
    for url in pages:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
        page.route("**/*", _offline(origin))
        try:
            page.goto(origin + url, wait_until="load")
            page.wait_for_timeout(300)  # the charts' scripts have run
            assert dialogs == [], f"{url}: a dialog opened: {dialogs}"
            found = [
                f
                for f in page.evaluate(INJECTED)
                if "alert" in f or "javascript:" in f or f.startswith(("element", "script"))
            ]
            assert found == [], f"{url}: injected: {found}"
            if url.endswith("/literature.html"):
                shown_literally = helpers.HOSTILE[0] in _plain_quotes(page.inner_text("body"))
        finally:
            context.close()
    assert chapters and chapters <= {u.lstrip("/")[: -len(".html")] for u in pages}, "every chapter of the toc"
    assert shown_literally, "the literature page shows the hostile first author as text"
