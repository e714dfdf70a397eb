"""Bulk inserts in chunks, and the progress they report.

Rows go in as lists of dicts through ``session.execute(insert(table), rows)``,
SQLAlchemy's executemany path, with ids reserved beforehand, which is what
makes 20,000 interactions load in seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa

from survey.extensions import db

# phase, rows done, rows in the phase
ProgressCallback = Callable[[str, int, int], None]

CHUNK = 2000


class Progress:
    """Report each phase's progress to a callback, to a bar on stderr, or nowhere."""

    def __init__(self, report: bool | ProgressCallback) -> None:
        self._report = report

    @contextmanager
    def phase(self, name: str, total: int) -> Iterator[Callable[[int], None]]:
        """Yield a function that adds a number of finished rows to the phase named ``name``."""
        if callable(self._report):
            callback = self._report
            done = 0

            def step(n: int) -> None:
                nonlocal done
                done += n
                callback(name, done, total)

            callback(name, 0, total)
            yield step
        elif self._report:
            with click.progressbar(
                length=max(total, 1), label=f"{name:<13}", file=sys.stderr, show_pos=True
            ) as bar:
                yield bar.update
        else:
            yield lambda n: None


def insert_rows(
    model: Any, rows: Sequence[dict[str, Any]], step: Callable[[int], None]
) -> list[int] | None:
    """Insert rows in chunks; for a table with an ``id``, return the new ids in row order."""
    # The table, not the mapped class: the ORM splits a batch wherever the columns left None
    # change from one row to the next (complaint fields, say), into thousands of statements.
    table: sa.Table = getattr(model, "__table__", model)
    ids = _allocate_ids(table, len(rows)) if "id" in table.c else None
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if ids is not None:
            chunk = [{"id": new_id, **row} for new_id, row in zip(ids[start:], chunk, strict=False)]
        db.session.execute(sa.insert(table), chunk)
        step(len(chunk))
    return ids


def _allocate_ids(table: sa.Table, count: int) -> list[int]:
    """Reserve ids for new rows, so they go in by plain executemany rather than RETURNING."""
    if db.session.get_bind().dialect.name == "postgresql":
        # From the column's own sequence: later inserts by the app carry on after them.
        return sorted(
            db.session.scalars(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": count},
            )
        )
    # SQLite hands out max(id) + 1 next, so ids above the largest are free.
    start = (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
    return list(range(start, start + count))
