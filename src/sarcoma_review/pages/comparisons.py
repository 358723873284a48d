"""Comparisons for the book: subgroups of the literature series, and particle therapy against the
photon and radiochemotherapy figures the sources cite.

Every function returns tidy tables; the statistics are those of :mod:`sarcoma_review.stats.pooling` and
:mod:`sarcoma_review.stats.moderators` (validated against metafor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sarcoma_review.data.vocabulary import landmark_name
from sarcoma_review.pages.render import charts
from sarcoma_review.stats import moderators, pooling, survival
from sarcoma_review.stats.sensitivity import landmark_rows

#: The landmarks Table I reports (endpoint, horizon in years).
MAIN_LANDMARKS: list[tuple[str, float]] = [("LC", 5.0), ("OS", 5.0), ("LC", 3.0), ("OS", 3.0)]


def subgroup_estimates(lit: pd.DataFrame, column: str,
                       landmarks: list[tuple[str, float]] = MAIN_LANDMARKS) -> pd.DataFrame:
    """Pooled rate per value of ``column`` at each landmark (a one-study subgroup is that study)."""
    parts = []
    for ep, hz in landmarks:
        d = landmark_rows(lit, ep, hz)
        if d.empty:
            continue
        r = pooling.pool(d, method="REML", ci="HKSJ", subgroup=column)
        r["landmark"] = landmark_name(ep, hz)
        parts.append(r)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def subgroup_tests(lit: pd.DataFrame, column: str,
                   landmarks: list[tuple[str, float]] = MAIN_LANDMARKS) -> pd.DataFrame:
    """Mixed-effects moderator test (common τ², Knapp–Hartung F) and between-subgroup Q test.

    A landmark where the column has a single value, or too few studies to estimate the moderator,
    gets a row whose ``note`` says why and NaN statistics (never a silent omission).
    """
    rows = []
    for ep, hz in landmarks:
        d = landmark_rows(lit, ep, hz)
        groups = d[column].nunique()
        row = {"landmark": landmark_name(ep, hz), "endpoint": ep, "horizon_years": hz, "k": len(d),
               "groups": groups, "f": np.nan, "df1": np.nan, "df2": np.nan, "p_moderator": np.nan,
               "q_between": np.nan, "q_df": np.nan, "p_between": np.nan, "note": ""}
        if groups < 2:
            row["note"] = f"all {len(d)} series are in one {column} group"
        elif len(d) <= groups:
            row["note"] = f"{len(d)} series cannot estimate {groups} group means and τ²"
        else:
            summary, _ = moderators.moderator_test(d, column, method="REML", ci="HKSJ")
            row.update(f=summary["statistic"], df1=summary["df1"], df2=summary["df2"], p_moderator=summary["p"])
            q, _ = moderators.subgroup_q_test(d, column, method="REML")
            row.update(q_between=q["q"], q_df=q["df"], p_between=q["p"])
        rows.append(row)
    return pd.DataFrame(rows)


def year_regressions(lit: pd.DataFrame, landmarks: list[tuple[str, float]] = MAIN_LANDMARKS) -> pd.DataFrame:
    """Meta-regression of the logit rate on publication year (Knapp–Hartung F) per landmark."""
    rows = []
    for ep, hz in landmarks:
        d = landmark_rows(lit, ep, hz)
        if len(d) < 3:
            rows.append({"landmark": landmark_name(ep, hz), "k": len(d), "note": "fewer than 3 series: no regression"})
            continue
        summary, coefs = moderators.meta_regression(d, "year", method="REML", ci="HKSJ")
        slope = coefs.iloc[1]
        rows.append({"landmark": landmark_name(ep, hz), "k": len(d), "slope_per_year": float(slope["estimate"]),
                     "slope_ci_low": float(slope["ci_low"]), "slope_ci_high": float(slope["ci_high"]),
                     "f": summary["statistic"], "df1": summary["df1"], "df2": summary["df2"], "p": summary["p"],
                     "note": ""})
    return pd.DataFrame(rows)


def benchmarks(comparators: pd.DataFrame, ifosfamide_reported: pd.DataFrame | None = None,
               ifosfamide_patients: pd.DataFrame | None = None) -> pd.DataFrame:
    """The comparator rates a pooled particle estimate can be set against.

    Rows: every comparator with an LC or OS rate at a stated horizon, plus the ifosfamide series'
    reported 5-year LC and OS and (from its patient table) the Kaplan–Meier recomputation. Columns:
    label, modality, endpoint, horizon_years, rate_percent, rate_ci_low, rate_ci_high (the
    comparator's own 95% CI where the data allow one: the recomputed rows; else NaN), source.
    """
    c = comparators[comparators["endpoint"].isin(["LC", "OS"]) & comparators["horizon_years"].notna()
                    & comparators["rate_percent"].notna()]
    rows = [{"label": f"{r.study}, {r.group}", "modality": r.modality, "endpoint": r.endpoint,
             "horizon_years": float(r.horizon_years), "rate_percent": float(r.rate_percent),
             "source": r.comparator_id} for r in c.itertuples()]
    if ifosfamide_reported is not None:
        rep = ifosfamide_reported[(ifosfamide_reported["quantity"] == "km_rate")
                                  & ifosfamide_reported["endpoint"].isin(["LC", "OS"])
                                  & ifosfamide_reported["horizon_years"].notna()]
        rep = rep.drop_duplicates(["endpoint", "horizon_years", "value"])
        for r in rep.itertuples():
            if float(r.horizon_years) == 5.0:
                rows.append({"label": "Ifosfamide radiochemotherapy (Eckert 2010), as reported", "modality": "radiochemotherapy",
                             "endpoint": r.endpoint, "horizon_years": 5.0, "rate_percent": float(r.value),
                             "source": r.estimate_id})
    if ifosfamide_patients is not None:
        p = ifosfamide_patients
        for ep, t, e in (("LC", p["lc_months"], p["local_failure"]), ("OS", p["os_months"], p["death"])):
            lm = survival.landmarks(t, e, [60.0])
            rows.append({"label": "Ifosfamide radiochemotherapy (Eckert 2010), recomputed from Table 3", "modality": "radiochemotherapy",
                         "endpoint": ep, "horizon_years": 5.0, "rate_percent": 100 * float(lm["surv"].iat[0]),
                         "rate_ci_low": 100 * float(lm["ci_low"].iat[0]), "rate_ci_high": 100 * float(lm["ci_high"].iat[0]),
                         "source": "ifosfamide/patients.csv (Kaplan-Meier at 60 months)"})
    out = pd.DataFrame(rows)
    for col in ("rate_ci_low", "rate_ci_high"):
        if col not in out.columns:
            out[col] = np.nan
    return out


def benchmark_panel(lit: pd.DataFrame, bench: pd.DataFrame) -> pd.DataFrame:
    """Pooled particle therapy against each benchmark at the same endpoint and horizon.

    One row per benchmark: pooled estimate and CI, the difference in percentage points with its
    interval, the probability that a new particle series exceeds the benchmark (predictive
    distribution of the true rate of a new series), whether the pooled CI excludes the benchmark,
    and the benchmark's own 95% CI where known (not part of the difference interval). Benchmarks
    that cannot be compared are listed with the reason in ``attrs["skipped"]`` as (label, why).
    """
    rows, skipped = [], []
    for b in bench.itertuples():
        d = landmark_rows(lit, b.endpoint, b.horizon_years)
        if len(d) < 2:
            skipped.append((b.label, f"fewer than 2 particle series report {landmark_name(b.endpoint, b.horizon_years)}"))
            continue
        if not 0 < b.rate_percent < 100:
            skipped.append((b.label, f"a rate of {b.rate_percent:g}% has no logit to compare on"))
            continue
        r = moderators.benchmark_comparison(d, b.rate_percent, method="REML", ci="HKSJ", benchmark_label=b.label)
        r = r.iloc[0].to_dict()
        r.update(label=b.label, modality=b.modality, landmark=landmark_name(b.endpoint, b.horizon_years),
                 excludes=bool(r["ci_low"] > b.rate_percent or r["ci_high"] < b.rate_percent),
                 benchmark_ci_low=getattr(b, "rate_ci_low", np.nan), benchmark_ci_high=getattr(b, "rate_ci_high", np.nan))
        rows.append(r)
    out = pd.DataFrame(rows)
    out.attrs["skipped"] = skipped
    return out


def _pretty(label: str) -> str:
    return label.replace(">=", "≥").replace("<=", "≤")


def _prob(p: float) -> str:
    """A probability as a rounded percentage that never reads as certainty (">99%", "<1%")."""
    return ">99%" if p > 0.995 else "<1%" if p < 0.005 else f"{p:.0%}"


def benchmark_points(panel: pd.DataFrame) -> str:
    """Plain-language Markdown, one block per landmark, every number from ``panel``.

    Text from the data is escaped (it is shown as Markdown, where raw HTML would run).
    """
    import html

    blocks = []
    for landmark, g in panel.groupby("landmark", sort=False):
        first = g.iloc[0]
        head = (f"**{html.escape(landmark.capitalize())}**: pooled particle therapy {first['estimate']:.1f}% "
                f"(95% CI {first['ci_low']:.1f}% to {first['ci_high']:.1f}%, {int(first['k'])} series).")
        items = []
        for r in g.itertuples():
            where = ("above" if r.ci_low > r.benchmark else "below" if r.ci_high < r.benchmark else "includes")
            verdict = {"above": "interval above it", "below": "interval below it",
                       "includes": "interval includes it"}[where]
            own = ""
            if "benchmark_ci_low" in panel.columns and not pd.isna(r.benchmark_ci_low):
                own = (f" (its own 95% CI {r.benchmark_ci_low:.0f}% to {r.benchmark_ci_high:.0f}%, "
                       "not included in the difference)")
            items.append(f"  - {html.escape(_pretty(r.label))}, {r.benchmark:.0f}%{own}: difference "
                         f"{r.difference:+.1f} points ({r.diff_low:+.1f} to {r.diff_high:+.1f}), {verdict}; "
                         f"probability that the true rate of a new particle series exceeds it "
                         f"{_prob(r.prob_new_study_exceeds)}.")
        blocks.append("- " + head + "\n" + "\n".join(items))
    return "\n".join(blocks)


def benchmark_chart(panel: pd.DataFrame, width: int = 260):
    """One panel per landmark: the pooled particle rate with its 95% CI (bar and point) and each
    comparator on its own row, with a colour and a marker shape per modality. Rates on a 0-100% axis."""
    import altair as alt

    charts_ = []
    for landmark, g in panel.groupby("landmark", sort=False):
        first = g.iloc[0]
        pooled = pd.DataFrame([{"row": f"Particle therapy, pooled ({int(first['k'])} series)",
                                "estimate": first["estimate"], "ci_low": first["ci_low"],
                                "ci_high": first["ci_high"], "modality": "particle therapy (pooled)"}])
        comp = pd.DataFrame({"row": [_pretty(x) for x in g["label"]], "estimate": g["benchmark"].to_numpy(),
                             "ci_low": g["benchmark"].to_numpy(), "ci_high": g["benchmark"].to_numpy(),
                             "modality": g["modality"].to_numpy()})
        d = pd.concat([pooled, comp], ignore_index=True)
        order = list(d["row"])
        x = alt.X("estimate:Q", title="Rate (%)", scale=alt.Scale(domain=[0, 100]))
        y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
        modalities = list(dict.fromkeys(d["modality"]))
        legend = alt.Legend(orient="bottom", columns=2, symbolSize=120)
        colour = alt.Color("modality:N", title="Modality", legend=legend, scale=alt.Scale(
            domain=modalities, range=[charts.CATEGORY_COLOURS[i % len(charts.CATEGORY_COLOURS)] for i in range(len(modalities))]))
        shape = alt.Shape("modality:N", title="Modality", legend=legend, scale=alt.Scale(
            domain=modalities, range=[charts.CATEGORY_SHAPES[i % len(charts.CATEGORY_SHAPES)] for i in range(len(modalities))]))
        tip = [alt.Tooltip("row:N", title="Series"), alt.Tooltip("estimate:Q", title="Rate (%)", format=".1f"),
               alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
               alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f")]
        base = alt.Chart(alt.Data(values=d.to_dict(orient="records")))
        band = alt.Chart(alt.Data(values=pooled.to_dict(orient="records"))).mark_rect(opacity=0.12, color=charts.STUDY_COLOUR).encode(
            x="ci_low:Q", x2="ci_high:Q")
        layer = alt.layer(
            band,
            base.mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", scale=alt.Scale(domain=[0, 100])), x2="ci_high:Q",
                                                 y=y, color=colour, tooltip=tip),
            base.mark_point(filled=True, size=90, opacity=1).encode(x=x, y=y, color=colour, shape=shape, tooltip=tip),
        ).properties(width=width, height=24 * len(d), title=landmark.capitalize())
        charts_.append(layer)
    return alt.vconcat(*charts_).resolve_scale(y="independent")


def skipped_markdown(panel: pd.DataFrame) -> str:
    """The comparators that could not be compared, with the reason (never a silent omission)."""
    import html

    skipped = panel.attrs.get("skipped", [])
    if not skipped:
        return "Every comparator with a rate at a stated horizon was compared."
    return "Not compared:\n" + "\n".join(f"- {html.escape(_pretty(lbl))}: {html.escape(why)}." for lbl, why in skipped)
