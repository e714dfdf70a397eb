"""Decide whether an interaction's customer is asked a survey, and if not, why not.

The decision is a pipeline: find the rule, then run the eligibility checks in
order; the first check that objects names the suppression reason. Each check
is a plain function of the interaction and its rule, so new ones slot in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from survey import settings
from survey.dispatch import contacts, rules
from survey.models import DispatchRule, Interaction, SurveyVersion

log = logging.getLogger(__name__)

SUPPRESSION_REASONS = (
    "no_rule",
    "sampled_out",
    "opted_out",
    "frequency",
    "open_complaint",
    "no_contact",
)


@dataclass(frozen=True)
class Decision:
    """What to do about one interaction: an invitation plan, or the reason there is none."""

    suppression_reason: str | None
    rule: DispatchRule | None = None
    version: SurveyVersion | None = None
    channels: tuple[str, ...] = ()
    scheduled_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def invites(self) -> bool:
        return self.suppression_reason is None


Check = Callable[[Interaction, DispatchRule], str | None]


def _opted_out(interaction: Interaction, rule: DispatchRule) -> str | None:
    """Object when the customer refused surveys, or every address the rule could use is refused."""
    customer = interaction.customer
    if contacts.customer_opted_out(customer):
        return "opted_out"
    possible = contacts.channels_with_address(customer, rule.channels)
    if possible and not contacts.reachable_channels(customer, possible):
        return "opted_out"
    return None


def _no_contact(interaction: Interaction, rule: DispatchRule) -> str | None:
    """Object when the customer has no address on any of the rule's channels."""
    if not contacts.reachable_channels(interaction.customer, rule.channels):
        return "no_contact"
    return None


# Tried in this order; the first objection is the suppression reason. Still to
# come, in their places: sampled_out (before opted_out), open_complaint and
# frequency (after it). Quiet hours defer scheduled_at and suppress nothing.
CHECKS: list[Check] = [_opted_out, _no_contact]


def decide(interaction: Interaction, now: datetime) -> Decision:
    """Decide about an interaction whose customer and organisation links are loaded."""
    rule = rules.first_matching_rule(interaction)
    if rule is None:
        return Decision("no_rule")
    version = rule.survey.published()
    if version is None:
        log.warning(
            "rule %s (%s) matched interaction %s but survey %s has no published version",
            rule.id,
            rule.name,
            interaction.external_id,
            rule.survey_id,
        )
        return Decision("no_rule", rule=rule)
    for check in CHECKS:
        reason = check(interaction, rule)
        if reason is not None:
            return Decision(reason, rule=rule, version=version)

    scheduled_at = max(interaction.occurred_at + timedelta(minutes=rule.delay_minutes), now)
    lifetime = rule.link_lifetime_hours or int(settings.get("link_lifetime_hours"))
    return Decision(
        None,
        rule=rule,
        version=version,
        channels=tuple(contacts.reachable_channels(interaction.customer, rule.channels)),
        scheduled_at=scheduled_at,
        expires_at=scheduled_at + timedelta(hours=lifetime),
    )
