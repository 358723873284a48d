"""Altair charts for the book, drawn offline.

Offline rendering
-----------------
Altair's stock renderers load vega / vega-lite / vega-embed from a CDN, so a chart is blank
without network access. The book instead ships those three libraries (vendored by
``scripts/vendor_vega.sh`` into ``book/_static/vendor/``) and loads them once per page through
Sphinx's ``html_js_files`` (``_config.yml``), in the order vega, vega-lite, vega-embed.
:func:`enable_offline` (call it once per notebook) switches Altair to the renderer
``"sarcoma_offline"``, whose ``text/html`` output (the one myst-nb puts in the page) is a
``<div class="sr-vega-chart">`` plus a small script that calls the page's global
``vegaEmbed``: no ``<script src=...>``, no CDN. The spec is embedded as JSON with ``<``, ``>``
and ``&`` escaped, so a study label such as ``"</script><script>..."`` cannot leave the script
element; vega draws text as SVG text nodes and vega-tooltip escapes HTML in tooltips
(its default ``sanitize``), so labels always appear as text.

Charts
------
:func:`forest_plot`, :func:`km_plot`, :func:`cumulative_plot`, :func:`benchmark_plot`.
Percentages are on a 0-100 axis. Inputs whose estimates are fractions (0-1) are converted;
see :func:`forest_plot` for how that is decided.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import altair as alt
import pandas as pd

from sarcoma_review.pages.render.tables import p_text

__all__ = [
    "RENDERER_NAME",
    "enable_offline",
    "offline_html",
    "format_estimate_ci",
    "forest_rows",
    "forest_plot",
    "km_plot",
    "cumulative_plot",
    "benchmark_plot",
]

#: Name under which the offline renderer is registered with ``alt.renderers``.
RENDERER_NAME = "sarcoma_offline"

#: vega-embed options: SVG (text stays text, screenshots are crisp); the actions menu keeps the
#: local exports only (the "open in editor" action would go to the network).
EMBED_OPTIONS: dict[str, Any] = {
    "mode": "vega-lite",
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}

PERCENT_DOMAIN = [0, 100]
POOLED_COLOUR = "#222222"
STUDY_COLOUR = "#1f77b4"

# --------------------------------------------------------------------------------------------
# Offline renderer
# --------------------------------------------------------------------------------------------

_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_for_script(value: Any) -> str:
    """JSON text safe to place inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become JSON ``\\u`` escapes (the parsed value is unchanged), so no
    string in the data can close the script element or open a comment.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return "".join(_SCRIPT_ESCAPES.get(ch, ch) for ch in text)


def offline_html(spec: Mapping[str, Any], embed_options: Mapping[str, Any] | None = None,
                 div_id: str | None = None) -> str:
    """HTML fragment that draws a Vega-Lite ``spec`` with the page's global ``vegaEmbed``.

    Parameters
    ----------
    spec
        A Vega-Lite specification (``chart.to_dict()``).
    embed_options
        vega-embed options; defaults to :data:`EMBED_OPTIONS`.
    div_id
        Id of the container; a random one by default.

    Returns
    -------
    str
        A ``<div class="sr-vega-chart">`` and an inline script. If ``vegaEmbed`` is not defined
        yet when the script runs, drawing waits for the window's ``load`` event; if it is still
        missing, the container says so and the console logs an error.
    """
    div_id = div_id or f"sr-chart-{uuid.uuid4().hex[:12]}"
    opts = dict(EMBED_OPTIONS if embed_options is None else embed_options)
    return (
        f'<div class="sr-vega-chart" id="{div_id}"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f"  var spec = {_json_for_script(dict(spec))};\n"
        f"  var opts = {_json_for_script(opts)};\n"
        f"  var id = {_json_for_script(div_id)};\n"
        "  function draw() {\n"
        "    var el = document.getElementById(id);\n"
        "    if (typeof window.vegaEmbed !== 'function') {\n"
        "      el.textContent = 'This chart needs vega-embed, which this page did not load.';\n"
        "      console.error('sarcoma_review chart ' + id + ': vegaEmbed is not loaded');\n"
        "      return;\n"
        "    }\n"
        "    window.vegaEmbed(el, spec, opts).catch(function (err) {\n"
        "      el.textContent = 'Chart error: ' + err.message;\n"
        "      console.error(err);\n"
        "    });\n"
        "  }\n"
        "  if (typeof window.vegaEmbed === 'function') { draw(); }\n"
        "  else { window.addEventListener('load', draw); }\n"
        "})();\n"
        "</script>"
    )


