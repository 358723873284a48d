"""The ifosfamide paper's statements about individual patients, text against Table 3.

Eckert et al. (2010) describe some patients twice: in sentences of the Results (who lost the second
ifosfamide cycle and why, who could not have radiotherapy as planned, whose tumour failed locally
and after what dose, the case report) and in their Table 3, one row per patient. Each pair is one
check. The text statements are read from ``data/toxicity/events.csv`` (which links them to Table 3
rows through ``overlaps_with``/``patient_id``) and ``data/ifosfamide/reported_estimates.csv``; the
patients from ``data/ifosfamide/patients.csv``; the intended ifosfamide doses from Table 2
(``therapy.csv``).

Reading of the doses: Table 2 gives the *intended* cumulative ifosfamide dose (10 or 15 g/m2, two
cycles of five days); a Table 3 total below every intended level is read as a withheld second cycle
(half of the intended dose: 7.5 of 15, 5 of 10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd

from sarcoma_review.audit.records import CheckResult
from sarcoma_review.audit.registry import check, context, run_group

IFO = "ifosfamide"
EVENTS_FILE = "data/toxicity/events.csv"


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else "none"


def _event(events: pd.DataFrame, event_id: str) -> pd.Series:
    row = events.loc[events["event_id"] == event_id]
    if row.empty:
        raise ValueError(f"{EVENTS_FILE} has no event_id {event_id!r}; the patient-level audit needs it (add the row)")
    return row.iloc[0]


def _number(text: str, pattern: str, where: str) -> list[str]:
    m = re.search(pattern, text)
    if m is None:
        raise ValueError(
            f"{where}: the statement {text!r} does not match {pattern!r}; the audit reads its numbers from it"
        )
    return list(m.groups())


def _rows(ids) -> str:
    return _join([f"row {i}" for i in ids]) if len(ids) else "no row"


GROUP = "ifo.patients"
EST_FILE = "data/ifosfamide/reported_estimates.csv"
WITHHELD_OR_DELAYED = ("Death during therapy", "Interruption")


@dataclass
class Patients:
    """The input of the patient-level checks: the frames as printed strings and what they share."""

    pts: pd.DataFrame
    therapy: pd.DataFrame
    events: pd.DataFrame
    estimates: pd.DataFrame

    def __post_init__(self):
        self.pid = [int(x) for x in self.pts["patient_id"]]
        self.total = [Fraction(str(x)) for x in self.pts["ifosfamide_total_g_m2"]]
        self.tox = [str(x) for x in self.pts["toxicity"]]
        self.by_id = dict(zip(self.pid, range(len(self.pid))))
        intended = self.therapy.loc[self.therapy["variable"] == "ifosfamide_dose_intended", "category"]
        self.levels = sorted(Fraction(re.match(r"\s*([0-9.]+)", c).group(1)) for c in intended)
        if not self.levels:
            raise ValueError("data/ifosfamide/therapy.csv has no ifosfamide_dose_intended rows; the audit needs them")
        self.reduced = [p for p, t in zip(self.pid, self.total) if t < min(self.levels)]
        self.e = self.estimates.set_index("estimate_id")

    def t3(self, p: int) -> str:
        """Table 3's toxicity cell of patient ``p``."""
        return self.tox[self.by_id[p]]

    def dose(self, p: int) -> float:
        """Table 3's total ifosfamide dose of patient ``p`` (g/m2)."""
        return float(self.total[self.by_id[p]])

    def cell(self, p: int, col: str) -> str:
        return self.pts.loc[self.pts["patient_id"] == str(p), col].iloc[0]

    def estimate(self, eid: str) -> pd.Series:
        if eid not in self.e.index:
            raise ValueError(f"{EST_FILE} has no estimate_id {eid!r}; the audit needs it")
        return self.e.loc[eid]


@context(GROUP)
def patients_input(d: Path) -> Patients:
    from sarcoma_review.audit.reconstruct import read_strings

    return Patients(
        read_strings(IFO, "patients", d),
        read_strings(IFO, "therapy", d),
        read_strings("toxicity", "events", d),
        read_strings(IFO, "reported_estimates", d),
    )


def row(cid, loc, q, rep, rec, verdict, expl):
    return CheckResult(f"ifo.pt.{cid}", IFO, loc, q, rep, rec, verdict, expl)


