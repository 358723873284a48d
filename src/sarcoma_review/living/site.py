"""The publishable site: the current book at the root and every release's frozen book under ``v/<version>/``.

``review site`` (``make site``) assembles ``_build/site/``:

- ``/``: the current book (:func:`sarcoma_review.living.build.build_book`'s ``_build/html``);
- ``/v/<version>/``: each release's book as released, built from its release record
  (:func:`build_release_html`): the tree of the commit that froze ``releases/<version>/`` (its code,
  book and configuration, not today's), with ``data/`` replaced by the frozen copy
  ``releases/<version>/data/`` (checked against ``data_hashes.json`` first), built by that commit's
  own ``review build`` in a temporary folder outside any git checkout, with this environment. The
  result is kept under ``_build/cache/site/<version>/<key>/`` by the hash of everything it is built
  from (:func:`release_key`), so a second ``review site`` does not build an unchanged release again;
- ``/versions.json``: every version of the site (:func:`versions_manifest`), read by the version
  switcher in the header of every page (``/_site/switcher.js``);
- on every page a banner naming its version: the current book keeps its own banner
  (:func:`sarcoma_review.living.citation.banner_text`); a release's page says its version, data date and
  release date and links to the same page in the latest book, or to the latest front page when that page
  no longer exists there.

Every link the site adds is relative, so the tree works at a domain's root, under a project path
(``https://<owner>.github.io/<repo>/``) and from the disk.
"""

from __future__ import annotations

import hashlib
import html as _html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sarcoma_review.errors import ReleaseError
from sarcoma_review.living import store

#: Bump when the way a release's book is built or decorated changes: every kept release is built again.
SITE_FORMAT = 1
#: Folder of the site's own files (switcher script and style), at the site root.
ASSETS = "_site"
#: Folder under the site root holding one folder per release.
RELEASES_DIR = "v"
#: Folders of a book that hold no pages a reader opens.
NOT_PAGES = ("_static", "_sources", "_downloads", "_images")

_SWITCHER_JS = """\
/* Version switcher: reads versions.json at the site root and offers every version of this page. */
(function () {
  "use strict";
  function start() {
    var select = document.querySelector("select.site-switcher-select");
    if (!select) { return; }
    var root = select.getAttribute("data-site-root");
    var page = select.getAttribute("data-site-page");
    var current = select.getAttribute("data-site-version");
    fetch(root + "versions.json").then(function (r) { return r.json(); }).then(function (site) {
      site.versions.forEach(function (v) {
        var option = document.createElement("option");
        option.value = v.id;
        option.textContent = v.label;
        option.selected = v.id === current;
        select.appendChild(option);
      });
      select.closest(".site-switcher").hidden = false;
      select.addEventListener("change", function () {
        var v = site.versions.filter(function (x) { return x.id === select.value; })[0];
        if (!v) { return; }
        window.location.href = root + v.path + (v.pages.indexOf(page) >= 0 ? page : v.front);
      });
    }).catch(function () { /* opened from the disk: the banner's links still work */ });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
"""

_SITE_CSS = """\
.site-switcher { margin-left: 0.75em; white-space: nowrap; }
.site-switcher select { font: inherit; max-width: 16em; }
.site-version-banner a { text-decoration: underline; }
@media print { .site-switcher { display: none; } }
"""


@dataclass
class SiteReport:
    """What :func:`build_site` did."""

    out: Path
    versions: list[dict[str, Any]] = field(default_factory=list)
    built: list[str] = field(default_factory=list)  # releases built now
    cached: list[str] = field(default_factory=list)  # releases reused from the cache
    notes: list[str] = field(default_factory=list)


# --- the release record ---------------------------------------------------------------------------


def release_manifest(root: Path, version: str) -> dict[str, Any]:
    """``releases/<version>/manifest.json``, or :class:`ReleaseError` naming what is wrong with it."""
    path = Path(root) / "releases" / version / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(
            f"releases/{version}/manifest.json is not readable ({exc}); restore it with git checkout -- releases/"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("git_commit"), str):
        raise ReleaseError(
            f"releases/{version}/manifest.json records no commit; restore it with git checkout -- releases/"
        )
    return manifest


