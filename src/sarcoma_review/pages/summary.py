"""The summary of findings on the introduction's first screen, and its published CSV.

One row per pooled landmark of ``book/analyses.yml`` (all series): series and patients, the pooled rate
with its 95% CI and prediction interval (or, with one series, that series' own rate), the photon and
radiochemotherapy figures the sources quote for the same endpoint and horizon, the GRADE certainty
(:mod:`sarcoma_review.stats.certainty`), a plain-language sentence generated from the numbers, a link to
the pooled page, and footnotes explaining every rating-down. The CSV holds the same rows for every
population (all series, non-chordoma, chordoma).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sarcoma_review.audit import flags as audit_flags
from sarcoma_review.data import loaders, overlap, patient_groups
from sarcoma_review.data.vocabulary import landmark_name
from sarcoma_review.stats import certainty as grade
from sarcoma_review.stats import pooling
from sarcoma_review.stats.sensitivity import pool_primary

#: Comparator modalities shown beside the particle-therapy rates (photon radiotherapy, radiochemotherapy).
COMPARATOR_MODALITIES = ("photon RT", "radiotherapy with radiosensitiser", "radiotherapy alone")
#: What a reader is told the certainty level means for the sentence of a row.
_UNCERTAINTY = {
    "high": "the evidence is reliable",
    "moderate": "the evidence is probably reliable",
    "low": "the evidence is uncertain",
    "very low": "the evidence is very uncertain",
}
#: The reader's words for the populations.
POPULATION_NAMES = {"all": "all series", "non-chordoma": "series other than chordoma", "chordoma": "chordoma series"}

CSV_NAME = "summary_of_findings.csv"
#: Float format of the published CSV (four significant digits: beyond any reported precision).
CSV_FLOAT_FORMAT = "%.4g"


def _landmarks(analyses: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The analyses that pool all series of one landmark (no subgroup restriction), in file order; the first
    entry of each endpoint and horizon (a second entry for the same landmark is a variant, not a new outcome)."""
    out, seen = [], set()
    for a in analyses:
        key = (str(a["endpoint"]), float(a["horizon_years"]))
        if a.get("subgroup_column") or key in seen:
            continue
        seen.add(key)
        out.append(a)
    return out


#: The comparator modality whose comparable figures set the decision thresholds of the computed GRADE domains
#: (the decision: particle therapy or curative-dose photon radiotherapy).
DECISION_MODALITY = "photon RT"


def load_thresholds(data_dir: Path | None = None) -> grade.Thresholds:
    """The protocol's GRADE thresholds (``appraisal/grade_thresholds``)."""
    return grade.Thresholds.from_table(loaders.load_table("appraisal", "grade_thresholds", data_dir))


def decision_figures(data_dir: Path | None = None) -> dict[tuple[str, float], list[tuple[str, float]]]:
    """The comparable photon figures per landmark, ``{(endpoint, horizon): [(label, rate), ...]}``: the
    comparators of :data:`DECISION_MODALITY` that the comparisons chapter classifies as comparable
    (:func:`sarcoma_review.pages.comparisons.sof_comparisons`)."""
    from sarcoma_review.pages.comparisons import sof_comparisons

    c = sof_comparisons(data_dir)
    c = c[c["modality"] == DECISION_MODALITY].drop_duplicates(["endpoint", "horizon_years", "comparator"])
    out: dict[tuple[str, float], list[tuple[str, float]]] = {}
    for r in c.itertuples():
        out.setdefault((str(r.endpoint), float(r.horizon_years)), []).append(
            (str(r.comparator), float(r.comparator_estimate))
        )
    return out


def rate_analyses(
    literature: pd.DataFrame,
    judgements: pd.DataFrame,
    analyses: Sequence[Mapping[str, Any]],
    populations: Iterable[str] = grade.POPULATIONS,
    *,
    thresholds: grade.Thresholds,
    figures: grade.DecisionFigures | None = None,
) -> list[tuple[Mapping[str, Any], grade.Certainty]]:
    """``(analysis entry, rating)`` for every landmark analysis and population, pooled with the entry's model,
    rated against ``thresholds`` and the comparable photon ``figures`` (:func:`decision_figures`)."""
    out = []
    for a in _landmarks(analyses):

        def pool(rows: pd.DataFrame, ep: str, hz: float, a: Mapping[str, Any] = a) -> dict[str, Any]:
            return (
                pool_primary(
                    rows,
                    ep,
                    hz,
                    tau2_method=a.get("tau2_method", "REML"),
                    ci_method=a.get("ci_method", pooling.PRIMARY_CI),
                )
                .iloc[0]
                .to_dict()
            )

        for c in grade.rate_all(
            literature,
            judgements,
            [(a["endpoint"], float(a["horizon_years"]))],
            populations,
            pool=pool,
            thresholds=thresholds,
            figures=figures,
        ):
            out.append((a, c))
    return out


