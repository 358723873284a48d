"""Run every audit check against the data in ``data/`` and write the outputs.

Printed values are read as strings (``dtype=str``) so that their printed precision survives.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from sarcoma_review.audit import grim
from sarcoma_review.audit.feasibility import check_feasibility, plausibility
from sarcoma_review.audit.ifosfamide import IPD, REPORTED, Ifo, percent_table
from sarcoma_review.audit.narratives import GROUP as NARRATIVES
from sarcoma_review.audit.narratives import Narratives
from sarcoma_review.audit.patients import patient_checks
from sarcoma_review.audit.reconstruct import (
    cnao_problems,
    cohort_check,
    dropped_reasons,
    follow_up_minima,
    joint_reconstruction,
    read_strings,
    sidecar,
)
from sarcoma_review.audit.records import COLUMNS, CheckResult
from sarcoma_review.audit.registry import CONTEXTS, check, checks, context, run_group
from sarcoma_review.data import tracking
from sarcoma_review.paths import data_dir as default_data_dir

CNAO, IFO = "cnao", "ifosfamide"


def _read(d: Path, group: str, table: str) -> pd.DataFrame:
    """Validated table as printed strings; the read is recorded for the build's cache."""
    return read_strings(group, table, d)


@tracking.frame_loader
def audited_outcomes(data_dir: Path | None = None) -> pd.DataFrame:
    """The rows of ``literature/outcomes.csv`` the audit checks, as printed strings (their index in the table).

    The present study's rows (``study_id`` beginning ``present`` or ``cuccia``) and the rows restated
    in ``literature/restatements.csv`` (same ``study_id`` and ``endpoint``): the audit reads no other
    Table I rate, so a change to another row leaves the audit, and the pages that show its flags,
    as they were (see :mod:`sarcoma_review.data.tracking`).
    """
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    # Table I's rates as printed (literature/table_i_rates); a data folder from before the 2026-12
    # update kept them in literature/outcomes
    table = "table_i_rates" if (d / "literature" / "table_i_rates.csv").exists() else "outcomes"
    lit = read_strings("literature", table, d)
    rest = read_strings("literature", "restatements", d)
    restated = set(zip(rest["study_id"], rest["endpoint"]))
    keep = lit["study_id"].str.startswith(("present", "cuccia")) | pd.Series(
        [k in restated for k in zip(lit["study_id"], lit["endpoint"])], index=lit.index
    )
    return lit[keep]


def _fact(facts: pd.DataFrame, fact_id: str, col: str = "value") -> str:
    row = facts.loc[facts["fact_id"] == fact_id]
    if row.empty:
        raise ValueError(f"data/cnao/facts.csv has no fact_id {fact_id!r}; the audit needs it (add the row)")
    return row.iloc[0][col]


_percent_table = percent_table


#: The audit table's groups of checks, in row order (see :mod:`sarcoma_review.audit.registry`).
GROUPS = ("cnao", "cnao.km", REPORTED, IPD, "ifo.patients", NARRATIVES, "table_i")

for _group in ("cnao", "cnao.km", "table_i"):  # these groups read the data folder themselves
    context(_group)(Path)


