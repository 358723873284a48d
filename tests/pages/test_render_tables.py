"""The book's HTML tables escape every cell and give numbers a numeric sort key."""

import math

import pandas as pd
import pytest

from sarcoma_review.pages.render.tables import html_table


def test_hostile_text_is_escaped_and_non_ascii_kept():
    df = pd.DataFrame({"study": ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "Müller-Sørensen"]})
    out = html_table(df).data
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in out
    assert "Müller-Sørensen" in out


def test_numbers_formatted_and_sortable_numerically():
    df = pd.DataFrame({"n": [9, 10, 188], "rate": [62.0, math.nan, 7.25]})
    out = html_table(df, formats={"rate": ".1f"}).data
    # numeric keys let the browser sort 9 < 10 < 188 (a text sort would give 10 < 188 < 9)
    assert '<td data-num="9.0">9</td>' in out and '<td data-num="188.0">188</td>' in out
    assert '<td data-num="7.25">7.2</td>' in out  # format spec applied to the text only
    assert "—" in out  # a missing value is shown as a dash, never "nan"
    assert "nan" not in out.lower().replace("data-num", "")


def test_unknown_column_is_a_clear_error():
    with pytest.raises(KeyError, match="not in the table"):
        html_table(pd.DataFrame({"a": [1]}), columns={"b": "B"})


def test_row_ids_give_each_row_an_escaped_anchor():
    from sarcoma_review.pages.render.tables import html_table

    df = pd.DataFrame({"a": ["x", "y"]})
    out = html_table(df, row_ids=["audit-one", 'q"<b>']).data
    assert '<tr id="audit-one"><td data-sort="x">x</td></tr>' in out
    assert '<tr id="q&quot;&lt;b&gt;">' in out
    with pytest.raises(ValueError, match="one id per row"):
        html_table(df, row_ids=["only-one"])


def test_details_fold_into_the_last_cell_escaped_and_blank_ones_left_out():
    df = pd.DataFrame({"name": ["a", "b"], "n": [3, 4], "source": ["Table 3 <row 1>", None], "note": ["x", " "]})
    out = html_table(df, columns={"name": "Name", "n": "n"}, details={"source": "Source", "note": "Note"}).data
    assert out.count("<th scope") == 3 and '<th scope="col">Details</th>' in out
    first, second = out.split("<tbody>", 1)[1].split("</tr>")[:2]
    assert "<details><summary>more</summary><dl><dt>Source</dt><dd>Table 3 &lt;row 1&gt;</dd>" in first
    assert "<dt>Note</dt><dd>x</dd>" in first
    assert "<details>" not in second  # nothing to unfold: an empty cell, no empty list
    assert second.count("<td") == 3
    with pytest.raises(KeyError, match="not in the table"):
        html_table(df, details={"nope": "Nope"})


def test_long_tables_are_filterable_and_every_table_scrolls_in_its_own_box():
    small = html_table(pd.DataFrame({"a": range(3)})).data
    big = html_table(pd.DataFrame({"a": range(40)})).data
    assert small.startswith('<div class="review-table-wrap"><table') and small.endswith("</table></div>")
    assert "filterable" not in small and 'class="review-table sortable filterable"' in big
    assert "filterable" in html_table(pd.DataFrame({"a": range(3)}), filterable=True).data


def test_long_tokens_break_after_punctuation_and_words_or_numbers_never() -> None:
    from sarcoma_review.pages.render.tables import LONG_TOKEN, breakable

    out = breakable("recurrent 0.10 <b> data/literature/studies.csv")
    # short words and numbers stay whole (no break opportunity inside), text is escaped
    assert out.startswith("recurrent 0.10 &lt;b&gt; ")
    # a long token (a path) may break after its punctuation, and only there
    path = out.split(" ")[-1]
    assert path.replace("<wbr>", "") == "data/literature/studies.csv"
    assert all(piece[-1] in "/." for piece in path.split("<wbr>")[:-1])
    # an encoded address without punctuation still gets a break every 12 characters at most
    blob = breakable("A" * (LONG_TOKEN * 3))
    assert max(len(p) for p in blob.split("<wbr>")) <= 12


def test_folded_table_has_a_summary_and_a_csv_download() -> None:
    import base64
    import io

    from sarcoma_review.pages.render.tables import count_summary, folded

    df = pd.DataFrame({"judgement": ["unclear", "low", "unclear"], "why": ["a, b", "<x>", "c"]})
    summary = count_summary(df["judgement"], noun="judgements")
    assert summary == "3 judgements: 2 unclear, 1 low"
    out = folded(html_table(df), summary, download=(df, "rob.csv")).data
    assert out.startswith("<details") and "<summary>3 judgements: 2 unclear, 1 low</summary>" in out
    assert 'download="rob.csv"' in out
    payload = out.split("base64,", 1)[1].split('"', 1)[0]
    back = pd.read_csv(io.StringIO(base64.b64decode(payload).decode("utf-8")))
    pd.testing.assert_frame_equal(back, df)


def test_links_wrap_a_cell_in_its_rows_escaped_href_and_leave_empty_ones_as_text():
    df = pd.DataFrame({"name": ["A <b>", "B"], "href": ['x.html#a"b', ""]})
    out = html_table(df, columns={"name": "Name"}, links={"name": "href"}).data
    assert '<a href="x.html#a&quot;b">A &lt;b&gt;</a></td>' in out
    assert ">B</td>" in out and out.count("<a ") == 1
