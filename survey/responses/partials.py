"""Close partial responses and count them: a customer who rates and leaves is not lost.

A partial response (some answers, not completed) counts nowhere until it is
closed: after ``partial_close_hours`` without an answer, or when its link
expires, whichever is first. Closing counts it once, each answered question in
its dimension, on the bank's day it was closed (DESIGN.md rule 5).

Closing is a conditional UPDATE out of 'partial', in the transaction that rolls
the response up; completing is the same UPDATE to 'completed'. Of a completion
and a closing racing, the first one wins and the second changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from survey import clock, settings
from survey.extensions import db
from survey.followup import cases
from survey.funnel import keeping as funnel
from survey.models import Invitation, Response
from survey.scoring import rollup

# Responses one query of the sweep picks up; each is closed in its own short transaction,
# so a closing never holds rollup rows that a completion elsewhere waits for.
BATCH = 200


def due_ids(now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Return partial responses due to close: idle past the closing hours, or their link expired."""
    now = now or clock.now()
    idle_since = now - timedelta(hours=int(settings.get("partial_close_hours")))
    return list(
        db.session.scalars(
            sa.select(Response.id)
            .join(Invitation, Response.invitation_id == Invitation.id)
            .where(
                Response.state == "partial",
                sa.or_(Response.updated_at <= idle_since, Invitation.expires_at <= now),
            )
            .order_by(Response.updated_at, Response.id)
            .limit(limit)
        )
    )


def close(response_id: int, now: datetime | None = None) -> bool:
    """Close one partial response and roll it up, in the caller's transaction.

    Returns False, changing nothing, when it is no longer partial (completed or
    closed by someone else first).
    """
    now = now or clock.now()
    funnel.hold_before_closing(response_id)
    closed = db.session.execute(
        sa.update(Response)
        .where(Response.id == response_id, Response.state == "partial")
        .values(state="closed_partial", counted_at=now)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        return False
    response = db.session.get_one(Response, response_id)
    db.session.refresh(response)
    rollup.apply_response(response)
    funnel.track(response.invitation_id)
    # Never asked, or asked and not answered: a response meeting a follow-up rule says which.
    cases.settle(response, None, now)
    return True


def close_due(now: datetime | None = None, batch: int = BATCH) -> int:
    """Close and count every partial response that is due, a batch at a time; return how many."""
    closed = 0
    while True:
        ids = due_ids(now, batch)
        db.session.rollback()  # end the read: each closing below is its own transaction
        for response_id in ids:
            if close(response_id, now):
                closed += 1
            db.session.commit()
        if len(ids) < batch:
            return closed


def close_for_invitations(invitation_ids: list[int], now: datetime | None = None) -> int:
    """Close and count the partial responses of these invitations (their link just expired)."""
    if not invitation_ids:
        return 0
    ids = db.session.scalars(
        sa.select(Response.id).where(
            Response.invitation_id.in_(invitation_ids), Response.state == "partial"
        )
    ).all()
    closed = 0
    for response_id in ids:
        if close(response_id, now):
            closed += 1
        db.session.commit()
    return closed
