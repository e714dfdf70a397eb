"""Judge an improvement action: its target's CSAT against the rest's, before and after it started.

The four windows are read from the rollups (survey.scoring.queries), never from raw answers:

- a business line, team, agent or category: one query per window grouped by that field
  gives the target's counts and, added up, the bank's; the rest of the bank is the bank
  minus the target, which counts subtract exactly. CSAT here is the overall question's,
  as everywhere on the dashboards.
- a dimension: the target is that dimension's answers across the bank, and the rest is the
  other three rated dimensions' answers over the same windows. A dimension has no "rest of
  the bank" of its own (every customer answers it), so the comparison is: did this
  dimension move more than the others, which the season or a change in who was surveyed
  would move alike? The overall question is left out, as it blends every dimension,
  the target included. The same customers answer several dimensions, so the windows are
  not independent; their answers go together, which makes the independent-windows
  interval wider than it needs to be, never narrower.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from survey.actions.service import RATED_DIMENSIONS
from survey.models import ImprovementAction
from survey.scoring import queries
from survey.scoring.did import Effect, Share, difference_in_differences

NONE = Share(0, 0)


@dataclass(frozen=True)
class Windows:
    """The before and after windows (first and last day, inclusive) and whether after is over."""

    before: tuple[date, date]
    after: tuple[date, date]
    finished: bool


def windows(action: ImprovementAction, today: date) -> Windows:
    """The ``window_days`` days before ``started_on`` and as many from it; over after its last day."""
    days = timedelta(days=action.window_days)
    start = action.started_on
    after = (start, start + days - timedelta(days=1))
    return Windows((start - days, start - timedelta(days=1)), after, today > after[1])


def _share(kinds: dict[str, dict[str, int]]) -> Share:
    rating = kinds.get("rating_5")
    return Share(rating["top"], rating["n"]) if rating else NONE


def _add(a: Share, b: Share) -> Share:
    return Share(a.top + b.top, a.n + b.n)


def shares(action: ImprovementAction, first: date, last: date) -> tuple[Share, Share]:
    """Return the target's and the rest's CSAT counts over ``first``..``last``."""
    kind, code = action.target_kind, action.target_code
    sums, _plan = queries.counts(queries.ScoreQuery(first, last, group_by=(kind,)))
    by_key = {key[0]: _share(kinds) for key, kinds in sums.items()}
    target = by_key.get(code, NONE)
    if kind == "dimension":
        rest = NONE
        for dimension in RATED_DIMENSIONS:
            if dimension != code:
                rest = _add(rest, by_key.get(dimension, NONE))
        return target, rest
    total = NONE
    for share in by_key.values():
        total = _add(total, share)
    return target, Share(total.top - target.top, total.n - target.n)


def judge(action: ImprovementAction, today: date, min_n: int) -> tuple[Windows, Effect]:
    """Read the four windows and judge the action (no verdict while the after window runs)."""
    found = windows(action, today)
    target_before, rest_before = shares(action, *found.before)
    target_after, rest_after = shares(action, *found.after)
    effect = difference_in_differences(
        target_before,
        target_after,
        rest_before,
        rest_after,
        min_n=min_n,
        after_finished=found.finished,
    )
    return found, effect
