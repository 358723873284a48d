"""What the study chapters share: glue, plain values, fact lookups, lists of flagged numbers."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sarcoma_review.data.vocabulary import ENDPOINT_NAMES
from sarcoma_review.stats import survival

#: A Table IV cell as printed: ``HR (low - high)``.
_COX_PRINTED = re.compile(r"^\s*([0-9.]+)\s*\(\s*([0-9.]+)\s*-\s*([0-9.]+)\s*\)\s*$")

ENDPOINT_ORDER = ("LC", "DPFS", "OS")


def endpoint_title(endpoint: str) -> str:
    """``"LC"`` -> ``"Local control"`` (:data:`sarcoma_review.data.vocabulary.ENDPOINT_NAMES`, capitalised)."""
    name = ENDPOINT_NAMES.get(endpoint, endpoint)
    return name[:1].upper() + name[1:]


# --------------------------------------------------------------------------------------------
# glue helpers
# --------------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A Python scalar for ``myst_nb.glue``: numpy/pandas scalars become ``int``/``float``/``str``.

    myst-nb pastes the ``text/plain`` repr, which for ``np.int64(54)`` is ``"np.int64(54)"``;
    converting first makes ``{glue:text}`key:.1f``` work. Missing values become ``"NA"``.
    """
    if value is None or value is pd.NA:
        return "NA"
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return "NA"
        return f
    return str(value)


def glue_values(values: Mapping[str, Any]) -> None:
    """``myst_nb.glue(key, plain(value), display=False)`` for every item (call inside a notebook)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, plain(value), display=False)


def fact_values(facts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{fact_id: {"value", "low", "high", "printed", "location"}}`` from ``cnao/facts``."""
    out = {}
    for _, r in facts.iterrows():
        out[str(r["fact_id"])] = {
            "value": r["value"],
            "low": r["value_low"],
            "high": r["value_high"],
            "printed": r["value_as_printed"],
            "location": r["location"],
        }
    return out


def _printed_number(x: Any) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f)


def _rounding_words(explanation: str) -> str:
    """``"... prints as 68 under truncate only"`` -> ``"fits only if truncated"``; else ``"rounded"``."""
    return "fits only if truncated" if explanation.endswith("truncate only") else "rounded"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.astype("object").where(df.notna(), None)
    return out.to_dict(orient="records")


def km_frames(
    time: Sequence[float], event: Sequence[int], group: str, at_risk_times: Sequence[float]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three inputs of :func:`sarcoma_review.pages.render.charts.km_plot` for one group.

    Returns ``km`` (from time 0, survival 1; fractions with the 95% log-log interval of
    :func:`sarcoma_review.stats.survival.kaplan_meier`), ``at_risk`` (numbers at risk at
    ``at_risk_times``) and ``censored`` (time and survival at each censoring).
    """
    km = survival.kaplan_meier(time, event)
    start = pd.DataFrame({"time": [0.0], "surv": [1.0], "ci_low": [1.0], "ci_high": [1.0], "n_censor": [0]})
    curve = pd.concat([start, km[["time", "surv", "ci_low", "ci_high", "n_censor"]]], ignore_index=True)
    curve = curve.drop_duplicates("time", keep="last")
    kmf = pd.DataFrame(
        {
            "group": group,
            "time": curve["time"],
            "survival": curve["surv"],
            "ci_low": curve["ci_low"],
            "ci_high": curve["ci_high"],
        }
    )
    cens = km[km["n_censor"] > 0]
    censored = pd.DataFrame({"group": group, "time": cens["time"], "survival": cens["surv"]})
    nar = survival.number_at_risk(time, event, at_risk_times)
    at_risk = pd.DataFrame({"group": group, "time": nar["time"], "n_at_risk": nar["n_risk"]})
    return kmf.reset_index(drop=True), at_risk, censored.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# values quoted in the chapters' prose (glued by key)
# --------------------------------------------------------------------------------------------
def _join(items: Sequence[str]) -> str:
    items = list(items)
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def significant_cells(df: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """``"GTV volume>1000cc (LC, p = 0.04)"`` for every Table III/IV cell with printed p <= alpha."""
    sub = df[df["applicable"].astype(bool) & (df["p_value"].astype(float) <= alpha)]
    col = "p_as_printed" if "p_as_printed" in df.columns else None
    out = []
    for _, r in sub.iterrows():
        p = r[col] if col else _COX_PRINTED.match(str(r["as_printed"])).group(1)
        out.append(f"{r['variable_as_printed']} ({r['endpoint']}, p = {p})")
    return out


def _position(x: float, lo: float, hi: float) -> str:
    """``"below"``, ``"within"`` or ``"above"`` the range ``lo``-``hi``."""
    return "below" if x < lo else ("above" if x > hi else "within")


def _number_word(n: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[n] if 0 <= n < len(words) else str(n)


def audit_flags_html(source: str, audit: pd.DataFrame | None = None):
    """The findings of ``source`` ("cnao" or "ifosfamide") that failed the reproduction audit
    (inconsistent or implausible), as a brief HTML list linking each to its finding in the audit
    chapter (``audit.html#finding-<finding_id>``). Each conflict is listed once: the audit's rows
    that only explore a finding are not.

    Escaped throughout; the links are relative, and the study chapters sit beside ``audit`` in
    ``book/``.
    """
    import html as _html

    from IPython.display import HTML

    from sarcoma_review.audit import links

    flagged = links(source, audit=audit)
    if flagged.empty:
        return HTML("<p>No number of this paper failed a check of the reproduction audit.</p>")
    items = []
    for r in flagged.itertuples():
        if ".km." in r.check_id:
            what = _html.escape(str(r.explanation))
        else:
            what = f"printed {_html.escape(str(r.reported))}; recomputed {_html.escape(str(r.recomputed))}"
        tag = "" if r.verdict == "inconsistent" else f" <em>({_html.escape(str(r.verdict))})</em>"
        items.append(
            f"<li><strong>{_html.escape(str(r.quantity))}</strong>{tag} ({_html.escape(str(r.location))}): {what}. "
            f'<a href="{_html.escape(r.href, quote=True)}">Finding in the audit</a></li>'
        )
    return HTML('<ul class="audit-flags">' + "".join(items) + "</ul>")
