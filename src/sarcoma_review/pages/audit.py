"""Shaping of the audit results for the "Reproduction audit" chapter (pure functions)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sarcoma_review.audit.feasibility import KMProblem
from sarcoma_review.audit.reconstruct import PER_MONTH_CAP, JointReconstruction, last_reported_time
from sarcoma_review.audit.records import VERDICTS
from sarcoma_review.data.vocabulary import ENDPOINT_NAMES
from sarcoma_review.pages.render import charts
from sarcoma_review.stats import survival

SOURCE_NAMES = {
    "cnao": "Cuccia et al. 2020 (CNAO)",
    "ifosfamide": "Eckert et al. 2010 (ifosfamide)",
    "table_i": "Table I of Cuccia et al. 2020 against each series' own publication",
}


def endpoint_title(endpoint: str) -> str:
    """``"LC"`` -> ``"Local control"``: :data:`sarcoma_review.data.vocabulary.ENDPOINT_NAMES`, capitalised."""
    name = ENDPOINT_NAMES.get(endpoint, endpoint)
    return name[:1].upper() + name[1:]


#: Reader-facing groups of findings, most important first: what a reader of the paper relies on
#: most (its outcomes) before how the patients were treated, the statistics and who they were.
TIERS = (
    ("Table I against the series' own publications", ("table_i.",)),
    (
        "Survival, local control and follow-up",
        (
            ".km.",
            "ipd.os",
            "ipd.lc",
            "ipd.dfs",
            "ipd.fu_",
            "ipd.deaths",
            "ipd.alive",
            "ipd.latest",
            "follow_up",
            ".lc_",
            ".os_",
            ".dfs",
            "distant_metastases",
            "died_metastasized",
            ".LC.",
            ".OS.",
            ".DPFS.",
        ),
    ),
    (
        "Treatment and toxicity",
        ("ifo.pt.", "ifo.nar.", "surgery", "therapy_completed", "rt_as_planned", "dose", "neuropathy", "chemo"),
    ),
    ("Statistical tests", ("table4", "logrank")),
    ("Who the patients were", ("",)),
)

#: Order of verdicts within a group: the worst first.
VERDICT_ORDER = {"inconsistent": 0, "implausible": 1, "cannot check": 2, "consistent with rounding": 3, "consistent": 4}


def tier(check_id: str) -> tuple[int, str]:
    """``(rank, group name)`` of a check in :data:`TIERS`: statistical tests are recognised first
    (a Cox row on prior surgery is a test, not treatment), then the groups in order."""
    order = [2] + [i for i in range(len(TIERS)) if i != 2]
    for i in order:
        name, pats = TIERS[i]
        if any(pat in check_id for pat in pats):
            return i, name
    return len(TIERS) - 1, TIERS[-1][0]


def _findings(audit: pd.DataFrame) -> pd.DataFrame:
    role = audit["role"] if "role" in audit.columns else pd.Series("finding", index=audit.index)
    return audit[role == "finding"]


def summary(audit: pd.DataFrame) -> pd.DataFrame:
    """Findings (one per conflict: rows with ``role == "finding"``) per paper and verdict, with
    totals, and the rows that only explore a finding (not counted as findings)."""
    f = _findings(audit)
    t = pd.crosstab(f["source"].map(SOURCE_NAMES).fillna(f["source"]), f["verdict"])
    t = t.reindex(columns=[v for v in VERDICTS if v in t.columns], fill_value=0)
    t["all findings"] = t.sum(axis=1)
    expl = audit[audit["role"] == "exploration"] if "role" in audit.columns else audit.iloc[0:0]
    t["rows exploring a finding"] = (
        expl["source"].map(SOURCE_NAMES).fillna(expl["source"]).value_counts().reindex(t.index, fill_value=0)
    )
    return t.reset_index().rename(columns={"source": "paper"})


def _sentence(text: str) -> str:
    text = str(text).strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def findings_html(
    audit: pd.DataFrame, anchor, row_anchor, flagged=("inconsistent", "implausible", "cannot check")
) -> str:
    """The findings in plain words: one item per finding whose verdict is in ``flagged``, grouped
    by paper and by :data:`TIERS` (most important first), each with a stable anchor
    (``anchor(finding_id)``, e.g. ``finding-cnao.km.LC``) and a link to its row in the full table."""
    f = _findings(audit)
    f = f[f["verdict"].isin(flagged)].copy()
    if f.empty:
        return "<p>Every check passed.</p>"
    f["_tier"] = f["check_id"].map(lambda c: tier(c)[0])
    f["_v"] = f["verdict"].map(VERDICT_ORDER)
    n_expl = (
        audit[audit["role"] == "exploration"].groupby("finding_id").size()
        if "role" in audit.columns
        else pd.Series(dtype=int)
    )
    out = []
    first = True  # the first group of the first paper stays open; the others fold under a count
    for src in [s for s in SOURCE_NAMES if s in set(f["source"])] + sorted(set(f["source"]) - set(SOURCE_NAMES)):
        g = f[f["source"] == src].sort_values(["_tier", "_v", "check_id"], kind="stable")
        out.append(f'<h3 class="audit-source">{html.escape(SOURCE_NAMES.get(src, src))}</h3>')
        for t_rank, gg in g.groupby("_tier", sort=True):
            counts = ", ".join(f"{n} {v}" for v, n in gg["verdict"].value_counts().items())
            out.append(
                f'<details class="review-fold"{" open" if first else ""}><summary>'
                f'{html.escape(TIERS[t_rank][0])}: {html.escape(counts)}</summary><ul class="audit-findings">'
            )
            first = False
            for _, r in gg.iterrows():
                e = {k: html.escape(str(v)) for k, v in r.items()}
                extra = int(n_expl.get(r["finding_id"], 0))
                more = (
                    (
                        f" {extra} further row{'s' if extra != 1 else ''} explore{'s' if extra == 1 else ''} it "
                        "(each statement dropped in turn, each reading of an ambiguous value)."
                    )
                    if extra
                    else ""
                )
                out.append(
                    f'<li id="{html.escape(anchor(r["finding_id"]), quote=True)}"><strong>{e["quantity"]}</strong> '
                    f'<span class="audit-verdict audit-verdict-{html.escape(r["verdict"].replace(" ", "-"))}">'
                    f"{e['verdict']}</span> ({e['location']}). Printed: <em>{e['reported']}</em>; "
                    f"recomputed: {e['recomputed']}. {html.escape(_sentence(r['explanation']))}{html.escape(more)} "
                    f'<a href="#{html.escape(row_anchor(r["check_id"]), quote=True)}">Row in the table</a>.</li>'
                )
            out.append("</ul></details>")
    return "".join(out)


def inconsistency_bullets(audit: pd.DataFrame, anchor=lambda cid: "audit-" + cid) -> str:
    """HTML list, one item per inconsistent finding (escaped): where, what, why, and a link to its row."""
    items = []
    for _, r in _findings(audit)[lambda d: d["verdict"] == "inconsistent"].iterrows():
        e = {k: html.escape(str(v)) for k, v in r.items()}
        why = e["explanation"][:1].upper() + e["explanation"][1:]
        items.append(
            f"<li><strong>{html.escape(SOURCE_NAMES.get(r['source'], r['source']))}, {e['location']}</strong>"
            f" &mdash; {e['quantity']}: printed <em>{e['reported']}</em>; recomputed: {e['recomputed']}. "
            f'{why}. <a href="#{html.escape(anchor(r["check_id"]), quote=True)}">See the row</a>.</li>'
        )
    return '<ul class="audit-findings">' + "".join(items) + "</ul>"


def _slug(verdict: str) -> str:
    return verdict.replace(" ", "-")


def checks_html(audit: pd.DataFrame, row_anchor, table) -> str:
    """The full table of checks: one collapsed ``<details>`` per paper, filterable by verdict.

    The filter needs no script: radio buttons and a CSS ``:has()`` rule hide the rows of other
    verdicts (browsers without ``:has`` show every row). ``table`` is
    :func:`sarcoma_review.pages.render.tables.html_table`; each row keeps its anchor
    (``row_anchor(check_id)``) and gets a ``data-verdict`` attribute.
    """
    verdicts = [v for v in VERDICTS if v in set(audit["verdict"])]
    radios = ['<input type="radio" name="audit-verdict" id="audit-v-all" checked><label for="audit-v-all">all</label>']
    css = []
    for v in verdicts:
        sl = _slug(v)
        radios.append(
            f'<input type="radio" name="audit-verdict" id="audit-v-{sl}"><label for="audit-v-{sl}">'
            f"{html.escape(v)}</label>"
        )
        css.append(
            f'.audit-checks:has(#audit-v-{sl}:checked) tr[data-verdict]:not([data-verdict="{sl}"]){{display:none}}'
        )
    parts = [
        "<style>" + "".join(css) + ".audit-filter label{margin:0 .8em 0 .2em}</style>",
        '<div class="audit-checks"><fieldset class="audit-filter"><legend>Show verdict</legend>'
        + "".join(radios)
        + "</fieldset>",
    ]
    cols = {
        "location": "where",
        "quantity": "what",
        "reported": "printed",
        "recomputed": "recomputed",
        "verdict": "verdict",
        "explanation": "why",
    }
    more = {"check_id": "check", "finding_id": "finding", "role": "role"}  # identifiers fold into each row
    for src in [s for s in SOURCE_NAMES if s in set(audit["source"])]:
        g = audit[audit["source"] == src].reset_index(drop=True)
        ids = [row_anchor(c) for c in g["check_id"]]
        body = table(g, columns=cols, details=more, row_ids=ids, caption=f"All checks of {SOURCE_NAMES[src]}").data
        for rid, v in zip(ids, g["verdict"]):
            body = body.replace(
                f'<tr id="{html.escape(rid, quote=True)}">',
                f'<tr id="{html.escape(rid, quote=True)}" data-verdict="{_slug(v)}">',
                1,
            )
        n_f = int((g["role"] == "finding").sum()) if "role" in g.columns else len(g)
        parts.append(
            f"<details><summary>{html.escape(SOURCE_NAMES[src])}: {len(g)} rows, {n_f} findings"
            f"</summary>{body}</details>"
        )
    parts.append("</div>")
    return "".join(parts)


def columns_doc() -> pd.DataFrame:
    """The columns of the published audit.csv and what each holds."""
    from sarcoma_review.audit.records import COLUMN_DOCS, COLUMNS

    return pd.DataFrame({"column": list(COLUMNS), "what it holds": [COLUMN_DOCS[c] for c in COLUMNS]})


def statements_table(problems: dict[str, KMProblem], dropped: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Per endpoint and reported statement: honoured by the reconstruction, or dropped and why."""
    rows = []
    for ep, p in problems.items():
        for s in p.statements():
            why = dropped.get(ep, {}).get(s)
            rows.append(
                {
                    "endpoint": endpoint_title(ep),
                    "statement": p.describe(s),
                    "in the reconstruction": "dropped" if why else "honoured",
                    "why dropped": why or "",
                }
            )
    return pd.DataFrame(rows)