def _verdict(ok: bool) -> str:
    return "consistent" if ok else "inconsistent"


# --- the second ifosfamide cycle ------------------------------------------------------------


@check(
    "ifo.pt.cycle_withheld.count",
    GROUP,
    "Results; Table 3",
    "how many patients lost the second ifosfamide cycle, in the text and by Table 3's reduced totals",
)
def _cycle_withheld_count(p: Patients) -> list[CheckResult]:
    halves = {q: next((lv for lv in p.levels if p.total[p.by_id[q]] == lv / 2), None) for q in p.reduced}
    withheld = _event(p.events, "tox23")
    n_text = int(withheld["n_events"])
    return [
        row(
            "cycle_withheld.count",
            "Results; Table 3",
            "patients whose second ifosfamide cycle was withheld",
            f"{n_text} ({withheld['statement']})",
            f"{len(p.reduced)}: Table 3 totals below every intended dose "
            f"({', '.join(f'{float(x):g}' for x in p.levels)} g/m2) in " + _rows(p.reduced),
            _verdict(len(p.reduced) == n_text),
            "each reduced total is half of an intended dose: "
            + _join(
                [
                    f"row {q} {p.dose(q):g} = {float(h):g}/2"
                    if h
                    else f"row {q} {p.dose(q):g} (half of no intended dose)"
                    for q, h in halves.items()
                ]
            ),
        )
    ]


@check(
    "ifo.pt.intended_dose",
    GROUP,
    "Table 2; Table 3",
    "Table 2's intended ifosfamide doses against Table 3's totals, a withheld cycle counted as half",
)
def _intended_dose(p: Patients) -> list[CheckResult]:
    levels = p.levels
    intended = {}
    for t in p.total:
        lv = t if t in levels else (2 * t if 2 * t in levels else None)
        intended[lv] = intended.get(lv, 0) + 1
    t2 = {
        Fraction(re.match(r"\s*([0-9.]+)", r["category"]).group(1)): int(r["n"])
        for _, r in p.therapy[p.therapy["variable"] == "ifosfamide_dose_intended"].iterrows()
    }
    ok = all(intended.get(lv, 0) == t2[lv] for lv in levels) and None not in intended
    return [
        row(
            "intended_dose",
            "Table 2; Table 3",
            "intended ifosfamide dose per patient",
            "Table 2: " + ", ".join(f"{float(lv):g} g/m2 in {t2[lv]}" for lv in levels),
            "Table 3 totals, a withheld cycle counted as half: "
            + ", ".join(f"{float(lv):g} g/m2 in {intended.get(lv, 0)}" for lv in levels),
            _verdict(ok),
            "the totals of Table 3 give Table 2's intended doses when a reduced total is half of one"
            if ok
            else "the totals of Table 3 do not give Table 2's intended doses",
        )
    ]


def _named_patient(p: Patients, cid: str, eid: str, words: str) -> list[CheckResult]:
    """A patient the text names (death during therapy, the delayed course) lost the second cycle."""
    ev = _event(p.events, eid)
    linked = [
        int(_event(p.events, o)["patient_id"])
        for o in str(ev["overlaps_with"]).split()
        if str(_event(p.events, o)["patient_id"]).strip()
    ]
    rows_t3 = [q for q in p.pid if p.t3(q).startswith(words)]
    hit = [q for q in rows_t3 if q in p.reduced]
    ok = bool(rows_t3) and hit == rows_t3
    return [
        row(
            f"cycle_withheld.{cid}",
            "Results; Table 3",
            f"second cycle withheld: the patient with '{ev['event']}'",
            f"text: {ev['statement']} The second cycle of ifosfamide was withheld in both patients",
            f"Table 3 '{words}' in {_rows(rows_t3)}: total " + _join([f"{p.dose(q):g} g/m2" for q in rows_t3]),
            _verdict(ok and (not linked or linked == rows_t3)),
            f"Table 3 gives {_rows(rows_t3)} a reduced total, as a withheld second cycle would"
            if ok
            else f"Table 3 gives {_rows(rows_t3)} a full total",
        )
    ]


@check(
    "ifo.pt.cycle_withheld.death",
    GROUP,
    "Results; Table 3",
    "the patient who died during therapy lost the second cycle, by Table 3's total",
)
def _cycle_withheld_death(p: Patients) -> list[CheckResult]:
    return _named_patient(p, "death", "tox21", "Death during therapy")