def _offline_renderer(spec: dict, **metadata: Any) -> dict[str, Any]:
    """Altair renderer: ``text/html`` (drawn by the page's vegaEmbed) and a text fallback.

    No Vega-Lite mimetype is added: myst-nb warns about it as an unknown output type, and the
    book builds with warnings as errors. (In JupyterLab, where the page has no global
    ``vegaEmbed``, use ``alt.renderers.enable("default")`` to explore interactively.)
    """
    embed_options = metadata.get("embed_options")
    return {
        "text/html": offline_html(spec, embed_options),
        "text/plain": "<sarcoma_review offline Vega-Lite chart>",
    }


def enable_offline() -> None:
    """Make Altair charts in this kernel render with the book's vendored vega libraries.

    Call once at the top of a notebook (after ``import altair``). Idempotent.
    """
    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, _offline_renderer)
    alt.renderers.enable(RENDERER_NAME)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def format_estimate_ci(estimate: float, low: float, high: float, decimals: int = 1) -> str:
    """``"77.0 [65.2, 86.1]"``; missing values print as ``"NA"``."""

    def f(x: float) -> str:
        return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{decimals}f}"

    return f"{f(estimate)} [{f(low)}, {f(high)}]"


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it has {list(df.columns)}. "
                         f"Rename or add them before charting.")


def _percent_factor(values: pd.Series | list[float], scale: Literal["auto", "fraction", "percent"]) -> float:
    """100 when the values are fractions, 1 when they are percentages."""
    if scale == "fraction":
        return 100.0
    if scale == "percent":
        return 1.0
    if scale != "auto":
        raise ValueError(f"scale must be 'auto', 'fraction' or 'percent', not {scale!r}")
    finite = pd.Series(values, dtype="float64").dropna()
    return 100.0 if len(finite) and finite.abs().max() <= 1.0 else 1.0


def _get(row: Mapping[str, Any] | pd.Series, key: str, default: Any = None) -> Any:
    value = row.get(key, default) if hasattr(row, "get") else default
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return value


def heterogeneity_text(pooled: Mapping[str, Any] | pd.Series) -> str:
    """``"Heterogeneity: tau^2 = 0.0123, I^2 = 45.0%, Q = 12.30 (df = 6), p = 0.056"``.

    ``i2`` is read as a percentage when above 1, otherwise as a fraction.
    """
    tau2, i2, q, q_p, k = (_get(pooled, c) for c in ("tau2", "i2", "q", "q_p", "k"))
    i2_pct = None if i2 is None else (float(i2) * 100 if float(i2) <= 1 else float(i2))
    parts = [
        "τ² = " + ("NA" if tau2 is None else f"{float(tau2):.4g}"),
        "I² = " + ("NA" if i2_pct is None else f"{i2_pct:.1f}%"),
        "Q = " + ("NA" if q is None else f"{float(q):.2f}")
        + ("" if k is None else f" (df = {int(k) - 1})"),
        "p = NA" if q_p is None else p_text(float(q_p)),
    ]
    return "Heterogeneity: " + ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Forest plot
# --------------------------------------------------------------------------------------------

FOREST_STUDY_COLUMNS = ["study_id", "label", "n_patients", "estimate", "ci_low", "ci_high", "weight"]
FOREST_POOLED_KEYS = ["estimate", "ci_low", "ci_high"]