def release_commit(root: Path, version: str) -> str:
    """The commit whose tree is the release as published: the one that added ``releases/<version>/``
    (its parent is the manifest's ``git_commit``, the code the release was computed from; the release
    commit adds the frozen folder, the version, the citation and the generated pages). Falls back to
    the manifest's commit when the history does not hold the release commit."""
    root = Path(root)
    manifest = release_manifest(root, version)
    added = store.git(root, "log", "--diff-filter=A", "--format=%H", "--", f"releases/{version}/manifest.json")
    if added:
        return added.splitlines()[-1]
    commit = manifest["git_commit"]
    if store.git(root, "cat-file", "-e", f"{commit}^{{commit}}") is None:
        raise ReleaseError(
            f"the commit of release {version} ({commit[:12]}) is not in this clone; fetch the "
            "whole history (git fetch --unshallow, or actions/checkout with fetch-depth: 0)"
        )
    return commit


def release_key(root: Path, version: str) -> str:
    """Hash of everything release ``version``'s book is built from: the release commit, the frozen
    manifest and data hashes, the environment (Python, pin files) and :data:`SITE_FORMAT`."""
    root = Path(root)
    h = hashlib.sha256(f"site-format {SITE_FORMAT}\npython {sys.version}\n".encode())
    h.update(release_commit(root, version).encode())
    for name in ("manifest.json", "data_hashes.json"):
        h.update((root / "releases" / version / name).read_bytes())
    for name in ("requirements.txt", "constraints.txt"):
        p = root / name
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()[:20]


def _export_tree(root: Path, commit: str, dest: Path) -> None:
    """``git archive`` of ``commit`` unpacked into ``dest``."""
    tar = dest.parent / "tree.tar"
    proc = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", "-o", str(tar), commit], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise ReleaseError(f"cannot export commit {commit[:12]}: {proc.stderr.strip()}")
    dest.mkdir(parents=True)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    tar.unlink()


def _frozen_data(root: Path, version: str, tree: Path) -> None:
    """Replace ``tree/data`` with the release's frozen data, after checking it against its hashes."""
    rel = Path(root) / "releases" / version
    recorded = json.loads((rel / "data_hashes.json").read_text(encoding="utf-8"))
    if store.data_hashes(rel / "data") != recorded:
        raise ReleaseError(
            f"releases/{version}/data no longer matches its data_hashes.json; a frozen release "
            "must not change: restore it with git checkout -- releases/"
        )
    shutil.rmtree(tree / "data", ignore_errors=True)
    shutil.copytree(rel / "data", tree / "data", ignore=shutil.ignore_patterns("__pycache__"))


#: Runs a release's own command line (its package first on the path).
_BUILD_CODE = "import sys; from sarcoma_review.cli import app; sys.argv = ['review', 'build']; app()"


def _release_env(tree: Path) -> dict[str, str]:
    """The environment of a release's build: its own package first, no variable of the review's (the
    build finds its project from the working directory) and no git above the temporary tree (its banner
    then takes the frozen data date from the manifest)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEW_")}
    env["PYTHONPATH"] = str(tree / "src")
    env["GIT_CEILING_DIRECTORIES"] = str(tree.parent)
    return env


def build_release_html(root: Path, version: str, cache_dir: Path) -> tuple[Path, bool]:
    """The HTML folder of release ``version``'s book, and whether it was built now (False: kept).

    Built from the release record as the module docstring says, in a temporary folder; kept under
    ``cache_dir/<version>/<key>/html`` (:func:`release_key`), older keys of the version removed.
    """
    root = Path(root).resolve()
    key = release_key(root, version)
    kept = Path(cache_dir) / version / key
    if (kept / "complete").exists() and (kept / "html" / "index.html").exists():
        return kept / "html", False
    commit = release_commit(root, version)
    with tempfile.TemporaryDirectory(prefix=f"review-site-{version}-") as tmp:
        tree = Path(tmp) / "tree"
        _export_tree(root, commit, tree)
        _frozen_data(root, version, tree)
        proc = subprocess.run(
            [sys.executable, "-c", _BUILD_CODE], cwd=str(tree), env=_release_env(tree), capture_output=True, text=True
        )
        html = tree / "_build" / "html"
        if proc.returncode != 0 or not (html / "index.html").exists():
            lines = (proc.stdout + proc.stderr).replace(str(tree) + os.sep, "").strip().splitlines()
            raise ReleaseError(
                f"release {version}'s book does not build from its record (commit {commit[:12]} "
                "with its frozen data, in this environment):\n  " + "\n  ".join(lines[-15:])
            )
        shutil.rmtree(kept.parent, ignore_errors=True)  # older keys of this version
        kept.mkdir(parents=True)
        shutil.copytree(html, kept / "html")
        (kept / "complete").write_text(commit + "\n", encoding="utf-8")
    return kept / "html", True


# --- decorating the pages ----------------------------------------------------------------------------


def book_pages(html: Path) -> list[str]:
    """Every page of a built book (``.html`` outside its static folders), relative, sorted."""
    html = Path(html)
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not set(p.relative_to(html).parts[:-1]) & set(NOT_PAGES)
    )


def _version_label(banner: str) -> str:
    """``"Development version after 0.2.0"`` from a banner ``"... · data as of ..."``."""
    return banner.split(" · ", 1)[0].strip()


def versions_manifest(current: dict[str, Any], releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of ``versions.json``: the latest book first, then the releases newest first.

    Each entry: ``id`` (``latest`` or the version), ``label``, ``path`` (its folder relative to the
    site root, ``""`` or ``v/<version>/``), ``front`` (its front page), ``data_date``, ``released``
    (the release date, None for the latest book unless it is a release) and ``pages``.
    """
    ordered = sorted(releases, key=lambda r: store.parse_version(r["id"]), reverse=True)
    return {"format": 1, "latest": current["id"], "versions": [current, *ordered]}