def _source_names(data_dir: Path | None = None) -> dict[str, str]:
    """Seed file -> short name of the paper (``"Cuccia et al. 2020"``) from ``appraisal/sources``."""
    s = loaders.load_table("appraisal", "sources", data_dir)
    s = s[s["seed_file"].notna() & (s["seed_file"].astype(str) != "")]  # the review's two source papers
    return {str(r.seed_file): str(r.label).split(" (")[0] for r in s.itertuples()}


def comparator_figures(
    endpoint: str, horizon_years: float, data_dir: Path | None = None, flags: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """The comparable comparators for this endpoint and horizon, each with the comparison and its certainty.

    Only comparators the comparisons chapter classifies as comparable stand here
    (:func:`sarcoma_review.pages.comparisons.sof_comparisons`); context-only ones stay on that page.
    ``flags`` (:func:`sarcoma_review.audit.flags.value_flags`) marks a comparison that uses a value the
    reproduction audit flags.
    """
    from sarcoma_review.pages.comparisons import sof_comparisons

    names = _source_names(data_dir)
    cited = {
        str(r.comparator_id): (names.get(str(r.cited_in), str(r.cited_in)), str(r.location))
        for r in loaders.load_comparators(data_dir).itertuples()
    }
    ifo = next((v for k, v in names.items() if "003_" in k), "the ifosfamide series")
    c = sof_comparisons(data_dir, flags=flags)
    c = c[(c["endpoint"] == endpoint) & (c["horizon_years"] == float(horizon_years))]
    out = []
    for r in c.itertuples():
        paper, where = cited.get(str(r.comparator_source), (ifo, "its own results"))
        out.append(
            {
                "label": str(r.comparator),
                "rate_percent": float(r.comparator_estimate),
                "source": f"quoted by {paper}, {where}" if str(r.comparator_source) in cited else paper,
                "id": str(r.comparator_source),
                "short": f"{r.short} [{paper}]",
            }
        )
    return out


def _pct(x: float) -> str:
    return f"{x:.0f}%"


def _series_label(literature: pd.DataFrame, study_ids: str) -> str:
    s = literature.drop_duplicates("study_id").set_index("study_id")
    return "; ".join(f"{s.at[i, 'first_author']} {int(s.at[i, 'year'])}" for i in study_ids.split(";") if i)


def downgraded(c: grade.Certainty) -> list[grade.DomainRating]:
    return [d for d in c.domains if d.downgrade < 0]


def statement(c: grade.Certainty, literature: pd.DataFrame) -> str:
    """One plain sentence for a row, every number from the rating."""
    r = c.result
    what = landmark_name(c.endpoint, c.horizon_years)
    down = downgraded(c)
    because = (
        (
            " because of "
            + _join([grade.DOMAIN_NAMES[d.domain] + (" (very serious)" if d.downgrade <= -2 else "") for d in down])
        )
        if down
        else ""
    )
    tail = f"; {_UNCERTAINTY[c.level]} ({c.level} certainty{because})."
    if int(r["k"]) == 2:
        return (
            f"Two series report {what}: {_landmark_values(literature, c)}; two series are shown side by side, "
            f"not as a pooled bottom line" + tail
        )
    if not c.pooled:
        return (
            f"Only one series ({_series_label(literature, str(r.get('study_ids', '')))}, {int(r['n_patients'])} "
            f"patients) reports {what}: {_pct(r['estimate'])}; nothing is pooled, and inconsistency between series "
            "is not assessable" + tail
        )
    return (
        f"Particle therapy series report {what} of about {_pct(r['estimate'])} "
        f"({int(r['k'])} series, {int(r['n_patients'])} patients; a new series could expect "
        f"{_pct(r['pi_low'])} to {_pct(r['pi_high'])})" + tail
    )


def _landmark_values(literature: pd.DataFrame, c: grade.Certainty) -> str:
    ids = str(c.result.get("study_ids", "")).split(";")
    d = literature[
        (literature["endpoint"] == c.endpoint)
        & (literature["horizon_years"].astype(float) == c.horizon_years)
        & literature["study_id"].isin(ids)
    ]
    return _series_values(d)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def sof_frame(
    literature: pd.DataFrame,
    judgements: pd.DataFrame,
    analyses: Sequence[Mapping[str, Any]],
    populations: Iterable[str] = grade.POPULATIONS,
    data_dir: Path | None = None,
    comparators: bool = True,
    thresholds: grade.Thresholds | None = None,
    figures: grade.DecisionFigures | None = None,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The summary-of-findings table (one row per landmark x population), as published in the CSV.

    Columns: outcome, endpoint, horizon_years, population, k, n_patients, model (``random effects`` or
    ``single study``: one series' own rate, nothing pooled), series (the series' names), estimate, ci_low,
    ci_high, pi_low, pi_high (empty for one series), certainty, certainty_symbols, then per domain its
    judgement, ``<domain>_downgrade``, ``<domain>_basis`` (computed/judged) and ``<domain>_reason``;
    comparators (the figures beside it, with sources; left empty with ``comparators=False``), statement, page;
    then :data:`AUDIT_COLUMNS` (:func:`audit_columns`; empty without ``flags``). The ratings always use the
    protocol's ``thresholds`` and the comparable photon ``figures`` (read from ``data_dir`` when not given),
    whatever is displayed.
    """
    thresholds = thresholds or load_thresholds(data_dir)
    figures = decision_figures(data_dir) if figures is None else figures
    rows = []
    for a, c in rate_analyses(literature, judgements, analyses, populations, thresholds=thresholds, figures=figures):
        r = c.result
        comps = comparator_figures(c.endpoint, c.horizon_years, data_dir, flags) if comparators else []
        row = {
            "outcome": landmark_name(c.endpoint, c.horizon_years),
            "endpoint": c.endpoint,
            "horizon_years": c.horizon_years,
            "population": c.population,
            "k": int(r["k"]),
            "n_patients": int(r["n_patients"]),
            "model": (f"random effects ({r['tau2_method']}, {r['ci_method']})" if c.pooled else "single study"),
            "series": _series_label(literature, str(r.get("study_ids", ""))),
            "estimate": float(r["estimate"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "pi_low": float(r["pi_low"]) if c.pooled else float("nan"),
            "pi_high": float(r["pi_high"]) if c.pooled else float("nan"),
            "certainty": c.level,
            "certainty_symbols": c.symbols,
        }
        for d in c.domains:
            row[d.domain] = d.judgement
            row[f"{d.domain}_downgrade"] = d.downgrade
            row[f"{d.domain}_basis"] = d.basis
            row[f"{d.domain}_reason"] = d.reason
        row["comparators"] = " | ".join(f"{x['label']}: {x['rate_percent']:g}% ({x['source']})" for x in comps)
        row["comparators_short"] = " | ".join(x["short"] for x in comps)
        row["series_values"] = _landmark_values(literature, c)
        row["statement"] = statement(c, literature)
        row["page"] = f"pooled/{a['id']}.html"
        row.update(audit_columns(literature, flags, c.endpoint, c.horizon_years, str(r.get("study_ids", "")), a))
        rows.append(row)
    return pd.DataFrame(rows)


#: The reproduction audit's flags on a row's values: ``audit_flag`` (the flagged series values in plain words,
#: ``""`` when none), ``audit_findings`` (finding ids), ``audit_href`` (the first finding in the audit chapter)
#: and the row's primary model without the flagged series (``without_flagged_k``, ``without_flagged_estimate``,
#: ``without_flagged_ci_low``, ``without_flagged_ci_high``; empty when nothing is flagged).
AUDIT_COLUMNS = [
    "audit_flag",
    "audit_findings",
    "audit_href",
    "without_flagged_k",
    "without_flagged_estimate",
    "without_flagged_ci_low",
    "without_flagged_ci_high",
]


def audit_columns(
    literature: pd.DataFrame,
    flags: pd.DataFrame | None,
    endpoint: str,
    horizon_years: float,
    study_ids: str,
    analysis: Mapping[str, Any],
) -> dict[str, Any]:
    """:data:`AUDIT_COLUMNS` of one row pooling ``study_ids`` (``";"``-joined) at one landmark: which of its
    values the audit flags (:func:`sarcoma_review.audit.flags.flagged_literature`: only the value used counts)
    and the primary model without those series."""
    out: dict[str, Any] = dict.fromkeys(AUDIT_COLUMNS, "")
    out.update(dict.fromkeys(AUDIT_COLUMNS[3:], float("nan")))
    if flags is None or flags.empty:
        return out
    ids = [i for i in study_ids.split(";") if i]
    d = literature[
        (literature["endpoint"] == endpoint)
        & (literature["horizon_years"].astype(float) == float(horizon_years))
        & literature["study_id"].isin(ids)
    ]
    t = audit_flags.flagged_literature(flags, d)
    hit = t[t["audit_findings"] != ""]
    if hit.empty:
        return out
    out["audit_flag"] = "; ".join(
        f"{r.first_author} {int(r.year)}: {float(r.rate_percent):g}% (audit: {r.audit_verdict})"
        for r in hit.itertuples()
    )
    out["audit_findings"] = "; ".join(dict.fromkeys(f for x in hit["audit_findings"] for f in x.split("; ")))
    out["audit_href"] = hit["audit_href"].iloc[0]
    rest = d[~d["study_id"].isin(hit["study_id"])]
    if not rest.empty:
        w = pool_primary(
            rest,
            endpoint,
            float(horizon_years),
            tau2_method=analysis.get("tau2_method", "REML"),
            ci_method=analysis.get("ci_method", pooling.PRIMARY_CI),
        ).iloc[0]
        out.update(
            without_flagged_k=int(w["k"]),
            without_flagged_estimate=float(w["estimate"]),
            without_flagged_ci_low=float(w["ci_low"]),
            without_flagged_ci_high=float(w["ci_high"]),
        )
    return out


def audit_note_html(r: Mapping[str, Any]) -> str:
    """The flag a summary row shows when the audit flags one of its values: the marker linked to the finding,
    the flagged value and the estimate without it (``""`` when nothing is flagged)."""
    if not r.get("audit_flag"):
        return ""
    verdict = "inconsistent" if "inconsistent" in str(r["audit_flag"]) else "implausible"
    k = r.get("without_flagged_k")
    if pd.isna(k) or k == "":
        without = "no series remains without it"
    elif int(k) == 1:
        without = (
            f"without it one series remains: {float(r['without_flagged_estimate']):.1f}% "
            f"({float(r['without_flagged_ci_low']):.1f} to {float(r['without_flagged_ci_high']):.1f}), not pooled"
        )
    else:
        without = (
            f"without it {float(r['without_flagged_estimate']):.1f}% ({float(r['without_flagged_ci_low']):.1f} to "
            f"{float(r['without_flagged_ci_high']):.1f}), {int(k)} series"
        )
    values = re.sub(r" [(]audit: [a-z]+[)]", "", str(r["audit_flag"]))
    return (
        f'<br><small class="audit-flag"><a href="{_e(r["audit_href"])}">{_e(audit_flags.marker(verdict))}</a> '
        f"on a value pooled here ({_e(values)}); {_e(without)}</small>"
    )


def write_csv(frame: pd.DataFrame, folder: str | Path) -> Path:
    """Write ``summary_of_findings.csv`` into ``folder``."""
    p = Path(folder) / CSV_NAME
    p.write_bytes(csv_bytes(frame))
    return p


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The CSV as published (and frozen by a release): deterministic bytes for the same computation."""
    return frame.to_csv(index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n").encode("utf-8")


def footnotes(frame: pd.DataFrame) -> tuple[dict[tuple[int, str], str], list[tuple[str, str]]]:
    """Footnote marks: ``{(row index, domain): mark}`` and the list of ``(mark, text)``, one per distinct reason."""
    marks: dict[tuple[int, str], str] = {}
    notes: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for i, r in frame.iterrows():
        for d in grade.DOMAINS:
            if int(r[f"{d}_downgrade"]) >= 0:
                continue
            levels = "two levels" if int(r[f"{d}_downgrade"]) <= -2 else "one level"
            text = f"Rated down {levels} for {grade.DOMAIN_NAMES[d]} ({r[f'{d}_basis']}; {r[d]}): {r[f'{d}_reason']}"
            if text not in seen:
                seen[text] = chr(ord("a") + len(notes)) if len(notes) < 26 else str(len(notes) + 1)
                notes.append((seen[text], text))
            marks[(i, d)] = seen[text]
    return marks, notes


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def sof_html(frame: pd.DataFrame, table_id: str = "summary-of-findings", strata: pd.DataFrame | None = None) -> str:
    """The summary-of-findings table as escaped HTML: links to the pooled pages, footnote marks, and under
    each outcome its plain-language sentence.

    ``strata`` (the full table, every population) adds under each rate the series other than chordoma, the
    population the photon and radiochemotherapy figures (soft-tissue sarcoma series) are closest to.
    """
    marks, notes = footnotes(frame)
    head = [
        "Outcome",
        "Series (patients)",
        "Particle therapy: rate (95% CI) and prediction interval",
        "Photon RT or radiochemotherapy, as quoted [source]",
        "Certainty",
    ]
    out = [
        f'<table class="review-table sof-table" id="{_e(table_id)}" style="font-size: 0.85rem">'
        + '<colgroup><col style="width: 15%"><col style="width: 10%"><col style="width: 24%">'
        + '<col style="width: 36%"><col style="width: 15%"></colgroup><thead><tr>'
        + "".join(f'<th scope="col">{h}</th>' for h in head)
        + "</tr></thead><tbody>"
    ]
    for i, r in frame.iterrows():
        link = f'<a href="{_e(r["page"])}"><strong>{_e(r["outcome"])}</strong></a>'
        rate = f"<strong>{r['estimate']:.1f}%</strong> ({r['ci_low']:.1f} to {r['ci_high']:.1f})"
        if int(r["k"]) == 2:
            rate = f"two series, not pooled: {_e(r['series_values'])}"
        elif r["model"] == "single study":
            rate += f"<br><em>one series ({_e(r['series'])}): not pooled</em>"
        else:
            rate += f"<br>prediction interval {r['pi_low']:.0f}% to {r['pi_high']:.0f}%"
        rate += audit_note_html(r)
        if strata is not None:
            o = strata[
                (strata["endpoint"] == r["endpoint"])
                & (strata["horizon_years"] == r["horizon_years"])
                & (strata["population"] == "non-chordoma")
            ]
            if len(o) == 1:
                o = o.iloc[0]
                if int(o["k"]) == 2:
                    val = f"two series, not pooled: {_e(o['series_values'])}"
                else:
                    what = (
                        f"one series ({_e(o['series'])}), not pooled"
                        if o["model"] == "single study"
                        else f"{int(o['k'])} series"
                    )
                    val = f"{o['estimate']:.1f}% ({o['ci_low']:.1f} to {o['ci_high']:.1f}), {what}"
                rate += f"<br><small>other than chordoma: {val}; {_e(o['certainty'])} certainty</small>"
        comps = r["comparators_short"].split(" | ") if r["comparators_short"] else []
        comp = "<br>".join(_e(x) for x in comps) if comps else "none quoted for this landmark"
        sup = ",".join(
            f'<a href="#sof-note-{m}">{m}</a>'
            for m in dict.fromkeys(marks[(i, d)] for d in grade.DOMAINS if (i, d) in marks)
        )
        sup = f"<sup>{sup}</sup>" if sup else ""
        cert = (
            f'<span class="grade-symbols" aria-hidden="true">{r["certainty_symbols"]}</span><br>'
            f"{_e(r['certainty'])}{sup}"
        )
        rid = f"sof-{_e(r['endpoint'].lower())}-{r['horizon_years']:g}y"
        out.append(
            f'<tr id="{rid}"><td>{link}</td><td>{int(r["k"])} ({int(r["n_patients"])})</td><td>{rate}</td>'
            f"<td>{comp}</td><td>{cert}</td></tr>"
        )
        out.append(
            f'<tr class="sof-statement"><td colspan="5" style="border-bottom: 2px solid #bbb">'
            f"<em>{_e(r['statement'])}</em></td></tr>"
        )
    out.append("</tbody></table>")
    out.append(
        '<ol class="sof-notes" style="list-style: none; padding-left: 0; font-size: 0.85em">'
        + "".join(f'<li id="sof-note-{m}"><strong>{m}</strong>. {_e(t)}</li>' for m, t in notes)
        + "</ol>"
    )
    return "".join(out)


def load_sof(
    analyses: Sequence[Mapping[str, Any]], data_dir: Path | None = None, comparators: bool = True
) -> pd.DataFrame:
    """:func:`sof_frame` for the data in ``data_dir`` (default ``data/``): every landmark and population."""
    lit = loaders.load_literature(data_dir)
    judgements = loaders.load_table("appraisal", "certainty_judgements", data_dir)
    flags = audit_flags.value_flags(data_dir)
    return sof_frame(lit, judgements, analyses, data_dir=data_dir, comparators=comparators, flags=flags)


def lead_values(shown: pd.DataFrame) -> dict[str, Any]:
    """Glue values for the sentence above the table: outcomes shown and how many at each certainty level."""
    counts = shown["certainty"].value_counts()
    parts = [f"{int(counts[lvl])} at {lvl} certainty" for lvl in reversed(grade.LEVELS) if lvl in counts.index]
    return {
        "sof_n_outcomes": len(shown),
        "sof_levels": _join(parts) if parts else "none rated",
        "sof_n_single": int((shown["model"] == "single study").sum()),
    }


def intro_values(analyses: Sequence[Mapping[str, Any]], data_dir: Path | None = None) -> dict[str, Any]:
    """Glue values for the introduction's account of the evidence: where the series come from (Table I's
    series read in their own publications, the update's search) and the pooled analyses in words."""
    from sarcoma_review.data import evidence
    from sarcoma_review.pages.methods import pooled_landmarks_text

    flow = evidence.search_flow(data_dir)
    return {
        "intro_n_table_i": flow["previous_series"],
        "intro_n_table_i_read": flow["previous_readable"],
        "intro_n_new": flow["new_series"],
        "intro_search_date": flow["search_date_last"],
        "intro_n_overlap_groups": flow["overlap_groups"],
        "intro_pooled_landmarks": pooled_landmarks_text(analyses),
    }


# --- the clinical questions by patient group (front page) ---------------------------------------------------

#: Endpoints the group questions answer on the front page (the others are in the published CSV).
GROUP_ENDPOINTS = ("LC", "OS")
#: Groups whose rows carry the photon and radiochemotherapy figures (all quoted for soft-tissue sarcoma).
COMPARATOR_GROUPS = (patient_groups.SOFT,)
#: Where the comparator figures come from: ``f(endpoint, horizon_years, data_dir) -> list of dicts`` with
#: ``short`` (swap this for the comparable-comparator function of the comparisons chapter).
comparator_source = comparator_figures
GROUPS_CSV_NAME = "summary_by_patient_group.csv"


def _series_values(rows: pd.DataFrame) -> str:
    """``"Demizu 2021: 63% (219 patients); ..."`` for the rows of one landmark."""
    return "; ".join(
        f"{r.first_author} {int(r.year)}: {float(r.rate_percent):.0f}% ({int(r.n_patients)} patients)"
        for r in rows.itertuples()
    )


def _kind(k: int) -> str:
    return "single series" if k == 1 else "two series" if k == 2 else "pooled"


def group_frame(
    literature: pd.DataFrame,
    judgements: pd.DataFrame,
    analyses: Sequence[Mapping[str, Any]],
    endpoints: Iterable[str] | None = None,
    thresholds: grade.Thresholds | None = None,
    figures: grade.DecisionFigures | None = None,
    data_dir: Path | None = None,
    flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per patient group x landmark the group's series report: the series counted (each shared cohort
    once, among the group's own series), each series' own rate, the pooled rate where there are two or more
    series, its GRADE certainty, and ``shown_as`` (``single series``, ``two series`` (never a bottom line: the
    page shows both series' values) or ``pooled``), and :data:`AUDIT_COLUMNS` (empty without ``flags``).
    Rated as :func:`sof_frame` rates (``thresholds``, ``figures``: read from ``data_dir`` when not given)."""
    thresholds = thresholds or load_thresholds(data_dir)
    figures = decision_figures(data_dir) if figures is None else figures
    groups = patient_groups.group_of(literature)
    lit = literature.assign(patient_group_derived=literature["study_id"].map(groups))
    keep = set(endpoints) if endpoints is not None else None
    rows = []
    for g in patient_groups.GROUPS:
        for a in _landmarks(analyses):
            ep, hz = str(a["endpoint"]), float(a["horizon_years"])
            if keep is not None and ep not in keep:
                continue
            d = lit[
                (lit["patient_group_derived"] == g)
                & (lit["endpoint"] == ep)
                & (lit["horizon_years"].astype(float) == hz)
            ]
            d = overlap.independent(d).reset_index(drop=True)
            if d.empty:
                continue
            res = (
                pool_primary(
                    d,
                    ep,
                    hz,
                    tau2_method=a.get("tau2_method", "REML"),
                    ci_method=a.get("ci_method", pooling.PRIMARY_CI),
                )
                .iloc[0]
                .to_dict()
            )
            res["study_ids"] = ";".join(d["study_id"].astype(str))
            c = grade.rate(res, judgements, ep, hz, patient_groups.JUDGEMENT_POPULATION[g], thresholds, figures)
            k = int(res["k"])
            rows.append(
                {
                    "group": g,
                    "group_name": patient_groups.NAMES[g],
                    "outcome": landmark_name(ep, hz),
                    "endpoint": ep,
                    "horizon_years": hz,
                    "k": k,
                    "n_patients": int(res["n_patients"]),
                    "shown_as": _kind(k),
                    "series_values": _series_values(d),
                    "series": _series_label(literature, res["study_ids"]),
                    "model": (
                        f"random effects ({res['tau2_method']}, {res['ci_method']})" if k >= 2 else "single study"
                    ),
                    "estimate": float(res["estimate"]),
                    "ci_low": float(res["ci_low"]),
                    "ci_high": float(res["ci_high"]),
                    "pi_low": float(res["pi_low"]) if k >= 2 else float("nan"),
                    "pi_high": float(res["pi_high"]) if k >= 2 else float("nan"),
                    "certainty": c.level,
                    "certainty_symbols": c.symbols,
                    "rated_down_for": "; ".join(
                        f"{grade.DOMAIN_NAMES[x.domain]} ({x.judgement})" for x in downgraded(c)
                    ),
                    **{d.domain: d.judgement for d in c.domains},
                    "judged_domains_from": patient_groups.JUDGEMENT_POPULATION[g],
                    "page": f"pooled/{a['id']}.html",
                    **audit_columns(literature, flags, ep, hz, res["study_ids"], a),
                }
            )
    return pd.DataFrame(rows)


def result_text(r: Mapping[str, Any]) -> str:
    """A group row's result in words: one series' rate, two series' rates side by side, or the pooled rate."""
    if r["shown_as"] == "single series":
        return f"one series, {r['series_values']}"
    if r["shown_as"] == "two series":
        return f"two series (not pooled): {r['series_values']}"
    return (
        f"about {_pct(r['estimate'])} (95% CI {_pct(r['ci_low'])} to {_pct(r['ci_high'])}; "
        f"{int(r['k'])} series, {int(r['n_patients'])} patients)"
    )


def _headline(rows: pd.DataFrame) -> list[Mapping[str, Any]]:
    """Per endpoint of :data:`GROUP_ENDPOINTS`, the group's row at its longest horizon."""
    out = []
    for ep in GROUP_ENDPOINTS:
        r = rows[rows["endpoint"] == ep]
        if len(r):
            out.append(r.sort_values("horizon_years").iloc[-1])
    return out


def _sites(studies: pd.DataFrame, group: str) -> str:
    g = patient_groups.derive(studies)
    g = g[g["group"] == group]
    sites = sorted({str(s) for s in g["site"]})
    return f"{len(g)} series; site{'s' if len(sites) > 1 else ''}: {', '.join(sites)}"


def group_answers_html(groups: pd.DataFrame, harms: pd.DataFrame, studies: pd.DataFrame) -> str:
    """The front page's first screen: each group's question and its answer in three lines (local control and
    overall survival at the longest landmark its series report, severe late toxicity), each with its certainty.
    Two series are shown as their two values, never as a pooled 'about X%'."""
    out = ['<div class="group-answers">']
    for g in patient_groups.GROUPS:
        rows = groups[groups["group"] == g]
        if rows.empty:
            continue
        out.append(
            f'<section class="group-question" id="question-{_e(g.replace(" ", "-"))}">'
            f"<p><strong>{_e(patient_groups.QUESTIONS[g])}?</strong> "
            f"<small>({_e(_sites(studies, g))})</small></p><ul>"
        )
        for r in _headline(rows):
            out.append(
                f'<li class="group-benefit"><a href="#{_e(_row_id(g, r["endpoint"], r["horizon_years"]))}">'
                f"{_e(r['outcome'][0].upper() + r['outcome'][1:])}</a>: {_e(result_text(r))}; "
                f"<em>{_e(r['certainty'])} certainty</em>{_why_rated(r)}{_flag_link(r)}</li>"
            )
        h = harms[harms["group"] == g]
        if len(h):
            h = h.iloc[0]
            out.append(
                f'<li class="group-harm"><a href="#{_e(_row_id(g, "harm", 0))}">Severe late toxicity</a> '
                f"(grade 3 or worse): {_e(h['series_short'])}; <em>{_e(h['certainty'])} certainty</em>; "
                f"{_e(h['followup'])}, later effects not counted.</li>"
            )
        else:
            out.append('<li class="group-harm">Severe late toxicity: no series of this group reports it.</li>')
        out.append("</ul></section>")
    out.append("</div>")
    return "".join(out)


def _why_rated(r: Mapping[str, Any]) -> str:
    """`` (rated down for risk of bias, imprecision)``: the domains behind a front-page certainty, by name."""
    down = [part.split(" (")[0].strip() for part in str(r.get("rated_down_for") or "").split(";") if part.strip()]
    return f" <small>(rated down for {_e(', '.join(down))})</small>" if down else ""


def _flag_link(r: Mapping[str, Any]) -> str:
    """`` (audit: inconsistent)`` linked to the finding when the audit flags one of a row's values."""
    if not r.get("audit_flag"):
        return ""
    verdict = "inconsistent" if "inconsistent" in str(r["audit_flag"]) else "implausible"
    return f' (<a class="audit-flag" href="{_e(r["audit_href"])}">{_e(audit_flags.marker(verdict))}</a>)'


def _row_id(group: str, endpoint: str, horizon: float) -> str:
    return f"sof-{group.replace(' ', '-')}-{str(endpoint).lower()}" + (f"-{horizon:g}y" if horizon else "")


def group_table_html(
    groups: pd.DataFrame, harms: pd.DataFrame, group: str, data_dir: Path | None = None, comparators: bool = True
) -> str:
    """One group's summary of findings: every landmark its series report (local control and overall survival),
    then the harms row; one series as that series, two as their two values, three or more pooled."""
    head = [
        "Outcome",
        "Series (patients)",
        "Particle therapy",
        "Photon RT or radiochemotherapy, as quoted [source]",
        "Certainty",
    ]
    out = [
        f'<table class="review-table sof-table group-sof" id="sof-table-{_e(group.replace(" ", "-"))}" '
        'style="font-size: 0.85rem"><colgroup><col style="width: 15%"><col style="width: 10%">'
        '<col style="width: 36%"><col style="width: 24%"><col style="width: 15%"></colgroup><thead><tr>'
        + "".join(f'<th scope="col">{h}</th>' for h in head)
        + "</tr></thead><tbody>"
    ]
    rows = groups[groups["group"] == group].sort_values(["endpoint", "horizon_years"], ascending=[True, False])
    for _, r in rows.iterrows():
        if r["shown_as"] == "pooled":
            rate = (
                f"<strong>{r['estimate']:.1f}%</strong> ({r['ci_low']:.1f} to {r['ci_high']:.1f}); prediction "
                f"interval {r['pi_low']:.0f}% to {r['pi_high']:.0f}%<br><small>{_e(r['series_values'])}</small>"
            )
        else:
            rate = _e(result_text(r))
        rate += audit_note_html(r)
        comps = (
            comparator_source(r["endpoint"], r["horizon_years"], data_dir)
            if comparators and group in COMPARATOR_GROUPS
            else []
        )
        comp = "<br>".join(_e(x["short"]) for x in comps) if comps else "none quoted for this group"
        out.append(
            f'<tr id="{_e(_row_id(group, r["endpoint"], r["horizon_years"]))}">'
            f'<td><a href="{_e(r["page"])}"><strong>{_e(r["outcome"])}</strong></a></td>'
            f"<td>{int(r['k'])} ({int(r['n_patients'])})</td><td>{rate}</td><td>{comp}</td>"
            f'<td><span class="grade-symbols" aria-hidden="true">{r["certainty_symbols"]}</span><br>'
            f"{_e(r['certainty'])}<br><small>{_e(_rated_down_text(r))}</small></td></tr>"
        )
    h = harms[harms["group"] == group]
    if len(h):
        h = h.iloc[0]
        items = "<br>".join(_e(x) for x in h["series_values"].split(" | "))
        out.append(
            f'<tr id="{_e(_row_id(group, "harm", 0))}" class="sof-harm">'
            f'<td><a href="toxicity.html"><strong>{_e(h["outcome"])}</strong></a></td>'
            f"<td>{int(h['k'])} ({int(h['n_patients'])})</td><td>{items}<br><small>{_e(h['followup'])}"
            f'</small></td><td>not compared</td><td><span class="grade-symbols" aria-hidden="true">'
            f"{h['certainty_symbols']}</span><br>{_e(h['certainty'])}<br><small>{_e(h['rated_down_for'])}"
            f"</small></td></tr>"
        )
        out.append(f'<tr class="sof-statement"><td colspan="5"><em>{_e(h["followup_caveat"])}</em></td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _rated_down_text(r: Mapping[str, Any]) -> str:
    """What a group row was rated down for, and, for one series, that inconsistency is not assessable."""
    parts = [str(r["rated_down_for"])] if str(r.get("rated_down_for", "") or "") else []
    if r.get("inconsistency") == "not assessable":
        parts.append("inconsistency not assessable (one series)")
    return "; ".join(parts)


def load_groups(analyses: Sequence[Mapping[str, Any]], data_dir: Path | None = None) -> pd.DataFrame:
    """:func:`group_frame` for the data in ``data_dir`` (every endpoint; the front page shows LC and OS)."""
    lit = loaders.load_literature(data_dir)
    judgements = loaders.load_table("appraisal", "certainty_judgements", data_dir)
    return group_frame(lit, judgements, analyses, data_dir=data_dir, flags=audit_flags.value_flags(data_dir))


def write_group_csvs(groups: pd.DataFrame, harms: pd.DataFrame, studies: pd.DataFrame, folder: str | Path) -> None:
    """``summary_by_patient_group.csv`` (benefit and harm rows) and ``patient_groups.csv`` (each series' group,
    the rule that placed it and what it assumes)."""
    both = pd.concat([groups, harms.assign(shown_as="series' own statements, not pooled")], ignore_index=True)
    (Path(folder) / GROUPS_CSV_NAME).write_bytes(csv_bytes(both))
    (Path(folder) / patient_groups.CSV_NAME).write_bytes(csv_bytes(patient_groups.derive(studies)))
