"""Distributions the significance tests need: Student's t and the standard normal.

Pure Python and ``math``. The t distribution goes through the regularized incomplete
beta function, evaluated by its continued fraction (Numerical Recipes' betacf, with
the modified Lentz method); its quantile by Newton's method kept inside a bisection
bracket; the normal by ``math.erfc``.
"""

from __future__ import annotations

import math
from functools import lru_cache

__all__ = [
    "Z95",
    "normal_cdf",
    "normal_quantile",
    "normal_two_sided",
    "regularized_beta",
    "t_cdf",
    "t_quantile",
    "t_two_sided",
]

# The 0.975 quantile of the standard normal distribution.
Z95 = 1.959963984540054

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITERATIONS = 100_000


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
    """Return t such that P(T ≤ t) = p, for 0 < p < 1 (Newton's method kept inside a bracket).

    Newton starts from the Cornish–Fisher expansion of t in the normal quantile
    (Abramowitz and Stegun 26.7.5) from 3 degrees of freedom on, which is within 1e-4 of
    the answer at the 95% interval's 0.975: two or three steps instead of the ten or so
    from t = 1, each an incomplete beta function. The mean's interval asks for one
    quantile a group (n − 1 degrees of freedom), so a ranking of hundreds of agents asked
    anew (a new process, new answers) paid tens of microseconds a group here.
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if p == 0.5:
        return 0.0
    # Solve on the tail beyond t, which keeps its precision however small it is.
    sign, q = (-1.0, p) if p < 0.5 else (1.0, 1.0 - p)
    # The tail falls and is convex beyond 0: a Newton step from either side lands at or
    # before the answer, so steps stay in the bracket but for the first from above.
    low, high = 0.0, math.inf
    t = _t_start(q, df)
    for _ in range(400):
        excess = _t_tail(t, df) - q  # > 0 means t is too small
        if excess > 0:
            low = t
        else:
            high = t
        if excess == 0 or high - low <= 4 * _EPS * max(1.0, abs(t)):
            break
        density = _t_density(t, df)
        step = t + excess / density if density > 0 else math.nan
        if low < step < high:
            if abs(step - t) <= 4 * _EPS * max(1.0, abs(t)):
                return sign * step
            t = step
        elif math.isinf(high):
            t = low * 2.0
            if t > 1e300:
                return sign * math.inf
        else:
            t = (low + high) / 2.0
    return sign * t


def _t_start(q: float, df: float) -> float:
    """Where Newton starts for the t beyond which the tail is q: Cornish–Fisher, or 1."""
    if df < 3:
        return 1.0
    z = -_normal_quantile_cached(q)  # the normal's upper q quantile
    z2 = z * z
    terms = (
        (z2 + 1) * z / 4,
        ((5 * z2 + 16) * z2 + 3) * z / 96,
        (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384,
        ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160,
    )
    guess = z + sum(term / df ** (k + 1) for k, term in enumerate(terms))
    return guess if math.isfinite(guess) and guess > 0 else 1.0


@lru_cache(maxsize=64)
def _normal_quantile_cached(p: float) -> float:
    return normal_quantile(p)


def normal_quantile(p: float) -> float:
    """Return z with P(Z ≤ z) = p, for 0 < p < 1, by bisection (Z95 serves the usual 95%)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    # Bisect on the tail beyond z, which keeps its precision however small it is.
    sign, q = (-1.0, p) if p < 0.5 else (1.0, 1.0 - p)
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if 0.5 * math.erfc(middle / math.sqrt(2.0)) > q:
            low = middle
        else:
            high = middle
    return sign * (low + high) / 2.0
