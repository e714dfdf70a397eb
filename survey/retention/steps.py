"""The steps of PII retention, one a table: each a generator of batches, committed by the caller.

Each step selects what is still to do (a marker in the row: a pseudonym, a null
text, a missing file), so a stopped run is finished by the next and a second run
finds nothing; the two steps without a marker (failure reasons, the audit trail)
work from the last completed run's cutoff (``since``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from survey import pseudonyms
from survey.dispatch.contacts import ADDRESS_KIND
from survey.extensions import db
from survey.models import (
    Address,
    Answer,
    AuditEvent,
    CaseNote,
    Comment,
    Customer,
    Delivery,
    FollowUpCase,
    ImportJob,
    InboundEvent,
    Interaction,
    Invitation,
    OptOut,
    OutboxMessage,
)
from survey.models.customer import customer_address


def all_steps(
    secret: bytes, cutoff: datetime, now: datetime, since: datetime | None, batch: int
) -> list[tuple[str, Iterator[int]]]:
    """Return each step's name and its batches (each yields the rows it changed)."""
    # The since..cutoff range is all that a completed earlier run left for the two steps
    # that cannot tell a scrubbed row from another; a lowered N widens it, a raised one
    # empties it (what was removed stays removed).
    return [
        ("addresses", _addresses(secret, cutoff, now, batch)),
        ("customers", _customers(cutoff, now, batch)),
        ("deliveries", _deliveries(secret, cutoff, batch)),
        ("invitations", _failure_reasons(secret, cutoff, since, batch)),
        ("interactions", _digests(secret, cutoff, batch)),
        ("outbox", _outbox(cutoff, batch)),
        ("inbound", _inbound(secret, cutoff, batch)),
        ("answers", _answers(cutoff, now, batch)),
        ("audit", _audit(secret, cutoff, since, batch)),
        ("imports", _imports(secret, cutoff, batch)),
        # A follow-up case keeps no copy of the customer's contact details (its page
        # reads them from the customer, and the audit records only that they were viewed);
        # its notes are staff's free text, which may quote them.
        ("followup_notes", _case_notes(secret, cutoff, batch)),
    ]


def _open_invitation(now: datetime) -> sa.ColumnElement[bool]:
    """An invitation that may still be sent or answered: it needs the customer's address.

    Past its expiry none can be (the sweep marks it expired, if it has not yet).
    """
    return sa.and_(
        Invitation.state.in_(("scheduled", "sending", "sent")), Invitation.expires_at > now
    )


def _active(customer: type[Customer], cutoff: datetime, now: datetime) -> sa.ColumnElement[bool]:
    """Whether a customer (row or alias) was seen since the cutoff or still has a survey open."""
    return sa.or_(
        customer.created_at >= cutoff,
        customer.updated_at >= cutoff,
        sa.exists().where(Interaction.customer_id == customer.id, Interaction.created_at >= cutoff),
        sa.exists().where(Invitation.customer_id == customer.id, _open_invitation(now)),
    )


