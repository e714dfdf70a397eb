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
from functools import lru_cache

__all__ = [
    "Z95",
    "Correlation",
    "TestResult",
    "bh_qvalues",
    "csat_test",
    "fisher_exact",
    "mean_interval",
    "normal_cdf",
    "normal_two_sided",
    "nps_test",
    "pearson",
    "regularized_beta",
    "t_cdf",
    "t_quantile",
    "t_two_sided",
    "welch_test",
]

# The 0.975 quantile of the standard normal distribution.
Z95 = 1.959963984540054
# Fisher's exact test is used when any expected cell count is below this.
FISHER_BELOW = 5.0
# Tables whose probability is within this relative tolerance of the observed one's count
# as "as extreme" (ties computed along different paths differ by rounding only).
FISHER_TOLERANCE = 1e-7

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITERATIONS = 100_000


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


# --- distributions ----------------------------------------------------------------------


def normal_cdf(x: float) -> float:
    """Return P(Z ≤ x) for a standard normal Z (erfc keeps the far tails accurate)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_two_sided(z: float) -> float:
    """Return the two-sided p-value P(|Z| ≥ |z|)."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Evaluate the continued fraction of the incomplete beta function (Numerical Recipes' betacf, modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITERATIONS + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def _stirling_correction(x: float) -> float:
    """Return lnΓ(x) − ((x − ½)·ln x − x + ½·ln 2π) for x ≥ 10, by the Stirling series."""
    x2 = 1.0 / (x * x)
    series = 1 / 12 - x2 * (
        1 / 360
        - x2 * (1 / 1260 - x2 * (1 / 1680 - x2 * (1 / 1188 - x2 * (691 / 360360 - x2 / 156))))
    )
    return series / x


def _log_beta(a: float, b: float) -> float:
    """Return ln B(a, b) without losing digits to the difference of two large lnΓ (as R's lbeta)."""
    p, q = min(a, b), max(a, b)
    if p >= 10:
        correction = _stirling_correction(p) + _stirling_correction(q) - _stirling_correction(p + q)
        return (
            -0.5 * math.log(q)
            + 0.5 * math.log(2 * math.pi)
            + correction
            + (p - 0.5) * math.log(p / (p + q))
            + q * math.log1p(-p / (p + q))
        )
    if q >= 10:
        correction = _stirling_correction(q) - _stirling_correction(p + q)
        return (
            math.lgamma(p)
            + correction
            + p
            - p * math.log(p + q)
            + (q - 0.5) * math.log1p(-p / (p + q))
        )
    return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)


def _incomplete_beta(
    a: float,
    b: float,
    x: float,
    y: float,
    log_x: float,
    log_y: float,
    direct: bool | None = None,
) -> float:
    """Return I_x(a, b) given x, y = 1 − x and their logarithms, each as precise as the caller can.

    ``direct`` picks the continued fraction of I_x(a, b) (True) or of 1 − I_y(b, a)
    (False); by default, Numerical Recipes' rule: the direct one below the mean.
    """
    front = math.exp(a * log_x + b * log_y - _log_beta(a, b))
    if direct is None:
        direct = x < (a + 1.0) / (a + b + 2.0)
    if direct:
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def regularized_beta(a: float, b: float, x: float) -> float:
    """Return the regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1."""
    if a <= 0 or b <= 0:
        raise ValueError("a and b must be positive")
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must lie in 0..1")
    if x == 0.0 or x == 1.0:
        return x
    return _incomplete_beta(a, b, x, 1.0 - x, math.log(x), math.log1p(-x))


def _t_tail(t: float, df: float) -> float:
    """Return P(T ≥ |t|) for Student's t with df degrees of freedom."""
    t2 = t * t
    if t2 == 0.0:
        return 0.5
    if math.isinf(t2):
        return 0.0
    # P(T ≥ |t|) = ½·I_x(df/2, ½) with x = df / (df + t²); x, 1 − x and their logarithms
    # written so that neither a huge df nor a huge t² loses digits.
    ratio = t2 / df
    x = 1.0 / (1.0 + ratio)
    y = ratio / (1.0 + ratio)
    log_x = -math.log1p(ratio)
    log_y = math.log(ratio) + log_x
    # Near NR's switch-over (t² ≈ 3) and for a large df, the direct fraction creeps by less
    # than its stopping test can see, and stops early (a relative error of 1e-9 at df = 2e7);
    # the symmetric one is exact to ~1e-12 up to t² = 9 and loses to cancellation beyond.
    return 0.5 * _incomplete_beta(df / 2.0, 0.5, x, y, log_x, log_y, direct=t2 > 9.0)


def t_cdf(t: float, df: float) -> float:
    """Return P(T ≤ t) for Student's t with df > 0 degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    tail = _t_tail(t, df)
    return tail if t < 0 else 1.0 - tail


def t_two_sided(t: float, df: float) -> float:
    """Return the two-sided p-value P(|T| ≥ |t|)."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    return min(1.0, 2.0 * _t_tail(t, df))


def _t_density(t: float, df: float) -> float:
    return math.exp(
        math.lgamma((df + 1.0) / 2.0)
        - math.lgamma(df / 2.0)
        - 0.5 * math.log(df * math.pi)
        - (df + 1.0) / 2.0 * math.log1p(t * t / df)
    )


@lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """Return t such that P(T ≤ t) = p, for 0 < p < 1 (Newton's method kept inside a bisection bracket)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if p == 0.5:
        return 0.0
    # Solve on the tail beyond t, which keeps its precision however small it is.
    sign, q = (-1.0, p) if p < 0.5 else (1.0, 1.0 - p)
    low, high = 0.0, 1.0
    while _t_tail(high, df) > q:
        low, high = high, high * 2.0
        if high > 1e300:
            return sign * math.inf
    t = (low + high) / 2.0
    for _ in range(200):
        excess = _t_tail(t, df) - q  # > 0 means t is too small
        if excess > 0:
            low = t
        else:
            high = t
        if excess == 0 or high - low <= 4 * _EPS * max(1.0, abs(t)):
            break
        step = t + excess / _t_density(t, df)
        t = step if low < step < high else (low + high) / 2.0
    return sign * t


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
    quantile = Z95 if confidence == 0.95 else _normal_quantile(0.5 + confidence / 2.0)
    half_width = quantile / math.sqrt(n - 3)
    return Correlation(n, r, math.tanh(z - half_width), math.tanh(z + half_width))


def _normal_quantile(p: float) -> float:
    """Return z with P(Z ≤ z) = p, by bisection (only for confidences other than 95%)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if normal_cdf(middle) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0
