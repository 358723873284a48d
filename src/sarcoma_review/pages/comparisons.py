"""Comparisons for the book: subgroups of the literature series, and particle therapy against the
photon and radiochemotherapy figures the sources cite.

Every function returns tidy tables; the statistics are those of :mod:`sarcoma_review.stats.pooling` and
:mod:`sarcoma_review.stats.moderators` (validated against metafor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sarcoma_review.audit import flags as audit_flags
from sarcoma_review.data import vocabulary
from sarcoma_review.data.vocabulary import landmark_name
from sarcoma_review.pages.render import charts
from sarcoma_review.pages.render.tables import md_text
from sarcoma_review.stats import comparators as comparators_stats
from sarcoma_review.stats import moderators, pooling, survival
from sarcoma_review.stats.sensitivity import landmark_rows

#: The landmark pages: local control and overall survival at 5 and 3 years (endpoint, horizon in years;
#: ``book/analyses.yml`` lists every pooled analysis, and the protocol says which horizons are landmark pages).
MAIN_LANDMARKS: list[tuple[str, float]] = [("LC", 5.0), ("OS", 5.0), ("LC", 3.0), ("OS", 3.0)]


def subgroup_estimates(
    lit: pd.DataFrame, column: str, landmarks: list[tuple[str, float]] = MAIN_LANDMARKS
) -> pd.DataFrame:
    """Pooled rate per value of ``column`` at each landmark (a one-study subgroup is that study)."""
    parts = []
    for ep, hz in landmarks:
        d = landmark_rows(lit, ep, hz)
        if d.empty:
            continue
        r = pooling.pool(d, tau2_method="REML", ci_method=pooling.PRIMARY_CI, subgroup=column)
        r["landmark"] = landmark_name(ep, hz)
        parts.append(r)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def subgroup_tests(lit: pd.DataFrame, column: str, landmarks: list[tuple[str, float]] = MAIN_LANDMARKS) -> pd.DataFrame:
    """Mixed-effects moderator test (common τ², Knapp–Hartung F) and between-subgroup Q test.

    A landmark where the column has a single value, or too few studies to estimate the moderator,
    gets a row whose ``note`` says why and NaN statistics (never a silent omission).
    """
    rows = []
    for ep, hz in landmarks:
        d = landmark_rows(lit, ep, hz)
        groups = d[column].nunique()
        row = {
            "landmark": landmark_name(ep, hz),
            "endpoint": ep,
            "horizon_years": hz,
            "k": len(d),
            "groups": groups,
            "f": np.nan,
            "df1": np.nan,
            "df2": np.nan,
            "p_moderator": np.nan,
            "q_between": np.nan,
            "q_df": np.nan,
            "p_between": np.nan,
            "note": "",
        }
        if groups < 2:
            row["note"] = (
                f"all {len(d)} series are in the same {vocabulary.SUBGROUP_NAMES.get(column, column.replace('_', ' '))}"
            )
        elif len(d) <= groups:
            row["note"] = f"{len(d)} series cannot estimate {groups} group means and τ²"
        else:
            summary, _ = moderators.moderator_test(d, column, tau2_method="REML", ci_method=pooling.PRIMARY_CI)
            row.update(f=summary["statistic"], df1=summary["df1"], df2=summary["df2"], p_moderator=summary["p"])
            q, _ = moderators.subgroup_q_test(d, column, tau2_method="REML")
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
        summary, coefs = moderators.meta_regression(d, "year", tau2_method="REML", ci_method=pooling.PRIMARY_CI)
        slope = coefs.iloc[1]
        rows.append(
            {
                "landmark": landmark_name(ep, hz),
                "k": len(d),
                "slope_per_year": float(slope["estimate"]),
                "slope_ci_low": float(slope["ci_low"]),
                "slope_ci_high": float(slope["ci_high"]),
                "f": summary["statistic"],
                "df1": summary["df1"],
                "df2": summary["df2"],
                "p": summary["p"],
                "note": "",
            }
        )
    return pd.DataFrame(rows)


#: The spelling of a chordoma-only series in ``studies.histology`` (the stratum rule is defined once, in
#: :func:`sarcoma_review.data.vocabulary.histology_stratum`).
CHORDOMA = vocabulary.CHORDOMA_HISTOLOGY

#: The particle-therapy populations each comparator is set against, in the order shown:
#: (key, label, role). Every comparator the two papers cite is a soft-tissue sarcoma series, so the
#: primary particle figure leaves out the chordoma series; all series are the sensitivity analysis.
POPULATIONS: tuple[tuple[str, str, str], ...] = (
    ("non-chordoma", "non-chordoma series", "primary"),
    ("all", "all series", "sensitivity"),
)

#: How each kind of comparator carries its uncertainty (words for the tables and the CSV).
UNCERTAINTY = {
    "kaplan-meier": "Kaplan-Meier from the patient table; Greenwood variance, 95% interval on the log(-log) scale",
    "exact": "binomial variance 1/(n p (1-p)) with its stated n; 95% interval on the logit scale",
    "bound": (
        "binomial variance with the upper bound of its n; 95% interval on the logit scale: the narrowest "
        "interval it can have (its real interval is wider)"
    ),
    "unknown": "fixed number: its size is given nowhere, so its sampling uncertainty cannot be included",
}

#: The reproduction audit's flags on the values a comparison uses (:func:`audit_columns`): ``audit_flag``
#: (plain words, ``""`` when none), ``audit_findings`` (the finding ids, ``"; "``-joined),
#: ``verdict_without_flagged`` (the verdict without the flagged value) and ``without_flagged`` (how it was
#: obtained).
AUDIT_COLUMNS = ["audit_flag", "audit_findings", "verdict_without_flagged", "without_flagged"]

#: The columns of ``comparisons.csv`` (and of :func:`benchmark_panel`), in order.
CSV_COLUMNS: list[str] = [
    "landmark",
    "endpoint",
    "horizon_years",
    "particle_population",
    "population_role",
    "particle_label",
    "k",
    "n_particle_patients",
    "particle_soft_tissue_series",
    "particle_estimate",
    "particle_ci_low",
    "particle_ci_high",
    "particle_interval",
    "comparator",
    "modality",
    "comparator_source",
    "comparator_n_kind",
    "comparator_n",
    "comparator_estimate",
    "comparator_ci_low",
    "comparator_ci_high",
    "comparator_uncertainty",
    "comparator_class",
    "class_reason",
    "intent",
    "intent_statement",
    "dose_group",
    "selection",
    "era_year",
    "n_at_risk",
    "at_risk_flag",
    "particle_pi_low",
    "particle_pi_high",
    "difference",
    "diff_low",
    "diff_high",
    "new_diff_low",
    "new_diff_high",
    "verdict",
    "verdict_mean",
    "verdict_if_comparator_fixed",
    "prob_particle_exceeds",
    "probability_of",
    "verdict_meaning",
    "notes",
    *AUDIT_COLUMNS,
]

#: The verdict in one or two words (tables, the summary of findings).
SHORT_VERDICT = {
    "above": "higher",
    "below": "lower",
    "includes": "no direction",
    comparators_stats.NOT_ASSESSABLE: "no verdict (two series)",
}

#: What each verdict means, in plain words (the ``verdict_meaning`` column and the page).
VERDICT_MEANING = {
    "above": (
        "a new particle-therapy series like those pooled would be expected to have a higher rate than this "
        "comparator: the whole interval of the difference, allowing for how much the series differ from "
        "one another, lies above zero"
    ),
    "below": (
        "a new particle-therapy series like those pooled would be expected to have a lower rate than this "
        "comparator: the whole interval of the difference, allowing for how much the series differ from "
        "one another, lies below zero"
    ),
    "includes": (
        "no direction: once the spread between particle series is allowed for, a new series could have "
        "a higher or a lower rate than this comparator"
    ),
    comparators_stats.NOT_ASSESSABLE: (
        "no verdict: with two particle series the spread between series cannot be estimated, so there is "
        "no interval for a new series"
    ),
}

DIFFERENCE_METHOD = (
    "difference = particle minus comparator (percentage points); 95% interval by MOVER "
    "(square-and-add) from the two sides' own 95% intervals, the two assumed independent"
)


def particle_population(lit: pd.DataFrame, key: str) -> pd.DataFrame:
    """The literature rows of one particle population (:data:`POPULATIONS`)."""
    if key == "non-chordoma":
        return lit[[vocabulary.histology_stratum(h) == vocabulary.OTHER for h in lit["histology"]]]
    if key == "all":
        return lit
    raise ValueError(f"unknown particle population {key!r}; use one of {[p[0] for p in POPULATIONS]}")


def _size_error(comparators: pd.DataFrame, i: int, why: str):
    from sarcoma_review.errors import DataValidationError
    from sarcoma_review.paths import data_dir

    row = comparators.index.get_loc(i) + 1
    return DataValidationError(
        data_dir() / "comparators" / "comparators.csv",
        [(row, "n_value", "a size n >= 1 when n_kind is exact or bound", why)],
    )


def _comparator_rate(rate: float, kind: str, n) -> comparators_stats.ComparatorRate | None:
    """The comparator's rate with its uncertainty, or None when it has no logit (0% or 100%)."""
    if not 0 < rate < 100:
        return None
    if kind in ("exact", "bound"):
        return comparators_stats.binomial_rate(rate, float(n), kind)
    return comparators_stats.fixed_rate(rate)


