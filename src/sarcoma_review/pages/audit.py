"""Shaping of the audit results for the "Reproduction audit" chapter (pure functions)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from sarcoma_review.audit.feasibility import KMProblem
from sarcoma_review.audit.records import VERDICTS
from sarcoma_review.data.vocabulary import ENDPOINT_NAMES

SOURCE_NAMES = {"cnao": "Cuccia et al. 2020 (CNAO)", "ifosfamide": "Eckert et al. 2010 (ifosfamide)"}


def endpoint_title(endpoint: str) -> str:
    """``"LC"`` -> ``"Local control"``: :data:`sarcoma_review.analysis.ENDPOINT_NAMES`, capitalised."""
    name = ENDPOINT_NAMES.get(endpoint, endpoint)
    return name[:1].upper() + name[1:]


def summary(audit: pd.DataFrame) -> pd.DataFrame:
    """Checks per source (rows) and verdict (columns, in :data:`VERDICTS` order), with totals."""
    t = pd.crosstab(audit["source"].map(SOURCE_NAMES).fillna(audit["source"]), audit["verdict"])
    t = t.reindex(columns=[v for v in VERDICTS if v in t.columns], fill_value=0)
    t["all checks"] = t.sum(axis=1)
    return t.reset_index().rename(columns={"source": "paper"})


def inconsistency_bullets(audit: pd.DataFrame, anchor=lambda cid: "audit-" + cid) -> str:
    """HTML list, one item per inconsistent check (escaped): where, what, why, and a link to its row."""
    items = []
    for _, r in audit[audit["verdict"] == "inconsistent"].iterrows():
        e = {k: html.escape(str(v)) for k, v in r.items()}
        why = e["explanation"][:1].upper() + e["explanation"][1:]
        items.append(f"<li><strong>{html.escape(SOURCE_NAMES.get(r['source'], r['source']))}, {e['location']}</strong>"
                     f" &mdash; {e['quantity']}: printed <em>{e['reported']}</em>; recomputed: {e['recomputed']}. "
                     f'{why}. <a href="#{html.escape(anchor(r["check_id"]), quote=True)}">See the row</a>.</li>')
    return '<ul class="audit-findings">' + "".join(items) + "</ul>"


def statements_table(problems: dict[str, KMProblem], dropped: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Per endpoint and reported statement: honoured by the reconstruction, or dropped and why."""
    rows = []
    for ep, p in problems.items():
        for s in p.statements():
            why = dropped.get(ep, {}).get(s)
            rows.append({"endpoint": endpoint_title(ep), "statement": p.describe(s),
                         "in the reconstruction": "dropped" if why else "honoured", "why dropped": why or ""})
    return pd.DataFrame(rows)


def follow_up_minima_text(minima: Sequence[tuple[float, str]]) -> str:
    """``[(6, "Results"), (4, "Abstract")]`` -> ``"6 months in the Results, 4 in the Abstract"``."""
    parts = [f"{v:g} months in the {where}" if i == 0 else f"{v:g} in the {where}"
             for i, (v, where) in enumerate(minima)]
    return ", ".join(parts)


def dropped_text(reasons: dict[str, dict[str, str]]) -> str:
    """One sentence per endpoint whose reconstruction drops a statement, built from
    :func:`sarcoma_review.audit.reconstruct.dropped_reasons`; ``""`` when none is dropped."""
    out = []
    for ep, why in reasons.items():
        if why:
            out.append(f"For {ENDPOINT_NAMES.get(ep, ep)} the reconstruction leaves out what cannot coexist "
                       "with the other statements: the " + "; the ".join(why.values()) + ".")
    return " ".join(out)
