"""Exactly one worker runs the periodic jobs, whatever the number of workers and hosts.

Every ``survey worker`` starts Huey's scheduler, but the minute sweep does its work only
in the process that holds the sweep's lease, a row in the database every worker can
reach (SQLite on one machine, PostgreSQL beyond it: no other service to run). The
holder renews it at each sweep; a lease lasts well over one period, so a live holder
keeps it, and a dead one's runs out and the next worker to sweep takes it over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from survey import clock
from survey.extensions import db
from survey.models import PeriodicLease

log = logging.getLogger(__name__)

# Two and a half sweeps: a holder that misses one minute (a slow sweep) keeps the lease.
LEASE = timedelta(seconds=150)
# This process, as a lease holder: unique per process even after a PID is reused.
THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def hold(name: str, holder: str = THIS_PROCESS, lease: timedelta = LEASE) -> bool:
    """Take or renew the lease ``name`` for ``holder``; return whether it holds it now.

    One conditional UPDATE renews our own lease or takes one that ran out; when there is
    no row yet, an INSERT races the other workers' and the primary key lets one win.
    Commits.
    """
    now = clock.now()
    taken = db.session.execute(
        sa.update(PeriodicLease)
        .where(
            PeriodicLease.name == name,
            sa.or_(PeriodicLease.holder == holder, PeriodicLease.until <= now),
        )
        .values(holder=holder, until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:
        db.session.commit()
        return True
    db.session.rollback()
    if db.session.get(PeriodicLease, name) is not None:
        return False
    try:
        db.session.add(PeriodicLease(name=name, holder=holder, until=now + lease))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    log.info("periodic jobs %r: this worker (%s) runs them", name, holder)
    return True


def release(name: str, holder: str = THIS_PROCESS) -> None:
    """Give a lease up if this holder has it (a worker stopping on purpose); commits."""
    db.session.execute(
        sa.delete(PeriodicLease).where(PeriodicLease.name == name, PeriodicLease.holder == holder)
    )
    db.session.commit()


def holder_of(name: str) -> str | None:
    """Return who holds a lease now (None when nobody does)."""
    lease = db.session.get(PeriodicLease, name)
    if lease is None or lease.until <= clock.now():
        return None
    return lease.holder
