"""Read and validate the data tables.

Every table is ``<data_dir>/<group>/<table>.csv`` with ``<table>.schema.yaml`` beside it (see
:mod:`sarcoma_review.data.schemas`). Anything wrong with a file (missing, empty, malformed CSV, a column
missing or extra, a value of the wrong type, out of range or not allowed, a duplicate key, a key
unknown to the referenced table) raises :class:`~sarcoma_review.errors.DataValidationError` naming
the file, the line, the column, what was expected and what was found.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sarcoma_review import paths
from sarcoma_review.data import row_rules, tracking
from sarcoma_review.data.schemas import (
    SCHEMA_SUFFIX,
    TableSpec,
    dictionary_frame,
    read_spec,
    schema_path,
    to_pandera,
)
from sarcoma_review.errors import DataValidationError, Problem

__all__ = [
    "DataValidationError",
    "data_dictionary",
    "load_comparators",
    "load_ifosfamide_patients",
    "load_landmark",
    "load_literature",
    "load_outcomes",
    "load_studies",
    "load_table",
    "REQUIRED_TABLES",
    "check_required_tables",
    "validate_all",
    "validate_paths",
]

_TRUE = {"true", "True", "TRUE", "1"}
#: Numbers as written in a CSV: ASCII digits, optional sign, decimals and exponent (not "1_000", "inf", "١٢").
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_FALSE = {"false", "False", "FALSE", "0"}
#: Integer columns hold 64-bit integers (pandas ``Int64``).
_INT64 = 2**63


def _dir(data_dir: Path | None) -> Path:
    return Path(data_dir) if data_dir is not None else paths.data_dir()


#: Tables validated in this process, keyed by content: ``(csv path, schema digest, rows digest)`` ->
#: the validated frame. A chapter calls the loaders dozens of times (every helper loads what it needs)
#: and the pandera validation dominated its time; the key is the bytes read now, so an edited file is
#: validated again (never a stale frame), and each call still records its reads for the build.
_VALIDATED: dict[tuple[str, str, str], pd.DataFrame] = {}
_SPECS: dict[tuple[str, str, str, str], TableSpec] = {}
_MEMO_SIZE = 64


#: Cache folder (under the build context's, :func:`sarcoma_review.paths.context`) where the book build
#: keeps validated tables between processes. The build validates every table before the chapters run;
#: each chapter process then reads the frames instead of validating them again.
TABLE_CACHE = "tables"


def _disk_memo_path(key: tuple[str, str, str]) -> Path | None:
    """The memo file of a validated table: keyed by the schema and row bytes (not the path: the same
    content validates the same), this module's and the schema module's source, and the pandas and
    pandera versions, so a changed table, loader or library never reuses an old frame."""
    folder = paths.context().cache(TABLE_CACHE)
    if folder is None:
        return None
    h = hashlib.sha256(repr((key[1], key[2], _CODE_DIGEST)).encode("utf-8"))
    return Path(folder) / (h.hexdigest() + ".pkl")


def _code_digest() -> str:
    """This module's and the schema module's source as imported, and the pandas and pandera versions:
    what a validated frame is computed by (read once, at import: the code this process runs)."""
    import pandera

    from sarcoma_review.data import schemas

    h = hashlib.sha256(repr((pd.__version__, pandera.__version__)).encode("utf-8"))
    for module in (__file__, schemas.__file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()


_CODE_DIGEST = _code_digest()


def _disk_memo_get(key: tuple[str, str, str]) -> pd.DataFrame | None:
    path = _disk_memo_path(key)
    if path is None:
        return None
    try:
        df = pd.read_pickle(path)  # written by this package's build into its own _build/cache
    except Exception:  # noqa: BLE001 - missing, partial or unreadable: validate instead
        return None
    return df if isinstance(df, pd.DataFrame) else None


def _disk_memo_put(key: tuple[str, str, str], df: pd.DataFrame) -> None:
    import pickle

    path = _disk_memo_path(key)
    if path is None:
        return
    try:
        paths.write_atomic(path, pickle.dumps(df))  # a concurrent reader sees the whole file or none
    except OSError:
        pass  # a memo that cannot be written only costs time


def _spec(data_dir: Path, group: str, table: str, csv_path: Path) -> tuple[TableSpec, str]:
    """The table's schema and the SHA-256 of its file's bytes."""
    sp = schema_path(data_dir, group, table)
    tracking.record_read(sp)  # a schema change (types, allowed values) changes what a chapter gets
    if not sp.exists():
        raise DataValidationError(csv_path, [(None, None, f"a schema file {sp.name} next to the table", "none")])
    raw = sp.read_bytes()  # hashed and parsed from the same bytes
    digest = hashlib.sha256(raw).hexdigest()
    key = (str(sp), group, table, digest)
    if key not in _SPECS:
        if len(_SPECS) >= _MEMO_SIZE:
            _SPECS.clear()
        _SPECS[key] = read_spec(sp, group, table, text=raw.decode("utf-8"))
    return _SPECS[key], digest


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], dict[int, int]]:
    """Header, data rows and the CSV line of each data row; malformed text -> DataValidationError."""
    if not path.exists():
        raise DataValidationError(path, [(None, None, "an existing file (see data/README.md)", "no such file")])
    tracking.record_read(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Excel's "CSV UTF-8") is not data
    except UnicodeDecodeError as exc:
        raise DataValidationError(path, [(None, None, "UTF-8 text", f"undecodable bytes ({exc.reason})")]) from None
    if not text.strip():
        raise DataValidationError(path, [(None, None, "a header line naming the columns", "an empty file")])
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    rows: list[list[str]] = []
    lines: dict[int, int] = {}
    header: list[str] | None = None
    start = 1
    try:
        for rec in reader:
            line = start
            start = reader.line_num + 1
            if not rec or all(not f.strip() for f in rec):
                continue
            if header is None:
                header = [h.strip() for h in rec]
                continue
            rows.append(rec)
            lines[len(rows)] = line
    except csv.Error as exc:
        raise DataValidationError(
            path, [(None, None, f"well-formed CSV (balanced quotes) at line {start}", f"a CSV error: {exc}")]
        ) from None
    if header is None:
        raise DataValidationError(path, [(None, None, "a header line naming the columns", "only empty fields")])
    ragged = [
        (i, None, f"{len(header)} fields (as in the header)", f"{len(r)} fields")
        for i, r in enumerate(rows, 1)
        if len(r) != len(header)
    ]
    if ragged:
        raise DataValidationError(path, ragged, lines)
    if not rows:
        raise DataValidationError(path, [(None, None, "at least one data row", "only the header")])
    return header, rows, lines


def _pre_parse(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Empty cells -> NA; numeric/boolean text -> Python values, unparsable text left for pandera to flag."""
    out = df.copy()
    for col in spec.columns:
        if col.name not in out:
            continue
        s = out[col.name].map(lambda v: pd.NA if v.strip() == "" else v.strip())
        if col.type in ("integer", "number"):

            def num(v: object, integer: bool = col.type == "integer") -> object:
                if v is pd.NA:
                    return v if integer else float("nan")
                if not _NUMBER.fullmatch(str(v)):
                    return v
                if integer:
                    if re.fullmatch(r"[+-]?\d+", str(v)):
                        n = int(str(v))  # exactly, not through a float
                    else:
                        f = float(str(v))
                        if not f.is_integer():
                            return v
                        n = int(f)
                    return n if -_INT64 <= n < _INT64 else v  # too large: reported as such
                return float(str(v))

            s = s.map(num)
        elif col.type == "boolean":
            s = s.map(lambda v: v if v is pd.NA else (True if v in _TRUE else False if v in _FALSE else v))
        out[col.name] = s
    return out


