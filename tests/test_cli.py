"""The ``review`` command line: help for every subcommand, clear errors without tracebacks, ``review run``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

import sarcoma_review.living.build as build_mod
from sarcoma_review.cli import app, parse_parameter
from sarcoma_review.living.build import ChapterExecutionError, DataValidationError

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["validate"], ["run"], ["build"]])
def test_help(command):
    res = runner.invoke(app, [*command, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output
    if command:
        assert f"review {command[0]}" in res.output or command[0] in res.output.splitlines()[1]


def test_help_lists_the_subcommands_and_options():
    out = runner.invoke(app, ["--help"]).output
    for name in ("validate", "run", "build"):
        assert name in out
    run_help = runner.invoke(app, ["run", "--help"]).output
    for opt in ("--data", "--parameter", "--out"):
        assert opt in run_help
    build_help = runner.invoke(app, ["build", "--help"]).output
    for opt in ("--force", "--jobs", "--wait"):
        assert opt in build_help


@pytest.mark.parametrize("text, expected", [
    ("horizon_years=5", ("horizon_years", 5)),
    ("alpha=0.05", ("alpha", 0.05)),
    ("endpoint=OS", ("endpoint", "OS")),
    ("flag=True", ("flag", True)),
    ("x=None", ("x", None)),
    ("title=a=b", ("title", "a=b")),
])
def test_parse_parameter(text, expected):
    assert parse_parameter(text) == expected


def test_build_errors_print_a_message_without_traceback(monkeypatch):
    def bad(**_kw):
        raise DataValidationError(Path("data/literature/outcomes.csv"), [(2, "rate_percent", "0-100", "150")])

    monkeypatch.setattr(build_mod, "build_book", bad)
    res = runner.invoke(app, ["build"])
    assert res.exit_code == 1
    assert "rate_percent" in res.output and "expected 0-100, got 150" in res.output
    assert "Traceback" not in res.output

    def failing(**_kw):
        raise ChapterExecutionError("book/x.ipynb: cell In [3] failed: ValueError: boom")

    monkeypatch.setattr(build_mod, "build_book", failing)
    res = runner.invoke(app, ["build", "--jobs", "2"])
    assert res.exit_code == 1 and "book/x.ipynb: cell In [3]" in res.output and "Traceback" not in res.output


def test_validate_bad_file_exits_1_with_clear_message(tmp_path):
    bad = tmp_path / "literature" / "nothing.csv"
    bad.parent.mkdir()
    bad.write_text("a,b\n1,2\n")  # no schema file beside it: the loaders refuse it
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 1, res.output
    assert res.output.startswith("error: ") and "Traceback" not in res.output


def test_validate_missing_path_is_a_usage_error(tmp_path):
    res = runner.invoke(app, ["validate", str(tmp_path / "nope.csv")])
    assert res.exit_code == 1 and "nope.csv does not exist" in res.output


def test_run_unknown_chapter_is_a_clear_error():
    res = runner.invoke(app, ["run", "no-such-chapter"])
    assert res.exit_code == 1 and "no chapter 'no-such-chapter'" in res.output


@pytest.mark.slow
def test_run_writes_notebook_html_and_csv(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell('factor = 1\ndata_dir = "data"\nestimates_out = "estimates.csv"',
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(textwrap.dedent("""
            import os
            from pathlib import Path
            # $REVIEW_DATA_DIR and the data_dir parameter both name the --data folder
            assert Path(os.environ["REVIEW_DATA_DIR"]) == Path(data_dir)
            values = [int(x) for x in (Path(data_dir) / "v.csv").read_text().split()[1:]]
            result = factor * sum(values)
            Path(estimates_out).write_text(f"result\\n{result}\\n")
            print(f"RESULT={result}")
        """)),
    ]
    src = tmp_path / "chapter.ipynb"
    nbformat.write(nb, src)
    data = tmp_path / "mydata"
    data.mkdir()
    (data / "v.csv").write_text("v\n2\n5\n")  # sum 7; with factor 3 the result is 21
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(src), "--data", str(data), "-p", "factor=3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "estimates.csv").read_text() == "result\n21\n"
    executed = nbformat.read(out / "chapter.ipynb", as_version=4)
    assert any("RESULT=21" in o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert (out / "html" / "index.html").exists()
    assert "RESULT=21" in (out / "html" / "book" / "run" / "chapter.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_run_failing_cell_exits_1_naming_the_cell(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("1 / 0")]
    src = tmp_path / "broken.ipynb"
    nbformat.write(nb, src)
    res = runner.invoke(app, ["run", str(src), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "broken.ipynb" in res.output and "ZeroDivisionError" in res.output and "'1 / 0'" in res.output
