"""Run every audit check against the data in ``data/`` and write the outputs.

Printed values are read as strings (``dtype=str``) so that their printed precision survives.
"""

from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pandas as pd

from sarcoma_review.audit import grim
from sarcoma_review.audit.feasibility import check_feasibility, km_exact, plausibility
from sarcoma_review.audit.ipd import (
    at_risk,
    km_median,
    km_rmst,
    km_steps,
    last_event_time,
    size_threshold,
)
from sarcoma_review.audit.patients import patient_checks
from sarcoma_review.audit.reconstruct import (
    cnao_problems,
    cohort_check,
    dropped_reasons,
    follow_up_minima,
    read_strings,
    reconstruct,
    reconstruction_problems,
    sidecar,
)
from sarcoma_review.audit.records import COLUMNS, CheckResult
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
    keep = (lit["study_id"].str.startswith(("present", "cuccia"))
            | pd.Series([k in restated for k in zip(lit["study_id"], lit["endpoint"])], index=lit.index))
    return lit[keep]


def _fact(facts: pd.DataFrame, fact_id: str, col: str = "value") -> str:
    row = facts.loc[facts["fact_id"] == fact_id]
    if row.empty:
        raise ValueError(f"data/cnao/facts.csv has no fact_id {fact_id!r}; the audit needs it (add the row)")
    return row.iloc[0][col]


def _percent_table(df: pd.DataFrame, source: str, location: str, denominator: int, prefix: str) -> list[CheckResult]:
    out = []
    for _, r in df.iterrows():
        if r["n"] == "" or r["percent"] == "":
            continue
        out.append(grim.check_percent(f"{prefix}.{r['variable']}.{r['category']}", source, location,
                                      f"{str(r['variable']).replace('_', ' ')}: {r['category']} (%)", int(r["n"]),
                                      denominator, r["percent"]))
    for var, g in df[df["n"] != ""].groupby("variable", sort=False):
        if len(g) > 1:
            out.append(grim.check_sum(f"{prefix}.{var}.sum", source, location, f"{str(var).replace('_', ' ')}: categories sum to N",
                                      [int(x) for x in g["n"]], denominator))
    return out


