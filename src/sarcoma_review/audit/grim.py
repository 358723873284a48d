"""Pure arithmetic checks on printed numbers (no data access).

Every function works on exact fractions so that "does 6/11 print as 54%?" has one answer per
rounding rule. Three rules are tried: ``half-up`` (the school rule), ``half-even`` (banker's
rounding, IEEE default) and ``truncate`` (dropping digits, as some software and hand tables do).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from sarcoma_review.audit.records import CheckResult

#: Rounding rules tried by the GRIM-style checks, in order of preference.
ROUNDING_MODES = ("half-up", "half-even", "truncate")

Number = int | float | str | Fraction | Decimal


def decimals_of(printed: Number) -> int:
    """Number of decimals a printed value carries (``"84.8"`` -> 1, ``"64"`` -> 0, ``"0.0010"`` -> 4).

    Pass printed values as strings to keep trailing zeros; floats lose them.
    """
    text = str(printed).strip().rstrip("%")
    if "e" in text.lower():
        raise ValueError(f"pass {printed!r} as printed (no exponent) so its precision is known")
    return len(text.split(".")[1]) if "." in text else 0


def to_fraction(x: Number) -> Fraction:
    """Exact fraction of a number given as int, str, Decimal, Fraction or float (via its repr)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, float):
        return Fraction(Decimal(repr(x)))
    return Fraction(Decimal(str(x).strip().rstrip("%")))


def round_exact(x: Fraction, decimals: int, mode: str) -> Fraction:
    """Round a non-negative exact value to ``decimals`` places under ``mode``.

    Parameters
    ----------
    x : Fraction
        The exact value (must be >= 0).
    decimals : int
        Places after the decimal point.
    mode : {"half-up", "half-even", "truncate"}
        Rounding rule.
    """
    if x < 0:
        raise ValueError("round_exact expects a non-negative value")
    scale = Fraction(10) ** decimals
    y = x * scale
    floor = math.floor(y)
    frac = y - floor
    if mode == "truncate":
        k = floor
    elif mode == "half-up":
        k = floor + (1 if frac >= Fraction(1, 2) else 0)
    elif mode == "half-even":
        if frac > Fraction(1, 2) or (frac == Fraction(1, 2) and floor % 2 == 1):
            k = floor + 1
        else:
            k = floor
    else:
        raise ValueError(f"unknown rounding mode {mode!r}; use one of {ROUNDING_MODES}")
    return Fraction(k) / scale


def printed_interval(printed: Number, mode: str = "half-up") -> tuple[Fraction, Fraction]:
    """Half-open interval ``[lo, hi)`` of exact values that print as ``printed`` under ``mode``.

    ``"84.8"`` half-up -> [84.75, 84.85); truncate -> [84.8, 84.9). (Half-even differs from
    half-up only on the boundary points; it is treated like half-up here.)
    """
    d = decimals_of(printed)
    v = to_fraction(printed)
    step = Fraction(1, 10**d)
    if mode == "truncate":
        return v, v + step
    return v - step / 2, v + step / 2


def _fmt(x: Fraction, places: int = 2) -> str:
    return f"{float(x):.{places}f}"


def matching_modes(value: Fraction, printed: Number) -> list[str]:
    """Rounding rules under which the exact ``value`` prints as ``printed``."""
    d = decimals_of(printed)
    target = to_fraction(printed)
    return [m for m in ROUNDING_MODES if round_exact(value, d, m) == target]


def _rounding_verdict(value: Fraction, printed: Number) -> tuple[str, str]:
    """(verdict, phrase) for an exact value against its printed form."""
    target = to_fraction(printed)
    if value == target:
        return "consistent", "exact"
    modes = matching_modes(value, printed)
    if not modes:
        return "inconsistent", "no rounding rule (half-up, half-even, truncation) gives it"
    if modes == list(ROUNDING_MODES):
        return "consistent with rounding", "any rounding rule"
    return "consistent with rounding", " or ".join(modes) + " only"


def grim_numerators(denominator: int, printed_percent: Number) -> list[int]:
    """Counts ``k`` (0..denominator) whose ``100 k / denominator`` prints as ``printed_percent`` under any rule."""
    return [k for k in range(denominator + 1) if matching_modes(Fraction(100 * k, denominator), printed_percent)]


