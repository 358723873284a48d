"""`review release`: version checks, frozen tables with deterministic bytes, commit + tag, rebuild from the tag.

Every release runs in a temporary repo-like git tree (tests/helpers.py), never in the
real repository. Estimates come from the toy pool there, so the expected numbers are hand-derived.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess

import pandas as pd
import pytest
from helpers import add_study, git, make_repo, toy_pool
from typer.testing import CliRunner

from sarcoma_review.errors import ReleaseError
from sarcoma_review.living import analyses, citation, store
from sarcoma_review.living import release as rel
from sarcoma_review.paths import REPO_ROOT


def test_parse_and_compare_versions():
    assert store.parse_version("1.12.3") == (1, 12, 3)
    for bad in ("1.2", "v1.2.3", "01.2.3", "1.2.3-rc1", ""):
        with pytest.raises(ReleaseError, match="semantic version"):
            store.parse_version(bad)
    rel.check_new_version("0.10.0", "0.9.9")  # numeric, not string, comparison
    for same_or_older in ("0.1.0", "0.0.9"):
        with pytest.raises(ReleaseError, match="must be greater than the current version 0.1.0"):
            rel.check_new_version(same_or_older, "0.1.0")


def test_estimates_csv_is_deterministic_and_canonical(tmp_path):
    repo = make_repo(tmp_path / "r")
    a = analyses.current_estimates(repo / "data", pool=toy_pool, root=repo)
    b = analyses.current_estimates(repo / "data", pool=toy_pool, root=repo)
    shuffled = b.sample(frac=1, random_state=3)[list(reversed(b.columns))]
    raw = store.estimates_csv_bytes(a)
    assert raw == store.estimates_csv_bytes(b) == store.estimates_csv_bytes(shuffled)
    assert b"\r" not in raw and raw.endswith(b"\n")
    header = raw.split(b"\n", 1)[0].decode()
    assert header.split(",") == store.ESTIMATE_COLUMNS
    # 4 default analyses, but the toy data only have 5-year LC and OS: each overall + 2 particle groups
    # + 2 histology strata (a2001 is a chordoma series, b2002 of "Various" histology).
    df = pd.read_csv(io.BytesIO(raw))
    assert list(df["analysis_id"]) == ["lc5"] * 5 + ["os5"] * 5
    assert set(df["subgroup_column"].dropna()) == {"particle_group", "histology_group"}
    # Overall LC5 by hand: (10*50 + 30*70) / 40 = 65.
    assert df.loc[0, "estimate"] == 65 and pd.isna(df.loc[0, "subgroup_column"])
    # 1/3 is written with 10 significant digits.
    odd = a.assign(estimate=1 / 3)
    assert b"0.3333333333," in store.estimates_csv_bytes(odd)


def test_release_in_temp_repo_writes_tags_and_reproduces(tmp_path):
    repo = make_repo(tmp_path / "repo")
    res = rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool)
    assert res.tag == "v0.2.0" and res.previous_version is None
    assert citation.read_version(repo) == "0.2.0"
    assert git(repo, "tag", "--list") == "v0.2.0"
    assert git(repo, "cat-file", "-t", "v0.2.0") == "tag"  # annotated
    assert git(repo, "status", "--porcelain") == ""  # everything written was committed
    d = repo / "releases" / "0.2.0"
    for name in ("estimates.csv", "data_hashes.json", "manifest.json", "whats-new.md", "data/literature/studies.csv"):
        assert (d / name).exists(), name
    manifest = json.loads((d / "manifest.json").read_text())
    # The audit is frozen when the audit module provides a table, and otherwise not silently skipped.
    audit_df, audit_note = rel.current_audit(repo / "data")
    assert manifest["notes"] == [audit_note]
    assert (d / "audit.csv").exists() == (audit_df is not None)
    assert audit_df is None and audit_note.startswith("audit skipped: the data have no cnao or ifosfamide")
    # on the review's own data the audit is computed and frozen
    real_df, real_note = rel.current_audit(REPO_ROOT / "data")
    assert real_note.endswith("runner.run_audit") and {"check_id", "verdict"} <= set(real_df.columns)
    assert manifest["version"] == "0.2.0" and manifest["date"] == "2026-03-01"
    assert manifest["git_commit"] == git(repo, "rev-parse", "v0.2.0^{commit}^")
    hashes = json.loads((d / "data_hashes.json").read_text())
    expected = hashlib.sha256((repo / "data" / "literature" / "studies.csv").read_bytes()).hexdigest()
    assert hashes["literature/studies.csv"] == expected
    assert sorted(hashes) == [
        "comparators/photon.csv",
        "literature/outcomes.csv",
        "literature/outcomes.schema.yaml",
        "literature/particle_groups.csv",
        "literature/particle_groups.schema.yaml",
        "literature/studies.csv",
        "literature/studies.schema.yaml",
    ]
    # Citation, banner, cite page and changelog.
    cff = citation.load_cff(repo / "CITATION.cff")
    assert cff["version"] == "0.2.0" and cff["date-released"] == "2026-03-01"
    citation.validate_cff(repo / "CITATION.cff")
    banner = citation.banner_text(repo)
    data_day = git(repo, "log", "-1", "--date=format-local:%Y-%m-%d", "--format=%cd", "--", "data")
    assert banner == f"Version 0.2.0 · data as of {data_day}"
    assert "version 0.2.0" in (repo / "book" / "cite.md").read_text()
    changelog = (repo / "CHANGELOG.md").read_text()
    assert "## [0.2.0] - 2026-03-01" in changelog and "no previous release" in changelog
    assert "There is no previous release" in (repo / "book" / "whats-new.md").read_text()

    # Rebuild from the tag in a fresh clone: byte-identical estimates.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    git(clone, "checkout", "-q", "v0.2.0")
    assert rel.verify_release("0.2.0", root=clone, pool=toy_pool)
    # ... and the check can fail: a changed rate no longer reproduces the frozen bytes.
    out = clone / "data" / "literature" / "outcomes.csv"
    out.write_text(out.read_text().replace("a2001,LC,5,50", "a2001,LC,5,51"))
    assert not rel.verify_release("0.2.0", root=clone, pool=toy_pool)


def test_second_release_reports_added_study_and_prepends_changelog(tmp_path):
    repo = make_repo(tmp_path / "repo")
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool)
    add_study(repo)
    res = rel.release("0.3.0", root=repo, date="2026-04-01", pool=toy_pool, tag=False)
    assert res.tag is None and res.commit and res.previous_version == "0.2.0"
    assert git(repo, "tag", "--list") == "v0.2.0"
    changelog = (repo / "CHANGELOG.md").read_text()
    assert changelog.index("## [0.3.0]") < changelog.index("## [0.2.0]")
    assert "**Added** `c2003`" in changelog
    # LC5 before (10*50+30*70)/40 = 65.0 (50–70); after adding n=20 at 80: (500+2100+1600)/60 = 70.0 (50–80).
    assert "| lc5, all series | 2 | 65.0% (50.0–70.0) | 3 | 70.0% (50.0–80.0) | changed |" in changelog
    # The photon benchmark 75% was outside 50–70 and is inside 50–80.
    assert "now includes comparator photon_lc5 (75%)" in changelog


def test_release_freezes_the_audit_table(tmp_path):
    repo = make_repo(tmp_path / "repo")
    audit = pd.DataFrame(
        {
            "check_id": ["c1"],
            "source": ["toy"],
            "location": ["Table I"],
            "quantity": ["n"],
            "reported": [10],
            "recomputed": [10.0],
            "verdict": ["ok"],
            "explanation": [""],
        }
    )
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool, audit_fn=lambda d: audit)
    frozen = (repo / "releases" / "0.2.0" / "audit.csv").read_text()
    assert (
        frozen
        == "check_id,source,location,quantity,reported,recomputed,verdict,explanation\nc1,toy,Table I,n,10,10,ok,\n"
    )
    assert git(repo, "ls-files", "releases/0.2.0/audit.csv") == "releases/0.2.0/audit.csv"


def test_release_refuses_dirty_data_and_existing_version(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "data" / "literature" / "studies.csv").write_text(
        (repo / "data" / "literature" / "studies.csv").read_text() + "z,Z,2020,5,x,x,x,carbon,toy\n"
    )
    with pytest.raises(ReleaseError, match="uncommitted changes"):
        rel.release("0.2.0", root=repo, pool=toy_pool)
    git(repo, "checkout", "--", "data")
    rel.release("0.1.0", root=repo, pool=toy_pool, tag=False)  # first release of the version in preparation
    with pytest.raises(ReleaseError, match="greater than the current version 0.1.0"):
        rel.release("0.1.0", root=repo, pool=toy_pool)  # the same version twice: refused


def test_dry_run_writes_nothing(tmp_path):
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    res = rel.release("1.0.0", root=repo, pool=toy_pool, dry_run=True)
    assert res.changelog_entry.startswith("## [1.0.0] - ")
    assert git(repo, "status", "--porcelain") == "" and git(repo, "rev-parse", "HEAD") == head
    assert not (repo / "releases").exists() and citation.read_version(repo) == "0.1.0"


def test_cli_help_and_version_error(tmp_path):
    from sarcoma_review.cli import app

    runner = CliRunner()
    helptext = runner.invoke(app, ["release", "--help"]).output
    flat = " ".join(helptext.replace("│", " ").split())  # rich draws the help in a box
    assert "greater than the current version" in flat and "never been released" in flat
    repo = make_repo(tmp_path / "repo")
    res = runner.invoke(app, ["release", "0.0.1", "--root", str(repo)])
    assert res.exit_code == 1 and "must be greater than the current version 0.1.0" in res.output


def test_first_release_may_use_the_unreleased_current_version():
    # _version.py names the release in preparation until it is released
    rel.check_new_version("0.1.0", "0.1.0", current_released=False)
    with pytest.raises(ReleaseError):
        rel.check_new_version("0.1.0", "0.1.0", current_released=True)
    with pytest.raises(ReleaseError):
        rel.check_new_version("0.0.9", "0.1.0", current_released=False)


def test_release_status_follows_frozen_data_hashes(tmp_path):
    from sarcoma_review.living import citation

    root = tmp_path / "r"
    (root / "src" / "sarcoma_review").mkdir(parents=True)
    (root / "src" / "sarcoma_review" / "_version.py").write_text('__version__ = "0.3.0"\n')
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("x\n1\n")
    assert citation.release_status(root) == "unreleased"
    frozen = root / "releases" / "0.3.0"
    frozen.mkdir(parents=True)
    (frozen / "data_hashes.json").write_text(json.dumps(store.data_hashes(root / "data")))
    assert citation.release_status(root) == "released"
    (root / "data" / "a.csv").write_text("x\n2\n")
    assert citation.release_status(root) == "changed since release"
