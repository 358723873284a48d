"""Warm chapter processes stay isolated, and a chapter re-executes only when the data it received changed.

Tiny books in tmp_path (see tests/living/test_build.py); expected values are computed here from the
files written or edited by the test.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from test_build import make_book, ok, page

from sarcoma_review import paths
from sarcoma_review.living.build import build_book

# Chapter "a" leaves every kind of state a shared kernel would carry over: a global, a monkeypatched
# attribute of a package module and of a standard-library module, a new module attribute, the working
# directory, an environment variable and an entry of sys.path.
LEAKER = """
import json, os, sys
import sarcoma_review.paths as p
LEAKED_GLOBAL = 1
p.data_dir = lambda: "leaked"
p.LEAKED_ATTRIBUTE = True
json.dumps = lambda *a, **k: "leaked"
os.environ["SR_LEAKED"] = "1"
sys.path.append("/leaked")
os.chdir("/")
print("LEAKER RAN")
"""
CHECKER = """
import json, os, sys
import sarcoma_review.paths as p
leaks = []
if "LEAKED_GLOBAL" in globals(): leaks.append("global")
if p.data_dir() == "leaked": leaks.append("patched function")
if hasattr(p, "LEAKED_ATTRIBUTE"): leaks.append("module attribute")
if json.dumps([1]) == "leaked": leaks.append("stdlib patch")
if "SR_LEAKED" in os.environ: leaks.append("environment")
if "/leaked" in sys.path: leaks.append("sys.path")
if os.path.realpath(os.getcwd()) == "/": leaks.append("cwd")
print("LEAKS=" + (",".join(leaks) or "none"))
"""


def test_chapters_run_one_after_another_in_one_pool_share_no_state(tmp_path):
    root = make_book(tmp_path / "repo", chapters={"a": (LEAKER,), "b": (CHECKER,)})
    # one worker: "b" runs after "a" on the same pool (the order of the toc)
    report = build_book(root=root, validator=ok, jobs=1, quiet=True)
    assert report.executed_pages == ["book/a", "book/b"]
    assert "LEAKER RAN" in page(root, "a")
    assert "LEAKS=none" in page(root, "b")


def _rates(path: Path, endpoint: str, horizon: str) -> list[float]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            float(r["rate_percent"])
            for r in csv.DictReader(fh)
            if r["endpoint"] == endpoint and float(r["horizon_years"]) == float(horizon)
        ]


LANDMARK = """
from sarcoma_review.data import loaders
rows = loaders.load_landmark("{ep}", 5)
print("SUM_{ep}=%g" % rows["rate_percent"].sum())
"""
RAW = """
from sarcoma_review.paths import data_dir
from sarcoma_review.data.tracking import record_read
p = data_dir() / "literature" / "outcomes.csv"
record_read(p)
print("LINES=%d" % len(p.read_text().splitlines()))
"""


@pytest.mark.slow
def test_a_changed_row_re_executes_only_the_chapters_that_received_it(tmp_path):
    root = make_book(
        tmp_path / "repo",
        chapters={"lc": (LANDMARK.format(ep="LC"),), "os": (LANDMARK.format(ep="OS"),), "raw": (RAW,)},
    )
    shutil.rmtree(root / "data")
    shutil.copytree(paths.REPO_ROOT / "data", root / "data")
    out = root / "data" / "literature" / "outcomes.csv"
    r1 = build_book(root=root, validator=ok, quiet=True)
    assert set(r1.executed_pages) == {"book/lc", "book/os", "book/raw"}
    assert f"SUM_LC={sum(_rates(out, 'LC', '5')):g}" in page(root, "lc")

    # one 5-year LC rate goes up by one point
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    i = next(k for k, r in enumerate(rows) if r["endpoint"] == "LC" and float(r["horizon_years"]) == 5)
    before = sum(_rates(out, "LC", "5"))
    rows[i]["rate_percent"] = f"{float(rows[i]['rate_percent']) + 1:g}"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert sum(_rates(out, "LC", "5")) == before + 1

    r2 = build_book(root=root, validator=ok, quiet=True)
    # "os" received the same OS rows: reused; "raw" read the file itself: re-executed
    assert set(r2.executed_pages) == {"book/lc", "book/raw"} and r2.cached == ["book/os"]
    assert f"SUM_LC={before + 1:g}" in page(root, "lc")
    # the reused entry now records the new file digest: nothing executes on the next build
    r3 = build_book(root=root, validator=ok, quiet=True)
    assert r3.executed_pages == []


def test_validation_verdict_is_reused_only_for_the_same_bytes(tmp_path, monkeypatch):
    from sarcoma_review.errors import DataValidationError
    from sarcoma_review.living import build

    root = make_book(tmp_path / "repo", chapters={"a": ("print('A')",)})
    calls = []

    def validator(d):
        calls.append(d)
        if "bad" in (d / "a.csv").read_text():
            raise DataValidationError(d / "a.csv", [(1, "value", "a number", "'bad'")])

    monkeypatch.setattr(build, "default_validator", validator)
    build_book(root=root, quiet=True)
    build_book(root=root, quiet=True)
    assert len(calls) == 1  # same data, same package: the verdict is reused
    (root / "data" / "a.csv").write_text("value\nbad\n")
    for _ in range(2):  # a failed validation is never remembered
        with pytest.raises(DataValidationError):
            build_book(root=root, quiet=True)
    assert len(calls) == 3
    (root / "data" / "a.csv").write_text("value\n1\n2\n3\n")  # back to the bytes that passed
    build_book(root=root, quiet=True)
    assert len(calls) == 3
