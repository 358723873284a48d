"""The ``review`` command line: help for every subcommand, clear errors without tracebacks, ``review run``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from typer.testing import CliRunner

import sarcoma_review.living.build as build_mod
from sarcoma_review.cli import app, parse_parameter
from sarcoma_review.living.build import ChapterExecutionError, DataValidationError
from sarcoma_review.paths import REPO_ROOT

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


@pytest.mark.parametrize(
    "text, expected",
    [
        ("horizon_years=5", ("horizon_years", 5)),
        ("alpha=0.05", ("alpha", 0.05)),
        ("endpoint=OS", ("endpoint", "OS")),
        ("flag=True", ("flag", True)),
        ("x=None", ("x", None)),
        ("title=a=b", ("title", "a=b")),
    ],
)
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
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            'factor = 1\ndata_dir = "data"\nestimates_out = "estimates.csv"', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(
            textwrap.dedent("""
            from pathlib import Path
            from sarcoma_review import paths
            # the chapter's build context and the data_dir parameter both name the --data folder
            assert paths.data_dir().resolve() == Path(data_dir).resolve()
            values = [int(x) for x in (Path(data_dir) / "v.csv").read_text().split()[1:]]
            result = factor * sum(values)
            Path(estimates_out).write_text(f"result\\n{result}\\n")
            print(f"RESULT={result}")
        """)
        ),
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
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("1 / 0")]
    src = tmp_path / "broken.ipynb"
    nbformat.write(nb, src)
    res = runner.invoke(app, ["run", str(src), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "broken.ipynb" in res.output and "ZeroDivisionError" in res.output and "'1 / 0'" in res.output


# --- every command ends in one clear message -------------------------------------------------------


def one_line_error(res, *words: str, code: int | None = None) -> str:
    """The command failed (non-zero exit) with exactly one non-empty line, ``error: ...``, naming ``words``."""
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code != 0 and (code is None or res.exit_code == code), res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def _corrupt(data_copy: Path) -> Path:
    p = data_copy / "literature" / "outcomes.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    first = lines[1].split(",")
    first[head.index("rate_percent")] = "150"
    p.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n", encoding="utf-8")
    return data_copy


ADD = [
    "add-study",
    "--study-id",
    "newstudy2030",
    "--first-author",
    "New",
    "--year",
    "2030",
    "--n-patients",
    "25",
    "--site",
    "Pelvis",
    "--histology",
    "Various",
    "--particle",
    "Carbon ions",
    "--source",
    "New 2030, Table 1",
    "--patient-group",
    "mixed",
    "--setting",
    "definitive",
    "--centre",
    "Test centre",
    "--citation",
    "New et al. 2030",
    "--address",
    "https://example.org/new2030",
    "--access",
    "abstract",
    "--quote",
    "The rates of the new series.",
]


@pytest.mark.parametrize(
    "args, words",
    [
        (["validate", "--data", "{bad}"], ["outcomes.csv", "rate_percent", "150"]),
        (["validate", "--data", "{missing}"], ["no such folder"]),
        (["validate", "{missing}/x.csv"], ["does not exist"]),
        (["validate", "--data", "{nofile}"], ["outcomes.csv", "no such file"]),
        (["build", "--data", "{nofile}"], ["outcomes.csv", "no such file"]),
        (["run", "book/not-there.ipynb"], ["no chapter 'book/not-there.ipynb'"]),
        ([*ADD, "--rate", "LC:5=70", "--data", "{nofile}"], ["outcomes.csv", "no such file"]),
        (["run", "no-such-chapter"], ["no chapter 'no-such-chapter'"]),
        (["run", "pooled", "-p", "no_such_parameter=1"], ["has no parameter 'no_such_parameter'", "horizon_years"]),
        (["run", "pooled", "-p", "horizon_years"], ["is not NAME=VALUE"]),
        (["run", "pooled", "--data", "{missing}"], ["no such folder"]),
        (["build", "--data", "{bad}"], ["outcomes.csv", "rate_percent"]),
        (["build", "--data", "{missing}"], ["no such folder"]),
        ([*ADD, "--rate", "LC:5=70", "--data", "{bad}"], ["outcomes.csv", "rate_percent"]),
        ([*ADD, "--rate", "LC:5=70", "--data", "{missing}"], ["no such folder"]),
        ([*ADD, "--rate", "LC5=70", "--data", "{good}"], ["ENDPOINT:YEARS=PERCENT"]),
        ([*ADD[:15], *ADD[17:], "--rate", "LC:5=70", "--data", "{good}"], ["missing --source"]),
        (
            [*ADD, "--particle", "Neutrons", "--rate", "LC:5=70", "--data", "{good}"],
            ["'Neutrons'", "particle_groups.csv"],
        ),
        ([*ADD, "--rate", "LC:5=170", "--data", "{good}"], ["rate_percent", "study not added"]),
        (["release", "1.2"], ["'1.2' is not a semantic version"]),
        (["release", "0.2.0", "--date", "2026-02-30"], ["'2026-02-30' is not a date that exists"]),
        (["verify-release", "v0.1.0"], ["is not a semantic version"]),
        (["verify-release", "9.9.9"], ["no release 9.9.9", "releases on record"]),
    ],
)
def test_every_command_ends_in_one_clear_message(args, words, data_copy, tmp_path):
    good = tmp_path / "good"
    shutil.copytree(data_copy, good)
    nofile = tmp_path / "nofile"
    shutil.copytree(data_copy, nofile)
    (nofile / "literature" / "outcomes.csv").unlink()
    subs = {
        "{bad}": str(_corrupt(data_copy)),
        "{missing}": str(tmp_path / "missing"),
        "{good}": str(good),
        "{nofile}": str(nofile),
    }
    argv = [subs.get(a, a) for a in args]
    argv = [a.replace("{missing}", str(tmp_path / "missing")) for a in argv]
    before = {p: p.read_bytes() for p in (good / "literature").iterdir()}
    one_line_error(runner.invoke(app, argv), *words)
    assert {p: p.read_bytes() for p in (good / "literature").iterdir()} == before  # nothing half-written


@pytest.mark.parametrize(
    "args, words",
    [
        (["build", "--jobs", "0"], ["--jobs", "greater than or equal to 1"]),
        (["build", "--no-such-option"], ["--no-such-option"]),
        (["add-study", "--year", "soon"], ["--year", "integer"]),
    ],
)
def test_bad_option_values_caught_by_the_parser_are_one_line_too(args, words):
    one_line_error(runner.invoke(app, args), *words, code=2)


def test_add_study_prints_each_affected_estimate_before_and_after(data_copy):
    res = runner.invoke(app, [*ADD, "--rate", "LC:5=70", "--data", str(data_copy)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "added newstudy2030 (carbon)" in out
    # every analysis of book/analyses.yml at 5-year LC is reported, for all series and for carbon
    from sarcoma_review.data.vocabulary import landmark_name
    from sarcoma_review.living.analyses import standard_analyses

    lc5 = [a for a in standard_analyses() if (a["endpoint"], int(a["horizon_years"])) == ("LC", 5)]
    assert lc5
    for _a in lc5:
        assert f"{landmark_name('LC', 5)}, all series:" in out and f"{landmark_name('LC', 5)}, carbon series:" in out
    # the all-series line shows the estimate before and after (k grows by one), in percent
    line = next(ln for ln in out.splitlines() if f"{landmark_name('LC', 5)}, all series:" in ln)
    before, after = line.split(" -> ")
    k_before = int(before.rsplit(", ", 1)[1].split()[0])
    assert after.endswith(f", {k_before + 1} series") and "none" not in line
    for pct in (float(x) for x in re.findall(r"(\d+\.\d)%", line)):
        assert 0 <= pct <= 100
    studies = pd.read_csv(data_copy / "literature" / "studies.csv", dtype=str, keep_default_na=False)
    new = studies.set_index("study_id").loc["newstudy2030"]
    assert new[
        [
            "first_author",
            "year",
            "n_patients",
            "site",
            "histology",
            "particle",
            "particle_group",
            "source",
            "patient_group",
            "setting",
            "centre",
            "access",
        ]
    ].tolist() == [
        "New",
        "2030",
        "25",
        "Pelvis",
        "Various",
        "Carbon ions",
        "carbon",
        "New 2030, Table 1",
        "mixed",
        "definitive",
        "Test centre",
        "abstract",
    ]


# --- the project is the one you stand in --------------------------------------------------------


def _review(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("review")
    full = {k: v for k, v in os.environ.items() if k not in ("REVIEW_ROOT", "REVIEW_DATA_DIR")}
    full.update(env or {})
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, env=full, timeout=300)


def _clone(dest: Path) -> Path:
    """A second checkout: the tracked files of this one (what a clone holds)."""
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
    return dest


def test_outside_any_checkout_review_refuses_in_one_line(tmp_path):
    res = _review(tmp_path, "validate")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "is not inside a checkout of the review" in lines[0]
    bogus = _review(REPO_ROOT, "validate", env={"REVIEW_ROOT": str(tmp_path)})
    assert bogus.returncode == 1 and "REVIEW_ROOT" in bogus.stderr and "not a checkout" in bogus.stderr


def test_a_second_clone_is_never_silently_served_by_the_first(tmp_path):
    """From clone B with clone A's environment, `review` refuses (naming both); with B's own package
    on the path it works on B: its validate reads B's data (a bad row in B is found, A is untouched)."""
    b = _clone(tmp_path / "clone-b")
    res = _review(b / "book", "validate")  # from a sub-folder of B
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"you stand in {b}" in res.stderr and str(REPO_ROOT) in res.stderr and "own environment" in res.stderr
    _corrupt(b / "data")
    own = _review(b, "validate", env={"PYTHONPATH": str(b / "src")})
    assert own.returncode == 1 and "outcomes.csv" in own.stderr and "150" in own.stderr, own.stderr
    assert _review(REPO_ROOT, "validate").returncode == 0  # A's data are valid: B's row was read from B