@check(
    "ifo.pt.cycle_withheld.delay",
    GROUP,
    "Results; Table 3",
    "the patient whose course was interrupted lost the second cycle, by Table 3's total",
)
def _cycle_withheld_delay(p: Patients) -> list[CheckResult]:
    return _named_patient(p, "delay", "tox22", "Interruption")


@check(
    "ifo.pt.cycle_withheld.leucopenia",
    GROUP,
    "Results; Table 3",
    "the text's patient who lost the second cycle for leucopenia has a reduced total in Table 3",
)
def _cycle_withheld_leucopenia(p: Patients) -> list[CheckResult]:
    leuc = _event(p.events, "tox24")
    grade = _number(str(leuc["grade"]), r"grade\s+([IV]+)", f"{EVENTS_FILE} tox24 grade")[0]
    leuc_rows = [q for q in p.pid if p.t3(q).lower().startswith("leuc")]
    leuc_full = [q for q in leuc_rows if q not in p.reduced]
    others = [q for q in p.reduced if not p.t3(q).startswith(WITHHELD_OR_DELAYED)]
    ok = any(q in p.reduced for q in leuc_rows)
    return [
        row(
            "cycle_withheld.leucopenia",
            "Results; Table 3",
            f"second cycle withheld for leucopenia grade {grade} in one additional patient",
            f"text: {leuc['statement']}",
            "Table 3 leucopenia: "
            + _join([f"row {q} ('{p.t3(q)}', total {p.dose(q):g} g/m2)" for q in leuc_rows])
            + "; the other reduced total: "
            + _join([f"row {q} ('{p.t3(q) or 'no toxicity'}', {p.dose(q):g} g/m2)" for q in others]),
            _verdict(ok),
            "a leucopenia row of Table 3 has a reduced total"
            if ok
            else f"no patient with leucopenia in Table 3 lost a cycle ({_rows(leuc_full)} received the full "
            f"intended dose), "
            f"and the third patient whose total shows a withheld cycle ({_rows(others)}) has "
            + _join([f"'{p.t3(q) or 'no toxicity'}'" for q in others])
            + " in Table 3, not leucopenia",
        )
    ]


# --- radiotherapy not as planned ---------------------------------------------------------------


@check(
    "ifo.pt.rt_not_as_planned",
    GROUP,
    "Results; Table 3",
    "how many patients' radiotherapy was not applied as planned, in the text and in Table 3",
)
def _rt_not_as_planned(p: Patients) -> list[CheckResult]:
    rt = _event(p.events, "tox20")
    rt_rows = [q for q in p.pid if p.t3(q).startswith(WITHHELD_OR_DELAYED)]
    return [
        row(
            "rt_not_as_planned",
            "Results; Table 3",
            "patients whose radiotherapy was not applied as planned",
            f"{rt['n_events']} ({rt['statement']})",
            f"{len(rt_rows)}: Table 3 " + _join([f"row {q} '{p.t3(q)}'" for q in rt_rows]),
            _verdict(len(rt_rows) == int(rt["n_events"])),
            "the death during therapy and the interrupted course are the two Table 3 rows that stopped or delayed "
            "radiotherapy",
        )
    ]


@check(
    "ifo.pt.death_during_therapy.size",
    GROUP,
    "Results; Table 3",
    "the tumour size the text gives for the patient who died during therapy, against Table 3",
)
def _death_size(p: Patients) -> list[CheckResult]:
    death = _event(p.events, "tox21")
    over = float(_number(str(death["statement"]), r"over (\d+(?:\.\d+)?) cm", f"{EVENTS_FILE} tox21")[0])
    dd = [q for q in p.pid if p.t3(q).startswith("Death during therapy")]
    big = [q for q in p.pid if float(p.cell(q, "diameter_initial_cm")) > over]
    return [
        row(
            "death_during_therapy.size",
            "Results; Table 3",
            f"the patient who died during therapy had a tumour over {over:g} cm",
            f"text: tumour of over {over:g} cm in the thoracic irradiation field",
            f"Table 3 'Death during therapy': {_rows(dd)} ("
            + _join([f"{p.cell(q, 'diameter_initial_cm')} cm, {p.cell(q, 'site')}" for q in dd])
            + ")",
            _verdict(bool(dd) and dd == big),
            f"the only patient of Table 3 with a tumour over {over:g} cm is {_rows(big)}",
        )
    ]


