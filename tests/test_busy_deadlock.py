"""A PostgreSQL deadlock is run again, like SQLite's busy lock, and never shown as a 500.

Two transactions that lock the same rows in opposite orders deadlock; PostgreSQL aborts
one of them (the one that has waited longest: here the app's, as the other connection
raises its own deadlock_timeout). Its work wrote nothing and is safe to run again.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from survey import busy
from survey.extensions import db

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

# Two rows of a table of the test's own (the app's tables are emptied between tests).
_ROWS = sa.table("deadlock_probe", sa.column("k", sa.String), sa.column("v", sa.Integer))


@pytest.fixture
def two_rows(app):
    db.session.execute(sa.text("CREATE TABLE deadlock_probe (k text PRIMARY KEY, v integer)"))
    db.session.execute(sa.text("INSERT INTO deadlock_probe VALUES ('row_a', 0), ('row_b', 0)"))
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(sa.text("DROP TABLE deadlock_probe"))
    db.session.commit()


def _bump(connection, key: str) -> None:
    connection.execute(sa.update(_ROWS).where(_ROWS.c.k == key).values(v=_ROWS.c.v + 1))


def test_a_deadlocked_unit_of_work_is_rolled_back_and_run_again(two_rows):
    other = db.engine.connect()
    other_locked_b = threading.Event()
    app_waits_for_b = threading.Event()
    attempts = []

    def opposite_order() -> None:
        with other.begin():
            # The app's transaction is the one PostgreSQL picks to abort.
            other.execute(sa.text("SET LOCAL deadlock_timeout = '30s'"))
            _bump(other, "row_b")
            other_locked_b.set()
            app_waits_for_b.wait(10)
            _bump(other, "row_a")  # waits for the app's lock on row_a: a circle

    def work() -> int:
        attempts.append(1)
        _bump(db.session, "row_a")
        if len(attempts) == 1:
            thread.start()
            other_locked_b.wait(10)
            app_waits_for_b.set()
        _bump(db.session, "row_b")
        db.session.commit()
        return len(attempts)

    thread = threading.Thread(target=opposite_order)
    try:
        assert busy.retry_when_busy(work) == 2
    finally:
        if thread.is_alive():
            thread.join(30)
        other.close()
    values = dict(db.session.execute(sa.select(_ROWS.c.k, _ROWS.c.v)).all())
    # Each transaction's two bumps counted once: the aborted try left nothing behind.
    assert values == {"row_a": 2, "row_b": 2}


def test_a_deadlock_on_a_path_that_does_not_retry_answers_503_not_500(app):
    from sqlalchemy.exc import OperationalError

    class Deadlock(Exception):
        sqlstate = "40P01"

    error = OperationalError("UPDATE …", {}, Deadlock("deadlock detected"))
    assert busy.is_busy(error)
    assert not busy.is_busy(OperationalError("SELECT 1", {}, Exception("server closed")))