# --- hostile and careless input (issue 23): one line naming what to change, data unchanged ---------


def _with_study_row(data: Path, row: list) -> Path:
    """Append a study row given in the Table I-era column order (id, author, year, n, site, histology,
    particle, group, source); the live table's further columns take valid values (helpers.append_rows)."""
    from helpers import append_rows

    keys = (
        "study_id",
        "first_author",
        "year",
        "n_patients",
        "site",
        "histology",
        "particle",
        "particle_group",
        "source",
    )
    append_rows(data / "literature" / "studies.csv", [dict(zip(keys, row))])
    return data


def _release_repo(root: Path) -> Path:
    """A tiny git repository with a frozen release 0.1.0 dated 2026-03-01 (its manifest only)."""
    import json

    from helpers import git, make_repo

    repo = make_repo(root)
    (repo / "releases" / "0.1.0").mkdir(parents=True)
    (repo / "releases" / "0.1.0" / "manifest.json").write_text(json.dumps({"version": "0.1.0", "date": "2026-03-01"}))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "release 0.1.0")
    return repo


HOSTILE_INPUTS = [
    # ids: one pattern, in validate and in add-study
    (["validate", "--data", "{semicolon}"], ["studies.csv", "column 'study_id'", "'a;b'", "lower-case letters"]),
    (["validate", "--data", "{traversal}"], ["studies.csv", "column 'study_id'", "'../../etc/passwd'"]),
    ([*ADD[:2], "a;b", *ADD[3:], "--rate", "LC:5=70", "--data", "{good}"], ["--study-id 'a;b'", "lower-case letters"]),
    ([*ADD[:2], "smith 2025", *ADD[3:], "--rate", "LC:5=70", "--data", "{good}"], ["--study-id 'smith 2025'"]),
    # add-study accepts exactly what validate accepts
    ([*ADD, "--rate", "LC:5=69%", "--data", "{good}"], ["without '%'"]),
    ([*ADD, "--rate", "lc:5=69", "--data", "{good}"], ["unknown endpoint 'lc'"]),
    (
        [*ADD[:8], "100000000000000000000000", *ADD[9:], "--rate", "LC:5=70", "--data", "{good}"],
        ["--n-patients", "'100000000000000000000000' (too large for a 64-bit integer)"],
    ),
    ([*ADD[:6], "1800", *ADD[7:], "--rate", "LC:5=70", "--data", "{good}"], ["--year", "from 1900 to 2100", "1800"]),
    (["validate", "--data", "{dupkey}"], ["outcomes.csv", "('serizawa2009', 'LC', 5)"]),
    # a data folder without its tables, a broken schema
    (["validate", "--data", "{empty}"], ["literature/studies.csv", "no such file", "other required tables missing"]),
    (["build", "--data", "{empty}"], ["literature/studies.csv", "no such file"]),
    ([*ADD, "--rate", "LC:5=70", "--data", "{empty}"], ["literature/studies.csv", "no such file"]),
    (["validate", "--data", "{listschema}"], ["outcomes.schema.yaml", "a YAML list"]),
    (["validate", "--data", "{brokenschema}"], ["outcomes.schema.yaml", "YAML that does not parse"]),
    # run: parameters that contradict the analysis, repeated parameters, --out
    (["run", "lc-5y", "-p", "endpoint=OS"], ["-p endpoint=OS contradicts the analysis 'lc-5y'", "endpoint=LC"]),
    (["run", "lc-5y", "-p", "horizon_years=3"], ["-p horizon_years=3 contradicts", "horizon_years=5"]),
    (
        ["run", "pooled", "-p", "analysis_id=lc-5y", "-p", "endpoint=OS"],
        ["analysis_id=lc-5y names the analysis", "review run lc-5y"],
    ),
    (["run", "pooled", "-p", "endpoint=LC", "-p", "endpoint=OS"], ["-p endpoint is given twice", "once"]),
    (["run", "pooled", "--out", "{file}"], ["is an existing file"]),
    (["run", "pooled", "--out", "{full}"], ["already holds files"]),
    (["run", "pooled", "--out", "_build/html"], ["published book (_build/html)"]),
    (["run", "pooled", "--out", "_build/html/runs/x"], ["published book (_build/html)"]),
    (["run", "pooled", "--out", "data/literature"], ["inside the data folder"]),
    (["run", "pooled", "--out", "{good}/x", "--data", "{good}"], ["inside the data folder"]),
    (["run", "pooled", "--out", "book/x"], ["the book's sources"]),
    # verify-release on a corrupt frozen release
    (["verify-release", "0.1.0", "--root", "{badmanifest}"], ["releases/0.1.0/manifest.json is not readable JSON"]),
    (["verify-release", "0.1.0", "--root", "{listmanifest}"], ["releases/0.1.0/manifest.json holds a JSON list"]),
    # site: --out never replaces a folder that is not a site written before, nor the book or the data
    (["site", "--no-build", "--out", "{full}"], ["--out", "already holds files"]),
    (["site", "--no-build", "--out", "data/literature"], ["inside the data folder"]),
    (["site", "--no-build", "--out", "_build/html"], ["published book (_build/html)"]),
    # release: uncommitted edits anywhere it builds from; a date before the previous release
    (["release", "0.2.0", "--no-pdf", "--root", "{dirtyrepo}"], ["uncommitted changes", "book/intro.md"]),
    (
        ["release", "0.2.0", "--no-pdf", "--root", "{untrackedrepo}"],
        ["uncommitted changes", "src/sarcoma_review/new.py"],
    ),
    (
        ["release", "0.2.0", "--no-pdf", "--date", "2026-01-01", "--root", "{releaserepo}"],
        ["--date 2026-01-01 is before release 0.1.0 (2026-03-01)"],
    ),
]