@check(
    "ifo.pt.delay.setting",
    GROUP,
    "Results; Table 3",
    "the treatment setting of the patient whose radiotherapy was delayed, in the text and in Table 3",
)
def _delay_setting(p: Patients) -> list[CheckResult]:
    delay = _event(p.events, "tox22")
    intr = [q for q in p.pid if p.t3(q).startswith("Interruption")]
    blocks = [str(p.cell(q, "setting")) for q in intr]
    unsure = "surgical" in str(delay["statement"]) and "primary" in blocks
    return [
        row(
            "delay.setting",
            "Results; Table 3",
            "the patient whose radiotherapy was delayed 4 weeks",
            f"text: {delay['statement']}",
            f"Table 3 'Interruption (abscess)': {_rows(intr)}, in the block "
            + _join(["'Primary RTCHX'" if b == "primary" else "'RTCHX after R2-resection'" for b in blocks]),
            "cannot check" if unsure else "consistent",
            "the text speaks of multiple surgical procedures and osteosynthesis, Table 3 places the patient among "
            "the primary (unresected) treatments; the operations may not have touched the tumour, which the "
            "paper does not say"
            if unsure
            else "the text and Table 3 agree",
        )
    ]


# --- skin toxicity ---------------------------------------------------------------------------------


@check(
    "ifo.pt.skin",
    GROUP,
    "Results; Table 3",
    "the number and grade of severe skin reactions in the text against Table 3's rows",
)
def _skin(p: Patients) -> list[CheckResult]:
    skin = _event(p.events, "tox19")
    skin_rows = [q for q in p.pid if p.t3(q).lower().startswith("skin")]
    grades = [re.search(r"°([IV]+)", p.t3(q)).group(1) if "°" in p.t3(q) else "?" for q in skin_rows]
    allowed = re.findall(r"[IV]+", str(skin["grade"]).split("grade")[-1])
    graded = all(g in allowed for g in grades)
    return [
        row(
            "skin",
            "Results; Table 3",
            "patients with severe skin reactions",
            f"{skin['n_events']} of {skin['denominator']} evaluable, {skin['grade']}",
            f"{len(skin_rows)}: Table 3 " + _join([f"row {q} °{g}" for q, g in zip(skin_rows, grades)]),
            _verdict(len(skin_rows) == int(skin["n_events"]) and graded),
            f"the text's grade {skin['grade']} covers Table 3's grades"
            if graded
            else "Table 3 grades differ from the text's",
        )
    ]


# --- local relapses: time and dose ---------------------------------------------------------------


@check(
    "ifo.pt.local_relapse.time_dose",
    GROUP,
    "Results; Table 3",
    "the time and dose of each local relapse in the text against Table 3's local-failure rows",
)
def _local_relapse(p: Patients) -> list[CheckResult]:
    if "local_relapses" not in p.e.index:
        raise ValueError(
            "data/ifosfamide/reported_estimates.csv has no estimate_id 'local_relapses'; the audit needs it"
        )
    st = str(p.e.loc["local_relapses", "statement"])
    t1, t2_, d1, d2 = _number(
        st,
        r"after a time of (\d+) and (\d+) months.*?doses of ([0-9.]+) Gy and ([0-9.]+) Gy",
        "data/ifosfamide/reported_estimates.csv local_relapses",
    )
    text_pairs = sorted([(float(t1), float(d1)), (float(t2_), float(d2))])
    lf = p.pts[p.pts["local_failure"] == "1"]
    t3_pairs = sorted((float(a), float(b)) for a, b in zip(lf["lc_months"], lf["dose_gy"]))
    same = text_pairs == t3_pairs
    return [
        row(
            "local_relapse.time_dose",
            "Results; Table 3",
            "time and dose of each local relapse",
            "; ".join(f"{t:g} months after {d:g} Gy" for t, d in text_pairs),
            "Table 3 LF rows: "
            + "; ".join(
                f"row {q}: {a} months, {b} Gy" for q, a, b in zip(lf["patient_id"], lf["lc_months"], lf["dose_gy"])
            ),
            _verdict(same),
            "each relapse has the same time and dose in the text and in Table 3"
            if same
            else "the times and doses of the relapses differ between the text and Table 3",
        )
    ]


