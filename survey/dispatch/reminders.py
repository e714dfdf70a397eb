"""Reminders: one nudge, the rule's ``reminder_hours`` after the invitation was sent.

Only while the survey is not started (no response yet), its link still works and
the customer has not opted out; inside allowed hours (deferred, not dropped); on
the channel the invitation went out on, or the rule's next reachable one. At most
one per invitation: it is a delivery of the same invitation (``purpose`` =
'reminder'), so the frequency window counts it as the same survey.

Rule 1 as for the invitation itself: the sweep finds due reminders by an indexed
query (a range on reminder_due_at); a send takes one with a conditional UPDATE that
pushes ``reminder_due_at`` out by ``STUCK_AFTER`` (a lease), commits the reminder's
delivery before calling the provider, and clears ``reminder_due_at`` when done. A
crash in between, or a provider answering a 5xx or not at all, leaves the delivery
'sending' and the lease to lapse; the next taker asks the provider (as ``reconcile``
does for invitations): recorded sent if it has it, sent now, once, if it provably never
had it, and 'unknown' (never sent again) if nobody can tell.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import g

from survey import clock
from survey.channels import messages, registry
from survey.channels.base import ABSENT, FOUND, LOOKUP_FAILED
from survey.dispatch import contacts, hours, pace
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Address, Delivery, DispatchRule, Invitation, Response
from survey.ops import metrics
from survey.responses import optouts

log = logging.getLogger(__name__)

# A reminder send takes seconds; a lease this long outlives any that is still running.
STUCK_AFTER = timedelta(minutes=10)
BATCH = 500


def schedule(invitation: Invitation, sent_at: datetime) -> None:
    """Set when the reminder of a just-sent invitation is due, if its rule asks for one."""
    delay = _reminder_hours(invitation.rule_id)
    if not delay or _reminders(invitation):
        invitation.reminder_due_at = None
        return
    invitation.reminder_due_at = sent_at + timedelta(hours=delay)


def _reminder_hours(rule_id: int | None) -> int | None:
    """The rule's reminder delay, read once per app context (a batch of sends is one task)."""
    if rule_id is None:
        return None
    known: dict[int, int | None] = g.setdefault("_survey_reminder_hours", {})
    if rule_id not in known:
        rule = db.session.get(DispatchRule, rule_id)
        known[rule_id] = rule.reminder_hours if rule is not None else None
    return known[rule_id]