def cnao_checks(d: Path) -> list[CheckResult]:
    """GRIM and restatement checks on Cuccia et al. 2020."""
    ch = _read(d, CNAO, "characteristics")
    facts = _read(d, CNAO, "facts")
    lm = _read(d, CNAO, "landmark_rates")
    cox = _read(d, CNAO, "cox")
    n = int(_fact(facts, "n_patients_results"))
    sex = {r["category"]: int(r["n"]) for _, r in ch[ch["variable"] == "sex"].iterrows()}
    out = _percent_table(ch, CNAO, "Table II", n, "cnao.table2")
    out.append(grim.check_ratio("cnao.sex_ratio", CNAO, "Abstract; Results", "males:females", sex["male"], sex["female"],
                                _fact(facts, "male_female_ratio_results")))
    # abstract percentages with their counts
    for fid, count_id, q in [("surgery_percent_abstract", "surgery_n_results", "surgery before CIRT (%)"),
                             ("chemo_pre_rt_percent_abstract", "chemo_pre_rt_n_abstract", "pre-RT chemotherapy (%)"),
                             ("late_g3_neuropathy_percent_abstract", "late_g3_neuropathy_n_abstract", "late G3 neuropathy (%)")]:
        out.append(grim.check_percent(f"cnao.{fid}", CNAO, "Abstract", q, int(_fact(facts, count_id)), n,
                                      _fact(facts, fid)))
    r1, r2, surg = (int(_fact(facts, k)) for k in ("r1_n_results", "r2_n_results", "surgery_n_results"))
    out.append(grim.check_sum("cnao.surgery.r1_r2", CNAO, "Results", "R1 + R2 = operated", [r1, r2], surg))
    t2 = {r["category"]: int(r["n"]) for _, r in ch[ch["variable"] == "surgery"].iterrows()}
    out.append(CheckResult("cnao.surgery.table2_vs_text", CNAO, "Table II vs Abstract/Results", "patients without surgery",
                           f"Table II: Unresectable {t2.get('Unresectable')}, Subtotal resection {t2.get('Subtotal resection')}",
                           f"text: {surg} operated (R1 {r1}, R2 {r2}) -> {n - surg} not operated",
                           "inconsistent" if t2.get("Unresectable") != n - surg else "consistent",
                           f"Table II has no R1 row: {t2.get('Unresectable')} unresectable + {t2.get('Subtotal resection')} R2 = {n}, text implies {n - surg} without surgery"))
    # follow-up and volumes stated twice
    out.append(grim.check_restatement("cnao.follow_up.range_low", CNAO, "Abstract vs Results", "minimum follow-up (months)",
                                      _fact(facts, "follow_up_median_abstract", "value_low"),
                                      _fact(facts, "follow_up_median_results", "value_low"), "Abstract", "Results"))
    out.append(grim.check_restatement("cnao.follow_up.median", CNAO, "Abstract vs Results", "median follow-up (months)",
                                      _fact(facts, "follow_up_median_abstract"), _fact(facts, "follow_up_median_results"),
                                      "Abstract", "Results"))
    gtv = ch[ch["variable"] == "gtv"].iloc[0]
    ptv = ch[ch["variable"] == "ptv"].iloc[0]
    for name, row, fid in [("gtv", gtv, "gtv_median_results"), ("ptv", ptv, "ptv_median_results")]:
        for col, label in [("value", "median"), ("value_high", "maximum")]:
            out.append(grim.check_restatement(f"cnao.{name}.{label}", CNAO, "Table II vs Results", f"{name.upper()} {label} (cc = ml)",
                                              row[col], _fact(facts, fid, col), "Table II", "Results"))
    # dose per fraction
    for col, label in [("value", "median"), ("value_low", "minimum"), ("value_high", "maximum")]:
        tot = ch[ch["variable"] == "total_dose"].iloc[0][col]
        daily = ch[ch["variable"] == "daily_dose"].iloc[0][col]
        out.append(grim.check_restatement(f"cnao.daily_dose.{label}", CNAO, "Table II", f"{label} dose per fraction (Gy(RBE))",
                                          f"{float(grim.to_fraction(tot) / 16):.1f}", daily, "total/16 fractions", "printed daily dose"))
    # landmark rates abstract vs results
    for (ep, h), g in lm.groupby(["endpoint", "horizon_years"]):
        vals = g.set_index("location")["rate_percent"]
        if {"abstract", "results"} <= set(vals.index):
            out.append(grim.check_restatement(f"cnao.{ep}.{h}y.abstract_vs_results", CNAO, "Abstract vs Results",
                                              f"{h}-year {ep} (%)", vals["abstract"], vals["results"], "Abstract", "Results"))
    # Table I present-study row vs results
    lit = audited_outcomes(d)  # only the rows checked below: present-study rows and restated rows
    in_table1_all = lit[lit["source"].str.contains("Table I", regex=False)]
    own = {ep: g.set_index("location")["rate_percent"].get("results", g["rate_percent"].iloc[0])
           for ep, g in lm[lm["horizon_years"] == "3"].groupby("endpoint")}
    for ep, val in own.items():
        row = in_table1_all[(in_table1_all["study_id"].str.startswith("present"))
                            | (in_table1_all["study_id"].str.startswith("cuccia"))]
        row = row[row["endpoint"] == ep]
        if not row.empty:
            out.append(grim.check_restatement(f"cnao.table1.present.{ep}", CNAO, "Table I vs Results", f"3-year {ep} (%)",
                                              val, row.iloc[0]["rate_percent"], "Results", "Table I"))
    # Table I vs discussion (Imai)
    rest = _read(d, "literature", "restatements")
    in_table1 = lit[lit["source"].str.contains("Table I", regex=False)]
    for _, r in rest.iterrows():
        if str(r["study_id"]).startswith(("present", "cuccia")):
            continue  # the present study's own Table I row is checked once, by cnao.table1.present.<endpoint>
        # compare two statements only when both exist: Table I has no DPFS column, so a DPFS
        # rate "restated" in the Discussion has nothing in Table I to be compared with
        t1 = in_table1[(in_table1["study_id"] == r["study_id"]) & (in_table1["endpoint"] == r["endpoint"])
                       & (in_table1["horizon_years"] == r["horizon_years"])]
        if t1.empty:
            continue
        out.append(grim.check_restatement(f"cnao.table1_vs_text.{r['study_id']}.{r['endpoint']}", CNAO,
                                          f"Table I vs {r['location']}", f"{r['study_id']} {r['horizon_years']}-year {r['endpoint']} (%)",
                                          t1.iloc[0]["rate_percent"], r["rate_percent"], "Table I", r["location"]))
    # Table IV: p against its CI
    for _, r in cox[cox["applicable"] == "true"].iterrows():
        out.append(grim.check_p_from_ci(f"cnao.table4.{r['variable']}.{r['endpoint']}", CNAO, "Table IV",
                                        f"Cox {r['variable_as_printed']} ({r['endpoint']})", r["p_value"], r["ci_low"], r["ci_high"]))
    return out


