"""What's new reports certainty ratings that change between releases; a release freezes the summary of
findings; a release frozen before ratings existed (0.1.0) still verifies and is named as such."""

from __future__ import annotations

import csv
import json
import shutil

import pandas as pd
from helpers import git, make_real_repo, toy_pool

from sarcoma_review.living import release as rel
from sarcoma_review.living import store, whatsnew
from sarcoma_review.living.analyses import standard_analyses
from sarcoma_review.pages import summary
from sarcoma_review.paths import REPO_ROOT
from sarcoma_review.stats.certainty import DOMAINS


def _sof(rows: list[dict]) -> pd.DataFrame:
    base = {d: "serious" for d in DOMAINS}
    return pd.DataFrame([{**base, "k": 3, "series": "A; B; C", **r} for r in rows])


def test_compare_certainty_lists_only_changed_levels_with_their_domains():
    before = _sof(
        [
            {"endpoint": "LC", "horizon_years": 5, "population": "all", "certainty": "low"},
            {"endpoint": "OS", "horizon_years": 5, "population": "all", "certainty": "very low"},
        ]
    )
    after = _sof(
        [
            {
                "endpoint": "LC",
                "horizon_years": 5.0,
                "population": "all",
                "certainty": "very low",
                "inconsistency": "very serious",
            },
            {"endpoint": "OS", "horizon_years": 5.0, "population": "all", "certainty": "very low"},
            {
                "endpoint": "LC",
                "horizon_years": 3.0,
                "population": "chordoma",
                "certainty": "very low",
                "k": 1,
                "series": "Mima 2014",
            },
        ]
    )
    out = whatsnew.compare_certainty(before, after)
    texts = [c["text"] for c in out]
    assert len(out) == 2  # OS 5 unchanged: not listed
    assert texts[0].startswith("3-year local control (chordoma series; one series, Mima 2014, not pooled)")
    assert "newly rated" in texts[0]
    assert texts[1] == (
        "5-year local control (all series): low → very low certainty (inconsistency: serious → very serious)."
    )


def test_release_freezes_the_summary_and_whatsnew_reports_a_rating_change(tmp_path):
    repo = make_real_repo(tmp_path / "repo")
    audit = pd.DataFrame({"check_id": ["c1"], "verdict": ["ok"]})
    rel.release("0.2.0", root=repo, date="2026-03-01", pool=toy_pool, audit_fn=lambda d: audit)
    frozen = repo / "releases" / "0.2.0" / store.SOF_FILE
    assert frozen.exists()
    assert git(repo, "ls-files", f"releases/0.2.0/{store.SOF_FILE}") == f"releases/0.2.0/{store.SOF_FILE}"
    expected = summary.load_sof(standard_analyses(repo), repo / "data")
    assert frozen.read_bytes() == summary.csv_bytes(expected)
    assert rel.verify_release("0.2.0", root=repo, pool=toy_pool)

    # a reviewer revises every judged domain to "not serious": ratings whose level moves must be listed
    path = repo / "data" / "appraisal" / "certainty_judgements.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for r in rows:
        r["judgement"], r["downgrade"] = "not serious", "0"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    now, why = whatsnew.current_sof(repo / "data", repo)
    assert why is None
    est = pd.read_csv(repo / "releases" / "0.2.0" / "estimates.csv")
    res = whatsnew.compare(repo / "releases" / "0.2.0", repo / "data", est, now)
    before = pd.read_csv(frozen)
    key = ["endpoint", "horizon_years", "population"]
    m = before.merge(now, on=key, suffixes=("_b", "_a"))
    moved = m[m["certainty_b"] != m["certainty_a"]]
    assert len(moved) >= 1  # removing up to four levels of judged downgrades must lift some rating
    assert len(res.certainty) == len(moved)
    md = whatsnew.render_markdown(res)
    assert "## Certainty of evidence" in md
    for c in res.certainty:
        assert c["text"] in md and c["before"] != c["after"]
    assert not rel.verify_release("0.2.0", root=repo, pool=toy_pool)  # the data no longer match the release


def test_release_without_frozen_ratings_is_named_not_compared(tmp_path):
    repo = make_real_repo(tmp_path / "repo")
    old = repo / "releases" / "0.1.0"
    old.mkdir(parents=True)
    shutil.copytree(repo / "data", old / "data")
    est = pd.DataFrame(columns=store.ESTIMATE_COLUMNS)
    res = whatsnew.compare(old, repo / "data", est)
    # nothing to compare with: every current rating is listed as new, none as changed
    assert res.certainty and all(c["before"] is None and "newly rated" in c["text"] for c in res.certainty)
    assert "0.1.0 froze no certainty ratings" in res.certainty_note
    assert res.certainty_note in whatsnew.render_markdown(res)


def test_the_0_1_0_release_still_verifies_from_its_own_data(tmp_path):
    # 0.1.0 was frozen before certainty was rated (no summary_of_findings.csv): verification checks its
    # estimates only. Today's code computes other bytes (the ad hoc interval, no prediction interval with two
    # series), so the release reproduces with the code of the commit its manifest records, byte for byte.
    frozen = REPO_ROOT / "releases" / "0.1.0"
    assert not (frozen / store.SOF_FILE).exists()
    root = tmp_path / "checkout"
    shutil.copytree(frozen, root / "releases" / "0.1.0")
    shutil.copytree(frozen / "data", root / "data")
    assert not rel.verify_release("0.1.0", root=root)  # today's methods differ from the release's
    report = rel.verify_frozen_release("0.1.0", root=REPO_ROOT)
    manifest = json.loads((frozen / "manifest.json").read_text(encoding="utf-8"))
    assert report.code == f"commit {manifest['git_commit']}" and "byte for byte" in report.summary
