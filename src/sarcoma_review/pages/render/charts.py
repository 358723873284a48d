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
``vegaEmbed``: no ``<script src=...>``, no CDN. Beside it stands the same chart as a static SVG,
rendered at build time by ``vl-convert`` (no browser, no network), which a reader sees when
scripts do not run and on paper; the script hides it once the interactive chart is drawn. The spec is embedded as
JSON with ``<``, ``>``
and ``&`` escaped, so a study label such as ``"</script><script>..."`` cannot leave the script
element; vega draws text as SVG text nodes and vega-tooltip escapes HTML in tooltips
(its default ``sanitize``), so labels always appear as text.

Reading
-------
Every chart goes through :func:`book_spec` before it is drawn: the Okabe-Ito colour-blind-safe
palette (Okabe and Ito, *Color Universal Design*, 2008) for categories, and no label cut short
(every ``labelLimit`` and text ``limit`` is lifted). Where colour carries meaning, a shape or
a dash pattern carries it too, and every category keeps one colour and one shape in every chart
(:data:`CATEGORY_STYLE`, :func:`category_style`).

Phones
------
A chart may carry in its ``usermeta`` a phone layout (:data:`NARROW_KEY`; the forest and
Kaplan-Meier plots do) and the source of each point (:data:`SOURCES_KEY`). :func:`offline_html`
then draws both layouts, and ``book/_static/charts.css`` shows the phone one on screens up to
600 px (text at full size, no scaling down) and the wide one elsewhere and on paper; the sources
are listed under the chart in a ``<details>`` a reader opens with a tap (tooltips need a pointer),
present without scripts and printed open. A chart without a phone layout keeps its size on a
phone and scrolls sideways inside its own box.

Charts
------
:func:`forest_plot`, :func:`km_plot`, :func:`cumulative_plot`, :func:`benchmark_plot`.
Percentages are on a 0-100 axis. Inputs whose estimates are fractions (0-1) are converted;
see :func:`forest_plot` for how that is decided.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import altair as alt
import pandas as pd

from sarcoma_review.pages.render.tables import p_text
from sarcoma_review.paths import write_atomic

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

#: Okabe-Ito colours in the order categories take them (blue, orange, bluish green, reddish
#: purple, sky blue, vermillion, black, yellow; yellow last: it is faint on white).
CATEGORY_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
#: Marker shapes in the same order, so a category is told by its shape without colour.
CATEGORY_SHAPES = [
    "circle",
    "square",
    "triangle-up",
    "diamond",
    "triangle-down",
    "cross",
    "triangle-right",
    "triangle-left",
]
#: Dash patterns for lines (Kaplan-Meier curves), same order.
CATEGORY_DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3]]
#: The book's one visual language: every category a chart can show, with its one colour and one
#: marker shape, the same in every chart and on every page (carbon is a blue circle in the 5-year
#: forest plot and in the 3-year one). Within each kind (particle group, histology stratum,
#: comparator kind, certainty level) colours differ, and no two categories share a colour *and* a
#: shape. Keys are the data's own values, compared case-insensitively.
CATEGORY_STYLE: dict[str, tuple[str, str]] = {
    # particle groups (literature/particle_groups.csv)
    "carbon": ("#0072B2", "circle"),
    "proton-based": ("#E69F00", "square"),
    "mixed": ("#009E73", "triangle-up"),
    # histology strata (data.vocabulary)
    "chordoma": ("#CC79A7", "diamond"),
    "other": ("#56B4E9", "triangle-down"),
    # comparator kinds (modality of a comparison)
    "particle therapy": ("#000000", "circle"),
    "photon rt": ("#D55E00", "square"),
    "radiochemotherapy": ("#009E73", "diamond"),
    "radiotherapy with radiosensitiser": ("#CC79A7", "cross"),
    # GRADE certainty levels
    "high": ("#009E73", "circle"),
    "moderate": ("#56B4E9", "square"),
    "low": ("#E69F00", "triangle-down"),
    "very low": ("#D55E00", "cross"),
}


def category_style(categories: list[Any]) -> tuple[list[str], list[str]]:
    """``(colours, shapes)`` for ``categories`` in order: each known category its
    :data:`CATEGORY_STYLE`; an unknown one (a site, a group of a Kaplan-Meier plot) the first
    Okabe-Ito colour and shape pair that no category of the registry has, with a colour not yet
    used in this chart (and a shape not yet used) where one is left, so no two categories of one chart share a mark."""
    known = [CATEGORY_STYLE.get(str(c).strip().lower()) for c in categories]
    taken = set(CATEGORY_STYLE.values())
    spare = [(c, sh) for c in CATEGORY_COLOURS for sh in CATEGORY_SHAPES if (c, sh) not in taken]
    colours_used = {k[0] for k in known if k}
    shapes_used = {k[1] for k in known if k}
    out = []
    for style in known:
        if style is None:
            both = [cs for cs in spare if cs[0] not in colours_used and cs[1] not in shapes_used]
            fresh = [cs for cs in spare if cs[0] not in colours_used]
            style = (both or fresh or spare)[0]
            spare.remove(style)
            colours_used.add(style[0])
            shapes_used.add(style[1])
        out.append(style)
    return [c for c, _ in out], [sh for _, sh in out]


STUDY_COLOUR = CATEGORY_COLOURS[0]
HIGHLIGHT_COLOUR = "#D55E00"  # Okabe-Ito vermillion
REFERENCE_COLOUR = "#D55E00"

#: Chart defaults of the book (merged into every spec by :func:`book_spec`).
BOOK_CONFIG: dict[str, Any] = {
    "range": {"category": CATEGORY_COLOURS},
    "axis": {"labelLimit": 0, "titleLimit": 0, "labelFontSize": 11, "titleFontSize": 12},
    "legend": {"labelLimit": 0, "titleLimit": 0, "labelFontSize": 11},
    "header": {"labelLimit": 0, "titleLimit": 0},
}

#: Vega-Lite versions of the specs and of vl-convert are compared on major.minor.
_VL_VERSION_PREFIX = "https://vega.github.io/schema/vega-lite/v"

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