#: The facts that drive a comparator's class (from ``comparators.csv``; for the ifosfamide series from its own
#: publication), carried into every comparison row.
FACT_COLUMNS = ["intent", "intent_statement", "dose_group", "selection", "era_year"]

#: The ifosfamide series' endpoints and their event column in the patient table.
_IFO_TIME = {"LC": ("lc_months", "local_failure"), "OS": ("os_months", "death")}


def _text(v) -> str:
    return "" if pd.isna(v) else str(v)


def _facts(r) -> dict:
    era = pd.to_numeric(r.get("era_year", np.nan), errors="coerce")
    return {
        "intent": _text(r.get("intent", "")) or "not stated",
        "intent_statement": _text(r.get("intent_statement")),
        "dose_group": _text(r.get("dose_group")),
        "selection": _text(r.get("selection")) or "none stated",
        "era_year": float(era) if pd.notna(era) else np.nan,
        "n_at_risk": np.nan,
    }


def _row_facts(b) -> dict:
    """The class-driving facts of a benchmark row; a fact the row does not carry is "not stated" (a table
    without them can never make a comparator comparable)."""

    def get(name, default):
        v = getattr(b, name, default)
        return default if v is None or (isinstance(v, float) and np.isnan(v) and not isinstance(default, float)) else v

    return {
        "intent": get("intent", "not stated"),
        "intent_statement": get("intent_statement", ""),
        "dose_group": get("dose_group", ""),
        "selection": get("selection", "none stated"),
        "era_year": get("era_year", np.nan),
        "n_at_risk": get("n_at_risk", np.nan),
    }


def _ifosfamide_facts(reported: pd.DataFrame | None) -> dict:
    """The ifosfamide series' intent and era from its own text: "definitive treatment" is curative intent;
    the era is its publication year (2010, from its reported source label, not typed here)."""
    facts = {
        "intent": "not stated",
        "intent_statement": "",
        "dose_group": "",
        "selection": "none stated",
        "era_year": np.nan,
    }
    if reported is None:
        return facts
    st = reported["statement"].astype(str)
    hit = st[st.str.contains("definitive treatment", case=False, regex=False)]
    if len(hit):
        facts.update(intent="curative", intent_statement=str(hit.iloc[0]))
    return facts


def _ifosfamide_at_risk(patients: pd.DataFrame | None, endpoint: str) -> dict:
    if patients is None:
        return {"n_at_risk": np.nan}
    t, _ = _IFO_TIME[endpoint]
    out = {"n_at_risk": float((patients[t].astype(float) >= 60.0).sum()), "n_died_first": np.nan}
    if endpoint == "LC":  # deaths before any local failure are censored in local control
        out["n_died_first"] = float(
            survival.competing_deaths(
                patients["lc_months"], patients["local_failure"], patients["os_months"], patients["death"], 60.0
            )["n_died_first"]
        )
    return out


def _ifosfamide_reported_rate(rate: float, kind: str, n, patients: pd.DataFrame | None, endpoint: str):
    """The reported rate with the series' one interval method (Greenwood, log(-log)) when its patients are known."""
    if patients is None or not 0 < rate < 100:
        return _comparator_rate(rate, kind, n)
    t, e = _IFO_TIME[endpoint]
    return comparators_stats.km_rate_reported(rate, patients[t], patients[e], 60.0)


