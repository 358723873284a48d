"""The front page answers the clinician's question on its first screen (issue 19, items 1, 2 and 5):
each patient group's question, its local control and survival with certainty, and the harms row; a landmark
that two series report is shown as the two series' values, never as a pooled 'about X%'.

Reads the built book (``make book``) in Chromium at 390 x 844 and 1280 x 900.
"""

from __future__ import annotations

import pytest

from sarcoma_review.living.analyses import standard_analyses
from sarcoma_review.pages import summary
from sarcoma_review.paths import HTML_DIR

VIEWPORTS = ((390, 844), (1280, 900))


@pytest.fixture(scope="module")
def groups():
    g = summary.load_groups(standard_analyses())
    return g[g["endpoint"].isin(summary.GROUP_ENDPOINTS)]


def _read(browser, w: int, h: int) -> dict:
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto((HTML_DIR / "book" / "intro.html").resolve().as_uri(), wait_until="load")
    out = page.evaluate("""() => {
      const q = Array.from(document.querySelectorAll('section.group-question'));
      const first = q[0];
      const vis = el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; };
      return {questions: q.map(s => s.querySelector('p').innerText),
              benefits: Array.from(document.querySelectorAll('li.group-benefit')).map(li => li.innerText),
              harms: Array.from(document.querySelectorAll('li.group-harm')).map(li => li.innerText),
              harmRows: Array.from(document.querySelectorAll('tr.sof-harm')).map(tr => tr.innerText),
              firstOnScreen: first ? {question: vis(first.querySelector('p')),
                benefit: vis(first.querySelector('li.group-benefit')),
                harm: vis(first.querySelector('li.group-harm'))} : null};
    }""")
    page.close()
    return out


@pytest.mark.parametrize(("w", "h"), VIEWPORTS)
def test_first_screen_answers_the_chordoma_question_with_certainty_and_harm(browser, groups, w, h):
    if not (HTML_DIR / "book" / "intro.html").exists():
        pytest.fail(f"{HTML_DIR} has no built book: run `make book` first")
    m = _read(browser, w, h)
    questions = [
        summary.patient_groups.QUESTIONS[g] for g in summary.patient_groups.GROUPS if g in set(groups["group"])
    ]
    assert len(questions) >= 3
    assert [q.split("?")[0] for q in m["questions"]] == questions
    assert m["questions"][0].startswith("A patient with a chordoma of the sacrum")
    # the first group's question, a benefit with its certainty and the harm with its certainty: on the first screen
    assert m["firstOnScreen"] == {"question": True, "benefit": True, "harm": True}
    assert all("certainty" in b for b in m["benefits"])
    assert any("Severe late toxicity" in x and "certainty" in x and "follow-up" in x for x in m["harms"])
    assert len(m["harmRows"]) >= 1


def test_no_two_series_pool_is_a_bottom_line(browser, groups):
    m = _read(browser, 1280, 900)
    two = groups[groups["k"] == 2]
    assert len(two) > 0
    for text in m["benefits"]:
        if "two series" in text:
            assert "about" not in text
    for _, r in two.iterrows():
        # the pooled value of two series is nowhere on the first screen's answers
        pooled = f"about {r['estimate']:.0f}%"
        assert not any(pooled in b for b in m["benefits"])
