"""Chart specs: the layers, encodings and data values, checked against hand-made inputs."""

from __future__ import annotations

import json
import re
from html import unescape

import altair as alt
import helpers
import pandas as pd
import pytest

from sarcoma_review.pages.render import charts

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def per_study() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": ["imai2016", "mueller2010", "evil2018"],
            "label": ["Imai 2016", "Müller 2010", EVIL],
            "n_patients": [30, 12, 50],
            "estimate": [77.0, 60.0, 85.0],
            "ci_low": [60.0, 30.0, 75.0],
            "ci_high": [90.0, 85.0, 93.0],
            "weight": [30.0, 15.0, 55.0],
            "subgroup": ["carbon", "proton", "carbon"],
            "year": [2016, 2010, 2018],
            "source": ["Table I row 1", "Table I row 2", "Table I row 3"],
        }
    )


POOLED = {
    "estimate": 78.0,
    "ci_low": 70.0,
    "ci_high": 85.0,
    "pi_low": 50.0,
    "pi_high": 93.0,
    "tau2": 0.0123,
    "i2": 45.0,
    "q": 3.6,
    "q_p": 0.165,
    "k": 3,
    "n_patients": 92,
    "model": "random-effects",
}


def walk(node):
    """Every dict inside a spec."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def units(spec: dict) -> list[dict]:
    """Unit specs (those with a mark), each given the data it inherits from its parents."""
    found: list[dict] = []

    def visit(node, data):
        if isinstance(node, dict):
            data = node.get("data", data)
            if "mark" in node:
                found.append({**node, "data": data} if data is not None else node)
            for k, v in node.items():
                if k != "usermeta":  # the phone layout a chart carries is checked on its own
                    visit(v, data)
        elif isinstance(node, list):
            for v in node:
                visit(v, data)

    visit(spec, None)
    return found


def mark_type(unit: dict) -> str:
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]


def inline_values(unit: dict, spec: dict) -> list[dict]:
    data = unit.get("data", {})
    if "values" in data:
        return data["values"]
    return spec["datasets"][data["name"]]


# ----------------------------------------------------------------------------- forest plot


def test_forest_rows_order_text_and_diamond() -> None:
    rows, diamond, info = charts.forest_rows(per_study(), POOLED)
    # sorted by year: 2010, 2016, 2018, then the pooled row and the prediction interval
    assert list(rows["kind"]) == ["study", "study", "study", "pooled", "pi"]
    assert list(rows["label"][:3]) == ["Müller 2010", "Imai 2016", EVIL]
    assert list(rows["pos"]) == [0, 1, 2, 3, 4]
    assert rows.loc[1, "ci_text"] == "77.0 [60.0, 90.0]"
    assert rows.loc[3, "ci_text"] == "78.0 [70.0, 85.0]"
    assert rows.loc[4, "ci_text"] == "[50.0, 93.0]"
    assert list(rows["n_text"]) == ["12", "30", "50", "92", ""]
    assert list(rows["weight_text"]) == ["15.0%", "30.0%", "55.0%", "100%", ""]
    # diamond: tips at the pooled estimate, widest at the CI, centred on the pooled row (pos 3)
    assert diamond.to_dict("list") == {"y": [2.6, 3.0, 3.4], "x": [78.0, 70.0, 78.0], "x2": [78.0, 85.0, 78.0]}
    # tau2 to 4 significant digits, I2 as given (percent), df = k - 1, p to 3 decimals
    assert info["heterogeneity"] == "Heterogeneity: τ² = 0.0123, I² = 45.0%, Q = 3.60 (df = 2), p = 0.165"


def test_forest_fractions_are_converted_to_percent() -> None:
    df = per_study()
    for c in ("estimate", "ci_low", "ci_high"):
        df[c] = df[c] / 100
    pooled = {**POOLED, **{k: POOLED[k] / 100 for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}}
    rows, diamond, _ = charts.forest_rows(df, pooled)
    assert rows.loc[1, "ci_text"] == "77.0 [60.0, 90.0]"
    assert diamond["x2"].tolist() == pytest.approx([78.0, 85.0, 78.0])
    # explicit percent keeps 0-1 values as they are
    rows_pct, _, _ = charts.forest_rows(df, pooled, scale="percent")
    assert rows_pct.loc[1, "estimate"] == pytest.approx(0.77)


def test_forest_spec_layers_and_encodings() -> None:
    spec = charts.forest_plot(per_study(), POOLED).to_dict()
    marks = [mark_type(u) for u in units(spec)]
    assert marks.count("area") == 1
    square = next(u for u in units(spec) if mark_type(u) == "point" and "size" in u["encoding"])
    enc = square["encoding"]
    assert enc["size"]["field"] == "weight"
    # two subgroups -> told apart by an Okabe-Ito colour AND a marker shape: carbon has its registry
    # mark; "proton" (not a registry value) takes a colour and a shape that carbon does not have
    assert enc["color"]["field"] == "subgroup" and enc["shape"]["field"] == "subgroup"
    domain = enc["color"]["scale"]["domain"]
    assert sorted(domain) == ["carbon", "proton"] and enc["shape"]["scale"]["domain"] == domain
    i = domain.index("carbon")
    assert enc["color"]["scale"]["range"][i] == "#0072B2" and enc["shape"]["scale"]["range"][i] == "circle"
    assert set(enc["color"]["scale"]["range"]) <= set(charts.CATEGORY_COLOURS)
    assert len(set(enc["shape"]["scale"]["range"])) == 2 and len(set(enc["color"]["scale"]["range"])) == 2
    assert enc["x"]["scale"]["domain"] == [0, 100]
    assert {t["field"] for t in enc["tooltip"]} >= {
        "label",
        "n_patients",
        "estimate",
        "ci_low",
        "ci_high",
        "weight",
        "year",
        "source",
    }
    area = next(u for u in units(spec) if mark_type(u) == "area")
    verts = inline_values(area, spec)
    assert verts == [
        {"y": 2.6, "x": 78.0, "x2": 78.0},
        {"y": 3.0, "x": 70.0, "x2": 85.0},
        {"y": 3.4, "x": 78.0, "x2": 78.0},
    ]
    assert area["encoding"]["x2"]["field"] == "x2"
    whisker = next(
        u
        for u in units(spec)
        if mark_type(u) == "rule"
        and u["encoding"].get("x2", {}).get("field") == "ci_high"
        and "color" in u["encoding"]
        and u["encoding"]["color"].get("field") == "subgroup"
    )
    assert whisker["encoding"]["x"]["field"] == "ci_low"
    pi = next(u for u in units(spec) if u.get("transform") == [{"filter": "datum.kind === 'pi'"}])
    assert mark_type(pi) == "rule"
    het = [v for u in units(spec) if mark_type(u) == "text" for v in inline_values(u, spec) if "text" in v]
    assert het == [{"text": "Heterogeneity: τ² = 0.0123, I² = 45.0%, Q = 3.60 (df = 2), p = 0.165"}]
    # the table's text columns are fields of the shared row data
    text_fields = {
        u["encoding"]["text"]["field"]
        for u in units(spec)
        if mark_type(u) == "text" and "field" in u["encoding"].get("text", {})
    }
    assert {"label", "n_text", "ci_text", "weight_text"} <= text_fields


def test_forest_single_subgroup_uses_one_colour() -> None:
    df = per_study().drop(columns="subgroup")
    spec = charts.forest_plot(df, POOLED).to_dict()
    square = next(u for u in units(spec) if mark_type(u) == "point" and "size" in u["encoding"])
    assert square["encoding"]["color"] == {"value": charts.STUDY_COLOUR}
    assert square["encoding"]["shape"] == {"value": "square"}


def test_forest_large_k_draws_top_weights_and_notes_the_rest() -> None:
    k = 80
    df = pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(k)],
            "label": [f"Author{i} {2000 + i % 20}" for i in range(k)],
            "n_patients": [10 + i for i in range(k)],
            "estimate": [50.0] * k,
            "ci_low": [40.0] * k,
            "ci_high": [60.0] * k,
            "weight": [float(i + 1) for i in range(k)],
            "year": [2000 + i % 20 for i in range(k)],
            "source": ["x"] * k,
        }
    )
    total = df["weight"].sum()
    df["weight"] = df["weight"] / total * 100
    rows, _, info = charts.forest_rows(df, {**POOLED, "k": k}, max_studies=60)
    shown = rows[rows["kind"] == "study"]
    assert len(shown) == 60 and info["k_shown"] == 60 and info["k"] == k
    # the 20 smallest weights are those of s0..s19 (weights 1..20 of 3240): 210/3240 = 6.48%
    assert set(shown["study_id"]) == {f"s{i}" for i in range(20, 80)}
    assert info["omitted_weight"] == pytest.approx(210 / total * 100)
    note = rows[rows["kind"] == "omitted"]["label"].item()
    assert note == "… 20 smaller studies not shown (weight 6.5%)"
    spec_text = json.dumps(charts.forest_plot(df, {**POOLED, "k": k}, max_studies=60).to_dict())
    assert "Author5 2005" not in spec_text  # omitted studies are not embedded in the page


def test_forest_rejects_missing_columns_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['weight'\]"):
        charts.forest_plot(per_study().drop(columns="weight"), POOLED)
    with pytest.raises(ValueError, match="pooled needs values"):
        charts.forest_plot(per_study(), {"estimate": 1.0})


# ----------------------------------------------------------------------------- Kaplan-Meier


def km_inputs():
    km = pd.DataFrame(
        {
            "group": ["A"] * 4 + ["B"] * 3,
            "time": [0, 5, 10, 20, 0, 8, 15],
            "survival": [1, 0.9, 0.7, 0.7, 1, 0.8, 0.5],
            "ci_low": [1, 0.8, 0.55, 0.55, 1, 0.6, 0.3],
            "ci_high": [1, 0.97, 0.85, 0.85, 1, 0.95, 0.7],
        }
    )
    at_risk = pd.DataFrame(
        {"group": ["A", "A", "A", "B", "B", "B"], "time": [0, 10, 20, 0, 10, 20], "n_at_risk": [10, 7, 3, 8, 5, 1]}
    )
    censored = pd.DataFrame({"group": ["A", "B"], "time": [12, 17], "survival": [0.7, 0.5]})
    return km, at_risk, censored


def test_km_spec() -> None:
    km, at_risk, censored = km_inputs()
    spec = charts.km_plot(km, at_risk, censored).to_dict()
    us = units(spec)
    line = next(u for u in us if mark_type(u) == "line")
    assert line["mark"]["interpolate"] == "step-after"
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 100]
    band = next(u for u in us if mark_type(u) == "area")
    assert band["mark"]["interpolate"] == "step-after"
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("ci_low", "ci_high")
    curve = inline_values(line, spec)
    # survival in percent; group B carried flat from its last event (15 mo, 50%) to its censoring at 17 mo
    b = [(r["time"], r["survival"]) for r in curve if r["group"] == "B"]
    assert b == [(0, 100.0), (8, 80.0), (15, 50.0), (17.0, 50.0)]
    ticks = next(u for u in us if mark_type(u) == "tick")
    assert [(r["group"], r["time"], r["survival"]) for r in inline_values(ticks, spec)] == [
        ("A", 12, 70.0),
        ("B", 17, 50.0),
    ]
    risk = next(u for u in us if mark_type(u) == "text")
    assert risk["encoding"]["text"]["field"] == "n_at_risk"
    assert inline_values(risk, spec) == at_risk.to_dict("records")
    assert spec["resolve"]["scale"]["x"] == "shared"


def test_km_censored_flag_column_and_percent_error() -> None:
    km, at_risk, _ = km_inputs()
    km["censored"] = [False, False, True, False, False, False, False]
    spec = charts.km_plot(km, at_risk).to_dict()
    ticks = next(u for u in units(spec) if mark_type(u) == "tick")
    assert [(r["group"], r["time"]) for r in inline_values(ticks, spec)] == [("A", 10)]
    km2, _, _ = km_inputs()
    km2["survival"] = km2["survival"] * 100
    with pytest.raises(ValueError, match="fractions between 0 and 1"):
        charts.km_plot(km2, at_risk)


def test_km_max_time_draws_nothing_beyond_it() -> None:
    """A curve, its band, its censoring marks and its numbers at risk stop at ``max_time`` (#19 item 7):
    with max_time 12, group A (steps at 0, 5, 10, 20) ends carried flat from its 10-month step
    (70%, band 55-85%) to 12; B (steps at 0, 8, 15) from its 8-month step (80%) to 12; the censoring
    marks at 12 (A) stay and 17 (B) goes; the numbers at risk at 20 go."""
    km, at_risk, censored = km_inputs()
    spec = charts.km_plot(km, at_risk, censored, max_time=12).to_dict()
    us = units(spec)
    for mark in ("line", "area"):
        rows = inline_values(next(u for u in us if mark_type(u) == mark), spec)
        assert max(r["time"] for r in rows) == 12
        # fractions times 100 in floating point: 0.55 * 100 = 55.00000000000001, hence the rounding
        a = [
            (r["time"], round(r["survival"], 9), round(r["ci_low"], 9), round(r["ci_high"], 9))
            for r in rows
            if r["group"] == "A"
        ]
        assert a == [(0, 100.0, 100.0, 100.0), (5, 90.0, 80.0, 97.0), (10, 70.0, 55.0, 85.0), (12, 70.0, 55.0, 85.0)]
        b = [(r["time"], round(r["survival"], 9)) for r in rows if r["group"] == "B"]
        assert b == [(0, 100.0), (8, 80.0), (12, 80.0)]
    ticks = next(u for u in us if mark_type(u) == "tick")
    assert [(r["group"], r["time"]) for r in inline_values(ticks, spec)] == [("A", 12)]
    risk = next(u for u in us if mark_type(u) == "text")
    assert sorted({r["time"] for r in inline_values(risk, spec)}) == [0, 10]
    # without max_time nothing is cut (the curves reach 20 months)
    whole = charts.km_plot(km, at_risk, censored).to_dict()
    line = next(u for u in units(whole) if mark_type(u) == "line")
    assert max(r["time"] for r in inline_values(line, whole)) == 20


# ----------------------------------------------------------------------------- other charts


def test_cumulative_plot_rows() -> None:
    cum = pd.DataFrame(
        {
            "year": [2016, 2010, 2018],
            "estimate": [0.7, 0.6, 0.78],
            "ci_low": [0.55, 0.3, 0.7],
            "ci_high": [0.85, 0.85, 0.85],
            "k": [2, 1, 3],
        }
    )
    spec = charts.cumulative_plot(cum).to_dict()
    point = next(u for u in units(spec) if mark_type(u) == "point")
    assert point["encoding"]["y"]["sort"] == ["up to 2010 (k = 1)", "up to 2016 (k = 2)", "up to 2018 (k = 3)"]
    vals = inline_values(point, spec)
    assert [v["ci_text"] for v in vals] == ["60.0 [30.0, 85.0]", "70.0 [55.0, 85.0]", "78.0 [70.0, 85.0]"]


def test_benchmark_plot() -> None:
    est = pd.DataFrame({"label": ["Carbon ions, pooled"], "estimate": [78.0], "ci_low": [70.0], "ci_high": [85.0]})
    spec = charts.benchmark_plot(est, {"Photon RT": 50.0}).to_dict()
    rule = next(u for u in units(spec) if mark_type(u) == "rule" and u["encoding"]["x"]["field"] == "value")
    assert inline_values(rule, spec) == [{"label": "Photon RT", "value": 50.0, "source": None}]
    pt = next(u for u in units(spec) if mark_type(u) == "point")
    assert inline_values(pt, spec)[0]["ci_text"] == "78.0 [70.0, 85.0]"


# ----------------------------------------------------------------------------- offline HTML


def test_offline_html_uses_global_vegaembed_and_no_cdn() -> None:
    html = charts.offline_html(charts.km_plot(*km_inputs()).to_dict(), div_id="c1")
    assert '<div class="sr-vega-chart" id="c1"></div>' in html
    assert "window.vegaEmbed(el, spec, opts)" in html
    no_ns = (
        html.replace("https://vega.github.io/schema", "")
        .replace('xmlns="http://www.w3.org/2000/svg"', "")
        .replace('xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    )
    assert "src=" not in html and "cdn" not in html.lower() and "http" not in no_ns


def test_offline_html_cannot_be_broken_out_of() -> None:
    spec = {
        "title": EVIL,
        "data": {"values": [{"a": "</script><!--"}]},
        "mark": "text",
        "encoding": {"text": {"field": "a", "type": "nominal"}},
    }
    html = charts.offline_html(spec, div_id="c2")
    static, script = html.split("<script", 1)
    # the static SVG shows the hostile text as escaped text, never as markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in static and "&lt;/script&gt;&lt;!--" in static
    # the only closing tag is the element's own; no "<" of the data reaches the HTML parser
    assert script.count("</script>") == 1 and "<img" not in html and "<!--" not in html
    spec_json = re.search(r"var spec = (.*);\n", html).group(1)
    assert json.loads(spec_json)["title"] == EVIL  # the value itself is unchanged


def test_enable_offline_renderer_mimebundle() -> None:
    before = alt.renderers.active
    try:
        charts.enable_offline()
        charts.enable_offline()  # idempotent
        assert alt.renderers.active == charts.RENDERER_NAME
        chart = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")
        bundle = alt.renderers.get()(chart.to_dict())
        assert 'class="sr-vega-chart"' in bundle["text/html"]
        # only types myst-nb knows (the book builds with warnings as errors)
        assert set(bundle) == {"text/html", "text/plain"}
    finally:
        alt.renderers.enable(before)


# ----------------------------------------------------------------------------- reading: palette, labels, static charts


def test_book_spec_lifts_every_label_limit_and_sets_the_okabe_ito_palette() -> None:
    chart = (
        alt.Chart(pd.DataFrame({"y": ["a" * 80], "x": [1]}))
        .mark_text(limit=50)
        .encode(x="x:Q", y=alt.Y("y:N", axis=alt.Axis(labelLimit=120)), text="y:N")
    )
    spec = charts.book_spec(chart.to_dict())
    limits = [d["labelLimit"] for d in walk(spec) if "labelLimit" in d]
    assert limits and all(v == 0 for v in limits)  # 0 = no limit in Vega
    assert not [d for d in walk(spec) if d.get("type") == "text" and "limit" in d]
    assert spec["config"]["range"]["category"] == charts.CATEGORY_COLOURS
    # Okabe & Ito's eight colours, each once
    assert {c.upper() for c in charts.CATEGORY_COLOURS} == {
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
        "#000000",
    }


def test_static_svg_draws_every_label_whole_and_escaped() -> None:
    long_label = "recomputed from Table 3 of the paper, patient by patient"
    df = per_study()
    df.loc[0, "label"] = long_label
    html = charts.offline_html(charts.forest_plot(df, POOLED).to_dict(), div_id="f1")
    static = html.split('<div class="sr-vega-chart"', 1)[0]
    assert '<div class="sr-vega-static" id="f1-static"><svg' in static
    texts = [unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", static)]
    assert long_label in texts and "Müller 2010" in texts and EVIL in texts
    assert not [t for t in texts if "…" in t]  # nothing cut short
    assert "<script>" not in static and "<img" not in static


def test_static_svg_ids_do_not_clash_between_charts() -> None:
    spec = charts.forest_plot(per_study(), POOLED).to_dict()
    a, b = charts.static_svg(spec, "one"), charts.static_svg(spec, "two")
    ids_a, ids_b = set(re.findall(r'id="([^"]+)"', a)), set(re.findall(r'id="([^"]+)"', b))
    assert all(i.startswith("one-") for i in ids_a) and not ids_a & ids_b
    for ref in re.findall(r"url\(#([^)]+)\)", a):
        assert ref in ids_a  # every reference points at an id of its own chart


def test_static_svg_memo_returns_what_vl_convert_draws_and_redraws_a_changed_chart(tmp_path, monkeypatch) -> None:
    """The build memoises static SVGs by the whole spec: a memoised picture is byte-identical to a
    fresh one; a chart whose data changed by one value gets a new picture, never the old one."""
    spec = charts.book_spec(charts.forest_plot(per_study(), POOLED).to_dict())
    fresh = charts.static_svg(spec, "c")  # no memo folder set: drawn now
    helpers.set_context(monkeypatch, cache_dir=tmp_path)
    first = charts.static_svg(spec, "c")
    assert len(list((tmp_path / "svg").glob("*.svg"))) == 1
    assert charts.static_svg(spec, "c") == first == fresh
    changed = per_study()
    changed.loc[0, "estimate"] = float(changed.loc[0, "estimate"]) + 1.0
    changed_spec = charts.book_spec(charts.forest_plot(changed, POOLED).to_dict())
    helpers.set_context(monkeypatch, cache_dir=None)
    expected = charts.static_svg(changed_spec, "c")
    helpers.set_context(monkeypatch, cache_dir=tmp_path)
    assert charts.static_svg(changed_spec, "c") == expected != first
    assert len(list((tmp_path / "svg").glob("*.svg"))) == 2


def test_vl_convert_bundles_the_vendored_vega_and_vega_lite() -> None:
    """The static charts are compiled by the same Vega and Vega-Lite versions as the page draws
    with: vl-convert's Vega equals book/_static/vendor/VERSIONS.json, and the Vega-Lite bundle it
    uses for our specs declares the vendored version string."""
    import vl_convert

    from sarcoma_review.paths import REPO_ROOT

    vendored = json.loads((REPO_ROOT / "book" / "_static" / "vendor" / "VERSIONS.json").read_text())
    assert vl_convert.get_vega_version() == vendored["vega"]
    spec = charts.km_plot(*km_inputs()).to_dict()
    version = charts._vl_version(spec)
    assert version == ".".join(vendored["vega-lite"].split(".")[:2])
    assert f'"{vendored["vega-lite"]}"' in vl_convert.javascript_bundle(vl_version=version)


def test_km_axis_ticks_are_the_at_risk_times() -> None:
    km, _, censored = km_inputs()
    # numbers at risk every 12 months (hand-made): the axis must be ticked at 0, 12, 24 and nowhere else
    at_risk = pd.DataFrame(
        {"group": ["A", "A", "A", "B", "B", "B"], "time": [0, 12, 24, 0, 12, 24], "n_at_risk": [10, 6, 2, 8, 4, 1]}
    )
    spec = charts.km_plot(km, at_risk, censored, max_time=30).to_dict()
    axes = [d["axis"] for d in walk(spec) if isinstance(d.get("axis"), dict) and "values" in d["axis"]]
    assert axes and all(a["values"] == [0.0, 12.0, 24.0] for a in axes)
    risk = next(u for u in units(spec) if mark_type(u) == "text")
    assert sorted({r["time"] for r in inline_values(risk, spec)}) == [0, 12, 24]
    # groups are told apart by dash pattern as well as colour
    line = next(u for u in units(spec) if mark_type(u) == "line")
    assert line["encoding"]["strokeDash"]["field"] == "group"


def test_km_drawn_axis_labels_every_at_risk_time() -> None:
    """Drawn, not just specified: Vega thins explicit tick values to its tick count (width / 40)
    unless told otherwise, which put "6 at risk" under an unlabelled tick. Twelve yearly times
    on a narrow plot must all be labelled, at the x positions of their numbers at risk."""
    km, _, censored = km_inputs()
    times = list(range(0, 133, 12))
    at_risk = pd.DataFrame({"group": "A", "time": times, "n_at_risk": list(range(len(times), 0, -1))})
    svg = charts.static_svg(charts.book_spec(charts.km_plot(km, at_risk, censored, width=300).to_dict()), "k")
    labels = re.findall(r'role-axis-label"[^>]*>(.*?)</g>', svg)
    x_labels = [re.findall(r"translate\(([-\d.]+),[-\d.]+\)[^>]*>([^<]*)</text>", g) for g in labels]
    x_axis = next(g for g in x_labels if [t for _, t in g][:2] == ["0", "12"])
    assert [t for _, t in x_axis] == [str(t) for t in times]
    # the numbers at risk are drawn at the same x positions (0 .. width)
    xs = [float(x) for x, _ in x_axis]
    assert xs == pytest.approx([t / 132 * 300 for t in times], abs=0.5)


def test_forest_shows_histology_when_the_frame_has_it() -> None:
    df = per_study().assign(histology=["chordoma", "chondrosarcoma", None])
    spec = charts.forest_plot(df, POOLED).to_dict()
    fields = {
        u["encoding"]["text"]["field"]
        for u in units(spec)
        if mark_type(u) == "text" and "field" in u["encoding"].get("text", {})
    }
    assert "histology_text" in fields
    values = inline_values(
        next(
            u for u in units(spec) if mark_type(u) == "text" and u["encoding"]["text"].get("field") == "histology_text"
        ),
        spec,
    )
    assert {v["histology_text"] for v in values if v["kind"] == "study"} == {"chordoma", "chondrosarcoma", ""}
    plain = charts.forest_plot(per_study(), POOLED).to_dict()
    assert "histology_text" not in {u["encoding"]["text"].get("field") for u in units(plain) if mark_type(u) == "text"}


def test_forest_text_columns_are_never_cut() -> None:
    df = per_study()
    df.loc[1, "label"] = "A very long first-author name et al. 2010 (update)"
    spec = charts.forest_plot(df, POOLED).to_dict()
    for u in units(spec):
        if mark_type(u) == "text":
            assert "limit" not in u["mark"]
    label_col = next(d for d in walk(spec) if isinstance(d.get("title"), dict) and d["title"].get("text") == "Study")
    assert label_col["width"] >= charts.text_width([df.loc[1, "label"]], bold=True)


def test_chart_ids_are_deterministic_and_unique_on_a_page(monkeypatch) -> None:
    """Same spec -> same id (pages built twice compare byte for byte); a repeat on one page gets -2."""
    import hashlib
    import json as _json

    monkeypatch.setattr(charts, "_CHART_COUNTS", {})
    spec = charts.km_plot(*km_inputs()).to_dict()
    first, second = charts.chart_id(spec), charts.chart_id(spec)
    digest = hashlib.sha256(
        _json.dumps([spec, {}], sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:12]
    assert (first, second) == (f"sr-chart-{digest}", f"sr-chart-{digest}-2")
    assert charts.chart_id({"mark": "point"}) != first
    monkeypatch.setattr(charts, "_CHART_COUNTS", {})  # a new page (process) starts counting again
    assert charts.chart_id(spec) == first
    assert f'id="{first}"' in charts.offline_html({"mark": "bar"}, div_id=first)


def test_one_visual_registry_carbon_looks_the_same_in_every_chart() -> None:
    """A category keeps its colour and shape whatever the other categories of the chart and their
    order (the 5-year and the 3-year forest plots used to draw carbon differently)."""

    def marks(subgroups):
        df = per_study().assign(subgroup=subgroups)
        spec = charts.forest_plot(df, POOLED).to_dict()
        enc = next(u for u in units(spec) if mark_type(u) == "point" and "size" in u["encoding"])["encoding"]
        return dict(
            zip(enc["color"]["scale"]["domain"], zip(enc["color"]["scale"]["range"], enc["shape"]["scale"]["range"]))
        )

    a = marks(["carbon", "mixed", "carbon"])
    b = marks(["proton-based", "carbon", "mixed"])
    assert a["carbon"] == b["carbon"] == ("#0072B2", "circle")
    assert a["mixed"] == b["mixed"]


def test_registry_marks_are_distinct() -> None:
    styles = list(charts.CATEGORY_STYLE.values())
    assert len(set(styles)) == len(styles), "two categories share a colour and a shape"
    kinds = [
        ["carbon", "proton-based", "mixed"],
        ["chordoma", "other"],
        ["particle therapy", "photon rt", "radiochemotherapy", "radiotherapy with radiosensitiser"],
        ["high", "moderate", "low", "very low"],
    ]
    for kind in kinds:
        colours = [charts.CATEGORY_STYLE[k][0] for k in kind]
        shapes = [charts.CATEGORY_STYLE[k][1] for k in kind]
        assert len(set(colours)) == len(kind) and len(set(shapes)) == len(kind), kind
    # categories the registry does not know get marks no other category of the chart has
    colours, shapes = charts.category_style(["carbon", "x", "y", "Chordoma", "z"])
    assert len(set(zip(colours, shapes))) == 5 and len(set(colours)) == 5 and len(set(shapes)) == 5
    assert (colours[3], shapes[3]) == charts.CATEGORY_STYLE["chordoma"]


def test_forest_plot_carries_a_phone_layout_and_the_source_of_each_point() -> None:
    """The phone layout is a list as wide as a phone's text column, every text 12 px or more; the
    page draws it on a phone and lists each point's source under the chart (a tap, no hover)."""
    chart = charts.forest_plot(per_study(), POOLED)
    meta = chart.to_dict()["usermeta"]
    narrow = meta[charts.NARROW_KEY]
    texts = [u for u in units(narrow) if mark_type(u) == "text"]
    assert texts and all(u["mark"].get("fontSize", 12) >= 11 for u in texts)
    widths = [u.get("width") for u in narrow["vconcat"] if "width" in u]
    assert widths and max(widths) <= 358
    assert sorted(meta[charts.SOURCES_KEY]) == sorted(
        [lab, src] for lab, src in zip(per_study()["label"], per_study()["source"])
    )
    html = charts.offline_html(chart.to_dict(), div_id="f9", static=False)
    assert 'class="sr-chart sr-wide"' in html and 'class="sr-chart sr-narrow"' in html
    assert '<details class="sr-sources">' in html and "usermeta" not in html.split('id="f9-narrow"')[0]


def test_km_plot_carries_a_phone_layout_with_its_title_in_short_lines() -> None:
    km = pd.DataFrame(
        {
            "group": "all",
            "time": [0.0, 12.0, 24.0],
            "survival": [1.0, 0.8, 0.6],
            "ci_low": [1.0, 0.7, 0.5],
            "ci_high": [1.0, 0.9, 0.7],
        }
    )
    risk = pd.DataFrame({"group": "all", "time": [0, 12, 24], "n_at_risk": [20, 15, 9]})
    title = "Local control: reconstructed pseudo-data, not the paper's data"
    spec = charts.km_plot(km, risk, title=title).to_dict()
    narrow = spec["usermeta"][charts.NARROW_KEY]
    assert all(u.get("width", 0) <= charts.NARROW_WIDTH for u in narrow["vconcat"])
    assert " ".join(narrow["title"]["text"]) == title and all(len(x) <= 40 for x in narrow["title"]["text"])
    assert "usermeta" not in narrow  # the phone layout has no phone layout of its own
    texts = [u for u in units(narrow) if mark_type(u) == "text"]
    assert texts and all(u["mark"].get("fontSize", 11) >= 11 for u in texts)
