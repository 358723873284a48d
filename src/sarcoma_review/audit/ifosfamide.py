"""The checks of Eckert et al. (2010) that recompute its reported values from Table 3 (``ifo.*``, ``ifo.ipd.*``).

Each check is registered in :mod:`sarcoma_review.audit.registry` (group ``ifo.reported`` for the printed
percentages, ``ifo.ipd`` for the values recomputed from the patients of Table 3); the patient-level
text/Table 3 pairs are in :mod:`sarcoma_review.audit.patients`.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pandas as pd

from sarcoma_review.audit import grim
from sarcoma_review.audit.feasibility import km_exact
from sarcoma_review.audit.ipd import at_risk, km_median, km_rmst, km_steps, last_event_time, size_threshold
from sarcoma_review.audit.reconstruct import read_strings
from sarcoma_review.audit.records import CheckResult
from sarcoma_review.audit.registry import check, context

IFO = "ifosfamide"
REPORTED, IPD = "ifo.reported", "ifo.ipd"
EST_FILE = "data/ifosfamide/reported_estimates.csv"


def grim_join(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def percent_table(df: pd.DataFrame, source: str, location: str, denominator: int, prefix: str) -> list[CheckResult]:
    """GRIM of every printed percentage of a characteristics table, and of each variable's sum."""
    out = []
    for _, r in df.iterrows():
        if r["n"] == "" or r["percent"] == "":
            continue
        out.append(
            grim.check_percent(
                f"{prefix}.{r['variable']}.{r['category']}",
                source,
                location,
                f"{str(r['variable']).replace('_', ' ')}: {r['category']} (%)",
                int(r["n"]),
                denominator,
                r["percent"],
            )
        )
    for var, g in df[df["n"] != ""].groupby("variable", sort=False):
        if len(g) > 1:
            out.append(
                grim.check_sum(
                    f"{prefix}.{var}.sum",
                    source,
                    location,
                    f"{str(var).replace('_', ' ')}: categories sum to N",
                    [int(x) for x in g["n"]],
                    denominator,
                )
            )
    return out


class Ifo:
    """The input of the ifosfamide checks: the paper's tables as printed strings and Table 3's columns."""

    def __init__(self, d: Path):
        self.ch = read_strings(IFO, "characteristics", d)
        self.th = read_strings(IFO, "therapy", d)
        self.est = read_strings(IFO, "reported_estimates", d)
        self.pts = pts = read_strings(IFO, "patients", d)
        self.n = len(pts)
        self.e = self.est.set_index("estimate_id")
        self.lc_t = [float(x) for x in pts["lc_months"]]
        self.lc_e = [int(x) for x in pts["local_failure"]]
        self.os_t = [float(x) for x in pts["os_months"]]
        self.os_e = [int(x) for x in pts["death"]]
        self.ids = list(pts["patient_id"])
        self.initial = [float(x) for x in pts["diameter_initial_cm"]]
        self.before = [float(x) if x else None for x in pts["diameter_before_rt_cm"]]
        self.death_times = sorted(t for t, x in zip(self.os_t, self.os_e) if x)
        self.alive = sorted(t for t, x in zip(self.os_t, self.os_e) if not x)
        self.first_cens = self.alive[0] if self.alive else None

    def val(self, eid: str, col: str = "value") -> str:
        """A reported value as printed (ValueError naming the file when the row or cell is missing)."""
        if eid not in self.e.index:
            raise ValueError(f"{EST_FILE} has no estimate_id {eid!r}; the audit needs it (add the row)")
        v = str(self.e.loc[eid, col]).strip()
        if v == "":
            raise ValueError(f"{EST_FILE}: {eid!r} has no {col}; the audit needs it")
        return v

    def months(self, eid: str) -> float:
        return 12 * float(self.val(eid, "horizon_years"))


context(REPORTED)(Ifo)
context(IPD)(Ifo)


def row(cid, loc, q, rep, rec, ok, expl, rounding=False):
    verdict = ("consistent with rounding" if rounding else "consistent") if ok else "inconsistent"
    return CheckResult(f"ifo.ipd.{cid}", IFO, loc, q, rep, rec, verdict, expl)


def prints_as(x: float | Fraction, printed: str) -> bool:
    """Does the exact value print as ``printed`` under some rounding rule?"""
    return bool(grim.matching_modes(grim.to_fraction(x) if not isinstance(x, Fraction) else x, printed))


