"""Local control is said as the series report it (#19 item 4): a Kaplan-Meier estimate with deaths
without local failure censored, never "the share of patients" without regrowth; where deaths
compete (the ifosfamide series), the page counts who the rate rests on."""

from __future__ import annotations

import re

import pytest

from sarcoma_review.data import loaders
from sarcoma_review.pages import comparisons, ifosfamide, pooled
from sarcoma_review.paths import REPO_ROOT
from sarcoma_review.stats import sensitivity, survival
from tests.helpers import frozen_patients

GLOSSARY = REPO_ROOT / "book" / "glossary.md"
PACKAGE = REPO_ROOT / "src" / "sarcoma_review"

#: Wordings that define local control as a plain share of patients without regrowth.
PLAIN_SHARE = [
    re.compile(r"grown back", re.I),
    re.compile(r"had no regrowth", re.I),
    re.compile(r"local control[^.\n]{0,80}\bis the share of (all )?patients", re.I),
    re.compile(r"% of patients (had|with) no (regrowth|local)", re.I),
]


def _entry(term: str) -> str:
    text = GLOSSARY.read_text(encoding="utf-8")
    m = re.search(rf"^{re.escape(term)}\n(?:[^\n ].*\n)*((?:  .*\n)+)", text, flags=re.M)
    assert m, f"no glossary entry {term!r}"
    return " ".join(m.group(1).split())


def test_glossary_says_deaths_are_censored() -> None:
    lc = _entry("local control")
    assert "Kaplan–Meier" in lc and "censored" in lc and "dies without regrowth" in lc
    assert "not the share of all patients" in lc and "competing death" in lc
    assert "censor" in _entry("competing death")


def test_no_text_defines_local_control_as_a_plain_share() -> None:
    """Every source of reader-facing text: the package (page functions' strings), the notebooks and
    the Markdown pages of the book."""
    files = [*PACKAGE.rglob("*.py"), *(REPO_ROOT / "book").rglob("*.ipynb"), *(REPO_ROOT / "book").rglob("*.md")]
    files = [f for f in files if "_build" not in f.parts]
    assert len(files) > 30
    hits = [
        (str(f.relative_to(REPO_ROOT)), p.pattern)
        for f in files
        for p in PLAIN_SHARE
        if p.search(f.read_text(encoding="utf-8"))
    ]
    assert not hits, hits
    # the pattern list does catch the wording it replaces
    assert any(
        p.search("A local control rate at 5 years is the share of patients in whom it had not grown back")
        for p in PLAIN_SHARE
    )


@pytest.mark.parametrize("horizon", [3, 5])
def test_pooled_key_finding_of_local_control_is_not_a_share_of_patients(horizon: int) -> None:
    a = sensitivity.run_analysis(loaders.load_literature(), "LC", horizon)
    if not a.is_pooled:
        pytest.fail(f"{horizon}-year local control is no longer pooled; choose a pooled horizon")
    first = pooled.summary_markdown(a, "LC", horizon).strip().splitlines()[0]
    assert f"{a.primary['estimate']:.1f}%" in first
    assert "% of patients" not in first
    assert "Kaplan–Meier" in first and "censored" in first and "competing death" in first
    # other endpoints keep their plain reading
    os_first = pooled.summary_markdown(sensitivity.run_analysis(loaders.load_literature(), "OS", 5), "OS", 5)
    assert "of patients were alive" in os_first.splitlines()[0]


def test_competing_deaths_by_hand() -> None:
    # patients: (local time, failure, survival time, death)
    # 1: failure at 5, died at 8 -> failed; 2: died at 9 without failure -> died first;
    # 3: alive, last seen at 12 -> other; 4: followed to 70 free -> at risk at 60; 5: failure at 61 -> at risk
    c = survival.competing_deaths([5, 9, 12, 70, 61], [1, 0, 0, 0, 1], [8, 9, 12, 70, 65], [1, 1, 0, 0, 1], 60)
    assert c == {"n": 5, "n_at_risk": 2, "n_failed": 1, "n_died_first": 1, "n_died": 2, "n_other": 1}
    with pytest.raises(ValueError, match="one row per patient"):
        survival.competing_deaths([1, 2], [0, 1], [1], [0], 1)


def test_competing_deaths_partition_the_patients() -> None:
    """On any valid patient table: every patient is in exactly one group, and the rate rests on the
    patients at risk (the Kaplan-Meier helper counts the same)."""
    for p in (frozen_patients(), loaders.load_ifosfamide_patients()):
        c = survival.competing_deaths(p["lc_months"], p["local_failure"], p["os_months"], p["death"], 60.0)
        assert c["n_at_risk"] + c["n_failed"] + c["n_died_first"] + c["n_other"] == c["n"] == len(p)
        nar = survival.number_at_risk(p["lc_months"], p["local_failure"], [60.0])
        assert c["n_at_risk"] == int(nar["n_risk"].iat[0])
        assert c["n_died"] >= c["n_died_first"]


def test_ifosfamide_sentence_counts_from_table3() -> None:
    """The frozen Table 3 (11 patients), counted by hand: local failures at 6 and 21 months; deaths
    without local failure at 1, 4, 5, 9, 13 and 26 months; followed free beyond 60 months: the
    patients at 72, 106 and 124 months. Kaplan-Meier at 60: (1 - 1/8)(1 - 1/5) = 0.70."""
    p = frozen_patients()
    assert len(p) == 11
    text = ifosfamide.lc_competing_sentence(p, 60.0)
    assert text.startswith("Of the 11 patients, 6 died without local failure before 5 years and 2 had a local failure;")
    assert "3 were followed free of local failure to 5 years" in text
    assert "The 70% local control at 5 years" in text and "censored" in text and "3 of 11" in text
    assert (1 - 1 / 8) * (1 - 1 / 5) == pytest.approx(0.70)


def test_ifosfamide_comparator_flag_counts_the_competing_deaths() -> None:
    """The ifosfamide local-control comparator (frozen Table 3, hand counts above): 3 at risk at
    60 months, 6 deaths without local failure before; the flag says both. Overall survival has no
    competing death and no such flag; a comparator without a patient table keeps the plain flag."""
    b = comparisons.benchmarks(
        loaders.load_comparators(), loaders.load_table("ifosfamide", "reported_estimates"), frozen_patients()
    )
    ifo = b[b["label"].str.contains("Eckert")].set_index(["label", "endpoint"])
    lc = ifo.xs("LC", level="endpoint")
    assert (lc["n_at_risk"] == 3).all() and (lc["n_died_first"] == 6).all()
    assert ifo.xs("OS", level="endpoint")["n_died_first"].isna().all()
    flag = comparisons.at_risk_flag("LC", 3, 6)
    assert flag.startswith("only 3 patients at risk at the landmark")
    assert "6 died without local failure before it" in flag and "censors" in flag
    assert "died" not in comparisons.at_risk_flag("LC", 3)
    assert comparisons.at_risk_flag("OS", 3, 6) == ""
    panel = comparisons.benchmark_panel(loaders.load_literature(), b)
    rows = panel[panel["comparator"].str.contains("Eckert") & (panel["endpoint"] == "LC")]
    assert len(rows) and rows["at_risk_flag"].str.contains("6 died without local failure").all()