def _describe(v: object) -> str:
    v = _scalar(v)
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
        return "an empty cell"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _scalar(v: object) -> object:
    """A numpy/pandas scalar as the Python value it stands for (``np.int64(5)`` -> ``5``), for messages."""
    item = getattr(v, "item", None)
    return item() if callable(item) and not isinstance(v, str) else v


def _failures(exc: pa.errors.SchemaErrors) -> pd.DataFrame:
    fc = exc.failure_cases.copy()
    return fc


def _header_problems(spec: TableSpec, header: list[str]) -> list[Problem]:
    """Problems of the header (repeated columns are reported alone)."""
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        return [(None, h, "each column once in the header", "a repeated column") for h in dup]
    problems: list[Problem] = []
    for h in header:
        if h not in spec.column_names:
            problems.append(
                (
                    None,
                    h,
                    f"only the columns of {spec.group}/{spec.table}{SCHEMA_SUFFIX} ({', '.join(spec.column_names)})",
                    "an extra column",
                )
            )
    for c in spec.column_names:
        if c not in header:
            problems.append((None, c, f"a column {c!r} ({spec.column(c).description})", "no such column"))
    return problems


def _unparsed_cells(df: pd.DataFrame, spec: TableSpec, bad: set, problems: list[Problem]) -> None:
    """Text left in a numeric/boolean column after _pre_parse cannot be parsed: report it per cell here
    (pandera's coercion may fail for the whole column without naming the row, e.g. for "1_000")."""
    for col in spec.columns:
        if col.type == "string" or col.name not in df:
            continue
        for row, v in df[col.name].items():
            if isinstance(v, str):
                bad.add((row, col.name))
                big = col.type == "integer" and _NUMBER.fullmatch(v) and float(v).is_integer()
                problems.append(
                    (row, col.name, col.expected, _describe(v) + (" (too large for a 64-bit integer)" if big else ""))
                )
                df.loc[row, col.name] = float("nan") if col.type == "number" else pd.NA


