"""What the app sends to the database: tests that protect how many statements a path costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from survey.extensions import db


@contextmanager
def statements_sent() -> Iterator[list[tuple[str, Any]]]:
    """Collect each statement and its parameters as SQLAlchemy sends them, inside the block.

    Statements a layer runs on the driver's cursor itself (survey.prepared) are not seen.
    """
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
