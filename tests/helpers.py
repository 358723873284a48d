"""Helpers shared by the tests (not tests themselves).

1. The frozen inputs of the R reference fixture: ``scripts/regenerate_r_fixtures.sh`` copies the data
   tables ``scripts/r/make_reference.R`` reads into ``tests/fixtures/r_inputs/`` (same
   ``<group>/<table>`` layout as ``data/``, schemas included) before running R. Tests that compare the
   package with ``r_reference.json`` read those copies (:data:`FROZEN_DATA`), never the live ``data/``,
   so adding a study to ``data/`` does not break them (``tests/stats/test_fixture_inputs.py`` warns when
   ``data/`` has moved on).
2. For the release / citation / What's-new tests: a tiny repo-like git tree and a toy pool.
3. For the build tests on tiny throwaway books: :func:`notebook` writes a chapter, :func:`tiny_book` a
   whole book, :func:`write_toc` its table of contents.

The toy pool is deliberately trivial so every number can be derived by hand in the tests:
estimate = patient-weighted mean of the rates, CI = [min rate, max rate], k = number of studies,
q_p = 0.01 when the rates span more than 25 points, else 0.5.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import nbformat
import pandas as pd
import yaml

from sarcoma_review.paths import REPO_ROOT

#: A data folder (``data_dir=``) holding exactly what the R fixture was computed from.
FROZEN_DATA = Path(__file__).parent / "fixtures" / "r_inputs"
#: The papers' tables as extracted, frozen (tests/fixtures/published/README.md): what tests of a
#: published value read, so that they do not depend on today's data/.
PUBLISHED_DATA = Path(__file__).parent / "fixtures" / "published"


def frozen_literature() -> pd.DataFrame:
    """``loaders.load_literature()`` on the frozen copies (validated, foreign keys checked)."""
    from sarcoma_review.data import loaders

    return loaders.load_literature(FROZEN_DATA)


def frozen_primary() -> pd.DataFrame:
    """:func:`frozen_literature` with each shared cohort counted once per landmark (the rows R pools:
    ``independent()`` in scripts/r/make_reference.R)."""
    from sarcoma_review.data import overlap

    return overlap.independent_by_landmark(frozen_literature())


def two_series() -> pd.DataFrame:
    """A literature table of two series at one landmark (DPFS at 5 years), one chordoma series and one
    other: the smallest case of strata with one series each."""
    return pd.DataFrame(
        {
            "study_id": ["a", "b"],
            "first_author": ["A", "B"],
            "year": [2010, 2012],
            "n_patients": [100, 50],
            "site": ["Sacrum", "Pelvis"],
            "histology": ["Chordoma", "Various"],
            "particle": "Carbon ions",
            "particle_group": "carbon",
            "endpoint": "DPFS",
            "horizon_years": 5,
            "rate_percent": [50.3, 39.0],
            "source_study": "t",
            "source_outcome": "t",
        }
    )


def frozen_patients() -> pd.DataFrame:
    """``loaders.load_ifosfamide_patients()`` on the frozen copy."""
    from sarcoma_review.data import loaders

    return loaders.load_ifosfamide_patients(FROZEN_DATA)


#: The real schema files (and the particle-group lookup the studies table references) make the toy
#: tables pass the same validation as the real data.
#: The toy repositories use the frozen Table I-era literature schemas (tests/fixtures/published): the
#: release and What's new machinery they test does not depend on the live tables' columns.
SCHEMA_FILES = [
    "literature/studies.schema.yaml",
    "literature/outcomes.schema.yaml",
    "literature/particle_groups.schema.yaml",
    "literature/particle_groups.csv",
]
SCHEMA_SOURCE = REPO_ROOT / "tests" / "fixtures" / "published"

#: Values for the columns a test row does not name (valid under the live schemas of data/literature).
ROW_DEFAULTS = {
    "studies": {
        "site": "Pelvis",
        "histology": "Various",
        "patient_group": "mixed",
        "particle": "Carbon ions",
        "particle_group": "carbon",
        "setting": "not reported",
        "centre": "test centre",
        "origin": "update 2026-12",
        "citation": "test citation",
        "address": "https://example.org/test",
        "access": "abstract",
        "source": "test",
    },
    "outcomes": {
        "endpoint_as_named": "test endpoint",
        "access": "abstract",
        "address": "https://example.org/test",
        "quote": "test sentence",
        "source": "test",
    },
}


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` to a CSV by its header; a column a row does not name takes :data:`ROW_DEFAULTS`
    (for studies/outcomes tables) or stays empty."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    defaults = ROW_DEFAULTS.get(Path(path).stem, {})
    with open(path, "a", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        for r in rows:
            w.writerow({c: r.get(c, defaults.get(c, "")) for c in header})


STUDIES = """study_id,first_author,year,n_patients,site,histology,particle,particle_group,source
a2001,Alpha,2001,10,Spine,Chordoma,Carbon ions,carbon,toy
b2002,Beta,2002,30,Pelvis,Various,Protons ± Photons,proton-based,toy
"""
OUTCOMES = """study_id,endpoint,horizon_years,rate_percent,source
a2001,LC,5,50,toy
b2002,LC,5,70,toy
a2001,OS,5,40,toy
b2002,OS,5,60,toy
"""
COMPARATORS = """comparator_id,endpoint,horizon_years,rate_percent,source
photon_lc5,LC,5,75,toy
"""


def toy_pool(rows: pd.DataFrame, analysis: dict, subgroup_column: str | None) -> pd.DataFrame:
    groups = [(None, rows)] if subgroup_column is None else list(rows.groupby(subgroup_column, sort=True))
    out = []
    for value, g in groups:
        n = g["n_patients"].astype(float)
        r = g["rate_percent"].astype(float)
        out.append(
            {
                "analysis_id": analysis["id"],
                "endpoint": analysis["endpoint"],
                "horizon_years": analysis["horizon_years"],
                "subgroup_column": subgroup_column,
                "subgroup_value": value,
                "k": len(g),
                "n_patients": int(n.sum()),
                "model": "toy",
                "estimate": float((n * r).sum() / n.sum()),
                "ci_low": float(r.min()),
                "ci_high": float(r.max()),
                "q_p": 0.01 if r.max() - r.min() > 25 else 0.5,
            }
        )
    return pd.DataFrame(out)


def make_real_repo(root: Path) -> Path:
    """A repo-like tree holding a copy of the real data/ (version 0.1.0), committed in a fresh git repository."""
    (root / "src" / "sarcoma_review").mkdir(parents=True)
    (root / "src" / "sarcoma_review" / "_version.py").write_text('"""v"""\n\n__version__ = "0.1.0"\n')
    shutil.copytree(REPO_ROOT / "data", root / "data", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "book").mkdir()
    _init(root)
    return root


def _init(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.org")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "config", "tag.gpgsign", "false")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, comparators: bool = True) -> Path:
    """A tiny repo-like tree (version 0.1.0, two studies) committed in a fresh git repository."""
    (root / "src" / "sarcoma_review").mkdir(parents=True)
    (root / "src" / "sarcoma_review" / "_version.py").write_text('"""v"""\n\n__version__ = "0.1.0"\n')
    (root / "data" / "literature").mkdir(parents=True)
    (root / "data" / "literature" / "studies.csv").write_text(STUDIES)
    (root / "data" / "literature" / "outcomes.csv").write_text(OUTCOMES)
    for name in SCHEMA_FILES:
        shutil.copy2(SCHEMA_SOURCE / name, root / "data" / name)
    if comparators:
        (root / "data" / "comparators").mkdir()
        (root / "data" / "comparators" / "photon.csv").write_text(COMPARATORS)
    (root / "book").mkdir()
    (root / "book" / "intro.md").write_text("# Intro\n")
    _init(root)
    return root


def add_study(root: Path) -> None:
    """Add study c2003 (n=20; LC 5-year 80%, OS 5-year 70%) and commit it."""
    with open(root / "data" / "literature" / "studies.csv", "a") as fh:
        fh.write("c2003,Gamma,2003,20,Pelvis,Various,Carbon ions,carbon,toy\n")
    with open(root / "data" / "literature" / "outcomes.csv", "a") as fh:
        fh.write("c2003,LC,5,80,toy\nc2003,OS,5,70,toy\n")
    git(root, "add", "data")
    git(root, "commit", "-q", "-m", "add c2003")


#: Kernel metadata of the tiny books' notebooks.
KERNEL = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}


def notebook(
    path: Path, *cells: str, parameters: str | None = None, title: str | None = None, metadata: dict | None = None
) -> Path:
    """Write a notebook: optional title markdown, optional parameters cell, then code cells;
    ``metadata`` is merged into the notebook's (after :data:`KERNEL`)."""
    nb = nbformat.v4.new_notebook(metadata={**KERNEL, **(metadata or {})})
    if title:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"# {title}"))
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(parameters), metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_toc(root: Path, files: list[str]) -> None:
    """``_toc.yml`` of a tiny book: ``book/intro`` as root, then ``files`` as chapters."""
    (root / "_toc.yml").write_text(
        yaml.safe_dump(
            {"format": "jb-book", "root": "book/intro", "chapters": [{"file": f} for f in files]}, sort_keys=False
        )
    )


