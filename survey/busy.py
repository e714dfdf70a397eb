"""A write SQLite refused as busy is tried again a few times, and never shown as a 500.

On SQLite one writer holds the database at a time; a transaction that will write
takes the lock when it begins (``BEGIN IMMEDIATE``, see ``survey._tune_engine``) and
waits up to the busy timeout for it. Under a burst that wait can still run out. The
work that met it has written nothing (its transaction is rolled back), so it is safe
to do again; when it still cannot get the lock the request is answered 503 with a
Retry-After, which the bank's systems and a customer's browser both understand.
PostgreSQL's row locks wait instead; but two transactions that lock shared rows (the
coarser rollup rows several segments add to) in opposite orders deadlock, and PostgreSQL
aborts one: that one is run again the same way.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ServiceUnavailable

from survey.extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

# Each attempt already waited the busy timeout; a few more cover a burst, not an outage.
ATTEMPTS = 3
PAUSE_SECONDS = 0.05
RETRY_AFTER_SECONDS = 2


class DatabaseBusy(ServiceUnavailable):
    """The database stayed locked by other writers through every attempt."""

    description = "The database is busy; nothing was saved. Try again in a moment."

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER_SECONDS)


# PostgreSQL's deadlock_detected and serialization_failure: it aborted one of two
# transactions that waited for each other's row locks; the aborted one wrote nothing.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_busy(error: BaseException) -> bool:
    """Whether an error is contention, not a real fault: SQLite's "database is locked" (or
    "busy"), or a transaction PostgreSQL aborted to break a deadlock."""
    if not isinstance(error, OperationalError):
        return False
    if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


def retry_when_busy(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run a unit of work that commits; when SQLite is busy (or PostgreSQL broke a deadlock
    by aborting it), roll back and run it again.

    :param work: does all its reads and writes and commits; it must be safe to run again
        after a rollback (nothing it did before the failure is kept).
    :raises DatabaseBusy: still busy after ``attempts`` tries.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as error:
            if not is_busy(error):
                raise
            db.session.rollback()
            log.warning("database busy (attempt %d of %d): %s", attempt, attempts, error.orig)
            if attempt == attempts:
                raise DatabaseBusy() from error
            # Jittered, so writers that collided do not collide again in step.
            time.sleep(PAUSE_SECONDS * attempt * (1 + random.random()))
    raise AssertionError("unreachable")
