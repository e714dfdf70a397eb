"""SQLite writers queue for the database's one write lock on a file beside it (survey.writers)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey import _tune_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'survey.sqlite3'}")
    _tune_engine(engine, busy_timeout_ms=200)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE answer (id INTEGER PRIMARY KEY, value INTEGER)")
    yield engine
    engine.dispose()


def _turn_is_free(engine: sa.Engine) -> bool:
    """Whether another process (here: another open file) could take the writers' turn now."""
    fd = os.open(str(engine.url.database) + ".writers", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing gives back a lock taken on it
    return True


def test_a_write_transaction_holds_the_turn_until_it_commits(engine):
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM answer"))
        assert _turn_is_free(engine), "a read took the writers' turn"
        conn.execute(sa.text("INSERT INTO answer (value) VALUES (5)"))
        assert not _turn_is_free(engine)
        conn.execute(sa.text("UPDATE answer SET value = 4"))
        assert not _turn_is_free(engine)
        conn.commit()
        assert _turn_is_free(engine)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT value FROM answer")) == 4


def test_a_rolled_back_or_abandoned_write_gives_the_turn_back(engine):
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO answer (value) VALUES (1)"))
        conn.rollback()
        assert _turn_is_free(engine)
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO answer (value) VALUES (2)"))
    # Closed without a commit: the pool rolled it back, and the turn went with it.
    assert _turn_is_free(engine)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM answer")) == 0


def test_two_connections_of_one_thread_share_the_turn(engine):
    with engine.connect() as first, engine.connect() as second:
        first.execute(sa.text("INSERT INTO answer (value) VALUES (1)"))
        first.commit()
        second.execute(sa.text("INSERT INTO answer (value) VALUES (2)"))
        assert not _turn_is_free(engine)
        second.commit()
        assert _turn_is_free(engine)


def test_a_writer_kept_waiting_past_the_busy_timeout_still_writes_when_the_turn_is_held(engine):
    # A turn held by a process that does not write (or that is stuck): the busy timeout
    # passes, and the writer goes on to the database's own lock, which is free.
    fd = os.open(str(engine.url.database) + ".writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO answer (value) VALUES (3)"))
    finally:
        os.close(fd)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT value FROM answer")) == 3
    assert _turn_is_free(engine)
