"""GRADE certainty of the comparative question: particle therapy against one comparator.

The pooled rates have their own rating (:mod:`sarcoma_review.stats.certainty`); a comparison is a
different question -- is the particle rate higher or lower than this comparator's? -- and is rated
here, as a comparison of **observational** evidence: separate single-arm series set side by side,
never randomised, never adjusted for the differences between their patients. So it **starts low**
(that confounding is why it starts low, and is not counted again), and each domain is judged from
the numbers of the comparison row (:func:`rate_comparison`), with its reason in words:

* **risk of bias** -- *serious* when the comparator's local control rests on fewer than
  :data:`~sarcoma_review.stats.comparators.MIN_AT_RISK` patients at risk at the landmark
  (Kaplan-Meier with deaths censored: with many patients dead, the rate describes the few left);
* **inconsistency** -- for a pool, *serious* when allowing for the spread between particle series
  changes the answer (the verdict read from the new-series interval differs from the one read from
  the interval of the mean); for one particle series *not assessable* (no downgrade, said so);
* **indirectness** -- *serious* when the particle series are not all soft-tissue sarcoma series
  while the comparators the sources quote are (a comparison of different populations);
* **imprecision** -- judged on the interval of the difference of the means (heterogeneity is judged
  under inconsistency only, so it is never counted twice) against the protocol's practice-changing
  difference ``margin`` (``data/appraisal/grade_thresholds.csv``): the decision thresholds are minus and
  plus the margin; *not serious* when the interval crosses neither (wholly above, within or below),
  *serious* when it crosses one, *very serious* when it crosses both, or crosses one while the
  comparator's interval is only the narrowest it can have (its size is only bounded) so the real
  interval is wider still. Without a margin (``margin=None``) the one threshold is no difference (zero).

Levels: high 4, moderate 3, low 2, very low 1; each serious domain takes one, very serious two, never
below very low. No upgrading is considered (no dose-response or large-effect analysis exists for a
comparison of separate series); that is one of the published assumptions (:data:`ASSUMPTIONS`).
"""

from __future__ import annotations

import pandas as pd

from sarcoma_review.stats.comparators import MIN_AT_RISK

__all__ = ["LEVELS", "ASSUMPTIONS", "CSV_COLUMNS", "rate_comparison", "rate_panel"]

LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
START = 2

ASSUMPTIONS = (
    "comparison of separate observational series: starts low (confounding between the series is why, and is not "
    "counted again); each domain is judged from the comparison's own numbers; imprecision on the interval of the "
    "difference of the means against the protocol's practice-changing difference (minus and plus the margin), "
    "heterogeneity under inconsistency only; one particle series: inconsistency not "
    f"assessable; a local-control comparator with fewer than {MIN_AT_RISK} patients at risk at the landmark is a "
    "risk of bias; no upgrading considered"
)

CSV_COLUMNS = [
    "landmark",
    "particle_population",
    "comparator",
    "comparator_class",
    "start",
    "risk_of_bias",
    "risk_of_bias_reason",
    "inconsistency",
    "inconsistency_reason",
    "indirectness",
    "indirectness_reason",
    "imprecision",
    "imprecision_reason",
    "certainty",
    "assumptions",
]

_STEP = {"not serious": 0, "not assessable": 0, "serious": 1, "very serious": 2}


def _rob(r) -> tuple[str, str]:
    n = r["n_at_risk"]
    if r["endpoint"] == "LC" and pd.notna(n) and n < MIN_AT_RISK:
        return "serious", (
            f"the comparator's local control rests on {int(n)} patients at risk at the landmark "
            "(Kaplan-Meier with deaths censored: the rate describes the few still followed)"
        )
    return "not serious", "no concern beyond the confounding between separate series, for which the rating starts low"