def forest_rows(per_study: pd.DataFrame, pooled: Mapping[str, Any] | pd.Series, *,
                max_studies: int = 60, sort_by: Literal["year", "estimate", "weight", "input"] = "year",
                scale: Literal["auto", "fraction", "percent"] = "auto",
                pooled_label: str | None = None, decimals: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The table behind :func:`forest_plot` (exposed for tests and for tabular output).

    Returns
    -------
    rows : DataFrame
        One row per drawn line: the shown studies (``kind == "study"``), an optional
        ``"omitted"`` note, the pooled row (``"pooled"``) and the prediction-interval row
        (``"pi"``), with ``pos`` (0 at the top), ``label``, ``n_text``, ``ci_text``,
        ``weight_text`` and the numbers on the 0-100 scale.
    diamond : DataFrame
        The three rows (``y``, ``x``, ``x2``) of the pooled diamond: tip at
        (estimate, pos - 0.4), widest at (ci_low..ci_high, pos), tip at (estimate, pos + 0.4).
    info : dict
        ``k``, ``k_shown``, ``omitted_weight`` (percent) and ``heterogeneity`` text.
    """
    _require(per_study, FOREST_STUDY_COLUMNS, "per_study")
    missing = [k for k in FOREST_POOLED_KEYS if _get(pooled, k) is None]
    if missing:
        raise ValueError(f"pooled needs values for {missing} (got keys {list(pooled.keys())}).")
    if per_study.empty:
        raise ValueError("per_study has no rows: there is nothing to draw.")
    if max_studies < 1:
        raise ValueError(f"max_studies must be at least 1, not {max_studies}")

    factor = _percent_factor(
        list(per_study["ci_high"]) + [_get(pooled, "ci_high")] + [_get(pooled, "pi_high")], scale)
    df = per_study.copy()
    for c in ("estimate", "ci_low", "ci_high"):
        df[c] = df[c].astype("float64") * factor
    df["weight"] = df["weight"].astype("float64")
    if "subgroup" not in df.columns:
        df["subgroup"] = None
    for c in ("year", "source"):
        if c not in df.columns:
            df[c] = None
    df["subgroup"] = df["subgroup"].astype("object").where(df["subgroup"].notna(), "All studies")

    k = len(df)
    shown = df
    omitted_weight = 0.0
    if k > max_studies:
        shown = df.nlargest(max_studies, "weight", keep="first")
        omitted_weight = float(df["weight"].sum() - shown["weight"].sum())
    if sort_by == "year":
        shown = shown.sort_values(["year", "label"], kind="stable", na_position="last")
    elif sort_by == "estimate":
        shown = shown.sort_values(["estimate", "label"], kind="stable")
    elif sort_by == "weight":
        shown = shown.sort_values(["weight", "label"], ascending=[False, True], kind="stable")
    elif sort_by != "input":
        raise ValueError(f"sort_by must be 'year', 'estimate', 'weight' or 'input', not {sort_by!r}")

    records: list[dict[str, Any]] = []
    for _, s in shown.iterrows():
        records.append({
            "kind": "study", "study_id": str(s["study_id"]), "label": str(s["label"]),
            "n_patients": None if pd.isna(s["n_patients"]) else int(s["n_patients"]),
            "estimate": float(s["estimate"]), "ci_low": float(s["ci_low"]), "ci_high": float(s["ci_high"]),
            "weight": float(s["weight"]), "subgroup": str(s["subgroup"]),
            "year": None if pd.isna(s["year"]) else int(s["year"]),
            "source": None if s["source"] is None or pd.isna(s["source"]) else str(s["source"]),
        })
    if k > len(shown):
        records.append({"kind": "omitted",
                        "label": f"… {k - len(shown)} smaller studies not shown "
                                 f"(weight {omitted_weight:.1f}%)"})
    est = float(_get(pooled, "estimate")) * factor
    lo = float(_get(pooled, "ci_low")) * factor
    hi = float(_get(pooled, "ci_high")) * factor
    model = _get(pooled, "model", "random-effects")
    n_total = _get(pooled, "n_patients")
    label = pooled_label or f"Pooled ({model}, k = {int(_get(pooled, 'k', k))})"
    records.append({"kind": "pooled", "label": label, "estimate": est, "ci_low": lo, "ci_high": hi,
                    "n_patients": None if n_total is None else int(n_total), "weight": 100.0,
                    "subgroup": "Pooled"})
    pi_lo, pi_hi = _get(pooled, "pi_low"), _get(pooled, "pi_high")
    if pi_lo is not None and pi_hi is not None:
        records.append({"kind": "pi", "label": "95% prediction interval", "estimate": est,
                        "ci_low": float(pi_lo) * factor, "ci_high": float(pi_hi) * factor,
                        "subgroup": "Pooled"})
    rows = pd.DataFrame.from_records(records)
    rows["pos"] = range(len(rows))
    is_num = rows["kind"].isin(["study", "pooled", "pi"])
    rows["ci_text"] = [
        (f"[{r.ci_low:.{decimals}f}, {r.ci_high:.{decimals}f}]" if r.kind == "pi"
         else format_estimate_ci(r.estimate, r.ci_low, r.ci_high, decimals)) if num else ""
        for r, num in zip(rows.itertuples(), is_num)]
    rows["n_text"] = ["" if pd.isna(n) else str(int(n)) for n in rows["n_patients"]]
    rows["weight_text"] = [f"{w:.1f}%" if kind == "study" else ("100%" if kind == "pooled" else "")
                           for w, kind in zip(rows.get("weight", pd.Series([None] * len(rows))), rows["kind"])]
    pooled_pos = float(rows.loc[rows["kind"] == "pooled", "pos"].iloc[0])
    diamond = pd.DataFrame({"y": [pooled_pos - 0.4, pooled_pos, pooled_pos + 0.4],
                            "x": [est, lo, est], "x2": [est, hi, est]})
    info = {"k": k, "k_shown": len(shown), "omitted_weight": omitted_weight,
            "heterogeneity": heterogeneity_text(pooled)}
    return rows, diamond, info


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records (NaN -> None) for inline chart data."""
    out = df.astype("object").where(df.notna(), None)
    return out.to_dict(orient="records")


def forest_plot(per_study: pd.DataFrame, pooled: Mapping[str, Any] | pd.Series, *,
                title: str | None = None, x_title: str = "Estimate (%)",
                max_studies: int = 60, sort_by: Literal["year", "estimate", "weight", "input"] = "year",
                scale: Literal["auto", "fraction", "percent"] = "auto", pooled_label: str | None = None,
                plot_width: int = 320, row_height: int = 22, label_width: int = 190,
                decimals: int = 1) -> alt.VConcatChart:
    """Forest plot in the RevMan / metafor layout.

    Columns, left to right: study ("First author year"), n, the plot (study squares sized by
    weight with horizontal CI whiskers, the pooled diamond, the prediction interval as a bar,
    a dashed line at the pooled estimate), "Estimate [95% CI]" and weight (%). The
    heterogeneity line (tau², I², Q with df and p) is printed under the table. Studies are
    coloured by ``subgroup`` when that column is present; tooltips show each study's values and
    its source.

    Parameters
    ----------
    per_study
        Columns ``study_id, label, n_patients, estimate, ci_low, ci_high, weight`` (percent of
        the total), optional ``subgroup, year, source``.
    pooled
        Mapping or Series with ``estimate, ci_low, ci_high`` and optionally ``pi_low, pi_high,
        tau2, i2, q, q_p, k, n_patients, model``.
    max_studies
        Large meta-analyses: when there are more than ``max_studies`` studies (default 60), only
        the ``max_studies`` with the largest weights are drawn (in the chosen order), followed by
        a row "… N smaller studies not shown (weight W%)"; the pooled result, prediction
        interval and heterogeneity always use all studies (they come from ``pooled``). This
        keeps the chart readable and the page small (the data embedded in the page is that of
        the drawn rows only); the full table belongs in a table next to the chart.
    sort_by
        ``"year"`` (then label; default), ``"estimate"``, ``"weight"`` (descending) or
        ``"input"`` (as given).
    scale
        ``"percent"`` when the estimates are already 0-100, ``"fraction"`` for 0-1, ``"auto"``
        (default): fractions when every CI upper limit (studies and pooled) is at most 1.

    Returns
    -------
    alt.VConcatChart
        An hconcat of the five columns sharing one y scale, above the heterogeneity text.
    """
    rows, diamond, info = forest_rows(per_study, pooled, max_studies=max_studies, sort_by=sort_by,
                                      scale=scale, pooled_label=pooled_label, decimals=decimals)
    n_rows = len(rows)
    height = max(row_height * n_rows, 60)
    y_scale = alt.Scale(domain=[-0.5, n_rows - 0.5], reverse=True, nice=False, zero=False)
    y = alt.Y("pos:Q", scale=y_scale, axis=None)
    data = alt.Data(values=_records(rows))
    studies = alt.Chart(data).transform_filter("datum.kind === 'study'")
    has_subgroups = rows.loc[rows["kind"] == "study", "subgroup"].nunique() > 1
    colour = (alt.Color("subgroup:N", title="Subgroup", legend=alt.Legend(orient="bottom"))
              if has_subgroups else alt.value(STUDY_COLOUR))
    x = alt.X("estimate:Q", title=x_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True))
    tooltip = [
        alt.Tooltip("label:N", title="Study"),
        alt.Tooltip("n_patients:Q", title="Patients"),
        alt.Tooltip("estimate:Q", title="Estimate (%)", format=f".{decimals}f"),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=f".{decimals}f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=f".{decimals}f"),
        alt.Tooltip("weight:Q", title="Weight (%)", format=".1f"),
        alt.Tooltip("subgroup:N", title="Subgroup"),
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("source:N", title="Source"),
    ]

    def text_column(field: str, header: str, width: int, align: str = "left") -> alt.LayerChart:
        base = alt.Chart(data).encode(x=alt.value(0 if align == "left" else width), y=y, text=f"{field}:N")
        normal = base.transform_filter("datum.kind !== 'pooled'").mark_text(
            align=align, baseline="middle", fontSize=11, limit=width)
        bold = base.transform_filter("datum.kind === 'pooled'").mark_text(
            align=align, baseline="middle", fontSize=11, limit=width, fontWeight="bold")
        return alt.layer(normal, bold).properties(
            width=width, height=height,
            title=alt.TitleParams(header, anchor="start" if align == "left" else "end", fontSize=12))

    whiskers = studies.mark_rule(strokeWidth=1.5).encode(
        x=alt.X("ci_low:Q", title=x_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True)),
        x2="ci_high:Q", y=y, color=colour, tooltip=tooltip)
    squares = studies.mark_square(opacity=1).encode(
        x=x, y=y, color=colour, tooltip=tooltip,
        size=alt.Size("weight:Q", scale=alt.Scale(domain=[0, max(rows["weight"].max(), 1e-9)],
                                                   range=[12, 260]), legend=None))
    diamond_layer = alt.Chart(alt.Data(values=_records(diamond))).mark_area(
        color=POOLED_COLOUR, orient="horizontal").encode(
        y=alt.Y("y:Q", scale=y_scale, axis=None), x=alt.X("x:Q"), x2="x2:Q")
    pooled_tip = alt.Chart(data).transform_filter("datum.kind === 'pooled'").mark_point(
        opacity=0, size=400).encode(x=x, y=y, tooltip=[
            alt.Tooltip("label:N", title="Pooled"), alt.Tooltip("estimate:Q", title="Estimate (%)", format=".1f"),
            alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
            alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f"),
            alt.Tooltip("n_patients:Q", title="Patients")])
    pi_bar = alt.Chart(data).transform_filter("datum.kind === 'pi'").mark_rule(
        strokeWidth=4, color="#888888").encode(x="ci_low:Q", x2="ci_high:Q", y=y, tooltip=[
            alt.Tooltip("label:N", title="Interval"), alt.Tooltip("ci_low:Q", title="Low", format=".1f"),
            alt.Tooltip("ci_high:Q", title="High", format=".1f")])
    pooled_est = float(rows.loc[rows["kind"] == "pooled", "estimate"].iloc[0])
    ref_line = alt.Chart(alt.Data(values=[{"estimate": pooled_est}])).mark_rule(
        strokeDash=[4, 3], color="#999999").encode(x="estimate:Q")
    plot = alt.layer(ref_line, whiskers, squares, pi_bar, diamond_layer, pooled_tip).properties(
        width=plot_width, height=height,
        title=alt.TitleParams("Estimate and 95% CI", anchor="middle", fontSize=12))

    table = alt.hconcat(
        text_column("label", "Study", label_width),
        text_column("n_text", "n", 36, align="right"),
        plot,
        text_column("ci_text", "Estimate [95% CI]", 130),
        text_column("weight_text", "Weight", 50, align="right"),
        spacing=8,
    ).resolve_scale(y="shared")
    note = info["heterogeneity"]
    if info["k"] > info["k_shown"]:
        note += f"; {info['k_shown']} of {info['k']} studies drawn (largest weights)"
    het = alt.Chart(alt.Data(values=[{"text": note}])).mark_text(
        align="left", baseline="middle", fontSize=11, fontStyle="italic").encode(
        text="text:N", x=alt.value(0), y=alt.value(8)).properties(width=label_width, height=16)
    chart = alt.vconcat(table, het, spacing=4).configure_view(stroke=None).configure_axis(grid=False)
    if title:
        chart = chart.properties(title=title)
    return chart


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------

