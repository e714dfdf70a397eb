"""Claiming due invitations in batches: several workers, no invitation taken twice, no waiting.

A worker claims a small batch of due invitations in one statement (state
'scheduled' → 'sending', stamped with the claim's instant) and sends them itself,
one after another, right away. Nothing is handed on between the claim and the
send, so a claimed invitation waits only for the few before it in its batch.

Rule 1 when a worker or its task is lost (Huey delivers at most once): its
claimed invitations stay 'sending'. Once their lease runs out (``lease.py``: a
live worker renews it while it works, a dead one cannot) the minute sweep finds
them and reconciles each one (``sending.send_invitation``): one without a
delivery is sent, one with a delivery that may have reached the provider is
asked about (``reconcile.py``), never sent blindly. A worker that was only slow
keeps its lease; one that stalled past it sends an invitation only if its claim
stamp is still the one on the row (``sending.send_claimed``), so it and the
sweep never both send.

PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``: a claimer passes over rows
another claimer's open transaction holds instead of waiting for them. SQLite
has no row locks; its writers take the database's one write lock in turn
(``BEGIN IMMEDIATE``), and the claim is a single conditional UPDATE … RETURNING.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from survey import clock
from survey.dispatch import lease, sending
from survey.extensions import db
from survey.models import Invitation

# Small, so a batch is sent within seconds of its claim (its lease is renewed meanwhile, even
# when each send waits its turn at the sender's pace), and a lost batch strands few invitations.
BATCH = 20

# UPDATE … RETURNING arrived in SQLite 3.35.
_SQLITE_RETURNING = tuple(int(part) for part in sqlite3.sqlite_version.split(".")) >= (3, 35)


@dataclass(frozen=True)
class Claim:
    """Invitations one claimer now holds, and the stamp (their updated_at) that proves it."""

    ids: list[int]
    stamp: datetime


def claim_due(limit: int = BATCH) -> Claim:
    """Claim up to ``limit`` due invitations, the longest due first; commits.

    Two claimers at once never get the same invitation, and on PostgreSQL
    neither waits for the other.
    """
    now = clock.now()
    due = (
        sa.select(Invitation.id)
        .where(Invitation.state == "scheduled", Invitation.scheduled_at <= now)
        .order_by(Invitation.scheduled_at)
        .limit(limit)
    )
    dialect = db.engine.dialect.name
    if dialect == "sqlite" and not _SQLITE_RETURNING:
        return Claim(_claim_one_by_one(list(db.session.scalars(due)), now), now)
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = db.session.scalars(
        sa.update(Invitation)
        # The outer condition is the claim's guarantee on SQLite, where the subquery locks nothing.
        .where(Invitation.id.in_(due.scalar_subquery()), Invitation.state == "scheduled")
        .values(state="sending", updated_at=now, claimed_at=now, lease_until=lease.until(now))
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return Claim(sorted(claimed), now)


def _claim_one_by_one(candidates: list[int], now: datetime) -> list[int]:
    """Claim each candidate with its own conditional UPDATE (SQLite before RETURNING)."""
    claimed = []
    for invitation_id in candidates:
        result = db.session.execute(sending.claim_statement(invitation_id, now))
        if result.rowcount == 1:
            claimed.append(invitation_id)
    db.session.commit()
    return claimed


def send_due(limit: int = BATCH) -> Counter[str]:
    """Claim a batch of due invitations and send each; count what happened to them.

    ``claimed`` counts the batch; the other keys are ``sending.send_invitation``'s answers.
    """
    claim = claim_due(limit)
    outcomes: Counter[str] = Counter(claimed=len(claim.ids))
    with lease.kept(claim.ids):
        for invitation_id in claim.ids:
            outcomes[sending.send_claimed(invitation_id, claim.stamp)] += 1
            # Each send starts from what the database says, not from the last one's objects.
            db.session.expunge_all()
    return outcomes


def due_count() -> int:
    """How many invitations are due now (the sweep starts that many batches' worth of senders)."""
    now = clock.now()
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(Invitation.state == "scheduled", Invitation.scheduled_at <= now)
    )


def stuck_invitation_ids() -> list[int]:
    """Invitations left 'sending' by a worker that stopped renewing its lease: lost or crashed."""
    return lease.expired_ids()
