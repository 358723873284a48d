"""The book build on tiny throwaway books in tmp_path (never the real book or _build/).

Every expected number is derived by hand from the tiny data files written here; the notebooks
print integers, so the comparisons are exact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from helpers import notebook

from sarcoma_review.living.analyses import load_analyses
from sarcoma_review.living.build import (
    BuildLockedError,
    ChapterExecutionError,
    ConfigurationError,
    DataValidationError,
    build_book,
)
from sarcoma_review.living.execute import execute_chapter
from sarcoma_review.living.notebooks import clean_executed_notebook
from sarcoma_review.living.plan import check_toc_matches_analyses, toc_pages
from sarcoma_review.living.publish import build_lock, recover_html, swap_into_place

# Chapter A reads data/a.csv through paths.data_dir() (the chapter's build context, set by the build).
CHAPTER_A = """
from sarcoma_review.paths import data_dir
from sarcoma_review.data.tracking import record_read
p = data_dir() / "a.csv"
record_read(p)
values = [int(x) for x in p.read_text().split()[1:]]
print(f"A_TOTAL={sum(values)}")
"""
# Chapter B reads data/b.csv by a path relative to the repository root (kernel cwd = root).
CHAPTER_B = """
from pathlib import Path
from sarcoma_review.data.tracking import record_read
p = Path("data/b.csv")
record_read(p)
print(f"B_MAX={max(int(x) for x in p.read_text().split()[1:])}")
"""
POOLED_PARAMS = """
endpoint = "LC"
horizon_years = 5
tau2_method = "REML"
ci_method = "wald"
data_dir = "data"
estimates_out = "estimates.csv"
analysis_id = "example"
title = "Example"
"""
POOLED_BODY = """
from pathlib import Path
from sarcoma_review.data.tracking import record_read
p = Path(data_dir) / "p.csv"
record_read(p)
total = sum(int(x) for x in p.read_text().split()[1:])
estimate = horizon_years * total
Path(estimates_out).parent.mkdir(parents=True, exist_ok=True)
Path(estimates_out).write_text(f"endpoint,horizon_years,estimate\\n{endpoint},{horizon_years},{estimate}\\n")
print(f"POOLED {analysis_id} {endpoint} ESTIMATE={estimate}")
"""


def make_book(
    root: Path, chapters: dict[str, tuple[str, ...]] | None = None, analyses: list[dict] | None = None
) -> Path:
    """A repository-like root: _config.yml, _toc.yml, book/ (intro.md + chapters), data/."""
    chapters = {"a": (CHAPTER_A,), "b": (CHAPTER_B,)} if chapters is None else chapters
    analyses = [] if analyses is None else analyses
    (root / "book" / "_static").mkdir(parents=True)
    (root / "book" / "_static" / "keep.css").write_text("/* static */\n")
    (root / "book" / "intro.md").write_text("# Tiny book\n\nAn introduction.\n")
    for name, cells in chapters.items():
        notebook(root / "book" / f"{name}.ipynb", *cells, title=f"Chapter {name}")
    if analyses:
        notebook(root / "book" / "pooled.ipynb", POOLED_BODY, parameters=POOLED_PARAMS, title="Pooled")
    (root / "book" / "analyses.yml").write_text(yaml.safe_dump({"analyses": analyses}))
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "chapters": [{"file": f"book/{n}"} for n in chapters] + [{"file": f"book/pooled/{a['id']}"} for a in analyses],
    }
    (root / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    config = {
        "title": "Tiny",
        "author": "Test",
        "only_build_toc_files": True,
        "exclude_patterns": ["_build", "data"],
        "execute": {"execute_notebooks": "off"},
        "sphinx": {"config": {"html_static_path": ["book/_static"]}},
    }
    (root / "_config.yml").write_text(yaml.safe_dump(config))
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("value\n1\n2\n3\n")  # A_TOTAL = 1+2+3 = 6
    (root / "data" / "b.csv").write_text("value\n7\n4\n")  # B_MAX = 7
    (root / "data" / "p.csv").write_text("n\n10\n20\n")  # total 30; estimate = horizon * 30
    return root


def page(root: Path, name: str) -> str:
    return (root / "_build" / "html" / "book" / f"{name}.html").read_text(encoding="utf-8")


def old_book(root: Path) -> Path:
    """A stand-in 'last good book' whose survival the failure tests check."""
    html = root / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<p>LAST GOOD BOOK</p>")
    return html / "index.html"


def ok(_data_dir: Path) -> None:
    """A validator that accepts the tiny data (the real one checks the real tables' schemas)."""


ANALYSES = [
    {"id": "lc5", "title": "Local control at 5 years", "endpoint": "LC", "horizon_years": 5},
    {"id": "os3", "title": "Overall survival at 3 years", "endpoint": "OS", "horizon_years": 3, "tau2_method": "DL"},
]


# ----------------------------------------------------------------------------- fast checks
def test_toc_pages_walks_parts_and_sections(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        yaml.safe_dump(
            {
                "format": "jb-book",
                "root": "book/intro",
                "parts": [
                    {"caption": "P", "chapters": [{"file": "book/a.ipynb", "sections": [{"file": "book/pooled/x"}]}]}
                ],
            }
        )
    )
    assert toc_pages(toc) == ["book/intro", "book/a", "book/pooled/x"]


def test_toc_analyses_mismatch_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match=r"analyses not in _toc.yml.*: os3"):
        check_toc_matches_analyses(["book/intro", "book/pooled/lc5"], ANALYSES)
    with pytest.raises(ConfigurationError, match=r"no analysis in book/analyses.yml.*book/pooled/zz"):
        check_toc_matches_analyses(["book/pooled/lc5", "book/pooled/os3", "book/pooled/zz"], ANALYSES)
    check_toc_matches_analyses(["book/intro", "book/pooled/os3", "book/pooled/lc5"], ANALYSES)


