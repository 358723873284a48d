"""Words a clinician can look up: the glossary defines each term once, every ``{term}`` link of the
chapters and of the generated key findings points at one of its entries, and the key findings
put the clinical reading before the statistical detail."""

from __future__ import annotations

import json
import re

import pytest

from sarcoma_review.data import loaders
from sarcoma_review.pages import pooled
from sarcoma_review.paths import REPO_ROOT
from sarcoma_review.stats import sensitivity

GLOSSARY = REPO_ROOT / "book" / "glossary.md"
ROLE = re.compile(r"\{term\}`([^`]*)`")


def glossary_terms() -> list[str]:
    """Every term line of the ``{glossary}`` blocks (lines not indented, before an indented definition)."""
    terms: list[str] = []
    for block in re.findall(r"```\{glossary\}\n(.*?)```", GLOSSARY.read_text(encoding="utf-8"), flags=re.S):
        for line in block.splitlines():
            if line and not line.startswith((" ", ":")):
                terms.append(line.strip())
    return terms


def role_target(text: str) -> str:
    m = re.match(r"^(.*?)\s*<([^>]+)>$", text)
    return (m.group(2) if m else text).strip()


def test_each_term_is_defined_once() -> None:
    terms = [t.lower() for t in glossary_terms()]
    assert len(terms) > 40
    assert len(terms) == len(set(terms)), sorted({t for t in terms if terms.count(t) > 1})


def _chapter_texts() -> dict[str, str]:
    out = {}
    for nb in (REPO_ROOT / "book").rglob("*.ipynb"):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        out[str(nb.relative_to(REPO_ROOT))] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    for md in (REPO_ROOT / "book").rglob("*.md"):
        if md != GLOSSARY:
            out[str(md.relative_to(REPO_ROOT))] = md.read_text(encoding="utf-8")
    return out


def test_every_term_link_of_the_chapters_has_an_entry() -> None:
    known = {t.lower() for t in glossary_terms()}
    used = {(path, role_target(r)) for path, text in _chapter_texts().items() for r in ROLE.findall(text)}
    assert len(used) > 20  # the chapters do link their words
    unknown = sorted((p, t) for p, t in used if t.lower() not in known)
    assert not unknown, unknown


@pytest.fixture(scope="module")
def lc5():
    lit = loaders.load_literature()
    return sensitivity.run_analysis(lit, "LC", 5)


def test_key_findings_lead_with_the_clinical_reading(lc5) -> None:
    text = pooled.summary_markdown(lc5, "LC", 5)
    known = {t.lower() for t in glossary_terms()}
    assert {role_target(r).lower() for r in ROLE.findall(text)} <= known
    plain, detail = text.split("**Statistical detail**")
    p = lc5.primary
    # the first line: the pooled rate in plain words, its numbers from the analysis itself
    first = plain.strip().splitlines()[0]
    assert first.startswith(f"- **On average, the estimated 5-year {{term}}`local control` was {p['estimate']:.1f}%")
    assert f"{p['ci_low']:.1f}% to {p['ci_high']:.1f}%" in first and f"{int(p['n_patients'])} patients" in first
    assert f"{p['pi_low']:.1f}% and {p['pi_high']:.1f}%" in plain
    # the statisticians' numbers (I², τ², Q) come after, under their heading
    assert "I²" not in plain and "τ²" not in plain and "HKSJ" not in plain
    assert f"= {p['i2']:.0f}%" in detail and f"{p['tau2']:.3f}" in detail and f"{p['q']:.2f}" in detail