def _type_problems(df: pd.DataFrame, spec: TableSpec, bad: set, problems: list[Problem]) -> None:
    """Stage 1: types only, so that a wrong type is reported once, as a type error."""
    try:
        to_pandera(spec, with_checks=False).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = _failures(exc)
        for _, r in fc[fc["check"].astype(str).str.startswith("coerce_dtype")].iterrows():
            if pd.isna(r["index"]):
                continue
            row, colname = int(r["index"]), str(r["column"])
            if (row, colname) in bad:
                continue
            bad.add((row, colname))
            problems.append((row, colname, spec.column(colname).expected, _describe(r["failure_case"])))
        for row, colname in bad:
            df.loc[row, colname] = float("nan") if spec.column(colname).type == "number" else pd.NA


def _duplicate_key(
    df: pd.DataFrame, spec: TableSpec, row: int, lines: dict[int, int], seen_rows: set[int]
) -> Problem | None:
    """A repeated primary key on ``row`` (None on its first occurrence or when reported already)."""
    pk = list(spec.primary_key)
    key = tuple(df.loc[row, pk])
    first = next(i for i in df.index if tuple(df.loc[i, pk]) == key)
    if row == first or row in seen_rows:
        return None
    seen_rows.add(row)
    shown = "(" + ", ".join(_describe(_scalar(k)) for k in key) + ")"
    return (
        row,
        ", ".join(pk),
        f"a unique ({', '.join(pk)})",
        f"{shown}, already on line {lines.get(first, first + 1)}",
    )


def _cell_problem(df: pd.DataFrame, spec: TableSpec, r, lines: dict[int, int], seen_rows: set[int]) -> Problem | None:
    """The problem of one failure case of stage 2 naming a row and a column."""
    check = str(r["check"])
    row, colname = int(r["index"]), str(r["column"])
    if check == "not_nullable":
        return (row, colname, "a value (the column is required)", "an empty cell")
    if check == "field_uniqueness":
        first = df.index[df[colname] == df.loc[row, colname]][0]
        if row == first:
            return None
        return (
            row,
            colname,
            "a unique value",
            f"{_describe(r['failure_case'])}, already on line {lines.get(first, first + 1)}",
        )
    if check == "multiple_fields_uniqueness":
        return _duplicate_key(df, spec, row, lines, seen_rows)
    return (row, colname, spec.column(colname).expected, _describe(r["failure_case"]))


def _full_validation(
    df: pd.DataFrame, spec: TableSpec, bad: set, problems: list[Problem], lines: dict[int, int]
) -> pd.DataFrame | None:
    """Stage 2: everything (ranges, allowed values, required cells, keys); None when it failed."""
    try:
        return to_pandera(spec).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = _failures(exc)
    seen_rows: set[int] = set()
    for _, r in fc.iterrows():
        check = str(r["check"])
        if check.startswith(("coerce_dtype", "dtype")) or pd.isna(r["index"]):
            if not any(c == str(r["column"]) for _, c in bad):  # not already reported per cell
                problems.append(
                    (
                        None,
                        str(r["column"]),
                        spec.column(str(r["column"])).expected
                        if str(r["column"]) in spec.column_names
                        else "a valid column",
                        f"{_describe(r['failure_case'])} ({check})",
                    )
                )
            continue
        if (int(r["index"]), str(r["column"])) in bad:
            continue
        p = _cell_problem(df, spec, r, lines, seen_rows)
        if p is not None:
            problems.append(p)
    return None


