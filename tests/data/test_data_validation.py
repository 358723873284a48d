"""Every table loads; each kind of bad input gives a DataValidationError naming file, line, column."""

from __future__ import annotations

from pathlib import Path

import helpers
import pandas as pd
import pytest
from helpers import PUBLISHED_DATA

from sarcoma_review import paths
from sarcoma_review.data import loaders
from sarcoma_review.errors import DataValidationError

TABLES = [
    "literature/studies",
    "literature/outcomes",
    "literature/particle_groups",
    "literature/restatements",
    "cnao/characteristics",
    "cnao/landmark_rates",
    "cnao/logrank",
    "cnao/cox",
    "cnao/facts",
    "ifosfamide/patients",
    "ifosfamide/characteristics",
    "ifosfamide/therapy",
    "ifosfamide/reported_estimates",
    "comparators/comparators",
]


def test_validate_all_finds_every_table() -> None:
    tables = loaders.validate_all()
    on_disk = {
        f"{c.parent.name}/{c.stem}"
        for c in paths.data_dir().glob("*/*.csv")
        if c.with_name(c.stem + ".schema.yaml").exists()
    }
    assert set(TABLES) <= set(tables) and set(tables) == on_disk
    for name, df in tables.items():
        assert len(df) > 0, name


def test_published_row_counts() -> None:
    """The papers' table sizes, on the frozen copy of the tables as extracted (tests/fixtures/published):
    Table I prints 13 series, each with LC and OS, plus 2 DPFS rows from the Discussion; Table 3 has
    11 patients; 18 comparator rows."""
    assert len(loaders.load_studies(PUBLISHED_DATA)) == 13
    assert len(loaders.load_outcomes(PUBLISHED_DATA)) == 13 * 2 + 2
    assert list(loaders.load_ifosfamide_patients(PUBLISHED_DATA)["patient_id"]) == list(range(1, 12))
    assert len(loaders.load_comparators(PUBLISHED_DATA)) == 18


def test_live_literature_holds_for_any_valid_data() -> None:
    """Whatever studies data/ holds: every study has at least one rate, every rate a study, one rate per
    study, endpoint and landmark, and the published series are all still there (new evidence adds rows)."""
    studies = loaders.load_studies()
    lit = loaders.load_literature()
    assert studies["study_id"].is_unique and len(studies) >= 1
    # a series may report only endpoints or horizons no pool uses (it is shown in the literature chapter)
    assert set(lit["study_id"]) <= set(studies["study_id"])
    assert not lit.duplicated(["study_id", "endpoint", "horizon_years"]).any()
    assert lit["n_patients"].notna().all() and (lit["n_patients"] > 0).all()
    assert lit["rate_percent"].between(0, 100).all()
    published = set(loaders.load_studies(PUBLISHED_DATA)["study_id"])
    table_i = set(loaders.load_table("literature", "table_i")["study_id"])
    assert published <= table_i, "a published Table I series was removed from data/"
    pts = loaders.load_ifosfamide_patients()
    assert pts["patient_id"].is_unique
    comparators = loaders.load_comparators()
    assert len(comparators) >= 1


def test_data_dictionary_lists_columns() -> None:
    dd = loaders.data_dictionary("literature", "outcomes")
    assert list(dd["column"]) == [
        "study_id",
        "endpoint",
        "endpoint_as_named",
        "horizon_years",
        "rate_percent",
        "access",
        "address",
        "quote",
        "source",
    ]
    assert dd.set_index("column").loc["rate_percent", "maximum"] == 100


def test_load_table_records_reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = tmp_path / "reads.log"
    helpers.set_context(monkeypatch, reads_log=log)
    loaders.load_outcomes()
    read = log.read_text().split()
    assert any(p.endswith("literature/outcomes.csv") for p in read)
    assert any(p.endswith("literature/studies.csv") for p in read)  # foreign key check reads studies


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _err(fn, *args) -> str:
    with pytest.raises(DataValidationError) as info:
        fn(*args)
    return str(info.value)


