"""Dispatch rules: tried in the manager's order; the first active rule that matches decides.

A rule's ``filters`` hold lists of codes per interaction attribute: ``channel``,
``type``, ``business_line`` and ``team`` (the codes the admin maintains, as the
API uses them) and ``category``. An absent or empty list matches everything.
"""

from __future__ import annotations

import sqlalchemy as sa

from survey.extensions import db
from survey.models import DispatchRule, Interaction, Survey

FILTER_KEYS = ("channel", "type", "business_line", "team", "category")


def interaction_attributes(interaction: Interaction) -> dict[str, str | None]:
    """Return the values of an interaction that rule filters compare against."""
    return {
        "channel": interaction.channel,
        "type": interaction.type,
        "business_line": interaction.business_line.code if interaction.business_line else None,
        "team": interaction.team.code if interaction.team else None,
        "category": interaction.category,
    }


def matches(rule: DispatchRule, attributes: dict[str, str | None]) -> bool:
    """Whether every non-empty filter of the rule admits the interaction."""
    filters = rule.filters or {}
    for key in FILTER_KEYS:
        wanted = filters.get(key) or []
        if wanted and attributes.get(key) not in wanted:
            return False
    return True


def first_matching_rule(interaction: Interaction) -> DispatchRule | None:
    """Return the first active rule, in position order, that matches the interaction."""
    attributes = interaction_attributes(interaction)
    rules = db.session.scalars(
        sa.select(DispatchRule)
        .where(DispatchRule.active.is_(True))
        .order_by(DispatchRule.position, DispatchRule.id)
    )
    return next((rule for rule in rules if matches(rule, attributes)), None)


def create_default_rule(survey: Survey) -> DispatchRule:
    """Add a last rule: every interaction gets the survey at once, by SMS link, else e-mail.

    The caller commits.
    """
    last = db.session.scalar(sa.select(sa.func.max(DispatchRule.position))) or 0
    rule = DispatchRule(
        position=last + 1,
        name="Every interaction / 所有服务",
        active=True,
        filters={},
        survey=survey,
        delay_minutes=0,
        channels=["sms", "email"],
        sms_mode="link",
        sample_rate=1.0,
    )
    db.session.add(rule)
    return rule