# --- tumour size of the patients who failed locally, and of those still at risk -------------------


def _size_readings(p: Patients, group: list[int], thr: float, over: bool):
    """``[(label, {patient: size}, [patients not over/under thr])]`` for both readings of the size."""
    initial = {int(a): float(b) for a, b in zip(p.pts["patient_id"], p.pts["diameter_initial_cm"])}
    before = {
        int(a): (float(b) if str(b).strip() else None)
        for a, b in zip(p.pts["patient_id"], p.pts["diameter_before_rt_cm"])
    }
    readings = []
    for label, sizes in (("initial diameter", initial), ("diameter before radiotherapy", before)):
        vals = {q: (sizes[q] if sizes[q] is not None else initial[q]) for q in group}
        bad = [q for q, v in vals.items() if (v <= thr if over else v >= thr)]
        readings.append((label, vals, bad))
    return readings


def _size_explanation(readings, word: str, thr: float) -> str:
    fits = [lab for lab, _, bad in readings if not bad]
    if len(fits) == 2:
        return f"every tumour is {word} {thr:g} cm by its " + " and by its ".join(fits)
    if not fits:
        return f"not {word} {thr:g} cm by either size"
    return (
        f"true by the {fits[0]} only: "
        + "; ".join(
            f"by the {lab}, " + _join([f"row {q} ({vals[q]:g} cm)" for q in bad]) + f" is not {word} {thr:g} cm"
            for lab, vals, bad in readings
            if bad
        )
        + "; the text does not say which size it means"
    )


def _size_rows(p: Patients, eid: str, cid: str, group: list[int], who: str, over: bool) -> list[CheckResult]:
    """The finding on a size statement and, when the two readings of the size differ, one exploration each.

    A statement true under one reading of an ambiguous size is consistent (the finding says which
    reading); the readings are explorations of it when they differ.
    """
    thr = float(p.e.loc[eid, "value"])
    readings = _size_readings(p, group, thr, over)
    fid = f"ifo.pt.{cid}"
    word = "over" if over else "smaller than"
    rep = f"{p.e.loc[eid, 'statement']}"
    out = [
        row(
            cid,
            "Results; Table 3",
            f"tumour size of {who.split(' (')[0]}",
            rep,
            "; ".join(
                f"{lab}: " + ", ".join(f"row {q} {v:g} cm" for q, v in vals.items()) for lab, vals, _ in readings
            ),
            _verdict(any(not bad for _, _, bad in readings)),
            _size_explanation(readings, word, thr),
        )
    ]
    differ = len({tuple(v.items()) for _, v, _ in readings}) > 1
    for lab, vals, bad in readings if differ else ():
        out.append(
            CheckResult(
                f"{fid}.{'initial' if lab.startswith('initial') else 'before_rt'}",
                IFO,
                "Results; Table 3",
                f"the same, reading the size as the {lab}",
                rep,
                ", ".join(f"row {q} {v:g} cm" for q, v in vals.items()),
                _verdict(not bad),
                f"every tumour {word} {thr:g} cm"
                if not bad
                else _join([f"row {q} ({vals[q]:g} cm)" for q in bad]) + f" is not {word} {thr:g} cm",
                finding_id=fid,
                role="exploration",
            )
        )
    return out


@check(
    "ifo.pt.local_failure.size",
    GROUP,
    "Results; Table 3",
    "the text's tumour size of the patients who failed locally against Table 3's diameters (both readings)",
)
def _local_failure_size(p: Patients) -> list[CheckResult]:
    p.estimate("local_failure_size_text")
    lf_ids = [int(a) for a, b in zip(p.pts["patient_id"], p.pts["local_failure"]) if b == "1"]
    who = f"the {len(lf_ids)} patients with a local failure ({_rows(lf_ids)})"
    return _size_rows(p, "local_failure_size_text", "local_failure.size", lf_ids, who, True)


