"""The narrative check (sarcoma_review.audit.narratives): the ifosfamide text's statements about identified
patients against the coded Table 3.

The verdicts on the frozen copy (``frozen_narratives/``) are derived by hand from Table 3 as printed
(the paper's rows, one per patient), one line each below; a contradiction planted in a copy is found, and
a planted agreement passes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sarcoma_review.audit import narratives, registry, runner
from sarcoma_review.audit.records import VERDICTS

FROZEN = Path(__file__).parent / "frozen_narratives"

#: Hand derivation from Table 3 (rows 1-11 in print order) and the sentence of each statement.
EXPECTED = {
    "nar01": ("consistent", "70.2 Gy is row 7 only; row 7 prints '6 LF'"),
    "nar02": ("consistent", "66.0 Gy: rows 5 and 8; row 5 prints '21 LF'"),
    "nar03": ("consistent", "LF printed in rows 5 and 7 only: two"),
    "nar04": ("consistent", "row 6 'Death during therapy', DOD, survival 1 month (<= 2)"),
    "nar05": ("consistent", "row 6: 25 cm > 20, Trunk"),
    "nar06": ("inconsistent", "row 6 prints '1 1 DOD' without LF, while the tumour grew in the field"),
    "nar07": ("consistent", "row 4 'Interruption (abscess)', survival 106 months > 2"),
    "nar08": ("cannot check", "row 4 is in the Primary RTCHX block; the reading is open"),
    "nar09": ("consistent", "row 6 received 7.5 g/m2 = half of 15"),
    "nar10": ("consistent", "row 4 received 5 g/m2 = half of 10"),
    "nar11": ("inconsistent", "leucopenia rows 5 (10 g/m2) and 10 (15 g/m2): neither total is 5 or 7.5"),
    "nar12": ("consistent", "deaths at 9, 30, 1, 10, 26, 13, 5, 4 months: all <= 38"),
    "nar13": ("consistent", "AWOD rows 1, 3, 4: three"),
    "nar14": ("consistent", "AWOD rows at 72, 124, 106 months, none with LF: all > 60"),
    "nar15": ("consistent", "DOD rows 2, 5, 6, 7, 8, 9, 10, 11: eight, at least six"),
    "nar16": ("inconsistent", "60 Gy with HF and HT is row 3 only, printed in the Primary RTCHX block"),
    "nar17": ("consistent", "row 3: Trunk, T2, G3"),
    "nar18": ("cannot check", "row 3 prints 'Anaplastic S.', not pleomorphic; the reading is open"),
    "nar19": ("consistent", "row 3: AWOD, no LF"),
    "nar20": ("consistent", "row 3: 124 months local control and survival >= 120"),
    "nar21": ("consistent", "over 10 cm initially: rows 2, 5, 6, 7, 8, 11; row 8 is R2 with '15 cm - 4 cm'"),
}


def _rows(d: Path) -> dict[str, object]:
    return {r.check_id.removeprefix("ifo.nar."): r for r in narratives.narrative_rows(narratives.Narratives(d))}


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(FROZEN, dest)
    return dest


def _edit(path: Path, key: str, keyval: str, column: str, value: str) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert (df[key] == keyval).sum() == 1
    df.loc[df[key] == keyval, column] = value
    df.to_csv(path, index=False, lineterminator="\n")


@pytest.mark.parametrize("sid", sorted(EXPECTED))
def test_verdicts_on_the_frozen_copy_follow_the_hand_derivation(sid):
    rows = _rows(FROZEN)
    assert set(rows) == set(EXPECTED), "a statement was added or removed: derive its verdict by hand"
    assert rows[sid].verdict == EXPECTED[sid][0], EXPECTED[sid][1]
    assert rows[sid].source == "ifosfamide" and rows[sid].finding_id == f"ifo.nar.{sid}"


def test_the_contradiction_names_the_row_and_its_coding():
    r = _rows(FROZEN)["nar16"]
    assert "row 3 is coded treatment block Primary RTCHX" in r.explanation
    assert "RTCHX after R2-resection" in r.explanation
    # no column name or file path in the reader's text
    assert "after_R2" not in r.explanation and "_months" not in r.explanation + r.recomputed


def test_a_planted_contradiction_is_found(tmp_path):
    d = _copy(tmp_path)
    # Table 3 row 7 now says local failure at 8 months, the text says 6
    _edit(d / "ifosfamide" / "patients.csv", "patient_id", "7", "lc_months", "8")
    rows = _rows(d)
    assert rows["nar01"].verdict == "inconsistent"
    assert "row 7 is coded" in rows["nar01"].explanation and "8" in rows["nar01"].explanation
    # a second planted contradiction: a death after 38 months
    _edit(d / "ifosfamide" / "patients.csv", "patient_id", "5", "os_months", "40")
    assert _rows(d)["nar12"].verdict == "inconsistent"


def test_a_planted_agreement_passes(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "ifosfamide" / "patients.csv", "patient_id", "3", "setting", "after_R2")
    _edit(d / "ifosfamide" / "patients.csv", "patient_id", "6", "local_failure", "1")
    rows = _rows(d)
    assert rows["nar16"].verdict == "consistent"
    assert rows["nar06"].verdict == "consistent"
    # and the statements that agreed before still agree
    assert rows["nar19"].verdict == "consistent" and rows["nar01"].verdict == "consistent"


def test_an_open_reading_is_never_called_inconsistent(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "ifosfamide" / "narratives.csv", "statement_id", "nar16", "reading", "open")
    assert _rows(d)["nar16"].verdict == "cannot check"


def test_an_identification_that_fits_no_patient_cannot_be_checked(tmp_path):
    d = _copy(tmp_path)
    _edit(d / "ifosfamide" / "narratives.csv", "statement_id", "nar01", "identified_by", "dose_gy = 80")
    r = _rows(d)["nar01"]
    assert r.verdict == "cannot check" and "no row of Table 3" in r.explanation


def test_counts_each_and_any():
    pts = pd.DataFrame({"patient_id": ["1", "2", "3"], "death": ["1", "1", "0"], "os_months": ["5", "40", "70"]})

    def verdict(identified_by, claims, scope, count=""):
        r = pd.Series(
            {
                "statement_id": "nar99",
                "location": "Results",
                "quote": "q",
                "about": "a",
                "event": "e",
                "identified_by": identified_by,
                "claims": claims,
                "scope": scope,
                "count": count,
                "reading": "definite",
                "note": "",
                "patient_ids": "",
            }
        )
        return narratives.narrative_row(r, pts).verdict

    assert verdict("death = 1", "os_months <= 38", "each") == "inconsistent"  # row 2 died at 40
    assert verdict("death = 1", "os_months <= 38", "any") == "consistent"  # row 1 did at 5
    assert verdict("all", "death = 1", "count", "2") == "consistent"
    assert verdict("all", "death = 1", "count", "3") == "inconsistent"
    assert verdict("all", "death = 1", "count_at_least", "1") == "consistent"
    assert verdict("all", "os_months in 5|70", "count", "2") == "consistent"


def test_a_malformed_condition_is_one_clear_error():
    with pytest.raises(ValueError, match=r"narratives.csv nar07: cannot read the condition 'os_months >> 2'"):
        narratives.parse("os_months >> 2", "ifosfamide/narratives.csv nar07")


def test_the_check_is_registered_documented_and_run_by_the_audit():
    chk = next(c for c in registry.REGISTRY if c.name == "ifo.nar")
    assert chk.group in runner.GROUPS and chk.what and chk.optional == narratives.FILE
    assert [c.name for c in registry.checks(chk.group)] == ["ifo.nar"]


def test_live_narratives_each_give_one_row_and_fit_the_extractors_reading():
    """On the live data (any valid data): one audit row per statement, and the Table 3 rows the extractors
    read a statement as about are among the rows its identification fits."""
    from sarcoma_review.audit.reconstruct import read_strings
    from sarcoma_review.paths import data_dir

    nar = read_strings("ifosfamide", "narratives", data_dir())
    pts = read_strings("ifosfamide", "patients", data_dir())
    rows = narratives.narrative_rows(narratives.Narratives(data_dir()))
    assert [r.check_id for r in rows] == [f"ifo.nar.{s}" for s in nar["statement_id"]]
    assert all(r.verdict in VERDICTS for r in rows)
    for _, s in nar.iterrows():
        if not s["patient_ids"] or s["scope"].startswith("count"):
            continue
        sel = narratives.parse(s["identified_by"])
        fits = {q for q, (_, row) in zip(pts["patient_id"], pts.iterrows()) if all(c.holds(row) for c in sel)}
        assert set(s["patient_ids"].split(";")) <= fits, s["statement_id"]


def test_the_audit_page_lists_the_narrative_findings():
    from sarcoma_review.pages import audit as audit_page

    audit = pd.DataFrame([r.as_dict() for r in narratives.narrative_rows(narratives.Narratives(FROZEN))])
    html = audit_page.findings_html(audit, lambda fid: "finding-" + fid, lambda cid: "audit-" + cid)
    html = html.data if hasattr(html, "data") else str(html)
    for sid in ("nar06", "nar11", "nar16"):
        assert f"ifo.nar.{sid}" in html
