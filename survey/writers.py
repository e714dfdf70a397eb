"""SQLite's one write lock, queued for in the operating system instead of polled for.

SQLite lets one transaction write at a time. One that finds the lock taken waits in the
busy handler, which sleeps 1, 2, 5, 10, … up to 100 ms between tries whatever happens
meanwhile: two web workers writing in turn (a survey page's first visit, each answer)
spend most of that sleep with the lock already free. So a connection takes a lock on a
file beside the database (``flock``) just before its first write, and lets it go when
its transaction ends; a waiting process gets it within a millisecond, and a process
that dies loses it with its files. The database's own lock and busy timeout still
decide: a writer that does not get the turn within the busy timeout goes on to wait for
the database as before, so nothing waits longer than it did. Every process that opens
the database through ``survey`` (web workers, ``survey worker``, commands) queues here;
other programs do not, and SQLite's lock still keeps them apart.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from typing import Any

import sqlalchemy as sa

_KEY = "survey.writers.turn"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Between tries for a turn someone holds: short, as a write takes a few milliseconds.
_FIRST_PAUSE = 0.0002
_LONGEST_PAUSE = 0.001


class _Turn:
    """One thread's hold on the lock file: the connections of that thread writing now."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.holders = 0
        self.pid = os.getpid()

    def take(self, wait_seconds: float) -> bool:
        deadline = time.monotonic() + wait_seconds
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)

    def let_go(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)


class WriterQueue:
    """The turns to write to one SQLite file, per thread (a lock file's locks are per open file)."""

    def __init__(self, database_path: str, wait_seconds: float) -> None:
        self.path = database_path + ".writers"
        self.wait_seconds = wait_seconds
        self._local = threading.local()

    def _turn(self) -> _Turn:
        turn = getattr(self._local, "turn", None)
        # A forked child shares its parent's open file, and so its lock: it opens its own.
        if turn is None or turn.pid != os.getpid():
            turn = self._local.turn = _Turn(self.path)
        return turn

    def before_write(self, info: dict[str, Any]) -> None:
        """Take the turn for a connection about to begin writing (its ``info`` remembers it)."""
        if _KEY in info:
            return
        turn = self._turn()
        if turn.holders == 0 and not turn.take(self.wait_seconds):
            return  # still held: SQLite's busy timeout decides, as without the queue
        turn.holders += 1
        info[_KEY] = turn

    @staticmethod
    def after_transaction(info: dict[str, Any]) -> None:
        """Give the turn back when the connection's transaction ends (commit, rollback, return)."""
        turn = info.pop(_KEY, None)
        if turn is None:
            return
        turn.holders -= 1
        if turn.holders == 0:
            turn.let_go()


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


# Each engine's queue, for code that writes on the driver's connection itself, outside the
# events below (``survey.respond.fast``): it takes and gives back the turn by hand.
_queues: weakref.WeakKeyDictionary[sa.Engine, WriterQueue] = weakref.WeakKeyDictionary()


def queue_of(engine: sa.Engine) -> WriterQueue | None:
    """The writers' queue of this engine's SQLite file, or None (PostgreSQL, memory)."""
    return _queues.get(engine)


def queue_writers(engine: sa.Engine, busy_timeout_ms: int) -> WriterQueue | None:
    """Queue this engine's writers for the SQLite file's lock; None for a database in memory."""
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    writers = WriterQueue(os.path.abspath(path), busy_timeout_ms / 1000)
    _queues[engine] = writers

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        fairy = conn.connection
        # The driver begins the transaction just before the first write (see _tune_engine).
        if _is_write(statement) and not fairy.dbapi_connection.in_transaction:
            writers.before_write(fairy.info)

    # Before the driver's commit or rollback: a writer let in a moment early meets SQLite's
    # lock for the time the commit takes (its busy handler's first pause is 1 ms).
    @sa.event.listens_for(engine, "commit")
    def _commit(conn) -> None:  # noqa: ANN001
        writers.after_transaction(conn.connection.info)

    @sa.event.listens_for(engine, "rollback")
    def _rollback(conn) -> None:  # noqa: ANN001
        writers.after_transaction(conn.connection.info)

    # A connection returned to the pool mid-transaction is rolled back there, without the events.
    @sa.event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_connection, record) -> None:  # noqa: ANN001
        if record is not None:
            writers.after_transaction(record.info)

    @sa.event.listens_for(engine.pool, "invalidate")
    def _invalidate(_dbapi_connection, record, _exception) -> None:  # noqa: ANN001
        if record is not None:
            writers.after_transaction(record.info)

    return writers