def _addresses(secret: bytes, cutoff: datetime, now: datetime, batch: int) -> Iterator[int]:
    """Pseudonymise addresses old enough that no active customer has."""
    holder = aliased(Customer)
    kept = (
        sa.select(customer_address.c.address_id)
        .join(holder, holder.id == customer_address.c.customer_id)
        .where(customer_address.c.address_id == Address.id, _active(holder, cutoff, now))
        .exists()
    )
    due = sa.and_(
        Address.value.not_like(f"{pseudonyms.PREFIX}%"), Address.created_at < cutoff, ~kept
    )
    while True:
        rows = db.session.execute(
            sa.select(Address.id, Address.kind, Address.value)
            .where(due)
            .order_by(Address.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        changed = 0
        for address_id, kind, value in rows:
            alias = pseudonyms.pseudonym(kind, value, secret)
            twin = db.session.scalar(
                sa.select(Address.id).where(Address.kind == kind, Address.value == alias)
            )
            if twin is not None:
                _merge(address_id, twin)
                changed += 1
                continue
            # Checked again in the UPDATE: a customer who came back meanwhile keeps it.
            result = db.session.execute(
                sa.update(Address)
                .where(Address.id == address_id, Address.value == value, ~kept)
                .values(value=alias)
                .execution_options(synchronize_session=False)
            )
            changed += result.rowcount
        yield changed


def _merge(plain_id: int, into_id: int) -> None:
    """Fold an address that came back while the key was missing into its retained row."""
    for column in (OptOut.address_id, OptOut.via_address_id):
        db.session.execute(
            sa.update(OptOut)
            .where(column == plain_id)
            .values({column.key: into_id})
            .execution_options(synchronize_session=False)
        )
    holders = db.session.scalars(
        sa.select(customer_address.c.customer_id).where(customer_address.c.address_id == plain_id)
    ).all()
    have = set(
        db.session.scalars(
            sa.select(customer_address.c.customer_id).where(
                customer_address.c.address_id == into_id
            )
        )
    )
    db.session.execute(customer_address.delete().where(customer_address.c.address_id == plain_id))
    for customer_id in holders:
        if customer_id not in have:
            db.session.execute(
                customer_address.insert().values(customer_id=customer_id, address_id=into_id)
            )
    db.session.execute(sa.delete(Address).where(Address.id == plain_id))


def _customers(cutoff: datetime, now: datetime, batch: int) -> Iterator[int]:
    """Empty the names of customers not seen since the cutoff."""
    due = sa.and_(Customer.name != "", ~_active(Customer, cutoff, now))
    while True:
        ids = db.session.scalars(
            sa.select(Customer.id).where(due).order_by(Customer.id).limit(batch)
        ).all()
        if not ids:
            return
        # updated_at stays: retention is not the bank changing the record, and a customer
        # it touched must not look active to the next run's address step.
        result = db.session.execute(
            sa.update(Customer)
            .where(Customer.id.in_(ids), due)
            .values(name="", updated_at=Customer.updated_at)
            .execution_options(synchronize_session=False)
        )
        yield result.rowcount


def _deliveries(secret: bytes, cutoff: datetime, batch: int) -> Iterator[int]:
    """Give old deliveries the address's pseudonym, and scrub their provider errors."""
    due = sa.and_(
        Delivery.created_at < cutoff,
        Delivery.address != "",
        Delivery.address.not_like(f"{pseudonyms.PREFIX}%"),
    )
    table = Delivery.__table__
    while True:
        rows = db.session.execute(
            sa.select(Delivery.id, Delivery.channel, Delivery.address, Delivery.error)
            .where(due)
            .order_by(Delivery.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(
                address=sa.bindparam("new_address"),
                error=sa.bindparam("new_error"),
                updated_at=table.c.updated_at,
            ),
            [
                {
                    "row_id": row_id,
                    "new_address": pseudonyms.pseudonym(
                        ADDRESS_KIND.get(channel, "phone"), address, secret
                    ),
                    "new_error": pseudonyms.scrub_text(error, secret) if error else error,
                }
                for row_id, channel, address, error in rows
            ],
        )
        yield len(rows)


def _changed_text(
    table: sa.Table,
    column: str,
    secret: bytes,
    where: sa.ColumnElement[bool],
    batch: int,
    scrub: Callable[[object, bytes], object],
    keep: tuple[str, ...] = (),
) -> Iterator[int]:
    """Walk rows by id and rewrite one column where scrubbing changes it."""
    last = 0
    target = table.c[column]
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, target)
            .where(where, table.c.id > last)
            .order_by(table.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        updates = []
        for row_id, value in rows:
            scrubbed = scrub(value, secret)
            if scrubbed != value:
                updates.append({"row_id": row_id, "new_value": scrubbed})
        if updates:
            # Core, not the ORM: the audit trail refuses ORM updates (models/audit.py), and
            # this is the one rewrite it allows, itself recorded by the run's audit event.
            db.session.execute(
                table.update()
                .where(table.c.id == sa.bindparam("row_id"))
                .values({column: sa.bindparam("new_value"), **{k: table.c[k] for k in keep}}),
                updates,
            )
        yield len(updates)


def _scrub_optional_text(value: object, secret: bytes) -> object:
    return pseudonyms.scrub_text(value, secret) if isinstance(value, str) else value


def _failure_reasons(
    secret: bytes, cutoff: datetime, since: datetime | None, batch: int
) -> Iterator[int]:
    """Scrub contact details from old invitations' failure reasons (what providers said)."""
    table = Invitation.__table__
    where = sa.and_(table.c.created_at < cutoff, table.c.failure_reason.is_not(None))
    if since is not None:
        where = sa.and_(where, table.c.created_at >= since)
    return _changed_text(
        table, "failure_reason", secret, where, batch, _scrub_optional_text, keep=("updated_at",)
    )


def _digests(secret: bytes, cutoff: datetime, batch: int) -> Iterator[int]:
    """Key old replay digests: they hash posted bodies that held names and numbers."""
    due = sa.and_(
        Interaction.created_at < cutoff,
        Interaction.payload_digest.is_not(None),
        Interaction.payload_digest.not_like(f"{pseudonyms.PREFIX}%"),
    )
    table = Interaction.__table__
    while True:
        rows = db.session.execute(
            sa.select(Interaction.id, Interaction.payload_digest)
            .where(due)
            .order_by(Interaction.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(payload_digest=sa.bindparam("new_digest")),
            [
                {"row_id": row_id, "new_digest": pseudonyms.keyed_digest(digest, secret)}
                for row_id, digest in rows
            ],
        )
        yield len(rows)


def _outbox(cutoff: datetime, batch: int) -> Iterator[int]:
    """Delete old outbox messages: what a customer would have received, names and links."""
    while True:
        ids = db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.created_at < cutoff)
            .order_by(OutboxMessage.id)
            .limit(batch)
        ).all()
        if not ids:
            return
        result = db.session.execute(
            sa.delete(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        yield result.rowcount


def _inbound(secret: bytes, cutoff: datetime, batch: int) -> Iterator[int]:
    """Give old inbound messages the sender's pseudonym and drop what they said."""
    unscrubbed = sa.and_(
        InboundEvent.address != "", InboundEvent.address.not_like(f"{pseudonyms.PREFIX}%")
    )
    due = sa.and_(InboundEvent.created_at < cutoff, sa.or_(InboundEvent.body != "", unscrubbed))
    table = InboundEvent.__table__
    while True:
        rows = db.session.execute(
            sa.select(InboundEvent.id, InboundEvent.address)
            .where(due)
            .order_by(InboundEvent.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(address=sa.bindparam("new_address"), body=""),
            [
                {
                    "row_id": row_id,
                    "new_address": (
                        pseudonyms.pseudonym(
                            "email" if "@" in address else "phone", address, secret
                        )
                        if address
                        else address
                    ),
                }
                for row_id, address in rows
            ],
        )
        yield len(rows)


def _answers(cutoff: datetime, now: datetime, batch: int) -> Iterator[int]:
    """Remove the text of old comments; the row, and every number, stay."""
    due = sa.and_(Answer.answered_at < cutoff, Answer.value_text.is_not(None))
    while True:
        ids = db.session.scalars(
            sa.select(Answer.id).where(due).order_by(Answer.id).limit(batch)
        ).all()
        if not ids:
            return
        result = db.session.execute(
            sa.update(Answer)
            .where(Answer.id.in_(ids))
            .values(value_text=None, text_removed_at=now)
            .execution_options(synchronize_session=False)
        )
        # The comments browser's copy of the text (scoring/comment_index.py) goes with it.
        db.session.execute(
            sa.delete(Comment)
            .where(Comment.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        yield result.rowcount


def _audit(secret: bytes, cutoff: datetime, since: datetime | None, batch: int) -> Iterator[int]:
    """Replace contact details inside old audit events' before/after with pseudonyms."""
    table = AuditEvent.__table__
    where = table.c.at < cutoff
    if since is not None:
        where = sa.and_(where, table.c.at >= since)
    for column in ("before", "after"):
        yield from _changed_text(
            table,
            column,
            secret,
            sa.and_(where, table.c[column].is_not(None)),
            batch,
            pseudonyms.scrub_json,
        )


def _imports(secret: bytes, cutoff: datetime, batch: int) -> Iterator[int]:
    """Empty the uploaded files of finished old imports, and scrub their row errors."""
    due = sa.and_(
        ImportJob.created_at < cutoff,
        ImportJob.state.in_(("done", "failed")),
        sa.func.length(ImportJob.content) > 0,
    )
    while True:
        rows = db.session.execute(
            sa.select(ImportJob.id, ImportJob.errors, ImportJob.failure)
            .where(due)
            .order_by(ImportJob.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row_id, errors, failure in rows:
            db.session.execute(
                sa.update(ImportJob)
                .where(ImportJob.id == row_id)
                .values(
                    content=b"",
                    errors=pseudonyms.scrub_json(errors or [], secret),
                    failure=_scrub_optional_text(failure, secret),
                    updated_at=ImportJob.updated_at,
                )
                .execution_options(synchronize_session=False)
            )
        yield len(rows)


def _case_notes(secret: bytes, cutoff: datetime, batch: int) -> Iterator[int]:
    """Pseudonymise phone numbers and e-mail addresses in the notes of closed follow-up cases
    written before the cutoff (a case still being worked keeps its notes as they are).

    Scrubbing is idempotent (a pseudonym is no phone number or address), so every run reads
    the old notes again, by id; there are few of them next to answers or deliveries.
    """
    after = 0
    while True:
        rows = db.session.execute(
            sa.select(CaseNote.id, CaseNote.body)
            .join(FollowUpCase, FollowUpCase.id == CaseNote.case_id)
            .where(
                CaseNote.id > after,
                CaseNote.created_at < cutoff,
                FollowUpCase.state == "closed",
            )
            .order_by(CaseNote.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        changed = [
            {"row_id": note_id, "new_body": scrubbed}
            for note_id, body in rows
            if (scrubbed := pseudonyms.scrub_text(body, secret)) != body
        ]
        if changed:  # one executemany, as the other steps write their batches
            table = CaseNote.__table__
            db.session.execute(
                table.update()
                .where(table.c.id == sa.bindparam("row_id"))
                .values(body=sa.bindparam("new_body")),
                changed,
            )
        yield len(changed)
