"""Never stale: after an edit, the incremental build publishes exactly what a cold build of the same data does.

The real book in a temporary copy. Edits: one rate of ``literature/outcomes.csv`` changed by one point,
then one study added (a row in ``studies.csv`` and its outcome rows). After each, the incremental
build (which reuses what it can) and a cold build (``force``, everything executed) of the same edited
data must publish byte-identical CSVs under ``_static/downloads`` and byte-identical pages (numbers,
tables and charts: chart ids are deterministic). No expected value is typed here: the reference is
the cold build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import harness as bench
from sarcoma_review.living.build import build_book


def _published(html: Path) -> dict[str, bytes]:
    pages = {p.relative_to(html).as_posix(): p.read_bytes() for p in sorted((html / "book").rglob("*.html"))}
    return {**pages, **{f"_static/downloads/{k}": v for k, v in bench.published_csvs(html).items()}}


def _differences(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


@pytest.mark.slow
def test_incremental_and_cold_builds_of_edited_data_publish_the_same_book(tmp_path):
    root = bench.scratch_root(tmp_path / "book")
    ddir = root / "data"
    html = root / "_build" / "html"
    first = build_book(ddir, root=root, quiet=True)
    assert first.cached == []
    before = _published(html)
    csvs = [k for k in before if k.endswith(".csv")]
    assert any(k.endswith("pooled_estimates.csv") for k in csvs) and any(k.endswith("audit.csv") for k in csvs)

    # 1. one rate changes by one point
    bench._flip_rate(ddir / "literature" / "outcomes.csv", [0])
    inc = build_book(ddir, root=root, quiet=True)
    assert inc.executed and inc.cached, "an edit of one row should re-execute some chapters and reuse others"
    incremental = _published(html)
    build_book(ddir, root=root, force=True, quiet=True)
    cold = _published(html)
    assert _differences(incremental, cold) == []
    assert incremental["_static/downloads/pooled_estimates.csv"] != before["_static/downloads/pooled_estimates.csv"]

    # 2. one study is added
    bench._add_study(ddir)
    inc = build_book(ddir, root=root, quiet=True)
    assert inc.executed
    incremental = _published(html)
    build_book(ddir, root=root, force=True, quiet=True)
    assert _differences(incremental, _published(html)) == []
    assert (
        b"benchadded2025" in incremental["_static/downloads/pooled_estimates.csv"]
        or b"Benchadded" in incremental["book/literature.html"]
    )