def test_build_stops_on_toc_mismatch_before_execution(tmp_path):
    root = make_book(tmp_path / "repo", chapters={}, analyses=ANALYSES)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    toc["chapters"] = toc["chapters"][:1]  # drop book/pooled/os3
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    index = old_book(root)
    with pytest.raises(ConfigurationError, match="os3"):
        build_book(root=root, validator=ok, quiet=True)
    assert index.read_text() == "<p>LAST GOOD BOOK</p>"
    assert not (root / "_build" / "cache" / "manifest.json").exists()


def test_pooled_folder_may_hold_ordinary_pages(tmp_path):
    from sarcoma_review.living.plan import Layout, plan_chapters

    root = make_book(tmp_path / "repo", chapters={}, analyses=ANALYSES)
    (root / "book" / "pooled").mkdir()
    (root / "book" / "pooled" / "index.md").write_text("# Pooled analyses\n")
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    toc["chapters"].insert(0, {"file": "book/pooled/index"})
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    plan = plan_chapters(Layout(root), root / "data")
    assert [(j.page, j.analysis_id) for j in plan] == [
        ("book/intro", None),
        ("book/pooled/index", None),
        ("book/pooled/lc5", "lc5"),
        ("book/pooled/os3", "os3"),
    ]
    assert plan[2].parameters == {
        "title": "Local control at 5 years",
        "endpoint": "LC",
        "horizon_years": 5,
        "analysis_id": "lc5",
        "data_dir": "data",
    }
    (root / "book" / "pooled" / "lc5.md").write_text("# clash\n")
    with pytest.raises(ConfigurationError, match="lc5 clash"):
        plan_chapters(Layout(root), root / "data")


def test_analyses_file_errors(tmp_path):
    f = tmp_path / "analyses.yml"
    f.write_text(yaml.safe_dump({"analyses": [{"id": "lc5", "title": "t", "endpoint": "LC"}]}))
    with pytest.raises(ConfigurationError, match="lacks horizon_years"):
        load_analyses(f)
    f.write_text(yaml.safe_dump({"analyses": [dict(ANALYSES[0]), dict(ANALYSES[0])]}))
    with pytest.raises(ConfigurationError, match="appears twice"):
        load_analyses(f)
    f.write_text(yaml.safe_dump({"analyses": [dict(ANALYSES[0], id="Bad Id")]}))
    with pytest.raises(ConfigurationError, match="lower-case"):
        load_analyses(f)


def test_clean_executed_notebook_removes_injected_cell_and_hides_parameters():
    nb = nbformat.v4.new_notebook(metadata={"papermill": {"input_path": "/abs/x.ipynb"}})
    nb.cells = [
        nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("a = 2", metadata={"tags": ["injected-parameters"], "papermill": {"duration": 1}}),
        nbformat.v4.new_code_cell("print(a)", metadata={"papermill": {}, "execution": {}}),
    ]
    clean_executed_notebook(nb)
    assert [c.source for c in nb.cells] == ["a = 1", "print(a)"]
    assert nb.cells[0].metadata["tags"] == ["parameters", "remove-cell"]
    assert "papermill" not in nb.metadata
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in nb.cells)


