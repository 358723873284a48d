"""Property-based robustness of the loaders: malformed CSV text ends in valid data or a DataValidationError.

Hypothesis runs derandomized (the same examples every run) with a modest number of examples, so
the suite stays fast and a failure reproduces. Each example rewrites one table of a private copy
of ``data/`` and loads it; anything but a loaded table or
:class:`sarcoma_review.errors.DataValidationError` (an AssertionError, a pandas/pandera error, a
TypeError...) fails the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import helpers
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarcoma_review import paths
from sarcoma_review.data import loaders
from sarcoma_review.errors import DataValidationError

ROBUST = settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TABLES = ["literature/studies", "literature/outcomes", "ifosfamide/patients", "comparators/comparators"]
#: Pieces that trip CSV and number parsing: quotes, separators, line ends, NUL, numbers Python accepts
#: but a CSV should not ("1_000", "inf", non-ASCII digits), a byte-order mark, markup.
PIECES = [
    ",",
    '"',
    '""',
    "\n",
    "\r\n",
    "\r",
    "\t",
    ";",
    " ",
    "\x00",
    "\ufeff",
    "nan",
    "NaN",
    "inf",
    "-1",
    "1e309",
    "1_000",
    "١٢",
    "½",
    "True",
    "",
    "<b>",
    "Carbon ions",
    "LC",
    "5",
    "100",
    "0",
    "é",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("robust") / "data"
    shutil.copytree(paths.REPO_ROOT / "data", d)
    return d


def _load(data: Path, table: str, text: str | bytes) -> pd.DataFrame | None:
    """Write ``text`` as ``table``'s CSV, load it, restore the original; the loaded frame or None."""
    group, name = table.split("/")
    path = data / group / f"{name}.csv"
    original = (paths.REPO_ROOT / "data" / group / f"{name}.csv").read_bytes()
    try:
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        try:
            return loaders.load_table(group, name, data)
        except DataValidationError as exc:
            assert str(exc), "a DataValidationError must say what is wrong"
            assert exc.problems, "a DataValidationError must list at least one problem"
            return None
    finally:
        path.write_bytes(original)