def due_invitation_ids(limit: int = BATCH) -> list[int]:
    """Return sent invitations whose reminder is due (or whose reminder send was interrupted).

    The lookup is a range on ``reminder_due_at`` alone (its own index; a condition on
    the state would lead the planner to the index of every sent invitation). Due times
    left on invitations no longer sent (answered, expired) are cleared on the way.
    """
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.state)
        .where(Invitation.reminder_due_at <= clock.now())
        .order_by(Invitation.reminder_due_at)
        .limit(limit)
    ).all()
    over = [row.id for row in rows if row.state != "sent"]
    if over:
        db.session.execute(
            sa.update(Invitation)
            .where(Invitation.id.in_(over), Invitation.state != "sent")
            .values(reminder_due_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return [row.id for row in rows if row.state == "sent"]


def send_reminder(invitation_id: int) -> str:
    """Send an invitation's reminder if it is due and still wanted; return what happened.

    One of ``sent``, ``unknown`` (the provider may have it: never sent again),
    ``in_doubt`` (a 5xx or a timeout: looked up when the lease lapses), ``reconciled``
    (an earlier try the provider had), ``lookup_failed`` (asked again later),
    ``failed``, ``deferred`` (quiet hours), ``paced``, ``skipped`` (not due, taken by
    another worker, or already sent), or why it is no longer wanted: ``started``,
    ``expired``, ``opted_out``, ``no_channel``.
    """
    now = clock.now()
    taken = db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.state == "sent",
            Invitation.reminder_due_at <= now,
        )
        .values(reminder_due_at=now + STUCK_AFTER)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if taken.rowcount != 1:
        return "skipped"
    invitation = db.session.get_one(Invitation, invitation_id)
    outcome = _send(invitation, now)
    if outcome not in ("deferred", "paced", "in_doubt", "lookup_failed"):
        # In doubt or not looked up yet: the lease taken above brings it back then.
        invitation.reminder_due_at = None
    funnel.track(invitation)
    db.session.commit()
    return outcome


def _send(invitation: Invitation, now: datetime) -> str:
    earlier = _reminders(invitation)
    for delivery in [d for d in earlier if d.state == "sending"]:
        settled = _settle(invitation, delivery)
        if settled is not None:
            return settled
    if any(d.state != "held" for d in earlier):
        return "skipped"  # at most one reminder, ever; a 'held' one never reached anybody
    reason = _not_wanted(invitation, now)
    if reason is not None:
        log.info("invitation %s: no reminder, %s", invitation.id, reason)
        return reason
    allowed = hours.next_allowed_for(invitation.customer, now)
    if allowed > now:
        if allowed >= invitation.expires_at:
            return "expired"
        invitation.reminder_due_at = allowed
        return "deferred"
    found = _channel(invitation)
    if found is None:
        return "no_channel"
    channel_name, address = found
    channel = registry.channel_for(channel_name)
    message = pace.with_validity(
        invitation, messages.reminder(invitation, channel_name, address.value)
    )
    turn = pace.reserve_turn(channel, channel_name, message)
    if turn.busy_for is not None:
        invitation.reminder_due_at = clock.now() + timedelta(seconds=turn.busy_for)
        return "paced"
    delivery = Delivery(
        invitation=invitation,
        channel=channel_name,
        address=address.value,
        provider=channel.name,
        purpose="reminder",
        state="sending",
    )
    db.session.add(delivery)
    db.session.commit()  # rule 1: marked before the provider is called
    pace.begin_turn(turn)

    result = channel.send(delivery.id, message)
    metrics.count_send(channel_name, channel.name, result)
    delivery.provider_id = result.provider_id
    delivery.error = result.error
    delivery.error_code = result.code
    if result.unknown and result.look_up:
        # A 5xx or a timeout: the provider may have it. Left 'sending' under the lease taken
        # in send_reminder, so the taker after it asks the provider instead of guessing.
        log.warning(
            "invitation %s: reminder via %s may have been taken (%s); looked up in %s",
            invitation.id,
            channel_name,
            result.error,
            STUCK_AFTER,
        )
        return "in_doubt"
    if result.ok or result.unknown:
        delivery.state = "sent" if result.ok else "unknown"
        return delivery.state
    delivery.state = "failed"
    if result.opted_out:
        optouts.refuse_from_address(
            contacts.ADDRESS_KIND[channel_name],
            address.value,
            "carrier",
            f"{channel.name}:{result.code}",
            invitation.customer,
        )
    log.warning(
        "invitation %s: reminder via %s failed: %s", invitation.id, channel_name, result.error
    )
    return "failed"


def _settle(invitation: Invitation, delivery: Delivery) -> str | None:
    """Settle a reminder left 'sending' (a worker died, or the provider answered a 5xx).

    The provider is asked, as for an invitation (``reconcile``): ``reconciled`` when it has
    it; ``lookup_failed`` when it could not be asked (the lease taken stays, so a later
    sweep asks again, until the link expires); ``unknown`` when nobody can tell (never sent
    again by itself). None when the provider provably never had it: the delivery is
    'held' and the reminder may go now, once.
    """
    from survey.dispatch import reconcile  # reconcile needs sending, which needs this module

    answer = reconcile.look_up(delivery)
    if answer.verdict == LOOKUP_FAILED and clock.now() < invitation.expires_at:
        log.warning(
            "invitation %s: reminder %s not settled yet (%s); a later sweep asks again",
            invitation.id,
            delivery.id,
            answer.error,
        )
        return "lookup_failed"
    if answer.verdict == FOUND:
        delivery.state = "sent"
        delivery.provider_id = answer.provider_id
        log.info("invitation %s: reminder %s reconciled as sent", invitation.id, delivery.id)
        return "reconciled"
    if answer.verdict == ABSENT:
        if reconcile.hold_unrecorded(delivery):
            return None
        db.session.refresh(delivery)
        return "skipped"
    delivery.state = "unknown"
    delivery.error = f"interrupted mid-send; {answer.error or 'the provider cannot confirm it'}"
    log.warning(
        "invitation %s: reminder %s cannot be confirmed; not sent again", invitation.id, delivery.id
    )
    return "unknown"


def _not_wanted(invitation: Invitation, now: datetime) -> str | None:
    if now >= invitation.expires_at:
        return "expired"
    started = db.session.scalar(
        sa.select(Response.id).where(Response.invitation_id == invitation.id).limit(1)
    )
    if started is not None or invitation.completed_at is not None:
        return "started"
    if contacts.customer_opted_out(invitation.customer):
        return "opted_out"
    return None


def _channel(invitation: Invitation) -> tuple[str, Address] | None:
    """The reminder's channel and address: the invitation's own, or the rule's next reachable."""
    rule = db.session.get(DispatchRule, invitation.rule_id) if invitation.rule_id else None
    sent_on = invitation.channel
    if sent_on is None:
        return None
    order = [sent_on]
    if rule is not None and rule.reminder_channel == "next":
        after = (
            invitation.channels[invitation.channels.index(sent_on) + 1 :]
            if (sent_on in invitation.channels)
            else []
        )
        # The next channel when one is reachable; the same one otherwise.
        order = [*after, sent_on]
    for name in order:
        address = contacts.address_for(invitation.customer, name)
        if address is not None:
            return name, address
    return None


def _reminders(invitation: Invitation) -> list[Delivery]:
    return [d for d in invitation.deliveries if d.purpose == "reminder"]


def came_after_reminder(response: Response) -> bool:
    """Whether a response was started after its invitation's reminder was sent (for funnels)."""
    return (
        db.session.scalar(
            sa.select(Delivery.id)
            .where(
                Delivery.invitation_id == response.invitation_id,
                Delivery.purpose == "reminder",
                Delivery.state.not_in(("failed", "undelivered", "canceled", "retrying", "held")),
                Delivery.created_at <= response.started_at,
            )
            .limit(1)
        )
        is not None
    )
