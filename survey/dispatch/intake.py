"""Storing an interaction the bank's systems posted, once, and deciding about its survey.

Idempotent on the interaction's ``external_id``: a replay of the same body gets
the stored result back, a different body under the same id is refused, and two
identical posts racing each other still store one interaction. A complaint posted
with a ``case_id`` joins its complaint case (``survey.dispatch.cases``), which is read,
moved on and decided about in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from survey import addresses, busy, clock, hints, pseudonyms
from survey.dispatch import cases, decide, hours, intake_rows, rules
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Address, Agent, Customer, Interaction, Invitation
from survey.models.customer import customer_address
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
    case_id: str | None = None  # the complaint system's case: posts sharing it are one case
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
    # The codes of the line and team resolved above (a team given by its agent, a line by
    # its team), which dispatch rules filter on.
    business_line_code: str | None = None
    team_code: str | None = None
    category: str | None = None
    wait_seconds: int | None = None
    complaint: ComplaintInput | None = None


@dataclass(frozen=True)
class InvitationPlan:
    """An invitation as intake left it: what the bank's system is told about it."""

    id: int
    channel: str | None  # until it is sent, the channel it will be tried on first
    state: str
    scheduled_at: datetime
    # Set when the customer's allowed hours hold the send back: their zone, and the hours.
    held_for_allowed_hours: AllowedHours | None = None


@dataclass(frozen=True)
class AllowedHours:
    """The allowed hours an invitation waits for, in the customer's own zone."""

    zone: str
    start: str
    end: str


@dataclass(frozen=True)
class Outcome:
    """What became of a posted interaction, read before the commit so nothing is reloaded."""

    interaction_id: int
    suppression_reason: str | None
    invitation: InvitationPlan | None
    created: bool


def _outcome(interaction: Interaction, invitation: Invitation | None, created: bool) -> Outcome:
    plan = None
    if invitation is not None:
        plan = InvitationPlan(
            id=invitation.id,
            channel=invitation.channel or (invitation.channels[0] if invitation.channels else None),
            state=invitation.state,
            scheduled_at=invitation.scheduled_at,
            held_for_allowed_hours=_held_for_allowed_hours(invitation),
        )
    return Outcome(interaction.id, interaction.suppression_reason, plan, created)


