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
        "LC 3y (%)",
        "LC 5y (%)",
        "OS 3y (%)",
        "OS 5y (%)",
        "DPFS 5y (%)",
    ]


def test_summary_sentence_takes_every_figure_from_data(lit):
    rows = lit[lit["study_id"] == "imai2018"]
    text = literature.study_summary(rows.iloc[0], rows)
    assert text == (
        "**Imai 2018**: 128 patients; site Axis; histology Various; Carbon ions (carbon). "
        "Reported at 5 years, local control 65%, overall survival 46%, "
        "distant progression-free survival 39%."
    )
    assert len(literature.study_summaries(lit)) == 13


def test_table_one_lists_every_series_of_the_live_data():
    # a series with no poolable rate (only endpoints or horizons no pool uses) is still a row of the table
    studies = loaders.load_studies()
    t = literature.table_one(loaders.load_literature(), studies)
    assert len(t) == len(studies)


def test_not_pooled_lists_the_table_i_rates_their_publication_does_not_support():
    ver = loaders.load_table("literature", "verification")
    bad = literature.not_pooled(ver)
    assert set(bad["verdict"]) <= {"differs", "not reported there", "publication not readable"}
    rates = ver[ver["field"].isin(["LC", "OS"])]
    assert len(bad) == int((rates["verdict"] != "agrees").sum())


def test_chapter_values_count_the_data():
    v = literature.chapter_values()
    studies = loaders.load_studies()
    assert v["n_series"] == len(studies) and v["n_patients"] == int(studies["n_patients"].sum())
    assert v["n_carbon"] + v["n_proton"] + v["n_mixed"] == v["n_series"]
    assert v["n_agree"] + v["n_disagree"] + v["n_only_one"] == v["n_compared"]
    assert v["n_rates_agree"] + v["n_rates_not_pooled"] == v["n_rates_checked"]


def test_overlap_table_names_each_member_once():
    studies = loaders.load_studies()
    groups = loaders.load_table("literature", "overlap_groups")
    t = literature.overlap_table(studies, groups)
    assert len(t) == len(groups)
    for g, row in zip(groups.itertuples(), t.itertuples()):
        assert row.series.count("patients") == len(g.members.split())


def test_every_series_of_the_live_data_is_appraised_or_named():
    from sarcoma_review.pages import appraisal

    missing = appraisal.not_appraised()
    studies = loaders.load_studies()
    assert set(missing) <= set(studies["study_id"])
    assert missing == [], f"series without a risk-of-bias assessment: {missing}"


def test_a_new_series_without_its_appraisal_rows_is_named(data_copy):
    from helpers import append_rows

    from sarcoma_review.pages import appraisal

    append_rows(
        data_copy / "literature" / "studies.csv",
        [{"study_id": "newseries2030", "first_author": "New", "year": 2030, "n_patients": 20}],
    )
    assert appraisal.not_appraised(data_copy) == ["newseries2030"]