def fmt_times(ts) -> str:
    return grim_join([f"{t:g}" for t in ts])


# --- printed percentages ----------------------------------------------------------------------------


@check("ifo.table1", REPORTED, "Table 1", "GRIM of every percentage of Table 1 (patients), and each variable's sum")
def _table1(f: Ifo) -> list[CheckResult]:
    return percent_table(f.ch, IFO, "Table 1", f.n, "ifo.table1")


@check("ifo.table2", REPORTED, "Table 2", "GRIM of every percentage of Table 2 (therapy), and each variable's sum")
def _table2(f: Ifo) -> list[CheckResult]:
    return percent_table(f.th, IFO, "Table 2", f.n, "ifo.table2")


@check(
    "ifo.text_percentages",
    REPORTED,
    "Abstract; Results; Patients and Methods",
    "GRIM of the percentages printed in the text with their counts",
)
def _text_percentages(f: Ifo) -> list[CheckResult]:
    e, out = f.e, []
    for eid in ("died_metastasized_percent", "size_gt10_before_rt_text_percent", "rt_as_planned", "therapy_completed"):
        num = e.loc[eid, "numerator"]
        out.append(
            grim.check_percent(
                f"ifo.{eid}",
                IFO,
                e.loc[eid, "location"],
                e.loc[eid, "quantity"] + " " + eid,
                int(num) if num else None,
                int(e.loc[eid, "denominator"] or f.n),
                e.loc[eid, "value"],
            )
        )
    return out


@check(
    "ifo.distant_metastases_percent",
    REPORTED,
    "Discussion",
    "GRIM of the percentage of patients with distant metastases",
)
def _distant_metastases(f: Ifo) -> list[CheckResult]:
    return [
        grim.check_percent(
            "ifo.distant_metastases_percent",
            IFO,
            "Discussion",
            "patients with distant metastases (%)",
            None,
            f.n,
            f.e.loc["distant_metastases_percent", "value"],
        )
    ]


# --- local control ---------------------------------------------------------------------------------


@check(
    "ifo.ipd.lc_horizons",
    IPD,
    "Results; Abstract; Figure 2",
    "the Kaplan-Meier local control at the reported horizons, recomputed from Table 3",
)
def _lc_horizons(f: Ifo) -> list[CheckResult]:
    lc_steps = km_steps(f.lc_t, f.lc_e)
    product = " x ".join(f"{r - 1}/{r}" for _, _, r in lc_steps)
    failures = grim_join([f"{t:g} ({r} at risk)" for t, _, r in lc_steps])
    out = []
    for eid in ("lc_2y_results", "lc_5y_results"):
        h = f.months(eid)
        s_h = km_exact(f.lc_t, f.lc_e, h)
        v = float(s_h) * 100
        out.append(
            row(
                f"lc_{h / 12:g}y",
                "Results; Abstract; Figure 2",
                f"KM local control at {h / 12:g} years (%)",
                f.val(eid),
                f"{v:.1f}",
                prints_as(s_h * 100, f.val(eid)),
                f"Table 3: failures at {failures} months: {product} = {v:.1f}%",
            )
        )
    return out


@check("ifo.ipd.lc_events", IPD, "Results", "the number of local failures in the text against Table 3")
def _lc_events(f: Ifo) -> list[CheckResult]:
    lf_times = [t for t, x in zip(f.lc_t, f.lc_e) if x]
    return [
        row(
            "lc_events",
            "Results",
            "local failures",
            f"{f.val('local_relapses')} ({f.val('local_relapses', 'value_as_printed')})",
            f"{sum(f.lc_e)} (at {fmt_times(sorted(lf_times))} months)",
            sum(f.lc_e) == int(f.val("local_relapses")),
            "Table 3 marks a local failure (LF) for these patients",
        )
    ]


@check("ifo.ipd.lc_at_risk_2y", IPD, "Results", "the number at risk for local control after two years, against Table 3")
def _lc_at_risk(f: Ifo) -> list[CheckResult]:
    h = f.months("lc_at_risk_2y")
    n_risk = at_risk(f.lc_t, h)
    return [
        row(
            "lc_at_risk_2y",
            "Results",
            f"patients at risk for LC after {h / 12:g} years",
            f.val("lc_at_risk_2y"),
            str(n_risk),
            n_risk == int(f.val("lc_at_risk_2y")),
            f"LC times above {h:g} months: " + ", ".join(f"{t:g}" for t in sorted(f.lc_t) if t > h),
        )
    ]