def _held_for_allowed_hours(invitation: Invitation) -> AllowedHours | None:
    """Say whether a waiting invitation waits for the customer's allowed hours to begin.

    It does when the moment before its send time is outside them (so the send time is the
    start of an allowed window): read from what is stored, a replay is told the same.
    """
    if invitation.state != "scheduled" or invitation.scheduled_at <= clock.now():
        return None
    before = invitation.scheduled_at - timedelta(seconds=1)
    if hours.next_allowed_for(invitation.customer, before) == before:
        return None
    start, end = hours.allowed_hours()
    zone = hours.customer_zone(invitation.customer).key
    return AllowedHours(zone, start.strftime("%H:%M"), end.strftime("%H:%M"))


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
    :raises survey.dispatch.cases.CaseConflict: the post contradicts its complaint case.
    :raises survey.busy.DatabaseBusy: SQLite stayed locked through every attempt.
    """
    return busy.retry_when_busy(lambda: _take_in(data))


def _take_in(data: InteractionInput) -> Outcome:
    for attempt in (1, 2):
        # A replay is rare: the first attempt of a post without a complaint block does not
        # look for one, the interaction's unique external_id stops its insert, and the
        # second attempt answers it. A complaint looks first: replayed, it would contradict
        # its own case as the first post left it.
        if attempt == 2 or data.complaint is not None:
            existing = _replay(data)
            if existing is not None:
                return existing
        try:
            interaction, invitation, survey_id = _store(data)
            if intake_rows.direct(data):
                counted = funnel.intake_counts(interaction, invitation, survey_id)
                intake_rows.insert(interaction, invitation, counted)
            else:
                funnel.count_intake(interaction, invitation, survey_id)
                db.session.flush()
            outcome = _outcome(interaction, invitation, created=True)
            db.session.commit()
        except cases.CaseConflict:
            db.session.rollback()
            raise
        except (IntegrityError, StaleDataError):
            # A concurrent post stored the same interaction, customer, address, agent or
            # complaint case first, or moved the case on (its survey included); the
            # second attempt finds theirs and decides again.
            db.session.rollback()
            if attempt == 2:
                raise
            continue
        if outcome.invitation is not None and outcome.invitation.scheduled_at <= clock.now():
            _enqueue(outcome.invitation.id)
        return outcome
    raise AssertionError("unreachable")


# Built once, run bound: building a statement costs about as much as running it.
_INTERACTION_BY_EXTERNAL_ID = sa.select(Interaction).where(
    Interaction.external_id == sa.bindparam("external_id")
)


def _replay(data: InteractionInput) -> Outcome | None:
    interaction = db.session.scalar(_INTERACTION_BY_EXTERNAL_ID, {"external_id": data.external_id})
    if interaction is None:
        return None
    # Past retention the digest is keyed (it hashes the customer's details): a replay of
    # the same body is still the same body.
    if interaction.payload_digest not in (data.digest, pseudonyms.keyed_digest(data.digest)):
        raise ReplayConflict(data.external_id)
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.interaction_id == interaction.id)
    )
    return _outcome(interaction, invitation, created=False)


class _Stored(NamedTuple):
    """What intake added to the session: the interaction, its invitation and its survey."""

    interaction: Interaction
    invitation: Invitation | None
    survey_id: int | None  # the survey of the invitation's version


def _store(data: InteractionInput) -> _Stored:
    """Decide about the interaction, then add it (and its invitation) to the session.

    Nothing is flushed here: every row the decision reads (the customer, their
    addresses and opt-outs, their history, the rules) is read first, and the new and
    changed rows are written together by the caller's commit.
    """
    with db.session.no_autoflush:
        return _decide_and_add(data, clock.now())


def _decide_and_add(data: InteractionInput, now: datetime) -> _Stored:
    customer = _upsert_customer(data.customer)
    complaint = data.complaint or ComplaintInput()
    # The organisation is set by id: its rows were read when the post was checked, and
    # the decision needs only their codes.
    interaction = Interaction(
        external_id=data.external_id,
        occurred_at=data.occurred_at,
        channel=data.channel,
        type=data.type,
        business_line_id=data.business_line_id,
        team_id=data.team_id,
        agent_id=data.agent_id,
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
    case_settled = False
    if complaint.case_id is not None:
        case_settled = cases.record(
            interaction, complaint, customer, data.business_line_id, data.team_id
        )
    if data.agent_id is None and data.new_agent_code and data.team_id is not None:
        # Unknown when the post was checked; a concurrent post may have added it since
        # (then this is the retry after its unique code stopped our insert).
        agent = db.session.scalar(sa.select(Agent).where(Agent.code == data.new_agent_code))
        if agent is None:
            # Named later by the admin; until then pages show the code.
            agent = Agent(code=data.new_agent_code, team_id=data.team_id, name_zh="", name_en="")
        interaction.agent = agent
    # Kept out of the session when its rows are written as plain INSERTs (intake_rows).
    direct = intake_rows.direct(data)
    if not direct:
        db.session.add(interaction)

    attributes = rules.interaction_attributes(interaction, data.business_line_code, data.team_code)
    decision = decide.decide(interaction, now, attributes, case_settled=case_settled)
    interaction.suppression_reason = decision.suppression_reason
    if not decision.invites:
        return _Stored(interaction, None, None)
    assert decision.rule and decision.version_id and decision.scheduled_at and decision.expires_at
    invitation = Invitation(
        interaction=interaction,
        customer=customer,
        survey_version_id=decision.version_id,
        rule_id=decision.rule.id,
        # A case is surveyed once, about its resolution (the column is unique).
        complaint_case=interaction.complaint_case,
        channels=list(decision.channels),
        sms_mode=decision.rule.sms_mode,
        locale=customer.locale,
        token=new_token(),
        unsubscribe_token=new_token(),
        state="scheduled",
        scheduled_at=decision.scheduled_at,
        expires_at=decision.expires_at,
    )
    if not direct:
        db.session.add(invitation)
    return _Stored(interaction, invitation, decision.rule.survey_id)


# The record with its addresses, in one statement built once: flat outer joins, each an
# index probe (the customer by external_id, its links by the primary key's customer_id,
# each address by id). An ORM joined load nests the two joins, which SQLite plans as a
# scan of every customer's addresses.
_CUSTOMER_WITH_ADDRESSES = (
    sa.select(Customer)
    .outerjoin(customer_address, customer_address.c.customer_id == Customer.id)
    .outerjoin(Address, Address.id == customer_address.c.address_id)
    .where(Customer.external_id == sa.bindparam("external_id"))
    .options(contains_eager(Customer.addresses))
)


def _upsert_customer(data: CustomerInput) -> Customer:
    """Return the customer record, updated from the post, with its addresses loaded.

    One read for a known customer at known addresses; one more to find addresses new
    to the record, whoever else they belong to.
    """
    customer = (
        db.session.execute(_CUSTOMER_WITH_ADDRESSES, {"external_id": data.external_id})
        .unique()
        .scalar_one_or_none()
    )
    if customer is None:
        customer = Customer(external_id=data.external_id, name="", locale="zh", addresses=[])
        db.session.add(customer)
    # Set only when changed: a record merely touched is flushed all the same (the unit of
    # work compares the values only then), and nearly every post repeats what is stored.
    for name in ("name", "locale", "timezone"):
        value = getattr(data, name)
        if value is not None and getattr(customer, name) != value:
            setattr(customer, name, value)
    have = {(a.kind, a.value) for a in customer.addresses}
    wanted = [
        (kind, value)
        for kind, value in (("phone", data.phone), ("email", data.email))
        if value and (kind, value) not in have
    ]
    if not wanted:
        return customer
    # Found by value or by its retention pseudonym (then given its value back): a
    # returning customer's old address, and any refusal it carries, are theirs again.
    known = addresses.find_addresses(wanted)
    for key in wanted:
        address = known.get(key)
        if address is None:
            address = Address(kind=key[0], value=key[1])
            db.session.add(address)
        if address not in customer.addresses:
            customer.addresses.append(address)
    return customer


def _enqueue(invitation_id: int) -> None:
    """Hint the queue; if it is down, the periodic sweep finds the invitation anyway."""
    hints.send_soon(invitation_id)