def _validate_frame(
    path: Path, spec: TableSpec, header: list[str], rows: list[list[str]], lines: dict[int, int]
) -> pd.DataFrame:
    raw = pd.DataFrame(rows, columns=header, index=pd.RangeIndex(1, len(rows) + 1), dtype=object)
    problems = _header_problems(spec, header)
    if problems:
        raise DataValidationError(path, problems, lines)

    df = _pre_parse(raw, spec)
    bad: set[tuple[int, str]] = set()
    _unparsed_cells(df, spec, bad, problems)
    _type_problems(df, spec, bad, problems)
    out = _full_validation(df, spec, bad, problems, lines)
    if problems:
        problems.sort(key=lambda p: (p[0] or 0, spec.column_names.index(p[1]) if p[1] in spec.column_names else -1))
        raise DataValidationError(path, problems, lines)
    if out is None:  # pandera failed without a failure we could name: still a data problem, not a crash
        raise DataValidationError(
            path,
            [
                (
                    None,
                    None,
                    f"a table matching {spec.group}/{spec.table}{SCHEMA_SUFFIX}",
                    "values pandera could not validate",
                )
            ],
            lines,
        )
    return out[spec.column_names].reset_index(drop=True)


def _check_foreign_keys(path: Path, spec: TableSpec, df: pd.DataFrame, data_dir: Path, lines: dict[int, int]) -> None:
    problems: list[Problem] = []
    for fk in spec.foreign_keys:
        rgroup, rtable = fk["references"].split("/")
        ref = load_table(rgroup, rtable, data_dir)
        cols, rcols = list(fk["columns"]), list(fk["reference_columns"])
        known = set(map(tuple, ref[rcols].astype(object).itertuples(index=False, name=None)))
        for i, key in enumerate(df[cols].astype(object).itertuples(index=False, name=None), 1):
            if any(pd.isna(k) for k in key):
                continue
            if key not in known:
                got = (
                    _describe(_scalar(key[0]))
                    if len(key) == 1
                    else "(" + ", ".join(_describe(_scalar(k)) for k in key) + ")"
                )
                problems.append(
                    (
                        i,
                        ", ".join(cols),
                        f"a {'/'.join(rcols)} listed in data/{rgroup}/{rtable}.csv",
                        f"{got} (unknown)",
                    )
                )
    if problems:
        raise DataValidationError(path, problems, lines)


@tracking.frame_loader
def load_table(group: str, table: str, data_dir: Path | None = None) -> pd.DataFrame:
    """Read ``<data_dir>/<group>/<table>.csv``, validate it against its schema file, return it.

    Columns come back in schema order with the declared types (``Int64``, ``float64``,
    ``boolean``, object for text; empty cells are missing values). Foreign keys declared in the
    schema are checked against the referenced tables.

    Raises
    ------
    DataValidationError
        The file is missing, empty, malformed or breaks its schema; the message lists every problem.
    """
    d = _dir(data_dir)
    path = d / group / f"{table}.csv"
    spec, schema_digest = _spec(d, group, table, path)
    header, rows, lines = _read_rows(path)
    rows_digest = hashlib.sha256(repr((header, rows)).encode("utf-8")).hexdigest()
    key = (str(path.resolve()), schema_digest, rows_digest)
    if key in _VALIDATED:
        df = _VALIDATED[key].copy()
    else:
        df = _disk_memo_get(key)
        if df is None:
            df = _validate_frame(path, spec, header, rows, lines)
            row_rules.check_row_rules(path, schema_path(d, group, table), df, lines)
            _disk_memo_put(key, df)
    _check_foreign_keys(path, spec, df, d, lines)  # the referenced tables may have changed since
    if key not in _VALIDATED:
        if len(_VALIDATED) >= _MEMO_SIZE:
            _VALIDATED.clear()
        _VALIDATED[key] = df.copy()
    return df