@check(
    "cnao.reported",
    "cnao",
    "Abstract; Results; Table II",
    "GRIM of Table II and of the text's percentages, the sex ratio, the operated patients, and values the "
    "paper states twice",
)
def cnao_checks(d: Path) -> list[CheckResult]:
    """GRIM and restatement checks on Cuccia et al. 2020."""
    ch = _read(d, CNAO, "characteristics")
    facts = _read(d, CNAO, "facts")
    lm = _read(d, CNAO, "landmark_rates")
    cox = _read(d, CNAO, "cox")
    n = int(_fact(facts, "n_patients_results"))
    sex = {r["category"]: int(r["n"]) for _, r in ch[ch["variable"] == "sex"].iterrows()}
    out = _percent_table(ch, CNAO, "Table II", n, "cnao.table2")
    out.append(
        grim.check_ratio(
            "cnao.sex_ratio",
            CNAO,
            "Abstract; Results",
            "males:females",
            sex["male"],
            sex["female"],
            _fact(facts, "male_female_ratio_results"),
        )
    )
    # abstract percentages with their counts
    for fid, count_id, q in [
        ("surgery_percent_abstract", "surgery_n_results", "surgery before CIRT (%)"),
        ("chemo_pre_rt_percent_abstract", "chemo_pre_rt_n_abstract", "pre-RT chemotherapy (%)"),
        ("late_g3_neuropathy_percent_abstract", "late_g3_neuropathy_n_abstract", "late G3 neuropathy (%)"),
    ]:
        out.append(
            grim.check_percent(f"cnao.{fid}", CNAO, "Abstract", q, int(_fact(facts, count_id)), n, _fact(facts, fid))
        )
    r1, r2, surg = (int(_fact(facts, k)) for k in ("r1_n_results", "r2_n_results", "surgery_n_results"))
    out.append(grim.check_sum("cnao.surgery.r1_r2", CNAO, "Results", "R1 + R2 = operated", [r1, r2], surg))
    t2 = {r["category"]: int(r["n"]) for _, r in ch[ch["variable"] == "surgery"].iterrows()}
    out.append(
        CheckResult(
            "cnao.surgery.table2_vs_text",
            CNAO,
            "Table II vs Abstract/Results",
            "patients without surgery",
            f"Table II: Unresectable {t2.get('Unresectable')}, Subtotal resection {t2.get('Subtotal resection')}",
            f"text: {surg} operated (R1 {r1}, R2 {r2}) -> {n - surg} not operated",
            "inconsistent" if t2.get("Unresectable") != n - surg else "consistent",
            f"Table II has no R1 row: {t2.get('Unresectable')} unresectable + {t2.get('Subtotal resection')} R2 "
            f"= {n}, text implies {n - surg} without surgery",
        )
    )
    # follow-up and volumes stated twice
    out.append(
        grim.check_restatement(
            "cnao.follow_up.range_low",
            CNAO,
            "Abstract vs Results",
            "minimum follow-up (months)",
            _fact(facts, "follow_up_median_abstract", "value_low"),
            _fact(facts, "follow_up_median_results", "value_low"),
            "Abstract",
            "Results",
        )
    )
    out.append(
        grim.check_restatement(
            "cnao.follow_up.median",
            CNAO,
            "Abstract vs Results",
            "median follow-up (months)",
            _fact(facts, "follow_up_median_abstract"),
            _fact(facts, "follow_up_median_results"),
            "Abstract",
            "Results",
        )
    )
    gtv = ch[ch["variable"] == "gtv"].iloc[0]
    ptv = ch[ch["variable"] == "ptv"].iloc[0]
    for name, row, fid in [("gtv", gtv, "gtv_median_results"), ("ptv", ptv, "ptv_median_results")]:
        for col, label in [("value", "median"), ("value_high", "maximum")]:
            out.append(
                grim.check_restatement(
                    f"cnao.{name}.{label}",
                    CNAO,
                    "Table II vs Results",
                    f"{name.upper()} {label} (cc = ml)",
                    row[col],
                    _fact(facts, fid, col),
                    "Table II",
                    "Results",
                )
            )
    # dose per fraction
    for col, label in [("value", "median"), ("value_low", "minimum"), ("value_high", "maximum")]:
        tot = ch[ch["variable"] == "total_dose"].iloc[0][col]
        daily = ch[ch["variable"] == "daily_dose"].iloc[0][col]
        out.append(
            grim.check_restatement(
                f"cnao.daily_dose.{label}",
                CNAO,
                "Table II",
                f"{label} dose per fraction (Gy(RBE))",
                f"{float(grim.to_fraction(tot) / 16):.1f}",
                daily,
                "total/16 fractions",
                "printed daily dose",
            )
        )
    # landmark rates abstract vs results
    for (ep, h), g in lm.groupby(["endpoint", "horizon_years"]):
        vals = g.set_index("location")["rate_percent"]
        if {"abstract", "results"} <= set(vals.index):
            out.append(
                grim.check_restatement(
                    f"cnao.{ep}.{h}y.abstract_vs_results",
                    CNAO,
                    "Abstract vs Results",
                    f"{h}-year {ep} (%)",
                    vals["abstract"],
                    vals["results"],
                    "Abstract",
                    "Results",
                )
            )
    # Table I present-study row vs results
    lit = audited_outcomes(d)  # only the rows checked below: present-study rows and restated rows
    in_table1_all = lit[lit["source"].str.contains("Table I", regex=False)]
    own = {
        ep: g.set_index("location")["rate_percent"].get("results", g["rate_percent"].iloc[0])
        for ep, g in lm[lm["horizon_years"] == "3"].groupby("endpoint")
    }
    for ep, val in own.items():
        row = in_table1_all[
            (in_table1_all["study_id"].str.startswith("present")) | (in_table1_all["study_id"].str.startswith("cuccia"))
        ]
        row = row[row["endpoint"] == ep]
        if not row.empty:
            out.append(
                grim.check_restatement(
                    f"cnao.table1.present.{ep}",
                    CNAO,
                    "Table I vs Results",
                    f"3-year {ep} (%)",
                    val,
                    row.iloc[0]["rate_percent"],
                    "Results",
                    "Table I",
                )
            )
    # Table I vs discussion (Imai)
    rest = _read(d, "literature", "restatements")
    in_table1 = lit[lit["source"].str.contains("Table I", regex=False)]
    for _, r in rest.iterrows():
        if str(r["study_id"]).startswith(("present", "cuccia")):
            continue  # the present study's own Table I row is checked once, by cnao.table1.present.<endpoint>
        # compare two statements only when both exist: Table I has no DPFS column, so a DPFS
        # rate "restated" in the Discussion has nothing in Table I to be compared with
        t1 = in_table1[
            (in_table1["study_id"] == r["study_id"])
            & (in_table1["endpoint"] == r["endpoint"])
            & (in_table1["horizon_years"] == r["horizon_years"])
        ]
        if t1.empty:
            continue
        out.append(
            grim.check_restatement(
                f"cnao.table1_vs_text.{r['study_id']}.{r['endpoint']}",
                CNAO,
                f"Table I vs {r['location']}",
                f"{r['study_id']} {r['horizon_years']}-year {r['endpoint']} (%)",
                t1.iloc[0]["rate_percent"],
                r["rate_percent"],
                "Table I",
                r["location"],
            )
        )
    # Table IV: p against its CI
    for _, r in cox[cox["applicable"] == "true"].iterrows():
        out.append(
            grim.check_p_from_ci(
                f"cnao.table4.{r['variable']}.{r['endpoint']}",
                CNAO,
                "Table IV",
                f"Cox {r['variable_as_printed']} ({r['endpoint']})",
                r["p_value"],
                r["ci_low"],
                r["ci_high"],
            )
        )
    return out