def _lift_limits(node: Any) -> Any:
    """A copy of ``node`` with every ``labelLimit``/``titleLimit`` set to 0 (no limit) and every text
    mark's ``limit`` removed, so no label is ever cut to "…"."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("labelLimit", "titleLimit") and isinstance(value, (int, float)):
                out[key] = 0
            elif key == "mark" and isinstance(value, dict) and value.get("type") == "text":
                out[key] = {k: v for k, v in value.items() if k != "limit"}
            else:
                out[key] = _lift_limits(value)
        return out
    if isinstance(node, list):
        return [_lift_limits(v) for v in node]
    return node


def book_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec as the book draws it: :data:`BOOK_CONFIG` under the spec's own ``config`` (the
    spec's own settings win, except that no label limit survives), and every limit lifted."""
    out = _lift_limits(dict(spec))
    config = {k: dict(v) if isinstance(v, dict) else v for k, v in BOOK_CONFIG.items()}
    for key, value in (out.get("config") or {}).items():
        config[key] = (
            {**config[key], **value} if isinstance(value, dict) and isinstance(config.get(key), dict) else value
        )
    out["config"] = _lift_limits(config)
    return out


def _vl_version(spec: Mapping[str, Any]) -> str:
    """The ``major.minor`` Vega-Lite version that vl-convert should compile ``spec`` with: the
    spec's own (from ``$schema``) when vl-convert bundles it, else the newest of the same major."""
    import vl_convert

    available = list(vl_convert.get_vegalite_versions())
    schema = str(spec.get("$schema", ""))
    if schema.startswith(_VL_VERSION_PREFIX):
        major_minor = ".".join(schema[len(_VL_VERSION_PREFIX) :].removesuffix(".json").split(".")[:2])
        if major_minor in available:
            return major_minor
        same_major = [v for v in available if v.split(".")[0] == major_minor.split(".")[0]]
        if same_major:
            return same_major[-1]
        raise ValueError(f"chart spec is Vega-Lite {major_minor}; vl-convert bundles only {available}")
    return available[-1]


#: Cache folder (under the build context's, :func:`sarcoma_review.paths.context`) of memoised static SVGs.
SVG_CACHE = "svg"


def _render_svg(spec: Mapping[str, Any]) -> str:
    """vl-convert's SVG of ``spec``, memoised on disk in the build context's ``svg`` cache when there is one.

    The key is the spec's every byte (canonical JSON), the Vega-Lite version it is compiled with
    and vl-convert's version, so a changed chart or a changed renderer never reuses an old picture;
    a rebuild that re-executes a chapter re-renders only the charts whose data changed.
    """
    import vl_convert

    from sarcoma_review import paths

    vl_version = _vl_version(spec)
    folder = paths.context().cache(SVG_CACHE)
    path = None
    if folder is not None:
        key = json.dumps(
            [spec, vl_version, getattr(vl_convert, "__version__", "")], sort_keys=True, ensure_ascii=False, default=str
        )
        path = Path(folder) / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".svg")
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            pass
    svg = vl_convert.vegalite_to_svg(dict(spec), vl_version=vl_version)
    if path is not None:
        try:
            write_atomic(path, svg.encode("utf-8"))  # a concurrent chapter reads the whole file or none
        except OSError:
            pass  # a memo that cannot be written only costs time
    return svg


