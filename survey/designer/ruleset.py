"""Dispatch rules as managers keep them: an ordered list where the first match decides.

The matching itself is the dispatch engine's (``survey.dispatch.rules.matches``),
so the counts shown here are what the engine would have done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from survey import clock
from survey.dispatch.rules import FILTER_KEYS, matches
from survey.extensions import db
from survey.models import BusinessLine, DispatchRule, Interaction, Team

LOOKBACK = timedelta(days=30)


def ordered() -> list[DispatchRule]:
    """Every rule, in the order they are tried."""
    return list(
        db.session.scalars(sa.select(DispatchRule).order_by(DispatchRule.position, DispatchRule.id))
    )


def save(rule: DispatchRule | None, values: dict[str, Any]) -> DispatchRule:
    """Create a rule at the end of the list, or change one; the caller commits."""
    if rule is None:
        last = db.session.scalar(sa.select(sa.func.max(DispatchRule.position))) or 0
        rule = DispatchRule(position=last + 1)
        db.session.add(rule)
    for key, value in values.items():
        setattr(rule, key, value)
    return rule


def move(rule: DispatchRule, step: int) -> None:
    """Move a rule one place earlier (step -1) or later (step +1) in the order."""
    rules = ordered()
    i = rules.index(rule)
    j = max(0, min(len(rules) - 1, i + step))
    rules[i], rules[j] = rules[j], rules[i]
    for position, r in enumerate(rules, start=1):
        r.position = position


def delete(rule: DispatchRule) -> None:
    """Remove a rule; invitations it made keep their record (their rule id is cleared)."""
    from survey.models import Invitation

    db.session.execute(
        sa.update(Invitation).where(Invitation.rule_id == rule.id).values(rule_id=None)
    )
    db.session.delete(rule)


@dataclass
class RuleReach:
    """What a rule would have done with the last 30 days' interactions."""

    matched: int = 0  # interactions its filters admit
    decided: int = 0  # of those, the ones no earlier active rule takes first
    taken_by: dict[int, int] = field(default_factory=dict)  # earlier rule id -> interactions


def _attribute_counts(since) -> list[tuple[dict[str, str | None], int]]:
    """The recent interactions, grouped by the attributes rules filter on, with their counts."""
    columns = (
        Interaction.channel,
        Interaction.type,
        BusinessLine.code,
        Team.code,
        Interaction.category,
    )
    rows = db.session.execute(
        sa.select(*columns, sa.func.count())
        .select_from(Interaction)
        .outerjoin(BusinessLine, Interaction.business_line_id == BusinessLine.id)
        .outerjoin(Team, Interaction.team_id == Team.id)
        .where(Interaction.occurred_at >= since)
        .group_by(*columns)
    )
    return [(dict(zip(FILTER_KEYS, row[:5], strict=True)), row[5]) for row in rows]


def reach(rules: list[DispatchRule]) -> dict[int, RuleReach]:
    """For each rule: how many recent interactions it matches, and which earlier rules take some.

    A paused rule takes nothing from later rules, but still shows what it would match.
    """
    result = {rule.id: RuleReach() for rule in rules}
    for attributes, n in _attribute_counts(clock.now() - LOOKBACK):
        winner: DispatchRule | None = None
        for rule in rules:
            if not matches(rule, attributes):
                continue
            entry = result[rule.id]
            entry.matched += n
            if winner is None:
                entry.decided += n
                winner = rule if rule.active else None
            else:
                entry.taken_by[winner.id] = entry.taken_by.get(winner.id, 0) + n
    return result


def filter_summary(rule: DispatchRule) -> dict[str, list[str]]:
    """The rule's non-empty filters, for showing."""
    return {key: list(values) for key, values in (rule.filters or {}).items() if values}
