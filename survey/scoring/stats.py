"""Uncertainty and significance of scores, as plain functions of counts (issue 11's statistics).

No Flask, no database and no SciPy here: pure Python and ``math``, so that the
numbers are the same wherever they are computed. Each test is the textbook one,
fixed so that two implementations agree:

- the mean's 95% interval: Student's t with n − 1 degrees of freedom;
- CSAT: a pooled two-proportion z-test without continuity correction, or Fisher's
  exact test (two-sided as SciPy defines it) when any expected cell is below 5;
- NPS: z = Δ / √(SE₁² + SE₂²), SE as ``formulas.nps_margin`` defines it;
- the mean: Welch's t-test with the Welch–Satterthwaite degrees of freedom;
- many comparisons: Benjamini–Hochberg q-values;
- drivers: Pearson's r from sufficient sums with its Fisher-z interval.

A function that cannot say anything honest (too few answers, no variance) returns
None rather than a made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from survey.scoring.distributions import (
    Z95,
    normal_quantile,
    normal_two_sided,
    t_quantile,
    t_two_sided,
)

__all__ = [
    "Correlation",
    "TestResult",
    "bh_qvalues",
    "csat_test",
    "fisher_exact",
    "mean_interval",
    "nps_standard_error",
    "nps_test",
    "pearson",
    "welch_test",
]

# Fisher's exact test is used when any expected cell count is below this.
FISHER_BELOW = 5.0
# Tables whose probability is within this relative tolerance of the observed one's count
# as "as extreme" (ties computed along different paths differ by rounding only).
FISHER_TOLERANCE = 1e-7


@dataclass(frozen=True)
class TestResult:
    """A test's two-sided p-value and which test gave it (``z``, ``fisher`` or ``welch``)."""

    p_value: float
    test: str


@dataclass(frozen=True)
class Correlation:
    """Pearson's r over n pairs and its 95% interval by Fisher's z."""

    n: int
    r: float
    low: float
    high: float


# --- the mean ---------------------------------------------------------------------------


def _variance(n: int, total: float, total_sq: float) -> float:
    """Return the sample variance (n − 1 denominator) from n, Σx and Σx²; never negative."""
    # With integer sums n·Σx² − (Σx)² is exact; float sums may round a zero variance below 0.
    return max(0.0, (n * total_sq - total * total) / (n * (n - 1)))


