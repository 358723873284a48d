"""Every version on record: verify-release from the release folder alone, the Versions page, the
published release files and the release PDF (Debian's Chromium + pypdf).

Toy releases use tests/helpers.py (a tiny git tree and a toy pool whose numbers are derived by hand).
The test release of the real book runs in a temporary copy of the repository.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import require_chromium
from helpers import add_study, git, make_repo, toy_pool
from typer.testing import CliRunner

from sarcoma_review.cli import app
from sarcoma_review.errors import ReleaseError
from sarcoma_review.living import citation, versions
from sarcoma_review.living import release as rel
from sarcoma_review.paths import REPO_ROOT


def _two_releases(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", comparators=False)
    (repo / "book" / "versions.md").write_text("# Versions\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "versions page")
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool)
    add_study(repo)
    rel.release("0.3.0", root=repo, date="2026-04-01", pool=toy_pool)
    return repo


def test_verify_frozen_release_needs_no_tag_and_can_fail(tmp_path):
    repo = _two_releases(tmp_path)
    for tag in git(repo, "tag", "--list").split():
        git(repo, "tag", "-d", tag)  # a clone without tags
    manifest = json.loads((repo / "releases" / "0.3.0" / "manifest.json").read_text())
    env = manifest["environment"]
    assert env["python"] and env["pin_files_sha256"] == {} and "packages" in env  # the toy tree has no pin files
    report = rel.verify_frozen_release("0.2.0", root=repo, pool=toy_pool)
    assert report.code == "this checkout" and "byte for byte" in report.summary
    # the data of today (0.3.0 added c2003) do not matter: 0.2.0 is rebuilt from its own frozen copy
    assert rel.verify_frozen_release("0.3.0", root=repo, pool=toy_pool).code == "this checkout"
    with pytest.raises(ReleaseError, match=r"no release 0\.9\.0 .*releases on record: 0\.2\.0, 0\.3\.0"):
        rel.verify_frozen_release("0.9.0", root=repo, pool=toy_pool)
    # an altered frozen estimate no longer reproduces (the toy pool is not the commit's code: no retry)
    est = repo / "releases" / "0.2.0" / "estimates.csv"
    est.write_bytes(est.read_bytes().replace(b"65,", b"66,", 1))
    with pytest.raises(ReleaseError, match="does not reproduce"):
        rel.verify_frozen_release("0.2.0", root=repo, pool=toy_pool)
    # an altered frozen data file is named
    out = repo / "releases" / "0.3.0" / "data" / "literature" / "outcomes.csv"
    out.write_text(out.read_text() + "c2003,OS,3,10,toy\n")
    with pytest.raises(ReleaseError, match=r"no longer matches its data_hashes.json \(literature/outcomes.csv\)"):
        rel.verify_frozen_release("0.3.0", root=repo, pool=toy_pool)


def test_release_0_1_0_verifies_and_the_recorded_commit_reproduces_it():
    """The committed release: this checkout's code reproduces its estimates; so does the code of the
    commit its manifest records (exported with git archive, run in a subprocess)."""
    res = CliRunner().invoke(app, ["verify-release", "0.1.0"])
    assert res.exit_code == 0, res.output
    assert "release 0.1.0 verified" in res.output
    d = REPO_ROOT / "releases" / "0.1.0"
    commit = json.loads((d / "manifest.json").read_text())["git_commit"]
    if subprocess.run(["git", "-C", str(REPO_ROOT), "cat-file", "-e", commit + "^{commit}"]).returncode != 0:
        pytest.skip(f"this clone lacks commit {commit[:12]} (a shallow clone)")
    assert rel._estimates_with_commit(REPO_ROOT, commit, d) == (d / "estimates.csv").read_bytes()


def test_versions_page_lists_every_release_newest_first_with_its_files(tmp_path):
    repo = _two_releases(tmp_path)
    page = versions.render_page(repo, current_version="0.3.0")
    assert page.index("## Version 0.3.0") < page.index("## Version 0.2.0")
    assert "Released 2026-04-01" in page and "Released 2026-03-01" in page
    assert "(compared with version 0.2.0)" in page and "(first release)" in page
    assert "**Added** `c2003`" in page  # what changed in the evidence, from the release's own What's new
    assert "| lc5" not in page  # the estimate tables stay on the release's What's new
    for v in ("0.2.0", "0.3.0"):
        assert f"[estimates (CSV)](_static/releases/{v}/estimates.csv)" in page
        assert f"[data (zip)](_static/releases/{v}/data.zip)" in page
    # the release regenerated the committed page
    assert (repo / "book" / "versions.md").read_text() == page
    assert "has not been released yet" in versions.render_page(repo, current_version="0.4.0")


def test_published_release_files_and_deterministic_data_zip(tmp_path):
    repo = _two_releases(tmp_path)
    written = versions.publish_release_files(tmp_path / "book", root=repo)
    names = sorted(p.relative_to(tmp_path / "book").as_posix() for p in written)
    assert "_static/releases/0.2.0/estimates.csv" in names and "_static/releases/0.3.0/data.zip" in names
    z = tmp_path / "book" / "_static" / "releases" / "0.3.0" / "data.zip"
    with zipfile.ZipFile(z) as zf:
        frozen = repo / "releases" / "0.3.0" / "data" / "literature" / "studies.csv"
        assert zf.read("data/literature/studies.csv") == frozen.read_bytes()
    again = versions.zip_data(repo / "releases" / "0.3.0" / "data", tmp_path / "again.zip")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(z.read_bytes()).digest()


def test_cite_page_links_the_release_pdf_and_the_versions_page():
    cff = citation.load_cff(REPO_ROOT / "CITATION.cff")
    page = citation.render_cite_page(
        cff, None, "released", pdf_href="_static/releases/1.0.0/book.pdf", versions_page=True
    )
    assert f"[version {cff['version']} (PDF)](_static/releases/1.0.0/book.pdf)" in page
    assert "[Versions](versions.md)" in page
    assert "(PDF)" not in citation.render_cite_page(cff, None, "unreleased")


def test_release_0_1_0_has_its_pdf():
    pdf = REPO_ROOT / "releases" / "0.1.0" / "book.pdf"
    pages = versions.pdf_pages(pdf)
    assert len(pages) > 20  # a whole book, not a page
    assert "Version 0.1.0" in pages[0]  # the banner of the book as released


def test_print_book_pdf_merges_the_pages_in_toc_order(tmp_path):
    require_chromium()
    html = tmp_path / "html" / "book"
    html.mkdir(parents=True)
    for name, title in (("intro", "First page of the toy book"), ("second", "Second page of the toy book")):
        (html / f"{name}.html").write_text(f"<html><body><h1>{title}</h1><p>{'text ' * 50}</p></body></html>")
    out = versions.print_book_pdf(tmp_path / "html", ["book/second", "book/intro"], tmp_path / "book.pdf")
    pages = versions.pdf_pages(out)
    assert len(pages) == 2 and "Second page" in pages[0] and "First page" in pages[1]
    with pytest.raises(ReleaseError, match="not built"):
        versions.print_book_pdf(tmp_path / "html", ["book/missing"], tmp_path / "x.pdf")
    with pytest.raises(ReleaseError, match="apt-get install chromium"):
        versions.print_book_pdf(tmp_path / "html", ["book/intro"], tmp_path / "y.pdf", chromium=tmp_path / "none")


@pytest.mark.slow
def test_a_test_release_of_the_real_book_in_a_temporary_copy(tmp_path):
    """`review release` in a copy of the repository: the release folder records commit, data hashes and
    environment, holds the book as one PDF, verifies without its tag, and the built book's Versions page
    lists it beside 0.1.0 with their published files."""
    require_chromium()
    copy = tmp_path / "clone"
    files = (
        subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z"], capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for f in filter(None, files):
        if (REPO_ROOT / f).is_file():
            (copy / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / f, copy / f)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "clone"],
    ):
        subprocess.run(["git", "-C", str(copy), *args], check=True, capture_output=True)
    if (REPO_ROOT / "_build" / "cache").exists():
        shutil.copytree(REPO_ROOT / "_build" / "cache", copy / "_build" / "cache")
    env = {k: v for k, v in os.environ.items() if k not in ("REVIEW_ROOT", "REVIEW_DATA_DIR")}
    env.update(
        {
            "PYTHONPATH": str(copy / "src"),
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
        }
    )
    review = str(Path(sys.executable).with_name("review"))
    current = citation.read_version(REPO_ROOT)
    new = rel.bump(current, "patch")
    # dated the day after the latest release (a release cannot be dated before the one it follows)
    latest = max(json.loads(m.read_text())["date"] for m in (REPO_ROOT / "releases").glob("*/manifest.json"))
    day = (datetime.date.fromisoformat(latest) + datetime.timedelta(days=1)).isoformat()
    proc = subprocess.run(
        [review, "release", new, "--date", day], cwd=copy, env=env, capture_output=True, text=True, timeout=3600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    d = copy / "releases" / new
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["git_commit"] and manifest["environment"]["packages"]["pandas"]
    assert set(manifest["environment"]["pin_files_sha256"]) == {"requirements.txt", "constraints.txt"}
    pages = versions.pdf_pages(d / "book.pdf")
    assert f"Version {new}" in pages[0] and len(pages) > 20
    assert git(copy, "status", "--porcelain") == ""  # the PDF was committed with the release
    verified = subprocess.run([review, "verify-release", new], cwd=copy, env=env, capture_output=True, text=True)
    assert verified.returncode == 0 and f"release {new} verified" in verified.stdout, verified.stderr
    built = (copy / "_build" / "html" / "book" / "versions.html").read_text(encoding="utf-8")
    assert f"Version {new}" in built and "Version 0.1.0" in built
    assert (copy / "_build" / "html" / "_static" / "releases" / "0.1.0" / "book.pdf").exists()
