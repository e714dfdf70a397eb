"""Bulk writing for the demo: ids reserved in blocks, rows buffered in bounded batches.

Rows are written through the database's own bulk path on the session's
connection, inside the session's transaction: PostgreSQL's ``COPY … FROM
STDIN`` (psycopg 3's ``cursor.copy``), SQLite's ``executemany`` of one prepared
``INSERT``. Values go through the columns' own bind processors, so a time is
stored exactly as the ORM stores it. Ids are reserved in blocks beforehand, so a
child row can name its parent's id without reading anything back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from survey.demo.progress import Progress, ProgressCallback
from survey.extensions import db

__all__ = ["BATCH_ROWS", "BulkWriter", "IdBlocks", "Progress", "ProgressCallback"]

BATCH_ROWS = 20_000  # rows held in Python before they are written, across every table
ID_BLOCK = 50_000


class IdBlocks:
    """Hand out new ids for one table, reserved from the database a block at a time."""

    def __init__(self, model: Any, block: int = ID_BLOCK) -> None:
        self._table: sa.Table = getattr(model, "__table__", model)
        self._block = block
        self._next = 0
        self._block_end = 0  # one past the last id of the block take() hands out
        self._end = 0  # one past the last id reserved
        self._postgresql = db.session.get_bind().dialect.name == "postgresql"

    def reserve(self, count: int) -> int:
        """Reserve ``count`` consecutive ids; return the first."""
        if self._postgresql:
            # Advance the column's own sequence past the block, so the app's later inserts
            # carry on after it. The demo loads only into an empty database, which nothing
            # else is writing to.
            last = db.session.scalar(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                    "nextval(pg_get_serial_sequence(:table, 'id')) + :n - 1)"
                ),
                {"table": self._table.name, "n": count},
            )
            first = int(last) - count + 1
        else:
            # SQLite hands out max(id) + 1 next; the load holds the write lock from its first
            # row to its commit, so after the first look a counter is enough.
            if not self._end:
                self._end = (
                    int(db.session.scalar(sa.select(sa.func.max(self._table.c.id))) or 0) + 1
                )
            first = self._end
        self._end = first + count
        return first

    def take(self) -> int:
        """Return the next id, reserving another block when the current one runs out."""
        if self._next >= self._block_end:
            self._next = self.reserve(self._block)
            self._block_end = self._next + self._block
        self._next += 1
        return self._next - 1


class _Table:
    """One table's column order, value converters and buffered rows."""

    def __init__(self, table: sa.Table, dialect: sa.Dialect) -> None:
        self.table = table
        self.dialect = dialect
        self.rows: list[list[Any]] = []
        self.columns: list[str] = []
        self.fallbacks: list[tuple[str, Any]] = []
        self.converters: list[tuple[int, Callable[[Any], Any]]] = []

    def _prepare(self, first: Mapping[str, Any]) -> None:
        """Fix the columns from the first row: its own, and those with a constant default.

        The loader gives every row of a table the same keys. A default computed per row (a
        time, a list) is not evaluated here, where every row would share one value: a column
        that needs one must be in the row. A column left to the database's own default is
        left out.
        """
        for column in self.table.columns:
            default = column.default
            if column.name in first:
                fallback = None
            elif default is not None and default.is_scalar:
                fallback = default.arg
            elif column.server_default is not None:
                continue
            else:
                fallback = None
            if self.dialect.name != "postgresql":
                process = column.type.bind_processor(self.dialect)
            elif isinstance(column.type, sa.JSON):
                # COPY's text format takes the JSON text itself (psycopg would send a list as
                # an array).
                process = json.dumps
            else:
                # psycopg writes time-zone-aware times, booleans and text as they are.
                process = None
            if process is not None:
                self.converters.append((len(self.columns), process))
            self.columns.append(column.name)
            self.fallbacks.append((column.name, fallback))

    def add(self, row: Mapping[str, Any]) -> None:
        if not self.columns:
            self._prepare(row)
        get = row.get
        values = [get(name, fallback) for name, fallback in self.fallbacks]
        for index, process in self.converters:
            value = values[index]
            if value is not None:
                values[index] = process(value)
        self.rows.append(values)


class BulkWriter:
    """Buffer rows for several tables and write them all when ``batch_rows`` are held.

    Tables are flushed together in the order they were named, parents first, so a
    child row written in a batch always finds its parent already in the database.
    ``peak_rows`` is the most rows ever held at once: the bound on what a load keeps.
    """

    def __init__(self, tables: Iterable[Any], batch_rows: int = BATCH_ROWS) -> None:
        self.batch_rows = batch_rows
        connection = db.session.connection()
        self._dialect = connection.dialect
        self._driver = connection.connection.driver_connection
        self._tables = {
            t.name: _Table(t, self._dialect)
            for t in (getattr(model, "__table__", model) for model in tables)
        }
        self.held = 0
        self.peak_rows = 0
        self.written: dict[str, int] = dict.fromkeys(self._tables, 0)
        self.seconds: dict[str, float] = dict.fromkeys(self._tables, 0.0)  # spent writing
        self.on_flush: list[Callable[[], None]] = []

    @property
    def tables(self) -> list[sa.Table]:
        """The tables written, parents first."""
        return [buffered.table for buffered in self._tables.values()]

    def add(self, table: Any, row: Mapping[str, Any]) -> None:
        """Buffer one row (a dict of column values; missing ones take the column's default)."""
        name = getattr(table, "__tablename__", None) or table.name
        self._tables[name].add(row)
        self.held += 1
        if self.held > self.peak_rows:
            self.peak_rows = self.held

    def full(self) -> bool:
        """Whether a batch's worth of rows is held and should be written."""
        return self.held >= self.batch_rows

    def flush(self) -> None:
        """Write every buffered row, parents first."""
        for buffered in self._tables.values():
            if buffered.rows:
                self._write(buffered)
                self.written[buffered.table.name] += len(buffered.rows)
                buffered.rows = []
        self.held = 0
        for callback in self.on_flush:
            callback()

    def _write(self, buffered: _Table) -> None:
        columns = buffered.columns
        started = time.perf_counter()
        try:
            self._execute(buffered, columns)
        finally:
            self.seconds[buffered.table.name] += time.perf_counter() - started

    def _execute(self, buffered: _Table, columns: list[str]) -> None:
        if self._dialect.name == "postgresql":
            names = ", ".join(f'"{c}"' for c in columns)
            statement = f'COPY "{buffered.table.name}" ({names}) FROM STDIN'
            with self._driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in buffered.rows:
                    copy.write_row(row)
            return
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        cursor = self._driver.cursor()
        try:
            cursor.executemany(
                f'INSERT INTO "{buffered.table.name}" ({names}) VALUES ({marks})', buffered.rows
            )
        finally:
            cursor.close()