@check("ifo.ipd.lc_plateau", IPD, "Results", "the time the local control curve reaches its plateau, against Table 3")
def _lc_plateau(f: Ifo) -> list[CheckResult]:
    plateau = last_event_time(f.lc_t, f.lc_e)
    rep_plateau = float(f.val("lc_plateau"))
    return [
        row(
            "lc_plateau",
            "Results",
            "LC plateau reached after (months)",
            f.val("lc_plateau"),
            f"{plateau:g}",
            plateau is not None and plateau <= rep_plateau,
            f"last local failure at {plateau:g} months, flat afterwards",
            rounding=True,
        )
    ]


@check(
    "ifo.ipd.lc_mean",
    IPD,
    "Abstract",
    "the average local control time against the restricted mean of Table 3's local control curve",
)
def _lc_mean(f: Ifo) -> list[CheckResult]:
    rmst = km_rmst(f.lc_t, f.lc_e, max(f.lc_t))
    return [
        row(
            "lc_mean",
            "Abstract",
            "average local control time (months)",
            f.val("lc_mean_abstract"),
            f"{rmst:.1f}",
            prints_as(Fraction(rmst), f.val("lc_mean_abstract")),
            f"restricted mean of the LC KM curve up to the last follow-up ({max(f.lc_t):g} months)",
            rounding=True,
        )
    ]


@check("ifo.ipd.deaths", IPD, "Results", "the deaths implied by the number alive, against Table 3's status")
def _deaths(f: Ifo) -> list[CheckResult]:
    n_alive_rep, n_alive_den = int(f.val("alive_disease_free")), int(f.val("alive_disease_free", "denominator"))
    deaths = sum(f.os_e)
    return [
        row(
            "deaths",
            "Results",
            "deaths",
            f"{n_alive_den - n_alive_rep} implied ({n_alive_rep} of {n_alive_den} alive)",
            f"{deaths} deaths, {f.n - deaths} alive",
            f.n - deaths == n_alive_rep,
            "status column of Table 3",
        )
    ]


# --- overall survival ------------------------------------------------------------------------------


@check("ifo.ipd.os_median", IPD, "Results; Abstract", "the median overall survival, recomputed from Table 3")
def _os_median(f: Ifo) -> list[CheckResult]:
    med = km_median(f.os_t, f.os_e)
    s_med = km_exact(f.os_t, f.os_e, med) if med is not None else None
    rep_med = float(f.val("os_median_results"))
    dt = f.death_times
    rank = (
        f"; {f.val('os_median_results')} months is death number {dt.index(rep_med) + 1} of {len(dt)}"
        if rep_med in dt and rep_med != med
        else ""
    )
    med_text = "never reached" if med is None else f"{med:g}"
    cens = f"first censoring at {f.first_cens:g} months; " if f.first_cens is not None else "no censoring; "
    fall = (
        f"S first falls to 0.5 or below at {med:g} months ({s_med.numerator}/{s_med.denominator} = "
        f"{float(s_med) * 100:.0f}%)"
        if med is not None
        else "S never falls to 0.5"
    )
    return [
        row(
            "os_median",
            "Results; Abstract",
            "median OS (months)",
            f.val("os_median_results"),
            med_text,
            med is not None and prints_as(Fraction(med), f.val("os_median_results")),
            cens + fall + rank,
        )
    ]


@check("ifo.ipd.os_5y", IPD, "Results; Abstract; Figure 2", "the five-year overall survival, recomputed from Table 3")
def _os_5y(f: Ifo) -> list[CheckResult]:
    h = f.months("os_5y_results")
    s5 = km_exact(f.os_t, f.os_e, h)
    os5 = float(s5) * 100
    return [
        row(
            "os_5y",
            "Results; Abstract; Figure 2",
            f"{h / 12:g}-year OS (%)",
            f.val("os_5y_results"),
            f"{os5:.1f}",
            prints_as(s5 * 100, f.val("os_5y_results")),
            f"KM at {h:g} months from Table 3 (first censoring at {f.first_cens:g} months): "
            f"{s5.numerator}/{s5.denominator} = {os5:.1f}%",
        )
    ]