def test_rate_out_of_range(table_i_copy: Path) -> None:
    f = table_i_copy / "literature" / "outcomes.csv"
    _edit(f, "matsunobu2012,LC,5,62,", "matsunobu2012,LC,5,120,")
    msg = _err(loaders.load_outcomes, table_i_copy)
    # matsunobu2012 LC is the 9th data row -> CSV line 10.
    assert (
        "literature/outcomes.csv, line 10 (row 9), column 'rate_percent': expected a number from 0 to 100, got 120"
        in msg
    )


def test_missing_column(table_i_copy: Path) -> None:
    f = table_i_copy / "literature" / "outcomes.csv"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(",".join(row.split(",")[:3] + [row.split(",", 4)[4]]) for row in lines) + "\n")
    msg = _err(loaders.load_outcomes, table_i_copy)
    assert "outcomes.csv, column 'rate_percent': expected a column 'rate_percent'" in msg and "no such column" in msg


def test_extra_column(data_copy: Path) -> None:
    f = data_copy / "literature" / "particle_groups.csv"
    lines = f.read_text().splitlines()
    f.write_text("\n".join([lines[0] + ",colour"] + [row + ",red" for row in lines[1:]]) + "\n")
    msg = _err(loaders.load_table, "literature", "particle_groups", data_copy)
    assert "particle_groups.csv, column 'colour': expected only the columns of literature/particle_groups" in msg
    assert "got an extra column" in msg


def test_wrong_type(table_i_copy: Path) -> None:
    _edit(table_i_copy / "literature" / "studies.csv", "Serizawa,2009,", "Serizawa,two thousand nine,")
    msg = _err(loaders.load_studies, table_i_copy)
    assert (
        "studies.csv, line 2 (row 1), column 'year': expected an integer from 1900 to 2100, got 'two thousand nine'"
        in msg
    )


def test_n_not_positive_integer(table_i_copy: Path) -> None:
    f = table_i_copy / "literature" / "studies.csv"
    _edit(f, "Serizawa,2009,24,", "Serizawa,2009,0,")
    _edit(f, "Staab,2011,40,", "Staab,2011,40.5,")
    msg = _err(loaders.load_studies, table_i_copy)
    assert "2 problems found" in msg
    assert "line 2 (row 1), column 'n_patients': expected a positive integer (>= 1), got 0" in msg
    assert "line 4 (row 3), column 'n_patients': expected a positive integer (>= 1), got '40.5'" in msg


def test_duplicate_study_id(table_i_copy: Path) -> None:
    _edit(table_i_copy / "literature" / "studies.csv", "staab2011,Staab", "ciernik2011,Staab")
    msg = _err(loaders.load_studies, table_i_copy)
    assert "line 4 (row 3), column 'study_id': expected a unique value, got 'ciernik2011', already on line 3" in msg


def test_duplicate_outcome_key(table_i_copy: Path) -> None:
    _edit(table_i_copy / "literature" / "outcomes.csv", "serizawa2009,OS,5,50", "serizawa2009,LC,5,50")
    msg = _err(loaders.load_outcomes, table_i_copy)
    assert (
        "line 3 (row 2), column 'study_id, endpoint, horizon_years': expected a unique (study_id, endpoint, "
        "horizon_years)" in msg
    )
    assert "got ('serizawa2009', 'LC', 5), already on line 2" in msg  # the values as written, not np.int64(5)


