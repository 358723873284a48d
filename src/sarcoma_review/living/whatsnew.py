"""What's new: compare the current data and pooled estimates with the previous frozen release.

:func:`compare` returns a :class:`WhatsNew` with

- the studies added, removed and corrected (``data/literature`` studies and outcomes, by ``study_id``,
  listing each changed field with its value before and after);
- each pooled estimate before and after, with its interval and number of studies; a subgroup of one
  series is never listed as a pooled estimate: it is listed, named, under "Single series" (``kind``);
- the certainty ratings that changed (GRADE, per outcome and population): the previous release's frozen
  ``summary_of_findings.csv`` against the current one (:func:`compare_certainty`); a release frozen before
  ratings existed says so instead;
- the conclusions that changed: a confidence interval that now includes or excludes a comparator
  benchmark (``data/comparators/*.csv`` with columns comparator_id, endpoint, horizon_years,
  rate_percent, matched on endpoint and horizon), and a test p-value crossing 0.05 (``q_p``: the
  subgroup-difference test on rows with a subgroup column and an empty subgroup value or "test",
  heterogeneity otherwise; the current pooling module reports heterogeneity only).

:func:`render_markdown` renders it for ``book/whats-new.md`` and ``CHANGELOG.md``;
:func:`cumulative_table` and :func:`cumulative_chart` show each estimate across releases.
The previous release's data are read from its frozen copy ``releases/<VERSION>/data/``.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.data.schemas import ID_PATTERN
from sarcoma_review.data.vocabulary import analysis_label
from sarcoma_review.pages.render.tables import md_text, p_text
from sarcoma_review.paths import REPO_ROOT

#: Significance threshold for "a test crossing 0.05".
ALPHA = 0.05
#: Tables compared, with their keys (relative to the data folder).
TABLES = {
    "studies": ("literature/studies.csv", ["study_id"]),
    "outcomes": ("literature/outcomes.csv", ["study_id", "endpoint", "horizon_years"]),
}
KEY = ["analysis_id", "subgroup_column", "subgroup_value"]
_SHOWN = ["estimate", "ci_low", "ci_high", "k", "n_patients", "q_p", "endpoint", "horizon_years", "kind", "series"]
SINGLE = "single series"


@dataclass
class WhatsNew:
    """The comparison of the current data/estimates with a previous release (None: first release)."""

    previous_version: str | None
    previous_date: str | None
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    corrected: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Series that left a pool, with why (:func:`left_pools`).
    left: list[dict[str, Any]] = field(default_factory=list)
    #: Columns the compared tables gained (:func:`new_columns`).
    columns: dict[str, list[str]] = field(default_factory=dict)
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)
    conclusions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Certainty ratings that changed (None: not compared, see ``certainty_note``).
    certainty: list[dict[str, Any]] | None = None
    certainty_note: str | None = None


# --- data diff -----------------------------------------------------------------------------------


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else None


def _fmt_key(row: pd.Series | dict, keys: list[str]) -> str:
    return " ".join(str(row[k]) for k in keys)


#: Columns that say where a value comes from, not what it is: a change there is not a corrected value.
PROVENANCE = frozenset({"source", "address", "access", "quote", "citation", "identifier", "endpoint_as_named"})


def diff_table(
    before: pd.DataFrame, after: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """Rows added, rows removed and field changes (key, field, before, after) between two tables (as text).

    Only the columns both tables have are compared, provenance columns (:data:`PROVENANCE`) aside: a
    column new in ``after`` is a change of the data model (see :func:`new_columns`), not a correction."""
    b = before.set_index(keys)
    a = after.set_index(keys)
    added = a.loc[a.index.difference(b.index)].reset_index()
    removed = b.loc[b.index.difference(a.index)].reset_index()
    changes = []
    shared = sorted((set(a.columns) & set(b.columns)) - PROVENANCE)
    for idx in a.index.intersection(b.index).sort_values():
        for col in shared:
            va = a.at[idx, col] if col in a.columns else None
            vb = b.at[idx, col] if col in b.columns else None
            if va != vb:
                key = dict(zip(keys, idx if isinstance(idx, tuple) else (idx,)))
                changes.append({**key, "field": col, "before": vb, "after": va})
    return added, removed, changes


def diff_data(previous_data: Path, current_data: Path) -> tuple[list[dict], list[dict], dict[str, list[dict]]]:
    """Studies added, removed and corrected (by study_id) between two data folders."""
    b_st, a_st = _read(previous_data / TABLES["studies"][0]), _read(current_data / TABLES["studies"][0])
    st_add, st_rem, st_chg = diff_table(b_st, a_st, TABLES["studies"][1])
    b_out, a_out = _read(previous_data / TABLES["outcomes"][0]), _read(current_data / TABLES["outcomes"][0])
    out_add, out_rem, out_chg = diff_table(b_out, a_out, TABLES["outcomes"][1])
    added_ids = set(st_add["study_id"])
    removed_ids = set(st_rem["study_id"])
    added = [dict(r) for _, r in st_add.sort_values("study_id").iterrows()]
    for rec in added:
        rec["outcomes"] = [dict(r) for _, r in a_out[a_out["study_id"] == rec["study_id"]].iterrows()]
    removed = [dict(r) for _, r in st_rem.sort_values("study_id").iterrows()]
    corrected: dict[str, list[dict]] = {}
    for c in st_chg:
        corrected.setdefault(c["study_id"], []).append({"table": "studies", **c})
    for c in out_chg:
        corrected.setdefault(c["study_id"], []).append(
            {"table": "outcomes", **c, "field": f"{c['endpoint']} {c['horizon_years']}-year {c['field']}"}
        )
    for frame, what in ((out_add, "outcome added"), (out_rem, "outcome removed")):
        for _, r in frame.iterrows():
            if r["study_id"] in added_ids | removed_ids:
                continue
            corrected.setdefault(r["study_id"], []).append(
                {
                    "table": "outcomes",
                    "study_id": r["study_id"],
                    "endpoint": r["endpoint"],
                    "horizon_years": r["horizon_years"],
                    "field": f"{r['endpoint']} {r['horizon_years']}-year",
                    "before": r["rate_percent"] if what == "outcome removed" else None,
                    "after": r["rate_percent"] if what == "outcome added" else None,
                    "what": what,
                }
            )
    reasons = _reasons(current_data)
    for rec in removed:
        rec["why"] = reasons.get((rec["study_id"], "n_patients"), "")
    for sid, changes in corrected.items():
        for c in changes:
            if c["table"] == "studies":
                c["why"] = reasons.get((sid, c["field"]), "")
            elif c.get("what") == "outcome added":
                c["why"] = "reported by the series' own publication"
            else:  # a rate Table I printed, changed or gone: the verification's verdict on it
                gone = c.get("what") == "outcome removed"
                c["why"] = (
                    _renamed(a_out, sid, c["endpoint"], c["horizon_years"], c["before"]) if gone else ""
                ) or reasons.get((sid, c["endpoint"]), "")
    return added, removed, dict(sorted(corrected.items()))


def _renamed(outcomes: pd.DataFrame, sid: str, endpoint: str, horizon_years: Any, rate: Any) -> str:
    """For a rate that is gone (``endpoint`` at ``horizon_years``, ``rate`` percent): the endpoint the series'
    own publication gives the same rate under at that horizon, if any."""
    if rate is None:
        return ""
    same = outcomes[
        (outcomes["study_id"] == sid)
        & (outcomes["horizon_years"].astype(float) == float(horizon_years))
        & (outcomes["endpoint"] != endpoint)
        & (pd.to_numeric(outcomes["rate_percent"]) == float(rate))
    ]
    if same.empty:
        return ""
    r = same.iloc[0]
    named = f"{r['endpoint_as_named']} ({r['endpoint']})" if "endpoint_as_named" in same.columns else r["endpoint"]
    return f"its own publication names this rate {named}, a different endpoint"


def _reasons(data_dir: Path) -> dict[tuple[str, str], str]:
    """``{(study_id, field): "verdict: reason"}`` from ``literature/verification.csv`` (Table I against each
    series' own publication), the why of a value that changed; empty when the data have no such table."""
    path = Path(data_dir) / "literature" / "verification.csv"
    if not path.exists():
        return {}
    v = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(r.study_id, r.field): f"{r.verdict}: {r.reason}" for r in v.itertuples()}


