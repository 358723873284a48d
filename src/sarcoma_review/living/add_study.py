"""``review add-study``: add one literature series and its landmark rates without hand-editing two files.

:func:`add_study`

1. checks the study's fields before touching anything: a new ``study_id`` (not already in
   ``literature/studies.csv``), a ``particle`` that ``literature/particle_groups.csv`` maps to a
   group (the group written is the mapped one; a ``particle_group`` given and different is an
   error), at least one rate, each ``ENDPOINT:YEARS=PERCENT`` once;
2. computes the pooled estimates of the data as they are (:func:`current_estimates`);
3. appends one row to ``literature/studies.csv`` and one per rate to ``literature/outcomes.csv``,
   each with its provenance (``source``: where the value is printed);
4. validates every table of the data folder (schemas, keys, foreign keys); on any failure both
   files are restored byte for byte and the error is raised (nothing is lost, nothing half-written);
5. recomputes the estimates and returns, for every analysis the new rates enter, the pooled
   estimate before and after (all studies, and the new study's particle group).

The command line (:mod:`sarcoma_review.cli`) gathers the fields from options or, in a terminal,
asks for them one by one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.data.schemas import ID_PATTERN, ID_RULE
from sarcoma_review.data.vocabulary import ENDPOINT_NAMES, landmark_name
from sarcoma_review.errors import DataValidationError, ReviewError, UsageError
from sarcoma_review.living.analyses import PoolFn, current_estimates, standard_analyses
from sarcoma_review.paths import REPO_ROOT

#: The study fields every data folder needs (``particle_group`` is derived).
STUDY_FIELDS = ("study_id", "first_author", "year", "n_patients", "site", "histology", "particle", "source")
#: The further columns of ``literature/studies.csv`` since the 2026-12 update (required ones where its schema
#: says so): written only where the data folder's table has the column.
EXTRA_STUDY_FIELDS = (
    "patient_group",
    "n_chordoma",
    "setting",
    "n_definitive",
    "n_postoperative",
    "centre",
    "accrual_start",
    "accrual_end",
    "median_followup_months",
    "overlap_group",
    "origin",
    "citation",
    "identifier",
    "address",
    "access",
)
#: The rate columns of ``literature/outcomes.csv`` beyond key, rate and source (likewise).
EXTRA_RATE_FIELDS = ("endpoint_as_named", "access", "address", "quote")
_RATE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(\d+(?:\.\d+)?)\s*=\s*(\d+(?:\.\d+)?)\s*$")
#: Option of the command line that gives each column of the new rows (for messages about a bad value).
_OPTION = {
    "study_id": "--study-id",
    "first_author": "--first-author",
    "year": "--year",
    "n_patients": "--n-patients",
    "site": "--site",
    "histology": "--histology",
    "particle": "--particle",
    "particle_group": "--particle",
    "source": "--source",
    **{f: "--" + f.replace("_", "-") for f in EXTRA_STUDY_FIELDS},
    "endpoint_as_named": "--rate",
    "quote": "--quote",
}


@dataclass(frozen=True)
class Rate:
    """One landmark rate of the new study."""

    endpoint: str
    horizon_years: int
    rate_percent: float

    @property
    def label(self) -> str:
        return f"{self.endpoint}:{self.horizon_years}={self.rate_percent:g}"


def parse_rate(text: str) -> Rate:
    """``"LC:5=70"`` (endpoint, landmark in years, percent) -> :class:`Rate`; anything else is a :class:`UsageError`."""
    if "%" in text:
        raise UsageError(
            f"rate {text!r}: write the percent as a number without '%' (e.g. LC:5=70), as outcomes.csv holds it"
        )
    m = _RATE.match(text)
    if not m:
        raise UsageError(
            f"rate {text!r} is not ENDPOINT:YEARS=PERCENT; write e.g. LC:5=70 (endpoints {', '.join(ENDPOINT_NAMES)})"
        )
    endpoint = m.group(1)  # as outcomes.csv must hold it: "os" is not an endpoint code there either
    if endpoint not in ENDPOINT_NAMES:
        raise UsageError(f"rate {text!r}: unknown endpoint {m.group(1)!r}; use one of {', '.join(ENDPOINT_NAMES)}")
    years = float(m.group(2))
    if years != int(years):
        raise UsageError(f"rate {text!r}: the landmark must be whole years (e.g. LC:5=70)")
    return Rate(endpoint, int(years), float(m.group(3)))


def _id_pattern(data_dir: Path) -> str:
    """The ``study_id`` pattern of ``literature/studies.schema.yaml`` (the validator's own rule), else
    :data:`~sarcoma_review.data.schemas.ID_PATTERN`."""
    from sarcoma_review.data.schemas import read_spec

    path = Path(data_dir) / "literature" / "studies.schema.yaml"
    try:
        return read_spec(path, "literature", "studies").column("study_id").pattern or ID_PATTERN
    except (OSError, KeyError, ReviewError):
        return ID_PATTERN  # a broken schema is reported by the validator, naming it


def _option_message(
    exc: DataValidationError, studies_csv: Path, outcomes_csv: Path, saved: Mapping[Path, bytes], rates: Sequence[Rate]
) -> str:
    """The validator's message, said in the command's own terms when every problem is in a new row:
    the option that gave the bad value (``--n-patients``, ``--rate LC:5=...``) instead of a CSV line."""

    def old_rows(p: Path) -> int:
        return max(0, len([ln for ln in saved[p].decode("utf-8").splitlines() if ln.strip()]) - 1)

    if exc.path.resolve() == studies_csv.resolve():
        first, names = old_rows(studies_csv) + 1, lambda row, col: _OPTION.get(col or "")
    elif exc.path.resolve() == outcomes_csv.resolve():
        first = old_rows(outcomes_csv) + 1

        def names(row: int, col: str | None) -> str | None:
            i = row - first
            return (
                f"--rate {rates[i].label}"
                if 0 <= i < len(rates) and col in ("rate_percent", "horizon_years", "endpoint")
                else None
            )
    else:
        return str(exc)
    parts = []
    for row, col, expected, got in exc.problems:
        option = names(row, col) if row is not None and row >= first else None
        if option is None:
            return str(exc)
        parts.append(f"{option} (column {col!r}): expected {expected}, got {got}")
    return "; ".join(parts)


def particle_groups(data_dir: Path) -> dict[str, str]:
    """``particle`` as printed -> ``particle_group``, from ``literature/particle_groups.csv``."""
    path = Path(data_dir) / "literature" / "particle_groups.csv"
    if not path.is_file():
        raise UsageError(
            f"{path} not found; the data folder needs literature/particle_groups.csv "
            "(the mapping of each printed particle to its analysis group)"
        )
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(df["particle"], df["particle_group"], strict=True))


@dataclass
class EstimateChange:
    """One pooled estimate before and after the new study (None when it did not exist)."""

    analysis_id: str
    label: str
    subgroup: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None

    def describe(self) -> str:
        def one(row: Mapping[str, Any] | None) -> str:
            if row is None:
                return "none"
            k = int(row["k"])
            if k < 2:  # one series is that series, never a pooled estimate
                return f"one series only ({_pct(row['estimate'])}), not pooled"
            return f"{_pct(row['estimate'])} (95% CI {_pct(row['ci_low'])} to {_pct(row['ci_high'])}), {k} series"

        who = "all series" if self.subgroup is None else f"{self.subgroup} series"
        return f"{self.label}, {who}: {one(self.before)} -> {one(self.after)}"


def _pct(v: Any) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{float(v):.1f}%"  # the estimates table is in percent


@dataclass
class AddStudyResult:
    """What :func:`add_study` wrote and how the pooled estimates moved."""

    study_id: str
    particle_group: str
    files: list[Path]
    changes: list[EstimateChange] = field(default_factory=list)


def _csv_line(values: Sequence[Any], newline: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _append(path: Path, rows: Sequence[Sequence[Any]]) -> None:
    raw = path.read_bytes()
    newline = "\r\n" if b"\r\n" in raw else "\n"
    text = raw.decode("utf-8")
    if text and not text.endswith(("\n", "\r")):
        text += newline
    text += "".join(_csv_line(r, newline) for r in rows)
    path.write_bytes(text.encode("utf-8"))


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def _required(data_dir: Path, table: str) -> set[str]:
    """The required columns of ``literature/<table>`` by its schema file."""
    from sarcoma_review.data.schemas import read_spec, schema_path

    path = schema_path(data_dir, "literature", table)
    return {c.name for c in read_spec(path, "literature", table).columns if c.required}


def _primary(df: pd.DataFrame) -> pd.DataFrame:
    """The primary-model rows of an estimates table (one per analysis and subgroup)."""
    if "model" in df.columns and df["model"].notna().any():
        models = df["model"].dropna().unique()
        first = df["model"].iloc[0]
        if len(models) > 1:
            df = df[df["model"] == first]
    return df


def _pick(df: pd.DataFrame | None, analysis_id: str, subgroup_value: str | None) -> dict[str, Any] | None:
    if df is None:
        return None
    sel = df[df["analysis_id"] == analysis_id]
    if subgroup_value is None:  # all series: no subgroup column (empty or missing)
        sel = sel[sel["subgroup_column"].isna() | (sel["subgroup_column"].astype(str) == "")]
    else:
        sel = sel[(sel["subgroup_column"] == "particle_group") & (sel["subgroup_value"].astype(str) == subgroup_value)]
    sel = _primary(sel)
    return None if sel.empty else sel.iloc[0].to_dict()


def _headers(
    data_dir: Path, study: Mapping[str, Any], studies_csv: Path, outcomes_csv: Path
) -> tuple[list[str], list[str]]:
    """The two files' headers, once every field the study needs is given."""
    for p in (studies_csv, outcomes_csv):
        if not p.is_file():
            raise UsageError(
                f"{p} not found; --data must name a data folder laid out like data/ "
                "(literature/studies.csv and literature/outcomes.csv)"
            )
    s_header, o_header = _header(studies_csv), _header(outcomes_csv)
    need = [f for f in EXTRA_STUDY_FIELDS if f in s_header and f in _required(data_dir, "studies")]
    need += [
        f
        for f in ("quote", "address", "access")
        if f in o_header and f in _required(data_dir, "outcomes") and f not in need
    ]
    missing = [f for f in (*STUDY_FIELDS, *need) if study.get(f) in (None, "")]
    if missing:
        raise UsageError(
            "missing "
            + ", ".join("--" + f.replace("_", "-") for f in missing)
            + "; give every field of the study (see `review add-study --help`)"
        )
    return s_header, o_header


def _new_study_id(data_dir: Path, study: Mapping[str, Any], studies_csv: Path) -> str:
    """The study's id, once it is a well-formed identifier not yet in the data."""
    sid = str(study["study_id"]).strip()
    pattern = _id_pattern(data_dir)
    if not re.fullmatch(pattern, sid):
        raise UsageError(
            f"--study-id {sid!r} is not an identifier of {ID_RULE} (pattern {pattern} in "
            "literature/studies.schema.yaml); write e.g. smith2025"
        )
    existing = pd.read_csv(studies_csv, dtype=str, keep_default_na=False)
    if sid in set(existing["study_id"]):
        raise UsageError(
            f"study_id {sid!r} is already in {studies_csv.name}; choose a new id "
            "(first author in lower case + year, with a suffix if needed, e.g. smith2025b)"
        )
    return sid


def _particle_group(data_dir: Path, study: Mapping[str, Any], particle_group: str | None) -> tuple[str, str]:
    """The study's particle as written and the group literature/particle_groups.csv maps it to."""
    groups = particle_groups(data_dir)
    particle = str(study["particle"]).strip()
    if particle not in groups:
        raise UsageError(
            f"particle {particle!r} has no row in literature/particle_groups.csv "
            f"(known: {', '.join(repr(k) for k in groups)}); write it as printed in one of "
            "those forms, or add a row there with its group and rationale first"
        )
    group = groups[particle]
    if particle_group not in (None, "") and particle_group != group:
        raise UsageError(
            f"particle {particle!r} maps to group {group!r} in literature/particle_groups.csv, "
            f"not {particle_group!r}; drop --particle-group or fix the mapping"
        )
    return particle, group


def _landmarks(rates: Sequence[Rate]) -> set[tuple[str, int]]:
    """The (endpoint, years) of the rates, each given once and at least one."""
    if not rates:
        raise UsageError("no rate given; add at least one --rate ENDPOINT:YEARS=PERCENT (e.g. --rate LC:5=70)")
    seen: set[tuple[str, int]] = set()
    for r in rates:
        key = (r.endpoint, r.horizon_years)
        if key in seen:
            raise UsageError(
                f"rate {r.endpoint}:{r.horizon_years} is given twice; give each endpoint and landmark once"
            )
        seen.add(key)
    return seen


def _rate_rows(
    sid: str, study: Mapping[str, Any], rates: Sequence[Rate], r_source: str, o_header: list[str]
) -> list[list[Any]]:
    rate_rows = []
    for r in rates:
        rr = {
            "study_id": sid,
            "endpoint": r.endpoint,
            "horizon_years": r.horizon_years,
            "rate_percent": f"{r.rate_percent:g}",
            "source": f"{r_source} ({landmark_name(r.endpoint, r.horizon_years)})",
            "endpoint_as_named": ENDPOINT_NAMES.get(r.endpoint, r.endpoint),
            "access": study.get("access"),
            "address": study.get("address"),
            "quote": study.get("quote"),
        }
        rate_rows.append([rr.get(c) for c in o_header])
    return rate_rows


def add_study(
    data_dir: Path,
    study: Mapping[str, Any],
    rates: Sequence[Rate],
    *,
    rate_source: str | None = None,
    particle_group: str | None = None,
    root: Path = REPO_ROOT,
    compare: bool = True,
    pool: PoolFn | None = None,
) -> AddStudyResult:
    """Add one study and its rates to ``data_dir/literature`` (see the module docstring).

    Parameters
    ----------
    data_dir
        A data folder laid out like ``data/``.
    study
        :data:`STUDY_FIELDS` (``source``: where the series is printed, e.g. ``"Smith 2025 Table 2"``), and
        the :data:`EXTRA_STUDY_FIELDS` the data folder's ``studies.csv`` has (those its schema requires must
        be given), plus ``quote``: the sentence that gives the rates (written with each rate, with the
        study's ``address`` and ``access``).
    rates
        Landmark rates (:func:`parse_rate`).
    rate_source
        Where the rates are printed (default: the study's ``source``).
    particle_group
        Optional check: the group the caller expects ``particle`` to map to.
    compare
        Compute the pooled estimates before and after (off for speed in tests of the writing alone).
    pool
        Pooling function for those estimates (default: the pooled pages' primary model).

    Raises
    ------
    UsageError
        A missing field, a duplicate ``study_id`` or rate, or a ``particle`` without a mapping.
    DataValidationError
        The new rows break a schema (both files restored).
    """
    from sarcoma_review.living.build import default_validator

    data_dir = Path(data_dir).resolve()
    lit = data_dir / "literature"
    studies_csv, outcomes_csv = lit / "studies.csv", lit / "outcomes.csv"
    s_header, o_header = _headers(data_dir, study, studies_csv, outcomes_csv)
    sid = _new_study_id(data_dir, study, studies_csv)
    particle, group = _particle_group(data_dir, study, particle_group)
    seen = _landmarks(rates)

    default_validator(data_dir)  # a problem already there is reported as it is, before anything is written
    before = current_estimates(data_dir, pool=pool, root=root) if compare else None
    saved = {p: p.read_bytes() for p in (studies_csv, outcomes_csv)}
    source = str(study["source"]).strip()
    r_source = (rate_source or source).strip()
    try:
        row = {
            **{f: study.get(f) for f in EXTRA_STUDY_FIELDS},
            "study_id": sid,
            **{f: study[f] for f in STUDY_FIELDS if f not in ("study_id", "source")},
            "particle": particle,
            "particle_group": group,
            "source": source,
        }
        _append(studies_csv, [[row.get(c) for c in s_header]])
        _append(outcomes_csv, _rate_rows(sid, study, rates, r_source, o_header))
        default_validator(data_dir)
    except BaseException as exc:
        for p, content in saved.items():
            p.write_bytes(content)
        if isinstance(exc, DataValidationError):
            exc.args = (_option_message(exc, studies_csv, outcomes_csv, saved, rates),)
        if isinstance(exc, ReviewError):
            exc.args = (f"{exc} (study not added: {studies_csv.name} and {outcomes_csv.name} are unchanged)",)
        raise
    result = AddStudyResult(sid, group, [studies_csv, outcomes_csv])
    if compare:
        after = current_estimates(data_dir, pool=pool, root=root)
        for a in standard_analyses(root):
            if (a["endpoint"], int(a["horizon_years"])) not in seen:
                continue
            aid = str(a["id"])
            label = landmark_name(a["endpoint"], float(a["horizon_years"]))
            for sub in (None, group):
                result.changes.append(EstimateChange(aid, label, sub, _pick(before, aid, sub), _pick(after, aid, sub)))
    return result