def _km_row(cid: str, where: str, quantity: str, prob, res, stmts: str) -> CheckResult:
    """One KM feasibility row: inconsistent (no pattern), implausible (only with late events, see
    :func:`~sarcoma_review.audit.feasibility.plausibility`), consistent, or cannot check."""
    if res.undecided:
        return CheckResult(cid, CNAO, where, quantity, stmts, "not settled", "cannot check",
                           "the search could not settle it: " + res.undecided)
    if not res.feasible:
        conflict = "; ".join(prob.describe(s) for s in res.conflict)
        return CheckResult(cid, CNAO, where, quantity, stmts, f"minimal conflict: {conflict}", "inconsistent",
                           prob.plain_reason(list(res.conflict))
                           or f"no event/censoring pattern with n={prob.n} and {prob.events} events satisfies: {conflict}")
    witness = f"witness with {len(res.witness.times)} patients, {sum(res.witness.events)} events"
    pl = plausibility(prob)
    if pl is not None and pl.implausible:
        return CheckResult(cid, CNAO, where, quantity, stmts, witness + " (needs the late events below)", "implausible",
                           "attainable only with an implausible timing: " + pl.sentence())
    return CheckResult(cid, CNAO, where, quantity, stmts, witness, "consistent",
                       "an event/censoring pattern reproduces every statement exactly (verified)")


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
                    r = CheckResult(r.check_id, CNAO, where, q, stmts,
                                    "still infeasible: " + "; ".join(rest.describe(s) for s in sub.conflict),
                                    "inconsistent", "a second conflict remains without it")
                elif r.verdict == "consistent":
                    r = CheckResult(r.check_id, CNAO, where, q, stmts, "feasible", "consistent",
                                    "dropping this statement restores feasibility")
                out.append(r.explores(fid))
    return out


