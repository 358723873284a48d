"""The benchmark tooling (no timing assertions: ``make bench`` measures, it does not test speed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import harness as bench
from sarcoma_review import paths
from sarcoma_review.data import loaders


def test_synthetic_literature_is_deterministic():
    s1, o1 = bench.synthetic_literature(50)
    s2, o2 = bench.synthetic_literature(50)
    pd.testing.assert_frame_equal(s1, s2)
    pd.testing.assert_frame_equal(o1, o2)
    s3, _ = bench.synthetic_literature(50, seed=bench.SEED + 1)
    assert not s3["n_patients"].equals(s1["n_patients"])  # the seed, not a constant, drives it


def test_synthetic_literature_is_realistic():
    studies, outcomes = bench.synthetic_literature(2_000)
    assert studies["n_patients"].between(15, 200).all()
    assert studies["study_id"].is_unique and len(studies) == 2_000
    assert set(outcomes["endpoint"]) == {"LC", "OS"} and (outcomes["horizon_years"] == 5).all()
    assert outcomes["rate_percent"].between(0, 100).all()
    assert (outcomes["rate_percent"] % 1 == 0).all()  # whole percents, as Table I prints them
    real = pd.read_csv(paths.REPO_ROOT / "data" / "literature" / "outcomes.csv")
    for ep in ("LC", "OS"):
        # centred on Table I: the synthetic median is within 10 points of the real 5-year median
        real_med = real[(real["endpoint"] == ep) & (real["horizon_years"] == 5)]["rate_percent"].median()
        syn_med = outcomes[outcomes["endpoint"] == ep]["rate_percent"].median()
        assert abs(syn_med - real_med) < 10, (ep, syn_med, real_med)
    assert studies["source"].str.contains("synthetic").all()


def test_synthetic_data_folder_validates(tmp_path):
    d = bench.write_synthetic_data(tmp_path / "data", 30)
    tables = loaders.validate_all(d)  # every table, with foreign keys
    assert len(tables["literature/studies"]) == 30 and len(tables["literature/outcomes"]) == 60
    assert "literature/restatements" not in tables  # it restates real studies absent from the set
    lit = loaders.load_literature(d)
    assert len(lit) == 60


def test_time_run_analysis_extrapolates_above_the_budget(tmp_path):
    lit = loaders.load_literature(bench.write_synthetic_data(tmp_path / "data", 30))
    full = bench.time_run_analysis(lit)
    assert full["k"] == 30 and not full["extrapolated"] and full["run_analysis_s"] > 0
    sampled = bench.time_run_analysis(lit, budget_k=10)
    assert sampled["extrapolated"] and set(sampled["parts_s"]) >= {"leave-one-out", "cumulative", "GLMM"}


def _results() -> dict:
    return {
        "date": "2026-01-01 00:00 UTC",
        "repeat": 3,
        "quick": False,
        "environment": {"cpus": 2, "python": "3.11"},
        "builds": {
            "cold_s": 25.0,
            "jupyter_book_s": 100.0,
            "nochange_s": 12.5,
            "row_change_s": 5.0,
            "add_study_s": 12.5,
            "add_study_executed": ["book/intro", "book/literature"],
            "add_study_phases": {"validate": 1, "execute": 5, "sphinx": 5, "total": 12.5},
            "cold_phases": {"validate": 1, "execute": 30, "sphinx": 25, "total": 60},
            "nochange_phases": {"validate": 1, "execute": 0.5, "sphinx": 25, "total": 30},
            "row_change_phases": {"validate": 1, "execute": 5, "sphinx": 12, "total": 20},
            "row_change_executed": ["book/literature"],
            "jobs": 2,
            "pages": [
                {
                    "page": "book/a.html",
                    "html_kb": 10.0,
                    "scripts_kb": 900.0,
                    "styles_kb": 50.0,
                    "total_kb": 960.0,
                    "n_scripts": 5,
                    "n_styles": 3,
                }
            ],
            "peak_child_rss_mb": 512.0,
            "cold_chapter_seconds": {"book/a": 3.0},
        },
        "scaling": {
            "seed": 1,
            "analysis": [
                {"label": "Table I", "k": 7, "run_analysis_s": 0.3, "extrapolated": False, "parts_s": {"GLMM": 0.2}},
                {
                    "label": "1000 studies",
                    "k": 1000,
                    "run_analysis_s": 6.0,
                    "extrapolated": False,
                    "parts_s": {"leave-one-out": 2.5, "cumulative": 2.2},
                },
            ],
            "pooled_page": [
                {
                    "label": "Table I",
                    "execute_s": 4.0,
                    "notebook_bytes": 100_000,
                    "largest_output_bytes": 50_000,
                    "page_html_bytes": 200_000,
                },
                {
                    "label": "1000 studies",
                    "execute_s": 12.0,
                    "notebook_bytes": 3_000_000,
                    "largest_output_bytes": 1_000_000,
                    "page_html_bytes": 2_500_000,
                },
            ],
        },
        "self_maxrss_mb": 300.0,
    }


def test_comparisons_are_ratios_against_targets():
    rows = {r["id"]: r for r in bench.comparisons(_results())}
    assert rows["cold_vs_jupyter_book"]["ratio"] == pytest.approx(0.25) and rows["cold_vs_jupyter_book"]["met"]
    assert rows["nochange_vs_cold"]["ratio"] == pytest.approx(0.5) and rows["nochange_vs_cold"]["met"] is False
    assert rows["row_change_vs_cold"]["ratio"] == pytest.approx(0.2) and rows["row_change_vs_cold"]["met"]
    assert rows["add_study_vs_cold"]["ratio"] == pytest.approx(0.5) and rows["add_study_vs_cold"]["met"] is False
    assert rows["run_analysis_1000_s"]["met"] is False
    assert rows["pooled_1000_vs_table1"]["ratio"] == pytest.approx(3.0) and not rows["pooled_1000_vs_table1"]["met"]
    assert rows["page_mb_1000"]["met"] is False  # 2.5 MB > 2 MB


def test_report_writer_produces_the_table(tmp_path):
    res = _results()
    res["notes"] = bench._notes(res)
    js, md = bench.write_results(res, tmp_path / "bench", tmp_path / "BENCHMARKS.md")
    assert json.loads(js.read_text())["builds"]["cold_s"] == 25.0
    text = md.read_text()
    assert "| comparison | measured | baseline | ratio | target | met | what bounds it |" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| Cold build vs Jupyter Book"))
    assert "| 25.0 s | 100.0 s | 0.25 | ≤ 0.3 | yes |" in row
    assert "| Rebuild, nothing changed, vs cold build | 12.5 s | 25.0 s | 0.50 | ≤ 0.05 | **no** |" in text
    assert "| book/a.html | 10 KB | 900 KB (5) | 50 KB (3) | 960 KB |" in text
    assert "512 MB" in text and "## What bounds each figure" in text
    assert "| Rebuild after one study added vs cold build | 12.5 s | 25.0 s | 0.50 | ≤ 0.4 | **no** |" in text
    assert any("would move it" in n for n in res["notes"])


def test_page_weights_count_each_asset_once(tmp_path):
    html_root = tmp_path / "html"
    (html_root / "_static").mkdir(parents=True)
    (html_root / "_static" / "a.js").write_bytes(b"x" * 2048)
    (html_root / "_static" / "s.css").write_bytes(b"y" * 1024)
    page = (
        '<html><head><script src="_static/a.js"></script><script src="_static/a.js?v=2"></script>'
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="_static/s.css">'
        "</head><body>hi</body></html>"
    )
    (html_root / "index.html").write_text(page)
    w = bench.page_weights(html_root)
    row = w.set_index("page").loc["index.html"]
    assert row["scripts_kb"] == 2.0 and row["n_scripts"] == 1  # same file twice, remote one not counted
    assert row["styles_kb"] == 1.0
    assert row["html_kb"] == pytest.approx(len(page) / 1024)


def test_flip_rate_changes_one_row_and_back(tmp_path):
    src = paths.REPO_ROOT / "data" / "literature" / "outcomes.csv"
    p = tmp_path / "outcomes.csv"
    p.write_bytes(src.read_bytes())
    toggle = [0]
    bench._flip_rate(p, toggle)
    a, b = pd.read_csv(src), pd.read_csv(p)
    changed = a["rate_percent"] != b["rate_percent"]
    assert changed.sum() == 1 and changed.iloc[0]
    assert abs(b["rate_percent"].iloc[0] - a["rate_percent"].iloc[0]) == 1
    bench._flip_rate(p, toggle)
    assert np.array_equal(pd.read_csv(p)["rate_percent"], a["rate_percent"])


def test_shown_estimate_reads_the_pooled_page_headline(tmp_path):
    p = tmp_path / "lc-5y.html"
    p.write_text("<li><p><strong>On average, 71.9% of patients were free of local recurrence 5 years after")
    assert bench.shown_estimate(p) == "71.9%"
    p.write_text("<strong>Pooled 5-year local control: 70.9%</strong>")  # the older wording
    assert bench.shown_estimate(p) == "70.9%"
    p.write_text("<p>no number</p>")
    assert bench.shown_estimate(p) is None and bench.shown_estimate(tmp_path / "missing.html") is None
