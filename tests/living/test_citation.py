"""CITATION.cff (CFF 1.2.0, validated by cffconvert), the How-to-cite page and the version/data-date banner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import git, make_repo

from sarcoma_review import __version__
from sarcoma_review.living import citation
from sarcoma_review.living.store import data_hashes
from sarcoma_review.paths import REPO_ROOT

CFFCONVERT = Path(sys.executable).with_name("cffconvert")


def test_committed_citation_validates_with_cffconvert_cli():
    res = subprocess.run(
        [str(CFFCONVERT), "--validate", "-i", str(REPO_ROOT / "CITATION.cff")], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "valid according to schema version 1.2.0" in res.stdout


def test_committed_citation_matches_version_and_entity_author():
    cff = citation.load_cff(REPO_ROOT / "CITATION.cff")
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == __version__ == citation.read_version()
    assert cff["authors"] == [{"name": "The living-review team"}]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))
    # The committed file is exactly what the generator writes for its version and date.
    assert (REPO_ROOT / "CITATION.cff").read_text() == citation.render_cff(cff["version"], cff["date-released"])


def _bib_entries() -> dict[str, dict[str, str]]:
    text = (REPO_ROOT / "book" / "references.bib").read_text()
    out = {}
    for key, body in re.findall(r"@article\{(\w+),(.*?)\n\}", text, flags=re.S):
        out[key] = {k: v for k, v in re.findall(r"(\w+)\s*=\s*\{(.*?)\},?\n", body + "\n")}
    return out


def test_references_agree_with_the_books_bibliography():
    """The two source papers, cross-checked field by field against book/references.bib (an independent copy)."""
    refs = {r["doi"]: r for r in citation.load_cff(REPO_ROOT / "CITATION.cff")["references"]}
    bib = {e["doi"]: e for e in _bib_entries().values() if "doi" in e}
    # CITATION.cff cites the two source papers; the bibliography also holds methods references
    # (e.g. the t(k-2) prediction interval's), which are not sources of the review's data
    assert set(refs) == {"10.21873/anticanres.14260", "10.1186/1748-717X-5-55"} and set(refs) <= set(bib)
    for doi, ref in refs.items():
        b = bib[doi]
        assert ref["title"] == b["title"] and ref["journal"] == b["journal"]
        assert str(ref["year"]) == b["year"] and ref["volume"] == b["volume"]
        assert ref.get("issue") == b.get("number")
        assert "--".join(filter(None, [ref["start"], ref.get("end")])) == b["pages"]
        names = " and ".join(f"{a['family-names']}, {a['given-names']}" for a in ref["authors"])
        assert names == b["author"]


def test_invalid_citation_is_rejected(tmp_path):
    bad = yaml.safe_load(citation.render_cff("1.0.0", "2026-01-01"))
    del bad["authors"]
    p = tmp_path / "CITATION.cff"
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="not valid CFF 1.2.0"):
        citation.validate_cff(p)


def test_apa_and_bibtex():
    cff = yaml.safe_load(citation.render_cff("1.2.3", "2027-05-06"))
    assert citation.apa(cff) == (
        "The living-review team. (2027). *Particle therapy for bone and soft-tissue "
        "sarcoma: a living review* (Version 1.2.3) [Living review]."
    )
    bib = citation.bibtex(cff)
    assert bib.startswith("@misc{livingreview_sarcoma_1_2_3,\n")
    assert "  author  = {{The living-review team}},\n" in bib and "  version = {1.2.3},\n" in bib
    page = citation.render_cite_page(cff, "Version 1.2.3 · data as of 2027-05-01")
    assert "release 1.2.3" in page and "```bibtex" in page and "Version 1.2.3 · data as of 2027-05-01" in page
    # a page never calls an edition a frozen release when it is not one
    unreleased = citation.render_cite_page(cff, None, "unreleased")
    assert "version 1.2.3, not yet released" in unreleased and "frozen under `releases/1.2.3/`" not in unreleased
    changed = citation.render_cite_page(cff, None, "changed since release")
    assert "release 1.2.3 with later changes" in changed
    assert "Cuccia, F., Fiore, M. R.," in page and "*40*(5), 2853–2859" in page


def test_banner_is_version_and_last_data_commit_date(tmp_path):
    repo = make_repo(tmp_path / "repo")
    env_date = "2026-02-03T10:00:00+00:00"
    (repo / "data" / "literature" / "note.txt").write_text("x\n")
    git(repo, "add", "data")
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "-m", "data"],
        check=True,
        env={
            "GIT_COMMITTER_DATE": env_date,
            "GIT_AUTHOR_DATE": env_date,
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "TZ": "UTC",
        },
    )
    # A later commit that does not touch data/ does not move the data date.
    (repo / "book" / "intro.md").write_text("# Changed\n")
    git(repo, "commit", "-q", "-am", "book only")
    # version 0.1.0 was never released here: the book is a development version, not "Version 0.1.0"
    assert citation.banner_text(repo) == "Development version 0.1.0 (no release yet) · data as of 2026-02-03"
    assert citation.banner_text(repo) == citation.banner_text(repo)
    (repo / "data" / "literature" / "note.txt").write_text("y\n")
    assert citation.banner_text(repo) == (
        "Development version 0.1.0 (no release yet) · data as of 2026-02-03 (plus uncommitted data changes)"
    )


def _freeze(repo, version: str, data_date: str) -> None:
    """A release record as `review release` writes it (manifest with the commit it was computed from), committed."""
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "releases" / version).mkdir(parents=True)
    (repo / "releases" / version / "manifest.json").write_text(
        json.dumps({"version": version, "date": data_date, "git_commit": commit, "data_date": data_date})
    )
    (repo / "releases" / version / "data_hashes.json").write_text(json.dumps(data_hashes(repo / "data")))
    (repo / "src" / "sarcoma_review" / "_version.py").write_text(f'__version__ = "{version}"\n')
    (repo / "book" / "cite.md").write_text("# How to cite (regenerated by the release)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Release {version}")


def test_banner_says_release_only_for_exactly_what_the_release_was_built_from(tmp_path):
    """#20: a release's pages say its version and its frozen data date; any other build says
    "Development version after X" with the data's own date, whatever the version file says."""
    repo = make_repo(tmp_path / "repo")
    _freeze(repo, "0.1.0", "2020-01-02")  # a date no commit here has: the banner must take the frozen one
    assert citation.is_release_build(repo)
    assert citation.banner_text(repo) == "Version 0.1.0 · data as of 2020-01-02"
    (repo / "CITATION.cff").write_text(citation.render_cff("0.1.0", "2020-01-02"))
    assert (
        "This is **release 0.1.0**"
        in citation.write_cite_page(tmp_path / "cite.md", repo / "CITATION.cff", repo).read_text()
    )
    today = git(repo, "log", "-1", "--date=format-local:%Y-%m-%d", "--format=%cd", "--", "data")
    # the book's text edited and committed after the release: still version 0.1.0 in the version file
    (repo / "book" / "intro.md").write_text("# Intro, edited after the release\n")
    git(repo, "commit", "-q", "-am", "edit")
    assert not citation.is_release_build(repo)
    assert citation.banner_text(repo) == f"Development version after 0.1.0 · data as of {today}"
    # the How to cite page agrees: same data as the release, yet not the release
    assert citation.release_status(repo) == "released"
    cite = citation.write_cite_page(tmp_path / "cite.md", repo / "CITATION.cff", repo).read_text()
    assert "release 0.1.0 with later changes" in cite and "This is **release" not in cite
    git(repo, "revert", "--no-edit", "HEAD")
    assert citation.is_release_build(repo)
    # an untracked page or uncommitted data make a development version too
    (repo / "book" / "new.md").write_text("# New\n")
    assert not citation.is_release_build(repo)
    (repo / "book" / "new.md").unlink()
    with open(repo / "data" / "literature" / "outcomes.csv", "a") as fh:
        fh.write("b2002,LC,3,50,toy\n")
    assert citation.banner_text(repo) == (
        f"Development version after 0.1.0 · data as of {today} (plus uncommitted data changes)"
    )
    # a copy without git: the data hashes decide
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".git"))
    assert citation.banner_text(copy) == "Development version after 0.1.0 · data date unknown"
    git(repo, "checkout", "--", "data")
    shutil.rmtree(copy)
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".git"))
    assert citation.banner_text(copy) == "Version 0.1.0 · data as of 2020-01-02"


def test_inject_banner_into_staged_config(tmp_path):
    repo = make_repo(tmp_path / "repo")
    cfg = tmp_path / "_config.yml"
    cfg.write_text((REPO_ROOT / "_config.yml").read_text())
    before = yaml.safe_load(cfg.read_text())
    citation.inject_banner(cfg, root=repo)
    after = yaml.safe_load(cfg.read_text())
    assert after["html"]["announcement"] == citation.banner_text(repo)
    after["html"].pop("announcement")
    assert after == before  # nothing else changed