def static_svg(spec: Mapping[str, Any], id_prefix: str) -> str:
    """The chart as a self-contained SVG string, rendered now (offline) by vl-convert.

    Ids inside the SVG (clip paths) are prefixed with ``id_prefix`` so that several charts on one
    page do not share them. Text in the SVG is XML-escaped by Vega's SVG renderer, so a label
    such as ``<script>`` stays text.
    """
    import re

    svg = _render_svg(spec)
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{id_prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{id_prefix}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{id_prefix}-{m.group(1)}"', svg)
    return svg.replace('class="marks"', 'class="sr-static-svg" role="img"', 1)


#: How many charts with each spec digest this process has drawn (see :func:`chart_id`).
_CHART_COUNTS: dict[str, int] = {}


def chart_id(spec: Mapping[str, Any], embed_options: Mapping[str, Any] | None = None) -> str:
    """A deterministic container id: ``sr-chart-`` + 12 hex digits of the SHA-256 of the spec and options,
    with ``-2``, ``-3`` ... for the second, third ... identical chart drawn by this process (one page).

    The same page built twice from the same data gets the same ids, so pages compare byte for byte.
    """
    text = json.dumps([spec, embed_options or {}], sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    n = _CHART_COUNTS[digest] = _CHART_COUNTS.get(digest, 0) + 1
    return f"sr-chart-{digest}" + (f"-{n}" if n > 1 else "")


def offline_html(
    spec: Mapping[str, Any],
    embed_options: Mapping[str, Any] | None = None,
    div_id: str | None = None,
    static: bool = True,
) -> str:
    """HTML fragment that draws a Vega-Lite ``spec`` with the page's global ``vegaEmbed``.

    Parameters
    ----------
    spec
        A Vega-Lite specification (``chart.to_dict()``); drawn as :func:`book_spec` makes it.
    embed_options
        vega-embed options; defaults to :data:`EMBED_OPTIONS`.
    div_id
        Id of the container; by default :func:`chart_id` (deterministic).
    static
        Also embed the chart as a static SVG (:func:`static_svg`), shown when scripts do not run
        and in print, hidden once the interactive chart is drawn.

    Returns
    -------
    str
        ``<div class="sr-chart">`` holding the static ``<div class="sr-vega-static">``, the
        interactive ``<div class="sr-vega-chart">`` and an inline script. If ``vegaEmbed`` is not
        defined yet when the script runs, drawing waits for the window's ``load`` event; if it is
        still missing, the static chart stays and the console logs an error.
    """
    spec = book_spec(spec)
    opts = dict(EMBED_OPTIONS if embed_options is None else embed_options)
    meta = dict(spec.get("usermeta") or {})
    narrow, sources = meta.pop(NARROW_KEY, None), meta.pop(SOURCES_KEY, None)
    if narrow is not None or sources is not None:
        spec = {k: v for k, v in spec.items() if k != "usermeta"} | ({"usermeta": meta} if meta else {})
    div_id = div_id or chart_id(spec, opts)
    if narrow is None:
        out = _chart_box(spec, opts, div_id, static)
    else:  # a phone draws the narrow layout, a wider screen and paper the wide one (book/_static/charts.css)
        out = (
            '<div class="sr-responsive">\n'
            + _chart_box(spec, opts, div_id, static, "sr-wide")
            + "\n"
            + _chart_box(book_spec(narrow), opts, f"{div_id}-narrow", static, "sr-narrow")
            + "\n</div>"
        )
    return out + _sources_html(sources)


def _sources_html(sources: list[list[str]] | None) -> str:
    """The source of every point of a chart, folded under it: a tap opens it (tooltips need a
    pointer), and it is there without scripts and on paper."""
    if not sources:
        return ""
    items = "".join(f"<li><strong>{html.escape(a)}</strong>: {html.escape(b)}</li>" for a, b in sources)
    return (
        f'\n<details class="sr-sources"><summary>Source of each point ({len(sources)})</summary>'
        f"<ul>{items}</ul></details>"
    )


def _chart_box(
    spec: Mapping[str, Any], opts: Mapping[str, Any], div_id: str, static: bool, extra_class: str = ""
) -> str:
    """One ``<div class="sr-chart">``: the static SVG, the interactive container and its script."""
    static_html = (
        f'<div class="sr-vega-static" id="{div_id}-static">{static_svg(spec, div_id)}</div>\n' if static else ""
    )
    cls = "sr-chart" + (f" {extra_class}" if extra_class else "")
    return (
        f'<div class="{cls}" id="{div_id}-box">\n'
        f"{static_html}"
        f'<div class="sr-vega-chart" id="{div_id}"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f"  var spec = {_json_for_script(spec)};\n"
        f"  var opts = {_json_for_script(opts)};\n"
        f"  var id = {_json_for_script(div_id)};\n"
        "  function draw() {\n"
        "    var el = document.getElementById(id);\n"
        "    if (typeof window.vegaEmbed !== 'function') {\n"
        "      console.error('sarcoma_review chart ' + id + ': vegaEmbed is not loaded');\n"
        "      return;\n"
        "    }\n"
        "    window.vegaEmbed(el, spec, opts).then(function () {\n"
        "      document.getElementById(id + '-box').classList.add('sr-drawn');\n"
        "    }).catch(function (err) {\n"
        "      console.error(err);\n"
        "    });\n"
        "  }\n"
        "  if (typeof window.vegaEmbed === 'function') { draw(); }\n"
        "  else { window.addEventListener('load', draw); }\n"
        "})();\n"
        "</script>\n"
        "</div>"
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
        raise ValueError(
            f"{what} is missing column(s) {missing}; it has {list(df.columns)}. Rename or add them before charting."
        )


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
        "Q = " + ("NA" if q is None else f"{float(q):.2f}") + ("" if k is None else f" (df = {int(k) - 1})"),
        "p = NA" if q_p is None else p_text(float(q_p)),
    ]
    return "Heterogeneity: " + ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Forest plot
# --------------------------------------------------------------------------------------------

FOREST_STUDY_COLUMNS = ["study_id", "label", "n_patients", "estimate", "ci_low", "ci_high", "weight"]
FOREST_POOLED_KEYS = ["estimate", "ci_low", "ci_high"]


def _forest_frame(per_study: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The studies on the 0-100 scale, with the optional columns present."""
    df = per_study.copy()
    for c in ("estimate", "ci_low", "ci_high"):
        df[c] = df[c].astype("float64") * factor
    df["weight"] = df["weight"].astype("float64")
    if "subgroup" not in df.columns:
        df["subgroup"] = None
    for c in ("year", "source", "histology"):
        if c not in df.columns:
            df[c] = None
    df["subgroup"] = df["subgroup"].astype("object").where(df["subgroup"].notna(), "All studies")
    return df


def forest_rows(
    per_study: pd.DataFrame,
    pooled: Mapping[str, Any] | pd.Series,
    *,
    max_studies: int = 60,
    sort_by: Literal["year", "estimate", "weight", "input"] = "year",
    scale: Literal["auto", "fraction", "percent"] = "auto",
    pooled_label: str | None = None,
    decimals: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
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
    _check_forest_input(per_study, pooled, max_studies)
    factor = _percent_factor(list(per_study["ci_high"]) + [_get(pooled, "ci_high")] + [_get(pooled, "pi_high")], scale)
    df = _forest_frame(per_study, factor)
    k = len(df)
    shown = df
    omitted_weight = 0.0
    if k > max_studies:
        shown = df.nlargest(max_studies, "weight", keep="first")
        omitted_weight = float(df["weight"].sum() - shown["weight"].sum())
    shown = _sort_studies(shown, sort_by)
    records = [_study_record(s) for _, s in shown.iterrows()]
    if k > len(shown):
        records.append(
            {"kind": "omitted", "label": f"… {k - len(shown)} smaller studies not shown (weight {omitted_weight:.1f}%)"}
        )
    est, lo, hi = (float(_get(pooled, c)) * factor for c in ("estimate", "ci_low", "ci_high"))
    records += _pooled_records(pooled, factor, k, pooled_label)
    rows = pd.DataFrame.from_records(records)
    rows["pos"] = range(len(rows))
    _forest_texts(rows, decimals)
    pooled_pos = float(rows.loc[rows["kind"] == "pooled", "pos"].iloc[0])
    diamond = pd.DataFrame(
        {"y": [pooled_pos - 0.4, pooled_pos, pooled_pos + 0.4], "x": [est, lo, est], "x2": [est, hi, est]}
    )
    info = {
        "k": k,
        "k_shown": len(shown),
        "omitted_weight": omitted_weight,
        "heterogeneity": heterogeneity_text(pooled),
    }
    return rows, diamond, info


def _check_forest_input(per_study: pd.DataFrame, pooled: Mapping[str, Any] | pd.Series, max_studies: int) -> None:
    _require(per_study, FOREST_STUDY_COLUMNS, "per_study")
    missing = [k for k in FOREST_POOLED_KEYS if _get(pooled, k) is None]
    if missing:
        raise ValueError(f"pooled needs values for {missing} (got keys {list(pooled.keys())}).")
    if per_study.empty:
        raise ValueError("per_study has no rows: there is nothing to draw.")
    if max_studies < 1:
        raise ValueError(f"max_studies must be at least 1, not {max_studies}")


def _forest_frame(per_study: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The studies on the 0-100 scale, with the optional columns present (``subgroup`` defaulting to
    "All studies")."""
    df = per_study.copy()
    for c in ("estimate", "ci_low", "ci_high"):
        df[c] = df[c].astype("float64") * factor
    df["weight"] = df["weight"].astype("float64")
    for c in ("subgroup", "year", "source", "histology"):
        if c not in df.columns:
            df[c] = None
    df["subgroup"] = df["subgroup"].astype("object").where(df["subgroup"].notna(), "All studies")
    return df


def _sort_studies(shown: pd.DataFrame, sort_by: str) -> pd.DataFrame:
    if sort_by == "year":
        return shown.sort_values(["year", "label"], kind="stable", na_position="last")
    if sort_by == "estimate":
        return shown.sort_values(["estimate", "label"], kind="stable")
    if sort_by == "weight":
        return shown.sort_values(["weight", "label"], ascending=[False, True], kind="stable")
    if sort_by != "input":
        raise ValueError(f"sort_by must be 'year', 'estimate', 'weight' or 'input', not {sort_by!r}")
    return shown


def _optional(value: Any, kind: type = str) -> Any:
    """``None`` for a missing value, else ``kind(value)``."""
    return None if value is None or pd.isna(value) else kind(value)


def _study_record(s: pd.Series) -> dict[str, Any]:
    return {
        "kind": "study",
        "study_id": str(s["study_id"]),
        "label": str(s["label"]),
        "n_patients": _optional(s["n_patients"], int),
        "estimate": float(s["estimate"]),
        "ci_low": float(s["ci_low"]),
        "ci_high": float(s["ci_high"]),
        "weight": float(s["weight"]),
        "subgroup": str(s["subgroup"]),
        "year": _optional(s["year"], int),
        "source": _optional(s["source"]),
        "histology": _optional(s["histology"]),
    }


def _pooled_records(
    pooled: Mapping[str, Any] | pd.Series, factor: float, k: int, pooled_label: str | None
) -> list[dict[str, Any]]:
    """The pooled row and, when ``pooled`` has one, the prediction-interval row."""
    est, lo, hi = (float(_get(pooled, c)) * factor for c in ("estimate", "ci_low", "ci_high"))
    model = _get(pooled, "model", "random-effects")
    n_total = _get(pooled, "n_patients")
    label = pooled_label or f"Pooled ({model}, k = {int(_get(pooled, 'k', k))})"
    out = [
        {
            "kind": "pooled",
            "label": label,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "n_patients": None if n_total is None else int(n_total),
            "weight": 100.0,
            "subgroup": "Pooled",
        }
    ]
    pi_lo, pi_hi = _get(pooled, "pi_low"), _get(pooled, "pi_high")
    if pi_lo is not None and pi_hi is not None:
        out.append(
            {
                "kind": "pi",
                "label": "95% prediction interval",
                "estimate": est,
                "ci_low": float(pi_lo) * factor,
                "ci_high": float(pi_hi) * factor,
                "subgroup": "Pooled",
            }
        )
    return out


def _forest_texts(rows: pd.DataFrame, decimals: int) -> None:
    """Add the text columns ``ci_text``, ``n_text`` and ``weight_text`` to ``rows`` (in place)."""
    is_num = rows["kind"].isin(["study", "pooled", "pi"])
    rows["ci_text"] = [
        (
            f"[{r.ci_low:.{decimals}f}, {r.ci_high:.{decimals}f}]"
            if r.kind == "pi"
            else format_estimate_ci(r.estimate, r.ci_low, r.ci_high, decimals)
        )
        if num
        else ""
        for r, num in zip(rows.itertuples(), is_num)
    ]
    rows["n_text"] = ["" if pd.isna(n) else str(int(n)) for n in rows["n_patients"]]
    rows["weight_text"] = [
        f"{w:.1f}%" if kind == "study" else ("100%" if kind == "pooled" else "")
        for w, kind in zip(rows.get("weight", pd.Series([None] * len(rows))), rows["kind"])
    ]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records (NaN -> None) for inline chart data."""
    out = df.astype("object").where(df.notna(), None)
    return out.to_dict(orient="records")


def forest_plot(
    per_study: pd.DataFrame,
    pooled: Mapping[str, Any] | pd.Series,
    *,
    title: str | None = None,
    x_title: str = "Estimate (%)",
    max_studies: int = 60,
    sort_by: Literal["year", "estimate", "weight", "input"] = "year",
    scale: Literal["auto", "fraction", "percent"] = "auto",
    pooled_label: str | None = None,
    plot_width: int = 320,
    row_height: int = 24,
    label_width: int = 120,
    decimals: int = 1,
) -> alt.VConcatChart:
    """Forest plot in the RevMan / metafor layout.

    Columns, left to right: study ("First author year"), histology (when ``per_study`` has a
    ``histology`` column with any value), n, the plot (study markers sized by weight with
    horizontal CI whiskers, the pooled diamond, the prediction interval as a bar, a dashed line
    at the pooled estimate), "Estimate [95% CI]" and weight (%). Text is 12 px and every text
    column is as wide as its longest entry (nothing is cut). The heterogeneity line (tau², I², Q
    with df and p) is printed under the table. With more than one ``subgroup``, studies take an
    Okabe-Ito colour AND a marker shape per subgroup (one legend); otherwise blue squares.
    Tooltips show each study's values and its source.

    Parameters
    ----------
    per_study
        Columns ``study_id, label, n_patients, estimate, ci_low, ci_high, weight`` (percent of
        the total), optional ``subgroup, year, source, histology``.
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
    rows, diamond, info = forest_rows(
        per_study,
        pooled,
        max_studies=max_studies,
        sort_by=sort_by,
        scale=scale,
        pooled_label=pooled_label,
        decimals=decimals,
    )
    if "histology" not in rows.columns:
        rows["histology"] = None
    rows["histology_text"] = [
        "" if h is None or (isinstance(h, float) and math.isnan(h)) else str(h) for h in rows["histology"]
    ]
    show_histology = bool((rows["histology_text"] != "").any())
    n_rows = len(rows)
    height = max(row_height * n_rows, 60)
    y_scale = alt.Scale(domain=[-0.5, n_rows - 0.5], reverse=True, nice=False, zero=False)
    y = alt.Y("pos:Q", scale=y_scale, axis=None)
    data = alt.Data(values=_records(rows))
    studies = alt.Chart(data).transform_filter("datum.kind === 'study'")
    subgroups = list(dict.fromkeys(rows.loc[rows["kind"] == "study", "subgroup"]))
    has_subgroups = len(subgroups) > 1
    if has_subgroups:
        legend = alt.Legend(orient="bottom", title="Subgroup", labelFontSize=12, symbolSize=120)
        colours, shapes = category_style(subgroups)
        colour = alt.Color("subgroup:N", scale=alt.Scale(domain=subgroups, range=colours), legend=legend)
        shape = alt.Shape("subgroup:N", scale=alt.Scale(domain=subgroups, range=shapes), legend=legend)
    else:
        colour = alt.value(STUDY_COLOUR)
        shape = alt.value("square")
    x = alt.X("estimate:Q", title=x_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True))
    tooltip = [
        alt.Tooltip("label:N", title="Study"),
        alt.Tooltip("n_patients:Q", title="Patients"),
        alt.Tooltip("estimate:Q", title="Estimate (%)", format=f".{decimals}f"),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=f".{decimals}f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=f".{decimals}f"),
        alt.Tooltip("weight:Q", title="Weight (%)", format=".1f"),
        alt.Tooltip("subgroup:N", title="Subgroup"),
        *([alt.Tooltip("histology:N", title="Histology")] if show_histology else []),
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("source:N", title="Source"),
    ]

    def text_column(field: str, header: str, width: int, align: str = "left") -> alt.LayerChart:
        base = alt.Chart(data).encode(x=alt.value(0 if align == "left" else width), y=y, text=f"{field}:N")
        normal = base.transform_filter("datum.kind !== 'pooled'").mark_text(
            align=align, baseline="middle", fontSize=FOREST_FONT_SIZE
        )
        bold = base.transform_filter("datum.kind === 'pooled'").mark_text(
            align=align, baseline="middle", fontSize=FOREST_FONT_SIZE, fontWeight="bold"
        )
        return alt.layer(normal, bold).properties(
            width=width,
            height=height,
            title=alt.TitleParams(
                header, anchor="start" if align == "left" else "end", fontSize=FOREST_FONT_SIZE, fontWeight="bold"
            ),
        )

    whiskers = studies.mark_rule(strokeWidth=1.5).encode(
        x=alt.X("ci_low:Q", title=x_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True)),
        x2="ci_high:Q",
        y=y,
        color=colour,
        tooltip=tooltip,
    )
    markers = studies.mark_point(filled=True, opacity=1, stroke="#222222", strokeWidth=0.5).encode(
        x=x,
        y=y,
        color=colour,
        shape=shape,
        tooltip=tooltip,
        size=alt.Size(
            "weight:Q", scale=alt.Scale(domain=[0, max(rows["weight"].max(), 1e-9)], range=[30, 320]), legend=None
        ),
    )
    diamond_layer = (
        alt.Chart(alt.Data(values=_records(diamond)))
        .mark_area(color=POOLED_COLOUR, orient="horizontal")
        .encode(y=alt.Y("y:Q", scale=y_scale, axis=None), x=alt.X("x:Q"), x2="x2:Q")
    )
    pooled_tip = (
        alt.Chart(data)
        .transform_filter("datum.kind === 'pooled'")
        .mark_point(opacity=0, size=400)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("label:N", title="Pooled"),
                alt.Tooltip("estimate:Q", title="Estimate (%)", format=".1f"),
                alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
                alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f"),
                alt.Tooltip("n_patients:Q", title="Patients"),
            ],
        )
    )
    pi_bar = (
        alt.Chart(data)
        .transform_filter("datum.kind === 'pi'")
        .mark_rule(strokeWidth=4, color="#888888")
        .encode(
            x="ci_low:Q",
            x2="ci_high:Q",
            y=y,
            tooltip=[
                alt.Tooltip("label:N", title="Interval"),
                alt.Tooltip("ci_low:Q", title="Low", format=".1f"),
                alt.Tooltip("ci_high:Q", title="High", format=".1f"),
            ],
        )
    )
    pooled_est = float(rows.loc[rows["kind"] == "pooled", "estimate"].iloc[0])
    ref_line = (
        alt.Chart(alt.Data(values=[{"estimate": pooled_est}]))
        .mark_rule(strokeDash=[4, 3], color="#999999")
        .encode(x="estimate:Q")
    )
    plot = alt.layer(ref_line, whiskers, markers, pi_bar, diamond_layer, pooled_tip).properties(
        width=plot_width,
        height=height,
        title=alt.TitleParams("Estimate and 95% CI", anchor="middle", fontSize=FOREST_FONT_SIZE, fontWeight="bold"),
    )

    label_width = max(label_width, text_width(rows["label"], bold=True))
    columns = [text_column("label", "Study", label_width)]
    if show_histology:
        columns.append(text_column("histology_text", "Histology", max(70, text_width(rows["histology_text"]))))
    columns += [
        text_column("n_text", "n", max(30, text_width(rows["n_text"], bold=True)), align="right"),
        plot,
        text_column("ci_text", "Estimate [95% CI]", max(130, text_width(rows["ci_text"], bold=True))),
        text_column("weight_text", "Weight", 54, align="right"),
    ]
    table = alt.hconcat(*columns, spacing=10).resolve_scale(y="shared", color="shared", shape="shared")
    note = info["heterogeneity"]
    if info["k"] > info["k_shown"]:
        note += f"; {info['k_shown']} of {info['k']} studies drawn (largest weights)"
    het = (
        alt.Chart(alt.Data(values=[{"text": note}]))
        .mark_text(align="left", baseline="middle", fontSize=FOREST_FONT_SIZE - 1, fontStyle="italic")
        .encode(text="text:N", x=alt.value(0), y=alt.value(8))
        .properties(width=text_width([note], size=FOREST_FONT_SIZE - 1), height=16)
    )
    chart = alt.vconcat(table, het, spacing=4).configure_view(stroke=None).configure_axis(grid=False)
    if title:
        chart = chart.properties(title=title)
    narrow = _forest_narrow(
        rows,
        diamond,
        info,
        x_title=x_title,
        colour=colour,
        shape=shape,
        tooltip=tooltip,
        size_domain=[0, max(rows["weight"].max(), 1e-9)],
        title=title,
    )
    chart.usermeta = {NARROW_KEY: narrow.to_dict(), SOURCES_KEY: _sources(rows)}
    return chart


