"""Storing an interaction the bank's systems posted, once, and deciding about its survey.

Idempotent on the interaction's ``external_id``: a replay of the same body gets
the stored result back, a different body under the same id is refused, and two
identical posts racing each other still store one interaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from survey import busy, clock, hints
from survey.dispatch import decide
from survey.extensions import db
from survey.models import Address, Agent, BusinessLine, Customer, Interaction, Invitation, Team
from survey.models.invitation import new_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerInput:
    external_id: str
    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None  # lower-case
    locale: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class ComplaintInput:
    opened_at: datetime | None = None
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_first_contact: bool | None = None
    cause: str | None = None


@dataclass(frozen=True)
class InteractionInput:
    """A validated interaction, its organisation codes already resolved to rows."""

    external_id: str
    occurred_at: datetime
    channel: str
    type: str
    customer: CustomerInput
    digest: str
    business_line_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    new_agent_code: str | None = None  # unknown to us: created under team_id
    category: str | None = None
    wait_seconds: int | None = None
    complaint: ComplaintInput | None = None


@dataclass(frozen=True)
class Outcome:
    interaction: Interaction
    invitation: Invitation | None
    created: bool


class ReplayConflict(ValueError):
    """An interaction with this external_id exists and was posted with a different body."""


def body_digest(body: Any) -> str:
    """Return a digest of a JSON body that ignores key order and spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def take_in(data: InteractionInput) -> Outcome:
    """Store an interaction and its invitation (or suppression) in one transaction.

    The decision is made before anything is written, so the write transaction (on
    SQLite, the database's one write lock) lasts only as long as its inserts; when
    SQLite is busy even so, the whole intake is tried again a few times.

    :raises ReplayConflict: the external_id is taken by a different body.
    :raises survey.busy.DatabaseBusy: SQLite stayed locked through every attempt.
    """
    return busy.retry_when_busy(lambda: _take_in(data))


def _take_in(data: InteractionInput) -> Outcome:
    for attempt in (1, 2):
        existing = _replay(data)
        if existing is not None:
            return existing
        try:
            interaction, invitation = _store(data)
            db.session.commit()
        except IntegrityError:
            # A concurrent post stored the same interaction, customer, address or
            # agent first; the second attempt finds theirs.
            db.session.rollback()
            if attempt == 2:
                raise
            continue
        if invitation is not None and invitation.scheduled_at <= clock.now():
            _enqueue(invitation.id)
        return Outcome(interaction, invitation, created=True)
    raise AssertionError("unreachable")


def _replay(data: InteractionInput) -> Outcome | None:
    interaction = db.session.scalar(
        sa.select(Interaction).where(Interaction.external_id == data.external_id)
    )
    if interaction is None:
        return None
    if interaction.payload_digest != data.digest:
        raise ReplayConflict(data.external_id)
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.interaction_id == interaction.id)
    )
    return Outcome(interaction, invitation, created=False)


def _store(data: InteractionInput) -> tuple[Interaction, Invitation | None]:
    """Decide about the interaction, then add it (and its invitation) to the session.

    Nothing is flushed here: every row the decision reads (the customer, their
    addresses and opt-outs, their history, the rules) is read first, and the new and
    changed rows are written together by the caller's commit.
    """
    with db.session.no_autoflush:
        return _decide_and_add(data, clock.now())


def _decide_and_add(data: InteractionInput, now: datetime) -> tuple[Interaction, Invitation | None]:
    customer = _upsert_customer(data.customer)
    team = db.session.get(Team, data.team_id) if data.team_id else None
    agent = db.session.get(Agent, data.agent_id) if data.agent_id else None
    if agent is None and data.new_agent_code and team is not None:
        # Named later by the admin; until then pages show the code.
        agent = Agent(code=data.new_agent_code, team=team, name_zh="", name_en="")
        db.session.add(agent)
    complaint = data.complaint or ComplaintInput()
    interaction = Interaction(
        external_id=data.external_id,
        occurred_at=data.occurred_at,
        channel=data.channel,
        type=data.type,
        business_line=db.session.get(BusinessLine, data.business_line_id)
        if data.business_line_id
        else None,
        team=team,
        agent=agent,
        category=data.category,
        wait_seconds=data.wait_seconds,
        customer=customer,
        complaint_opened_at=complaint.opened_at,
        complaint_first_reply_at=complaint.first_reply_at,
        complaint_resolved_at=complaint.resolved_at,
        complaint_resolved_first_contact=complaint.resolved_first_contact,
        complaint_cause=complaint.cause,
        payload_digest=data.digest,
    )
    db.session.add(interaction)

    decision = decide.decide(interaction, now)
    interaction.suppression_reason = decision.suppression_reason
    if not decision.invites:
        return interaction, None
    assert decision.rule and decision.version and decision.scheduled_at and decision.expires_at
    invitation = Invitation(
        interaction=interaction,
        customer=customer,
        version=decision.version,
        rule_id=decision.rule.id,
        channels=list(decision.channels),
        sms_mode=decision.rule.sms_mode,
        locale=customer.locale,
        token=new_token(),
        unsubscribe_token=new_token(),
        state="scheduled",
        scheduled_at=decision.scheduled_at,
        expires_at=decision.expires_at,
    )
    db.session.add(invitation)
    return interaction, invitation


def _upsert_customer(data: CustomerInput) -> Customer:
    customer = db.session.scalar(
        sa.select(Customer).where(Customer.external_id == data.external_id)
    )
    if customer is None:
        customer = Customer(external_id=data.external_id, name="", locale="zh")
        db.session.add(customer)
    if data.name is not None:
        customer.name = data.name
    if data.locale is not None:
        customer.locale = data.locale
    if data.timezone is not None:
        customer.timezone = data.timezone
    for kind, value in (("phone", data.phone), ("email", data.email)):
        if not value:
            continue
        address = db.session.scalar(
            sa.select(Address).where(Address.kind == kind, Address.value == value)
        )
        if address is None:
            address = Address(kind=kind, value=value)
            db.session.add(address)
        if address not in customer.addresses:
            customer.addresses.append(address)
    return customer


def _enqueue(invitation_id: int) -> None:
    """Hint the queue; if it is down, the periodic sweep finds the invitation anyway."""
    hints.send_soon(invitation_id)
