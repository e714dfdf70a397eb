"""Dispatch rules: tried in the manager's order; the first active rule that matches decides.

A rule's ``filters`` hold lists of codes per interaction attribute: ``channel``,
``type``, ``business_line`` and ``team`` (the codes the admin maintains, as the
API uses them), ``category`` and ``complaint_state`` (``open`` or ``resolved``: a
complaint's case, or without a case the post itself; other types have none). An
absent or empty list matches everything.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import sqlalchemy as sa

from survey import stamped
from survey.extensions import db
from survey.models import DispatchRule, Interaction, Survey, SurveyVersion

FILTER_KEYS = ("channel", "type", "business_line", "team", "category", "complaint_state")
COMPLAINT_STATES = ("open", "resolved")


def complaint_state(interaction: Interaction) -> str | None:
    """Return whether a complaint is open or resolved (its case's state, when it has one)."""
    if interaction.type != "complaint":
        return None
    return "open" if interaction.is_open_complaint else "resolved"


def interaction_attributes(
    interaction: Interaction, business_line: str | None, team: str | None
) -> dict[str, str | None]:
    """Return the values of an interaction that rule filters compare against.

    The organisation codes come from the caller, who resolved them from the post: the
    interaction is not stored yet, so its relationships are not loaded.
    """
    return {
        "channel": interaction.channel,
        "type": interaction.type,
        "business_line": business_line,
        "team": team,
        "category": interaction.category,
        "complaint_state": complaint_state(interaction),
    }


def matches(rule: DispatchRule, attributes: dict[str, str | None]) -> bool:
    """Whether every non-empty filter of the rule admits the interaction."""
    filters = rule.filters or {}
    for key in FILTER_KEYS:
        wanted = filters.get(key) or []
        if wanted and attributes.get(key) not in wanted:
            return False
    return True


# The newest published version of a rule's survey, the one new invitations use.
_NEWEST_PUBLISHED = (
    sa.select(SurveyVersion.id)
    .where(SurveyVersion.survey_id == DispatchRule.survey_id, SurveyVersion.state == "published")
    .order_by(SurveyVersion.number.desc())
    .limit(1)
    .correlate(DispatchRule)
    .scalar_subquery()
)
_ACTIVE_RULES = (
    sa.select(DispatchRule, _NEWEST_PUBLISHED.label("version_id"))
    .where(DispatchRule.active.is_(True))
    .order_by(DispatchRule.position, DispatchRule.id)
)


# A rule as every decision reads it: its columns, kept by the process (survey.stamped), so
# read-only (an ORM object could be changed, or reach a session that is not its own).
RuleColumns = namedtuple(  # noqa: PYI024
    "RuleColumns", [column.key for column in sa.inspect(DispatchRule).column_attrs]
)


def _active_rules() -> tuple[tuple[Any, int | None], ...]:
    return tuple(
        (RuleColumns(*(getattr(rule, name) for name in RuleColumns._fields)), version_id)
        for rule, version_id in db.session.execute(_ACTIVE_RULES)
    )


def first_matching_rule(
    attributes: dict[str, str | None],
) -> tuple[Any, int | None] | None:
    """Return the first active rule, in position order, that matches these attributes.

    With it, the id of its survey's newest published version (None when it has none),
    read in the same statement: every intake asks. The rules are the process's copy
    under the database's config stamp (survey.stamped): a change committed anywhere is
    seen by the next decision. The rule is its columns (``RuleColumns``), read-only.
    """
    for rule, version_id in stamped.kept("rules", None, _active_rules):
        if matches(rule, attributes):
            return rule, version_id
    return None


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