@pytest.mark.parametrize("args, words", HOSTILE_INPUTS)
def test_hostile_and_careless_inputs_end_in_one_line(args, words, data_copy, tmp_path):
    """Every input the issue tried: one line `error: ...` naming what to change; no traceback, the data
    folder and the checkout's published book unchanged."""
    good = tmp_path / "good"
    shutil.copytree(data_copy, good)
    subs: dict[str, Path] = {"{good}": good}

    def data_variant(name: str) -> Path:
        d = tmp_path / name
        shutil.copytree(data_copy, d)
        return d

    need = {
        a
        for a in args
        for k in (
            "{semicolon}",
            "{traversal}",
            "{dupkey}",
            "{empty}",
            "{listschema}",
            "{brokenschema}",
            "{file}",
            "{full}",
            "{badmanifest}",
            "{listmanifest}",
            "{dir}",
            "{dirtyrepo}",
            "{untrackedrepo}",
            "{releaserepo}",
        )
        if k in a
    }
    row = ["x", "X", 2020, 10, "Pelvis", "Chordoma", "Carbon ions", "carbon", "t"]
    if "{semicolon}" in need:
        subs["{semicolon}"] = _with_study_row(data_variant("semicolon"), ["a;b", *row[1:]])
    if "{traversal}" in need:
        subs["{traversal}"] = _with_study_row(data_variant("traversal"), ["../../etc/passwd", *row[1:]])
    if "{dupkey}" in need:
        d = data_variant("dupkey")
        p = d / "literature" / "outcomes.csv"
        p.write_text(
            p.read_text(encoding="utf-8").replace(
                "serizawa2009,OS,overall survival,5,50", "serizawa2009,LC,overall survival,5,50"
            ),
            encoding="utf-8",
        )
        subs["{dupkey}"] = d
    if "{empty}" in need:
        subs["{empty}"] = tmp_path / "empty"
        subs["{empty}"].mkdir()
    if "{listschema}" in need:
        d = data_variant("listschema")
        (d / "literature" / "outcomes.schema.yaml").write_text("- name: study_id\n- name: endpoint\n")
        subs["{listschema}"] = d
    if "{brokenschema}" in need:
        d = data_variant("brokenschema")
        (d / "literature" / "outcomes.schema.yaml").write_text("columns: [\n")
        subs["{brokenschema}"] = d
    if "{file}" in need:
        subs["{file}"] = tmp_path / "a-file.txt"
        subs["{file}"].write_text("keep me\n")
    if "{full}" in need:
        subs["{full}"] = tmp_path / "full"
        subs["{full}"].mkdir()
        (subs["{full}"] / "estimates.csv").write_text("another run's estimates\n")
    for key, text in (("{badmanifest}", "{not json"), ("{listmanifest}", "[]")):
        if key in need:
            r = tmp_path / key.strip("{}")
            shutil.copytree(REPO_ROOT / "releases" / "0.1.0", r / "releases" / "0.1.0")
            (r / "releases" / "0.1.0" / "manifest.json").write_text(text)
            subs[key] = r
    if "{dir}" in need:
        subs["{dir}"] = tmp_path / "reports"
        subs["{dir}"].mkdir()
    if need & {"{dirtyrepo}", "{untrackedrepo}", "{releaserepo}"}:
        repo = _release_repo(tmp_path / "repo")
        if "{dirtyrepo}" in need:
            (repo / "book" / "intro.md").write_text("# Intro, edited and not committed\n")
        if "{untrackedrepo}" in need:
            (repo / "src" / "sarcoma_review" / "new.py").write_text("x = 1\n")
        subs[next(iter(need & {"{dirtyrepo}", "{untrackedrepo}", "{releaserepo}"}))] = repo
    argv = [
        a.replace(k, str(v)) for a in args for k, v in [next(((k, v) for k, v in subs.items() if k in a), ("", ""))]
    ]
    snapshot = {p: p.read_bytes() for p in sorted(good.rglob("*")) if p.is_file()}
    html = REPO_ROOT / "_build" / "html" / "index.html"
    published = html.read_bytes() if html.exists() else None
    one_line_error(runner.invoke(app, argv), *words)
    assert {p: p.read_bytes() for p in sorted(good.rglob("*")) if p.is_file()} == snapshot  # data unchanged
    assert (html.read_bytes() if html.exists() else None) == published
    if "{file}" in subs:
        assert subs["{file}"].read_text() == "keep me\n"
    if "{full}" in subs:
        assert (subs["{full}"] / "estimates.csv").read_text() == "another run's estimates\n"
    assert not (REPO_ROOT / "data" / "literature" / "pooled.ipynb").exists()