def mean_interval(
    n: int, total: float, total_sq: float, min_n: int = 1, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Return the t interval (low, high) of the mean from n, Σx and Σx².

    None below n = 2 (no variance to speak of) or below ``min_n``. When every answer is
    the same the interval is that answer, with no width.
    """
    if n < 2 or n < min_n:
        return None
    mean = total / n
    variance = _variance(n, total, total_sq)
    if variance == 0:
        return mean, mean
    half_width = t_quantile(0.5 + confidence / 2.0, n - 1) * math.sqrt(variance / n)
    return mean - half_width, mean + half_width


def welch_test(
    n1: int, total1: float, total_sq1: float, n2: int, total2: float, total_sq2: float
) -> TestResult | None:
    """Welch's t-test of two means from their n, Σx and Σx² (unequal variances).

    None when either side has fewer than two answers or both have no variance.
    """
    if n1 < 2 or n2 < 2:
        return None
    a = _variance(n1, total1, total_sq1) / n1
    b = _variance(n2, total2, total_sq2) / n2
    if a == 0 and b == 0:
        return None
    t = (total1 / n1 - total2 / n2) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    return TestResult(t_two_sided(t, df), "welch")


# --- CSAT: two proportions --------------------------------------------------------------


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Return the two-sided p-value of Fisher's exact test of the table [[a, b], [c, d]].

    Two-sided as SciPy's ``fisher_exact`` and R's ``fisher.test`` define it: the sum of
    the probabilities of every table with the same margins that is no more likely than
    the observed one (within a relative tolerance of 1e-7).
    """
    if min(a, b, c, d) < 0:
        raise ValueError("a table holds counts, not negative numbers")
    row1, row2, col1 = a + b, c + d, a + c
    lowest, highest = max(0, col1 - row2), min(row1, col1)
    # Weights relative to the mode, by the ratio of consecutive hypergeometric
    # probabilities: no huge factorials, and ties stay ties to rounding.
    mode = min(highest, max(lowest, (col1 + 1) * (row1 + 1) // (row1 + row2 + 2)))
    weights = {mode: 1.0}
    weight = 1.0
    for x in range(mode, highest):
        weight *= (row1 - x) * (col1 - x) / ((x + 1) * (row2 - col1 + x + 1))
        if weight == 0.0:
            break
        weights[x + 1] = weight
    weight = 1.0
    for x in range(mode, lowest, -1):
        weight *= x * (row2 - col1 + x) / ((row1 - x + 1) * (col1 - x + 1))
        if weight == 0.0:
            break
        weights[x - 1] = weight
    observed = weights.get(a, 0.0)
    total = math.fsum(weights.values())
    extreme = math.fsum(w for w in weights.values() if w <= observed * (1 + FISHER_TOLERANCE))
    return min(1.0, extreme / total)


def csat_test(top1: int, n1: int, top2: int, n2: int) -> TestResult | None:
    """Test whether two CSAT shares (top of n) differ; None when either side has no answers.

    A pooled two-proportion z-test without continuity correction, or Fisher's exact test
    when any expected cell count of the 2×2 table is below 5 (which includes a pooled
    share of 0 or 1, where the z-test has no variance).
    """
    if n1 <= 0 or n2 <= 0:
        return None
    if not (0 <= top1 <= n1 and 0 <= top2 <= n2):
        raise ValueError("top must lie in 0..n")
    total, tops = n1 + n2, top1 + top2
    expected = [row * column / total for row in (n1, n2) for column in (tops, total - tops)]
    if min(expected) < FISHER_BELOW:
        return TestResult(fisher_exact(top1, n1 - top1, top2, n2 - top2), "fisher")
    pooled = tops / total
    z = (top1 / n1 - top2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return TestResult(normal_two_sided(z), "z")


# --- NPS ----------------------------------------------------------------------------------


def nps_standard_error(promoters: int, detractors: int, n: int) -> float:
    """Return NPS's standard error as a fraction (formulas.nps_margin's SE, before × z × 100)."""
    p_pro, p_det = promoters / n, detractors / n
    return math.sqrt(max(0.0, p_pro + p_det - (p_pro - p_det) ** 2) / n)


def nps_test(
    promoters1: int, detractors1: int, n1: int, promoters2: int, detractors2: int, n2: int
) -> TestResult | None:
    """Test whether two NPS differ: z = Δ / √(SE₁² + SE₂²); None when either SE is 0 or n is 0."""
    if n1 <= 0 or n2 <= 0:
        return None
    se1 = nps_standard_error(promoters1, detractors1, n1)
    se2 = nps_standard_error(promoters2, detractors2, n2)
    if se1 == 0 or se2 == 0:
        return None
    delta = (promoters1 - detractors1) / n1 - (promoters2 - detractors2) / n2
    return TestResult(normal_two_sided(delta / math.sqrt(se1 * se1 + se2 * se2)), "z")


# --- many comparisons ---------------------------------------------------------------------


def bh_qvalues(p_values: Sequence[float | None]) -> list[float | None]:
    """Return Benjamini–Hochberg q-values in the order given (step-up, monotone, at most 1).

    None entries (no test) stay None and do not count among the m tests.
    """
    tested = sorted(((p, i) for i, p in enumerate(p_values) if p is not None), key=lambda pi: pi[0])
    m = len(tested)
    q_values: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, index = tested[rank - 1]
        running = min(running, p * m / rank)
        q_values[index] = running
    return q_values


# --- drivers --------------------------------------------------------------------------------


def pearson(
    n: int,
    sum_x: float,
    sum_y: float,
    sum_xx: float,
    sum_yy: float,
    sum_xy: float,
    confidence: float = 0.95,
) -> Correlation | None:
    """Return Pearson's r from sufficient sums, with its interval by Fisher's z.

    None below n = 4 (the interval needs n − 3 > 0) or when either variable has no variance.
    """
    if n < 4:
        return None
    sxx = n * sum_xx - sum_x * sum_x
    syy = n * sum_yy - sum_y * sum_y
    sxy = n * sum_xy - sum_x * sum_y
    if sxx <= 0 or syy <= 0:
        return None
    # On a straight line (exact with integer sums) r is ±1, not a rounding of it.
    line = sxy * sxy >= sxx * syy
    r = math.copysign(1.0, sxy) if line else sxy / math.sqrt(sxx) / math.sqrt(syy)
    if abs(r) == 1.0:
        return Correlation(n, r, r, r)
    z = math.atanh(r)
    quantile = Z95 if confidence == 0.95 else normal_quantile(0.5 + confidence / 2.0)
    half_width = quantile / math.sqrt(n - 3)
    return Correlation(n, r, math.tanh(z - half_width), math.tanh(z + half_width))
