"""The audit's flags travel to the pages that use the flagged values (pooled page, comparisons, summary of
findings), each with the analysis without the flagged value.

The numbers without a flagged series are checked against R: dropping the one flagged series of a pool is
metafor's leave-one-out fit of that series (``leave1out`` in ``tests/fixtures/r_reference.json``, REML with
the Knapp-Hartung interval with the ad hoc correction, ``test = "adhoc"``, the primary model), computed from
the frozen inputs beside the fixture.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import frozen_literature, frozen_patients

from sarcoma_review.audit import flags as audit_flags
from sarcoma_review.audit.records import COLUMNS, CheckResult
from sarcoma_review.data import loaders
from sarcoma_review.pages import comparisons, pooled, summary
from sarcoma_review.stats import sensitivity

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "r_reference.json").read_text())
TOL = 1e-6  # both fit the same REML model to 1e-12 (scripts/r/make_reference.R control); 1e-6 on percent


def _loo(case: str, omitted: str) -> dict:
    c = next(c for c in REF["leave1out"] if c["case"] == case)
    i = c["omitted"].index(omitted)
    inv = lambda x: 100 / (1 + math.exp(-x))  # noqa: E731
    return {"estimate": inv(c["estimate"][i]), "ci_low": inv(c["ci_lb"][i]), "ci_high": inv(c["ci_ub"][i])}


#: The CNAO local-control finding as the audit writes it (its minimal conflict: 24 and 36 months).
KM_LC = CheckResult(
    "cnao.km.LC.fu6",
    "cnao",
    "Abstract; Results; Discussion",
    "LC KM statements jointly attainable",
    "S(12 mo) = 84.8%; S(24 mo) = 67.4%; S(36 mo) = 67.4%",
    "minimal conflict: S(24 mo) = 67.4%; S(36 mo) = 67.4%; latest event at 35 mo",
    "inconsistent",
    "the rate is printed as 67.4% at both 24 and 36 months",
    finding_id="cnao.km.LC",
)
IFO_OS = CheckResult(
    "ifo.ipd.os_5y", "ifosfamide", "Results", "5-year OS (%)", "34", "27.3", "inconsistent", "3/11 at 60 months"
)


@pytest.fixture(scope="module")
def flags() -> pd.DataFrame:
    return audit_flags.concerned_values(pd.DataFrame([KM_LC.as_dict(), IFO_OS.as_dict()], columns=list(COLUMNS)))


@pytest.fixture(scope="module")
def lc3(flags):
    lit = frozen_literature()
    a = sensitivity.run_analysis(lit, "LC", 3.0)  # the primary interval, HKSJ with the ad hoc correction
    return a, pooled.pool_flags(a, lit, flags)


def test_pooled_page_marks_the_flagged_series_and_pools_without_it_as_r_does(lc3):
    a, pf = lc3
    assert pf.flagged["study_id"].tolist() == ["cuccia2020"]
    assert pf.flagged["audit"].tolist() == ["audit: inconsistent"]
    assert pf.flagged["series_shown"].tolist() == ["Cuccia 2020 (audit: inconsistent)"]
    assert pf.flagged["audit_link"].tolist() == ["../audit.html#finding-cnao.km.LC"]
    w = pf.without.iloc[0]
    ref = _loo("LC_3y", "cuccia2020")
    assert int(w["k"]) == a.k - 1
    for col in ("estimate", "ci_low", "ci_high"):
        assert float(w[col]) == pytest.approx(ref[col], abs=TOL), col


def test_pooled_estimates_csv_carries_the_flag_on_every_row_that_pools_the_value(lc3):
    a, pf = lc3
    t = pooled.estimates_with_flags(a, pf)
    flagged = t["audit_flags"] == "cnao.km.LC"
    assert flagged[t["variant"] == sensitivity.PRIMARY].all()
    loo = t[t["variant"] == sensitivity.LEAVE_ONE_OUT]
    # leaving CNAO out is the one leave-one-out row without the flag
    assert loo.loc[loo["audit_flags"] == "", "subgroup_value"].tolist() == ["cuccia2020"]
    without = t[t["variant"] == sensitivity.WITHOUT_FLAGGED]
    assert len(without) == 1 and without["audit_flags"].iloc[0] == ""
    # a stratum without CNAO (the chordoma series) carries no flag
    chordoma = t[(t["variant"] == sensitivity.STRATUM) & (t["subgroup_value"] == "chordoma")]
    assert (chordoma["audit_flags"] == "").all()
    assert list(t.columns[:-1]) == list(sensitivity.estimates_table(a).columns)


def test_pooled_page_text_links_the_finding_and_states_the_estimate_without_it(lc3):
    a, pf = lc3
    text = pooled.flags_html(a, pf)
    assert 'href="../audit.html#finding-cnao.km.LC"' in text and "audit: inconsistent" in text
    ref = _loo("LC_3y", "cuccia2020")
    assert f"{ref['estimate']:.1f}%" in text and f"{a.k - 1} series" in text
    assert "a value pooled here" in pooled.flags_lead(pf)


def test_a_pool_without_flags_says_so(flags):
    lit = frozen_literature()
    a = sensitivity.run_analysis(lit, "OS", 5.0, panel=False)
    pf = pooled.pool_flags(a, lit, flags)
    assert pf.flagged.empty and pf.without.empty and pooled.flags_lead(pf) == ""
    assert "flags none of the values pooled here" in pooled.flags_html(a, pf)


def test_a_flagged_comparator_is_shown_with_the_verdict_without_it(flags):
    lit = frozen_literature()
    reported = loaders.load_table("ifosfamide", "reported_estimates")
    reported = reported[reported["estimate_id"] == "os_5y_results"]  # the printed 5-year survival
    bench = comparisons.benchmarks(loaders.load_comparators().iloc[0:0], reported, frozen_patients())
    panel = comparisons.benchmark_panel(lit, bench, flags=flags)
    rep = panel[panel["comparator"].str.endswith("as reported")]
    rec = panel[panel["comparator"].str.contains("recomputed") & (panel["endpoint"] == "OS")]
    assert len(rep) and (rep["audit_findings"] == "ifo.ipd.os_5y").all()
    assert rep["audit_flag"].str.contains("comparator's value is flagged").all()
    assert (rec["audit_flag"] == "").all()  # a value the review recomputed is not a printed one
    # without the printed 34%, the comparison is the same series recomputed from its patient table
    for _, r in rep.iterrows():
        twin = rec[rec["particle_population"] == r["particle_population"]].iloc[0]
        assert r["verdict_without_flagged"] == twin["verdict"]
        assert f"{twin['comparator_estimate']:.1f}%" in r["without_flagged"]
    text = comparisons.audit_dependence_html(panel)
    assert "audit.html#finding-ifo.ipd.os_5y" in text


def test_a_contradicted_coding_flags_the_recomputation_and_the_printed_rate_stands_in():
    nar = CheckResult(
        "ifo.nar.nar06",
        "ifosfamide",
        "Results; Table 3",
        "the patient who died during therapy: tumour enlarging in the irradiation field",
        "text: ... (read as: local failure: LF)",
        "Table 3 row 6: local failure no LF",
        "inconsistent",
        "x",
    )
    fl = audit_flags.concerned_values(pd.DataFrame([nar.as_dict()], columns=list(COLUMNS)))
    reported = loaders.load_table("ifosfamide", "reported_estimates")
    reported = reported[reported["estimate_id"] == "lc_5y_results"]  # the printed 5-year local control
    bench = comparisons.benchmarks(loaders.load_comparators().iloc[0:0], reported, frozen_patients())
    panel = comparisons.benchmark_panel(frozen_literature(), bench, flags=fl)
    lc = panel[panel["endpoint"] == "LC"]
    rec = lc[lc["comparator"].str.contains("recomputed")]
    rep = lc[lc["comparator"].str.endswith("as reported")]
    assert (rec["audit_findings"] == "ifo.nar.nar06").all() and (rep["audit_flag"] == "").all()
    for _, r in rec.iterrows():
        twin = rep[rep["particle_population"] == r["particle_population"]].iloc[0]
        assert r["verdict_without_flagged"] == twin["verdict"]
        assert r["without_flagged"].startswith("the same series as the paper prints it: 70.0%")


def test_a_flagged_particle_value_in_a_comparison_is_dropped_as_r_does(flags):
    lit = frozen_literature()
    bench = pd.DataFrame(
        [
            {
                "label": "X, comparator",
                "modality": "photon RT",
                "endpoint": "LC",
                "horizon_years": 3.0,
                "rate_percent": 37.0,
                "n_kind": "unknown",
                "n_value": float("nan"),
                "source": "x",
                "size_note": "",
                "rate": comparisons._comparator_rate(37.0, "unknown", float("nan")),
                "intent": "",
                "intent_statement": "",
                "dose_group": "",
                "selection": "",
                "era_year": float("nan"),
                "n_at_risk": float("nan"),
                "n_died_first": float("nan"),
                "audit_series": "",
                "recomputed": False,
            }
        ]
    )
    panel = comparisons.benchmark_panel(lit, bench, flags=flags)
    every = panel[panel["particle_population"] == "all series"].iloc[0]
    assert every["audit_findings"] == "cnao.km.LC"
    assert f"{_loo('LC_3y', 'cuccia2020')['estimate']:.1f}%" in every["without_flagged"]
    assert every["verdict_without_flagged"] in ("above", "below", "includes")


def test_summary_row_carries_the_flag_and_the_estimate_without_it(flags):
    lit = frozen_literature()
    ids = ";".join(sorted(sensitivity.landmark_rows(lit, "LC", 3.0)["study_id"]))
    out = summary.audit_columns(lit, flags, "LC", 3.0, ids, {"tau2_method": "REML", "ci_method": "HKSJ-adhoc"})
    ref = _loo("LC_3y", "cuccia2020")
    assert out["audit_findings"] == "cnao.km.LC" and "67.4%" in out["audit_flag"]
    assert out["audit_href"] == "audit.html#finding-cnao.km.LC"
    assert out["without_flagged_estimate"] == pytest.approx(ref["estimate"], abs=TOL)
    assert out["without_flagged_ci_low"] == pytest.approx(ref["ci_low"], abs=TOL)
    note = summary.audit_note_html(out)
    assert 'href="audit.html#finding-cnao.km.LC"' in note and "audit: inconsistent" in note
    # a row with no flagged value has empty audit columns and no note
    none = summary.audit_columns(lit, flags, "OS", 5.0, "ciernik2011", {})
    assert none["audit_flag"] == "" and summary.audit_note_html(none) == ""
    assert list(out) == summary.AUDIT_COLUMNS