KM_COLUMNS = ["group", "time", "survival", "ci_low", "ci_high"]
AT_RISK_COLUMNS = ["group", "time", "n_at_risk"]


def km_plot(km: pd.DataFrame, at_risk: pd.DataFrame, censored: pd.DataFrame | None = None, *,
            title: str | None = None, y_title: str = "Survival (%)", x_title: str = "Time (months)",
            max_time: float | None = None, width: int = 480, height: int = 300,
            band: bool = True) -> alt.VConcatChart:
    """Kaplan-Meier curves with a pointwise interval band, censoring ticks and numbers at risk.

    Parameters
    ----------
    km
        Step-function table: ``group, time, survival, ci_low, ci_high`` (fractions 0-1, time in
        months), one row per time the estimate changes, starting at time 0 with survival 1.
        An optional boolean column ``censored`` marks censoring times (used when ``censored`` is
        not given).
    at_risk
        ``group, time, n_at_risk``: the numbers at risk printed under the x axis, one text row
        per group.
    censored
        Optional ``group, time, survival`` (fraction) of the censoring marks.
    max_time
        Right end of the time axis (default: the largest time in ``km`` and ``at_risk``).
    band
        Draw the pointwise confidence band.

    Returns
    -------
    alt.VConcatChart
        The curves (y 0-100 %, step-after interpolation) above the at-risk table; both share
        the time scale.
    """
    _require(km, KM_COLUMNS, "km")
    _require(at_risk, AT_RISK_COLUMNS, "at_risk")
    if km.empty:
        raise ValueError("km has no rows: there is no curve to draw.")
    curves = km.copy()
    curves["group"] = curves["group"].astype(str)
    for c in ("survival", "ci_low", "ci_high"):
        vals = curves[c].astype("float64")
        if (vals.dropna() > 1).any() or (vals.dropna() < 0).any():
            raise ValueError(f"km column {c!r} must hold fractions between 0 and 1 (found "
                             f"{vals.min()}..{vals.max()}); divide percentages by 100.")
        curves[c] = vals * 100
    if censored is None and "censored" in curves.columns:
        marks = curves.loc[curves["censored"].astype(bool), ["group", "time", "survival"]]
    elif censored is not None:
        _require(censored, ["group", "time", "survival"], "censored")
        marks = censored[["group", "time", "survival"]].copy()
        marks["group"] = marks["group"].astype(str)
        marks["survival"] = marks["survival"].astype("float64") * 100
    else:
        marks = pd.DataFrame(columns=["group", "time", "survival"])
    # Carry each curve flat to its group's last censoring time (the usual KM drawing).
    extra = []
    for g, sub in curves.groupby("group", sort=False):
        last = sub.sort_values("time").iloc[-1]
        later = marks.loc[(marks["group"].astype(str) == g) & (marks["time"] > last["time"]), "time"]
        if len(later):
            extra.append({**{c: last[c] for c in KM_COLUMNS}, "time": float(later.max())})
    if extra:
        curves = pd.concat([curves[KM_COLUMNS], pd.DataFrame(extra)], ignore_index=True)
    risk = at_risk[AT_RISK_COLUMNS].copy()
    risk["group"] = risk["group"].astype(str)
    groups = list(dict.fromkeys(list(curves["group"]) + list(risk["group"])))
    t_max = float(max_time if max_time is not None else max(curves["time"].max(), risk["time"].max()))
    x_scale = alt.Scale(domain=[0, t_max], nice=False, zero=True)
    colour = alt.Color("group:N", title=None, scale=alt.Scale(domain=groups),
                       legend=alt.Legend(orient="top-right") if len(groups) > 1 else None)
    curve_data = alt.Data(values=_records(curves[["group", "time", "survival", "ci_low", "ci_high"]]))
    base = alt.Chart(curve_data)
    x = alt.X("time:Q", title=x_title, scale=x_scale)
    y = alt.Y("survival:Q", title=y_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False))
    tooltip = [alt.Tooltip("group:N", title="Group"), alt.Tooltip("time:Q", title="Months", format=".1f"),
               alt.Tooltip("survival:Q", title="Survival (%)", format=".1f"),
               alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
               alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f")]
    layers = []
    if band:
        layers.append(base.mark_area(interpolate="step-after", opacity=0.18).encode(
            x=x, y=alt.Y("ci_low:Q", title=y_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False)),
            y2="ci_high:Q", color=colour))
    layers.append(base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=x, y=y, color=colour, detail="group:N"))
    layers.append(base.mark_point(opacity=0, size=60).encode(x=x, y=y, tooltip=tooltip))
    layers.append(alt.Chart(alt.Data(values=_records(marks))).mark_tick(
        orient="vertical", thickness=1.5, size=9).encode(
        x=alt.X("time:Q", scale=x_scale), y=alt.Y("survival:Q", scale=alt.Scale(domain=PERCENT_DOMAIN)),
        color=colour, tooltip=[alt.Tooltip("group:N", title="Censored"),
                               alt.Tooltip("time:Q", title="Months", format=".1f")]))
    curves_chart = alt.layer(*layers).properties(width=width, height=height)
    risk_chart = alt.Chart(alt.Data(values=_records(risk)),
                           title=alt.TitleParams("Number at risk", anchor="start", fontSize=11)).mark_text(
        fontSize=11, baseline="middle").encode(
        x=alt.X("time:Q", scale=x_scale, axis=None),
        y=alt.Y("group:N", title=None, sort=groups, axis=alt.Axis(ticks=False, domain=False, labelPadding=18)),
        text="n_at_risk:Q", color=colour,
    ).properties(width=width, height=18 * len(groups))
    chart = alt.vconcat(curves_chart, risk_chart, spacing=6).resolve_scale(x="shared").configure_view(stroke=None)
    if title:
        chart = chart.properties(title=title)
    return chart


