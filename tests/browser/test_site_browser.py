"""The site in Chromium (`review site`'s tree, fixture ``site_tree``), served over HTTP on localhost as
GitHub Pages serves it: a release's page shows its banner and leads to the same page in the latest book
(or to its front page when the page no longer exists); the version switcher in the header, filled from
versions.json, lists every version and opens the same page in the chosen one."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest
from conftest import require_chromium

from sarcoma_review.living import store
from sarcoma_review.paths import REPO_ROOT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(site_tree):
    require_chromium()
    out, _ = site_tree

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D102 - silence the request log
            pass

    handler = functools.partial(Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    errors: list[str] = []
    p.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )
    # a missing resource named by its address (the browser asks for /favicon.ico by itself: not the site's)
    p.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None
        ),
    )
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.errors = errors
    yield p
    ctx.close()


def _switcher_options(page) -> list[str]:
    page.wait_for_selector(".site-switcher:not([hidden]) select option", state="attached")
    return page.eval_on_selector_all(".site-switcher-select option", "os => os.map(o => o.value)")


def test_release_banner_leads_to_the_same_page_in_the_latest(served, page):
    out, base = served
    manifest = json.loads((REPO_ROOT / "releases" / "0.1.0" / "manifest.json").read_text())
    page.goto(base + "v/0.1.0/book/literature.html")
    banner = page.locator(".site-version-banner")
    assert banner.is_visible()
    assert f"Version 0.1.0 · data as of {manifest['data_date']}" in banner.inner_text()
    page.click(".site-latest-link")
    page.wait_for_load_state()
    assert page.url == base + "book/literature.html"
    assert page.locator(".site-version-banner").count() == 0  # the latest book keeps its own banner
    announcement = page.locator(".bd-header-announcement").inner_text()
    latest = store.list_releases(REPO_ROOT)[-1]
    assert f"after {latest}" in announcement or f"Version {latest}" in announcement
    assert page.errors == []


def test_a_page_gone_from_the_latest_leads_to_its_front_page(served, page):
    out, base = served
    gone = "book/pooled/dpfs-5y.html"  # in 0.1.0, no longer a page of the latest book
    assert (out / "v" / "0.1.0" / gone).exists() and not (out / gone).exists()
    page.goto(base + "v/0.1.0/" + gone)
    assert "the front page of the latest version" in page.locator(".site-version-banner").inner_text()
    page.click(".site-latest-link")
    page.wait_for_url(base + "book/intro.html")  # index.html redirects to the front page
    assert page.errors == []


def test_switcher_lists_every_version_and_opens_the_same_page(served, page):
    out, base = served
    releases = store.list_releases(REPO_ROOT)
    page.goto(base + "book/literature.html")
    assert _switcher_options(page) == ["latest", *reversed(releases)]
    assert page.eval_on_selector(".site-switcher-select", "s => s.value") == "latest"
    page.select_option(".site-switcher-select", "0.1.0")
    page.wait_for_url(base + "v/0.1.0/book/literature.html")
    _switcher_options(page)
    assert page.eval_on_selector(".site-switcher-select", "s => s.value") == "0.1.0"
    # a page 0.1.0 did not have: the switcher opens 0.1.0's front page
    page.goto(base + "book/appraisal.html")
    _switcher_options(page)
    page.select_option(".site-switcher-select", "0.1.0")
    page.wait_for_url(base + "v/0.1.0/book/intro.html")
    assert page.errors == []