def benchmarks(
    comparators: pd.DataFrame,
    ifosfamide_reported: pd.DataFrame | None = None,
    ifosfamide_patients: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The comparator rates a particle-therapy rate can be set against, each with its own uncertainty.

    Rows: every comparator with an LC or OS rate at a stated horizon, plus the ifosfamide series'
    reported 5-year LC and OS (binomial, with the series' patients as n) and (from its patient table)
    the Kaplan-Meier recomputation (Greenwood). Columns: label, modality, endpoint, horizon_years,
    rate_percent, rate_ci_low, rate_ci_high (the comparator's own 95% interval; equal to the rate when
    it is a fixed number), n_kind (exact/bound/unknown), n_value, uncertainty (words), source,
    size_note, and ``rate`` (the :class:`~sarcoma_review.stats.comparators.ComparatorRate`, None
    when the rate has no logit). A comparator with n_kind exact or bound and no n_value raises
    :class:`~sarcoma_review.errors.DataValidationError`.
    """
    c = comparators[
        comparators["endpoint"].isin(["LC", "OS"])
        & comparators["horizon_years"].notna()
        & comparators["rate_percent"].notna()
    ]
    rows = []
    for i, r in c.iterrows():
        kind = str(r["n_kind"])
        n = r["n_value"]
        if kind in ("exact", "bound") and (pd.isna(n) or not float(n) >= 1):
            raise _size_error(comparators, i, "empty" if pd.isna(n) else str(n))
        rows.append(
            {
                "label": f"{r['study']}, {r['group']}",
                "modality": r["modality"],
                "endpoint": r["endpoint"],
                "horizon_years": float(r["horizon_years"]),
                "rate_percent": float(r["rate_percent"]),
                "n_kind": kind,
                "n_value": float(n) if kind != "unknown" else np.nan,
                "source": r["comparator_id"],
                "size_note": "" if pd.isna(r["size_note"]) else str(r["size_note"]),
                "rate": _comparator_rate(float(r["rate_percent"]), kind, n),
                **_facts(r),
            }
        )
    n_ifo = len(ifosfamide_patients) if ifosfamide_patients is not None else None
    ifo_facts = _ifosfamide_facts(ifosfamide_reported)
    if ifosfamide_reported is not None:
        rep = ifosfamide_reported[
            (ifosfamide_reported["quantity"] == "km_rate")
            & ifosfamide_reported["endpoint"].isin(["LC", "OS"])
            & ifosfamide_reported["horizon_years"].notna()
        ]
        rep = rep.drop_duplicates(["endpoint", "horizon_years", "value"])
        for r in rep.itertuples():
            if float(r.horizon_years) == 5.0:
                kind = "exact" if n_ifo else "unknown"
                rows.append(
                    {
                        "label": "Ifosfamide radiochemotherapy (Eckert 2010), as reported",
                        "modality": "radiochemotherapy",
                        "endpoint": r.endpoint,
                        "horizon_years": 5.0,
                        "rate_percent": float(r.value),
                        "n_kind": kind,
                        "n_value": float(n_ifo) if n_ifo else np.nan,
                        "source": r.estimate_id,
                        "size_note": (
                            f"the series' {n_ifo} patients (one row each in Table 3); the reported "
                            "Kaplan-Meier rate carries the Greenwood interval (log(-log) scale) "
                            "of the same patients' recomputed estimate"
                            if n_ifo
                            else ""
                        ),
                        "rate": _ifosfamide_reported_rate(float(r.value), kind, n_ifo, ifosfamide_patients, r.endpoint),
                        "audit_series": audit_flags.IFO,
                        "recomputed": False,
                        **ifo_facts,
                        **_ifosfamide_at_risk(ifosfamide_patients, r.endpoint),
                    }
                )
    if ifosfamide_patients is not None:
        p = ifosfamide_patients
        for ep, t, e in (("LC", p["lc_months"], p["local_failure"]), ("OS", p["os_months"], p["death"])):
            km = comparators_stats.km_rate(t, e, 60.0)
            rows.append(
                {
                    "label": "Ifosfamide radiochemotherapy (Eckert 2010), recomputed from Table 3",
                    "modality": "radiochemotherapy",
                    "endpoint": ep,
                    "horizon_years": 5.0,
                    "rate_percent": km.rate,
                    "n_kind": "exact",
                    "n_value": float(len(p)),
                    "source": "ifosfamide/patients.csv (Kaplan-Meier at 60 months)",
                    "size_note": f"Kaplan-Meier at 60 months from the {len(p)} patients of Table 3",
                    "rate": km,
                    "audit_series": audit_flags.IFO_TABLE3,
                    "recomputed": True,
                    **ifo_facts,
                    **_ifosfamide_at_risk(p, ep),
                }
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "label",
            "modality",
            "endpoint",
            "horizon_years",
            "rate_percent",
            "n_kind",
            "n_value",
            "source",
            "size_note",
            "rate",
            *FACT_COLUMNS,
            "n_at_risk",
            "n_died_first",
            "audit_series",
            "recomputed",
        ],
    )
    out["audit_series"] = out["audit_series"].fillna("")
    out["recomputed"] = [x is True for x in out["recomputed"]]
    out["uncertainty"] = [UNCERTAINTY[x.kind] if x is not None else "" for x in out["rate"]]
    out["rate_ci_low"] = [x.ci_low if x is not None else np.nan for x in out["rate"]]
    out["rate_ci_high"] = [x.ci_high if x is not None else np.nan for x in out["rate"]]
    return out


def _particle_label(d: pd.DataFrame, pooled: bool) -> str:
    if pooled:
        return f"pooled, {len(d)} series"
    r = d.iloc[0]
    return f"{r['first_author']} {int(r['year'])} (one series, not pooled)"


#: The reason a comparator is comparable (every rule of the classification passed).
COMPARABLE_REASON = (
    "curative intent stated; not a lower-dose group; not selected by tumour size, site or resection "
    "margin; no year before the first particle series printed; size known or bounded"
)


def _signed(x: float) -> str:
    """A difference in whole points with its sign, and no "-0"."""
    v = round(float(x))
    return "0" if v == 0 else f"{v:+d}"


def sof_comparisons(
    data_dir: Path | None = None, method: str = "REML", ci: str = pooling.PRIMARY_CI, flags: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The comparisons that may stand on the summary of findings, from the data in ``data_dir``.

    Comparable comparators only, primary particle population only (:func:`comparable_for_summary`),
    each with the comparison's certainty (``certainty``) and a short plain-language text (``short``):
    comparator, rate, difference with the new-series interval, the verdict, the certainty and the
    number-at-risk flag, and the audit's flag with the verdict without the flagged value (``flags``: see
    :func:`benchmark_panel`). Columns: those of :data:`CSV_COLUMNS` plus ``certainty`` and ``short``.
    """
    from sarcoma_review.data import loaders
    from sarcoma_review.stats import comparison_certainty

    lit = loaders.load_literature(data_dir)
    bench = benchmarks(
        loaders.load_comparators(data_dir),
        loaders.load_table("ifosfamide", "reported_estimates", data_dir),
        loaders.load_ifosfamide_patients(data_dir),
    )
    panel = benchmark_panel(lit, bench, method, ci, flags=flags)
    ratings = comparison_certainty.rate_panel(panel, practice_margin(data_dir))
    out = comparable_for_summary(panel)
    cert = {(r.landmark, r.comparator): r.certainty for r in ratings.itertuples()}
    out["certainty"] = [cert.get((r.landmark, r.comparator), "") for r in out.itertuples()]
    words = SHORT_VERDICT
    out["short"] = [
        (
            f"{_pretty(r.comparator)}: {r.comparator_estimate:.0f}%; particle therapy ({r.particle_population}, "
            f"{r.particle_estimate:.0f}%) minus comparator {_signed(r.difference)} "
            + (
                f"points ({'new series' if r.k >= 2 else 'one series'} {_signed(r.new_diff_low)} to "
                f"{_signed(r.new_diff_high)}): "
                if r.verdict != comparators_stats.NOT_ASSESSABLE
                else "points: "
            )
            + f"{words[r.verdict]}, {r.certainty} certainty"
            + (f"; {r.at_risk_flag}" if str(r.at_risk_flag).startswith("only") else "")
            + (
                f"; {r.audit_flag} (without the flagged value: "
                f"{_VERDICT_WORDS.get(r.verdict_without_flagged, 'no verdict')})"
                if r.audit_flag
                else ""
            )
        )
        for r in out.itertuples()
    ]
    return out


def at_risk_flag(endpoint: str, n_at_risk: float, n_died_first: float = np.nan) -> str:
    """The number-at-risk flag of a local-control comparator (threshold
    :data:`~sarcoma_review.stats.comparators.MIN_AT_RISK`), in plain words; "" when not flagged.
    ``n_died_first`` (patients who died without local failure before the landmark, where the patient
    table gives it) adds the competing deaths the local-control estimate censors."""
    if endpoint != "LC":
        return ""
    if pd.isna(n_at_risk):
        return "number at risk at the landmark not reported"
    if n_at_risk < comparators_stats.MIN_AT_RISK:
        died = (
            ""
            if pd.isna(n_died_first) or not n_died_first
            else f"; {int(n_died_first)} died without local failure before it, deaths the local-control estimate "
            "censors, so the rate describes patients had they lived"
        )
        return (
            f"only {int(n_at_risk)} patients at risk at the landmark (fewer than "
            f"{comparators_stats.MIN_AT_RISK}): the rate rests on a handful of patients{died}"
        )
    return ""


def _panel_row(
    b,
    d: pd.DataFrame,
    r: dict,
    *,
    key: str,
    role: str,
    method: str,
    ci: str,
    landmark: str,
    klass: str,
    reasons: list[str],
) -> dict:
    pooled = r.pop("pooled")
    k = len(d)
    if pooled:
        interval = f"{ci} t interval on {k - 1} df ({method} tau2)" if ci.upper() != "WALD" else "Wald interval"
        prob_of = (
            f"that the true rate of a new particle series like those pooled ({key}) exceeds the "
            f"comparator's true rate (predictive t on {k - 1} df)"
        )
    else:
        interval = "Wald logit interval of that one series"
        prob_of = "that this one series' true rate exceeds the comparator's true rate"
    notes = [UNCERTAINTY[b.rate.kind]]
    if b.size_note:
        notes.append(f"size: {b.size_note}")
    notes.append(DIFFERENCE_METHOD)
    if role == "primary":
        notes.append(
            "primary: the comparators are soft-tissue sarcoma series and chordoma is another disease; "
            "a series of mixed histology may include some chordomas (studies.csv: patient_group, "
            "n_chordoma)"
        )
    meaning = (
        VERDICT_MEANING[r["verdict"]]
        if pooled
        else (
            "one particle series only: the verdict reads that series' own interval, and says nothing about "
            "series elsewhere"
        )
    )
    return {
        "landmark": landmark,
        "endpoint": b.endpoint,
        "horizon_years": float(b.horizon_years),
        "particle_population": key,
        "population_role": role,
        "particle_label": _particle_label(d, pooled),
        "k": k,
        "n_particle_patients": int(d["n_patients"].sum()),
        **r,
        "particle_interval": interval,
        "particle_soft_tissue_series": int((d["patient_group"].astype(str) == "soft tissue").sum())
        if "patient_group" in d.columns
        else 0,
        "comparator": b.label,
        "modality": b.modality,
        "comparator_source": b.source,
        "comparator_n_kind": b.n_kind,
        "comparator_n": b.n_value,
        "comparator_uncertainty": UNCERTAINTY[b.rate.kind],
        "comparator_class": klass,
        "class_reason": "; ".join(reasons) if reasons else COMPARABLE_REASON,
        **_row_facts(b),
        "at_risk_flag": at_risk_flag(b.endpoint, _row_facts(b)["n_at_risk"], getattr(b, "n_died_first", np.nan)),
        "probability_of": prob_of,
        "verdict_meaning": meaning,
        "notes": "; ".join(notes),
    }


def comparable_for_summary(panel: pd.DataFrame) -> pd.DataFrame:
    """The comparisons that may stand on the summary of findings: comparable comparators only, primary
    particle population only (one row per landmark and comparator)."""
    if panel.empty:
        return panel
    return panel[(panel["comparator_class"] == "comparable") & (panel["population_role"] == "primary")].reset_index(
        drop=True
    )


def benchmark_panel(
    lit: pd.DataFrame,
    bench: pd.DataFrame,
    method: str = "REML",
    ci: str = pooling.PRIMARY_CI,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Particle therapy against each comparator at the same endpoint and horizon, both with their uncertainty.

    One row per comparator and particle population (:data:`POPULATIONS`: non-chordoma series, the
    primary figure, then all series), with the columns :data:`CSV_COLUMNS` (see
    :mod:`sarcoma_review.stats.comparators` for the method). A population with one series at the
    landmark is that series, labelled so. Comparators or populations that cannot be compared are
    listed with the reason in ``attrs["skipped"]`` as (label, why).

    ``flags`` (:func:`sarcoma_review.audit.flags.value_flags`) fills :data:`AUDIT_COLUMNS`: a comparison
    whose comparator value or one of whose particle values the reproduction audit flags says so, with the
    verdict without the flagged value (:func:`audit_columns`, :func:`_without_flagged_comparators`).
    """
    rows, skipped = [], []
    first_year = float(lit["year"].min())
    for b in bench.itertuples():
        landmark = landmark_name(b.endpoint, b.horizon_years)
        if b.rate is None:
            skipped.append((b.label, f"a rate of {b.rate_percent:g}% has no logit to compare on"))
            continue
        f = _row_facts(b)
        klass, reasons = comparators_stats.classify(
            intent=f["intent"],
            dose_group=f["dose_group"],
            selection=f["selection"],
            era_year=f["era_year"],
            n_kind=b.n_kind,
            first_particle_year=first_year,
        )
        for key, label, role in POPULATIONS:
            d = landmark_rows(particle_population(lit, key), b.endpoint, b.horizon_years)
            if d.empty:
                skipped.append((b.label, f"no particle series ({label}) reports {landmark}"))
                continue
            res = pooling.pool_rates(d["rate_percent"], d["n_patients"], method, ci)
            r = comparators_stats.compare(res, b.rate)
            row = _panel_row(
                b, d, r, key=label, role=role, method=method, ci=ci, landmark=landmark, klass=klass, reasons=reasons
            )
            row.update(audit_columns(b, d, flags, method, ci))
            rows.append(row)
    out = _without_flagged_comparators(pd.DataFrame(rows, columns=CSV_COLUMNS))
    out.attrs["skipped"] = skipped
    return out


_VERDICT_WORDS = SHORT_VERDICT


def audit_columns(b, d: pd.DataFrame, flags: pd.DataFrame | None, method: str, ci: str) -> dict:
    """:data:`AUDIT_COLUMNS` of one comparison: comparator ``b`` (a row of :func:`benchmarks`) against the
    particle series ``d``.

    The comparator's value is flagged when the audit flags that very printed value, or, for a value the
    review recomputed from a patient table, a coding of that table (:func:`sarcoma_review.audit.flags.flags_for`);
    a particle series is flagged likewise. With flagged particle values (and an unflagged comparator), the
    comparison is repeated without those series; a flagged comparator gets its verdict without the flagged
    value from :func:`_without_flagged_comparators`.
    """
    out = dict.fromkeys(AUDIT_COLUMNS, "")
    if flags is None or flags.empty:
        return out
    series = getattr(b, "audit_series", "")
    comp = (
        audit_flags.flags_for(flags, series, b.endpoint, b.horizon_years, b.rate_percent) if series else flags.iloc[0:0]
    )
    lit = audit_flags.flagged_literature(flags, d.assign(endpoint=b.endpoint, horizon_years=float(b.horizon_years)))
    drop = list(lit.loc[lit["audit_findings"] != "", "study_id"])
    ids = list(comp["finding_id"]) + [f for x in lit["audit_findings"] for f in x.split("; ") if f]
    if not ids:
        return out
    words = []
    if len(comp):
        words.append(
            f"the comparator's recomputation rests on a coding of its patient table that the text contradicts "
            f"({comp['verdict'].iloc[0]})"
            if str(comp["finding_id"].iloc[0]).startswith("ifo.nar.")
            else f"the comparator's value is flagged by the audit ({comp['verdict'].iloc[0]})"
        )
    if drop:
        v = [x for x in lit["audit_verdict"] if x]
        words.append(
            f"the value of {len(drop)} particle series {'are' if len(drop) > 1 else 'is'} flagged by the audit "
            f"({', '.join(dict.fromkeys(v))})"
        )
    out.update(audit_flag="; ".join(words), audit_findings="; ".join(dict.fromkeys(ids)))
    if drop and not len(comp):
        rest = d[~d["study_id"].isin(drop)]
        if rest.empty:
            out["without_flagged"] = "no particle series remains without the flagged values"
            return out
        r2 = comparators_stats.compare(pooling.pool_rates(rest["rate_percent"], rest["n_patients"], method, ci), b.rate)
        out["verdict_without_flagged"] = r2["verdict"]
        what = f"pooled, {len(rest)} series" if len(rest) > 1 else "one series"
        out["without_flagged"] = (
            f"the particle series without the flagged value ({what}): {r2['particle_estimate']:.1f}%, difference "
            f"{r2['difference']:+.1f} points, {_VERDICT_WORDS[r2['verdict']]}"
        )
    return out


def _without_flagged_comparators(panel: pd.DataFrame) -> pd.DataFrame:
    """A flagged comparator value's verdict without it: that of the same series' other value at the same
    landmark and particle population (the rate recomputed from its patient table for a flagged printed rate,
    the printed rate for a flagged recomputation), when there is one."""
    if panel.empty or "audit_flag" not in panel.columns:
        return panel
    series = panel["comparator"].str.split(", ").str[0]
    for i, r in panel.iterrows():
        if "the comparator's" not in str(r["audit_flag"]):
            continue
        twin = panel[
            (panel["landmark"] == r["landmark"])
            & (panel["particle_population"] == r["particle_population"])
            & (series == series[i])
            & (panel.index != i)
            & (panel["audit_flag"].astype(str) == "")
        ]
        if twin.empty:
            panel.at[i, "without_flagged"] = "no comparison remains without the flagged value"
            continue
        t = twin.iloc[0]
        how = (
            "the same series recomputed from its patient table"
            if "recomputed" in str(t["comparator"])
            else "the same series as the paper prints it"
        )
        panel.at[i, "verdict_without_flagged"] = t["verdict"]
        panel.at[i, "without_flagged"] = (
            f"{how}: {t['comparator_estimate']:.1f}%, difference {t['difference']:+.1f} points, "
            f"{_VERDICT_WORDS[t['verdict']]}"
        )
    return panel


def write_comparison_certainty_csv(ratings: pd.DataFrame, folder: str | Path) -> Path:
    """Write ``comparison_certainty.csv`` (one rating per primary comparison, with its assumptions)."""
    from sarcoma_review.stats import comparison_certainty

    path = Path(folder) / "comparison_certainty.csv"
    ratings[comparison_certainty.CSV_COLUMNS].to_csv(path, index=False)
    return path


def certainty_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """The ratings as a reader's table: plain column names, no assumptions column (it is in the download)."""
    cols = {
        "landmark": "Outcome",
        "comparator": "Comparator",
        "comparator_class": "Class",
        "risk_of_bias": "Risk of bias",
        "inconsistency": "Inconsistency",
        "indirectness": "Indirectness",
        "imprecision": "Imprecision",
        "certainty": "Certainty",
    }
    return ratings[list(cols)].rename(columns=cols)


def panel_html(panel: pd.DataFrame):
    """Every comparison as a reader's table: class, verdict (new series) and the few-at-risk flag up front,
    the intervals in each row's details."""
    from sarcoma_review.pages.render.tables import html_table

    shown = panel.copy()
    shown["class_shown"] = [c if c == "comparable" else "context only" for c in shown["comparator_class"]]
    words = SHORT_VERDICT
    shown["verdict_shown"] = [
        words[v] if c == "comparable" else "none drawn (context only)"
        for v, c in zip(shown["verdict"], shown["comparator_class"])
    ]
    shown["audit_link"] = [_finding_href(f) for f in shown["audit_findings"]]
    shown["without_shown"] = [
        "" if c != "comparable" else f"{_VERDICT_WORDS.get(v, '')}: {w}" if v else w
        for v, w, c in zip(shown["verdict_without_flagged"], shown["without_flagged"], shown["comparator_class"])
    ]  # a context-only comparator gets no verdict, with or without the flagged value
    # a comparison using a value the audit flags says so beside its comparator, linked to the finding
    shown["comparator_shown"] = [
        f"{c} ({audit_flags.marker(_worst(f))})" if f else c for c, f in zip(shown["comparator"], shown["audit_flag"])
    ]
    shown["chance"] = [
        _prob(p) if c == "comparable" else "" for p, c in zip(shown["prob_particle_exceeds"], shown["comparator_class"])
    ]
    return html_table(
        shown,
        columns={
            "landmark": "Landmark",
            "comparator_shown": "Comparator",
            "class_shown": "Class",
            "comparator_estimate": "Comparator (%)",
            "particle_estimate": "Particle (%)",
            "difference": "Difference (points)",
            "verdict_shown": "Verdict for a new series",
            "at_risk_flag": "Patients at risk",
        },
        links={"comparator_shown": "audit_link"},
        details={
            "audit_flag": "What the audit flags",
            "without_shown": "Verdict without the flagged value",
            "class_reason": "Why this class",
            "particle_population": "Particle series",
            "chance": "Chance a new series is higher",
            "new_diff_low": "Difference for a new series, 95% low",
            "new_diff_high": "Difference for a new series, 95% high",
            "diff_low": "Difference of the means, 95% low",
            "diff_high": "Difference of the means, 95% high",
            "modality": "Modality",
            "comparator_n_kind": "Size known",
            "comparator_n": "n (or bound)",
            "comparator_ci_low": "Comparator's 95% CI low",
            "comparator_ci_high": "Comparator's 95% CI high",
            "particle_label": "Particle estimate from",
            "particle_ci_low": "Particle 95% CI low",
            "particle_ci_high": "Particle 95% CI high",
            "particle_pi_low": "Particle prediction interval low",
            "particle_pi_high": "Particle prediction interval high",
        },
        formats={
            "comparator_n": ".0f",
            "comparator_estimate": ".0f",
            "comparator_ci_low": ".0f",
            "comparator_ci_high": ".0f",
            "particle_estimate": ".1f",
            "particle_ci_low": ".1f",
            "particle_ci_high": ".1f",
            "particle_pi_low": ".1f",
            "particle_pi_high": ".1f",
            "difference": "+.1f",
            "diff_low": "+.1f",
            "diff_high": "+.1f",
            "new_diff_low": "+.1f",
            "new_diff_high": "+.1f",
        },
    )


def _worst(audit_flag: str) -> str:
    """The worst verdict named in an ``audit_flag`` text."""
    return "inconsistent" if "inconsistent" in audit_flag else "implausible"


def _finding_href(findings: str) -> str:
    """The link to the first finding of ``"; "``-joined finding ids (``""`` when none)."""
    from sarcoma_review.audit.runner import AUDIT_PAGE, finding_anchor

    first = next((f for f in str(findings).split("; ") if f), "")
    return AUDIT_PAGE + "#" + finding_anchor(first) if first else ""


def audit_dependence_html(panel: pd.DataFrame) -> str:
    """Each comparison that uses a value the reproduction audit flags, with its verdict with and without
    that value and a link to the finding (escaped HTML list, from :data:`AUDIT_COLUMNS`)."""
    import html as _html

    if panel.empty or not (panel["audit_flag"].astype(str) != "").any():
        return "<p>The reproduction audit flags none of the values these comparisons use.</p>"
    items = []
    for r in panel[panel["audit_flag"].astype(str) != ""].itertuples():
        same = r.verdict_without_flagged == r.verdict
        change = (
            "the verdict does not depend on it"
            if same
            else f"<strong>the verdict depends on it</strong> ({_VERDICT_WORDS[r.verdict]} with it, "
            f"{_html.escape(_VERDICT_WORDS.get(r.verdict_without_flagged, 'none'))} without)"
        )
        if r.comparator_class != "comparable":
            change += " (a context-only comparator: no verdict is drawn from it)"
        items.append(
            f"<li>{_html.escape(str(r.landmark)).capitalize()}, {_html.escape(str(r.particle_population))} against "
            f"{_html.escape(_pretty(r.comparator))}: {_html.escape(str(r.audit_flag))} "
            f'(<a href="{_html.escape(_finding_href(r.audit_findings), quote=True)}">finding in the audit</a>); '
            f"without it, {_html.escape(str(r.without_flagged))}: {change}.</li>"
        )
    return '<ul class="audit-flags">' + "".join(items) + "</ul>"


def write_comparisons_csv(panel: pd.DataFrame, folder: str | Path) -> Path:
    """Write ``comparisons.csv`` (the columns :data:`CSV_COLUMNS`) into ``folder``; return its path."""

    path = Path(folder) / "comparisons.csv"
    panel[CSV_COLUMNS].to_csv(path, index=False, float_format="%.6g")
    return path


def chordoma_share_text(lit: pd.DataFrame, landmarks: list[tuple[str, float]] = MAIN_LANDMARKS) -> str:
    """How much of each horizon's local-control pool is chordoma: "3 of the 8 series (284 of 611 patients)
    at 5 years and 1 of the 5 series (23 of 240 patients) at 3 years"."""
    parts = []
    for hz in sorted({h for _, h in landmarks}, reverse=True):
        d = landmark_rows(lit, "LC", hz)
        if d.empty:
            continue
        ch = d[[vocabulary.histology_stratum(h) == vocabulary.CHORDOMA for h in d["histology"]]]
        parts.append(
            f"{len(ch)} of the {len(d)} series ({int(ch['n_patients'].sum())} of "
            f"{int(d['n_patients'].sum())} patients) at {hz:g} years"
        )
    return " and ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _label(r) -> str:
    return vocabulary.study_label(r["first_author"], r["year"])


def other_series_chordomas(studies: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The series outside the chordoma stratum that may hold chordomas, from ``studies``
    (``histology``, ``patient_group``, ``n_chordoma``).

    Returns ``(with_chordomas, unknown)``: ``"DeLaney 2014 (29 of 50 patients)"`` for each series whose
    publication counts some chordomas among other histologies, and the labels of the series of mixed or
    unreported histology (not soft tissue, no single named histology) that do not say how many, if any,
    they hold. Both in order of publication year.
    """
    s = studies.drop_duplicates("study_id").sort_values(["year", "first_author"], kind="stable")
    other = s[[vocabulary.histology_stratum(h) == vocabulary.OTHER for h in s["histology"]]]
    n_ch = (
        pd.to_numeric(other["n_chordoma"], errors="coerce")
        if "n_chordoma" in other.columns
        else pd.Series(np.nan, index=other.index)
    )
    with_ch = [
        f"{_label(r)} ({int(n)} of {int(r['n_patients'])} patients)"
        for (_, r), n in zip(other.iterrows(), n_ch)
        if pd.notna(n) and n > 0
    ]
    group = (
        other["patient_group"].astype(str)
        if "patient_group" in other.columns
        else pd.Series("not reported", index=other.index)
    )
    mixed = (other["histology"].astype(str).str.strip() == vocabulary.MIXED_HISTOLOGY) | (group == "not reported")
    unknown = [
        _label(r)
        for (_, r), n, g, m in zip(other.iterrows(), n_ch, group, mixed)
        if pd.isna(n) and g != "soft tissue" and m
    ]
    return with_ch, unknown


def other_series_chordomas_text(studies: pd.DataFrame, subject: str = "The other stratum") -> str:
    """One generated sentence on the chordomas the "other" stratum may hold (:func:`other_series_chordomas`),
    ``"<subject> is not chordoma-free: ..."``."""
    with_ch, unknown = other_series_chordomas(studies)
    if not with_ch and not unknown:
        return "No series outside the chordoma stratum reports or may hold any chordoma."
    parts = []
    if with_ch:
        parts.append(
            f"{_join_words(with_ch)} include{'s' if len(with_ch) == 1 else ''} chordomas among other histologies"
        )
    if unknown:
        parts.append(
            f"{_join_words(unknown)} {'is' if len(unknown) == 1 else 'are'} of mixed or unreported "
            f"histology and do{'es' if len(unknown) == 1 else ''} not say how many chordomas, if any, "
            f"{'it holds' if len(unknown) == 1 else 'they hold'}"
        )
    return f"{subject} is not chordoma-free: " + "; ".join(parts) + "."


def _join_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pretty(label: str) -> str:
    return label.replace(">=", "≥").replace("<=", "≤")


def _prob(p: float) -> str:
    """A probability in plain words, rounded so that it never reads as certainty."""
    if p > 0.99:
        return "more than 99 in 100"
    if p < 0.01:
        return "less than 1 in 100"
    return f"about {round(100 * p)} in 100"


#: The verdict in plain words, read from the new-series interval (it allows for the spread between series).
VERDICT_WORDS = {
    "above": "higher even for a new particle series (its interval, spread between series included, lies above zero)",
    "below": "lower even for a new particle series (its interval, spread between series included, lies below zero)",
    "includes": "no direction once the spread between particle series is allowed for (the interval includes zero)",
    comparators_stats.NOT_ASSESSABLE: "no verdict (two particle series: the spread between series cannot be estimated)",
}
#: The same for one particle series (no spread can be seen).
VERDICT_WORDS_ONE = {
    "above": "that one series' rate is higher (its interval lies above zero)",
    "below": "that one series' rate is lower (its interval lies below zero)",
    "includes": "no direction (the interval includes zero)",
}


def _own_interval(r) -> str:
    n = "" if pd.isna(r.comparator_n) else f"{int(r.comparator_n)}"
    if r.comparator_n_kind == "unknown":
        return "a fixed number: its size is given nowhere, so its uncertainty is not included"
    ci = f"95% CI {r.comparator_ci_low:.0f}% to {r.comparator_ci_high:.0f}%"
    if r.comparator_n_kind == "bound":
        return (
            f"{ci} with n = {n}, the most patients it can have: the narrowest interval it can have, "
            "its real one is wider"
        )
    if "Kaplan" in r.comparator_uncertainty:
        return f"{ci}, Kaplan-Meier from its {n} patients"
    return f"{ci} from its {n} patients"


def _particle_head(r) -> str:
    fig = f"{r.particle_estimate:.1f}% (95% CI {r.particle_ci_low:.1f}% to {r.particle_ci_high:.1f}%"
    if r.k >= 2:
        return f"{r.particle_population}, pooled: {fig}, {int(r.k)} series)"
    return f"{r.particle_population}: one series only, {r.particle_label.split(' (')[0]}: {fig}, not pooled)"


def _comparison_text(r) -> str:
    text = (
        f"{r.particle_population}: difference {r.difference:+.1f} points (95% interval of the mean "
        f"{r.diff_low:+.1f} to {r.diff_high:+.1f}"
    )
    if r.verdict == comparators_stats.NOT_ASSESSABLE:
        text += f"), {VERDICT_WORDS[r.verdict]}"
    elif r.k >= 2:
        text += (
            f"; for a new particle series {r.new_diff_low:+.1f} to {r.new_diff_high:+.1f}), {VERDICT_WORDS[r.verdict]}"
        )
    else:
        text += f"), {VERDICT_WORDS_ONE[r.verdict]}"
    if r.comparator_n_kind == "bound" and r.verdict != "includes":
        text += " (with the comparator's narrowest possible interval)"
    return text


def _comparator_line(label: str, c: pd.DataFrame, certainty: dict) -> str:
    first = c.iloc[0]
    flag = f" **Few at risk:** {first['at_risk_flag']}." if first["at_risk_flag"].startswith("only") else ""
    head = f"  - {md_text(_pretty(label))}, {first['comparator_estimate']:.0f}% ({md_text(_own_interval(first))})"
    if first["comparator_class"] != "comparable":
        return (
            f"{head}. *Context only, not a fair comparison:* {md_text(first['class_reason'])}. "
            f"No verdict is drawn; the particle-minus-comparator figures are in the download.{flag}"
        )
    parts = [_comparison_text(r) for r in c.itertuples()]
    primary = c[c["population_role"] == "primary"]
    p = primary.iloc[0] if len(primary) else first
    who = (
        f"a new particle series like those pooled ({p['particle_population']})"
        if p["k"] >= 2
        else f"that one series ({p['particle_population']})"
    )
    cert = certainty.get((p["landmark"], p["comparator"]))
    cert_text = f" Certainty of this comparison: {cert}." if cert else ""
    return (
        f"{head}. *Comparable* ({md_text(first['class_reason'])}): " + "; ".join(parts) + ". "
        f"Chance that the true rate of {md_text(who)} is higher than the comparator's: "
        f"{_prob(p['prob_particle_exceeds'])}.{cert_text}{flag}"
    )


def benchmark_points(panel: pd.DataFrame, ratings: pd.DataFrame | None = None) -> str:
    """Plain-language Markdown, one block per landmark, every number from ``panel``: comparable
    comparators with their verdict, its meaning and the comparison's certainty (``ratings``, from
    :func:`sarcoma_review.stats.comparison_certainty.rate_panel`); context-only comparators labelled
    so, with the reason and no verdict; the number-at-risk flag wherever it applies.

    Text from the data is escaped (it is shown as Markdown, where raw HTML would run).
    """
    certainty = {} if ratings is None else {(r.landmark, r.comparator): r.certainty for r in ratings.itertuples()}
    blocks = []
    for landmark, g in panel.groupby("landmark", sort=False):
        firsts = g.drop_duplicates("particle_population")
        heads = [
            f"{_particle_head(r)}{' (primary)' if r.population_role == 'primary' else ' (sensitivity)'}"
            for r in firsts.itertuples()
        ]
        head = f"**{md_text(landmark.capitalize())}**: particle therapy, " + "; ".join(heads) + "."
        order = sorted(g.groupby("comparator", sort=False), key=lambda kv: kv[1].iloc[0]["comparator_class"])
        items = [_comparator_line(label, c, certainty) for label, c in order]
        blocks.append("- " + head + "\n" + "\n".join(items))
    return "\n".join(blocks)


def verdict_meaning_markdown() -> str:
    """What "higher", "lower" and "no direction" mean on this page, in plain words."""
    return (
        '**What a verdict means.** "Higher" means that a new particle-therapy series like those pooled '
        "would be expected to have a higher rate than the comparator, once the spread between particle "
        "series is allowed for: the whole interval of the difference for a new series lies above zero. "
        "It does not mean that particle therapy caused the difference: the series were never compared in "
        "one study, and their patients differ. Where only one particle series reports a landmark, the "
        "verdict is about that series alone. Only comparators classified as comparable (curative intent "
        "stated, no selection by dose, tumour size or site, not historical, size known) get a verdict; "
        "the others are shown as context, with the reason."
    )


def size_notes_markdown(bench: pd.DataFrame) -> str:
    """Where each comparator's size or size bound comes from (``size_note`` of the data), as Markdown."""

    rows = bench[bench["n_kind"].isin(["exact", "bound"]) & bench["rate"].notna()].drop_duplicates("label")
    if rows.empty:
        return ""
    items = []
    for r in rows.itertuples():
        size = f"n ≤ {int(r.n_value)}" if r.n_kind == "bound" else f"n = {int(r.n_value)}"
        note = f": {md_text(r.size_note)}" if r.size_note else ""
        items.append(f"- {md_text(_pretty(r.label))} ({size}){note}")
    return "Where each size comes from:\n\n" + "\n".join(items)


def _chart_label(r) -> str:
    base = _pretty(r.comparator)
    if r.comparator_n_kind == "bound":
        base = f"{base} (n ≤ {int(r.comparator_n)}: narrowest interval)"
    elif r.comparator_n_kind == "unknown":
        base = f"{base} (fixed: size unknown)"
    else:
        base = f"{base} (n = {int(r.comparator_n)})"
    if getattr(r, "comparator_class", "comparable") != "comparable":
        base += " [context only]"
    if str(getattr(r, "at_risk_flag", "")).startswith("only"):
        base += f" [{int(r.n_at_risk)} at risk]"
    return base


def benchmark_chart(panel: pd.DataFrame, width: int = 260):
    """One panel per landmark: each particle population's rate with its 95% CI, then each comparator
    with its own 95% interval (a point only where it is a fixed number), with a colour and a marker
    shape per modality (Okabe-Ito; shape tells them apart without colour)."""
    import altair as alt

    charts_ = []
    # one colour and shape per modality (charts.CATEGORY_STYLE), the same domain in every panel
    modalities = ["particle therapy"] + [m for m in dict.fromkeys(panel["modality"]) if m != "particle therapy"]
    colours, shapes = charts.category_style(modalities)
    legend = alt.Legend(orient="bottom", columns=2, symbolSize=120)
    colour = alt.Color("modality:N", title="Modality", legend=legend, scale=alt.Scale(domain=modalities, range=colours))
    shape = alt.Shape("modality:N", title="Modality", legend=legend, scale=alt.Scale(domain=modalities, range=shapes))
    for landmark, g in panel.groupby("landmark", sort=False):
        firsts = g.drop_duplicates("particle_population")
        part = pd.DataFrame(
            {
                "row": [
                    f"Particle therapy, {r.particle_population}: {r.particle_label} ({r.population_role})"
                    for r in firsts.itertuples()
                ],
                "estimate": firsts["particle_estimate"].to_numpy(),
                "ci_low": firsts["particle_ci_low"].to_numpy(),
                "ci_high": firsts["particle_ci_high"].to_numpy(),
                "modality": ["particle therapy"] * len(firsts),
                "interval": list(firsts["particle_interval"]),
            }
        )
        comps = g.drop_duplicates("comparator")
        comp = pd.DataFrame(
            {
                "row": [_chart_label(r) for r in comps.itertuples()],
                "estimate": comps["comparator_estimate"].to_numpy(),
                "ci_low": comps["comparator_ci_low"].to_numpy(),
                "ci_high": comps["comparator_ci_high"].to_numpy(),
                "modality": comps["modality"].to_numpy(),
                "interval": list(comps["comparator_uncertainty"]),
            }
        )
        d = pd.concat([part, comp], ignore_index=True)
        order = list(d["row"])
        x = alt.X("estimate:Q", title="Rate (%)", scale=alt.Scale(domain=[0, 100]))
        y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
        tip = [
            alt.Tooltip("row:N", title="Series"),
            alt.Tooltip("estimate:Q", title="Rate (%)", format=".1f"),
            alt.Tooltip("ci_low:Q", title="95% CI low", format=".1f"),
            alt.Tooltip("ci_high:Q", title="95% CI high", format=".1f"),
            alt.Tooltip("interval:N", title="Interval"),
        ]
        base = alt.Chart(alt.Data(values=d.to_dict(orient="records")))
        primary = part.iloc[[0]]
        band = (
            alt.Chart(alt.Data(values=primary.to_dict(orient="records")))
            .mark_rect(opacity=0.12, color=charts.STUDY_COLOUR)
            .encode(x="ci_low:Q", x2="ci_high:Q")
        )
        layer = alt.layer(
            band,
            base.mark_rule(strokeWidth=2).encode(
                x=alt.X("ci_low:Q", scale=alt.Scale(domain=[0, 100])), x2="ci_high:Q", y=y, color=colour, tooltip=tip
            ),
            base.mark_point(filled=True, size=90, opacity=1).encode(x=x, y=y, color=colour, shape=shape, tooltip=tip),
        ).properties(width=width, height=24 * len(d), title=landmark.capitalize())
        charts_.append(layer)
    return alt.vconcat(*charts_).resolve_scale(y="independent")


def practice_margin(data_dir=None) -> float:
    """The protocol's practice-changing difference in percentage points (``appraisal/grade_thresholds``), against
    which a comparison's imprecision is judged."""
    from sarcoma_review.data import loaders

    t = loaders.load_table("appraisal", "grade_thresholds", data_dir).set_index("threshold_id")
    return float(t.at["practice_margin", "value"])


def method_markdown(data_dir=None) -> str:
    """The Methods chapter's paragraph on how a comparison is computed (generated here, shown there)."""
    margin = practice_margin(data_dir)
    return (
        "**How each comparison is computed.** A comparator carries its own sampling uncertainty wherever "
        "its size is known or bounded: a rate whose number of patients *n* the text gives has the binomial "
        "variance 1 / (*n p* (1 − *p*)) on the logit scale, the variance the pooled model gives each series; a "
        "rate of a subgroup of a series of known size has the same variance with the series' size as *n*, which "
        "is the narrowest interval it can honestly have (its real interval is wider), and is labelled so; only a "
        "rate whose size is given nowhere stays a fixed number, labelled so. **One series, one interval "
        "method:** the ifosfamide radiochemotherapy series, whose patients are listed one by one, gets the "
        "Kaplan–Meier interval with the Greenwood variance on the log(−log) scale wherever it is compared — for "
        "its rate as the paper reports it (centred on that rate) and for the rate recomputed from its patients "
        "alike — because that interval allows for the censoring a binomial interval ignores, and it is the "
        "interval the ifosfamide chapter shows. The difference (particle therapy minus comparator, in "
        "percentage points) has a 95% interval by the method of variance estimates recovery (MOVER, "
        "square-and-add; {cite:t}`newcombe1998`), built from the two 95% intervals as shown, with the two "
        "assumed independent (they are different patients). **Higher or lower** is read from the interval of "
        "the difference for a *new* particle series — the same construction with the prediction interval of "
        "the pool in place of the interval of its mean — so that the spread between particle series is "
        "allowed for; the interval of the mean difference is shown beside it. The chance shown is that the "
        "true rate of a new particle series like those pooled (its predictive *t* distribution on *k* − 1 "
        "degrees of freedom) is higher than the comparator's true rate, computed by Gauss–Hermite quadrature. "
        "**Which comparators count.** A comparator is comparable only when its source states curative intent, "
        "its rate is not for the lower-dose group (below 63 Gy, the dose by which the source separates its "
        "groups), it is not selected by tumour size, site or resection margin, no year before the first "
        "particle series is printed for it, and its size is known or bounded; a fact the sources do not give "
        "cannot make it comparable. The others are shown as context only, with the reason, and without a "
        "verdict. A local-control comparator with fewer than "
        f"{comparators_stats.MIN_AT_RISK} patients at risk at the landmark is flagged wherever it is shown: "
        "below that, one more event moves the Kaplan–Meier estimate by more than a tenth of its value. "
        "**Certainty of a comparison.** Each comparison is rated on its own (GRADE, observational evidence, "
        "starting low): risk of bias from a comparator resting on few patients at risk, inconsistency when "
        "the spread between particle series changes the answer (not assessable for one series), "
        "indirectness when the particle series are not soft-tissue sarcoma series like the comparators, and "
        f"imprecision when the interval of the mean difference crosses the practice-changing difference of "
        f"{margin:g} percentage points either way (a stated choice of the review's protocol): one level for one "
        "threshold crossed, two for both. The comparisons with "
        "soft-tissue sarcoma series use the non-chordoma series as the primary particle-therapy figure and "
        "all series as a sensitivity analysis; every comparison and every rating is published as a "
        "download."
    )


def skipped_markdown(panel: pd.DataFrame) -> str:
    """The comparators that could not be compared, with the reason (never a silent omission)."""

    skipped = panel.attrs.get("skipped", [])
    if not skipped:
        return "Every comparator with a rate at a stated horizon was compared."
    return "Not compared:\n" + "\n".join(f"- {md_text(_pretty(lbl))}: {md_text(why)}." for lbl, why in skipped)