@tracking.frame_loader
def load_studies(data_dir: Path | None = None) -> pd.DataFrame:
    """Table I studies (``literature/studies``).

    ``particle_group`` must be the group that ``literature/particle_groups.csv`` maps the study's
    printed ``particle`` to: the mapping file is the one place the grouping is decided.
    """
    d = _dir(data_dir)
    studies = load_table("literature", "studies", d)
    groups = load_table("literature", "particle_groups", d).set_index("particle")["particle_group"]
    expected = studies["particle"].map(groups)
    bad = [
        (
            i,
            "particle_group",
            f"{expected.iat[i - 1]!r} (the group data/literature/particle_groups.csv gives "
            f"particle {studies['particle'].iat[i - 1]!r})",
            repr(studies["particle_group"].iat[i - 1]),
        )
        for i in range(1, len(studies) + 1)
        if studies["particle_group"].iat[i - 1] != expected.iat[i - 1]
    ]
    if bad:
        raise DataValidationError(d / "literature" / "studies.csv", bad)
    return studies


@tracking.frame_loader
def load_outcomes(data_dir: Path | None = None) -> pd.DataFrame:
    """Table I landmark rates (``literature/outcomes``); an unknown ``study_id`` is an error."""
    return load_table("literature", "outcomes", data_dir)


def _with_centre_keys(studies: pd.DataFrame, data_dir: Path | None) -> pd.DataFrame:
    """``studies`` with ``centre_key`` from ``literature/centres``. A series without a row there (one an
    analyst just added) is its own centre, ``own:<study_id>``, as a series whose text names no centre; a
    data folder without the table (an older release) gets no such column."""
    d = _dir(data_dir)
    if not (d / "literature" / "centres.csv").exists():
        return studies
    centres = load_table("literature", "centres", d)
    out = studies.merge(centres[["study_id", "centre_key"]], on="study_id", how="left", validate="one_to_one")
    out["centre_key"] = out["centre_key"].fillna("own:" + out["study_id"].astype(str))
    return out


