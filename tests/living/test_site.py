"""`review site`: the current book at the root, each release's book as released under v/<version>/.

The tree is built once per session (fixture ``site_tree``): releases 0.1.0 and 0.2.0 from their records
(their commit's code and book, their frozen data) plus the book in _build/html. Checked here without a
browser: every internal link and resource resolves, each release's pages are those of its own table of
contents (read from its commit, not from today's), banners name the version and link to the latest book,
versions.json lists every version, a second assembly reuses the releases. Browser checks:
tests/browser/test_site_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import yaml

from sarcoma_review.living import site, store
from sarcoma_review.paths import HTML_DIR, REPO_ROOT

RELEASES = store.list_releases(REPO_ROOT)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            content = dict(attrs).get("content", "")
            if "url=" in content:
                self.links.append(content.split("url=", 1)[1].strip())


def _broken(site_dir: Path) -> list[str]:
    bad = []
    for page in (site_dir / p for p in site.book_pages(site_dir)):  # pages (not the theme's templates)
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path:  # external, mailto:, data:, or "#anchor"
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists() or site_dir.resolve() not in (target, *target.parents):
                bad.append(f"{page.relative_to(site_dir)} -> {link}")
    return bad


def _toc_pages(toc_text: str) -> set[str]:
    pages: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    pages.add(node[key] + ".html")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(yaml.safe_load(toc_text))
    return pages


def test_releases_on_record():
    assert {"0.1.0", "0.2.0"} <= set(RELEASES)


def test_every_internal_link_of_the_site_resolves(site_tree):
    out, _ = site_tree
    assert sorted(p.name for p in (out / "v").iterdir()) == sorted(RELEASES)
    assert _broken(out) == []


def test_each_release_is_its_own_book(site_tree):
    """The pages of v/<version>/ are those its release commit's table of contents names (the current
    book has pages 0.1.0 never had, and lost one it had): built from the release's code, not today's."""
    out, _ = site_tree
    for version in RELEASES:
        toc = store.git(REPO_ROOT, "show", f"{site.release_commit(REPO_ROOT, version)}:_toc.yml")
        book = {p for p in site.book_pages(out / "v" / version) if p.startswith("book/")}
        assert book == _toc_pages(toc), version
    current = {p for p in site.book_pages(HTML_DIR) if p.startswith("book/")}
    assert current != set(site.book_pages(out / "v" / "0.1.0")) - {"index.html"}


def _primary(df: pd.DataFrame, ci_method: str = "HKSJ-adhoc") -> pd.DataFrame:
    """The primary row of each analysis: today's interval is HKSJ with the ad hoc correction; releases made
    before it (0.1.0, 0.2.0) froze plain HKSJ, and their books are built with their own code."""
    keep = df["subgroup_column"].isna() & (df["model"] == "random effects") & (df["ci_method"] == ci_method)
    return df[keep].drop_duplicates("analysis_id").set_index("analysis_id")[["estimate", "ci_low", "ci_high"]]


def test_each_release_book_shows_its_frozen_estimates(site_tree):
    """Every pooled estimate a release froze (releases/<version>/estimates.csv, written when it was
    released) is the one its book in the site publishes: the book was computed from the frozen data.
    The frozen CSV holds 10 significant digits, hence the tolerance."""
    out, _ = site_tree
    current = _primary(pd.read_csv(HTML_DIR / "_static" / "downloads" / "pooled_estimates.csv"))
    for version in RELEASES:
        raw = pd.read_csv(REPO_ROOT / "releases" / version / "estimates.csv")
        ci = raw.loc[raw["subgroup_column"].isna() & (raw["model"] == "random effects"), "ci_method"].iat[0]
        frozen = _primary(raw, ci)
        book = _primary(pd.read_csv(out / "v" / version / "_static" / "downloads" / "pooled_estimates.csv"), ci)
        assert set(frozen.index) <= set(book.index), version
        pd.testing.assert_frame_equal(book.loc[frozen.index], frozen, rtol=1e-8, check_dtype=False)
    old = _primary(pd.read_csv(REPO_ROOT / "releases" / "0.1.0" / "estimates.csv"), "HKSJ")
    assert (old.loc["lc-5y"] != current.loc["lc-5y"]).any()  # today's book is another computation


def test_banners_name_the_version_and_link_the_same_page_in_the_latest(site_tree):
    out, _ = site_tree
    latest_pages = set(site.book_pages(HTML_DIR))
    for version in RELEASES:
        manifest = json.loads((REPO_ROOT / "releases" / version / "manifest.json").read_text())
        for page in site.book_pages(out / "v" / version):
            text = (out / "v" / version / page).read_text(encoding="utf-8")
            if page == "index.html":  # the redirect to the front page
                continue
            banner = re.search(r'<span class="site-version-banner">(.*?)</span>', text, re.S)
            assert banner, (version, page)
            assert (
                f"Version {version} · data as of {manifest['data_date']} · released {manifest['date']}"
                in banner.group(1)
            )
            href = re.search(r'class="site-latest-link" href="([^"]+)"', banner.group(1)).group(1)
            depth = len(Path(page).parts) + 1  # v/<version>/ + the page's folders
            expected = "../" * depth + (page if page in latest_pages else "index.html")
            assert href == expected, (version, page)
            assert text.count("site-switcher-select") == 1
    for page in site.book_pages(out):
        if page.startswith("v/") or page == "index.html":
            continue
        text = (out / page).read_text(encoding="utf-8")
        assert "site-version-banner" not in text and text.count("site-switcher-select") == 1, page
        assert re.search(r"(Version \d+\.\d+\.\d+|Development version [^<]*?) · data", text), page


def test_versions_json_lists_every_version(site_tree):
    out, _ = site_tree
    data = json.loads((out / "versions.json").read_text())
    ids = [v["id"] for v in data["versions"]]
    assert ids == ["latest", *sorted(RELEASES, key=store.parse_version, reverse=True)]
    for v in data["versions"]:
        assert set(v["pages"]) == set(site.book_pages(out / v["path"])) - (
            {p for p in site.book_pages(out) if p.startswith("v/")} if v["path"] == "" else set()
        )
        assert (out / v["path"] / v["front"]).exists()
    for v in data["versions"][1:]:
        assert (
            v["data_date"] == json.loads((REPO_ROOT / "releases" / v["id"] / "manifest.json").read_text())["data_date"]
        )


def test_a_second_site_build_reuses_the_releases(site_tree, tmp_path):
    _, first = site_tree
    assert set(first.built) | set(first.cached) == set(RELEASES)
    again = site.build_site(REPO_ROOT, tmp_path / "site", build_current=False)
    assert again.built == [] and again.cached == RELEASES