def tiny_book(
    root: Path, chapters: dict[str, str], pages: dict[str, str] | None = None, intro: str = "# Tiny\n\nIntro.\n"
) -> Path:
    """A tiny book: ``book/intro.md``, one notebook per ``chapters`` entry (name -> code, titled
    "Chapter"), one Markdown page per ``pages`` entry (name -> text), in that order in the toc; the
    configuration turns Jupyter Book's own execution off; an empty ``data/``."""
    (root / "book").mkdir(parents=True)
    (root / "book" / "intro.md").write_text(intro)
    for name, code in chapters.items():
        notebook(root / "book" / f"{name}.ipynb", code, title="Chapter")
    for name, text in (pages or {}).items():
        (root / "book" / f"{name}.md").write_text(text)
    write_toc(root, [f"book/{n}" for n in [*chapters, *(pages or {})]])
    (root / "_config.yml").write_text(
        yaml.safe_dump(
            {
                "title": "Tiny",
                "author": "Test",
                "only_build_toc_files": True,
                "exclude_patterns": ["_build", "data"],
                "execute": {"execute_notebooks": "off"},
            }
        )
    )
    (root / "data").mkdir()
    return root


#: Hostile strings a careless or malicious analyst may type into a free-text field: markup with script
#: and handlers, a Markdown link to javascript:, MyST roles and substitutions, a table-cell break.
HOSTILE = (
    '<script>alert("s")</script>',
    '"><img src=x onerror=alert("i")>',
    "<svg/onload=alert('v')>",
    "[click](javascript:alert('l'))",
    "{raw}`html` <b id=injected>B</b>",
    "| $x$ {{ title }} *e* _u_ `c`",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
)


