"""Which used values the audit's findings concern (sarcoma_review.audit.flags).

The rows below are audit rows as the checks write them; the values each concerns are read off the
printed statements by hand (a minimal conflict names its statements; a Table I row prints its rate and
horizon).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sarcoma_review.audit import flags
from sarcoma_review.audit.records import COLUMNS, CheckResult

FROZEN = Path(__file__).parent / "frozen_data"


def _audit(rows: list[CheckResult]) -> pd.DataFrame:
    return pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))


KM_LC = CheckResult(
    "cnao.km.LC.fu6",
    "cnao",
    "Results",
    "LC KM statements jointly attainable",
    "S(12 mo) = 84.8%; S(24 mo) = 67.4%; S(36 mo) = 67.4%; latest event at 35 mo",
    "minimal conflict: S(24 mo) = 67.4%; S(36 mo) = 67.4%; latest event at 35 mo",
    "inconsistent",
    "x",
    finding_id="cnao.km.LC",
)
KM_DPFS = CheckResult(
    "cnao.km.DPFS.fu6",
    "cnao",
    "Results",
    "DPFS KM statements jointly attainable",
    "S(12 mo) = 97.5%; S(24 mo) = 92.2%; minimum follow-up 6 mo",
    "witness with 54 patients, 12 events (needs the late events below)",
    "implausible",
    "x",
    finding_id="cnao.km.DPFS",
)
IFO_OS = CheckResult("ifo.ipd.os_5y", "ifosfamide", "Results", "5-year OS (%)", "34", "27.3", "inconsistent", "x")
IFO_LC = CheckResult("ifo.ipd.lc_5y", "ifosfamide", "Results", "5-year LC (%)", "70", "70", "consistent", "x")
TABLE_I = CheckResult(
    "table_i.uhl2015.LC", "table_i", "Table I", "uhl2015 LC", "Table I: 79% (5-year)", "own", "inconsistent", "x"
)
RESTATED = CheckResult(
    "cnao.LC.3y.abstract_vs_results",
    "cnao",
    "Abstract vs Results",
    "3-year LC (%)",
    "Abstract: 67",
    "Results: 67.4",
    "inconsistent",
    "x",
)


def test_each_finding_concerns_the_values_it_prints():
    v = flags.concerned_values(_audit([KM_LC, KM_DPFS, IFO_OS, IFO_LC, TABLE_I, RESTATED]))
    got = set(zip(v["series"], v["endpoint"], v["horizon_years"], v["value"], v["finding_id"]))
    assert got == {
        ("cnao", "LC", 2.0, 67.4, "cnao.km.LC"),  # the minimal conflict's two landmarks, not S(12) = 84.8
        ("cnao", "LC", 3.0, 67.4, "cnao.km.LC"),
        ("cnao", "DPFS", 1.0, 97.5, "cnao.km.DPFS"),  # implausible: every landmark it checked
        ("cnao", "DPFS", 2.0, 92.2, "cnao.km.DPFS"),
        ("ifosfamide", "OS", 5.0, 34.0, "ifo.ipd.os_5y"),  # the printed value, not the recomputed 27.3
        ("uhl2015", "LC", 5.0, 79.0, "table_i.uhl2015.LC"),
        ("cnao", "LC", 3.0, 67.0, "cnao.LC.3y.abstract_vs_results"),  # both printed statements
        ("cnao", "LC", 3.0, 67.4, "cnao.LC.3y.abstract_vs_results"),
    }
    assert set(v["href"]) >= {"audit.html#finding-cnao.km.LC", "audit.html#finding-ifo.ipd.os_5y"}


NARRATIVE = CheckResult(
    "ifo.nar.nar06",
    "ifosfamide",
    "Results; Table 3",
    "the patient who died during therapy: tumour enlarging in the irradiation field",
    "text: One patient died during therapy ... (read as: local failure: LF)",
    "Table 3 row 6: local failure no LF",
    "inconsistent",
    "x",
)


def test_a_contradicted_coding_concerns_every_rate_recomputed_from_the_table_for_its_endpoint():
    v = flags.concerned_values(_audit([NARRATIVE]))
    assert v[["series", "endpoint"]].values.tolist() == [[flags.IFO_TABLE3, "LC"]]
    assert v["horizon_years"].isna().all() and v["value"].isna().all()
    assert len(flags.flags_for(v, flags.IFO_TABLE3, "LC", 5.0, 70.0)) == 1  # any landmark, any value
    assert flags.flags_for(v, flags.IFO_TABLE3, "OS", 5.0, 27.3).empty
    assert flags.flags_for(v, flags.IFO, "LC", 5.0, 70.0).empty  # the printed rate is not the recomputation


def test_explorations_and_passed_findings_do_not_travel():
    v = flags.concerned_values(_audit([KM_LC.explores("cnao.km.LC"), IFO_LC]))
    assert v.empty


def test_only_the_value_actually_used_carries_a_flag():
    v = flags.concerned_values(_audit([KM_LC, TABLE_I]))
    used = pd.DataFrame(
        {
            "study_id": ["cuccia2020", "cuccia2020", "uhl2015", "uhl2015"],
            "endpoint": ["LC", "LC", "LC", "LC"],
            "horizon_years": [3.0, 1.0, 3.0, 5.0],
            "rate_percent": [67.4, 84.8, 53.0, 79.0],
        }
    )
    t = flags.flagged_literature(v, used)
    # CNAO's 3-year rate is the flagged one; its 1-year rate is not in the conflict; Uhl's pooled 3-year rate
    # (from its own publication) replaced Table I's 79% at 5 years, so it is not flagged; a row that used
    # Table I's very value would be
    assert t["audit_findings"].tolist() == ["cnao.km.LC", "", "", "table_i.uhl2015.LC"]
    assert t["audit_verdict"].tolist() == ["inconsistent", "", "", "inconsistent"]
    assert t["audit_href"].iloc[0] == "audit.html#finding-cnao.km.LC"


def test_the_frozen_audit_flags_the_cnao_local_control_landmarks():
    """On the frozen audited data the CNAO local-control curve is infeasible (24 and 36 months both 67.4%,
    an event at 35 months): its 2- and 3-year rates are flagged; its 1-year rate is not."""
    v = flags.value_flags(FROZEN)
    lc = v[(v["series"] == "cnao") & (v["endpoint"] == "LC")]
    assert set(zip(lc["horizon_years"], lc["value"])) == {(2.0, 67.4), (3.0, 67.4)}
    assert (lc["finding_id"] == "cnao.km.LC").all()
    # the ifosfamide series' printed 5-year survival (34%) against 3 of 11 alive at 60 months
    os5 = v[(v["series"] == "ifosfamide") & (v["endpoint"] == "OS")]
    assert set(zip(os5["horizon_years"], os5["value"])) == {(5.0, 34.0)}