@pytest.mark.parametrize(
    "bad_id",
    ["a;b", "../../etc/passwd", "a,b", "smith 2025", "Smith2025", "2025smith", "smith2025\u200b", "smith-2025", ""],
)
def test_study_ids_follow_the_one_id_pattern(data_copy: Path, bad_id: str) -> None:
    """Ids go into file names, URLs and ;-joined lists: the schema allows [a-z][a-z0-9_]* only (an empty
    cell is a missing required value)."""
    from helpers import append_rows

    f = data_copy / "literature" / "studies.csv"
    rows = len(loaders.load_studies(data_copy)) + 1  # the new row, whatever data/ holds today
    append_rows(
        f,
        [
            {
                "study_id": bad_id,
                "first_author": "X",
                "year": 2020,
                "n_patients": 10,
                "histology": "Chordoma",
                "patient_group": "chordoma",
            }
        ],
    )
    msg = _err(loaders.load_studies, data_copy)
    assert f"studies.csv, line {rows + 1} (row {rows}), column 'study_id'" in msg
    if bad_id:
        assert "lower-case letters, digits and _, starting with a letter" in msg and repr(bad_id) in msg


def test_every_id_column_of_the_data_has_the_id_pattern() -> None:
    """study_id wherever it occurs in the literature tables, and the other tables' own ids, use the one pattern."""
    from sarcoma_review.data.schemas import ID_PATTERN, read_spec

    for table, column in [
        ("literature/studies", "study_id"),
        ("literature/outcomes", "study_id"),
        ("literature/restatements", "study_id"),
        ("cnao/facts", "fact_id"),
        ("comparators/comparators", "comparator_id"),
        ("toxicity/events", "event_id"),
        ("ifosfamide/reported_estimates", "estimate_id"),
    ]:
        group, name = table.split("/")
        spec = read_spec(paths.data_dir() / group / f"{name}.schema.yaml", group, name)
        assert spec.column(column).pattern == ID_PATTERN, table


def test_integer_too_large_is_named_as_such(data_copy: Path) -> None:
    _edit(data_copy / "literature" / "studies.csv", "Serizawa,2009,24,", "Serizawa,2009,1e23,")
    msg = _err(loaders.load_studies, data_copy)
    assert "column 'n_patients'" in msg and "got '1e23' (too large for a 64-bit integer)" in msg


@pytest.mark.parametrize(
    "text, words",
    [
        ("- a\n- b\n", "got a YAML list"),
        ("columns: [\n", "YAML that does not parse"),
        ("title: x\n", "no 'columns' key"),
        ("columns:\n- 1\n", "column entry 1 as a mapping with a 'name'"),
        ("columns:\n- name: a\n  type: text\n", "expected a type, one of string"),
        ("columns:\n- name: a\n  type: string\n  allowed: x\n", "'allowed' as a list"),
        ("columns:\n- name: a\n  type: string\n  pattern: '[a-'\n", "'pattern' as a regular expression"),
        ("primary_key: [b]\ncolumns:\n- name: a\n  type: string\n", "primary_key columns among the columns"),
        ("columns:\n- name: a\n  type: string\nforeign_keys:\n- x\n", "each foreign key as"),
    ],
)
def test_a_broken_schema_file_is_a_data_error_naming_it(data_copy: Path, text: str, words: str) -> None:
    (data_copy / "literature" / "outcomes.schema.yaml").write_text(text, encoding="utf-8")
    msg = _err(loaders.validate_all, data_copy)
    assert "outcomes.schema.yaml" in msg and words in msg, msg


