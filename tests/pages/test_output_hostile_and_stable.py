"""Byte-identical outputs from identical inputs, and hostile study text kept as plain data.

* Two runs of the same data (separate processes, different ``PYTHONHASHSEED``) write
  byte-identical estimates CSVs (:func:`sarcoma_review.pages.pooled.write_estimates`,
  :func:`sarcoma_review.living.release.estimates_csv_bytes`) and audit CSVs
  (:func:`sarcoma_review.audit.runner.write_audit_csv`).
* A study whose first author or site is markup (``<script>alert(1)</script>``,
  ``"><img src=x onerror=alert(1)>``) or non-ASCII (``Müller-Sørensen``) passes validation (text
  columns accept any text) and appears escaped in :func:`sarcoma_review.pages.render.tables.html_table` output
  and as plain data in the forest plot's Vega-Lite spec and its inline script.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import append_rows

from sarcoma_review.data import loaders
from sarcoma_review.pages import pooled
from sarcoma_review.pages.render import charts
from sarcoma_review.pages.render.tables import html_table
from sarcoma_review.stats import sensitivity

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
NON_ASCII = "Müller-Sørensen"

_WRITER = r"""
import sys
from pathlib import Path
from sarcoma_review.stats import sensitivity
from sarcoma_review.pages import pooled
from sarcoma_review.data import loaders
from sarcoma_review.living import analyses, store
from sarcoma_review.audit.runner import write_audit_csv
data, out = Path(sys.argv[1]), Path(sys.argv[2])
lit = loaders.load_literature(data)
for ep, h in (("LC", 5), ("OS", 3)):
    pooled.write_estimates(sensitivity.run_analysis(lit, ep, h), out / f"analysis_{ep}{h}.csv")