def test_serve_on_a_port_in_use_ends_in_one_line():
    """`review serve --port N` with N taken: one line naming the port and how to pick another, before any build."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(runner.invoke(app, ["serve", "--port", str(port)]), f"127.0.0.1:{port}", "--port 0")


def test_two_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path, monkeypatch):
    """`review run` twice in one second used the same pooled-<timestamp> folder (one run's estimates.csv
    held the other's results): each run now creates its own folder, atomically."""
    import datetime as dt

    import sarcoma_review.cli as cli

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 5, 1, 12, 0, 0)

    monkeypatch.setattr(cli._dt, "datetime", Frozen)
    folders = [cli._run_folder(tmp_path / "runs", "pooled") for _ in range(3)]
    assert [f.name for f in folders] == [
        "pooled-20260501-120000",
        "pooled-20260501-120000-2",
        "pooled-20260501-120000-3",
    ]
    assert all(f.is_dir() for f in folders)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.5, 1.0, 2.0])
def test_ctrl_c_ends_review_run_quietly(tmp_path, delay):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) at any moment of a run: one
    line, exit status 130, no traceback from the command, its fork server or a chapter process."""
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("REVIEW_ROOT", "REVIEW_DATA_DIR")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("review")), "run", "pooled", "--out", str(tmp_path / "run")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )
    assert "executing" in proc.stdout.readline()
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if proc.returncode == 0:  # it finished before the signal: nothing to check but a clean end
        assert lines == [], err
        return
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error: interrupted"), err