@check(
    "ifo.ipd.dfs_5y_bound",
    IPD,
    "Results; Abstract; Figure 2",
    "the five-year disease-free survival is not above the overall survival recomputed from Table 3",
)
def _dfs_bound(f: Ifo) -> list[CheckResult]:
    h = f.months("dfs_5y_abstract")
    bound = km_exact(f.os_t, f.os_e, h) * 100
    lo_dfs, _ = grim.printed_interval(f.val("dfs_5y_abstract"))
    return [
        row(
            "dfs_5y_bound",
            "Results; Abstract; Figure 2",
            f"{h / 12:g}-year DFS (%)",
            f.val("dfs_5y_abstract"),
            f"<= {float(bound):.1f}",
            lo_dfs <= bound,
            f"DFS can never exceed OS, and OS at {h:g} months from Table 3 is {float(bound):.1f}%",
        )
    ]


@check("ifo.ipd.latest_death", IPD, "Results", "no death after the time the text names, by Table 3")
def _latest_death(f: Ifo) -> list[CheckResult]:
    last_death = max(f.death_times)
    return [
        row(
            "latest_death",
            "Results",
            "latest death (months)",
            f"<= {f.val('os_no_death_after')}",
            f"{last_death:g}",
            last_death <= float(f.val("os_no_death_after")),
            "last death in Table 3",
        )
    ]


@check("ifo.ipd.alive_over_5y", IPD, "Results", "the number alive and their minimum time, against Table 3")
def _alive_over(f: Ifo) -> list[CheckResult]:
    n_alive_rep = int(f.val("alive_disease_free"))
    m_years = re.search(r"more than (\d+) years", f.val("alive_disease_free", "value_as_printed"))
    if m_years is None:
        raise ValueError(
            f"{EST_FILE}: alive_disease_free.value_as_printed must say 'more than N years' "
            "(the audit reads the survivors' minimum time from it)"
        )
    over = 12 * int(m_years.group(1))
    alive = f.alive
    return [
        row(
            "alive_over_5y",
            "Results",
            f"alive, all > {over / 12:g} years",
            f"{n_alive_rep}, > {over:g} months",
            f"{len(alive)}: {', '.join(f'{t:g}' for t in alive)}",
            len(alive) == n_alive_rep and bool(alive) and min(alive) > over,
            "AWOD rows of Table 3",
        )
    ]


# --- follow-up -------------------------------------------------------------------------------------


def _medians(f: Ifo) -> tuple[float, float]:
    return float(pd.Series(f.alive).median()), float(pd.Series(f.os_t).median())


@check("ifo.ipd.fu_median_alive", IPD, "Results", "the median follow-up of the patients alive, against Table 3")
def _fu_median_alive(f: Ifo) -> list[CheckResult]:
    med_alive, med_all = _medians(f)
    rep_alive = f.val("follow_up_median_alive")
    return [
        row(
            "fu_median_alive",
            "Results",
            "median follow-up of patients alive (months)",
            rep_alive,
            f"{med_alive:g}",
            med_alive == float(rep_alive),
            f"alive at {fmt_times(f.alive)} months; the median of all {f.n} observed times is {med_all:g}",
        )
    ]


@check(
    "ifo.ipd.fu_median",
    IPD,
    "Patients and Methods; Table 1",
    "the median follow-up against Table 3's median observed time, of all patients or of the survivors",
)
def _fu_median(f: Ifo) -> list[CheckResult]:
    med_alive, med_all = _medians(f)
    rep_fu = f.val("follow_up_median")
    either = float(rep_fu) in (med_all, med_alive)
    return [
        row(
            "fu_median",
            "Patients and Methods; Table 1",
            "median follow-up (months)",
            rep_fu,
            f"{med_all:g} (all), {med_alive:g} (alive)",
            either,
            f"the median observed time is {med_all:g} and the median among survivors {med_alive:g}; "
            + ("one of them" if either else "neither")
            + f" is {rep_fu}",
        )
    ]