def test_lock_prevents_concurrent_builds(tmp_path):
    root = make_book(tmp_path / "repo", chapters={})
    with build_lock(root / "_build" / ".lock"):
        t0 = time.perf_counter()
        with pytest.raises(BuildLockedError, match=r"another build is running \(pid \d+"):
            build_book(root=root, validator=ok, quiet=True)
        assert time.perf_counter() - t0 < 5  # it refuses at once instead of waiting
    assert not (root / "_build" / "html").exists()


def test_bad_data_stops_before_any_execution_and_keeps_old_book(tmp_path):
    flag = tmp_path / "executed.flag"
    root = make_book(tmp_path / "repo", chapters={"a": (f"open({str(flag)!r}, 'w').close()",)})
    index = old_book(root)

    def bad(_data_dir: Path) -> None:
        raise DataValidationError(_data_dir / "a.csv", [(3, "value", "an integer", "'x'")])

    with pytest.raises(
        DataValidationError, match=r"a.csv, line 4 \(row 3\), column 'value': expected an integer, got 'x'"
    ):
        build_book(root=root, validator=bad, quiet=True)
    assert not flag.exists()
    assert index.read_text() == "<p>LAST GOOD BOOK</p>"


def test_swap_and_recovery(tmp_path):
    target, new = tmp_path / "html", tmp_path / "new"
    target.mkdir(), new.mkdir()
    (target / "index.html").write_text("old")
    (new / "index.html").write_text("new")
    swap_into_place(new, target)
    assert (target / "index.html").read_text() == "new" and not (tmp_path / "html.old").exists()
    # a build killed between the two renames leaves only html.old: the next build restores it
    target.rename(tmp_path / "html.old")
    recover_html(target)
    assert (target / "index.html").read_text() == "new"


# ----------------------------------------------------------------------------- real executions
@pytest.mark.slow
def test_build_cache_and_dependent_reexecution(tmp_path):
    root = make_book(tmp_path / "repo", analyses=ANALYSES)
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "mod.py").write_text("X = 1\n")

    r1 = build_book(root=root, validator=ok, package_dir=pkg, jobs=2, quiet=True)
    all_pages = {"book/a", "book/b", "book/pooled/lc5", "book/pooled/os3"}
    assert set(r1.executed_pages) == all_pages and r1.cached == [] and r1.static == ["book/intro"]
    assert "A_TOTAL=6" in page(root, "a") and "B_MAX=7" in page(root, "b")
    # estimate = horizon_years * (10 + 20): 5 * 30 = 150 and 3 * 30 = 90
    assert "POOLED lc5 LC ESTIMATE=150" in page(root, "pooled/lc5")
    assert "POOLED os3 OS ESTIMATE=90" in page(root, "pooled/os3")
    csv = (root / "_build/html/_static/downloads/pooled_estimates.csv").read_text().splitlines()
    assert csv == ["analysis_id,endpoint,horizon_years,estimate", "lc5,LC,5,150", "os3,OS,3,90"]
    assert r1.pooled_csv == root / "_build/html/_static/downloads/pooled_estimates.csv"
    assert (root / "_build/html/_static/downloads/pooled/os3.csv").read_text().endswith("OS,3,90\n")

    # parameters and papermill's injected cell are absent from the published page and notebook
    html = page(root, "pooled/lc5")
    # (tau2_method only appears in the parameters cell; _build/work only in the injected estimates_out)
    assert "tau2_method" not in html and "_build/work" not in html and "injected" not in html
    published = nbformat.read(root / "_build/html/_sources/book/pooled/lc5.ipynb", as_version=4)
    tags = [t for c in published.cells for t in c.metadata.get("tags", [])]
    assert "injected-parameters" not in tags and "remove-cell" in tags and "papermill" not in published.metadata
    # no absolute path of the repository, no traceback, anywhere in the built HTML
    for f in (root / "_build/html").rglob("*.html"):
        text = f.read_text(encoding="utf-8")
        assert str(root) not in text and "Traceback" not in text, f

    # the manifest records what each chapter read (relative paths) with hashes
    import json

    manifest = json.loads((root / "_build/cache/manifest.json").read_text())
    assert set(manifest["chapters"]["book/a"]["reads"]) == {"data/a.csv"}
    assert set(manifest["chapters"]["book/b"]["reads"]) == {"data/b.csv"}
    assert set(manifest["chapters"]["book/pooled/lc5"]["reads"]) == {"data/p.csv"}

    # no change: nothing executes
    r2 = build_book(root=root, validator=ok, package_dir=pkg, quiet=True)
    assert r2.executed == [] and set(r2.cached) == all_pages
    assert "A_TOTAL=6" in page(root, "a")

    # one row of a.csv changes: exactly chapter a re-executes and shows 1 + 20 + 3 = 24
    (root / "data" / "a.csv").write_text("value\n1\n20\n3\n")
    r3 = build_book(root=root, validator=ok, package_dir=pkg, quiet=True)
    assert r3.executed_pages == ["book/a"] and set(r3.cached) == all_pages - {"book/a"}
    assert "A_TOTAL=24" in page(root, "a") and "A_TOTAL=6" not in page(root, "a")

    # an analysis' parameter changes: only that page re-executes (3-year OS -> 2 years: 2 * 30 = 60)
    analyses = [dict(ANALYSES[0]), dict(ANALYSES[1], horizon_years=2)]
    (root / "book" / "analyses.yml").write_text(yaml.safe_dump({"analyses": analyses}))
    r4 = build_book(root=root, validator=ok, package_dir=pkg, quiet=True)
    assert r4.executed_pages == ["book/pooled/os3"]
    assert "ESTIMATE=60" in page(root, "pooled/os3")
    assert (root / "_build/html/_static/downloads/pooled_estimates.csv").read_text().splitlines()[2] == "os3,OS,2,60"

    # the package source changes: everything re-executes; --force likewise
    (pkg / "sub" / "new.py").write_text("Y = 2\n")
    r5 = build_book(root=root, validator=ok, package_dir=pkg, quiet=True)
    assert set(r5.executed_pages) == all_pages
    r6 = build_book(root=root, validator=ok, package_dir=pkg, force=True, quiet=True)
    assert set(r6.executed_pages) == all_pages
    # only the entries of the current manifest are kept
    assert len(list((root / "_build/cache/entries").iterdir())) == 4