def ifosfamide_checks(d: Path) -> list[CheckResult]:
    """GRIM checks and patient-level recomputation for Eckert et al. 2010."""
    ch = _read(d, IFO, "characteristics")
    th = _read(d, IFO, "therapy")
    est = _read(d, IFO, "reported_estimates")
    pts = _read(d, IFO, "patients")
    n = len(pts)
    out = _percent_table(ch, IFO, "Table 1", n, "ifo.table1") + _percent_table(th, IFO, "Table 2", n, "ifo.table2")
    e = est.set_index("estimate_id")
    for eid in ("died_metastasized_percent", "size_gt10_before_rt_text_percent", "rt_as_planned", "therapy_completed"):
        num = e.loc[eid, "numerator"]
        out.append(grim.check_percent(f"ifo.{eid}", IFO, e.loc[eid, "location"], e.loc[eid, "quantity"] + " " + eid,
                                      int(num) if num else None, int(e.loc[eid, "denominator"] or n), e.loc[eid, "value"]))
    out.append(grim.check_percent("ifo.distant_metastases_percent", IFO, "Discussion", "patients with distant metastases (%)",
                                  None, n, e.loc["distant_metastases_percent", "value"]))
    lc_t = [float(x) for x in pts["lc_months"]]
    lc_e = [int(x) for x in pts["local_failure"]]
    os_t = [float(x) for x in pts["os_months"]]
    os_e = [int(x) for x in pts["death"]]
    ids = list(pts["patient_id"])
    initial = [float(x) for x in pts["diameter_initial_cm"]]
    before = [float(x) if x else None for x in pts["diameter_before_rt_cm"]]
    est_file = "data/ifosfamide/reported_estimates.csv"

    def val(eid: str, col: str = "value") -> str:
        """A reported value as printed (ValueError naming the file when the row or cell is missing)."""
        if eid not in e.index:
            raise ValueError(f"{est_file} has no estimate_id {eid!r}; the audit needs it (add the row)")
        v = str(e.loc[eid, col]).strip()
        if v == "":
            raise ValueError(f"{est_file}: {eid!r} has no {col}; the audit needs it")
        return v

    def months(eid: str) -> float:
        return 12 * float(val(eid, "horizon_years"))

    def row(cid, loc, q, rep, rec, ok, expl, rounding=False):
        verdict = ("consistent with rounding" if rounding else "consistent") if ok else "inconsistent"
        return CheckResult(f"ifo.ipd.{cid}", IFO, loc, q, rep, rec, verdict, expl)

    def prints_as(x: float | Fraction, printed: str) -> bool:
        """Does the exact value print as ``printed`` under some rounding rule?"""
        return bool(grim.matching_modes(grim.to_fraction(x) if not isinstance(x, Fraction) else x, printed))

    def fmt_times(ts) -> str:
        return grim_join([f"{t:g}" for t in ts])

    # local control at the reported horizons
    lc_steps = km_steps(lc_t, lc_e)
    product = " x ".join(f"{r - 1}/{r}" for _, _, r in lc_steps)
    failures = grim_join([f"{t:g} ({r} at risk)" for t, _, r in lc_steps])
    for eid in ("lc_2y_results", "lc_5y_results"):
        h = months(eid)
        s_h = km_exact(lc_t, lc_e, h)
        v = float(s_h) * 100
        ok = prints_as(s_h * 100, val(eid))
        out.append(row(f"lc_{h / 12:g}y", "Results; Abstract; Figure 2", f"KM local control at {h / 12:g} years (%)",
                       val(eid), f"{v:.1f}", ok,
                       f"Table 3: failures at {failures} months: {product} = {v:.1f}%"))
    lf_times = [t for t, x in zip(lc_t, lc_e) if x]
    out.append(row("lc_events", "Results", "local failures", f"{val('local_relapses')} ({val('local_relapses', 'value_as_printed')})",
                   f"{sum(lc_e)} (at {fmt_times(sorted(lf_times))} months)",
                   sum(lc_e) == int(val("local_relapses")), "Table 3 marks a local failure (LF) for these patients"))
    h = months("lc_at_risk_2y")
    n_risk = at_risk(lc_t, h)
    out.append(row("lc_at_risk_2y", "Results", f"patients at risk for LC after {h / 12:g} years", val("lc_at_risk_2y"),
                   str(n_risk), n_risk == int(val("lc_at_risk_2y")),
                   f"LC times above {h:g} months: " + ", ".join(f"{t:g}" for t in sorted(lc_t) if t > h)))
    plateau = last_event_time(lc_t, lc_e)
    rep_plateau = float(val("lc_plateau"))
    out.append(row("lc_plateau", "Results", "LC plateau reached after (months)", val("lc_plateau"), f"{plateau:g}",
                   plateau is not None and plateau <= rep_plateau,
                   f"last local failure at {plateau:g} months, flat afterwards", rounding=True))
    rmst = km_rmst(lc_t, lc_e, max(lc_t))
    out.append(row("lc_mean", "Abstract", "average local control time (months)", val("lc_mean_abstract"), f"{rmst:.1f}",
                   prints_as(Fraction(rmst), val("lc_mean_abstract")),
                   f"restricted mean of the LC KM curve up to the last follow-up ({max(lc_t):g} months)", rounding=True))
    n_alive_rep, n_alive_den = int(val("alive_disease_free")), int(val("alive_disease_free", "denominator"))
    deaths = sum(os_e)
    out.append(row("deaths", "Results", "deaths",
                   f"{n_alive_den - n_alive_rep} implied ({n_alive_rep} of {n_alive_den} alive)",
                   f"{deaths} deaths, {n - deaths} alive", n - deaths == n_alive_rep, "status column of Table 3"))
    # overall survival
    cens = [t for t, x in zip(os_t, os_e) if not x]
    first_cens = min(cens) if cens else None
    med = km_median(os_t, os_e)
    s_med = km_exact(os_t, os_e, med) if med is not None else None
    death_times = sorted(t for t, x in zip(os_t, os_e) if x)
    rep_med = float(val("os_median_results"))
    rank = (f"; {val('os_median_results')} months is death number {death_times.index(rep_med) + 1} of {len(death_times)}"
            if rep_med in death_times and rep_med != med else "")
    med_text = "never reached" if med is None else f"{med:g}"
    out.append(row("os_median", "Results; Abstract", "median OS (months)", val("os_median_results"), med_text,
                   med is not None and prints_as(Fraction(med), val("os_median_results")),
                   (f"first censoring at {first_cens:g} months; " if first_cens is not None else "no censoring; ")
                   + (f"S first falls to 0.5 or below at {med:g} months ({s_med.numerator}/{s_med.denominator} = "
                      f"{float(s_med) * 100:.0f}%)" if med is not None else "S never falls to 0.5") + rank))
    h = months("os_5y_results")
    s5 = km_exact(os_t, os_e, h)
    os5 = float(s5) * 100
    out.append(row("os_5y", "Results; Abstract; Figure 2", f"{h / 12:g}-year OS (%)", val("os_5y_results"), f"{os5:.1f}",
                   prints_as(s5 * 100, val("os_5y_results")),
                   f"KM at {h:g} months from Table 3 (first censoring at {first_cens:g} months): "
                   f"{s5.numerator}/{s5.denominator} = {os5:.1f}%"))
    h = months("dfs_5y_abstract")
    bound = km_exact(os_t, os_e, h) * 100
    lo_dfs, _ = grim.printed_interval(val("dfs_5y_abstract"))
    out.append(row("dfs_5y_bound", "Results; Abstract; Figure 2", f"{h / 12:g}-year DFS (%)", val("dfs_5y_abstract"),
                   f"<= {float(bound):.1f}", lo_dfs <= bound,
                   f"DFS can never exceed OS, and OS at {h:g} months from Table 3 is {float(bound):.1f}%"))
    last_death = max(death_times)
    out.append(row("latest_death", "Results", "latest death (months)", f"<= {val('os_no_death_after')}",
                   f"{last_death:g}", last_death <= float(val("os_no_death_after")), "last death in Table 3"))
    alive = sorted(cens)
    m_years = re.search(r"more than (\d+) years", val("alive_disease_free", "value_as_printed"))
    if m_years is None:
        raise ValueError(f"{est_file}: alive_disease_free.value_as_printed must say 'more than N years' "
                         "(the audit reads the survivors' minimum time from it)")
    over = 12 * int(m_years.group(1))
    out.append(row("alive_over_5y", "Results", f"alive, all > {over / 12:g} years", f"{n_alive_rep}, > {over:g} months",
                   f"{len(alive)}: {', '.join(f'{t:g}' for t in alive)}",
                   len(alive) == n_alive_rep and bool(alive) and min(alive) > over, "AWOD rows of Table 3"))
    med_alive = float(pd.Series(alive).median())
    med_all = float(pd.Series(os_t).median())
    rep_alive = val("follow_up_median_alive")
    out.append(row("fu_median_alive", "Results", "median follow-up of patients alive (months)", rep_alive,
                   f"{med_alive:g}", med_alive == float(rep_alive),
                   f"alive at {fmt_times(alive)} months; the median of all {n} observed times is {med_all:g}"))
    rep_fu = val("follow_up_median")
    out.append(row("fu_median", "Patients and Methods; Table 1", "median follow-up (months)", rep_fu,
                   f"{med_all:g} (all), {med_alive:g} (alive)", float(rep_fu) in (med_all, med_alive),
                   f"the median observed time is {med_all:g} and the median among survivors {med_alive:g}; "
                   + ("one of them" if float(rep_fu) in (med_all, med_alive) else "neither") + f" is {rep_fu}"))
    fu_lo, fu_hi = val("follow_up_median", "value_low"), val("follow_up_median", "value_high")
    out.append(row("fu_range", "Patients and Methods; Table 1", "follow-up range (months)", f"{fu_lo}-{fu_hi}",
                   f"{min(os_t):g}-{max(os_t):g}", (float(fu_lo), float(fu_hi)) == (min(os_t), max(os_t)),
                   f"observed times in Table 3 run from {min(os_t):g} to {max(os_t):g} months"))
    thr, thr_label = size_threshold(ch)
    gt = sum(x > thr for x in initial)
    out.append(row("size_gt10_initial", "Patients and Methods; Table 1", f"tumours {thr_label} initially",
                   val("size_gt10_initial_text"), str(gt), gt == int(val("size_gt10_initial_text")),
                   "initial diameters in Table 3: " + ", ".join(f"{x:g}" for x in initial)))
    gtb = sum((b if b is not None else a) > thr for a, b in zip(initial, before))
    missing = [(i, a) for i, a, b in zip(ids, initial, before) if b is None]
    miss_txt = grim_join([f"patient {i}" for i, _ in missing])
    rep_b = val("size_gt10_before_rt_text")
    if missing:
        rec_b = f"{gtb} ({miss_txt}: residual size not printed; initial used)"
        big = [(i, a) for i, a in missing if a > thr]
        expl = (f"{gtb} counting the initial size where Table 3 prints no residual; "
                + (f"{gtb - len(big)} if " + grim_join([f"patient {i} ({a:g} cm initially)" for i, a in big])
                   + f" had a residual <= {thr:g} cm" if big else "no unprinted residual can change the count"))
    else:
        rec_b, expl = str(gtb), "diameters before RT in Table 3"
    lo_count = gtb - sum(a > thr for _, a in missing)
    out.append(row("size_gt10_before_rt", "Patients and Methods", f"tumours {thr_label} before RT", rep_b, rec_b,
                   lo_count <= int(rep_b) <= gtb, expl))
    g3 = sum(g == "G3" for g in pts["grade"])
    out.append(grim.check_percent("ifo.ipd.g3", IFO, "Patients and Methods; Table 1", "G3 tumours (%) from Table 3", g3, n,
                                  val("g3_percent_text")))
    doses = sorted(float(x) for x in pts["dose_gy"])
    d_med, d_lo, d_hi = val("dose_median_text"), val("dose_median_text", "value_low"), val("dose_median_text", "value_high")
    out.append(row("dose", "Patients and Methods; Table 2", "median (range) RT dose (Gy)", f"{d_med} ({d_lo}-{d_hi})",
                   f"{pd.Series(doses).median():g} ({doses[0]:.1f}-{doses[-1]:.1f})",
                   (float(pd.Series(doses).median()), doses[0], doses[-1]) == (float(d_med), float(d_lo), float(d_hi)),
                   "doses in Table 3"))
    out += patient_checks(pts, th, _read(d, "toxicity", "events"), est)
    return out