_ANNOUNCEMENT = re.compile(r'(<div class="bd-header-announcement__content">)(.*?)(</div>)', re.S)


def _switcher(to_root: str, page: str, version_id: str) -> str:
    return (
        f'<label class="site-switcher" hidden>Version <select class="site-switcher-select" '
        f'aria-label="Version" data-site-root="{_html.escape(to_root)}" data-site-page="{_html.escape(page)}" '
        f'data-site-version="{_html.escape(version_id)}"></select></label>'
    )


def decorate_page(text: str, *, to_root: str, page: str, version_id: str, banner_html: str | None) -> str:
    """One page with the site's banner and switcher: ``banner_html`` replaces the page's own banner
    (None keeps it), the switcher follows it; the switcher's script and style are linked in the head."""
    switcher = _switcher(to_root, page, version_id)
    head = (
        f'<link rel="stylesheet" href="{to_root}{ASSETS}/site.css" />'
        f'<script defer src="{to_root}{ASSETS}/switcher.js"></script>'
    )

    def repl(m: re.Match) -> str:
        inner = banner_html if banner_html is not None else m.group(2)
        return f"{m.group(1)}{inner} {switcher}{m.group(3)}"

    new, n = _ANNOUNCEMENT.subn(repl, text, count=1)
    if n == 0:  # a page without the theme's announcement (e.g. the redirecting index.html)
        body = re.search(r"<body[^>]*>", new)
        if body is not None and banner_html is not None:
            new = (
                new[: body.end()]
                + f'<div class="bd-header-announcement__content">{banner_html} {switcher}</div>'
                + new[body.end() :]
            )
    return new.replace("</head>", head + "</head>", 1) if "</head>" in new else new


def release_banner(release: dict[str, Any], latest_label: str, latest_href: str, same_page: bool) -> str:
    """The banner of a release's page: its version, data date and release date, and a link to the same
    page (or the front page) in the latest book."""
    where = "this page in" if same_page else "the front page of"
    if latest_label == f"Version {release['id']}":  # the latest book is this very release
        newer = f'This is also <a class="site-latest-link" href="{_html.escape(latest_href)}">the latest version</a>.'
        return (
            f'<span class="site-version-banner">Version {_html.escape(release["id"])} · data as of '
            f"{_html.escape(str(release['data_date']))} · released {_html.escape(str(release['released']))}. "
            f"{newer}</span>"
        )
    return (
        f'<span class="site-version-banner">Version {_html.escape(release["id"])} · data as of '
        f"{_html.escape(str(release['data_date']))} · released {_html.escape(str(release['released']))}. "
        f'A newer version exists: <a class="site-latest-link" href="{_html.escape(latest_href)}">read {where} '
        f"the latest version ({_html.escape(latest_label[:1].lower() + latest_label[1:])})</a>.</span>"
    )


def _decorate_tree(site: Path, prefix: str, entry: dict[str, Any], latest: dict[str, Any] | None) -> None:
    """Decorate every page of one version's folder ``site/prefix`` (``latest`` None: this is the latest)."""
    latest_pages = set(latest["pages"]) if latest else set()
    for page in entry["pages"]:
        path = site / prefix / page
        depth = len(Path(prefix + page).parts) - 1
        to_root = "../" * depth
        banner = None
        if latest is not None:
            same = page in latest_pages
            href = to_root + latest["path"] + (page if same else latest["front"])
            banner = release_banner(entry, latest["name"], href, same)
        text = path.read_text(encoding="utf-8")
        path.write_text(
            decorate_page(text, to_root=to_root, page=page, version_id=entry["id"], banner_html=banner),
            encoding="utf-8",
        )


