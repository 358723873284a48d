"""Table I rebuilt from data: values against the published table (Cuccia et al. 2020, Table I).

The published values are checked on the frozen copy of Table I as extracted (tests/fixtures/published),
so they hold when data/ gains a study; on the live data, only what holds for any valid data.
"""

import pandas as pd
import pytest
from helpers import PUBLISHED_DATA

from sarcoma_review.data import loaders
from sarcoma_review.pages import literature


@pytest.fixture(scope="module")
def lit():
    return loaders.load_literature(PUBLISHED_DATA)


def test_table_one_has_one_row_per_study_of_the_live_data():
    live = loaders.load_literature()
    t = literature.table_one(live)
    assert len(t) == live["study_id"].nunique()
    years = t["study"].str.extract(r"(\d{4})$")[0].astype(int)
    assert years.is_monotonic_increasing  # ordered by year
    assert len(literature.study_summaries(live)) == live["study_id"].nunique()


def test_table_one_matches_published_rows(lit):
    t = literature.table_one(lit).set_index("study")
    assert len(t) == 13  # Table I prints 13 rows, the present study last
    # rows as printed in Table I ('*' rows are 3-year rates)
    assert t.loc["Imai 2016", ["n_patients", "LC 5y (%)", "OS 5y (%)"]].tolist() == [188, 77, 81]
    assert t.loc["Mima 2014", ["n_patients", "LC 3y (%)", "OS 3y (%)"]].tolist() == [23, 94, 83]
    assert t.loc["Cuccia 2020", ["LC 3y (%)", "OS 3y (%)"]].tolist() == [67, 64]
    assert pd.isna(t.loc["Cuccia 2020", "LC 5y (%)"])
    # the DPFS figures come from the CNAO discussion text, not Table I
    assert t.loc["Imai 2016", "DPFS 5y (%)"] == 50.3
    assert list(t.index[:2]) == ["Serizawa 2009", "Ciernik 2011"]  # ordered by year
    assert [c for c in t.columns if c.endswith("(%)")] == [
        "LC 3y (%)", "LC 5y (%)", "OS 3y (%)", "OS 5y (%)", "DPFS 5y (%)"]


def test_summary_sentence_takes_every_figure_from_data(lit):
    rows = lit[lit["study_id"] == "imai2018"]
    text = literature.study_summary(rows.iloc[0], rows)
    assert text == ("**Imai 2018**: 128 patients; site Axis; histology Various; Carbon ions (carbon). "
                    "Reported at 5 years, local control 65%, overall survival 46%, "
                    "distant progression-free survival 39%.")
    assert len(literature.study_summaries(lit)) == 13