def follow_up_minima_text(minima: Sequence[tuple[float, str]]) -> str:
    """``[(6, "Results"), (4, "Abstract")]`` -> ``"6 months in the Results, 4 in the Abstract"``."""
    parts = [
        f"{v:g} months in the {where}" if i == 0 else f"{v:g} in the {where}" for i, (v, where) in enumerate(minima)
    ]
    return ", ".join(parts)


def dropped_text(reasons: dict[str, dict[str, str]]) -> str:
    """One sentence per endpoint whose reconstruction drops a statement, built from
    :func:`sarcoma_review.audit.reconstruct.dropped_reasons`; ``""`` when none is dropped."""
    out = []
    for ep, why in reasons.items():
        if why:
            out.append(
                f"For {ENDPOINT_NAMES.get(ep, ep)} the reconstruction leaves out what cannot coexist "
                "with the other statements: the " + "; the ".join(why.values()) + "."
            )
    return " ".join(out)


def reconstruction_km(pseudo: pd.DataFrame, problem: KMProblem, endpoint: str, step: float = 12.0):
    """The Kaplan-Meier chart of one reconstructed pseudo-patient file (``time_months``, ``event``),
    drawn only up to :func:`sarcoma_review.audit.reconstruct.last_reported_time`: beyond it the reconstruction is
    unconstrained by the
    paper, so no curve, band or number at risk is shown there. Numbers at risk every ``step`` months
    and at the last reported time."""
    t, e = pseudo["time_months"], pseudo["event"]
    k = survival.kaplan_meier(t, e)
    curve = pd.concat(
        [
            pd.DataFrame({"time": [0.0], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0]}),
            k.rename(columns={"surv": "survival"})[["time", "survival", "ci_low", "ci_high"]],
        ]
    )
    curve["group"] = "reconstructed"
    last = last_reported_time(problem)
    grid = sorted({*np.arange(0.0, last, step).tolist(), last})
    risk = survival.number_at_risk(t, e, grid).rename(columns={"n_risk": "n_at_risk"})
    risk["group"] = "reconstructed"
    title = (
        f"{endpoint_title(endpoint)}: reconstructed pseudo-data, not the paper's data "
        f"(drawn to {last:g} months, the last time the paper reports)"
    )
    return charts.km_plot(curve, risk[["group", "time", "n_at_risk"]], title=title, max_time=last)