#: ``usermeta`` keys a chart may carry for :func:`offline_html`: the spec of its layout for a phone
#: (drawn instead of the wide one on screens up to :data:`NARROW_MAX_PX`), and the source of each
#: point (listed under the chart, so a reader reaches it by a tap, without scripts and on paper).
NARROW_KEY, SOURCES_KEY = "sr_narrow", "sr_sources"
NARROW_MAX_PX = 600
#: Width of a chart's phone layout: a 390 px phone gives the article about 358 px.
NARROW_WIDTH = 330


def _sources(rows: pd.DataFrame) -> list[list[str]]:
    """``[[label, source], ...]`` of the drawn studies that name a source."""
    if "source" not in rows.columns:
        return []
    out = rows[(rows["kind"] == "study") & rows["source"].notna()]
    from sarcoma_review.data.vocabulary import reader_words

    return [[str(a), reader_words(str(b))] for a, b in zip(out["label"], out["source"]) if str(b).strip()]


def _forest_narrow(
    rows: pd.DataFrame,
    diamond: pd.DataFrame,
    info: Mapping[str, Any],
    *,
    x_title: str,
    colour: Any,
    shape: Any,
    tooltip: list[Any],
    size_domain: list[float],
    title: str | None,
    width: int = NARROW_WIDTH,
) -> alt.LayerChart:
    """The forest plot for a phone: a vertical list, each row a line of text (study, histology,
    patients) above its whisker with the estimate and 95% CI printed at the right; text 12 px, the
    chart as wide as a phone's text column, so nothing is scaled down."""
    r = rows.copy()
    r["head"] = [lab if not n else f"{lab} (n = {n})" for lab, n in zip(r["label"], r["n_text"])]
    r["y_text"] = r["pos"] * 2.0
    r["y_mark"] = r["pos"] * 2.0 + 1.0
    n = len(r)
    ys = alt.Scale(domain=[-0.8, 2 * n - 0.2], reverse=True, nice=False, zero=False)
    plot_w = width - 132  # the estimate text takes the right-hand 132 px
    xs = alt.Scale(domain=PERCENT_DOMAIN, range=[0, plot_w], nice=False, clamp=True)
    data = alt.Data(values=_records(r))
    base = alt.Chart(data)
    y_text = alt.Y("y_text:Q", scale=ys, axis=None)
    y_mark = alt.Y("y_mark:Q", scale=ys, axis=None)
    study = "datum.kind === 'study'"
    layers = [
        base.transform_filter("datum.kind !== 'pooled'")
        .mark_text(align="left", baseline="middle", fontSize=FOREST_FONT_SIZE)
        .encode(x=alt.value(0), y=y_text, text="head:N"),
        base.transform_filter("datum.kind === 'pooled'")
        .mark_text(align="left", baseline="middle", fontSize=FOREST_FONT_SIZE, fontWeight="bold")
        .encode(x=alt.value(0), y=y_text, text="head:N"),
        base.transform_filter("datum.kind !== 'omitted'")
        .mark_text(align="right", baseline="middle", fontSize=FOREST_FONT_SIZE)
        .encode(x=alt.value(width), y=y_mark, text="ci_text:N"),
        alt.Chart(alt.Data(values=[{"estimate": float(r.loc[r["kind"] == "pooled", "estimate"].iloc[0])}]))
        .mark_rule(strokeDash=[4, 3], color="#999999")
        .encode(x=alt.X("estimate:Q", scale=xs, title=x_title)),
        base.transform_filter(study)
        .mark_rule(strokeWidth=1.5)
        .encode(x=alt.X("ci_low:Q", scale=xs, title=x_title), x2="ci_high:Q", y=y_mark, color=colour, tooltip=tooltip),
        base.transform_filter(study)
        .mark_point(filled=True, opacity=1, stroke="#222222", strokeWidth=0.5)
        .encode(
            x=alt.X("estimate:Q", scale=xs),
            y=y_mark,
            color=colour,
            shape=shape,
            tooltip=tooltip,
            size=alt.Size("weight:Q", scale=alt.Scale(domain=size_domain, range=[30, 200]), legend=None),
        ),
        base.transform_filter("datum.kind === 'pi'")
        .mark_rule(strokeWidth=4, color="#888888")
        .encode(x=alt.X("ci_low:Q", scale=xs), x2="ci_high:Q", y=y_mark),
    ]
    d = diamond.copy()
    d["y"] = [2 * diamond["y"].iloc[1] + 1 - 0.45, 2 * diamond["y"].iloc[1] + 1, 2 * diamond["y"].iloc[1] + 1 + 0.45]
    layers.append(
        alt.Chart(alt.Data(values=_records(d)))
        .mark_area(color=POOLED_COLOUR, orient="horizontal")
        .encode(y=alt.Y("y:Q", scale=ys, axis=None), x=alt.X("x:Q", scale=xs), x2="x2:Q")
    )
    plot = alt.layer(*layers).properties(width=width, height=17 * 2 * n)
    note = info["heterogeneity"].replace(", Q = ", "\nQ = ")
    if info["k"] > info["k_shown"]:
        note += f"\n{info['k_shown']} of {info['k']} studies drawn (largest weights)"
    het = (
        alt.Chart(alt.Data(values=[{"text": note}]))
        .mark_text(align="left", baseline="top", fontSize=FOREST_FONT_SIZE - 1, fontStyle="italic", lineBreak="\n")
        .encode(text="text:N", x=alt.value(0), y=alt.value(0))
        .properties(width=width, height=16 * (note.count("\n") + 1))
    )
    chart = alt.vconcat(plot, het, spacing=6).configure_view(stroke=None).configure_axis(grid=False)
    return chart.properties(title=title) if title else chart


