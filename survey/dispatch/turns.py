"""Whose turn it is to survey a customer: sends to one customer or address, one at a time.

Two interactions of one customer, or of two customers sharing a phone or an
e-mail address, can arrive together and both pass the frequency check at
intake. The send checks again just before it marks its delivery; for that
check to be worth anything, no other send to the same customer or address may
check between ours and our commit. ``lock_contacts`` makes sure of it, inside
the transaction that then adds the delivery and commits:

- PostgreSQL: a transaction-scoped advisory lock per customer and per address,
  taken in one order (so two sends never wait for each other in a circle), in one
  statement, and released by the commit.
- SQLite: the first write begins the transaction with ``BEGIN IMMEDIATE`` (see
  ``survey._tune_engine``), which takes the database's one write lock; touching
  the invitation is that first write.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from survey import clock
from survey.extensions import db
from survey.models import Invitation


def lock_key(kind: str, value: str) -> int:
    """A stable signed 64-bit advisory lock key for a customer or an address."""
    digest = hashlib.sha256(f"survey:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_contacts(invitation: Invitation) -> None:
    """Begin a write transaction that no other send to the invitation's customer or addresses
    can enter until it ends (the caller commits or rolls back)."""
    customer = invitation.customer
    if db.engine.dialect.name == "postgresql":
        keys = sorted(
            {lock_key("customer", str(customer.id))}
            | {lock_key("address", a.value) for a in customer.addresses}
        )
        # One statement takes them all, in the array's (sorted) order. The session's
        # transaction goes on: at read committed each later statement sees every commit
        # made before its lock was granted, so nothing needs to start afresh.
        db.session.execute(_ADVISORY_LOCKS, {"keys": keys}).all()
        return
    # Ends the session's transaction, so the locked one starts fresh (and sees every commit).
    db.session.commit()
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )


_KEY = sa.func.unnest(sa.bindparam("keys", type_=postgresql.ARRAY(sa.BigInteger))).column_valued(
    "key"
)
_ADVISORY_LOCKS = sa.select(sa.func.pg_advisory_xact_lock(_KEY))