def free_text_columns(data: Path) -> dict[str, list[str]]:
    """``{"group/table": [column, ...]}``: every text column of every table that takes any text (no
    ``allowed`` list, no ``pattern``, not part of a key)."""
    from sarcoma_review.data.schemas import read_spec

    out: dict[str, list[str]] = {}
    for schema in sorted(Path(data).glob("*/*.schema.yaml")):
        group, table = schema.parent.name, schema.name[: -len(".schema.yaml")]
        spec = read_spec(schema, group, table)
        keys = set(spec.primary_key) | {c for fk in spec.foreign_keys for c in fk["columns"]}
        cols = [
            c.name
            for c in spec.columns
            if c.type == "string" and c.allowed is None and c.pattern is None and c.name not in keys
        ]
        if cols:
            out[f"{group}/{table}"] = cols
    return out


def make_hostile(data: Path, columns: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Put a :data:`HOSTILE` string after the text of every free-text cell (``columns``, default
    :func:`free_text_columns`) of a data copy, except cells a schema's ``row_rules`` bind (the code reads
    those); the text before it stays, so code reading a prefix still can. Returns the columns changed."""
    import csv
    import re

    from sarcoma_review.data.row_rules import read_row_rules

    columns = free_text_columns(data) if columns is None else columns
    for name, cols in columns.items():
        path = Path(data) / f"{name}.csv"
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = list(rows[0].keys()) if rows else []
        rules = read_row_rules(Path(data) / f"{name}.schema.yaml", header)
        for i, row in enumerate(rows):
            bound = {r.column for r in rules if re.fullmatch(r.when_pattern, row[r.when_column])}
            for col in cols:
                if row[col].strip() and col not in bound:  # a row rule's cell is read by code: not free text
                    row[col] = f"{row[col]} {HOSTILE[(i + len(col)) % len(HOSTILE)]}"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return columns


def set_context(monkeypatch, **changes):
    """Work under the current build context with ``changes`` (``data_dir``, ``cache_dir``, ``reads_log``)
    until the test ends (:func:`sarcoma_review.paths.context`)."""
    import dataclasses

    from sarcoma_review import paths

    ctx = dataclasses.replace(paths.context(), **changes)
    monkeypatch.setattr(paths, "_contexts", [ctx])
    return ctx


def r_value(case: dict, key: str) -> float:
    """R's value of ``key`` in a fixture case, as the book should report it: metafor's ``predict()`` gives a
    prediction interval for two series too (t with one degree of freedom), which the book does not show
    (Methods: from three series on), so with ``k < 3`` the expected bounds are NaN."""
    if key in ("pi_lb", "pi_ub") and int(case["k"]) < 3:
        return float("nan")
    return case[key]