def _cycle(values: list[Any], n: int) -> list[Any]:
    """The first ``n`` of ``values``, repeated when there are more categories than values."""
    return [values[i % len(values)] for i in range(n)]


#: Font size of the forest plot's text columns (legible at the default zoom).
FOREST_FONT_SIZE = 12


def text_width(texts: Any, size: int = FOREST_FONT_SIZE, bold: bool = False) -> int:
    """Pixels that the longest of ``texts`` needs at ``size`` px (a generous estimate for
    sans-serif: 0.62 em a character, 0.68 em bold), so a text column never cuts its text."""
    longest = max((len(str(t)) for t in texts if t is not None), default=0)
    return int(math.ceil(longest * size * (0.68 if bold else 0.62))) + 4


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------

KM_COLUMNS = ["group", "time", "survival", "ci_low", "ci_high"]
AT_RISK_COLUMNS = ["group", "time", "n_at_risk"]


def km_plot(
    km: pd.DataFrame,
    at_risk: pd.DataFrame,
    censored: pd.DataFrame | None = None,
    *,
    title: str | None = None,
    y_title: str = "Survival (%)",
    x_title: str = "Time (months)",
    max_time: float | None = None,
    width: int = 480,
    height: int = 300,
    band: bool = True,
    phone: bool = True,
) -> alt.VConcatChart:
    """Kaplan-Meier curves with a pointwise interval band, censoring ticks and numbers at risk.

    With ``phone`` (default) the chart carries its phone layout (:data:`NARROW_KEY`): the same
    plot as wide as a phone's column, its title in short lines, axes and numbers at risk at the same
    type size.

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
        Right end of the time axis (default: the largest time in ``km`` and ``at_risk``). Nothing is
        drawn beyond it: curves and bands stop there (a step still open carried to it), later
        censoring marks and numbers at risk are left out.
    band
        Draw the pointwise confidence band.

    Returns
    -------
    alt.VConcatChart
        The curves (y 0-100 %, step-after interpolation; each group its own colour and dash
        pattern) above the at-risk table; both share the time scale, and the time axis is
        ticked exactly at the ``at_risk`` times, so every number stands under its tick.
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
            raise ValueError(
                f"km column {c!r} must hold fractions between 0 and 1 (found "
                f"{vals.min()}..{vals.max()}); divide percentages by 100."
            )
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
    curves, marks = _clip_curves(curves, marks, t_max)
    risk = risk[(risk["time"] >= 0) & (risk["time"] <= t_max)]
    # The time axis is ticked exactly at the times the numbers at risk are given, so each number
    # stands under the tick it belongs to (no separate grid that would misplace it).
    tick_values = sorted({float(t) for t in risk["time"]})
    x_scale = alt.Scale(domain=[0, t_max], nice=False, zero=True)
    palette = alt.Scale(domain=groups, range=category_style(groups)[0])
    legend = (
        alt.Legend(orient="top-right", symbolStrokeWidth=2.5, symbolSize=300, symbolType="stroke")
        if len(groups) > 1
        else None
    )
    colour = alt.Color("group:N", title=None, scale=palette, legend=legend)
    dash = alt.StrokeDash(
        "group:N", title=None, scale=alt.Scale(domain=groups, range=_cycle(CATEGORY_DASHES, len(groups))), legend=legend
    )
    curve_data = alt.Data(values=_records(curves[["group", "time", "survival", "ci_low", "ci_high"]]))
    base = alt.Chart(curve_data)
    x = alt.X(
        "time:Q",
        title=x_title,
        scale=x_scale,
        axis=alt.Axis(values=tick_values, tickCount=len(tick_values), labelOverlap=False)
        if tick_values
        else alt.Undefined,
    )
    y = alt.Y("survival:Q", title=y_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False))
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        alt.Tooltip("time:Q", title="Months", format=".1f"),
        alt.Tooltip("survival:Q", title="Survival (%)", format=".1f"),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f"),
    ]
    layers = []
    if band:
        layers.append(
            base.mark_area(interpolate="step-after", opacity=0.15).encode(
                x=x,
                y=alt.Y("ci_low:Q", title=y_title, scale=alt.Scale(domain=PERCENT_DOMAIN, nice=False)),
                y2="ci_high:Q",
                color=alt.Color("group:N", scale=palette, legend=None),
            )
        )
    layers.append(
        base.mark_line(interpolate="step-after", strokeWidth=2).encode(
            x=x, y=y, color=colour, strokeDash=dash, detail="group:N"
        )
    )
    layers.append(base.mark_point(opacity=0, size=60).encode(x=x, y=y, tooltip=tooltip))
    layers.append(
        alt.Chart(alt.Data(values=_records(marks)))
        .mark_tick(orient="vertical", thickness=1.5, size=9)
        .encode(
            x=alt.X("time:Q", scale=x_scale),
            y=alt.Y("survival:Q", scale=alt.Scale(domain=PERCENT_DOMAIN)),
            color=alt.Color("group:N", scale=palette, legend=None),
            tooltip=[alt.Tooltip("group:N", title="Censored"), alt.Tooltip("time:Q", title="Months", format=".1f")],
        )
    )
    curves_chart = alt.layer(*layers).properties(width=width, height=height)
    risk_chart = (
        alt.Chart(alt.Data(values=_records(risk)), title=alt.TitleParams("Number at risk", anchor="start", fontSize=11))
        .mark_text(fontSize=11, baseline="middle")
        .encode(
            x=alt.X("time:Q", scale=x_scale, axis=None),
            y=alt.Y("group:N", title=None, sort=groups, axis=alt.Axis(ticks=False, domain=False, labelPadding=18)),
            text="n_at_risk:Q",
            color=alt.Color("group:N", scale=palette, legend=None),
        )
        .properties(width=width, height=18 * len(groups))
    )
    chart = alt.vconcat(curves_chart, risk_chart, spacing=6).resolve_scale(x="shared").configure_view(stroke=None)
    if title:
        chart = chart.properties(title=title)
    if phone and width > NARROW_WIDTH - 70:
        narrow = km_plot(
            km,
            at_risk,
            censored,
            title=None,
            y_title=y_title,
            x_title=x_title,
            max_time=max_time,
            width=NARROW_WIDTH - 70,
            height=min(height, 220),
            band=band,
            phone=False,
        )
        if title:
            narrow = narrow.properties(title=alt.TitleParams(_lines(title, 40), anchor="start"))
        chart.usermeta = {NARROW_KEY: narrow.to_dict()}
    return chart


def _clip_curves(curves: pd.DataFrame, marks: pd.DataFrame, t_max: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curves and censoring marks cut at ``t_max``: rows after it dropped, and a curve that goes on
    beyond it carried flat from its last step to ``t_max`` (so the drawing ends there, not earlier)."""
    marks = marks[marks["time"].astype(float) <= t_max]
    if not (curves["time"] > t_max).any():
        return curves, marks
    keep = [curves[curves["time"] <= t_max]]
    for _, sub in curves.groupby("group", sort=False):
        if (sub["time"] > t_max).any():
            before = sub[sub["time"] <= t_max].sort_values("time")
            if len(before):
                keep.append(before.iloc[[-1]].assign(time=t_max))
    cut = pd.concat(keep, ignore_index=True).sort_values(["group", "time"], kind="stable")
    return cut.reset_index(drop=True), marks