def test_a_data_folder_without_the_required_tables_is_refused(tmp_path: Path, data_copy: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert loaders.validate_all(empty) == {}  # nothing to check table by table...
    msg = _err(lambda d: loaders.validate_all(d, complete=True), empty)
    assert "literature/studies.csv" in msg and "no such file" in msg and "other required tables missing" in msg
    (data_copy / "toxicity" / "events.schema.yaml").unlink()
    msg = _err(lambda d: loaders.validate_all(d, complete=True), data_copy)
    assert "toxicity/events.csv" in msg and "no events.schema.yaml beside it" in msg


def test_outcome_for_unknown_study(table_i_copy: Path) -> None:
    _edit(table_i_copy / "literature" / "outcomes.csv", "staab2011,LC,5,62", "nobody1999,LC,5,62")
    msg = _err(loaders.load_outcomes, table_i_copy)
    assert (
        "outcomes.csv, line 6 (row 5), column 'study_id': expected a study_id listed in "
        "data/literature/studies.csv, got 'nobody1999' (unknown)" in msg
    )


def test_unknown_category(table_i_copy: Path) -> None:
    _edit(table_i_copy / "literature" / "studies.csv", "Carbon ions,carbon,", "Carbon ions,photons,")
    msg = _err(loaders.load_studies, table_i_copy)
    assert (
        "line 2 (row 1), column 'particle_group': expected one of 'carbon', 'proton-based', 'mixed', got 'photons'"
        in msg
    )


def test_empty_file(table_i_copy: Path) -> None:
    (table_i_copy / "literature" / "studies.csv").write_text("")
    msg = _err(loaders.load_studies, table_i_copy)
    assert msg.startswith("data/") is False  # tmp copy is outside the repo: absolute path
    assert "literature/studies.csv: expected a header line naming the columns, got an empty file" in msg


def test_header_only(data_copy: Path) -> None:
    f = data_copy / "comparators" / "comparators.csv"
    f.write_text(f.read_text().splitlines()[0] + "\n")
    assert "expected at least one data row, got only the header" in _err(loaders.load_comparators, data_copy)


def test_missing_file(data_copy: Path) -> None:
    (data_copy / "ifosfamide" / "patients.csv").unlink()
    msg = _err(loaders.load_ifosfamide_patients, data_copy)
    assert "ifosfamide/patients.csv: expected an existing file" in msg and "got no such file" in msg


def test_unbalanced_quote(table_i_copy: Path) -> None:
    f = table_i_copy / "literature" / "restatements.csv"
    _edit(f, 'Discussion,"To the best', 'Discussion,"To "the best')
    msg = _err(loaders.load_table, "literature", "restatements", table_i_copy)
    assert "restatements.csv: expected well-formed CSV" in msg and "got a CSV error" in msg


def test_ragged_row(table_i_copy: Path) -> None:
    _edit(table_i_copy / "literature" / "outcomes.csv", "staab2011,OS,5,80,", "staab2011,OS,5,80,extra,")
    msg = _err(loaders.load_outcomes, table_i_copy)
    assert "outcomes.csv, line 7 (row 6): expected 5 fields (as in the header), got 6 fields" in msg


def test_message_relative_to_repo_root() -> None:
    from sarcoma_review.paths import REPO_ROOT

    err = DataValidationError(
        REPO_ROOT / "data/literature/outcomes.csv", [(7, "rate_percent", "a number from 0 to 100", "120")]
    )
    assert (
        str(err) == "data/literature/outcomes.csv, line 8 (row 7), column 'rate_percent': expected a number from 0 to "
        "100, got 120"
    )
    assert err.problems[0][0] == 7 and isinstance(err, ValueError)


def test_validate_paths(data_copy: Path) -> None:
    loaders.validate_paths([data_copy / "cnao" / "cox.csv"])
    _edit(data_copy / "cnao" / "cox.csv", "age,Age,LC,0.10,", "age,Age,LC,1.10,")
    assert "column 'p_value': expected a number from 0 to 1, got 1.1" in _err(
        loaders.validate_paths, [data_copy / "cnao" / "cox.csv"]
    )


def test_types() -> None:
    pts = loaders.load_ifosfamide_patients()
    assert pts["hyperthermia"].dtype == "boolean" and pd.isna(pts.loc[10, "diameter_before_rt_cm"])


def test_particle_group_must_follow_the_mapping_file(table_i_copy):
    """studies.csv says Serizawa 2009 (printed 'Carbon ions') is 'mixed'; the mapping file says carbon."""
    from sarcoma_review.data.loaders import load_literature
    from sarcoma_review.errors import DataValidationError

    path = table_i_copy / "literature" / "studies.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("Retroperitoneum,Various,Carbon ions,carbon,", "Retroperitoneum,Various,Carbon ions,mixed,"),
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError) as exc:
        load_literature(table_i_copy)
    msg = str(exc.value)
    assert "data" in msg and "studies.csv, line 2 (row 1), column 'particle_group'" in msg
    assert "expected 'carbon'" in msg and "got 'mixed'" in msg