@st.composite
def mutated(draw) -> tuple[str, str]:
    """A real table with a few insertions, deletions and replacements of troublesome pieces."""
    table = draw(st.sampled_from(TABLES))
    text = list((paths.REPO_ROOT / "data" / f"{table}.csv").read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = list(draw(st.sampled_from(PIECES) | st.text(max_size=4)))
        if op == "insert":
            text[pos:pos] = piece
        elif op == "delete":
            del text[pos : pos + draw(st.integers(1, 30))]
        else:
            text[pos : pos + draw(st.integers(1, 6))] = piece
    return table, "".join(text)


@st.composite
def cell_edits(draw) -> tuple[str, str]:
    """A real table with one cell replaced by arbitrary text (quoted so the CSV stays well-formed)."""
    table = draw(st.sampled_from(TABLES))
    lines = (paths.REPO_ROOT / "data" / f"{table}.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = draw(st.integers(1, min(5, len(lines) - 1)))
    col = draw(st.integers(0, len(header) - 1))
    import csv
    import io

    rec = next(csv.reader([lines[row]]))
    rec[col] = draw(st.sampled_from(PIECES) | st.text(max_size=12))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(rec)
    lines[row] = buf.getvalue().rstrip("\n")
    return table, "\n".join(lines) + "\n"


@ROBUST
@given(case=mutated())
def test_mutated_tables_load_or_raise_data_validation_error(data, case):
    table, text = case
    _load(data, table, text)


@ROBUST
@given(case=cell_edits())
def test_any_cell_value_loads_or_raises_data_validation_error(data, case):
    table, text = case
    df = _load(data, table, text)
    if df is not None:  # accepted: then every declared non-text column has its declared dtype
        spec = loaders.read_spec(data / table.split("/")[0] / f"{table.split('/')[1]}.schema.yaml", *table.split("/"))
        for c in spec.columns:
            if c.type == "integer":
                assert str(df[c.name].dtype) == "Int64"
            elif c.type == "number":
                assert str(df[c.name].dtype) == "float64"


@ROBUST
@given(text=st.text(max_size=300), table=st.sampled_from(TABLES))
def test_arbitrary_text_loads_or_raises_data_validation_error(data, text, table):
    _load(data, table, text)


@ROBUST
@given(blob=st.binary(max_size=200), table=st.sampled_from(TABLES))
def test_arbitrary_bytes_load_or_raise_data_validation_error(data, blob, table):
    _load(data, table, blob)


@pytest.mark.parametrize(
    "text, expected",
    [
        (",,,\n,,,\n", "a header line naming the columns"),  # was an AssertionError
        ("\r\r\r", "a header line naming the columns"),
        ('"\n', "well-formed CSV"),
    ],
)
def test_degenerate_files_name_the_problem(data, text, expected):
    try:
        with pytest.raises(DataValidationError, match=expected):
            loaders.validate_paths([_write(data, "literature/studies", text)])
    finally:
        _restore(data, "literature/studies")


@pytest.mark.parametrize("value", ["1_000", "١٢", "½", "inf", "nan", "0x10"])
def test_numbers_python_accepts_but_a_csv_should_not_are_rejected(data, value):
    """``float()`` accepts "1_000", "١٢" (Arabic-Indic digits), "inf", "nan": a count of patients must be ASCII
    digits."""
    path = paths.REPO_ROOT / "data" / "literature" / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    rec = lines[1].split(",")
    rec[3] = value  # n_patients
    text = "\n".join([lines[0], ",".join(rec), *lines[2:]]) + "\n"
    try:
        with pytest.raises(
            DataValidationError,
            match=r"line 2 \(row 1\), column 'n_patients': expected a "
            r"positive integer",
        ):
            loaders.validate_paths([_write(data, "literature/studies", text)])
    finally:
        _restore(data, "literature/studies")


def test_byte_order_mark_is_not_part_of_the_first_column(data):
    """Spreadsheets save "CSV UTF-8" with a BOM: the table still loads, with the real column names."""
    text = "\ufeff" + (paths.REPO_ROOT / "data" / "literature" / "studies.csv").read_text(encoding="utf-8")
    try:
        df = loaders.load_table("literature", "studies", data) if _write(data, "literature/studies", text) else None
        assert df is not None and df.columns[0] == "study_id"
        assert len(df) == len(pd.read_csv(paths.REPO_ROOT / "data" / "literature" / "studies.csv"))
    finally:
        _restore(data, "literature/studies")


def _write(data: Path, table: str, text: str) -> Path:
    p = data / f"{table}.csv"
    p.write_text(text, encoding="utf-8")
    return p


def _restore(data: Path, table: str) -> None:
    shutil.copy2(paths.REPO_ROOT / "data" / f"{table}.csv", data / f"{table}.csv")


def _set_first_rate(path: Path, value: str) -> float:
    """Write ``value`` into the first data row's ``rate_percent`` of ``path``; return the rate it had."""
    header, row, *rest = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = row.rstrip("\n").split(",")
    i = header.strip().split(",").index("rate_percent")
    old = float(fields[i])
    path.write_text(header + ",".join(fields[:i] + [value] + fields[i + 1 :]) + "\n" + "".join(rest), encoding="utf-8")
    return old


def test_validated_tables_are_memoised_by_content_never_stale(data_copy: Path):
    """The loader memo (validated frames keyed by the bytes read): a repeated load equals the first and
    is a copy the caller may change; an edited CSV or schema in the same process is validated again,
    so a bad edit after a good load still fails and a good edit shows its new value."""
    first = loaders.load_outcomes(data_copy)
    again = loaders.load_outcomes(data_copy)
    pd.testing.assert_frame_equal(first, again)
    again.loc[0, "rate_percent"] = -1.0  # the caller's copy, not the memo's
    pd.testing.assert_frame_equal(loaders.load_outcomes(data_copy), first)

    path = data_copy / "literature" / "outcomes.csv"
    text = path.read_text(encoding="utf-8")
    new_rate = 100.0 if float(first.loc[0, "rate_percent"]) != 100.0 else 99.0
    _set_first_rate(path, f"{new_rate:g}")
    assert loaders.load_outcomes(data_copy).loc[0, "rate_percent"] == new_rate
    _set_first_rate(path, "101")
    with pytest.raises(DataValidationError, match="rate_percent"):
        loaders.load_outcomes(data_copy)
    path.write_text(text, encoding="utf-8")  # valid again: its frame comes back
    pd.testing.assert_frame_equal(loaders.load_outcomes(data_copy), first)
    # a schema edit (here: a narrower allowed range) is seen too
    schema = data_copy / "literature" / "outcomes.schema.yaml"
    assert "maximum: 100" in schema.read_text(encoding="utf-8")
    schema.write_text(schema.read_text(encoding="utf-8").replace("maximum: 100", "maximum: 1"), encoding="utf-8")
    with pytest.raises(DataValidationError, match="rate_percent"):
        loaders.load_outcomes(data_copy)


def test_validated_tables_on_disk_are_keyed_by_content(data_copy: Path, tmp_path: Path, monkeypatch):
    """The build's disk memo of validated tables (read by the chapter processes): a frame read back
    equals the validated one; an edited table is validated again (a bad edit still fails) and gets its
    own memo file; nothing is written without the folder set."""
    folder = tmp_path / "tables"
    monkeypatch.setattr(loaders, "_VALIDATED", {})  # as in a fresh chapter process
    first = loaders.load_outcomes(data_copy)
    assert not folder.exists()
    helpers.set_context(monkeypatch, cache_dir=folder.parent)
    monkeypatch.setattr(loaders, "_VALIDATED", {})
    pd.testing.assert_frame_equal(loaders.load_outcomes(data_copy), first)
    written = set(folder.glob("*.pkl"))
    assert written
    monkeypatch.setattr(loaders, "_VALIDATED", {})
    pd.testing.assert_frame_equal(loaders.load_outcomes(data_copy), first)  # from the disk memo
    assert set(folder.glob("*.pkl")) == written

    path = data_copy / "literature" / "outcomes.csv"
    old_rate = _set_first_rate(path, "101")
    monkeypatch.setattr(loaders, "_VALIDATED", {})
    with pytest.raises(DataValidationError, match="rate_percent"):
        loaders.load_outcomes(data_copy)
    new_rate = 100.0 if old_rate != 100.0 else 99.0
    _set_first_rate(path, f"{new_rate:g}")
    monkeypatch.setattr(loaders, "_VALIDATED", {})
    assert loaders.load_outcomes(data_copy).loc[0, "rate_percent"] == new_rate
    assert len(set(folder.glob("*.pkl")) - written) >= 1
