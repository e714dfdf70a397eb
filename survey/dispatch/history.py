"""What a customer's past says about asking them again: complaints still open, recent surveys.

Both the decision (when an interaction arrives) and the send (when the
invitation is due) ask here, so a complaint opened in between still holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter, ClauseList, Grouping
from sqlalchemy.sql.visitors import replacement_traverse

from survey import prepared
from survey.dispatch import contacts
from survey.extensions import db
from survey.models import ComplaintCase, Customer, Delivery, Interaction, Invitation
from survey.models.customer import customer_address

# Delivery states after which the message may have reached the address: a refused or
# undelivered attempt did not, an interrupted one may have, a call was picked up or may
# still be.
_MAY_HAVE_REACHED = (
    "sending",
    "sent",
    "accepted",
    "scheduled",
    "queued",
    "delivered",
    "unknown",
    "ringing",
    "in_progress",
    "answered",
)


def _open_complaint_statement(closing_one: bool) -> sa.Select:
    """Build the query for an open complaint of one customer (built once per shape).

    Statements are built once and run with bound parameters: building one (an alias
    of the interaction table, a correlated subquery) costs more than running it.

    One statement, two indexed probes: the customer's complaint cases not resolved
    (but the one being decided about), and their open complaints posted without a case.
    """
    resolved = aliased(Interaction)
    closed_later = (
        sa.select(resolved.id)
        .where(
            resolved.customer_id == Interaction.customer_id,
            resolved.type == "complaint",
            resolved.complaint_resolved_at.is_not(None),
            resolved.complaint_opened_at == Interaction.complaint_opened_at,
        )
        .exists()
    )
    still_open = ~closed_later
    if closing_one:
        still_open = sa.and_(still_open, Interaction.complaint_opened_at != sa.bindparam("closes"))
    without_case = (
        sa.select(Interaction.id)
        .where(
            Interaction.customer_id == sa.bindparam("customer_id"),
            Interaction.type == "complaint",
            Interaction.complaint_resolved_at.is_(None),
            Interaction.complaint_case_id.is_(None),
            sa.or_(Interaction.complaint_opened_at.is_(None), still_open),
        )
        .exists()
    )
    open_case = (
        sa.select(ComplaintCase.id)
        .where(
            ComplaintCase.customer_id == sa.bindparam("customer_id"),
            ComplaintCase.resolved_at.is_(None),
            ComplaintCase.id != sa.bindparam("deciding_case"),
        )
        .exists()
    )
    return sa.select(sa.or_(open_case, without_case))


_OPEN_COMPLAINT = {closing: _open_complaint_statement(closing) for closing in (False, True)}


def has_open_complaint(customer: Customer, deciding: Interaction | None = None) -> bool:
    """Whether a complaint of this customer record is still open.

    A complaint posted with a case id is open while its case is (``ComplaintCase``). One
    posted without is matched the way the complaint systems did before case ids: they
    post it again, under a new external_id, when it is resolved, so a resolved record of
    the same customer with the same ``opened_at`` closes the open one.

    :param deciding: the interaction being decided about, not stored yet (the decision
        comes before the write): its own case is its own business (the caller asks the
        case), and when it resolves a complaint it closes the one opened at that time.
    """
    if customer.id is None:
        return False  # a customer record not stored yet has no complaints stored either
    # No case has id 0: excluding nothing.
    deciding_case, closes = _deciding_complaint(deciding)
    params: dict[str, object] = {"customer_id": customer.id, "deciding_case": deciding_case}
    if closes is not None:
        params["closes"] = closes
    return bool(db.session.scalar(_OPEN_COMPLAINT[closes is not None], params))


def _deciding_complaint(deciding: Interaction | None) -> tuple[int, datetime | None]:
    """The complaint being decided: its case's id (0: none; no case has id 0), and, when it
    resolves a complaint, when that complaint was opened (the open case it closes)."""
    if deciding is None or deciding.type != "complaint":
        return 0, None
    case = deciding.complaint_case
    closes = None
    if not deciding.is_open_complaint:
        closes = deciding.complaint_opened_at or (case.opened_at if case else None)
    return (case.id or 0) if case is not None else 0, closes


def _surveys_since_statement(own: bool, by_address: bool, sharing: bool) -> sa.Select:
    """Build the frequency window's count for one shape of customer (built once per shape)."""
    since = sa.bindparam("since")
    pending = Invitation.state.in_(("scheduled", "sending"))
    # Its own alias: the address probe joins delivery, which must not be correlated away.
    other = aliased(Delivery)
    interrupted = (
        sa.select(other.id)
        .where(other.invitation_id == Invitation.id, other.state == "unknown")
        .correlate(Invitation)
        .exists()
    )
    reached = sa.or_(
        pending,
        Invitation.state.in_(("sent", "completed")),
        Invitation.sent_at.is_not(None),
        interrupted,
    )
    # "Recent" has two arms so that each probe is a range on the invitation index
    # (customer_id, sent_at, scheduled_at): sent since, or unsent and scheduled since.
    recent_arms = (
        Invitation.sent_at >= since,
        sa.and_(Invitation.sent_at.is_(None), Invitation.scheduled_at >= since),
    )
    probes = []
    if own:
        probes.extend(
            sa.select(Invitation.id).where(
                Invitation.customer_id == sa.bindparam("customer_id"), arm, reached
            )
            for arm in recent_arms
        )
    if by_address:
        # Deliveries to the customer's addresses, whoever the invitation was for. The
        # window is the invitation's (a fallback re-send moves sent_at past an older
        # delivery), so the probe is by address and the times are checked on the row.
        probes.append(
            sa.select(Invitation.id)
            .join(Delivery, Delivery.invitation_id == Invitation.id)
            .where(
                Delivery.address.in_(sa.bindparam("values", expanding=True)),
                Delivery.state.in_(_MAY_HAVE_REACHED),
                sa.or_(*recent_arms),
                reached,
            )
        )
    if sharing:
        # From the shared addresses' links to each sharer's invitations by customer and
        # time. SQLite preferred to search every pending invitation in the window by
        # state (ix_invitation_state_scheduled_at: a range that grows with everyone's
        # queue, thousands of rows while a night's surveys wait for the allowed hours)
        # and keep the sharers'; the state is compared as an expression (``state || ''``),
        # which no index serves, so the probe starts from the addresses.
        not_by_state = Invitation.state.concat("").in_(("scheduled", "sending"))
        probes.extend(
            sa.select(Invitation.id)
            .select_from(customer_address)
            .join(Invitation, Invitation.customer_id == customer_address.c.customer_id)
            .where(
                customer_address.c.address_id.in_(sa.bindparam("address_ids", expanding=True)),
                arm,
                not_by_state,
            )
            for arm in recent_arms
        )
    found = sa.union(*probes).subquery()
    return (
        sa.select(sa.func.count()).select_from(found).where(found.c.id != sa.bindparam("excluding"))
    )