def check_percent(
    check_id: str,
    source: str,
    location: str,
    quantity: str,
    count: int | None,
    denominator: int,
    printed_percent: Number,
) -> CheckResult:
    """GRIM-style check of a printed percentage against ``count / denominator``.

    With ``count=None`` only the GRIM question is asked: is there any count that gives the
    printed percentage with this denominator?

    Examples
    --------
    >>> check_percent("x", "s", "T1", "q", 6, 11, "54").explanation
    '6/11 = 54.55%; prints as 54 under truncate only'
    """
    if denominator <= 0:
        raise ValueError(f"{check_id}: denominator must be positive, got {denominator}")
    if count is None:
        ks = grim_numerators(denominator, printed_percent)
        if ks:
            return CheckResult(
                check_id,
                source,
                location,
                quantity,
                f"{printed_percent}%",
                ", ".join(f"{k}/{denominator}" for k in ks),
                "consistent with rounding",
                f"{' or '.join(f'{k}/{denominator}={_fmt(Fraction(100 * k, denominator))}%' for k in ks)} print "
                f"as {printed_percent}%",
            )
        lo = max(0, math.floor(to_fraction(printed_percent) * denominator / 100))
        near = ", ".join(
            f"{k}/{denominator}={_fmt(Fraction(100 * k, denominator))}%" for k in (lo, lo + 1) if k <= denominator
        )
        return CheckResult(
            check_id,
            source,
            location,
            quantity,
            f"{printed_percent}%",
            near,
            "inconsistent",
            f"no whole number of {denominator} patients gives {printed_percent}% ({near})",
        )
    if not 0 <= count <= denominator:
        raise ValueError(f"{check_id}: count {count} must lie in 0..{denominator}")
    value = Fraction(100 * count, denominator)
    verdict, phrase = _rounding_verdict(value, printed_percent)
    expl = f"{count}/{denominator} = {_fmt(value)}%; prints as {printed_percent} under {phrase}"
    if verdict == "inconsistent":
        ks = grim_numerators(denominator, printed_percent)
        alt = (
            f"; {printed_percent}% fits {', '.join(f'{k}/{denominator}' for k in ks)}"
            if ks
            else f"; no k/{denominator} gives {printed_percent}%"
        )
        expl = f"{count}/{denominator} = {_fmt(value)}%, {phrase}{alt}"
    elif verdict == "consistent":
        expl = f"{count}/{denominator} = {_fmt(value)}% exactly"
    return CheckResult(
        check_id, source, location, quantity, f"{count} ({printed_percent}%)", f"{_fmt(value)}%", verdict, expl
    )


def check_ratio(
    check_id: str, source: str, location: str, quantity: str, numerator: int, denominator: int, printed: Number
) -> CheckResult:
    """Check a printed ratio (e.g. ``1.4:1``) against ``numerator / denominator``."""
    value = Fraction(numerator, denominator)
    verdict, phrase = _rounding_verdict(value, printed)
    return CheckResult(
        check_id,
        source,
        location,
        quantity,
        f"{printed}:1",
        f"{numerator}/{denominator} = {_fmt(value, 4)}",
        verdict,
        f"{numerator}:{denominator} = {_fmt(value, 4)}:1 prints as {printed}:1 under {phrase}",
    )


def check_sum(
    check_id: str, source: str, location: str, quantity: str, parts: Sequence[int | float], total: int | float
) -> CheckResult:
    """Do category counts add up to the stated total?"""
    s = sum(parts)
    ok = math.isclose(s, total)
    return CheckResult(
        check_id,
        source,
        location,
        quantity,
        str(total),
        f"{' + '.join(str(p) for p in parts)} = {s}",
        "consistent" if ok else "inconsistent",
        "categories add up to the total" if ok else f"categories add up to {s}, not {total}",
    )


def check_restatement(
    check_id: str,
    source: str,
    location: str,
    quantity: str,
    first: Number,
    second: Number,
    first_label: str,
    second_label: str,
) -> CheckResult:
    """The same quantity printed twice: equal, equal after rounding the more precise one, or different.

    Values should be passed as printed strings so that their precision is known.
    """
    a, b = to_fraction(first), to_fraction(second)
    if a == b:
        return CheckResult(
            check_id,
            source,
            location,
            quantity,
            f"{first_label}: {first}",
            f"{second_label}: {second}",
            "consistent",
            "both statements give the same value",
        )
    da, db = decimals_of(first), decimals_of(second)
    precise, coarse = ((a, second) if da > db else (b, first)) if da != db else (None, None)
    if precise is not None:
        modes = matching_modes(precise, coarse)
        if modes:
            return CheckResult(
                check_id,
                source,
                location,
                quantity,
                f"{first_label}: {first}",
                f"{second_label}: {second}",
                "consistent with rounding",
                f"the coarser value is the finer one rounded ({' or '.join(modes)})",
            )
    return CheckResult(
        check_id,
        source,
        location,
        quantity,
        f"{first_label}: {first}",
        f"{second_label}: {second}",
        "inconsistent",
        f"{first_label} says {first}, {second_label} says {second}",
    )