def test_schema_files_are_recorded_as_read(data_copy, tmp_path, monkeypatch):
    from sarcoma_review.data.loaders import load_table

    log = tmp_path / "reads.log"
    helpers.set_context(monkeypatch, reads_log=log)
    load_table("comparators", "comparators", data_copy)
    read = log.read_text()
    assert "comparators.schema.yaml" in read and "comparators.csv" in read


# --- text the code reads: column patterns and row rules ----------------------------------------------


def _set_cell(path: Path, key_col: str, key: str, col: str, value: str) -> int:
    """Set ``col`` on the row whose ``key_col`` is ``key``; return that row's line number in the file."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    i = next(i for i, r in enumerate(rows) if r[key_col] == key)
    rows[i][col] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return i + 2


@pytest.mark.parametrize(
    "table, key_col, key, col, value, words",
    [
        # the audit reads the accrual period as month and year (cnao/facts row rule)
        ("cnao/facts", "fact_id", "accrual_end_abstract", "value_as_printed", "Sept. 2018", "a month and a year"),
        (
            "cnao/facts",
            "fact_id",
            "accrual_start_results",
            "value_as_printed",
            "January 2013 <b>x</b>",
            "a month and a year",
        ),
        # the CNAO chapter reads each Cox cell as 'p (low-high)'
        ("cnao/cox", "variable", "age", "as_printed", "0.10 [0.43-1.9]", "matching the pattern"),
        # the ifosfamide audit reads the survivors' shortest follow-up from 'more than N years'
        (
            "ifosfamide/reported_estimates",
            "estimate_id",
            "alive_disease_free",
            "value_as_printed",
            "3 of 11 patients, all for a long time",
            "more than N years",
        ),
    ],
)
def test_text_the_code_reads_is_validated(data_copy: Path, table, key_col, key, col, value, words) -> None:
    line = _set_cell(data_copy / f"{table}.csv", key_col, key, col, value)
    msg = _err(loaders.validate_all, data_copy)
    assert f"{table}.csv" in msg and f"line {line}" in msg and repr(col) in msg and words in msg, msg
    assert repr(value) in msg


def test_a_row_rule_leaves_other_rows_free(data_copy: Path) -> None:
    """Rows the rule does not pick (every fact but accrual) still take any text."""
    _set_cell(data_copy / "cnao/facts.csv", "fact_id", "n_patients_abstract", "value_as_printed", "fifty-four")
    loaders.validate_all(data_copy)


@pytest.mark.parametrize(
    "rules, words",
    [
        ("row_rules: 3\n", "'row_rules' as a list"),
        ("row_rules:\n- column: unit\n", "row rule 1 as {when"),
        ("row_rules:\n- when: {column: nope, pattern: x}\n  column: unit\n  pattern: x\n", "no such column"),
        (
            "row_rules:\n- when: {column: quantity, pattern: x}\n  column: unit\n  pattern: '('\n",
            "a regular expression",
        ),
    ],
)
def test_a_broken_row_rule_is_a_data_error_naming_it(data_copy: Path, rules: str, words: str) -> None:
    schema = data_copy / "cnao" / "facts.schema.yaml"
    text = schema.read_text(encoding="utf-8")
    start, end = text.index("row_rules:"), text.index("\ncolumns:")
    schema.write_text(text[:start] + rules + text[end + 1 :], encoding="utf-8")
    msg = _err(loaders.validate_all, data_copy)
    assert "facts.schema.yaml" in msg and words in msg, msg
