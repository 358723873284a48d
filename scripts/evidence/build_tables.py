"""Rebuild data/literature/studies.csv, outcomes.csv and adjudication.csv from the two independent extractions
(data/literature/extractions.csv) and the review's recorded judgements: adjudications.py (each disagreement
resolved with its reason) and series_labels.py (the review's labels of each series: site, histology group,
particle, setting, centre, overlap group). Run from the repository root: python scripts/evidence/build_tables.py
(then python scripts/evidence/verification.py for literature/verification.csv). The extractors' own files
were combined, unchanged apart from the endpoint/horizon coding noted per row, into extractions.csv."""

import collections
import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
D = HERE.parents[1] / "data"
E = HERE
ex = list(csv.DictReader(open(D / "literature/extractions.csv", encoding="utf-8")))


def year(v):
    m = re.match(r"\s*(\d{4})", v)
    return m.group(1) if m else v


NUMERIC = {
    "n_patients",
    "n_chordoma",
    "setting_definitive",
    "setting_postoperative",
    "recurrent",
    "median_followup_months",
    "accrual_start",
    "accrual_end",
    "late_toxicity_g3plus",
    "rate",
}


def norm(field, v):
    v = v.strip().rstrip("%").strip()
    if field.startswith("accrual"):
        v = year(v)
    try:
        return f"{float(v):g}"
    except ValueError:
        return v.casefold()


vals = collections.defaultdict(lambda: {1: {}, 2: {}})
for r in ex:
    if r["field"] not in NUMERIC:
        continue
    k = (
        r["study_id"],
        r["field"],
        r["endpoint"] if r["field"] == "rate" else "",
        r["horizon_years"] if r["field"] == "rate" else "",
    )
    vals[k][int(r["extractor"])].setdefault(norm(r["field"], r["value"]), r)
U = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
T = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(v):
    try:
        n = int(float(v))
    except ValueError:
        return "\x00"
    h, r = divmod(n, 100)
    t = U[r] if r < 20 else T[r // 10] + ("" if r % 10 == 0 else " " + U[r % 10])
    return (U[h] + " hundred " + t).strip() if h else t


# manual resolutions: key -> (resolved, reason)
from adjudications import MANUAL  # noqa: E402 - the recorded resolutions, beside this script

adj, resolved = [], {}
for k, v in sorted(vals.items()):
    s1, s2 = set(v[1]), set(v[2])
    if s1 and s1 == s2 and len(s1) == 1:
        resolved[k] = (next(iter(s1)), v[1][next(iter(s1))])
        continue
    if k in MANUAL:
        res, why = MANUAL[k]
    elif len(s1 | s2) == 1:
        only = 1 if s1 else 2
        val = next(iter(s1 | s2))
        row = v[only][val]
        ok = (
            val.split(".")[0] in row["quote"]
            or val in row["quote"]
            or words(val) in row["quote"].casefold().replace("-", " ")
        )
        res = val if ok else ""
        why = (
            f"found by extraction {only} only (the other extraction did not read this sentence); the quoted "
            f"sentence gives {val}"
            if ok
            else f"found by extraction {only} only, and its sentence does not show the value: not used"
        )
    else:
        print("UNRESOLVED", k, s1, s2, file=sys.stderr)
        res, why = "", "UNRESOLVED"
    adj.append([k[0], k[1], k[2], k[3], " | ".join(sorted(s1)), " | ".join(sorted(s2)), res, why])
    if res:
        src = v[1].get(res) or v[2].get(res) or next(iter((v[1] or v[2]).values()))
        resolved[k] = (res, src)
with open(D / "literature/adjudication.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["study_id", "field", "endpoint", "horizon_years", "value_1", "value_2", "resolved", "reason"])
    w.writerows(adj)


def get(sid, field):
    r = resolved.get((sid, field, "", ""))
    return r[0] if r else ""


from series_labels import CUCCIA_OUTCOMES, SERIES  # noqa: E402 - the review's labels, beside this script

cols = [
    "study_id",
    "first_author",
    "year",
    "n_patients",
    "site",
    "histology",
    "patient_group",
    "n_chordoma",
    "particle",
    "particle_group",
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
    "source",
]
PG = {
    "Carbon ions": "carbon",
    "Protons ± Photons": "proton-based",
    "Protons": "proton-based",
    "Carbon ions/Protons": "mixed",
    "Carbon ions ± Photons": "mixed",
}
out_rows, study_rows = [], []
for m in SERIES:
    sid = m["study_id"]
    if sid == "cuccia2020":
        study_rows.append({**m, "particle_group": PG[m["particle"]]})
        continue
    n = get(sid, "n_patients")
    src_n = resolved.get((sid, "n_patients", "", ""), (None, {}))[1]
    cits = [r["value"] for r in ex if r["study_id"] == sid and r["field"] == "citation"]
    ids = [
        r["value"] for r in ex if r["study_id"] == sid and r["field"] == "identifier" and r["value"].startswith("doi:")
    ]
    ids = ids or [r["value"] for r in ex if r["study_id"] == sid and r["field"] == "identifier"]
    accs = {r["access"] for r in ex if r["study_id"] == sid}
    m = {
        "citation": max(cits, key=len) if cits else "not printed in the text read",
        "identifier": ids[0] if ids else "",
        "address": src_n.get("address", ""),
        "access": "full text" if accs == {"full text"} else "abstract",
        **m,
    }
    row = {
        **m,
        "n_patients": n.split(".")[0],
        "particle_group": PG[m["particle"]],
        "n_chordoma": m.get("n_chordoma", get(sid, "n_chordoma")),
        "n_definitive": m.get("n_definitive", get(sid, "setting_definitive")),
        "n_postoperative": m.get("n_postoperative", get(sid, "setting_postoperative")),
        "accrual_start": get(sid, "accrual_start"),
        "accrual_end": get(sid, "accrual_end"),
        "median_followup_months": get(sid, "median_followup_months"),
        "source": "data/literature/extractions.csv (two independent extractions; disagreements in data/literature/adjudication.csv)",
    }
    study_rows.append(row)
    for (s, fld, ep, h), (val, src) in sorted(resolved.items()):
        if s != sid or fld != "rate" or ep in ("OTHER", ""):
            continue
        out_rows.append(
            [
                sid,
                ep,
                src["endpoint_as_named"] or ep,
                h,
                val,
                src["access"],
                src["address"],
                src["quote"],
                f"data/literature/extractions.csv extractor {src['extractor']} row {src['row']}",
            ]
        )
out_rows += CUCCIA_OUTCOMES
with open(D / "literature/studies.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in study_rows:
        w.writerow(r)
with open(D / "literature/outcomes.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(
        [
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
    )
    w.writerows(out_rows)
print(len(study_rows), "series;", len(out_rows), "rates;", len(adj), "adjudicated")