def one_cohort_text(rec: JointReconstruction, follow_up: dict) -> str:
    """What the CNAO pseudo-cohort assumes, in plain words, every number from the reconstruction.

    ``rec`` is :func:`sarcoma_review.audit.reconstruct.joint_reconstruction`, ``follow_up`` its
    :func:`sarcoma_review.audit.reconstruct.follow_up_median_record`."""
    os_df = rec.frames["OS"]
    n, deaths = len(os_df), int(os_df["event"].sum())
    lo, hi = os_df["time_months"].min(), os_df["time_months"].max()
    names = [ENDPOINT_NAMES.get(ep, ep) for ep in rec.frames if ep != "OS"]
    inside = follow_up["in_the_reconstruction"]
    med = follow_up["reported"]
    dop = (
        f"At least {rec.died_of_progression} of the {deaths} deaths come after a local failure or a distant "
        "progression, as the paper says that many patients died of their disease."
        if rec.died_of_progression_honoured
        else f"The paper's {rec.died_of_progression} deaths from disease progression cannot be placed with the rest, "
        "so the reconstruction does not honour them."
    )
    reading = (
        f"The paper's median follow-up of {med:g} months is read as the median of all {n} patients' follow-up "
        "times, because the paper prints it with the range of those times and does not say how it was computed; "
        f"in the reconstruction that median is {inside['median_of_all_follow_up_times']:g} months"
        if follow_up["honoured"]
        else f"The paper's median follow-up of {med:g} months cannot be honoured with the rest"
    )
    rkm, surv = inside["reverse_kaplan_meier_median"], inside["median_follow_up_of_survivors"]
    spread = (
        " Between the times the paper names, deaths, other ends of follow-up and events are spread evenly, "
        f"at most {PER_MONTH_CAP} of each kind per month."
        if rec.capped
        else " Between the times the paper names, deaths, other ends of follow-up and events are spread evenly."
    )
    others = []
    if rkm is not None:
        others.append(f"the reverse Kaplan–Meier median, another usual reading, is {rkm:.1f} months")
    if surv is not None:
        others.append(f"the median among the patients alive at last contact is {surv:.1f} months")
    return (
        f"The {n} invented patients are one cohort: the same patients in every curve. Each has one follow-up "
        f"time, from {lo:g} to {hi:g} months, ending at death or at the last contact, and it is the same for "
        f"every endpoint. A patient without a local failure (or distant progression) is counted as followed "
        f"without it until the end of that time, so deaths are censored for {' and '.join(names)}, as in the "
        "paper's curves; no local failure or distant progression comes after the end of a patient's "
        f"follow-up. {dop} {reading}" + (f" ({'; '.join(others)})." if others else ".") + spread
    )


def at_risk_by_month(frames: dict[str, pd.DataFrame], last: float, step: float = 6.0) -> pd.DataFrame:
    """Numbers at risk of each reconstructed endpoint every ``step`` months up to ``last`` (and at it),
    one row per time, readers' names for the endpoints."""
    from sarcoma_review.audit.reconstruct import at_risk_table

    grid = sorted({*np.arange(0.0, last, step).tolist(), float(last)})
    t = at_risk_table(frames, grid).reset_index()
    t = t.rename(columns={"month": "months", **{ep: endpoint_title(ep) for ep in frames}})
    return t