(out / "release_estimates.csv").write_bytes(store.estimates_csv_bytes(analyses.current_estimates(data)))
write_audit_csv(out / "audit.csv", data)
"""


@pytest.mark.slow
def test_two_runs_write_byte_identical_estimates_and_audit(tmp_path, data_copy):
    digests = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}"
        out.mkdir()
        env = dict(os.environ, PYTHONHASHSEED=seed)  # set/dict ordering differs between the runs
        subprocess.run(
            [sys.executable, "-c", _WRITER, str(data_copy), str(out)],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        files = sorted(out.iterdir())
        assert [f.name for f in files] == ["analysis_LC5.csv", "analysis_OS3.csv", "audit.csv", "release_estimates.csv"]
        assert all(f.stat().st_size > 100 for f in files)
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    assert digests[0] == digests[1]


def test_write_estimates_twice_in_one_process_is_identical(tmp_path):
    lit = loaders.load_literature()
    a = pooled.write_estimates(sensitivity.run_analysis(lit, "LC", 5), tmp_path / "a.csv")
    b = pooled.write_estimates(sensitivity.run_analysis(lit, "LC", 5), tmp_path / "b.csv")
    assert a.read_bytes() == b.read_bytes()
    assert b"\r\n" not in a.read_bytes()  # LF only, the same on every platform


# ----------------------------------------------------------------------------- hostile text
def add_hostile_studies(data: Path) -> None:
    """Append two studies (markup and non-ASCII text) with 5-year LC rates to a data copy."""
    lit = data / "literature"
    append_rows(
        lit / "studies.csv",
        [
            {
                "study_id": "hostile2021",
                "first_author": SCRIPT,
                "year": 2021,
                "n_patients": 40,
                "site": IMG,
                "histology": "Chordoma",
                "patient_group": "chordoma",
                "centre": SCRIPT,
                "citation": IMG,
                "source": "test: hostile text",
            },
            {
                "study_id": "muller2022",
                "first_author": NON_ASCII,
                "year": 2022,
                "n_patients": 60,
                "site": "Sacrum",
                "histology": "Chordoma",
                "patient_group": "chordoma",
                "source": "test: non-ASCII text",
            },
        ],
    )
    append_rows(
        lit / "outcomes.csv",
        [
            {"study_id": "hostile2021", "endpoint": "LC", "horizon_years": 5, "rate_percent": 70, "quote": SCRIPT},
            {"study_id": "muller2022", "endpoint": "LC", "horizon_years": 5, "rate_percent": 75},
        ],
    )


@pytest.fixture
def hostile(data_copy: Path) -> sensitivity.PooledAnalysis:
    add_hostile_studies(data_copy)
    loaders.validate_all(data_copy)  # text columns accept markup and non-ASCII text
    return sensitivity.run_analysis(loaders.load_literature(data_copy), "LC", 5)


def test_hostile_text_is_loaded_unchanged(data_copy):
    add_hostile_studies(data_copy)
    s = loaders.load_studies(data_copy).set_index("study_id")
    assert s.loc["hostile2021", "first_author"] == SCRIPT
    assert s.loc["hostile2021", "site"] == IMG
    assert s.loc["muller2022", "first_author"] == NON_ASCII


def test_hostile_text_is_escaped_in_html_tables(hostile):
    out = html_table(hostile.studies, columns={"label": "Series", "site": "Site"}).data
    assert html.escape(SCRIPT + " 2021") in out
    assert html.escape(IMG) in out and html.escape(NON_ASCII + " 2022") in out
    assert "<script" not in out and "<img" not in out
    # the page's text, once the browser decodes the entities, is the original text
    cells = [
        html.unescape(c.replace("<wbr>", "")) for c in re.findall(r"<td[^>]*>(.*?)</td>", out)
    ]  # <wbr>: a break, not text
    assert SCRIPT + " 2021" in cells and IMG in cells and NON_ASCII + " 2022" in cells


def _strings(node):
    """Every string value in a (Vega-Lite) JSON tree."""
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def test_hostile_text_is_plain_data_in_the_forest_plot(hostile):
    spec = pooled.forest_chart(hostile).to_dict()
    values = list(_strings(spec))
    # labels carry the series' histology after " · " (the forest plot shows the histology strata)
    assert any(v.startswith(SCRIPT + " 2021 · ") for v in values)
    assert any(v.startswith(NON_ASCII + " 2022 · ") for v in values)
    page = charts.offline_html(spec)
    # two script elements (the chart's wide and phone layouts), no markup from the data anywhere
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page and "alert(1)</" not in page
    body = page.split('<script type="text/javascript">', 1)[1].split("</script>", 1)[0]  # the wide layout's
    spec_json = re.search(r"var spec = (.*);\n  var opts", body, flags=re.S).group(1)
    wide = charts.book_spec({k: v for k, v in spec.items() if k != "usermeta"})
    assert json.loads(spec_json) == json.loads(json.dumps(wide))  # \u003c escapes decode to the same data


def test_hostile_text_in_the_estimates_csv_round_trips(hostile, tmp_path):
    p = pooled.write_estimates(hostile, tmp_path / "e.csv")
    assert pd.read_csv(p)["k"].iloc[0] == hostile.k


def test_hostile_text_is_escaped_in_markdown_the_pages_display():
    """Markdown passes raw HTML through: study text put into displayed Markdown must be escaped."""
    from sarcoma_review.pages import literature

    lit = pd.DataFrame(
        {
            "study_id": ["h"],
            "first_author": [SCRIPT],
            "year": [2021],
            "n_patients": [40],
            "site": [IMG],
            "histology": ["Chordoma"],
            "particle": ["Carbon ions"],
            "particle_group": ["carbon"],
            "endpoint": ["LC"],
            "horizon_years": [5],
            "rate_percent": [70.0],
            "source_study": ["t"],
            "source_outcome": ["t"],
        }
    )
    texts = [
        *literature.study_summaries(lit),
        pooled.summary_markdown(sensitivity.run_analysis(lit, "LC", 5), "LC", 5),
    ]  # single study: its label
    for text in texts:
        assert "<script" not in text and "<img" not in text, text
        assert html.escape(SCRIPT, quote=False) in text
    assert html.escape(IMG, quote=False) in texts[0]