def _km_row(cid: str, where: str, quantity: str, prob, res, stmts: str) -> CheckResult:
    """One KM feasibility row: inconsistent (no pattern), implausible (only with late events, see
    :func:`~sarcoma_review.audit.feasibility.plausibility`), consistent, or cannot check."""
    if res.undecided:
        return CheckResult(
            cid,
            CNAO,
            where,
            quantity,
            stmts,
            "not settled",
            "cannot check",
            "the search could not settle it: " + res.undecided,
        )
    if not res.feasible:
        conflict = "; ".join(prob.describe(s) for s in res.conflict)
        return CheckResult(
            cid,
            CNAO,
            where,
            quantity,
            stmts,
            f"minimal conflict: {conflict}",
            "inconsistent",
            prob.plain_reason(list(res.conflict))
            or f"no event/censoring pattern with n={prob.n} and {prob.events} events satisfies: {conflict}",
        )
    witness = f"witness with {len(res.witness.times)} patients, {sum(res.witness.events)} events"
    pl = plausibility(prob)
    if pl is not None and pl.implausible:
        return CheckResult(
            cid,
            CNAO,
            where,
            quantity,
            stmts,
            witness + " (needs the late events below)",
            "implausible",
            "attainable only with an implausible timing: " + pl.sentence(),
        )
    return CheckResult(
        cid,
        CNAO,
        where,
        quantity,
        stmts,
        witness,
        "consistent",
        "an event/censoring pattern reproduces every statement exactly (verified)",
    )


def feasibility_checks(data_dir: Path | None = None, *, explorations: bool = True) -> list[CheckResult]:
    """KM feasibility of the CNAO curves: one finding per curve (``cnao.km.<endpoint>``).

    The paper prints the minimum follow-up twice (Results 6, Abstract 4): the Results reading states
    the finding, the other reading is an exploration of it. For an infeasible curve, each statement
    of the minimal conflict is dropped in turn (explorations too): a drop that restores feasibility
    is reported with the plausibility caveat when the remaining statements need late events.
    ``explorations=False`` returns the findings only (what a study chapter lists; about half the
    solver calls).
    """
    out = []
    minima = follow_up_minima(data_dir)
    for i, (fu_min, where) in enumerate(minima if explorations else minima[:1]):
        for ep, prob in cnao_problems(fu_min=fu_min, data_dir=data_dir).items():
            fid = f"cnao.km.{ep}"
            res = check_feasibility(prob)
            stmts = "; ".join(prob.describe(s) for s in prob.statements())
            loc = f"Abstract; Results; Discussion ({where} follow-up)"
            row = _km_row(f"{fid}.fu{fu_min:g}", loc, f"{ep} KM statements jointly attainable", prob, res, stmts)
            out.append(replace(row, finding_id=fid) if i == 0 else row.explores(fid))
            if i > 0 or res.feasible or res.undecided or not explorations:
                continue
            for drop in res.conflict:
                rest = prob.without(drop)
                sub = check_feasibility(rest)
                q = f"{ep} statements without '{prob.describe(drop)}'"
                r = _km_row(f"{fid}.fu{fu_min:g}.without_{drop}", where, q, rest, sub, stmts)
                if r.verdict == "inconsistent":
                    r = CheckResult(
                        r.check_id,
                        CNAO,
                        where,
                        q,
                        stmts,
                        "still infeasible: " + "; ".join(rest.describe(s) for s in sub.conflict),
                        "inconsistent",
                        "a second conflict remains without it",
                    )
                elif r.verdict == "consistent":
                    r = CheckResult(
                        r.check_id,
                        CNAO,
                        where,
                        q,
                        stmts,
                        "feasible",
                        "consistent",
                        "dropping this statement restores feasibility",
                    )
                out.append(r.explores(fid))
    return out