@tracking.frame_loader
def load_literature(
    data_dir: Path | None = None, *, horizon_years: float | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Outcomes joined with their study: one row per study x endpoint x horizon.

    The ``source`` columns of the two tables are kept as ``source_study`` and ``source_outcome``.
    ``horizon_years`` keeps only the rows at that horizon (with their index in the whole table),
    ``columns`` only those columns: a chapter that needs only part of the table loads only that part,
    so the build re-executes it only when that part changes (see :mod:`sarcoma_review.data.tracking`).
    """
    studies = _with_centre_keys(load_studies(data_dir), data_dir)
    outcomes = load_outcomes(data_dir)
    # a rate's own provenance (address, what was read, the sentence) keeps the suffix _outcome
    own = [c for c in ("endpoint_as_named", "access", "address", "quote") if c in outcomes.columns]
    outcomes = outcomes.rename(columns={c: f"{c}_outcome" for c in own if c != "endpoint_as_named"})
    merged = outcomes.merge(studies, on="study_id", how="left", suffixes=("_outcome", "_study"), validate="many_to_one")
    lead = [c for c in studies.columns if c not in ("study_id", "source")]
    extra = [c for c in merged.columns if c.endswith("_outcome") and c != "source_outcome"]
    extra = (["endpoint_as_named"] if "endpoint_as_named" in merged.columns else []) + extra
    cols = ["study_id", *lead, "endpoint", "horizon_years", "rate_percent", "source_study", "source_outcome", *extra]
    out = merged[cols]
    if horizon_years is not None:
        out = out[out["horizon_years"].astype(float) == float(horizon_years)]
    if columns is not None:
        out = out[list(columns)]
    return out


@tracking.frame_loader
def load_landmark(endpoint: str, horizon_years: float, data_dir: Path | None = None) -> pd.DataFrame:
    """The rows of :func:`load_literature` for one endpoint at one horizon (index 0..k-1).

    A chapter about one landmark loads only its rows, so the build re-executes it only when those
    rows change (see :mod:`sarcoma_review.data.tracking`). Raises ``ValueError`` naming the landmarks
    the data have when none matches.
    """
    lit = load_literature(data_dir)
    rows = lit[(lit["endpoint"] == endpoint) & (lit["horizon_years"].astype(float) == float(horizon_years))]
    if rows.empty:
        have = (
            lit[["endpoint", "horizon_years"]]
            .drop_duplicates()
            .sort_values(["endpoint", "horizon_years"])
            .itertuples(index=False)
        )
        avail = ", ".join(f"{e} at {h:g} years" for e, h in have)
        raise ValueError(f"no study reports {endpoint} at {float(horizon_years):g} years; the data have {avail}")
    return rows.reset_index(drop=True)


@tracking.frame_loader
def load_ifosfamide_patients(data_dir: Path | None = None) -> pd.DataFrame:
    """Eckert et al. Table 3 as individual patient data (``ifosfamide/patients``)."""
    return load_table("ifosfamide", "patients", data_dir)


@tracking.frame_loader
def load_comparators(data_dir: Path | None = None) -> pd.DataFrame:
    """Photon RT / radiochemotherapy / surgery results cited by the two papers."""
    return load_table("comparators", "comparators", data_dir)


#: The tables the book reads (``<group>/<table>``): a data folder given to ``review validate`` or
#: ``review build`` must hold every one of them (a folder without them is not the review's data).
REQUIRED_TABLES = (
    "literature/studies",
    "literature/outcomes",
    "literature/particle_groups",
    "literature/restatements",
    "cnao/characteristics",
    "cnao/cox",
    "cnao/facts",
    "cnao/landmark_rates",
    "cnao/logrank",
    "ifosfamide/characteristics",
    "ifosfamide/patients",
    "ifosfamide/reported_estimates",
    "ifosfamide/therapy",
    "comparators/comparators",
    "appraisal/certainty_judgements",
    "appraisal/risk_of_bias",
    "appraisal/rob_items",
    "appraisal/rob_overall",
    "appraisal/sources",
    "appraisal/tools",
    "toxicity/events",
)


def check_required_tables(data_dir: Path, required: Sequence[str] = REQUIRED_TABLES) -> None:
    """Raise :class:`DataValidationError` naming the first required table (CSV or schema) missing from
    ``data_dir``, and how many others are missing."""
    d = Path(data_dir)
    missing = [t for t in required if not (d / f"{t}.csv").is_file() or not (d / f"{t}{SCHEMA_SUFFIX}").is_file()]
    if missing:
        first = missing[0]
        more = (
            f" (and {len(missing) - 1} other required table{'s' if len(missing) > 2 else ''} missing)"
            if len(missing) > 1
            else ""
        )
        got = (
            "no such file" if not (d / f"{first}.csv").is_file() else f"no {Path(first).name}{SCHEMA_SUFFIX} beside it"
        )
        raise DataValidationError(
            d / f"{first}.csv",
            [
                (
                    None,
                    None,
                    f"every table the book reads, each a CSV with its schema file beside it (copy "
                    f"data/{first}.csv and its schema from the checkout)",
                    got + more,
                )
            ],
        )


def _tables(d: Path) -> list[tuple[str, str]]:
    found = {(p.parent.name, p.name[: -len(SCHEMA_SUFFIX)]) for p in d.glob(f"*/*{SCHEMA_SUFFIX}")}
    found |= {(p.parent.name, p.stem) for p in d.glob("*/*.csv")}
    return sorted(found)


def validate_all(data_dir: Path | None = None, *, complete: bool = False) -> dict[str, pd.DataFrame]:
    """Load every table under ``data_dir`` (a CSV without a schema file is an error); with ``complete``,
    first require every table of :data:`REQUIRED_TABLES` (:func:`check_required_tables`).

    Returns ``{"<group>/<table>": DataFrame}``.
    """
    d = _dir(data_dir)
    if complete:
        check_required_tables(d)
    return {f"{g}/{t}": load_table(g, t, d) for g, t in _tables(d)}


def validate_paths(paths_: list[Path]) -> None:
    """Validate the given CSV files (``<data_dir>/<group>/<table>.csv``); raise on the first bad one."""
    for p in paths_:
        p = Path(p).resolve()
        load_table(p.parent.name, p.stem, p.parent.parent)


@tracking.frame_loader
def data_dictionary(group: str, table: str, data_dir: Path | None = None) -> pd.DataFrame:
    """Column documentation of ``group/table`` (for the book's Methods chapter)."""
    d = _dir(data_dir)
    sp = schema_path(d, group, table)
    tracking.record_read(sp)
    return dictionary_frame(read_spec(sp, group, table))
