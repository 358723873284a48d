"""What a chapter consumed: file reads, frame loaders and the re-evaluation the build relies on.

The real loaders on a copy of data/: every expectation is derived from the edit made here (which
rows it touches), never from today's values.
"""

from __future__ import annotations

import shutil

import helpers
import pandas as pd
import pytest

from sarcoma_review import paths
from sarcoma_review.data import loaders, tracking


@pytest.fixture()
def data_copy(tmp_path):
    d = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data", d)
    return d


def _log(monkeypatch, tmp_path):
    log = tmp_path / "reads.log"
    helpers.set_context(monkeypatch, reads_log=log)
    return log


def test_frame_digest_sees_values_columns_and_index():
    a = pd.DataFrame({"x": [1, 2], "y": ["a", pd.NA]})
    assert tracking.frame_digest(a) == tracking.frame_digest(a.copy())
    assert tracking.frame_digest(a) != tracking.frame_digest(a.assign(x=[1, 3]))
    assert tracking.frame_digest(a) != tracking.frame_digest(a.rename(columns={"y": "z"}))
    assert tracking.frame_digest(a) != tracking.frame_digest(a.set_axis([5, 6]))
    assert tracking.frame_digest(a) != tracking.frame_digest(a.astype({"x": float}))
    with pytest.raises(TypeError):
        tracking.frame_digest([1, 2])


def test_outermost_loader_is_recorded_with_its_files_as_via(monkeypatch, tmp_path, data_copy):
    log = _log(monkeypatch, tmp_path)
    rows = loaders.load_landmark("LC", 5, data_copy)
    rec = tracking.records_from_log(log)
    # load_landmark -> load_literature -> load_studies/load_outcomes -> load_table: one record, the outermost
    assert [f["loader"] for f in rec["frames"]] == ["load_landmark"]
    frame = rec["frames"][0]
    assert frame["args"] == {"endpoint": "LC", "horizon_years": 5, "data_dir": str(data_copy.resolve())}
    assert frame["sha256"] == tracking.frame_digest(rows)
    outcomes = str((data_copy / "literature" / "outcomes.csv").resolve())
    assert outcomes in rec["files"] and rec["raw"] == []  # read, but only through the loader


def test_raw_reads_and_old_log_lines_are_raw(monkeypatch, tmp_path, data_copy):
    log = _log(monkeypatch, tmp_path)
    p = data_copy / "literature" / "outcomes.csv"
    tracking.record_read(p)
    with open(log, "a") as fh:
        fh.write(str(data_copy / "cnao" / "facts.csv") + "\n")  # the format before frame records
    rec = tracking.records_from_log(log)
    assert rec["raw"] == [str(p.resolve()), str(data_copy / "cnao" / "facts.csv")]
    assert rec["frames"] == []


def test_a_loader_that_fails_leaves_its_reads_as_raw(monkeypatch, tmp_path, data_copy):
    log = _log(monkeypatch, tmp_path)
    with pytest.raises(ValueError):
        loaders.load_landmark("LC", 11, data_copy)  # no 11-year rates: the chapter may catch this
    rec = tracking.records_from_log(log)
    assert rec["frames"] == [] and str((data_copy / "literature" / "outcomes.csv").resolve()) in rec["raw"]


def test_evaluate_frame_follows_the_rows_the_loader_selects(monkeypatch, tmp_path, data_copy):
    log = _log(monkeypatch, tmp_path)
    loaders.load_landmark("LC", 5, data_copy)
    loaders.load_landmark("OS", 5, data_copy)
    lc, os_ = tracking.records_from_log(log)["frames"]
    helpers.set_context(monkeypatch, reads_log=None)
    assert tracking.evaluate_frame(lc) == lc["sha256"] and tracking.evaluate_frame(os_) == os_["sha256"]
    # change one 5-year LC rate: the LC frame changes, the OS frame does not
    path = data_copy / "literature" / "outcomes.csv"
    out = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = out.index[(out["endpoint"] == "LC") & (out["horizon_years"] == "5")][0]
    out.loc[i, "rate_percent"] = str(int(float(out.loc[i, "rate_percent"])) % 100 + 1)
    out.to_csv(path, index=False, lineterminator="\n")
    assert tracking.evaluate_frame(lc) != lc["sha256"]
    assert tracking.evaluate_frame(os_) == os_["sha256"]
    # a loader that now fails, or a function that is not a frame loader, is "unsure"
    assert tracking.evaluate_frame(dict(lc, args=dict(lc["args"], horizon_years=11))) is None
    assert tracking.evaluate_frame(dict(lc, module="os", loader="getcwd")) is None
    assert tracking.evaluate_frame(dict(lc, module="sarcoma_review.paths", loader="data_dir")) is None


def test_projection_and_horizon_loaders_match_the_full_table(data_copy):
    full = loaders.load_literature(data_copy)
    three = loaders.load_literature(data_copy, horizon_years=3)
    pd.testing.assert_frame_equal(three, full[full["horizon_years"].astype(float) == 3.0])
    cols = loaders.load_literature(data_copy, columns=["endpoint", "horizon_years"])
    pd.testing.assert_frame_equal(cols, full[["endpoint", "horizon_years"]])
    lc5 = loaders.load_landmark("LC", 5, data_copy)
    expected = full[(full["endpoint"] == "LC") & (full["horizon_years"].astype(float) == 5.0)].reset_index(drop=True)
    pd.testing.assert_frame_equal(lc5, expected)


def test_memoised_loads_once_hands_out_copies_and_ends_with_its_block(data_copy):
    path = data_copy / "literature" / "outcomes.csv"
    with tracking.memoised():
        a = loaders.load_outcomes(data_copy)
        a.loc[0, "rate_percent"] = -1.0  # a caller's change must not reach the next caller
        path.write_text(path.read_text().replace("\n", "\n", 1))  # same content: the memo still serves it
        b = loaders.load_outcomes(data_copy)
        assert b.loc[0, "rate_percent"] != -1.0
    out = pd.read_csv(path, dtype=str, keep_default_na=False)
    out.loc[0, "rate_percent"] = "1"
    out.to_csv(path, index=False, lineterminator="\n")
    assert loaders.load_outcomes(data_copy).loc[0, "rate_percent"] == 1.0  # outside the block: read again
    assert tracking._memo is None