@check(
    "ifo.pt.at_risk_2y.size",
    GROUP,
    "Results; Table 3",
    "the text's tumour size of the patients still at risk at two years against Table 3's diameters",
)
def _at_risk_size(p: Patients) -> list[CheckResult]:
    eid = "at_risk_2y_size_text"
    p.estimate(eid)
    lc_t = {int(a): float(b) for a, b in zip(p.pts["patient_id"], p.pts["lc_months"])}
    h = 12 * float(p.e.loc[eid, "horizon_years"])
    group = [q for q in p.pid if lc_t[q] > h]
    who = f"the {len(group)} patients with local control beyond {h:g} months ({_rows(group)})"
    return _size_rows(p, eid, "at_risk_2y.size", group, who, False)


# --- hyperfractionation, hyperthermia --------------------------------------------------------------


def _marked(p: Patients, eid: str, col: str, what: str) -> list[CheckResult]:
    p.estimate(eid)
    ids = [int(q) for q, v in zip(p.pts["patient_id"], p.pts[col]) if v == "true"]
    return [
        row(
            col,
            "Patients and Methods; Table 3",
            f"patients treated with {what}",
            f"{p.e.loc[eid, 'value']} ({p.e.loc[eid, 'statement']})",
            f"{len(ids)}: Table 3 {_rows(ids)}",
            _verdict(len(ids) == int(p.e.loc[eid, "value"])),
            f"Table 3 marks {_rows(ids)} with {'HF' if col == 'hyperfractionation' else 'HT'}",
        )
    ]


@check(
    "ifo.pt.hyperfractionation",
    GROUP,
    "Patients and Methods; Table 3",
    "how many patients were treated twice daily, in the text and by Table 3's marks",
)
def _hyperfractionation(p: Patients) -> list[CheckResult]:
    return _marked(p, "hyperfractionation_n_text", "hyperfractionation", "hyperfractionated twice daily")


@check(
    "ifo.pt.hyperthermia",
    GROUP,
    "Patients and Methods; Table 3",
    "how many patients had regional hyperthermia, in the text and by Table 3's marks",
)
def _hyperthermia(p: Patients) -> list[CheckResult]:
    return _marked(p, "hyperthermia_n_text", "hyperthermia", "regional hyperthermia")


# --- the case report ----------------------------------------------------------------------------


@check(
    "ifo.pt.case_report.late_toxicity",
    GROUP,
    "Results (case report); Figure 3; Table 3",
    "the case report's late effect against the toxicity Table 3 lists for that patient",
)
def _case_report(p: Patients) -> list[CheckResult]:
    late = _event(p.events, "tox31")
    cap = _event(p.events, "tox30")
    dose = float(_number(str(cap["statement"]), r"to (\d+(?:\.\d+)?) Gy", f"{EVENTS_FILE} tox30")[0])
    cand = [
        int(r["patient_id"])
        for _, r in p.pts.iterrows()
        if float(r["dose_gy"]) == dose
        and r["hyperfractionation"] == "true"
        and r["hyperthermia"] == "true"
        and r["status"] == "AWOD"
    ]
    cells = [p.t3(q) for q in cand]
    unlisted = bool(cand) and not any(cells)
    return [
        row(
            "case_report.late_toxicity",
            "Results (case report); Figure 3; Table 3",
            "late effect of grade III or higher of the case-report patient",
            f"text: {late['statement']}",
            f"Table 3 {_rows(cand)} (the only {dose:g} Gy, HF + HT patient alive without disease): 'Toxicity >= III' "
            + ("empty" if not any(cells) else _join(f"'{c}'" for c in cells)),
            "cannot check" if unlisted else "consistent",
            "Table 3 does not list the ureteral stenosis; its column 'Toxicity >= III' would, unless it is meant "
            "for acute effects only, which the paper does not say"
            if unlisted
            else "Table 3 lists a toxicity for this patient",
        )
    ]


def patient_checks(
    pts: pd.DataFrame, therapy: pd.DataFrame, events: pd.DataFrame, estimates: pd.DataFrame
) -> list[CheckResult]:
    """Every text/Table 3 pair about the same patient(s), as audit rows (``ifo.pt.*``): the registered
    checks of the group ``ifo.patients`` (see :mod:`sarcoma_review.audit.registry`).

    All frames are read as printed strings (see :func:`sarcoma_review.audit.reconstruct.read_strings`).
    """
    return run_group(GROUP, Patients(pts, therapy, events, estimates))
