"""PostgreSQL: the loaded tables' keys and indexes built once after the load, not row by row.

Every row COPY writes into a table with foreign keys runs a look-up per key, and every
index takes its own insert; an index on a random value (a token, a provider id, an
address) is written all over once it outgrows the server's buffers. Building an index by
sorting the finished table, and checking a foreign key with one join, is much cheaper. So
for the load the tables' foreign keys, unique constraints and secondary indexes are
dropped, and afterwards made again from the definitions the database itself gave for them
(``pg_get_constraintdef``, ``pg_get_indexdef``): the same names, the same definitions.

All of it runs in the load's own transaction (PostgreSQL's DDL is transactional): a load
that fails leaves the schema as the migrations made it. Only ever used on the demo's
empty database: while the tables are without their keys, it holds them locked.
Primary keys stay: ids are handed out in order, so their index only grows at its end.

Only a big load defers them (``survey.demo.DEFER_INDEXES_FROM``): below it the rows' own
index writes cost no more, and an index made again in a transaction that finds updated rows
still visible to another transaction is hidden from every older one (``pg_index.indcheckxmin``)
until those end, which a database that held data before (a test's) can show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

# The server memory an index build may sort in (the loader's own memory is not touched).
SORT_MEMORY = "256MB"

_CONSTRAINTS = sa.text(
    "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
    "FROM pg_constraint c WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) "
    "AND c.contype IN ('f', 'u') ORDER BY c.contype, c.conrelid::regclass::text, c.conname"
)
_INDEXES = sa.text(
    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisprimary "
    "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid "
    "AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) "
    "ORDER BY i.indexrelid::regclass::text"
)


@dataclass(frozen=True)
class Deferred:
    """What was dropped: (table, name, definition) of each key and index."""

    foreign_keys: list[tuple[str, str, str]]
    uniques: list[tuple[str, str, str]]
    indexes: list[tuple[str, str]]


def _names(tables: Iterable[Any]) -> list[str]:
    return [getattr(t, "__table__", t).name for t in tables]


def drop(session: Session, tables: Iterable[Any]) -> Deferred:
    """Drop the tables' foreign keys, unique constraints and secondary indexes; return them."""
    names = _names(tables)
    keys = session.execute(_CONSTRAINTS, {"tables": names}).all()
    deferred = Deferred(
        foreign_keys=[(t, name, d) for t, name, kind, d in keys if kind == "f"],
        uniques=[(t, name, d) for t, name, kind, d in keys if kind == "u"],
        indexes=[(name, d) for name, d in session.execute(_INDEXES, {"tables": names})],
    )
    for table, name, _definition in (*deferred.foreign_keys, *deferred.uniques):
        session.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _definition in deferred.indexes:
        session.execute(sa.text(f"DROP INDEX {name}"))
    return deferred


def restore(session: Session, deferred: Deferred) -> None:
    """Make again what :func:`drop` dropped, from its own definitions: uniques, indexes, keys."""
    session.execute(sa.text(f"SET LOCAL maintenance_work_mem = '{SORT_MEMORY}'"))
    for table, name, definition in deferred.uniques:
        session.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for _name, definition in deferred.indexes:
        session.execute(sa.text(definition))
    for table, name, definition in deferred.foreign_keys:
        session.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