# --------------------------------------------------------------------------------------------
# Cumulative meta-analysis and benchmarks
# --------------------------------------------------------------------------------------------


def cumulative_plot(cumulative: pd.DataFrame, *, title: str | None = None, x_title: str = "Pooled estimate (%)",
                    scale: Literal["auto", "fraction", "percent"] = "auto", width: int = 360,
                    row_height: int = 24) -> alt.LayerChart:
    """Cumulative meta-analysis: the pooled estimate and CI as studies accumulate by year.

    Parameters
    ----------
    cumulative
        One row per step: ``year, estimate, ci_low, ci_high, k`` and optionally ``n_patients``
        and ``added`` (label of the study or studies added at that step).

    Returns
    -------
    alt.LayerChart
        Rows "up to YEAR (k = K)" from the earliest at the top; a point and CI whisker per row.
    """
    _require(cumulative, ["year", "estimate", "ci_low", "ci_high", "k"], "cumulative")
    df = cumulative.sort_values(["year", "k"], kind="stable").reset_index(drop=True).copy()
    factor = _percent_factor(df["ci_high"], scale)
    for c in ("estimate", "ci_low", "ci_high"):
        df[c] = df[c].astype("float64") * factor
    df["row"] = [f"up to {int(yr)} (k = {int(k)})" for yr, k in zip(df["year"], df["k"])]
    df["ci_text"] = [format_estimate_ci(e, lo, hi) for e, lo, hi in zip(df["estimate"], df["ci_low"], df["ci_high"])]
    for c in ("n_patients", "added"):
        if c not in df.columns:
            df[c] = None
    order = list(df["row"])
    data = alt.Data(values=_records(df[["row", "year", "k", "estimate", "ci_low", "ci_high", "ci_text",
                                        "n_patients", "added"]]))
    y = alt.Y("row:N", sort=order, title=None)
    xs = alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True)
    tooltip = [alt.Tooltip("row:N", title="Studies"), alt.Tooltip("ci_text:N", title="Estimate [95% CI]"),
               alt.Tooltip("n_patients:Q", title="Patients"), alt.Tooltip("added:N", title="Added")]
    base = alt.Chart(data)
    chart = alt.layer(
        base.mark_rule(strokeWidth=1.5, color=STUDY_COLOUR).encode(
            x=alt.X("ci_low:Q", title=x_title, scale=xs), x2="ci_high:Q", y=y, tooltip=tooltip),
        base.mark_point(filled=True, size=60, color=STUDY_COLOUR).encode(
            x=alt.X("estimate:Q", scale=xs), y=y, tooltip=tooltip),
    ).properties(width=width, height=row_height * len(df))
    if title:
        chart = chart.properties(title=title)
    return chart