@check("ifo.ipd.fu_range", IPD, "Patients and Methods; Table 1", "the follow-up range against Table 3's observed times")
def _fu_range(f: Ifo) -> list[CheckResult]:
    fu_lo, fu_hi = f.val("follow_up_median", "value_low"), f.val("follow_up_median", "value_high")
    lo, hi = min(f.os_t), max(f.os_t)
    return [
        row(
            "fu_range",
            "Patients and Methods; Table 1",
            "follow-up range (months)",
            f"{fu_lo}-{fu_hi}",
            f"{lo:g}-{hi:g}",
            (float(fu_lo), float(fu_hi)) == (lo, hi),
            f"observed times in Table 3 run from {lo:g} to {hi:g} months",
        )
    ]


# --- tumours, grade, dose --------------------------------------------------------------------------


@check(
    "ifo.ipd.size_gt10_initial",
    IPD,
    "Patients and Methods; Table 1",
    "the number of large tumours at diagnosis, against Table 3's initial diameters",
)
def _size_initial(f: Ifo) -> list[CheckResult]:
    thr, thr_label = size_threshold(f.ch)
    gt = sum(x > thr for x in f.initial)
    return [
        row(
            "size_gt10_initial",
            "Patients and Methods; Table 1",
            f"tumours {thr_label} initially",
            f.val("size_gt10_initial_text"),
            str(gt),
            gt == int(f.val("size_gt10_initial_text")),
            "initial diameters in Table 3: " + ", ".join(f"{x:g}" for x in f.initial),
        )
    ]


@check(
    "ifo.ipd.size_gt10_before_rt",
    IPD,
    "Patients and Methods",
    "the number of large tumours before radiotherapy, against Table 3's diameters (an unprinted residual bounds it)",
)
def _size_before(f: Ifo) -> list[CheckResult]:
    thr, thr_label = size_threshold(f.ch)
    gtb = sum((b if b is not None else a) > thr for a, b in zip(f.initial, f.before))
    missing = [(i, a) for i, a, b in zip(f.ids, f.initial, f.before) if b is None]
    miss_txt = grim_join([f"patient {i}" for i, _ in missing])
    rep_b = f.val("size_gt10_before_rt_text")
    if missing:
        rec_b = f"{gtb} ({miss_txt}: residual size not printed; initial used)"
        big = [(i, a) for i, a in missing if a > thr]
        expl = f"{gtb} counting the initial size where Table 3 prints no residual; " + (
            f"{gtb - len(big)} if "
            + grim_join([f"patient {i} ({a:g} cm initially)" for i, a in big])
            + f" had a residual <= {thr:g} cm"
            if big
            else "no unprinted residual can change the count"
        )
    else:
        rec_b, expl = str(gtb), "diameters before RT in Table 3"
    lo_count = gtb - sum(a > thr for _, a in missing)
    return [
        row(
            "size_gt10_before_rt",
            "Patients and Methods",
            f"tumours {thr_label} before RT",
            rep_b,
            rec_b,
            lo_count <= int(rep_b) <= gtb,
            expl,
        )
    ]


@check("ifo.ipd.g3", IPD, "Patients and Methods; Table 1", "GRIM of the percentage of G3 tumours counted in Table 3")
def _g3(f: Ifo) -> list[CheckResult]:
    g3 = sum(g == "G3" for g in f.pts["grade"])
    return [
        grim.check_percent(
            "ifo.ipd.g3",
            IFO,
            "Patients and Methods; Table 1",
            "G3 tumours (%) from Table 3",
            g3,
            f.n,
            f.val("g3_percent_text"),
        )
    ]


@check(
    "ifo.ipd.dose", IPD, "Patients and Methods; Table 2", "the median and range of the radiotherapy dose, from Table 3"
)
def _dose(f: Ifo) -> list[CheckResult]:
    doses = sorted(float(x) for x in f.pts["dose_gy"])
    d_med, d_lo, d_hi = (
        f.val("dose_median_text"),
        f.val("dose_median_text", "value_low"),
        f.val("dose_median_text", "value_high"),
    )
    med = pd.Series(doses).median()
    return [
        row(
            "dose",
            "Patients and Methods; Table 2",
            "median (range) RT dose (Gy)",
            f"{d_med} ({d_lo}-{d_hi})",
            f"{med:g} ({doses[0]:.1f}-{doses[-1]:.1f})",
            (float(med), doses[0], doses[-1]) == (float(d_med), float(d_lo), float(d_hi)),
            "doses in Table 3",
        )
    ]