def _inconsistency(r) -> tuple[str, str]:
    if int(r["k"]) < 2:
        return "not assessable", "one particle series only: no spread between series can be seen"
    if pd.isna(r["new_diff_low"]) or pd.isna(r["new_diff_high"]):
        return "serious", (
            f"with {int(r['k'])} particle series the spread between series cannot be estimated (no prediction "
            "interval), so whether it changes the answer is unknown"
        )
    if r["verdict"] != r["verdict_mean"]:
        return "serious", (
            f"the spread between the {int(r['k'])} particle series changes the answer: the interval "
            f"of the mean difference runs {r['diff_low']:+.0f} to {r['diff_high']:+.0f} points, a new "
            f"series' difference {r['new_diff_low']:+.0f} to {r['new_diff_high']:+.0f}"
        )
    return "not serious", (
        f"allowing for the spread between the {int(r['k'])} particle series does not change the "
        f"answer (a new series' difference {r['new_diff_low']:+.0f} to {r['new_diff_high']:+.0f} "
        "points)"
    )


def _indirectness(r) -> tuple[str, str]:
    st, k = int(r["particle_soft_tissue_series"]), int(r["k"])
    if st < k:
        return "serious", (
            f"{k - st} of the {k} particle series are not soft-tissue sarcoma series (bone, mixed or "
            "unreported histology), while the comparator is a soft-tissue sarcoma series"
        )
    return "not serious", f"all {k} particle series are soft-tissue sarcoma series, like the comparator"


def _imprecision(r, margin: float | None = None) -> tuple[str, str]:
    lo, hi = r["diff_low"], r["diff_high"]
    points = sorted({-float(margin), float(margin)}) if margin else [0.0]
    hit = [p for p in points if lo < p < hi]
    span = f"the interval of the difference ({lo:+.0f} to {hi:+.0f} points)"
    if margin:
        named = " and ".join(f"{p:+g}" for p in points)
        if not hit:
            where = "above" if lo >= points[-1] else "below" if hi <= points[0] else "within"
            return "not serious", (
                f"{span} lies wholly {where} the practice-changing difference ({named} points, the protocol's margin)"
            )
        crossed = (
            f"{span} crosses {' and '.join(f'{p:+g}' for p in hit)} points, the protocol's practice-changing difference"
        )
    else:
        if not hit:
            return "not serious", f"{span} lies wholly {'above' if lo >= 0 else 'below'} zero"
        crossed = f"{span} includes no difference"
    if len(hit) >= 2:
        return "very serious", f"{crossed}: clinical action would differ at its two ends"
    if r["comparator_n_kind"] == "bound":
        return "very serious", (
            f"{crossed}, and it is built with the comparator's narrowest possible interval "
            "(only an upper bound of its size is known): the real one is wider"
        )
    return "serious", crossed


def rate_comparison(r, margin: float | None = None) -> dict:
    """The rating of one comparison row (a mapping with the columns of the comparisons panel); ``margin``: the
    protocol's practice-changing difference in percentage points (None: zero difference is the one threshold)."""
    out = {
        "landmark": r["landmark"],
        "particle_population": r["particle_population"],
        "comparator": r["comparator"],
        "comparator_class": r["comparator_class"],
        "start": LEVELS[START],
    }
    level = START
    for name, judge in (
        ("risk_of_bias", _rob),
        ("inconsistency", _inconsistency),
        ("indirectness", _indirectness),
        ("imprecision", lambda row: _imprecision(row, margin)),
    ):
        j, why = judge(r)
        out[name], out[f"{name}_reason"] = j, why
        level -= _STEP[j]
    out["certainty"] = LEVELS[max(1, level)]
    out["assumptions"] = ASSUMPTIONS
    return out


def rate_panel(panel: pd.DataFrame, margin: float | None = None) -> pd.DataFrame:
    """The rating of every primary-population comparison of ``panel`` (columns :data:`CSV_COLUMNS`), imprecision
    judged against minus and plus ``margin`` (the protocol's practice-changing difference)."""
    rows = [rate_comparison(r, margin) for _, r in panel[panel["population_role"] == "primary"].iterrows()]
    return pd.DataFrame(rows, columns=CSV_COLUMNS)
