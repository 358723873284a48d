"""HTML tables for the book: escaped text, optional click-to-sort headers, numbers formatted once.

p-values print one way everywhere (:func:`format_p`, :func:`p_text`; the format spec ``"p"`` of
:func:`html_table`): three decimals, and "< 0.001" / "> 0.999" beyond them.

Every cell is HTML-escaped (a study name such as ``<script>`` shows as text); sorting is done in
the reader's browser by ``book/_static/sortable.js`` on tables with the class ``sortable``, and
long tables (class ``filterable``) get a search box from the same script.

Reading on a laptop or a phone: the table stands in its own ``<div class="review-table-wrap">``,
which scrolls sideways when the table is wider than the screen (the page never does). Columns a
reader needs to compare rows stay columns; identifiers, sources and notes go to ``details``:
one last cell per row with a ``<details>`` element ("more") that unfolds them, so the key
columns fit the width of a laptop screen. Text breaks between words only (``book/_static/review.css``);
a long token (an address, an identifier) gets break hints after its punctuation (:func:`breakable`).

Long per-item tables are folded under a one-line summary with counts (:func:`folded`,
:func:`count_summary`), with the whole table as a CSV download (:func:`csv_download`), so a page
stays within its budget of screens and what a reader came for comes first.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML

#: Characters MyST Markdown gives a meaning inside a line (emphasis, code, links, roles, math, table
#: cells, strike-through): :func:`md_text` escapes them with a backslash, which MyST shows as the
#: character itself (``<``, ``>`` and ``&`` become entities).
_MD_SPECIAL = frozenset("\\`*_{}[]|$~")


def md_text(value: Any) -> str:
    """Text from the data, made safe to put into Markdown the book renders (MyST passes raw HTML through):
    HTML-escaped (``<`` becomes ``&lt;``), every Markdown-special character backslash-escaped (no link,
    role, directive, emphasis or table cell can start) and line breaks made spaces (no block can start).
    The reader sees the text exactly as written; ``None`` is the empty string."""
    if value is None:
        return ""
    text = " ".join(str(value).splitlines())
    out = []
    for i, ch in enumerate(text):
        if ch == "_" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            out.append(ch)  # inside a word (rate_percent) an underscore can neither open nor close emphasis
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


#: The :func:`html_table` format spec of a p-value column.
P_FORMAT = "p"


def format_p(p: Any) -> str:
    """A p-value as every page prints it: ``"0.034"``, ``"< 0.001"``, ``"> 0.999"`` (``"—"`` if missing)."""
    if p is None or p is pd.NA or (isinstance(p, (float, np.floating)) and math.isnan(p)):
        return "—"
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a p-value must lie in [0, 1], got {p!r}")
    if p < 0.001:
        return "< 0.001"
    if p > 0.999:
        return "> 0.999"
    return f"{p:.3f}"


def p_text(p: Any) -> str:
    """``"p = 0.034"``, ``"p < 0.001"``, ``"p > 0.999"``: :func:`format_p` in running text."""
    s = format_p(p)
    return f"p {s}" if s[0] in "<>" else f"p = {s}"


def _cell(value: Any, fmt: str | None) -> str:
    """One ``<td>``: escaped display text, with a numeric sort key for numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return '<td data-sort="">—</td>'
    if isinstance(value, (bool, np.bool_)):
        return f'<td data-num="{int(value)}">{"yes" if value else "no"}</td>'
    if isinstance(value, (int, float, np.integer, np.floating)):
        text = (
            format_p(value)
            if fmt == P_FORMAT
            else format(value, fmt)
            if fmt
            else (f"{value:g}" if isinstance(value, (float, np.floating)) else str(value))
        )
        return f'<td data-num="{float(value)!r}">{html.escape(text)}</td>'
    text = breakable(str(value))
    return f'<td data-sort="{html.escape(str(value), quote=True)}">{text}</td>'


#: A token longer than this (an address, an identifier) may break after its punctuation.
LONG_TOKEN = 18
_BREAK_AFTER = "./_:;,=-)]|&%?#+"


def breakable(text: str) -> str:
    """``text`` HTML-escaped, with a break opportunity (``<wbr>``) after the punctuation of every token
    longer than :data:`LONG_TOKEN` characters (a web address, a file name, an identifier), so a
    narrow column breaks it there instead of cutting a word or a number ("0.\u21b510"): the
    table's CSS breaks lines between words only."""
    out = []
    for token in re.split(r"(\s+)", text):
        if len(token) > LONG_TOKEN and not token.isspace():
            run = 0  # characters since the last break opportunity: an encoded address gets one every 12
            for ch in token:
                run += 1
                out.append(html.escape(ch))
                if ch in _BREAK_AFTER or run >= 12:
                    out.append("<wbr>")
                    run = 0
        else:
            out.append(html.escape(token))
    return "".join(out)


#: Tables with more rows than this get a filter box by default.
FILTER_MIN_ROWS = 15


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _details_cell(row: pd.Series, details: Mapping[str, str], formats: Mapping[str, str]) -> str:
    """The row's last cell: its detail columns as a folded label/value list."""
    items = []
    for col, label in details.items():
        value = row[col]
        if _is_blank(value):
            continue
        if isinstance(value, (bool, np.bool_)):
            text = "yes" if value else "no"
        elif isinstance(value, (int, float, np.integer, np.floating)) and formats.get(col):
            text = format(value, formats[col])
        else:
            text = str(value)
        items.append(f"<dt>{html.escape(label)}</dt><dd>{breakable(text)}</dd>")
    if not items:
        return '<td class="review-details" data-sort=""></td>'
    return (
        '<td class="review-details" data-sort=""><details><summary>more</summary>'
        f"<dl>{''.join(items)}</dl></details></td>"
    )


