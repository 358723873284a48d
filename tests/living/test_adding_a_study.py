"""The README's "Adding a study", followed as a new analyst would, in a temporary copy of the repository.

The copy is a git clone of this checkout (history and tags, what a fresh clone holds), with the
working tree's tracked files copied over it. One
study is added to the two CSV files by hand, another with `review add-study`; then `review validate`,
`review run pooled ...`, `review build`, and the whole test suite of the copy (except this test and
the browser tests, to bound the time) must pass, and both studies must be on their pages.

Every command runs in the copy with the copy's own package first on the path (PYTHONPATH=<copy>/src),
as the copy's own environment would: `review` refuses to serve one checkout with another's package.
The content-hash cache of this checkout's last build is copied in when present, as in
tests/living/test_real_book.py, so only the chapters that read the changed tables execute.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sarcoma_review.paths import REPO_ROOT

#: Two series made up for the test (valid against the schemas; never part of the review's data).
BY_HAND = {
    "study_id": "handadded2031",
    "first_author": "Handadded",
    "year": "2031",
    "n_patients": "42",
    "site": "Pelvis",
    "histology": "Various",
    "patient_group": "mixed",
    "particle": "Carbon ions",
    "particle_group": "carbon",
    "setting": "definitive",
    "centre": "Test centre",
    "origin": "update 2031-01",
    "citation": "Handadded et al. 2031",
    "address": "https://example.org/handadded2031",
    "access": "abstract",
    "source": "test series added by hand (tests/living/test_adding_a_study.py)",
}
BY_HAND_RATES = [("LC", "5", "71"), ("OS", "5", "58")]
BY_COMMAND = [
    "--study-id",
    "commandadded2032",
    "--first-author",
    "Commandadded",
    "--year",
    "2032",
    "--n-patients",
    "31",
    "--site",
    "Sacrum",
    "--histology",
    "Chordoma",
    "--particle",
    "Protons ± Photons",
    "--source",
    "test series added with review add-study (tests/living/test_adding_a_study.py)",
    "--patient-group",
    "chordoma",
    "--setting",
    "mixed",
    "--centre",
    "Test centre",
    "--citation",
    "Commandadded et al. 2032",
    "--address",
    "https://example.org/commandadded2032",
    "--access",
    "abstract",
    "--quote",
    "The 5-year LC was 77% and the 3-year OS 81%.",
    "--rate",
    "LC:5=77",
    "--rate",
    "OS:3=81",
]


def _env(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REVIEW_ROOT", "REVIEW_DATA_DIR", "REVIEW_READS_LOG")}
    env["PYTHONPATH"] = str(copy / "src")
    return env


def _run(copy: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), cwd=copy, env=_env(copy), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def _fresh_copy(dest: Path) -> Path:
    """A clone of this checkout (its history and tags, as a fresh clone holds them), with the working
    tree's tracked files copied over it and committed, so uncommitted edits are tested too."""
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(dest)], check=True, capture_output=True)
    files = (
        subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z"], capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for f in filter(None, files):
        src = REPO_ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)
    if subprocess.run(
        ["git", "-C", str(dest), "status", "--porcelain"], capture_output=True, text=True, check=True
    ).stdout.strip():
        for args in (
            ["add", "-A"],
            ["-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "working tree"],
        ):
            subprocess.run(["git", "-C", str(dest), *args], check=True, capture_output=True)
    cache = REPO_ROOT / "_build" / "cache"
    if cache.exists():
        shutil.copytree(cache, dest / "_build" / "cache")
    return dest


def _append_row(path: Path, row: list[str]) -> None:
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(row)


@pytest.mark.slow
def test_adding_a_study_by_hand_and_with_the_command_keeps_everything_green(tmp_path):
    copy = _fresh_copy(tmp_path / "clone")
    lit = copy / "data" / "literature"
    review = str(Path(sys.executable).with_name("review"))

    # 1. by hand: one row in studies.csv, its rates in outcomes.csv (README step 1)
    with open(lit / "studies.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    _append_row(lit / "studies.csv", [BY_HAND.get(c, "") for c in header])
    with open(lit / "outcomes.csv", encoding="utf-8") as fh:
        out_header = next(csv.reader(fh))
    for endpoint, horizon, rate in BY_HAND_RATES:
        row = {
            "study_id": BY_HAND["study_id"],
            "endpoint": endpoint,
            "horizon_years": horizon,
            "rate_percent": rate,
            "source": BY_HAND["source"] + f" ({endpoint} {horizon} years)",
            "endpoint_as_named": endpoint,
            "access": "abstract",
            "address": BY_HAND["address"],
            "quote": f"The {horizon}-year {endpoint} was {rate}%.",
        }
        _append_row(lit / "outcomes.csv", [row.get(c, "") for c in out_header])
    # ... and another with the command, which validates and shows the estimates before and after
    added = _run(copy, review, "add-study", *BY_COMMAND)
    assert "added commandadded2032 (proton-based)" in added.stdout
    assert "5-year local control, all series:" in added.stdout and " -> " in added.stdout

    # 2. check the data
    _run(copy, review, "validate")
    # 3. one pooled analysis, outside the book
    run = _run(
        copy, review, "run", "pooled", "-p", "endpoint=LC", "-p", "horizon_years=5", "--out", str(tmp_path / "run")
    )
    assert (tmp_path / "run" / "estimates.csv").exists(), run.stdout
    # 4. the book; it names the two series that have no risk-of-bias assessment yet
    built = _run(copy, review, "build", "--jobs", "2")
    assert "no risk-of-bias assessment yet for handadded2031, commandadded2032" in built.stdout
    html = copy / "_build" / "html"
    literature_page = (html / "book" / "literature.html").read_text(encoding="utf-8")
    assert "Handadded 2031" in literature_page and "Commandadded 2032" in literature_page
    pooled = (html / "book" / "pooled" / "lc-5y.html").read_text(encoding="utf-8")
    assert "Handadded 2031" in pooled and "Commandadded 2032" in pooled  # both enter 5-year LC
    downloads = (html / "_static" / "downloads" / "pooled_estimates.csv").read_text(encoding="utf-8")
    assert downloads.count("\n") > 1
    # ... their appraisal rows (README step 1): one source, ten JBI items and an overall rating each
    apr = copy / "data" / "appraisal"
    rule = pd.read_csv(apr / "rob_overall.csv")["rule"].iat[0]
    for sid in ("handadded2031", "commandadded2032"):
        _append_row(
            apr / "sources.csv",
            [
                sid,
                f"{sid} (own publication, abstract)",
                "particle-therapy series",
                sid,
                "",
                "its own publication, abstract only (test)",
            ],
        )
        for i in range(1, 11):
            _append_row(
                apr / "risk_of_bias.csv",
                [
                    sid,
                    "jbi_case_series",
                    f"Q{i}",
                    "unclear",
                    "test series",
                    "The test abstract.",
                    "https://example.org (abstract)",
                ],
            )
        _append_row(apr / "rob_overall.csv", [sid, "jbi_case_series", "some concerns", rule, "Items: 10 unclear."])
    _run(copy, review, "validate")

    # 5. the copy's test suite, but this test, the browser tests and the other slow (book-building)
    # tests: those build whole books again (tens of minutes on two cores) and run on the same code in
    # the outer suite; every test that reads data/ without building a book runs here on the new data.
    suite = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ignore=tests/browser",
            "-m",
            "not slow",
            "--deselect",
            "tests/living/test_adding_a_study.py::"
            "test_adding_a_study_by_hand_and_with_the_command_keeps_everything_green",
        ],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=5400,
    )
    tail = suite.stdout[-6000:]
    assert suite.returncode == 0, (
        f"the copy's test suite failed after adding two studies:\n{tail}\n{suite.stderr[-2000:]}"
    )
    assert " passed" in tail and " failed" not in tail