def _lines(text: str, width: int) -> list[str]:
    """``text`` broken between words into lines of at most ``width`` characters (a long word alone)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


# --------------------------------------------------------------------------------------------
# Cumulative meta-analysis and benchmarks
# --------------------------------------------------------------------------------------------


def cumulative_plot(
    cumulative: pd.DataFrame,
    *,
    title: str | None = None,
    x_title: str = "Pooled estimate (%)",
    scale: Literal["auto", "fraction", "percent"] = "auto",
    width: int = 360,
    row_height: int = 24,
) -> alt.LayerChart:
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
    data = alt.Data(
        values=_records(df[["row", "year", "k", "estimate", "ci_low", "ci_high", "ci_text", "n_patients", "added"]])
    )
    y = alt.Y("row:N", sort=order, title=None)
    xs = alt.Scale(domain=PERCENT_DOMAIN, nice=False, clamp=True)
    tooltip = [
        alt.Tooltip("row:N", title="Studies"),
        alt.Tooltip("ci_text:N", title="Estimate [95% CI]"),
        alt.Tooltip("n_patients:Q", title="Patients"),
        alt.Tooltip("added:N", title="Added"),
    ]
    base = alt.Chart(data)
    chart = alt.layer(
        base.mark_rule(strokeWidth=1.5, color=STUDY_COLOUR).encode(
            x=alt.X("ci_low:Q", title=x_title, scale=xs), x2="ci_high:Q", y=y, tooltip=tooltip
        ),
        base.mark_point(filled=True, size=60, color=STUDY_COLOUR).encode(
            x=alt.X("estimate:Q", scale=xs), y=y, tooltip=tooltip
        ),
    ).properties(width=width, height=row_height * len(df))
    if title:
        chart = chart.properties(title=title)
    return chart


def benchmark_plot(
    estimates: pd.DataFrame,
    benchmarks: pd.DataFrame | Mapping[str, float],
    *,
    title: str | None = None,
    x_title: str = "Estimate (%)",
    scale: Literal["auto", "fraction", "percent"] = "auto",
    width: int = 360,
    row_height: int = 28,
) -> alt.LayerChart:
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
    bench = (
        pd.DataFrame({"label": list(benchmarks.keys()), "value": list(benchmarks.values())})
        if isinstance(benchmarks, Mapping)
        else benchmarks.copy()
    )
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
    tooltip = [
        alt.Tooltip("label:N", title="Estimate"),
        alt.Tooltip("ci_text:N", title="Value [95% CI]"),
        alt.Tooltip("source:N", title="Source"),
    ]
    bench_data = alt.Data(values=_records(bench[["label", "value", "source"]]))
    bench_tip = [
        alt.Tooltip("label:N", title="Benchmark"),
        alt.Tooltip("value:Q", title="Value (%)", format=".1f"),
        alt.Tooltip("source:N", title="Source"),
    ]
    chart = alt.layer(
        alt.Chart(bench_data)
        .mark_rule(strokeDash=[5, 4], color=REFERENCE_COLOUR)
        .encode(x=alt.X("value:Q", scale=xs, title=x_title), tooltip=bench_tip),
        alt.Chart(bench_data)
        .mark_text(align="left", dx=3, dy=-4, baseline="bottom", color=REFERENCE_COLOUR, fontSize=10)
        .encode(x=alt.X("value:Q", scale=xs), y=alt.value(0), text="label:N"),
        alt.Chart(data)
        .mark_rule(strokeWidth=1.5, color=STUDY_COLOUR)
        .encode(x=alt.X("ci_low:Q", scale=xs, title=x_title), x2="ci_high:Q", y=y, tooltip=tooltip),
        alt.Chart(data)
        .mark_point(filled=True, size=70, color=STUDY_COLOUR)
        .encode(x=alt.X("estimate:Q", scale=xs), y=y, tooltip=tooltip),
    ).properties(width=width, height=row_height * len(df))
    if title:
        chart = chart.properties(title=title)
    return chart