def html_table(
    df: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    sortable: bool = True,
    caption: str | None = None,
    table_id: str | None = None,
    row_ids: Sequence[str] | None = None,
    details: Mapping[str, str] | None = None,
    details_header: str = "Details",
    filterable: bool | None = None,
    links: Mapping[str, str] | None = None,
) -> HTML:
    """Render ``df`` as an escaped HTML table.

    Parameters
    ----------
    df
        The rows to show.
    columns
        ``{column: header}`` in display order (default: every column, its own name).
    formats
        ``{column: format spec}`` for numbers, e.g. ``{"estimate": ".1f"}``; ``"p"``
        (:data:`P_FORMAT`) for p-values (:func:`format_p`).
    sortable
        Adds the ``sortable`` class; headers sort the rows when clicked (numbers numerically).
    caption, table_id
        Optional caption and ``id`` attribute (for links to a table).
    row_ids
        One ``id`` per row (escaped), so other pages can link to a row (``page.html#<id>``).
    details
        ``{column: label}``: columns shown not as columns but in the row's last cell (header
        ``details_header``), folded in a ``<details>`` element as a label/value list; empty
        values are left out. Use it for identifiers, sources and long notes.
    filterable
        Give the table a search box that hides the rows not containing the typed text
        (``sortable.js``; the rows stay in the page for readers without scripts and for print).
        Default: tables with more than :data:`FILTER_MIN_ROWS` rows.
    links
        ``{column: href_column}``: a non-empty cell of ``column`` links to the row's ``href_column``
        (both escaped; an empty href leaves the cell as text).
    """
    columns = dict(columns) if columns is not None else {c: str(c) for c in df.columns}
    formats = dict(formats or {})
    details = dict(details or {})
    missing = [c for c in [*columns, *details] if c not in df.columns]
    if missing:
        raise KeyError(f"html_table: columns {missing} are not in the table (it has {list(df.columns)})")
    if filterable is None:
        filterable = len(df) > FILTER_MIN_ROWS
    classes = "review-table" + (" sortable" if sortable else "") + (" filterable" if filterable else "")
    attrs = f' class="{classes}"' + (f' id="{html.escape(table_id, quote=True)}"' if table_id else "")
    if row_ids is not None and len(row_ids) != len(df):
        raise ValueError(f"html_table: {len(row_ids)} row_ids for {len(df)} rows; give one id per row")
    parts = [f'<div class="review-table-wrap"><table{attrs}>']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    headers = list(columns.values()) + ([details_header] if details else [])
    parts.append(
        "<thead><tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers) + "</tr></thead><tbody>"
    )
    for i, (_, row) in enumerate(df.iterrows()):
        rid = f' id="{html.escape(str(row_ids[i]), quote=True)}"' if row_ids is not None else ""
        cells = "".join(_linked(_cell(row[col], formats.get(col)), row, col, links) for col in columns)
        if details:
            cells += _details_cell(row, details, formats)
        parts.append(f"<tr{rid}>{cells}</tr>")
    parts.append("</tbody></table></div>")
    return HTML("".join(parts))


def _linked(cell: str, row: pd.Series, col: str, links: Mapping[str, str] | None) -> str:
    """``cell`` with its content wrapped in a link to ``row[links[col]]`` when that is a non-empty text."""
    href = row.get(links[col]) if links and col in links else None
    if not isinstance(href, str) or not href or _is_blank(row[col]):
        return cell
    head, _, rest = cell.partition(">")
    body, _, _ = rest.rpartition("</td>")
    return f'{head}><a href="{html.escape(href, quote=True)}">{body}</a></td>'


def records_table(rows: Sequence[Mapping[str, Any]], **kwargs: Any) -> HTML:
    """:func:`html_table` for a list of dicts."""
    return html_table(pd.DataFrame(list(rows)), **kwargs)


def csv_download(df: pd.DataFrame, filename: str, text: str | None = None) -> str:
    """A link that downloads ``df`` as a CSV file named ``filename``, carried inside the page (a
    ``data:`` address: no file to publish beside the page, works offline). The link text is ``text``
    (default: "Download all N rows (CSV)")."""
    import base64

    payload = base64.b64encode(df.to_csv(index=False).encode("utf-8")).decode("ascii")
    label = text or f"Download all {len(df)} rows (CSV)"
    return (
        f'<a class="review-download" download="{html.escape(filename, quote=True)}" '
        f'href="data:text/csv;charset=utf-8;base64,{payload}">{html.escape(label)}</a>'
    )


def count_summary(values: Sequence[Any], *, noun: str = "rows") -> str:
    """``"140 rows: 80 unclear, 40 cannot be judged, 20 low"`` (most frequent first; ties by name)."""
    counts = pd.Series([str(v) for v in values], dtype="object").value_counts()
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{len(values)} {noun}: " + ", ".join(f"{n} {v}" for v, n in ordered)


def folded(
    content: Any, summary: str, *, download: tuple[pd.DataFrame, str] | None = None, open_: bool = False
) -> HTML:
    """``content`` (HTML text or an ``IPython.display.HTML``) folded under a one-line ``summary``
    the reader clicks to open (an HTML ``<details>``; without scripts too); ``download``
    (``(frame, filename)``) adds a CSV link of the full table next to the summary, reachable
    without opening the fold."""
    body = content.data if isinstance(content, HTML) else str(content)
    link = f'<p class="review-fold-download">{csv_download(*download)}</p>' if download else ""
    return HTML(
        f'<details class="review-fold"{" open" if open_ else ""}><summary>{html.escape(summary)}'
        f"</summary>{body}</details>{link}"
    )