@pytest.mark.slow
def test_failing_cell_fails_build_naming_notebook_and_cell_and_keeps_old_book(tmp_path):
    root = make_book(
        tmp_path / "repo", chapters={"good": ("print('fine')",), "bad": ("x = 1", "raise ValueError('boom-42')")}
    )
    index = old_book(root)
    with pytest.raises(ChapterExecutionError) as info:
        build_book(root=root, validator=ok, quiet=True)
    msg = str(info.value)
    assert "book/bad.ipynb" in msg and "In [2]" in msg and "ValueError: boom-42" in msg
    assert "raise ValueError('boom-42')" in msg
    assert index.read_text() == "<p>LAST GOOD BOOK</p>"
    assert (root / "_build/failed/book__bad.ipynb").exists()


@pytest.mark.slow
def test_killed_build_leaves_last_good_book(tmp_path):
    started = tmp_path / "started.flag"
    root = make_book(
        tmp_path / "repo", chapters={"slow": (f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(60)",)}
    )
    index = old_book(root)
    code = (
        "from sarcoma_review.living.build import build_book\n"
        f"build_book(root={str(root)!r}, validator=lambda d: None, quiet=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.time() + 60
        while not started.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert started.exists(), "the chapter never started"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert index.read_text() == "<p>LAST GOOD BOOK</p>"
    # the lock died with the process: a fixed chapter now builds
    notebook(root / "book" / "slow.ipynb", "print('QUICK')", title="Chapter slow")
    build_book(root=root, validator=ok, quiet=True)
    assert "QUICK" in page(root, "slow")


@pytest.mark.slow
def test_execute_chapter_writes_notebook_html_and_csv(tmp_path):
    root = make_book(tmp_path / "repo", chapters={}, analyses=ANALYSES)
    other = tmp_path / "other-data"
    other.mkdir()
    (other / "p.csv").write_text("n\n1\n2\n")  # total 3
    out = tmp_path / "run"
    res = execute_chapter(
        root / "book" / "pooled.ipynb", out, {"horizon_years": 4, "analysis_id": "try"}, data_dir=other, root=root
    )
    # estimate = 4 * (1 + 2) = 12, from the other data folder
    assert res.estimates == out / "estimates.csv"
    assert res.estimates.read_text().splitlines() == ["endpoint,horizon_years,estimate", "LC,4,12"]
    assert res.notebook == out / "try.ipynb" and res.notebook.exists()
    assert res.reads == [(other / "p.csv").resolve()]
    assert res.html == out / "html" / "index.html"
    page_html = (out / "html" / "book" / "run" / "try.html").read_text(encoding="utf-8")
    assert "POOLED try LC ESTIMATE=12" in page_html
    assert not (root / "_build" / "html").exists()
    nb = nbformat.read(res.notebook, as_version=4)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_notebook_parameters_reads_the_parameters_cell_even_with_quotes_in_comments(tmp_path):
    from sarcoma_review.living.notebooks import notebook_parameters

    nb = notebook(
        tmp_path / "t.ipynb",
        "z = 3",
        parameters=('estimates_out = ""   # the analysis\' estimates ("" = none)\nhorizon_years: int = 5\n'),
    )
    assert notebook_parameters(nb) == {"estimates_out", "horizon_years"}
    assert notebook_parameters(notebook(tmp_path / "u.ipynb", "z = 3")) == set()


# A chapter that publishes files: writes report.csv (derived from data/a.csv) when given a folder.
DOWNLOADS_PARAMS = 'downloads_dir = ""   # "" = do not write (plain papermill)\n'
DOWNLOADS_BODY = """
from pathlib import Path
from sarcoma_review.paths import data_dir
from sarcoma_review.data.tracking import record_read
p = data_dir() / "a.csv"
record_read(p)
total = sum(int(x) for x in p.read_text().split()[1:])
if downloads_dir:
    Path(downloads_dir, "report.csv").write_text(f"total\\n{total}\\n")
print(f"D_TOTAL={total}")
"""


def test_downloads_dir_chapter_publishes_its_files_also_when_cached(tmp_path):
    root = make_book(tmp_path / "repo", chapters={})
    notebook(root / "book" / "d.ipynb", DOWNLOADS_BODY, parameters=DOWNLOADS_PARAMS, title="Chapter d")
    (root / "book" / "links.md").write_text("# Links\n\n[the report](_static/downloads/report.csv)\n")
    toc = {"format": "jb-book", "root": "book/intro", "chapters": [{"file": "book/d"}, {"file": "book/links"}]}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    published = root / "_build/html/_static/downloads/report.csv"

    r1 = build_book(root=root, validator=ok, quiet=True)
    assert r1.executed_pages == ["book/d"] and r1.downloads == {"report.csv": "book/d"}
    assert published.read_text() == "total\n6\n"  # 1 + 2 + 3
    assert "D_TOTAL=6" in page(root, "d") and "_build/work" not in page(root, "d")
    # the Markdown link to _static/downloads/report.csv resolved (Sphinx copied it as a download)
    assert "report.csv" in page(root, "links") and list((root / "_build/html/_downloads").rglob("report.csv"))

    # nothing changed: the chapter is cached and its file is still published, from the cache
    r2 = build_book(root=root, validator=ok, quiet=True)
    assert r2.executed == [] and r2.cached == ["book/d"] and r2.downloads == {"report.csv": "book/d"}
    assert published.read_text() == "total\n6\n"

    # the data change re-executes it and the published file follows (1 + 20 + 3 = 24)
    (root / "data" / "a.csv").write_text("value\n1\n20\n3\n")
    r3 = build_book(root=root, validator=ok, quiet=True)
    assert r3.executed_pages == ["book/d"] and published.read_text() == "total\n24\n"


@pytest.mark.slow
def test_unchanged_sources_skip_sphinx_changed_ones_do_not(tmp_path):
    """A build whose staged sources equal the published book's does not run Jupyter Book again
    (the book on disk is what it would write); any change to a page, or --force, runs it."""
    root = make_book(tmp_path / "repo")
    first = build_book(root=root, validator=ok, quiet=True)
    assert not first.sphinx_skipped
    html = root / "_build" / "html" / "book" / "intro.html"
    stamp = html.stat().st_mtime_ns
    again = build_book(root=root, validator=ok, quiet=True)
    assert again.sphinx_skipped and html.stat().st_mtime_ns == stamp
    (root / "book" / "intro.md").write_text("# Tiny book\n\nA changed introduction.\n")
    changed = build_book(root=root, validator=ok, quiet=True)
    assert not changed.sphinx_skipped and "A changed introduction." in html.read_text()
    assert not build_book(root=root, validator=ok, quiet=True, force=True).sphinx_skipped