def grim_join(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


#: What Table I's verification verdicts (literature/verification) mean as audit verdicts.
#: A value the publication read does not report (often an abstract) cannot be checked; one it contradicts is
#: inconsistent.
_TABLE_I_VERDICT = {"agrees": "consistent", "differs": "inconsistent", "not reported there": "cannot check",
                    "publication not readable": "cannot check"}


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
        own = (f"{r['primary_value']} ({r['access']}: \u201c{r['quote']}\u201d)" if r["quote"]
               else (r["primary_value"] or "not given"))
        out.append(CheckResult(
            f"table_i.{r['study_id']}.{r['field']}", "table_i", f"Table I row {r['study_id']} vs its own publication",
            f"{r['study_id']} {r['field']}", f"Table I: {r['table_i_value']}", f"own publication: {own}",
            _TABLE_I_VERDICT[r["verdict"]], f"{r['verdict']}: {r['reason']}"))
    return out


def run_audit(data_dir: Path | None = None) -> pd.DataFrame:
    """Every check as one table with columns :data:`~sarcoma_review.audit.records.COLUMNS`."""
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    rows = cnao_checks(d) + feasibility_checks(d) + ifosfamide_checks(d) + table_i_checks(d)
    return pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))


def write_audit_csv(path: Path | str, data_dir: Path | None = None) -> Path:
    """Write :func:`run_audit` to ``path`` (CSV) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    run_audit(data_dir).to_csv(p, index=False)
    return p


def reconstruct_all(data_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """Pseudo-IPD per CNAO endpoint (LC, DPFS, OS); see :mod:`sarcoma_review.audit.reconstruct`.

    The statements are read from ``<data_dir>/cnao`` (default :func:`sarcoma_review.paths.data_dir`).
    """
    reported = cnao_problems(data_dir=data_dir)
    return {ep: reconstruct(p, ep, fu_median=reported[ep].fu_median)
            for ep, p in reconstruction_problems(data_dir=data_dir).items()}


def pseudo_ipd_records(data_dir: Path | None = None) -> dict[str, tuple[pd.DataFrame, dict]]:
    """``{endpoint: (pseudo-IPD, sidecar record)}``; see :func:`sarcoma_review.audit.reconstruct.sidecar`."""
    reported = cnao_problems(data_dir=data_dir)
    kept = reconstruction_problems(data_dir=data_dir)
    reasons = dropped_reasons(reported)
    out = {}
    for ep, p in kept.items():
        df = reconstruct(p, ep, fu_median=reported[ep].fu_median)
        pl = plausibility(p)
        caveat = ("the honoured statements need an implausible timing of events: " + pl.sentence()
                  if pl is not None and pl.implausible else None)
        out[ep] = (df, sidecar(ep, reported[ep], p, df, reasons.get(ep, {}), caveat, data_dir))
    cohort = cohort_check({ep: df for ep, (df, _) in out.items()}, reported)  # the files side by side
    for _, record in out.values():
        record["one_cohort"] = cohort
    return out


def write_pseudo_ipd(directory: Path | str, data_dir: Path | None = None) -> list[Path]:
    """Write ``cnao_pseudo_ipd_<endpoint>.csv`` (time_months, event, endpoint) and, beside each, its
    sidecar ``cnao_pseudo_ipd_<endpoint>.json`` (what it honours and drops, and why); return the paths."""
    import json

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ep, (df, record) in pseudo_ipd_records(data_dir).items():
        p = out_dir / f"cnao_pseudo_ipd_{ep}.csv"
        df[["time_months", "event", "endpoint"]].to_csv(p, index=False)
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
        rows = (cnao_checks(d) + feasibility_checks(d, explorations=False) if source == CNAO
                else ifosfamide_checks(d))
        audit = pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))
    df = audit
    role = df["role"] if "role" in df.columns else pd.Series("finding", index=df.index)
    fid = df["finding_id"] if "finding_id" in df.columns else df["check_id"]
    out = df[(df["source"] == source) & df["verdict"].isin(FAILED) & (role == "finding")].copy()
    out["finding_id"] = fid[out.index]
    out["anchor"] = out["finding_id"].map(finding_anchor)
    out["href"] = AUDIT_PAGE + "#" + out["anchor"]
    return out.reset_index(drop=True)


__all__ = ["AUDIT_PAGE", "FAILED", "pseudo_ipd_records", "dropped_reasons", "anchor_id", "finding_anchor", "links",
           "reconstruct_all", "run_audit", "write_audit_csv", "write_pseudo_ipd"]
