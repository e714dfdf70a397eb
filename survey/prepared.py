"""Core statements compiled once per dialect and run on the driver's cursor, for the hottest path.

SQLAlchemy's execution of a cached Core statement costs several times what the driver
spends on it (bench/RESULTS.md, branch survey-rate: about 0.1 ms a statement, where
SQLite runs a keyed UPDATE in 20 µs). The survey link's first step (``respond.fast``)
runs a handful of fixed statements a request, so they are compiled here once, by
SQLAlchemy itself (the SQL, the dialect's parameter style, its casts, the expanded
``IN`` lists), with each parameter's type conversion and each column's Python-side
default or ``onupdate`` worked out as SQLAlchemy's execution would, and then run on the
DBAPI cursor directly. The statements stay written once, as Core, where the ORM path
uses them too.

What is not done here: events (``before_cursor_execute`` listeners do not run: the caller
takes SQLite's writers' turn itself, see ``survey.writers.turn_of``), statement caching
across dialects, executemany, and results other than rows of the selected columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect


class Prepared:
    """One statement compiled for one dialect: run it on a DBAPI cursor with its parameters."""

    __slots__ = ("sql", "_order", "_fixed", "_processors", "_defaults", "_results")

    def __init__(
        self, statement: sa.Executable, dialect: Dialect, keys: Sequence[str] = ()
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        binds = compiled.binds
        if any(bind.expanding for bind in binds.values()):
            raise ValueError("an expanding IN list is rendered at execution: not prepared here")
        self.sql = compiled.string
        self._order = list(compiled.positiontup) if compiled.positional else None
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        prefetched = [*compiled.insert_prefetch, *compiled.update_prefetch]
        given = (
            set(keys)
            | {name for name, bind in binds.items() if bind.required}
            | {column.key for column in prefetched}
        )
        # Literal values SQLAlchemy bound itself (a comparison's constant), by their names in
        # the SQL; the parameters the caller gives are None here, and replaced on each run.
        self._fixed = {
            name: value
            for name, value in compiled.construct_params(params=dict.fromkeys(given)).items()
            if name not in given and escaped.get(name, name) not in given
        }
        self._processors: list[tuple[str, Callable[[Any], Any]]] = []
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors.append((escaped.get(name, name), processor))
        # Columns SQLAlchemy fills from Python when a statement leaves them out (a default on
        # INSERT, an onupdate on UPDATE): each run gets them as SQLAlchemy would give them.
        self._defaults: list[tuple[str, Any]] = []
        for column in prefetched:
            default = column.onupdate if column in compiled.update_prefetch else column.default
            name = column.key
            if default.is_scalar:
                self._fixed[name] = default.arg
            elif default.is_callable:
                self._defaults.append((name, default.arg))
            else:
                raise ValueError(f"{name}: a default SQLAlchemy runs as SQL, not prepared here")
        self._results: list[Callable[[Any], Any] | None] | None = None
        if isinstance(statement, sa.Select) or getattr(statement, "_returning", ()):
            columns = (
                statement.selected_columns
                if isinstance(statement, sa.Select)
                else statement._returning  # noqa: SLF001 - the RETURNING columns, as compiled
            )
            self._results = [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ]

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for these values (positional or named, converted)."""
        params = {**self._fixed, **values}
        for name, make in self._defaults:
            if name not in values:
                params[name] = make(
                    None
                )  # SQLAlchemy's wrapper of a plain callable takes a context
        for name, processor in self._processors:
            if name in params:
                params[name] = processor(params[name])
        if self._order is None:
            return params
        return tuple(params[name] for name in self._order)

    def run(self, cursor: Any, values: Mapping[str, Any]) -> int:
        """Execute it; return the rows it changed (the driver's rowcount)."""
        cursor.execute(self.sql, self.parameters(values))
        return cursor.rowcount

    def rows(self, cursor: Any, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute it and return its rows, each column converted as SQLAlchemy would."""
        cursor.execute(self.sql, self.parameters(values))
        return self.converted(cursor.fetchall())

    def converted(self, found: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows the driver gave for it, each column converted as SQLAlchemy would."""
        processors = self._results or []
        if not any(processors):
            return [tuple(row) for row in found]
        return [
            tuple(
                value if p is None else p(value) for p, value in zip(processors, row, strict=True)
            )
            for row in found
        ]


class Statements:
    """Statements prepared on first use, per dialect (one process may serve two databases)."""

    def __init__(self, make: Callable[[], dict[str, tuple[sa.Executable, Sequence[str]]]]) -> None:
        self._make = make
        self._by_dialect: dict[str, dict[str, Prepared]] = {}

    def of(self, dialect: Dialect) -> dict[str, Prepared]:
        """The prepared statements for this dialect, by name."""
        key = f"{dialect.name}+{dialect.driver}"
        found = self._by_dialect.get(key)
        if found is None:
            found = {
                name: Prepared(statement, dialect, keys)
                for name, (statement, keys) in self._make().items()
            }
            self._by_dialect[key] = found
        return found


class Ran:
    """What a statement run by ``run_on`` gave: its rows (converted) and the driver's rowcount."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount


# Statements ``run_on`` has prepared, by statement, dialect and keys; each kept with its
# statement, so the statement's id stays its own while it is here.
_ON_CONNECTION: dict[tuple[int, str, tuple[str, ...]], tuple[sa.Executable, Prepared]] = {}


def run_on(
    connection: sa.Connection,
    statement: sa.Executable,
    values: Mapping[str, Any],
    keys: Sequence[str] = (),
) -> Ran:
    """Run a Core statement built once on a SQLAlchemy connection's own driver cursor.

    For the statements every post runs (intake): compiled once per dialect, run in the
    connection's transaction (the session's, when it is the session's connection), with
    the engine's ``before_cursor_execute`` and ``after_cursor_execute`` listeners called
    as SQLAlchemy calls them (SQLite's writers' turn, statement counters), and a driver
    error raised as SQLAlchemy raises it (``IntegrityError``, ``OperationalError``…), so
    callers catch what they caught before. What is skipped is SQLAlchemy's execution of
    the statement: its cache key (a walk of the whole statement), its execution context
    and its result object.

    :param keys: the columns an INSERT without ``values()`` is given (see ``Prepared``).
    """
    dialect = connection.dialect
    key = (id(statement), dialect.name + "+" + dialect.driver, tuple(keys))
    found = _ON_CONNECTION.get(key)
    if found is None:
        found = _ON_CONNECTION[key] = (statement, Prepared(statement, dialect, keys))
    prepared = found[1]
    sql, parameters = prepared.sql, prepared.parameters(values)
    cursor = connection.connection.cursor()
    try:
        for listener in connection.dispatch.before_cursor_execute:
            sql, parameters = listener(connection, cursor, sql, parameters, None, False)
        try:
            cursor.execute(sql, parameters)
        except dialect.loaded_dbapi.Error as error:
            raise sa.exc.DBAPIError.instance(
                sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        for listener in connection.dispatch.after_cursor_execute:
            listener(connection, cursor, sql, parameters, None, False)
        rows = prepared.converted(cursor.fetchall()) if cursor.description else []
        return Ran(rows, cursor.rowcount)
    finally:
        cursor.close()
