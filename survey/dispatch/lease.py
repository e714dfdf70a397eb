"""Leases on claimed sends: a dead worker's sends are taken over quickly, a slow one's never.

Claiming an invitation ('scheduled' → 'sending') gives the claimer a lease
(``Invitation.lease_until``). While the worker is alive it renews the lease of
every invitation it still holds, from a heartbeat thread, so a long wait for the
sender's pace or a slow provider call never lets it lapse. A worker that dies
stops renewing: its lease runs out within ``length()`` and the minute sweep takes
the send over (``expired_ids``) and reconciles it. With the default of 30 seconds
and a sweep every minute, a dead worker's sends are picked up within 90 seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from survey import clock
from survey.extensions import db
from survey.models import Invitation

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
# Renewed three times per lease: one missed beat (a slow commit) does not lose it.
BEATS_PER_LEASE = 3


def length() -> timedelta:
    """How long a claim holds without renewal (``SURVEY_SEND_LEASE_SECONDS``)."""
    seconds = current_app.config.get("SURVEY_SEND_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS
    return timedelta(seconds=float(seconds))


def until(now: datetime) -> datetime:
    """The end of a lease taken or renewed at ``now``."""
    return now + length()


def expired() -> sa.ColumnElement[bool]:
    """The condition of a send whose worker stopped renewing its lease (an index range).

    The state is written out, not bound: a database uses a partial index only when the
    query's condition visibly implies the index's own.
    """
    sending = sa.literal_column("'sending'", sa.String)
    return sa.and_(Invitation.state == sending, Invitation.lease_until <= clock.now())


def expired_ids() -> list[int]:
    """Invitations left 'sending' by a worker that no longer renews them, the oldest first."""
    return list(
        db.session.scalars(
            sa.select(Invitation.id).where(expired()).order_by(Invitation.lease_until)
        )
    )


def renew(invitation_ids: Iterable[int]) -> int:
    """Extend the lease of those of these invitations still held; return how many; commits.

    A lease that already ran out is not renewed: the sweep may have taken the send over.
    ``updated_at`` is kept as it is, since a batch's claim stamp lives there.
    """
    ids = list(invitation_ids)
    if not ids:
        return 0
    now = clock.now()
    result = db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.id.in_(ids),
            Invitation.state == "sending",
            Invitation.lease_until > now,
        )
        .values(lease_until=until(now), updated_at=Invitation.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


@contextmanager
def kept(invitation_ids: Iterable[int]) -> Iterator[None]:
    """Renew these invitations' leases from a heartbeat thread while the block runs."""
    ids = list(invitation_ids)
    app = current_app._get_current_object()
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(app, ids, stop, length().total_seconds() / BEATS_PER_LEASE),
        name="send-lease",
        daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=30)


def _heartbeat(app: Flask, ids: list[int], stop: threading.Event, every: float) -> None:
    with app.app_context():
        try:
            while not stop.wait(every):
                try:
                    renew(ids)
                except sa.exc.SQLAlchemyError as error:
                    # The next beat tries again; a lease outlives two missed beats.
                    db.session.rollback()
                    log.warning("send lease not renewed: %s", error)
        finally:
            db.session.remove()
