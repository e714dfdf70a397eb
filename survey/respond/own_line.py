"""The survey link's own connection to the database: one per thread and engine, kept between requests.

``respond.fast`` answers a link's first step without Flask's request cycle, and without a
session or a checkout from the pool: its few Core statements (``service.visit_on``,
``funnel.open_link_on``, ``answers.begin_with``) are run here, each prepared once per dialect
(``survey.prepared``) and run on the driver's cursor of a connection kept for the thread.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from survey import writers
from survey.prepared import Prepared


class Done:
    """What a statement run on a ``Line`` gave: as much of SQLAlchemy's result as callers read."""

    __slots__ = ("rowcount", "rows", "inserted_primary_key")

    def __init__(self, rowcount: int, rows: list[Any], inserted_primary_key: Any = None) -> None:
        self.rowcount = rowcount
        self.rows = rows
        self.inserted_primary_key = inserted_primary_key

    def one_or_none(self) -> Any:
        if len(self.rows) > 1:
            raise sa.exc.MultipleResultsFound("more than one row")
        return self.rows[0] if self.rows else None


class Line:
    """The layer's own DBAPI connection to one engine's database, kept between requests.

    It answers ``execute(statement, parameters)`` as a SQLAlchemy ``Connection`` would for
    the few Core statements the first step runs (``service.visit_on``,
    ``funnel.open_link_on``, ``answers.begin_with``), each prepared once per dialect by
    ``survey.prepared`` and run on the driver's cursor: no session, no checkout (and so
    no pre-ping) and none of SQLAlchemy's execution a request. On SQLite it takes the
    writers' turn before its first write and gives it back when the transaction ends, as
    the engine's events do for everyone else (``survey.writers``). SQLite's driver begins
    a transaction before the first write; on PostgreSQL a statement runs in a transaction of
    its own unless several writes follow each other (``execute`` begins one before the
    first). After any database error it is dropped: the next request checks a fresh
    connection out of the pool, pinged.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.pid = os.getpid()
        self.proxy = engine.raw_connection()
        self.cursor = self.proxy.dbapi_connection.cursor()
        self.errors: type[Exception] = engine.dialect.loaded_dbapi.Error
        self.dialect = engine.dialect
        self.writers = writers.queue_of(engine)
        self.writing = False
        self.closed = False
        # PostgreSQL: reads outside a transaction (no BEGIN and ROLLBACK round trips for a
        # page that writes nothing, nor for a write that is one statement); a transaction
        # of several writes is begun before the first of them.
        self.autocommit = engine.dialect.name == "postgresql"
        if self.autocommit:
            self.proxy.dbapi_connection.autocommit = True
            self.control = self.proxy.dbapi_connection.cursor()
        self.unflushed_commit = False  # see ``unflushed``
        self._first: tuple[str, ...] = ()
        self._prepared: dict[tuple[int, tuple[str, ...]], tuple[Any, Prepared, Any]] = {}

    def execute(self, statement: Any, parameters: dict[str, Any]) -> Done:
        names = tuple(sorted(parameters))
        found = self._prepared.get((id(statement), names))
        if found is None:
            found = self._prepare(statement, names)
        _statement, prepared, row_type = found
        if row_type is None:  # a write
            if not self.writing:
                if self.writers is not None:
                    self.writers.before_write(self.proxy.info)
                if self.autocommit:
                    self.cursor.execute("BEGIN")
            self.writing = True
        if isinstance(statement, sa.Insert):
            rows = prepared.rows(self.cursor, parameters)
            return Done(self.cursor.rowcount, [], rows[0])
        if row_type is None:
            return Done(prepared.run(self.cursor, parameters), [])
        if self.unflushed_commit and not self.writing:
            return Done(-1, [row_type(*row) for row in self._unflushed(prepared, parameters)])
        return Done(-1, [row_type(*row) for row in prepared.rows(self.cursor, parameters)])

    @contextlib.contextmanager
    def unflushed(self, *first: str) -> Iterator[None]:
        """Inside, a statement that is its own transaction commits without waiting for the disk.

        PostgreSQL: ``synchronous_commit`` is off for that transaction alone, sent with it in
        one round trip (a pipeline of BEGIN, SET LOCAL, the statement, COMMIT). The commit is
        as atomic as ever; what a crash of the server within a moment of it (about three
        ``wal_writer_delay``s) may lose is the transaction, whole, as SQLite's WAL at
        ``synchronous=NORMAL`` may on a crash of the machine. A first visit's "opened" and
        its funnel count are written so (on this machine the disk's flush was three quarters
        of the visit's wait, bench/RESULTS.md, branch pg-survey); an answer never is. Elsewhere
        (SQLite, or a statement inside a transaction) nothing changes.

        ``first``: statements of the transaction's own run before the statement, in the same
        round trip (a ``SET LOCAL``, a lock).
        """
        self.unflushed_commit = self.autocommit
        self._first = first
        try:
            yield
        finally:
            self.unflushed_commit = False
            self._first = ()

    def _unflushed(self, prepared: Prepared, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self.proxy.dbapi_connection.pipeline():
            self.control.execute("BEGIN")
            self.control.execute("SET LOCAL synchronous_commit TO off")
            for statement in self._first:
                self.control.execute(statement)
            self.cursor.execute(prepared.sql, prepared.parameters(parameters))
            self.control.execute("COMMIT")
        return prepared.converted(self.cursor.fetchall())

    def _prepare(self, statement: Any, names: tuple[str, ...]) -> tuple[Any, Prepared, Any]:
        dialect = self.dialect
        if isinstance(statement, sa.Insert):
            table = statement.table
            returning = statement.returning(*table.primary_key.columns)
            found = (statement, Prepared(returning, dialect, names), None)
        elif isinstance(statement, sa.Select):
            keys = [column.key for column in statement.selected_columns]
            row_type = collections.namedtuple("Row", keys, rename=True)  # type: ignore[misc]
            found = (statement, Prepared(statement, dialect), row_type)
        else:
            found = (statement, Prepared(statement, dialect), None)
        # The statement is kept with it: its id stays its own while it is cached here.
        self._prepared[(id(statement), names)] = found
        return found

    # The writers' turn is given back just before the driver's commit or rollback, as the
    # engine's events do (``survey.writers``): SQLite's checkpoint after a commit must not
    # keep the other workers' writes waiting for the turn.
    def commit(self) -> None:
        self._done()
        self.proxy.dbapi_connection.commit()

    def rollback(self) -> None:
        self._done()
        self.proxy.dbapi_connection.rollback()

    def _done(self) -> None:
        if self.writing and self.writers is not None:
            self.writers.after_transaction(self.proxy.info)
        self.writing = False

    def drop(self) -> None:
        """Forget this connection after an error: invalidated, never used again."""
        self.closed = True
        with contextlib.suppress(Exception):
            self._done()
        with contextlib.suppress(Exception):
            self.proxy.invalidate()

    def close(self, disposed: bool = False) -> None:
        """Give the connection back to its pool; close it if its engine is being disposed.

        (A pool that was disposed keeps what is given back to it open: nobody uses it again.)
        """
        self.closed = True
        with contextlib.suppress(Exception):
            self.rollback()
            if self.autocommit:
                self.proxy.dbapi_connection.autocommit = False  # as the pool gave it
        with contextlib.suppress(Exception):
            if disposed:
                self.proxy.invalidate()
            else:
                self.proxy.close()


# The layer's own connection, per thread and engine (one process may serve two databases).
# A thread's connections are given back when the thread ends (a threaded server answers each
# request on a new thread), and every thread's when their engine is disposed.
_held = threading.local()
_watched: weakref.WeakSet[sa.Engine] = weakref.WeakSet()
_all_held: weakref.WeakSet[Line] = weakref.WeakSet()
_held_lock = threading.Lock()


class _Lines(dict):
    """One thread's connections by engine; those it made are given back when it ends."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[Line] = []
        # Not a method of this dict: the finalizer must not keep it alive.
        weakref.finalize(self, _give_back, self.made)


def _give_back(lines: list[Line]) -> None:
    for line in lines:
        if not line.closed:
            line.close()
    lines.clear()


def connection() -> Line:
    from survey.extensions import db

    engine = db.engine
    mine: _Lines | None = getattr(_held, "lines", None)
    if mine is None:
        mine = _held.lines = _Lines()
    line = mine.get(id(engine))
    if line is not None and line.engine is engine and not line.closed and line.pid == os.getpid():
        return line
    mine.made[:] = [kept for kept in mine.made if not kept.closed]
    line = mine[id(engine)] = Line(engine)  # a forked worker opens its own
    mine.made.append(line)
    with _held_lock:
        _all_held.add(line)
        if engine not in _watched:
            _watched.add(engine)
            sa.event.listen(engine, "engine_disposed", _close_held)
    return line


def _close_held(engine: sa.Engine) -> None:
    """Close the connections this layer holds on an engine being disposed."""
    with _held_lock:
        lines = [line for line in _all_held if line.engine is engine and not line.closed]
    for line in lines:
        line.close(disposed=True)


def rolled_back(line: Line) -> None:
    """Roll back what the layer's connection did (or drop it, when that fails): Flask answers."""
    try:
        line.rollback()
    except Exception:  # noqa: BLE001 - whatever the driver says, the connection is not used again
        line.drop()
    return None


def roll_back_all() -> None:
    """Roll back whatever this thread's connections began (after an error in front of Flask)."""
    for line in getattr(_held, "lines", {}).values():
        rolled_back(line)
