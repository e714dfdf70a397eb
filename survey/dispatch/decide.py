"""Decide whether an interaction's customer is asked a survey, and if not, why not.

The decision is a pipeline: find the rule, then run the eligibility checks in
order; the first check that objects names the suppression reason. Each check
is a plain function of the interaction, its rule and the decision time, so new
ones slot in. An invitation is then scheduled after the rule's delay, moved to
the customer's allowed hours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from survey import settings
from survey.dispatch import contacts, history, hours, rules
from survey.models import DispatchRule, Interaction

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
    version_id: int | None = None  # the survey version an invitation is made of
    channels: tuple[str, ...] = ()
    scheduled_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def invites(self) -> bool:
        return self.suppression_reason is None


@dataclass
class Case:
    """One interaction being decided about, with what the checks read about its customer once."""

    interaction: Interaction
    rule: DispatchRule
    now: datetime
    # The interaction's complaint case was resolved before it: the case's one survey was
    # decided then, by the post that resolved it.
    case_settled: bool = False
    _facts: history.Facts | None = None

    @property
    def facts(self) -> history.Facts:
        """The customer's refusals, open complaint and recent surveys, read once, together."""
        if self._facts is None:
            window = timedelta(days=int(settings.get("frequency_window_days")))
            self._facts = history.decision_facts(
                self.interaction.customer, self.interaction, self.now - window
            )
        return self._facts

    @property
    def refusals(self) -> contacts.Refusals:
        return self.facts.refusals

    def reachable_channels(self) -> list[str]:
        """The rule's channels, in order, with an address nobody opted out."""
        return contacts.reachable_channels(
            self.interaction.customer, self.rule.channels, self.refusals.address_ids
        )


Check = Callable[[Case], str | None]


def _opted_out(case: Case) -> str | None:
    """Object when the customer refused surveys, or every address the rule could use is refused."""
    if case.refusals.customer:
        return "opted_out"
    possible = contacts.channels_with_address(case.interaction.customer, case.rule.channels)
    if possible and not case.reachable_channels():
        return "opted_out"
    return None


def _open_complaint(case: Case) -> str | None:
    """Object while the customer has a complaint still open (this interaction's case included).

    A post that resolves its case is decided as resolved: its own case's earlier open
    posts do not hold it back.
    """
    if case.interaction.is_open_complaint or case.facts.open_complaint:
        return "open_complaint"
    return None


def _frequency(case: Case) -> str | None:
    """Object when the customer, or one of their addresses, had a survey within the window.

    A complaint case gets one survey, decided when it is resolved: later posts of a
    resolved case are held as ``frequency`` whatever the window.
    """
    if case.case_settled:
        return "frequency"
    if case.facts.recent_surveys:
        return "frequency"
    return None


def in_sample(external_id: str, rate: float) -> bool:
    """Whether an interaction falls in a rule's sample; the same id always gets the same answer.

    A hash of the external_id, not a random draw, so a replay, a re-run or an
    import of the same interaction decides the same way.
    """
    if rate >= 1:
        return True
    digest = hashlib.sha256(external_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _sampled_out(case: Case) -> str | None:
    """Object when the rule samples fewer than every interaction and this one is not drawn."""
    if not in_sample(case.interaction.external_id, case.rule.sample_rate):
        return "sampled_out"
    return None


def _no_contact(case: Case) -> str | None:
    """Object when the customer has no address on any of the rule's channels."""
    if not case.reachable_channels():
        return "no_contact"
    return None


# Tried in this order; the first objection is the suppression reason, so the order
# says which reason a report shows when several hold:
# - opted_out first: the customer's own refusal is the reason the bank must be able
#   to show, whatever else is true.
# - open_complaint next: a live complaint is the sensitive case the complaints team
#   follows; a survey held back for it should read so, not as routine throttling.
# - frequency: the routine limit on how often anyone is asked.
# - sampled_out: our own thinning, drawn only among interactions we could survey,
#   so a rule's sample rate is the share of eligible interactions asked.
# - no_contact last: it then counts exactly the surveys lost only to missing
#   contact data, which the CRM team can fix.
# Quiet hours defer scheduled_at and suppress nothing.
CHECKS: list[Check] = [_opted_out, _open_complaint, _frequency, _sampled_out, _no_contact]


def decide(
    interaction: Interaction,
    now: datetime,
    attributes: dict[str, str | None],
    case_settled: bool = False,
) -> Decision:
    """Decide about an interaction whose customer and addresses are loaded.

    :param attributes: what rule filters compare, from ``rules.interaction_attributes``.
    :param case_settled: its complaint case was resolved (and its survey decided) before.
    """
    found = rules.first_matching_rule(attributes)
    if found is None:
        return Decision("no_rule")
    rule, version_id = found
    if version_id is None:
        log.warning(
            "rule %s (%s) matched interaction %s but survey %s has no published version",
            rule.id,
            rule.name,
            interaction.external_id,
            rule.survey_id,
        )
        return Decision("no_rule", rule=rule)
    case = Case(interaction, rule, now, case_settled)
    for check in CHECKS:
        reason = check(case)
        if reason is not None:
            return Decision(reason, rule=rule, version_id=version_id)

    due = max(interaction.occurred_at + timedelta(minutes=rule.delay_minutes), now)
    scheduled_at = hours.next_allowed_for(interaction.customer, due)
    lifetime = rule.link_lifetime_hours or int(settings.get("link_lifetime_hours"))
    return Decision(
        None,
        rule=rule,
        version_id=version_id,
        channels=tuple(case.reachable_channels()),
        scheduled_at=scheduled_at,
        expires_at=scheduled_at + timedelta(hours=lifetime),
    )
