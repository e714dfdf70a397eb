"""Dispatch rules as managers keep them: an ordered list where the first match decides.

The matching itself is the dispatch engine's (``survey.dispatch.rules.matches``),
so the counts shown here are what the engine would have done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from survey import audit, clock
from survey.designer import trail
from survey.dispatch.rules import FILTER_KEYS, matches
from survey.extensions import db
from survey.models import BusinessLine, ComplaintCase, DispatchRule, Interaction, Team

LOOKBACK = timedelta(days=30)


def ordered() -> list[DispatchRule]:
    """Every rule, in the order they are tried."""
    return list(
        db.session.scalars(sa.select(DispatchRule).order_by(DispatchRule.position, DispatchRule.id))
    )


def save(rule: DispatchRule | None, values: dict[str, Any]) -> DispatchRule:
    """Create a rule at the end of the list, or change one; the caller commits."""
    created = rule is None
    if rule is None:
        last = db.session.scalar(sa.select(sa.func.max(DispatchRule.position))) or 0
        rule = DispatchRule(position=last + 1)
        db.session.add(rule)
    was = {key: None if created else _plain(getattr(rule, key)) for key in values}
    for key, value in values.items():
        setattr(rule, key, value)
    db.session.flush()
    before, after = audit.changes(was, {key: _plain(value) for key, value in values.items()})
    trail.record(
        "rule.create" if created else "rule.edit",
        "dispatch_rule",
        rule.id,
        before=None if created else before,
        after=after,
    )
    return rule


def _plain(value: Any) -> Any:
    """A copy the audit trail can store, detached from the rule's mutable JSON columns."""
    if isinstance(value, dict):
        return {k: list(v or []) for k, v in value.items()}
    return list(value) if isinstance(value, list | tuple) else value


def move(rule: DispatchRule, step: int) -> None:
    """Move a rule one place earlier (step -1) or later (step +1) in the order."""
    rules = ordered()
    was = [r.id for r in rules]
    i = rules.index(rule)
    j = max(0, min(len(rules) - 1, i + step))
    rules[i], rules[j] = rules[j], rules[i]
    for position, r in enumerate(rules, start=1):
        r.position = position
    if i != j:
        trail.record(
            "rule.reorder",
            "dispatch_rule",
            rule.id,
            before={"order": was},
            after={"order": [r.id for r in rules]},
        )


def set_active(rule: DispatchRule, active: bool) -> None:
    """Pause a rule (it matches nothing, and takes nothing from later rules) or resume it."""
    before = rule.active
    rule.active = active
    trail.record(
        "rule.resume" if active else "rule.pause",
        "dispatch_rule",
        rule.id,
        before={"active": before},
        after={"active": active},
    )


def delete(rule: DispatchRule) -> None:
    """Remove a rule; invitations it made keep their record (their rule id is cleared)."""
    from survey.models import Invitation

    db.session.execute(
        sa.update(Invitation).where(Invitation.rule_id == rule.id).values(rule_id=None)
    )
    trail.record(
        "rule.delete",
        "dispatch_rule",
        rule.id,
        before={"name": rule.name, "survey_id": rule.survey_id, "position": rule.position},
    )
    db.session.delete(rule)


@dataclass
class RuleReach:
    """What a rule would have done with the last 30 days' interactions."""

    matched: int = 0  # interactions its filters admit
    decided: int = 0  # of those, the ones no earlier active rule takes first
    taken_by: dict[int, int] = field(default_factory=dict)  # earlier rule id -> interactions


def _complaint_state() -> sa.ColumnElement[str | None]:
    """A complaint's state as rules see it (rules.complaint_state), from its case if it has one.

    Today's state of the case: a post of a case resolved since counts as resolved.
    """
    resolved = sa.func.coalesce(ComplaintCase.resolved_at, Interaction.complaint_resolved_at)
    return sa.case(
        (Interaction.type != "complaint", sa.null()),
        (resolved.is_(None), sa.literal("open")),
        else_=sa.literal("resolved"),
    )


def _attribute_counts(since) -> list[tuple[dict[str, str | None], int]]:
    """The recent interactions, grouped by the attributes rules filter on, with their counts."""
    columns = (
        Interaction.channel,
        Interaction.type,
        BusinessLine.code,
        Team.code,
        Interaction.category,
        _complaint_state(),
    )
    rows = db.session.execute(
        sa.select(*columns, sa.func.count())
        .select_from(Interaction)
        .outerjoin(BusinessLine, Interaction.business_line_id == BusinessLine.id)
        .outerjoin(Team, Interaction.team_id == Team.id)
        .outerjoin(ComplaintCase, Interaction.complaint_case_id == ComplaintCase.id)
        .where(Interaction.occurred_at >= since)
        .group_by(*columns)
    )
    width = len(FILTER_KEYS)
    return [(dict(zip(FILTER_KEYS, row[:width], strict=True)), row[width]) for row in rows]


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


def describe_filters(
    rules: list[DispatchRule], lang: str
) -> dict[int, list[tuple[str, list[str]]]]:
    """Each rule's non-empty filters as the viewer reads them: group name, then value names.

    Business lines and teams are named as the admin named them, in ``lang``; a
    code the organisation no longer has is shown as it is stored.
    """
    from survey.designer.forms import FILTER_LABELS, FILTER_VALUE_LABELS

    org_names = {
        "business_line": {
            b.code: b.name(lang) for b in db.session.scalars(sa.select(BusinessLine))
        },
        "team": {t.code: t.name(lang) for t in db.session.scalars(sa.select(Team))},
    }
    described = {}
    for rule in rules:
        groups = []
        for key in FILTER_KEYS:
            codes = (rule.filters or {}).get(key) or []
            if codes:
                names = org_names.get(key) or FILTER_VALUE_LABELS[key]
                groups.append((str(FILTER_LABELS[key]), [str(names.get(c, c)) for c in codes]))
        described[rule.id] = groups
    return described
