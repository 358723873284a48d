"""Charts and diagrams of the appraisal: the risk-of-bias traffic light (Altair) and the evidence flow (HTML).

Colours are the Okabe-Ito colour-blind-safe palette, and every judgement is also written as a letter in
its cell, so the chart reads without colour.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

#: Judgement -> (letter shown in the cell, Okabe-Ito colour). Letters carry the meaning without colour.
JUDGEMENT_STYLE: dict[str, tuple[str, str]] = {
    "low": ("L", "#009E73"),  # bluish green
    "some concerns": ("S", "#F0E442"),  # yellow
    "unclear": ("U", "#E69F00"),  # orange
    "high": ("H", "#D55E00"),  # vermillion
    "cannot be judged": ("N", "#BBBBBB"),  # grey: not judgeable from what we have
}


def traffic_light(
    rob: pd.DataFrame,
    *,
    item_order: Sequence[str],
    source_order: Sequence[str],
    title: str | None = None,
    cell: int = 30,
) -> alt.LayerChart:
    """Risk-of-bias traffic light: one row per source, one column per item (and ``Overall``).

    ``rob`` has columns ``source`` (label), ``item`` (column label), ``judgement`` (a key of
    :data:`JUDGEMENT_STYLE`), and optionally ``question`` and ``rationale`` for the tooltip.
    """
    unknown = sorted(set(rob["judgement"]) - set(JUDGEMENT_STYLE))
    if unknown:
        raise ValueError(f"traffic_light: judgements {unknown} have no style; known: {list(JUDGEMENT_STYLE)}")
    d = rob.copy()
    d["letter"] = [JUDGEMENT_STYLE[j][0] for j in d["judgement"]]
    for c in ("question", "rationale"):
        if c not in d.columns:
            d[c] = ""
    present = [j for j in JUDGEMENT_STYLE if j in set(d["judgement"])]
    legend_labels = {j: f"{JUDGEMENT_STYLE[j][0]} = {j}" for j in present}
    d["legend"] = [legend_labels[j] for j in d["judgement"]]
    colour = alt.Color(
        "legend:N",
        title="Judgement",
        scale=alt.Scale(domain=[legend_labels[j] for j in present], range=[JUDGEMENT_STYLE[j][1] for j in present]),
        legend=alt.Legend(orient="bottom", columns=3),
    )
    records = [
        {k: (None if (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()}
        for r in d[["source", "item", "judgement", "letter", "legend", "question", "rationale"]].to_dict(
            orient="records"
        )
    ]
    data = alt.Data(values=records)
    x = alt.X("item:N", sort=list(item_order), title=None, axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("source:N", sort=list(source_order), title=None)
    tooltip = [
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("item:N", title="Item"),
        alt.Tooltip("question:N", title="Question"),
        alt.Tooltip("judgement:N", title="Judgement"),
        alt.Tooltip("rationale:N", title="Why"),
    ]
    base = alt.Chart(data)
    chart = alt.layer(
        base.mark_square(size=cell * cell * 0.8, stroke="#555555", strokeWidth=0.5).encode(
            x=x, y=y, color=colour, tooltip=tooltip
        ),
        base.mark_text(fontWeight="bold", fontSize=12, color="#000000").encode(
            x=x, y=y, text="letter:N", tooltip=tooltip
        ),
    ).properties(width=cell * len(item_order), height=cell * len(source_order))
    return chart.properties(title=title) if title else chart


def flow_html(boxes: Sequence[dict[str, Any]], caption: str = "How the evidence flows into the review") -> str:
    """A vertical flow diagram (PRISMA style) as accessible HTML: one box per stage, with side notes.

    Each box: ``title``, ``lines`` (list of str) and optional ``side`` (list of str: what left the flow here
    and why); or ``title`` and ``branches`` (boxes of the same kind drawn side by side: parallel analyses,
    their ``side`` notes inside them). Text is escaped.
    """
    e = html.escape
    parts = [f'<figure class="flow-diagram" role="group" aria-label="{e(caption, quote=True)}" style="margin: 1em 0">']
    for i, b in enumerate(boxes):
        if i:
            parts.append('<div aria-hidden="true" style="text-align: center; font-size: 1.4em; line-height: 1">↓</div>')
        if b.get("branches"):
            parts.append(
                f'<div class="flow-branches-title" style="text-align: center"><strong>{e(b["title"])}'
                '</strong></div><div class="flow-branches" style="display: flex; gap: 0.6em; '
                'flex-wrap: wrap; align-items: stretch">'
            )
            for br in b["branches"]:
                parts.append(
                    '<div class="flow-box" style="flex: 1 1 11em; border: 2px solid #0072B2; '
                    'border-radius: 6px; padding: 0.4em 0.6em; font-size: 0.85em">'
                    f'<strong>{e(br["title"])}</strong><ul style="margin: 0.3em 0 0 1em; padding: 0">'
                    + "".join(f"<li>{e(str(x))}</li>" for x in br.get("lines", []))
                    + "".join(
                        f'<li style="list-style: circle; color: #444">{e(str(x))}</li>' for x in br.get("side", [])
                    )
                    + "</ul></div>"
                )
            parts.append("</div>")
            continue
        side = b.get("side") or []
        parts.append('<div style="display: flex; gap: 1em; align-items: stretch; flex-wrap: wrap">')
        parts.append(
            '<div class="flow-box" style="flex: 2 1 20em; border: 2px solid #0072B2; border-radius: 6px; '
            'padding: 0.5em 0.8em">'
            f'<strong>{e(b["title"])}</strong><ul style="margin: 0.3em 0 0 1em; padding: 0">'
            + "".join(f"<li>{e(str(x))}</li>" for x in b.get("lines", []))
            + "</ul></div>"
        )
        if side:
            parts.append(
                '<div class="flow-side" style="flex: 1 1 14em; border: 1px dashed #777; border-radius: 6px; '
                'padding: 0.5em 0.8em; font-size: 0.9em"><strong>Not in this step</strong>'
                '<ul style="margin: 0.3em 0 0 1em; padding: 0">'
                + "".join(f"<li>{e(str(x))}</li>" for x in side)
                + "</ul></div>"
            )
        parts.append("</div>")
    parts.append(f"<figcaption>{e(caption)}</figcaption></figure>")
    return "".join(parts)
