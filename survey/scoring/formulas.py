"""The standard score formulas, as plain functions of counts.

No Flask and no database here: callers pass counts, these return numbers.
Every score takes ``min_n``: below it the score is None (not shown), while the
counts it was computed from are still reported by the caller (Rule 5).
"""

from __future__ import annotations

import math

__all__ = [
    "ces",
    "csat",
    "enough",
    "mean",
    "nps",
    "nps_margin",
    "share",
    "wilson_interval",
]


def enough(n: int, min_n: int = 1) -> bool:
    """Whether n answers are enough to show a score (never for n = 0)."""
    return n > 0 and n >= min_n


def share(successes: int, n: int, min_n: int = 1) -> float | None:
    """Return successes / n as a fraction 0–1, or None below the minimum n."""
    if not enough(n, min_n):
        return None
    return successes / n


def csat(top: int, n: int, min_n: int = 1) -> float | None:
    """Return CSAT: the share of 4–5 answers on a 5-point scale (``top`` counts them)."""
    return share(top, n, min_n)


def ces(top: int, n: int, min_n: int = 1) -> float | None:
    """Return CES: the share of 5–7 answers on the 7-point effort scale (``top`` counts them)."""
    return share(top, n, min_n)


def mean(total: int | float, n: int, min_n: int = 1) -> float | None:
    """Return the mean answer, total / n."""
    if not enough(n, min_n):
        return None
    return total / n


def wilson_interval(
    successes: int, n: int, z: float = 1.96, min_n: int = 1
) -> tuple[float, float] | None:
    """Return the Wilson score interval (low, high) of a share successes / n.

    Wilson rather than the normal approximation because it stays inside 0–1
    and is honest at small n and at shares near 0 or 1, which satisfaction
    scores often are.
    """
    if not enough(n, min_n):
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..n, got {successes} of {n}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Clamp rounding noise so that 0/n gives exactly 0 and n/n exactly 1.
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def nps(promoters: int, detractors: int, n: int, min_n: int = 1) -> float | None:
    """Return NPS in points −100…100: % promoters (9–10) minus % detractors (0–6)."""
    if not enough(n, min_n):
        return None
    _check_nps_counts(promoters, detractors, n)
    return (promoters - detractors) / n * 100


def nps_margin(
    promoters: int, detractors: int, n: int, z: float = 1.96, min_n: int = 1
) -> float | None:
    """Return the 95% margin of error of NPS, in points.

    Each respondent scores +1 (promoter), 0 (passive) or −1 (detractor); NPS is
    their mean × 100, so its standard error is sqrt(var / n) with
    var = p_pro + p_det − (p_pro − p_det)².
    """
    if not enough(n, min_n):
        return None
    _check_nps_counts(promoters, detractors, n)
    p_pro = promoters / n
    p_det = detractors / n
    variance = max(0.0, p_pro + p_det - (p_pro - p_det) ** 2)
    return z * math.sqrt(variance / n) * 100


def _check_nps_counts(promoters: int, detractors: int, n: int) -> None:
    if promoters < 0 or detractors < 0 or promoters + detractors > n:
        raise ValueError(f"{promoters} promoters and {detractors} detractors do not fit in n={n}")