def benchmark_plot(estimates: pd.DataFrame, benchmarks: pd.DataFrame | Mapping[str, float], *,
                   title: str | None = None, x_title: str = "Estimate (%)",
                   scale: Literal["auto", "fraction", "percent"] = "auto", width: int = 360,
                   row_height: int = 28) -> alt.LayerChart:
    """Estimates with CIs against reference values (e.g. a photon-therapy benchmark).

    Parameters
    ----------
    estimates
        ``label, estimate, ci_low, ci_high`` (optional ``source``), one row per estimate.
    benchmarks
        ``{label: value}`` or a DataFrame ``label, value`` (optional ``source``), on the same
        scale as ``estimates``; each is drawn as a dashed vertical line with its label.

    Returns
    -------
    alt.LayerChart
    """
    _require(estimates, ["label", "estimate", "ci_low", "ci_high"], "estimates")
    bench = (pd.DataFrame({"label": list(benchmarks.keys()), "value": list(benchmarks.values())})
             if isinstance(benchmarks, Mapping) else benchmarks.copy())
    _require(bench, ["label", "value"], "benchmarks")
    df = estimates.copy()
    factor = _percent_factor(list(df["ci_high"]) + list(bench["value"]), scale)
    for c in ("estimate", "ci_low", "ci_high"):
        df[c] = df[c].astype("float64") * factor
    bench["value"] = bench["value"].astype("float64") * factor
    df["label"] = df["label"].astype(str)
    bench["label"] = bench["label"].astype(str)
    if "source" not in df.columns:
        df["source"] = None
    if "source" not in bench.columns:
        bench["source"] = None
    df["ci_text"] = [format_estimate_ci(e, lo, hi) for e, lo, hi in zip(df["estimate"], df["ci_low"], df["ci_high"])]
    order = list(df["label"])
    xs = alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True)
    y = alt.Y("label:N", sort=order, title=None)
    data = alt.Data(values=_records(df[["label", "estimate", "ci_low", "ci_high", "ci_text", "source"]]))
    tooltip = [alt.Tooltip("label:N", title="Estimate"), alt.Tooltip("ci_text:N", title="Value [95% CI]"),
               alt.Tooltip("source:N", title="Source")]
    bench_data = alt.Data(values=_records(bench[["label", "value", "source"]]))
    bench_tip = [alt.Tooltip("label:N", title="Benchmark"), alt.Tooltip("value:Q", title="Value (%)", format=".1f"),
                 alt.Tooltip("source:N", title="Source")]
    chart = alt.layer(
        alt.Chart(bench_data).mark_rule(strokeDash=[5, 4], color="#d62728").encode(
            x=alt.X("value:Q", scale=xs, title=x_title), tooltip=bench_tip),
        alt.Chart(bench_data).mark_text(align="left", dx=3, dy=-4, baseline="bottom", color="#d62728",
                                        fontSize=10).encode(
            x=alt.X("value:Q", scale=xs), y=alt.value(0), text="label:N"),
        alt.Chart(data).mark_rule(strokeWidth=1.5, color=STUDY_COLOUR).encode(
            x=alt.X("ci_low:Q", scale=xs, title=x_title), x2="ci_high:Q", y=y, tooltip=tooltip),
        alt.Chart(data).mark_point(filled=True, size=70, color=STUDY_COLOUR).encode(
            x=alt.X("estimate:Q", scale=xs), y=y, tooltip=tooltip),
    ).properties(width=width, height=row_height * len(df))
    if title:
        chart = chart.properties(title=title)
    return chart