def page_banner(html: Path) -> str:
    """The banner text a built book shows (its front page's announcement, markup removed)."""
    for page in ("book/intro.html", *book_pages(html)):
        path = Path(html) / page
        m = _ANNOUNCEMENT.search(path.read_text(encoding="utf-8")) if path.exists() else None
        if m:
            return _html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
    return "Latest version"


def _current_entry(root: Path, html: Path) -> dict[str, Any]:
    """The latest book's entry, from the banner it was built with."""
    banner = page_banner(html)
    name = _version_label(banner)
    released = None
    m = re.fullmatch(r"Version (\d+\.\d+\.\d+)", name)
    if m and (Path(root) / "releases" / m.group(1)).is_dir():
        released = release_manifest(root, m.group(1)).get("date")
    date = re.search(r"data as of (\d{4}-\d{2}-\d{2})", banner)
    return {
        "id": "latest",
        "name": name,
        "label": f"{name} (latest)",
        "path": "",
        "front": "index.html",
        "data_date": date.group(1) if date else None,
        "released": released,
        "pages": book_pages(html),
    }


def _release_entry(root: Path, version: str, html: Path) -> dict[str, Any]:
    manifest = release_manifest(root, version)
    return {
        "id": version,
        "name": f"Version {version}",
        "label": f"Version {version} ({manifest.get('date', 'undated')})",
        "path": f"{RELEASES_DIR}/{version}/",
        "front": "index.html",
        "data_date": manifest.get("data_date"),
        "released": manifest.get("date"),
        "pages": book_pages(html),
    }


def assemble_site(root: Path, current_html: Path, releases: dict[str, Path], out: Path) -> list[dict[str, Any]]:
    """Write the site tree into ``out`` (replaced whole, through a sibling folder): the current book,
    each release under ``v/<version>/``, ``versions.json`` and the switcher; return the versions."""
    root, out = Path(root), Path(out)
    new = out.with_name(out.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    shutil.copytree(current_html, new)
    current = _current_entry(root, current_html)
    entries = []
    for version, html in releases.items():
        shutil.copytree(html, new / RELEASES_DIR / version)
        entries.append(_release_entry(root, version, html))
    _decorate_tree(new, "", current, None)
    for entry in entries:
        _decorate_tree(new, entry["path"], entry, current)
    manifest = versions_manifest(current, entries)
    (new / "versions.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (new / ASSETS).mkdir()
    (new / ASSETS / "switcher.js").write_text(_SWITCHER_JS, encoding="utf-8")
    (new / ASSETS / "site.css").write_text(_SITE_CSS, encoding="utf-8")
    (new / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve _static/ and _site/ as they are
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return manifest["versions"]


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    cache_dir: Path | None = None,
    build_current: bool = True,
    versions: list[str] | None = None,
    say=None,
) -> SiteReport:
    """Build the current book (unless ``build_current`` is False: the book in ``_build/html`` is used),
    build or reuse every release's book (``versions``: only these), and assemble ``out``
    (default ``<root>/_build/site``)."""
    root = Path(root).resolve()
    out = Path(out) if out else root / "_build" / "site"
    cache_dir = Path(cache_dir) if cache_dir else root / "_build" / "cache" / "site"
    say = say or (lambda msg: None)
    html = root / "_build" / "html"
    if build_current:
        from sarcoma_review.living.build import build_book

        build_book(root=root, quiet=True)
    if not (html / "index.html").exists():
        raise ReleaseError(f"no built book in {html}: run review build first")
    report = SiteReport(out=out)
    built: dict[str, Path] = {}
    for version in versions if versions is not None else store.list_releases(root):
        say(f"… release {version}")
        path, fresh = build_release_html(root, version, cache_dir)
        (report.built if fresh else report.cached).append(version)
        built[version] = path
    report.versions = assemble_site(root, html, built, out)
    return report


__all__ = [
    "SiteReport",
    "assemble_site",
    "book_pages",
    "build_release_html",
    "build_site",
    "decorate_page",
    "release_commit",
    "release_key",
    "release_manifest",
    "versions_manifest",
]
