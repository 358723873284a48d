"""Plain papermill, run from the repository root, re-executes the pooled chapter on another data
folder and writes its estimates where told (the analyst's path, without the build)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from helpers import append_rows

from sarcoma_review.data import loaders, overlap
from sarcoma_review.paths import REPO_ROOT
from sarcoma_review.stats import pooling


@pytest.mark.slow
def test_papermill_pooled_chapter_with_an_added_study(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(REPO_ROOT / "data", data)
    append_rows(
        data / "literature" / "studies.csv",
        [
            {
                "study_id": "newstudy2026",
                "first_author": "Newauthor",
                "year": 2026,
                "n_patients": 60,
                "source": "a test row",
            }
        ],
    )
    append_rows(
        data / "literature" / "outcomes.csv",
        [
            {
                "study_id": "newstudy2026",
                "endpoint": "LC",
                "horizon_years": 5,
                "rate_percent": 55,
                "source": "a test row",
            }
        ],
    )
    out_nb, out_csv = tmp_path / "out.ipynb", tmp_path / "est" / "lc5.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "book/pooled.ipynb",
            str(out_nb),
            "-p",
            "endpoint",
            "LC",
            "-p",
            "horizon_years",
            "5",
            "-p",
            "data_dir",
            str(data),
            "-p",
            "estimates_out",
            str(out_csv),
            "--no-progress-bar",
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    est = pd.read_csv(out_csv)
    primary = est.iloc[0]
    assert (primary["model"], primary["tau2_method"], primary["ci_method"]) == ("random effects", "REML", "HKSJ-adhoc")
    # the pooled page counts each shared cohort once
    expected = pooling.pool(overlap.independent_by_landmark(loaders.load_literature(data)), "LC", 5).iloc[0]
    original = pooling.pool(overlap.independent_by_landmark(loaders.load_literature()), "LC", 5).iloc[0]
    assert primary["k"] == original["k"] + 1  # the series with 5-year LC in data/, plus the new one
    assert primary["estimate"] == pytest.approx(expected["estimate"], rel=1e-9)  # CSV written at %.10g
    # the added study (a 55% series) moved the estimate
    assert primary["estimate"] != pytest.approx(original["estimate"], abs=1e-6)
    nb = nbformat.read(out_nb, as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
