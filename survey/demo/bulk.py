"""Bulk inserts in chunks, and the progress they report.

Rows go in as lists of dicts through ``session.execute(insert(Model), rows)``,
SQLAlchemy's executemany path, which is what makes 20,000 interactions load in
seconds rather than minutes.
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
    """Insert rows in chunks; for a model with an ``id``, return the new ids in row order."""
    returns_ids = hasattr(model, "id")
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if returns_ids:
            statement = sa.insert(model).returning(model.id, sort_by_parameter_order=True)
            ids.extend(db.session.scalars(statement, chunk))
        else:
            db.session.execute(sa.insert(model), chunk)
        step(len(chunk))
    return ids if returns_ids else None