def ifosfamide_checks(d: Path) -> list[CheckResult]:
    """GRIM checks and patient-level recomputation for Eckert et al. 2010: the registered checks of the
    groups ``ifo.reported``, ``ifo.ipd`` (:mod:`sarcoma_review.audit.ifosfamide`), ``ifo.patients``
    (:mod:`sarcoma_review.audit.patients`) and ``ifo.narratives`` (:mod:`sarcoma_review.audit.narratives`),
    in registration order."""
    ifo = Ifo(d)
    return (
        run_group(REPORTED, ifo)
        + run_group(IPD, ifo)
        + patient_checks(ifo.pts, ifo.th, _read(d, "toxicity", "events"), ifo.est)
        + run_group(NARRATIVES, Narratives(d))
    )


#: What Table I's verification verdicts (literature/verification) mean as audit verdicts.
#: A value the publication read does not report (often an abstract) cannot be checked; one it contradicts is
#: inconsistent.
_TABLE_I_VERDICT = {
    "agrees": "consistent",
    "differs": "inconsistent",
    "not reported there": "cannot check",
    "publication not readable": "cannot check",
}


@check(
    "cnao.km",
    "cnao.km",
    "Abstract; Results; Discussion",
    "whether the Kaplan-Meier statements of each CNAO curve can all hold at once (integer program), "
    "and which statement to drop when they cannot",
)
def _cnao_km(d: Path) -> list[CheckResult]:
    return feasibility_checks(d)


@check(
    "table_i",
    "table_i",
    "Table I; each series' own publication",
    "each value of Table I against the publication of its series",
    optional="literature/verification.csv",
)
def table_i_checks(d: Path) -> list[CheckResult]:
    """Secondary table against primary publication: each Table I value (literature/verification)
    against the series' own publication, one finding per value, with both statements.

    A data folder without ``literature/verification.csv`` (one frozen before the 2026-12 update) has none.
    """
    if not (d / "literature" / "verification.csv").exists():
        return []
    ver = _read(d, "literature", "verification")
    out = []
    for _, r in ver.iterrows():
        own = (
            f"{r['primary_value']} ({r['access']}: \u201c{r['quote']}\u201d)"
            if r["quote"]
            else (r["primary_value"] or "not given")
        )
        out.append(
            CheckResult(
                f"table_i.{r['study_id']}.{r['field']}",
                "table_i",
                f"Table I row {r['study_id']} vs its own publication",
                f"{r['study_id']} {r['field']}",
                f"Table I: {r['table_i_value']}",
                f"own publication: {own}",
                _TABLE_I_VERDICT[r["verdict"]],
                f"{r['verdict']}: {r['reason']}",
            )
        )
    return out


def run_audit(data_dir: Path | None = None) -> pd.DataFrame:
    """Every check as one table with columns :data:`~sarcoma_review.audit.records.COLUMNS`."""
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    inputs: dict = {}  # one input per builder (the ifosfamide groups share theirs)
    rows = []
    for group in GROUPS:
        build = CONTEXTS[group]
        if build not in inputs:
            inputs[build] = build(d)
        rows += [r for c in checks(group) for r in c.run(inputs[build])]
    return pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))


def write_audit_csv(path: Path | str, data_dir: Path | None = None) -> Path:
    """Write :func:`run_audit` to ``path`` (CSV) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    run_audit(data_dir).to_csv(p, index=False)
    return p


def reconstruct_all(data_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Pseudo-patient data per CNAO endpoint (LC, DPFS, OS), one cohort: the same patients in every
    file (``patient_id``); see :func:`sarcoma_review.audit.reconstruct.joint_reconstruction`.

    The statements are read from ``<data_dir>/cnao`` (default :func:`sarcoma_review.paths.data_dir`).
    """
    return joint_reconstruction(data_dir).frames


