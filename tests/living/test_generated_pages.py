"""Generated parts of pages: the pooled pages' titles and the staged banner / cite / what's-new pages."""

import helpers
import nbformat
import yaml

from sarcoma_review import __version__
from sarcoma_review.living import citation
from sarcoma_review.living.notebooks import (
    TITLE_PLACEHOLDER,
    clean_executed_notebook,
    page_title,
)
from sarcoma_review.living.plan import Layout
from sarcoma_review.living.publish import generate_pages, stage_sources
from sarcoma_review.paths import REPO_ROOT


def test_page_title_from_parameters():
    assert page_title({"title": "Pooled 5-year local control", "endpoint": "OS"}) == "Pooled 5-year local control"
    assert page_title({"endpoint": "OS", "horizon_years": 3}) == "Pooled 3-year overall survival"
    assert page_title({}) == "Pooled analysis"


def test_placeholder_replaced_only_in_markdown():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# {TITLE_PLACEHOLDER}\n\ntext"),
            nbformat.v4.new_code_cell(f"x = '{TITLE_PLACEHOLDER}'"),
        ]
    )
    clean_executed_notebook(nb, {"endpoint": "LC", "horizon_years": 5})
    assert nb.cells[0].source.startswith("# Pooled 5-year local control\n")
    assert TITLE_PLACEHOLDER in nb.cells[1].source


def test_generated_pages_in_stage(tmp_path):
    layout = Layout(REPO_ROOT)
    stage = tmp_path / "stage"
    stage_sources(layout, stage)
    generate_pages(layout, stage, REPO_ROOT / "data")
    cfg = yaml.safe_load((stage / "_config.yml").read_text())
    # the banner: the version when this checkout is exactly that release, else a development version after it
    assert cfg["html"]["announcement"] == citation.banner_text(REPO_ROOT)
    assert cfg["html"]["announcement"].startswith(
        (f"Version {__version__} · data as of ", "Development version after ")
    )
    assert cfg["execute"]["execute_notebooks"] == "off"
    cite = (stage / "book" / "cite.md").read_text()
    assert f"version {__version__}" in cite.lower() and "@" in cite  # APA text and a BibTeX entry
    assert (stage / "book" / "whats-new.md").read_text().startswith("# What's new")


def test_reference_versions_recorded_as_read(tmp_path, monkeypatch):
    from sarcoma_review.pages.methods import FIXTURE, reference_versions

    log = tmp_path / "reads.log"
    helpers.set_context(monkeypatch, reads_log=log)
    v = reference_versions()
    assert v["R"].startswith("R version 4.") and v["metafor"].startswith("3.8")
    assert str(FIXTURE.resolve()) in log.read_text()


def test_kernels_run_single_threaded_maths(tmp_path, monkeypatch):
    """Parallel chapters must not oversubscribe the cores: each kernel gets one maths thread."""
    from sarcoma_review.living.notebooks import THREAD_ENV_VARS

    for k in THREAD_ENV_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # a caller's explicit choice is kept
    out = tmp_path / "env.txt"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import os\n"
                f"open({str(out)!r}, 'w').write(','.join(os.environ.get(k, '') for k in {list(THREAD_ENV_VARS)!r}))"
            )
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "nb.ipynb"
    nbformat.write(nb, src)
    from sarcoma_review.living.warm import run_isolated

    res = run_isolated(
        {
            "source": str(src),
            "output": str(tmp_path / "out.ipynb"),
            "parameters": {},
            "cwd": str(tmp_path),
            "data_dir": str(tmp_path),
            "reads_log": str(tmp_path / "r.log"),
        }
    )
    assert res["ok"], res
    assert out.read_text() == "1,1,3"


def test_environment_pins_are_a_chapter_input(tmp_path):
    """Changing a pinned version must re-execute chapters: the pins are part of every cache key."""
    from sarcoma_review.living.cache import environment_hash

    (tmp_path / "requirements.txt").write_text("pandas==2.3.3\n")
    (tmp_path / "constraints.txt").write_text("numpy==2.4.6\n")
    before = environment_hash(tmp_path)
    (tmp_path / "constraints.txt").write_text("numpy==2.4.7\n")
    assert environment_hash(tmp_path) != before


def test_in_process_execution_records_what_a_kernel_would_and_stops_at_the_first_error(tmp_path):
    """Streams, display data, a cell's last value with its execution count, then the failing cell named;
    the notebook is written by the submitting process even though the chapter broke json.dumps."""
    from sarcoma_review.living.warm import run_isolated

    cells = [
        "print('hi')",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))",
        "1 + 1",
        "import json\njson.dumps = None",
        "raise KeyError('k-7')",
        "print('never')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "nb.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "out.ipynb"
    res = run_isolated(
        {
            "source": str(src),
            "output": str(out),
            "parameters": {},
            "label": "nb.ipynb",
            "cwd": str(tmp_path),
            "data_dir": str(tmp_path),
            "reads_log": str(tmp_path / "r.log"),
        }
    )
    assert not res["ok"]
    assert "nb.ipynb: cell In [5] failed: KeyError: 'k-7'" in res["message"]
    got = nbformat.read(out, as_version=4).cells
    assert [o["output_type"] for o in got[0].outputs] == ["stream"] and got[0].outputs[0]["text"] == "hi\n"
    assert got[1].outputs[0]["output_type"] == "display_data"
    assert got[1].outputs[0]["data"]["text/html"] == "<b>x</b>"
    assert got[2].outputs[0]["output_type"] == "execute_result" and got[2].outputs[0]["data"]["text/plain"] == "2"
    assert got[2].execution_count == 3 and got[2].outputs[0]["execution_count"] == 3
    assert got[4].outputs[0]["output_type"] == "error" and got[4].outputs[0]["ename"] == "KeyError"
    assert got[5].outputs == []  # not executed after the error