_SURVEYS_SINCE: dict[tuple[bool, bool, bool], sa.Select] = {}


def surveys_since(customer: Customer, since: datetime, excluding: int | None = None) -> int:
    """Count the surveys that reached, or are about to reach, the customer or their addresses.

    An invitation counts from when it was sent, or, not sent yet, from when it is
    scheduled: a scheduled or in-flight one will reach the customer, a sent, completed
    or expired one did, and a failed one whose send was interrupted may have. A
    cancelled one, a failed one every channel refused and one that expired unsent never
    did. Besides the customer's own, it counts invitations delivered to any of their
    addresses and invitations not yet sent to other records that share an address,
    since DESIGN.md counts the address as well as the customer.

    Every intake asks this, so it is a UNION of probes that each start from an index
    (invitations by customer and time, deliveries by address) and never reads the whole
    history: one OR over the three kinds of "whose" makes the database scan every
    invitation.
    """
    values = [a.value for a in customer.addresses]
    address_ids = [a.id for a in customer.addresses if a.id is not None]
    # A customer record not stored yet (the decision comes before the write) has no
    # invitations of its own; its addresses may have history all the same.
    shape = (customer.id is not None, bool(values), bool(address_ids))
    if not any(shape):
        return 0
    statement = _SURVEYS_SINCE.get(shape)
    if statement is None:
        statement = _SURVEYS_SINCE[shape] = _surveys_since_statement(*shape)
    params = {
        "since": since,
        "customer_id": customer.id,
        "values": values,
        "address_ids": address_ids,
        # No invitation has id 0: excluding nothing.
        "excluding": excluding if excluding is not None else 0,
    }
    return db.session.scalar(statement, params) or 0


def earlier_survey_reached(invitation: Invitation, since: datetime) -> bool:
    """Whether another invitation reached, or is being sent to, the customer or their addresses.

    Asked at send time under ``turns.lock_contacts``: what counts is another
    invitation of the customer sent since ``since``, or a delivery of another
    invitation to one of the customer's addresses that may have reached it (one
    marked 'sending' counts: it is committed before its provider is called).
    """
    customer = invitation.customer
    values = [a.value for a in customer.addresses]
    own = (
        sa.select(Invitation.id)
        .where(
            Invitation.customer_id == customer.id,
            Invitation.id != invitation.id,
            Invitation.sent_at >= since,
        )
        .exists()
    )
    if not values:
        return bool(db.session.scalar(sa.select(own)))
    reached = (
        sa.select(Delivery.id)
        .where(
            Delivery.address.in_(values),
            Delivery.created_at >= since,
            Delivery.invitation_id != invitation.id,
            Delivery.state.in_(_MAY_HAVE_REACHED),
        )
        .exists()
    )
    # Both indexed probes in one statement: it is asked under the contact locks, once a send.
    return bool(db.session.scalar(sa.select(sa.or_(own, reached))))