def pseudo_ipd_records(data_dir: Path | None = None) -> dict[str, tuple[pd.DataFrame, dict]]:
    """``{endpoint: (pseudo-IPD, sidecar record)}``; see :func:`sarcoma_review.audit.reconstruct.sidecar`."""
    rec = joint_reconstruction(data_dir)
    out = {}
    for ep, df in rec.frames.items():
        pl = plausibility(rec.honoured[ep])
        caveat = (
            "the honoured statements need an implausible timing of events: " + pl.sentence()
            if pl is not None and pl.implausible
            else None
        )
        out[ep] = (df, sidecar(ep, rec, caveat, data_dir))
    cohort = cohort_check(rec.frames, rec.reported)  # the files side by side
    for _, record in out.values():
        record["one_cohort"] = cohort
    return out


def write_pseudo_ipd(directory: Path | str, data_dir: Path | None = None) -> list[Path]:
    """Write ``cnao_pseudo_ipd_<endpoint>.csv`` (patient_id, time_months, event, endpoint) and, beside each, its
    sidecar ``cnao_pseudo_ipd_<endpoint>.json`` (what it honours and drops, and why); return the paths."""
    import json

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ep, (df, record) in pseudo_ipd_records(data_dir).items():
        p = out_dir / f"cnao_pseudo_ipd_{ep}.csv"
        df[["patient_id", "time_months", "event", "endpoint"]].to_csv(p, index=False)
        j = p.with_suffix(".json")
        j.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths += [p, j]
    return paths


#: Page of the audit chapter (pages are flat in ``book/``, so the relative href works from any chapter).
AUDIT_PAGE = "audit.html"


def anchor_id(check_id: str) -> str:
    """HTML ``id`` of a check's row in the audit chapter: ``audit-`` + the id, spaces etc. as ``-``."""
    return "audit-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", check_id).strip("-")


def finding_anchor(finding_id: str) -> str:
    """HTML ``id`` of a finding in the audit chapter: ``finding-`` + the id, spaces etc. as ``-``.

    Stable as long as the finding's id is: the study chapters link to it.
    """
    return "finding-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", finding_id).strip("-")


#: Verdicts of a failed check (listed in the study chapters).
FAILED = ("inconsistent", "implausible")


def links(source: str, audit: pd.DataFrame | None = None, data_dir: Path | None = None) -> pd.DataFrame:
    """Findings of ``source`` ("cnao" or "ifosfamide") that failed, each with a link to the audit.

    Parameters
    ----------
    source
        Which paper's checks.
    audit
        A table from :func:`run_audit` (computed when omitted; that takes ~15 s).
    data_dir
        Data folder when ``audit`` is omitted.

    Returns
    -------
    DataFrame
        The :data:`COLUMNS` of the rows stating a finding (``role == "finding"``) whose verdict is
        in :data:`FAILED`, plus ``anchor`` and ``href`` (``"audit.html#finding-<finding_id>"``).
        Explorations of a finding are not listed: each conflict appears once.
    """
    if source not in (CNAO, IFO):
        raise ValueError(f"source must be {CNAO!r} or {IFO!r}, got {source!r}")
    if audit is None:  # only this paper's checks: the other paper's data are not read
        d = Path(data_dir) if data_dir is not None else default_data_dir()
        rows = cnao_checks(d) + feasibility_checks(d, explorations=False) if source == CNAO else ifosfamide_checks(d)
        audit = pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))
    df = audit
    role = df["role"] if "role" in df.columns else pd.Series("finding", index=df.index)
    fid = df["finding_id"] if "finding_id" in df.columns else df["check_id"]
    out = df[(df["source"] == source) & df["verdict"].isin(FAILED) & (role == "finding")].copy()
    out["finding_id"] = fid[out.index]
    out["anchor"] = out["finding_id"].map(finding_anchor)
    out["href"] = AUDIT_PAGE + "#" + out["anchor"]
    return out.reset_index(drop=True)


__all__ = [
    "AUDIT_PAGE",
    "FAILED",
    "pseudo_ipd_records",
    "dropped_reasons",
    "anchor_id",
    "finding_anchor",
    "links",
    "reconstruct_all",
    "run_audit",
    "write_audit_csv",
    "write_pseudo_ipd",
]