def wald_p_from_ci(lo: float, hi: float, level: float = 0.95) -> float:
    """Two-sided Wald p-value implied by a ratio CI that is symmetric on the log scale."""
    from scipy.stats import norm

    if not 0 < lo < hi:
        raise ValueError(f"CI bounds must satisfy 0 < lo < hi, got {lo}, {hi}")
    zc = norm.ppf(0.5 + level / 2)
    est = (math.log(lo) + math.log(hi)) / 2
    se = (math.log(hi) - math.log(lo)) / (2 * zc)
    return float(2 * norm.sf(abs(est) / se))


def check_p_from_ci(
    check_id: str, source: str, location: str, quantity: str, p_printed: str, lo_printed: str, hi_printed: str
) -> CheckResult:
    """Is a printed p-value compatible with its printed interval (read as a Wald 95% hazard-ratio CI)?

    Verdicts: ``"inconsistent"`` when the interval excludes 1 with p > 0.05 (or includes 1 with
    p < 0.05), which no 95% confidence interval of any kind allows; otherwise the Wald question,
    asked conditionally because a paper may not say what its intervals are: the CI bounds are
    widened to their printed-precision intervals and the attainable Wald p range is compared
    with the printed p's own interval (``"consistent with rounding"`` if they meet, else
    ``"cannot check"``: the p-value does not fit a Wald interval, but the interval may be of
    another kind, or p from another test).
    """
    p = to_fraction(p_printed)
    p_lo, p_hi = printed_interval(p_printed)
    lo_i, hi_i = printed_interval(lo_printed), printed_interval(hi_printed)
    cands = [wald_p_from_ci(float(a), float(b)) for a in lo_i for b in hi_i if 0 < a < b]
    rng = (min(cands), max(cands))
    excludes_one = float(lo_i[0]) > 1 or float(hi_i[1]) < 1
    includes_one = float(lo_i[1]) < 1 < float(hi_i[0])
    digits = 2  # enough significant digits that the two ends of the range print differently
    while f"{rng[0]:.{digits}g}" == f"{rng[1]:.{digits}g}" and digits < 6:
        digits += 1
    a, b = f"{rng[0]:.{digits}g}", f"{rng[1]:.{digits}g}"
    reported = f"p={p_printed} ({lo_printed}-{hi_printed})"
    recomputed = f"Wald p {a}-{b} (if Wald 95% HR CI)"
    if excludes_one and p > Fraction(5, 100):
        return CheckResult(
            check_id,
            source,
            location,
            quantity,
            reported,
            recomputed,
            "inconsistent",
            f"the interval {lo_printed}-{hi_printed} excludes 1 but p={p_printed} > 0.05: "
            "no 95% confidence interval of any kind allows this",
        )
    if includes_one and p < Fraction(5, 100):
        return CheckResult(
            check_id,
            source,
            location,
            quantity,
            reported,
            recomputed,
            "inconsistent",
            f"the interval {lo_printed}-{hi_printed} includes 1 but p={p_printed} < 0.05: "
            "no 95% confidence interval of any kind allows this",
        )
    if rng[0] <= float(p_hi) and float(p_lo) <= rng[1]:
        return CheckResult(
            check_id,
            source,
            location,
            quantity,
            reported,
            recomputed,
            "consistent with rounding",
            f"if these are Wald 95% intervals of hazard ratios, the printed p-value fits (Wald p between {a} and {b})",
        )
    return CheckResult(
        check_id,
        source,
        location,
        quantity,
        reported,
        recomputed,
        "cannot check",
        f"if these are Wald 95% intervals of hazard ratios, the printed p-value does not fit "
        f"(it would be between {a} and {b}); the paper does not say what the intervals are",
    )


def all_modes_table(count: int, denominator: int, decimals: int = 0) -> dict[str, Fraction]:
    """The printed value of ``100 count / denominator`` under every rounding rule (for narratives)."""
    v = Fraction(100 * count, denominator)
    return {m: round_exact(v, decimals, m) for m in ROUNDING_MODES}


def first_failing(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The inconsistent rows of an iterable of results."""
    return [r for r in results if r.verdict == "inconsistent"]