@dataclass(frozen=True)
class Facts:
    """What the decision reads about a customer's past, in one statement (``decision_facts``)."""

    refusals: contacts.Refusals
    open_complaint: bool
    recent_surveys: int


_FACTS: dict[tuple[bool, int, int, bool], sa.CompoundSelect] = {}
# The lists the decision's statement binds, each as one parameter a value (see _slotted).
_LISTS = ("values", "address_ids")


def _facts_statement(own: bool, by_value: bool, by_address: bool, closing: bool) -> sa.Select:
    """Build the decision's reads of history as one UNION ALL of (kind, value) rows.

    Each arm is the statement the send's own checks run (``contacts.refusals``,
    ``has_open_complaint``, ``surveys_since``) for the same shape of customer, so each
    keeps its indexed probes: the live opt-outs (a row each), whether a complaint is
    open (one row), the count of surveys in the window (one row).
    """
    arms: list[sa.Select] = []
    if own or by_address:
        refused = contacts.refusals_statement(own, by_address).subquery()
        arms.append(
            sa.select(
                sa.case(
                    (refused.c.own, sa.literal_column("'own'")),
                    else_=sa.literal_column("'refusal'"),
                ).label("kind"),
                refused.c.address_id.label("value"),
            )
        )
    if own:
        arms.append(
            sa.select(
                sa.literal_column("'complaint'").label("kind"),
                sa.cast(_OPEN_COMPLAINT[closing].scalar_subquery(), sa.Integer).label("value"),
            )
        )
    arms.append(
        sa.select(
            sa.literal_column("'recent'").label("kind"),
            _surveys_since_statement(own, by_value, by_address).scalar_subquery().label("value"),
        )
    )
    return sa.union_all(*arms)


def decision_facts(customer: Customer, deciding: Interaction, since: datetime) -> Facts:
    """Read the customer's refusals, open complaint and surveys since ``since`` in one statement.

    The same answers as ``contacts.refusals(customer)``, ``has_open_complaint(customer,
    deciding)`` and ``surveys_since(customer, since)``, in one round trip instead of
    three: every intake needs all three (the send asks again, on its own, when the
    invitation is due).
    """
    values = [a.value for a in customer.addresses]
    address_ids = [a.id for a in customer.addresses if a.id is not None]
    own = customer.id is not None
    if not own and not values:
        return Facts(contacts.Refusals(False, frozenset()), False, 0)
    params: dict[str, object] = {
        "customer_id": customer.id,
        "since": since,
        # No invitation or case has id 0: excluding nothing.
        "excluding": 0,
    }
    for name, items in zip(_LISTS, (values, address_ids), strict=True):
        params.update((f"{name}_{i}", item) for i, item in enumerate(items))
    deciding_case, closes = _deciding_complaint(deciding if own else None)
    params["deciding_case"] = deciding_case
    if closes is not None:
        params["closes"] = closes
    shape = (own, len(values), len(address_ids), closes is not None)
    statement = _FACTS.get(shape)
    if statement is None:
        built = _facts_statement(own, bool(values), bool(address_ids), closes is not None)
        statement = _FACTS[shape] = _slotted(
            built, {"values": len(values), "address_ids": len(address_ids)}
        )
    customer_refused = False
    blocked: set[int] = set()
    open_complaint = False
    recent = 0
    for kind, value in prepared.run_on(db.session.connection(), statement, params).rows:
        if kind == "own":
            customer_refused = True
        elif kind == "refusal":
            if value is not None:
                blocked.add(value)
        elif kind == "complaint":
            open_complaint = bool(value)
        else:
            recent = int(value or 0)
    return Facts(contacts.Refusals(customer_refused, frozenset(blocked)), open_complaint, recent)


def _slotted(statement: sa.CompoundSelect, counts: dict[str, int]) -> sa.CompoundSelect:
    """Bind each list of the statement as one parameter a value (``values_0``, ``values_1``, …).

    An expanding parameter (``IN`` a list of any length, the lists of states written in
    the statement too) is rendered anew at every run, which cost about a third of the
    statement's time in SQLAlchemy; a customer has one or two addresses, so one statement
    per count of each is built, once.
    """

    def fixed(element: Any) -> Any:
        if not isinstance(element, BindParameter) or not element.expanding:
            return None
        if element.key in counts:
            slots = [
                sa.bindparam(f"{element.key}_{i}", type_=element.type)
                for i in range(counts[element.key])
            ]
        else:  # a list written in the statement (states): its values, each bound alike
            slots = [sa.literal(value, element.type) for value in element.value]
        return Grouping(ClauseList(*slots))

    return replacement_traverse(statement, {}, fixed)
