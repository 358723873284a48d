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
from fractions import Fraction

import pandas as pd

from sarcoma_review.audit.records import CheckResult

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
        raise ValueError(f"{where}: the statement {text!r} does not match {pattern!r}; the audit reads its numbers from it")
    return list(m.groups())


def _rows(ids) -> str:
    return _join([f"row {i}" for i in ids]) if len(ids) else "no row"


def patient_checks(pts: pd.DataFrame, therapy: pd.DataFrame, events: pd.DataFrame,
                   estimates: pd.DataFrame) -> list[CheckResult]:
    """Every text/Table 3 pair about the same patient(s), as audit rows (``ifo.pt.*``).

    All frames are read as printed strings (see :func:`sarcoma_review.audit.reconstruct.read_strings`).
    """
    out: list[CheckResult] = []
    pid = [int(x) for x in pts["patient_id"]]
    total = [Fraction(str(x)) for x in pts["ifosfamide_total_g_m2"]]
    tox = [str(x) for x in pts["toxicity"]]
    by_id = dict(zip(pid, range(len(pid))))

    def row(cid, loc, q, rep, rec, verdict, expl):
        return CheckResult(f"ifo.pt.{cid}", IFO, loc, q, rep, rec, verdict, expl)

    # --- the second ifosfamide cycle ------------------------------------------------------------
    levels = sorted(Fraction(re.match(r"\s*([0-9.]+)", c).group(1))
                    for c in therapy.loc[therapy["variable"] == "ifosfamide_dose_intended", "category"])
    if not levels:
        raise ValueError("data/ifosfamide/therapy.csv has no ifosfamide_dose_intended rows; the audit needs them")
    reduced = [p for p, t in zip(pid, total) if t < min(levels)]
    halves = {p: next((lv for lv in levels if total[by_id[p]] == lv / 2), None) for p in reduced}
    withheld = _event(events, "tox23")
    n_text = int(withheld["n_events"])
    out.append(row("cycle_withheld.count", "Results; Table 3", "patients whose second ifosfamide cycle was withheld",
                   f"{n_text} ({withheld['statement']})",
                   f"{len(reduced)}: Table 3 totals below every intended dose ({', '.join(f'{float(x):g}' for x in levels)} g/m2) in "
                   + _rows(reduced), "consistent" if len(reduced) == n_text else "inconsistent",
                   "each reduced total is half of an intended dose: " + _join(
                       [f"row {p} {float(total[by_id[p]]):g} = {float(h):g}/2" if h else f"row {p} {float(total[by_id[p]]):g} (half of no intended dose)"
                        for p, h in halves.items()])))
    # intended doses (Table 2) against Table 3 read that way
    intended = {}
    for p, t in zip(pid, total):
        lv = t if t in levels else (2 * t if 2 * t in levels else None)
        intended[lv] = intended.get(lv, 0) + 1
    t2 = {Fraction(re.match(r"\s*([0-9.]+)", r["category"]).group(1)): int(r["n"])
          for _, r in therapy[therapy["variable"] == "ifosfamide_dose_intended"].iterrows()}
    ok = all(intended.get(lv, 0) == t2[lv] for lv in levels) and None not in intended
    out.append(row("intended_dose", "Table 2; Table 3", "intended ifosfamide dose per patient",
                   "Table 2: " + ", ".join(f"{float(lv):g} g/m2 in {t2[lv]}" for lv in levels),
                   "Table 3 totals, a withheld cycle counted as half: "
                   + ", ".join(f"{float(lv):g} g/m2 in {intended.get(lv, 0)}" for lv in levels),
                   "consistent" if ok else "inconsistent",
                   "the totals of Table 3 give Table 2's intended doses when a reduced total is half of one"
                   if ok else "the totals of Table 3 do not give Table 2's intended doses"))
    # the patients named by the text: death during therapy, the delayed course, leucopenia grade III
    for cid, eid, words in (("death", "tox21", "Death during therapy"), ("delay", "tox22", "Interruption")):
        ev = _event(events, eid)
        linked = [int(_event(events, o)["patient_id"]) for o in str(ev["overlaps_with"]).split()
                  if str(_event(events, o)["patient_id"]).strip()]
        rows_t3 = [p for p in pid if tox[by_id[p]].startswith(words)]
        hit = [p for p in rows_t3 if p in reduced]
        out.append(row(f"cycle_withheld.{cid}", "Results; Table 3",
                       f"second cycle withheld: the patient with '{ev['event']}'",
                       f"text: {ev['statement']} The second cycle of ifosfamide was withheld in both patients",
                       f"Table 3 '{words}' in {_rows(rows_t3)}: total "
                       + _join([f"{float(total[by_id[p]]):g} g/m2" for p in rows_t3]),
                       "consistent" if rows_t3 and hit == rows_t3 and (not linked or linked == rows_t3) else "inconsistent",
                       f"Table 3 gives {_rows(rows_t3)} a reduced total, as a withheld second cycle would"
                       if hit == rows_t3 and rows_t3 else f"Table 3 gives {_rows(rows_t3)} a full total"))
    leuc = _event(events, "tox24")
    grade = _number(str(leuc["grade"]), r"grade\s+([IV]+)", f"{EVENTS_FILE} tox24 grade")[0]
    leuc_rows = [p for p in pid if tox[by_id[p]].lower().startswith("leuc")]
    leuc_full = [p for p in leuc_rows if p not in reduced]
    others = [p for p in reduced if not tox[by_id[p]].startswith(("Death during therapy", "Interruption"))]
    ok = any(p in reduced for p in leuc_rows)
    out.append(row("cycle_withheld.leucopenia", "Results; Table 3",
                   f"second cycle withheld for leucopenia grade {grade} in one additional patient",
                   f"text: {leuc['statement']}",
                   "Table 3 leucopenia: " + _join([f"row {p} ('{tox[by_id[p]]}', total {float(total[by_id[p]]):g} g/m2)"
                                                   for p in leuc_rows])
                   + "; the other reduced total: " + _join([f"row {p} ('{tox[by_id[p]] or 'no toxicity'}', "
                                                            f"{float(total[by_id[p]]):g} g/m2)" for p in others]),
                   "consistent" if ok else "inconsistent",
                   "a leucopenia row of Table 3 has a reduced total" if ok else
                   f"no patient with leucopenia in Table 3 lost a cycle ({_rows(leuc_full)} received the full intended dose), "
                   f"and the third patient whose total shows a withheld cycle ({_rows(others)}) has "
                   + _join([f"'{tox[by_id[p]] or 'no toxicity'}'" for p in others]) + " in Table 3, not leucopenia"))
    # --- radiotherapy not as planned ---------------------------------------------------------------
    rt = _event(events, "tox20")
    rt_rows = [p for p in pid if tox[by_id[p]].startswith(("Death during therapy", "Interruption"))]
    out.append(row("rt_not_as_planned", "Results; Table 3", "patients whose radiotherapy was not applied as planned",
                   f"{rt['n_events']} ({rt['statement']})",
                   f"{len(rt_rows)}: Table 3 " + _join([f"row {p} '{tox[by_id[p]]}'" for p in rt_rows]),
                   "consistent" if len(rt_rows) == int(rt["n_events"]) else "inconsistent",
                   "the death during therapy and the interrupted course are the two Table 3 rows that stopped or delayed "
                   "radiotherapy"))
    death = _event(events, "tox21")
    over = float(_number(str(death["statement"]), r"over (\d+(?:\.\d+)?) cm", f"{EVENTS_FILE} tox21")[0])
    dd = [p for p in pid if tox[by_id[p]].startswith("Death during therapy")]
    big = [p for p in pid if float(pts.loc[pts["patient_id"] == str(p), "diameter_initial_cm"].iloc[0]) > over]
    out.append(row("death_during_therapy.size", "Results; Table 3", f"the patient who died during therapy had a tumour over {over:g} cm",
                   f"text: tumour of over {over:g} cm in the thoracic irradiation field",
                   f"Table 3 'Death during therapy': {_rows(dd)} ("
                   + _join([f"{pts.loc[pts['patient_id'] == str(p), 'diameter_initial_cm'].iloc[0]} cm, "
                            f"{pts.loc[pts['patient_id'] == str(p), 'site'].iloc[0]}" for p in dd]) + ")",
                   "consistent" if dd and dd == big else "inconsistent",
                   f"the only patient of Table 3 with a tumour over {over:g} cm is {_rows(big)}"))
    delay = _event(events, "tox22")
    intr = [p for p in pid if tox[by_id[p]].startswith("Interruption")]
    blocks = [str(pts.loc[pts["patient_id"] == str(p), "setting"].iloc[0]) for p in intr]
    surg = "surgical" in str(delay["statement"])
    out.append(row("delay.setting", "Results; Table 3", "the patient whose radiotherapy was delayed 4 weeks",
                   f"text: {delay['statement']}",
                   f"Table 3 'Interruption (abscess)': {_rows(intr)}, in the block "
                   + _join(["'Primary RTCHX'" if b == "primary" else "'RTCHX after R2-resection'" for b in blocks]),
                   "cannot check" if surg and "primary" in blocks else "consistent",
                   "the text speaks of multiple surgical procedures and osteosynthesis, Table 3 places the patient among "
                   "the primary (unresected) treatments; the operations may not have touched the tumour, which the "
                   "paper does not say" if surg and "primary" in blocks else "the text and Table 3 agree"))
    # --- skin toxicity ---------------------------------------------------------------------------------
    skin = _event(events, "tox19")
    skin_rows = [p for p in pid if tox[by_id[p]].lower().startswith("skin")]
    grades = [re.search(r"°([IV]+)", tox[by_id[p]]).group(1) if "°" in tox[by_id[p]] else "?" for p in skin_rows]
    allowed = re.findall(r"[IV]+", str(skin["grade"]).split("grade")[-1])
    out.append(row("skin", "Results; Table 3", "patients with severe skin reactions",
                   f"{skin['n_events']} of {skin['denominator']} evaluable, {skin['grade']}",
                   f"{len(skin_rows)}: Table 3 " + _join([f"row {p} °{g}" for p, g in zip(skin_rows, grades)]),
                   "consistent" if len(skin_rows) == int(skin["n_events"]) and all(g in allowed for g in grades)
                   else "inconsistent",
                   f"the text's grade {skin['grade']} covers Table 3's grades" if all(g in allowed for g in grades)
                   else "Table 3 grades differ from the text's"))
    # --- local relapses: time and dose ---------------------------------------------------------------
    e = estimates.set_index("estimate_id")
    if "local_relapses" not in e.index:
        raise ValueError("data/ifosfamide/reported_estimates.csv has no estimate_id 'local_relapses'; the audit needs it")
    st = str(e.loc["local_relapses", "statement"])
    t1, t2_, d1, d2 = _number(st, r"after a time of (\d+) and (\d+) months.*?doses of ([0-9.]+) Gy and ([0-9.]+) Gy",
                              "data/ifosfamide/reported_estimates.csv local_relapses")
    text_pairs = sorted([(float(t1), float(d1)), (float(t2_), float(d2))])
    lf = pts[pts["local_failure"] == "1"]
    t3_pairs = sorted((float(a), float(b)) for a, b in zip(lf["lc_months"], lf["dose_gy"]))
    out.append(row("local_relapse.time_dose", "Results; Table 3", "time and dose of each local relapse",
                   "; ".join(f"{t:g} months after {d:g} Gy" for t, d in text_pairs),
                   "Table 3 LF rows: " + "; ".join(f"row {p}: {a} months, {b} Gy" for p, a, b in
                                                    zip(lf["patient_id"], lf["lc_months"], lf["dose_gy"])),
                   "consistent" if text_pairs == t3_pairs else "inconsistent",
                   "each relapse has the same time and dose in the text and in Table 3" if text_pairs == t3_pairs
                   else "the times and doses of the relapses differ between the text and Table 3"))
    # --- tumour size of the patients who failed locally, and of those still at risk -------------------
    initial = {int(a): float(b) for a, b in zip(pts["patient_id"], pts["diameter_initial_cm"])}
    before = {int(a): (float(b) if str(b).strip() else None) for a, b in zip(pts["patient_id"], pts["diameter_before_rt_cm"])}
    lc_t = {int(a): float(b) for a, b in zip(pts["patient_id"], pts["lc_months"])}
    lf_ids = [int(a) for a, b in zip(pts["patient_id"], pts["local_failure"]) if b == "1"]
    for eid, cid, group, over in (("local_failure_size_text", "local_failure.size", lf_ids, True),
                                  ("at_risk_2y_size_text", "at_risk_2y.size", None, False)):
        if eid not in e.index:
            raise ValueError(f"data/ifosfamide/reported_estimates.csv has no estimate_id {eid!r}; the audit needs it")
        thr = float(e.loc[eid, "value"])
        if group is None:
            h = 12 * float(e.loc[eid, "horizon_years"])
            group = [p for p in pid if lc_t[p] > h]
            who = f"the {len(group)} patients with local control beyond {h:g} months ({_rows(group)})"
        else:
            who = f"the {len(group)} patients with a local failure ({_rows(group)})"
        readings = []
        for label, sizes in (("initial diameter", initial), ("diameter before radiotherapy", before)):
            vals = {p: (sizes[p] if sizes[p] is not None else initial[p]) for p in group}
            bad = [p for p, v in vals.items() if (v <= thr if over else v >= thr)]
            readings.append((label, vals, bad))
        fits = [lab for lab, _, bad in readings if not bad]
        fid = f"ifo.pt.{cid}"
        word = "over" if over else "smaller than"
        rep = f"{e.loc[eid, 'statement']}"
        # a statement true under one reading of an ambiguous size is consistent (the finding says
        # which reading); the readings are explorations of it when they differ
        primary_ok = bool(fits)
        out.append(row(cid, "Results; Table 3", f"tumour size of {who.split(' (')[0]}", rep,
                       "; ".join(f"{lab}: " + ", ".join(f"row {p} {v:g} cm" for p, v in vals.items())
                                 for lab, vals, _ in readings),
                       "consistent" if primary_ok else "inconsistent",
                       (f"every tumour is {word} {thr:g} cm by its " + " and by its ".join(fits) if len(fits) == 2 else
                        f"true by the {fits[0]} only: " + "; ".join(
                            f"by the {lab}, " + _join([f"row {p} ({vals[p]:g} cm)" for p in bad]) + f" is not {word} {thr:g} cm"
                            for lab, vals, bad in readings if bad) + "; the text does not say which size it means"
                        if fits else f"not {word} {thr:g} cm by either size")))
        differ = len({tuple(v.items()) for _, v, _ in readings}) > 1
        for lab, vals, bad in readings if differ else ():
            out.append(CheckResult(f"{fid}.{'initial' if lab.startswith('initial') else 'before_rt'}", IFO,
                                   "Results; Table 3", f"the same, reading the size as the {lab}", rep,
                                   ", ".join(f"row {p} {v:g} cm" for p, v in vals.items()),
                                   "consistent" if not bad else "inconsistent",
                                   f"every tumour {word} {thr:g} cm" if not bad else
                                   _join([f"row {p} ({vals[p]:g} cm)" for p in bad]) + f" is not {word} {thr:g} cm",
                                   finding_id=fid, role="exploration"))
    # --- hyperfractionation, hyperthermia --------------------------------------------------------------
    for eid, col, what in (("hyperfractionation_n_text", "hyperfractionation", "hyperfractionated twice daily"),
                           ("hyperthermia_n_text", "hyperthermia", "regional hyperthermia")):
        if eid not in e.index:
            raise ValueError(f"data/ifosfamide/reported_estimates.csv has no estimate_id {eid!r}; the audit needs it")
        ids = [int(p) for p, v in zip(pts["patient_id"], pts[col]) if v == "true"]
        out.append(row(col, "Patients and Methods; Table 3", f"patients treated with {what}",
                       f"{e.loc[eid, 'value']} ({e.loc[eid, 'statement']})", f"{len(ids)}: Table 3 {_rows(ids)}",
                       "consistent" if len(ids) == int(e.loc[eid, "value"]) else "inconsistent",
                       f"Table 3 marks {_rows(ids)} with {'HF' if col == 'hyperfractionation' else 'HT'}"))
    # --- the case report ----------------------------------------------------------------------------
    late = _event(events, "tox31")
    cap = _event(events, "tox30")
    dose = float(_number(str(cap["statement"]), r"to (\d+(?:\.\d+)?) Gy", f"{EVENTS_FILE} tox30")[0])
    cand = [int(r["patient_id"]) for _, r in pts.iterrows()
            if float(r["dose_gy"]) == dose and r["hyperfractionation"] == "true" and r["hyperthermia"] == "true"
            and r["status"] == "AWOD"]
    cells = [tox[by_id[p]] for p in cand]
    out.append(row("case_report.late_toxicity", "Results (case report); Figure 3; Table 3",
                   "late effect of grade III or higher of the case-report patient",
                   f"text: {late['statement']}",
                   f"Table 3 {_rows(cand)} (the only {dose:g} Gy, HF + HT patient alive without disease): 'Toxicity >= III' "
                   + ("empty" if not any(cells) else _join(f"'{c}'" for c in cells)),
                   "cannot check" if cand and not any(cells) else "consistent",
                   "Table 3 does not list the ureteral stenosis; its column 'Toxicity >= III' would, unless it is meant "
                   "for acute effects only, which the paper does not say" if cand and not any(cells)
                   else "Table 3 lists a toxicity for this patient"))
    return out