def new_columns(previous_data: Path, current_data: Path) -> dict[str, list[str]]:
    """Columns each compared table has now and did not have in the previous release (a data-model change)."""
    out = {}
    for name, (rel, _keys) in TABLES.items():
        b, a = _read(Path(previous_data) / rel), _read(Path(current_data) / rel)
        if b is not None and a is not None:
            cols = [c for c in a.columns if c not in b.columns]
            if cols:
                out[name] = cols
    return out


def left_pools(previous_data: Path, current_data: Path, landmarks: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """Series that were in a pool of the previous release and are not in it now, with why: the series is
    no longer in the review (its publication could not be read), its own publication does not report that
    landmark, or another series of its overlap group stands in for it."""
    from sarcoma_review.data import overlap

    b_st, a_st = _read(Path(previous_data) / TABLES["studies"][0]), _read(Path(current_data) / TABLES["studies"][0])
    b_out, a_out = _read(Path(previous_data) / TABLES["outcomes"][0]), _read(Path(current_data) / TABLES["outcomes"][0])
    if any(x is None for x in (b_st, a_st, b_out, a_out)):
        return []
    reasons = _reasons(current_data)
    now = a_out.merge(a_st, on="study_id", suffixes=("_outcome", ""))
    now["n_patients"] = now["n_patients"].astype(float)
    now["year"] = now["year"].astype(float)
    out = []
    for ep, hz in landmarks:
        was = set(b_out[(b_out["endpoint"] == ep) & (b_out["horizon_years"].astype(float) == float(hz))]["study_id"])
        rows = now[(now["endpoint"] == ep) & (now["horizon_years"].astype(float) == float(hz))]
        kept = set(overlap.independent(rows)["study_id"])
        stood = {m: r.kept for r in overlap.stand_ins(rows).itertuples() for m in r.left_out.split()}
        for sid in sorted(was - kept):
            if sid not in set(a_st["study_id"]):
                why = reasons.get((sid, "n_patients"), "no longer a series of the review")
            elif sid in stood:
                why = f"shared cohort: {stood[sid]} stands in for it (overlap rule)"
            else:
                before = b_out[
                    (b_out["study_id"] == sid)
                    & (b_out["endpoint"] == ep)
                    & (b_out["horizon_years"].astype(float) == float(hz))
                ]["rate_percent"].iat[0]
                v = reasons.get((sid, ep), "")
                why = _renamed(a_out, sid, ep, hz, before) or (
                    "its own publication does not report this landmark" + (f" ({v})" if v else "")
                )
            out.append({"endpoint": ep, "horizon_years": float(hz), "study_id": sid, "why": why})
    return out


# --- estimates -----------------------------------------------------------------------------------


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Round-trip through the frozen CSV format so before/after have the same precision and types."""
    from sarcoma_review.living.store import estimates_csv_bytes, read_estimates_csv

    out = read_estimates_csv(io.BytesIO(estimates_csv_bytes(df)))
    for k in KEY:
        out[k] = out[k].fillna("").astype(str)
    return out


def compare_estimates(before: pd.DataFrame | None, after: pd.DataFrame) -> pd.DataFrame:
    """One row per analysis x subgroup: before and after (estimate, ci_low, ci_high, k, ...) and a status."""
    a = _normalise(after)
    cols = [c for c in _SHOWN if c in a.columns]
    a = a[KEY + cols].drop_duplicates(KEY)
    if before is None:
        b = pd.DataFrame(columns=KEY + cols)
    else:
        b = _normalise(before)
        b = b[KEY + [c for c in cols if c in b.columns]].drop_duplicates(KEY)
    m = b.merge(a, on=KEY, how="outer", suffixes=("_before", "_after"), indicator=True)
    for c in ("endpoint", "horizon_years"):
        m[c] = m[f"{c}_after"].where(m[f"{c}_after"].notna(), m[f"{c}_before"])
        m = m.drop(columns=[f"{c}_before", f"{c}_after"])
    same = pd.Series(True, index=m.index)
    for c in ("estimate", "ci_low", "ci_high", "k"):
        eq = (m[f"{c}_before"] == m[f"{c}_after"]) | (m[f"{c}_before"].isna() & m[f"{c}_after"].isna())
        same &= eq
    m["status"] = m["_merge"].map({"left_only": "removed", "right_only": "new", "both": "unchanged"}).astype(str)
    m.loc[(m["status"] == "unchanged") & ~same, "status"] = "changed"
    m = m.drop(columns="_merge")
    return m.sort_values(KEY).reset_index(drop=True)


def load_comparators(data_dir: Path) -> pd.DataFrame:
    """Comparator benchmarks from ``data_dir/comparators/*.csv`` (files with the needed columns); may be empty."""
    need = ["comparator_id", "endpoint", "horizon_years", "rate_percent"]
    frames = []
    folder = Path(data_dir) / "comparators"
    for p in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        df = pd.read_csv(p)
        if set(need) <= set(df.columns):
            frames.append(df[need])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=need)


def changed_conclusions(est: pd.DataFrame, comparators: pd.DataFrame) -> list[dict[str, Any]]:
    """Intervals that now include/exclude a comparator rate, and p-values crossing :data:`ALPHA`."""
    out = []
    both = est[est["status"].isin(["changed", "unchanged"])]
    for _, r in both.iterrows():
        label = _label(r)
        for _, c in comparators.iterrows():
            if c["endpoint"] != r["endpoint"] or float(c["horizon_years"]) != float(r["horizon_years"]):
                continue
            rate = float(c["rate_percent"])
            inside_b = r["ci_low_before"] <= rate <= r["ci_high_before"]
            inside_a = r["ci_low_after"] <= rate <= r["ci_high_after"]
            if inside_b != inside_a:
                verb = "now includes" if inside_a else "now excludes"
                out.append(
                    {
                        "kind": "comparator",
                        "analysis_id": r["analysis_id"],
                        "subgroup": label,
                        "comparator_id": c["comparator_id"],
                        "rate_percent": rate,
                        "text": f"{label}: the 95% CI {verb} comparator {c['comparator_id']} ({rate:g}%): "
                        f"{_ci(r, 'before')} → {_ci(r, 'after')}.",
                    }
                )
        pb, pa = r.get("q_p_before"), r.get("q_p_after")
        if pd.notna(pb) and pd.notna(pa) and (pb < ALPHA) != (pa < ALPHA):
            test = (
                "subgroup-difference test"
                if r["subgroup_column"] and r["subgroup_value"] in ("", "test")
                else "heterogeneity test"
            )
            out.append(
                {
                    "kind": "p_crossing",
                    "analysis_id": r["analysis_id"],
                    "subgroup": label,
                    "test": test,
                    "text": f"{label}: {test} p crossed {ALPHA}: {p_text(pb)} → {p_text(pa)}.",
                }
            )
    return out


_SOF_KEY = ["endpoint", "horizon_years", "population"]


def current_sof(data_dir: Path, root: Path = REPO_ROOT) -> tuple[pd.DataFrame | None, str | None]:
    """The summary-of-findings table for ``data_dir`` (:func:`sarcoma_review.pages.summary.load_sof`), or
    ``(None, why)`` when the data cannot rate certainty (e.g. no ``appraisal/certainty_judgements.csv``)."""
    from sarcoma_review.errors import ReviewError
    from sarcoma_review.living.analyses import standard_analyses
    from sarcoma_review.pages import summary

    if not (Path(data_dir) / "appraisal" / "certainty_judgements.csv").exists():
        return None, "the data have no appraisal/certainty_judgements.csv, so certainty is not rated"
    try:
        return summary.load_sof(standard_analyses(root), Path(data_dir)), None
    except ReviewError as exc:
        return None, f"certainty could not be rated: {exc}"


def _sof_label(r: pd.Series, side: str) -> str:
    from sarcoma_review.data.vocabulary import landmark_name

    pop = {"all": "all series", "non-chordoma": "series other than chordoma", "chordoma": "chordoma series"}
    text = (
        f"{landmark_name(str(r['endpoint']), float(r['horizon_years']))} ({pop.get(r['population'], r['population'])}"
    )
    k = r.get(f"k_{side}")
    if k is not None and not pd.isna(k) and int(k) == 1:
        text += f"; one series, {r.get(f'series_{side}')}, not pooled"
    return text + ")"


def compare_certainty(before: pd.DataFrame | None, after: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Ratings whose certainty level changed, appeared or disappeared, keyed by endpoint, horizon and population.

    Each change lists the domains whose judgement changed (computed domains move with the data; judged
    ones with ``certainty_judgements.csv``).
    """
    from sarcoma_review.stats.certainty import DOMAIN_NAMES, DOMAINS

    if before is None or after is None:
        return []
    cols = ["k", "series", "certainty", *DOMAINS]
    b = before[[c for c in _SOF_KEY + cols if c in before.columns]].copy()
    a = after[[c for c in _SOF_KEY + cols if c in after.columns]].copy()
    for d in (a, b):
        d["horizon_years"] = d["horizon_years"].astype(float)
    m = b.merge(a, on=_SOF_KEY, how="outer", suffixes=("_before", "_after"))
    out = []
    for _, r in m.sort_values(_SOF_KEY, kind="stable").iterrows():
        cb, ca = r.get("certainty_before"), r.get("certainty_after")
        cb = None if cb is None or pd.isna(cb) else str(cb)
        ca = None if ca is None or pd.isna(ca) else str(ca)
        if cb == ca:
            continue
        side = "after" if ca is not None else "before"
        label = _sof_label(r, side)
        domains = [
            f"{DOMAIN_NAMES[d]}: {r.get(f'{d}_before')} → {r.get(f'{d}_after')}"
            for d in DOMAINS
            if f"{d}_before" in r
            and f"{d}_after" in r
            and cb is not None
            and ca is not None
            and str(r[f"{d}_before"]) != str(r[f"{d}_after"])
        ]
        if cb is None:
            text = f"{label}: newly rated, {ca} certainty."
        elif ca is None:
            text = f"{label}: no longer rated (was {cb} certainty)."
        else:
            text = f"{label}: {cb} → {ca} certainty" + (f" ({'; '.join(domains)})" if domains else "") + "."
        out.append(
            {
                "endpoint": r["endpoint"],
                "horizon_years": float(r["horizon_years"]),
                "population": r["population"],
                "before": cb,
                "after": ca,
                "text": text,
            }
        )
    return out


def compare(
    previous_release_dir: Path | None,
    current_data_dir: Path,
    current_estimates: pd.DataFrame,
    current_sof_table: pd.DataFrame | None = None,
) -> WhatsNew:
    """Compare the current data and estimates with a frozen release folder (None: there is no previous release).

    ``current_sof_table`` is the current summary of findings (default: computed by :func:`current_sof`).
    """
    current_data_dir = Path(current_data_dir)
    if previous_release_dir is None or not Path(previous_release_dir).exists():
        est = compare_estimates(None, current_estimates)
        return WhatsNew(None, None, estimates=est)
    prev = Path(previous_release_dir)
    manifest = (
        json.loads((prev / "manifest.json").read_text(encoding="utf-8")) if (prev / "manifest.json").exists() else {}
    )
    res = WhatsNew(manifest.get("version", prev.name), manifest.get("date"))
    if (prev / "data").is_dir():
        res.added, res.removed, res.corrected = diff_data(prev / "data", current_data_dir)
        res.columns = new_columns(prev / "data", current_data_dir)
    else:
        res.notes.append(f"{prev} has no frozen data/ copy: studies added or corrected cannot be listed.")
    from sarcoma_review.living.store import read_estimates_csv

    before = read_estimates_csv(prev / "estimates.csv") if (prev / "estimates.csv").exists() else None
    res.estimates = compare_estimates(before, current_estimates)
    if (prev / "data").is_dir() and before is not None:
        marks = sorted({(str(e), float(h)) for e, h in zip(before["endpoint"], before["horizon_years"])})
        res.left = left_pools(prev / "data", current_data_dir, marks)
    comparators = load_comparators(current_data_dir)
    if comparators.empty:
        res.notes.append("No comparator benchmarks (data/comparators) were found: no benchmark conclusions checked.")
    res.conclusions = changed_conclusions(res.estimates, comparators)
    from sarcoma_review.living.store import SOF_FILE

    if current_sof_table is None:
        current_sof_table, why = current_sof(current_data_dir)
    else:
        why = None
    frozen = prev / SOF_FILE
    if current_sof_table is None:
        res.certainty_note = f"Certainty ratings were not compared: {why}."
    elif not frozen.exists():
        # nothing to compare with: every rating of this version is listed as new, so the reader sees them all
        res.certainty = compare_certainty(current_sof_table.iloc[0:0], current_sof_table)
        res.certainty_note = (
            f"Version {res.previous_version} froze no certainty ratings ({SOF_FILE}): each "
            "rating above is listed as new; changes of rating are listed from the next release on."
        )
    else:
        res.certainty = compare_certainty(pd.read_csv(frozen), current_sof_table)
    return res


# --- rendering -----------------------------------------------------------------------------------


def _is_single(r: pd.Series, side: str | None = None) -> bool:
    """Whether a row (or one side of a before/after row) is one series shown as itself."""
    kind = r.get("kind" if side is None else f"kind_{side}")
    return isinstance(kind, str) and kind == SINGLE


def _series(r: pd.Series, side: str | None = None) -> str:
    s = r.get("series" if side is None else f"series_{side}")
    return "" if s is None or (not isinstance(s, str) and pd.isna(s)) else str(s)


def _label(r: pd.Series, side: str | None = None) -> str:
    """The analysis in readers' words (:func:`sarcoma_review.data.vocabulary.analysis_label`)."""
    label = analysis_label(r["analysis_id"], r["subgroup_column"], r["subgroup_value"])
    sides = [side] if side else ["after", "before"] if "kind_after" in r.index else [None]
    for s in sides:
        if _is_single(r, s):
            name = _series(r, s)
            return f"{label}: one series" + (f", {name}" if name else "") + ", not pooled"
    return label


def _pct(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.1f}"


def _ci(r: pd.Series, side: str) -> str:
    e = r.get(f"estimate_{side}")
    if e is None or pd.isna(e):
        return "–"
    text = f"{_pct(e)}% ({_pct(r[f'ci_low_{side}'])}–{_pct(r[f'ci_high_{side}'])})"
    if _is_single(r, side):
        name = _series(r, side)
        text = (f"{name} alone: " if name else "one series alone: ") + text
    return text


def _k(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else str(int(v))


def _id(value: Any) -> str:
    """An identifier as code (```smith2025```) when it is one; any other text escaped (:func:`md_text`)."""
    text = str(value)
    return f"`{text}`" if re.fullmatch(ID_PATTERN, text) else md_text(text)


def _study_lines(res: WhatsNew) -> list[str]:
    """The studies added, removed and corrected (or that none was)."""
    L = ["## Studies", ""]
    if not (res.added or res.removed or res.corrected):
        L += ["No study was added, removed or corrected.", ""]
    for rec in res.added:
        # every value is the data's text: escaped (a first author may be written as markup)
        outs = ", ".join(
            f"{md_text(o['endpoint'])} {md_text(o['horizon_years'])}-year {md_text(o['rate_percent'])}%"
            for o in rec.get("outcomes", [])
        )
        L.append(
            f"- **Added** {_id(rec['study_id'])}: {md_text(rec.get('first_author', ''))} "
            f"{md_text(rec.get('year', ''))}, n = {md_text(rec.get('n_patients', '?'))}"
            + (f" ({outs})" if outs else "")
            + "."
        )
    for rec in res.removed:
        L.append(
            f"- **Removed** {_id(rec['study_id'])}: {md_text(rec.get('first_author', ''))} "
            f"{md_text(rec.get('year', ''))}" + (f" ({md_text(rec['why'])})" if rec.get("why") else "") + "."
        )
    for sid, changes in res.corrected.items():
        parts = "; ".join(
            f"{md_text(c['field'])}: "
            f"{md_text(c['before']) if c['before'] is not None else '(none)'} → "
            f"{md_text(c['after']) if c['after'] is not None else '(none)'}"
            + (f" ({md_text(c['why'])})" if c.get("why") else "")
            for c in changes
        )
        L.append(f"- **Corrected** {_id(sid)}: {parts}.")
    if res.added or res.removed or res.corrected:
        L.append("")
    return L


def _certainty_lines(res: WhatsNew) -> list[str]:
    if res.certainty is None and not res.certainty_note:
        return []
    L = ["## Certainty of evidence", ""]
    if res.certainty:
        L += [f"- {md_text(c['text'])}" for c in res.certainty] + [""]
    elif res.certainty is not None:
        L += ["No certainty rating changed.", ""]
    if res.certainty_note:
        L += [md_text(res.certainty_note), ""]
    return L


def _comparison_lines(res: WhatsNew) -> list[str]:
    """Everything compared with the previous release (studies, columns, pools, certainty, conclusions)."""
    L = [
        f"Compared with version {md_text(res.previous_version)}"
        + (f" (released {md_text(res.previous_date)})." if res.previous_date else "."),
        "",
    ]
    L += _study_lines(res)
    if res.columns:
        L += [
            "The data model gained columns: "
            + "; ".join(f"{md_text(t)}: {', '.join(md_text(c) for c in cols)}" for t, cols in res.columns.items())
            + ". They are new information, not corrections.",
            "",
        ]
    if res.left:
        L += ["## Series that left a pool", "", "| landmark | series | why |", "|---|---|---|"]
        for r in res.left:
            L.append(
                f"| {md_text(r['endpoint'])} {float(r['horizon_years']):g}-year | {_id(r['study_id'])} | "
                f"{md_text(r['why'])} |"
            )
        L.append("")
    L += _certainty_lines(res)
    L += ["## Conclusions that changed", ""]
    if res.conclusions:
        L += [f"- {md_text(c['text'])}" for c in res.conclusions] + [""]
    else:
        L += ["No conclusion changed: no interval crossed a comparator benchmark and no test crossed p = 0.05.", ""]
    return L


def _estimate_lines(est: pd.DataFrame) -> list[str]:
    """Pooled estimates and single series, before and after (a single series is never shown as pooled)."""
    if est.empty:
        return []
    single = est.apply(
        lambda r: all(_is_single(r, s) or pd.isna(r.get(f"estimate_{s}")) for s in ("before", "after")), axis=1
    )
    pooled, singles = est[~single], est[single]
    L: list[str] = []
    if not pooled.empty:
        L += [
            "## Pooled estimates, before and after",
            "",
            "Percent, with 95% confidence interval; k = number of studies. Where one side holds a single "
            "series, that series is named and its own rate shown (it is not a pooled estimate).",
            "",
            "| analysis | k before | before | k after | after | change |",
            "|---|---|---|---|---|---|",
        ]
        for _, r in pooled.iterrows():
            L.append(
                f"| {md_text(_label(r))} | {_k(r.get('k_before'))} | {md_text(_ci(r, 'before'))} | "
                f"{_k(r.get('k_after'))} | {md_text(_ci(r, 'after'))} | {md_text(r['status'])} |"
            )
        L.append("")
    if not singles.empty:
        L += [
            "## Single series, before and after",
            "",
            "Subgroups that hold one series: that series' own rate with its 95% Wald interval (percent). "
            "Nothing is pooled here.",
            "",
            "| subgroup | series before | series after | change |",
            "|---|---|---|---|",
        ]
        for _, r in singles.iterrows():
            L.append(
                f"| {md_text(_label(r))} | {md_text(_ci(r, 'before'))} | {md_text(_ci(r, 'after'))} | "
                f"{md_text(r['status'])} |"
            )
        L.append("")
    return L


def render_markdown(
    res: WhatsNew, title: str = "What's new", cumulative: pd.DataFrame | None = None, chart_spec: dict | None = None
) -> str:
    """Markdown for the What's-new page (with ``cumulative``/``chart_spec``) or a changelog entry (without)."""
    L = [f"# {title}", ""]
    if res.previous_version is None:
        L += ["There is no previous release to compare with: this is the first version of the review.", ""]
    else:
        L += _comparison_lines(res)
    for n in res.notes:
        L += [f"*Note: {md_text(n)}*", ""]
    L += _estimate_lines(res.estimates)
    if cumulative is not None and not cumulative.empty:
        n = cumulative.drop_duplicates(KEY).shape[0]
        # folded (a sphinx-design dropdown): one row per analysis, its estimate in every release
        L += [
            "## Estimates across releases",
            "",
            f"````{{dropdown}} Every analysis in every release ({n} rows)",
            "",
            render_cumulative(cumulative),
            "",
            "````",
            "",
        ]
    if chart_spec is not None:
        from sarcoma_review.pages.render.charts import EMBED_OPTIONS, offline_html

        # the book's chart: drawn by the vendored vegaEmbed, with a static SVG for no-script and print
        L += [
            "```{raw} html",
            offline_html(chart_spec, {**EMBED_OPTIONS, "actions": False}, div_id="whatsnew-cumulative-chart"),
            "```",
            "",
        ]
    return "\n".join(L).rstrip("\n") + "\n"


# --- across releases -----------------------------------------------------------------------------


def cumulative_table(
    root: Path = REPO_ROOT, current_estimates: pd.DataFrame | None = None, current_label: str = "current"
) -> pd.DataFrame:
    """Each estimate in every frozen release (oldest first), plus ``current_estimates`` labelled ``current_label``."""
    from sarcoma_review.living.store import list_releases, read_estimates_csv

    frames = []
    for i, v in enumerate(list_releases(root)):
        df = _normalise(read_estimates_csv(Path(root) / "releases" / v / "estimates.csv"))
        frames.append(df.assign(release=v, release_order=i))
    if current_estimates is not None:
        frames.append(_normalise(current_estimates).assign(release=current_label, release_order=len(frames)))
    if not frames:
        return pd.DataFrame(
            columns=["release", "release_order", *KEY, "estimate", "ci_low", "ci_high", "k", "kind", "series"]
        )
    out = pd.concat(frames, ignore_index=True)
    return out[["release", "release_order", *KEY, "estimate", "ci_low", "ci_high", "k", "kind", "series"]]


def render_cumulative(table: pd.DataFrame) -> str:
    """Markdown table: one row per analysis x subgroup, one column per release (estimate and CI)."""
    releases = table.drop_duplicates("release").sort_values("release_order")["release"].tolist()
    L = ["| analysis | " + " | ".join(md_text(r) for r in releases) + " |", "|---|" + "---|" * len(releases)]
    for key, g in table.groupby(KEY, sort=True):
        r0 = dict(zip(KEY, key))
        cells = []
        for rel in releases:
            row = g[g["release"] == rel]
            cells.append("–" if row.empty else md_text(_ci(row.iloc[0].rename(lambda c: f"{c}_x"), "x")))
        label = _label(pd.Series(r0))
        if (g["kind"] == SINGLE).any():
            label += " (a single series in some releases: named in its cells)"
        L.append(f"| {md_text(label)} | " + " | ".join(cells) + " |")
    return "\n".join(L)


def cumulative_chart(table: pd.DataFrame):
    """Altair line chart of each all-studies estimate across releases (points with 95% CI bars)."""
    import altair as alt

    data = table[table["subgroup_column"] == ""].copy()
    data["analysis"] = [analysis_label(a) for a in data["analysis_id"]]
    order = data.drop_duplicates("release").sort_values("release_order")["release"].tolist()
    base = alt.Chart(data).encode(
        x=alt.X("release:O", sort=order, title="Release"), color=alt.Color("analysis:N", title="Analysis")
    )
    y = alt.Y("estimate:Q", title="Pooled estimate (%)", scale=alt.Scale(domain=[0, 100]))
    tip = ["analysis", "release", "estimate", "ci_low", "ci_high", "k"]
    line = base.mark_line().encode(y=y, tooltip=tip)
    # each analysis has its own marker shape as well as its colour
    points = base.mark_point(filled=True, size=70, opacity=1).encode(
        y=y, shape=alt.Shape("analysis:N", title="Analysis"), tooltip=tip
    )
    bars = base.mark_rule().encode(y="ci_low:Q", y2="ci_high:Q")
    return (bars + line + points).properties(title="Pooled estimates across releases", width=480, height=260)


def page_comparison(
    root: Path = REPO_ROOT, estimates: pd.DataFrame | None = None, data_dir: Path | None = None
) -> tuple[Path | None, str]:
    """Which release the page compares with, and the page title.

    After release X (``_version.py`` says X and ``releases/X`` exists) the page shows what is new in X
    against the release before it, as long as the data still equal X's; once the data differ from X,
    it shows the unreleased changes since X.
    """
    from sarcoma_review.living import citation
    from sarcoma_review.living.store import data_hashes, previous_release_dir

    version = citation.read_version(root)
    data_dir = Path(data_dir) if data_dir else Path(root) / "data"
    this = Path(root) / "releases" / version
    if this.exists() and json.loads((this / "data_hashes.json").read_text(encoding="utf-8")) != data_hashes(data_dir):
        return this, f"What's new since version {version} (not yet released)"
    return previous_release_dir(root, before=version), f"What's new in version {version}"


def write_page(
    out: Path, root: Path = REPO_ROOT, estimates: pd.DataFrame | None = None, data_dir: Path | None = None
) -> Path:
    """Generate ``book/whats-new.md`` (or its staged copy) for the current data.

    ``estimates`` default to :func:`sarcoma_review.living.analyses.current_estimates`; if the statistics module
    is not available, the page says so instead of failing the build.
    """
    from sarcoma_review.errors import ReleaseError
    from sarcoma_review.living.analyses import current_estimates

    data_dir = Path(data_dir) if data_dir else Path(root) / "data"
    prev, title = page_comparison(root, estimates, data_dir)
    if estimates is None:
        try:
            estimates = current_estimates(data_dir, root=root)
        except ReleaseError as exc:
            text = f"# {title}\n\nThe comparison could not be computed: {md_text(exc)}\n"
            Path(out).write_text(text, encoding="utf-8", newline="\n")
            return Path(out)
    sof, _ = current_sof(data_dir, root)
    res = compare(prev, data_dir, estimates, sof)
    from sarcoma_review.living import citation

    label = citation.read_version(root) if "not yet" not in title else "current"
    cum = cumulative_table(root, estimates, label)
    cum = cum.drop_duplicates(["release", *KEY])
    spec = cumulative_chart(cum).to_dict() if not cum.empty else None
    Path(out).write_text(render_markdown(res, title, cum, spec), encoding="utf-8", newline="\n")
    return Path(out)
