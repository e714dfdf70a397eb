"""Difference in differences: did a segment's CSAT move more than the rest of the bank's?

An improvement action is judged by four CSAT shares: the target segment before and after
its start, and the rest of the bank over the same two windows. The rest absorbs what moved
everyone (the season, a bank-wide outage, a change in who was surveyed), so

    estimate = (p_target,after − p_target,before) − (p_rest,after − p_rest,before)

with the standard error of four independent proportions, √Σ p(1 − p)/n, and the normal
95% interval estimate ± 1.959964·SE. The action "improved" CSAT only when the whole
interval lies above 0, "fell" when it lies below, and otherwise the answers show no clear
change. No verdict while the after window is still running, nor until every window has at
least the minimum n answers (rule 5). Pure Python: no Flask, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from survey.scoring.distributions import Z95

__all__ = ["VERDICTS", "Effect", "Share", "difference_in_differences"]

# improved / fell / no_change: judged; not_enough: a window under min n; open: still running.
VERDICTS = ("improved", "fell", "no_change", "not_enough", "open")


@dataclass(frozen=True)
class Share:
    """A CSAT share: ``top`` answers of 4–5 among ``n`` 5-point answers."""

    top: int
    n: int

    def __post_init__(self) -> None:
        if not 0 <= self.top <= self.n:
            raise ValueError(f"top must lie in 0..n, got {self.top} of {self.n}")

    @property
    def p(self) -> float | None:
        return self.top / self.n if self.n else None

    def variance(self) -> float:
        """The sampling variance of the share, p(1 − p)/n."""
        p = self.top / self.n
        return p * (1 - p) / self.n


@dataclass(frozen=True)
class Effect:
    """The four windows' shares and, once judged, the estimate, its interval and the verdict.

    ``target_change``, ``rest_change``, ``estimate``, ``standard_error``, ``low`` and ``high``
    are fractions (0.061 is 6.1 points) and None unless the verdict is a judgement.
    """

    target_before: Share
    target_after: Share
    rest_before: Share
    rest_after: Share
    verdict: str
    target_change: float | None = None
    rest_change: float | None = None
    estimate: float | None = None
    standard_error: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def judged(self) -> bool:
        return self.verdict in ("improved", "fell", "no_change")


def difference_in_differences(
    target_before: Share,
    target_after: Share,
    rest_before: Share,
    rest_after: Share,
    *,
    min_n: int,
    after_finished: bool,
    z: float = Z95,
) -> Effect:
    """Judge the target's change in CSAT against the rest's over the same two windows.

    :param min_n: each of the four windows needs at least this many answers (and one).
    :param after_finished: whether the after window's last day is over; until then nothing
        is judged, however many answers there are.
    """
    windows = (target_before, target_after, rest_before, rest_after)
    if not after_finished:
        return Effect(*windows, verdict="open")
    if any(w.n < max(min_n, 1) for w in windows):
        return Effect(*windows, verdict="not_enough")
    target_change = target_after.top / target_after.n - target_before.top / target_before.n
    rest_change = rest_after.top / rest_after.n - rest_before.top / rest_before.n
    estimate = target_change - rest_change
    standard_error = math.sqrt(math.fsum(w.variance() for w in windows))
    low, high = estimate - z * standard_error, estimate + z * standard_error
    verdict = "improved" if low > 0 else "fell" if high < 0 else "no_change"
    return Effect(
        *windows,
        verdict=verdict,
        target_change=target_change,
        rest_change=rest_change,
        estimate=estimate,
        standard_error=standard_error,
        low=low,
        high=high,
    )
