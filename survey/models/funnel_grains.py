"""The response funnel's coarser rollups, kept by the database itself from the finest one.

``funnel_rollup`` holds a row per day and full segment, agent included: about 1,400 rows a
day at 1M answers, ten times that at 10M, so a year of funnel summed 17 counters over half a
million rows. The funnel is read by survey channel, filtered by any segment field; only an
agent filter needs the agent. So two coarser tables leave the agent out:

- ``funnel_rollup_segment_day``: the day and every other segment field;
- ``funnel_rollup_segment_month``: the same by calendar month of the bank's day (the day is
  already the bank's day in SURVEY_TIMEZONE, so its month is the bank's month).

Database triggers on ``funnel_rollup`` (AFTER INSERT, UPDATE and DELETE) add each row's change
to both, inside the statement that changed it: whatever writes the finest table (the kept
counts, the survey page's one UPDATE, a rebuild, a retention run) keeps them equal to a GROUP
BY of it, with no statement of its own. The same triggers are made by the migration
(b3f8d2c6e1a9) and, through the DDL events below, by ``metadata.create_all``;
tests/test_funnel_grains.py checks that the two agree.

SQLite's triggers are plain statements (an UPSERT inside a trigger works since 3.24); on
PostgreSQL one plpgsql function serves the three events.
"""

from __future__ import annotations

import sqlalchemy as sa

from survey.extensions import db
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS, FunnelRollup

# What the coarser tables keep besides their period: every segment field but the agent.
FIELDS = tuple(c for c in SEGMENT_COLUMNS if c not in ("day", "agent_id"))
_STRING_LENGTHS = {
    "survey_channel": 10,
    "channel": 10,
    "interaction_type": 10,
    "category": 20,
    "cause": 20,
}
TRIGGER_NAMES = (
    "funnel_rollup_grains_insert",
    "funnel_rollup_grains_update",
    "funnel_rollup_grains_move",
    "funnel_rollup_grains_delete",
)
PG_FUNCTION = "funnel_rollup_grains"
PG_TRIGGER = "funnel_rollup_grains"


def _table(name: str, period: str) -> sa.Table:
    return sa.Table(
        name,
        db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(period, sa.Date, nullable=False),
        *(
            sa.Column(
                f,
                sa.String(_STRING_LENGTHS[f]) if f in _STRING_LENGTHS else sa.Integer,
                nullable=False,
            )
            for f in FIELDS
        ),
        *(sa.Column(c, sa.Integer, nullable=False) for c in COUNTERS),
        sa.UniqueConstraint(period, *FIELDS, name=f"uq_{name}_segment"),
    )


SEGMENT_DAY = _table("funnel_rollup_segment_day", "day")
SEGMENT_MONTH = _table("funnel_rollup_segment_month", "month")
# Each coarser table and the column its period is kept in.
GRAINS: tuple[tuple[sa.Table, str], ...] = ((SEGMENT_DAY, "day"), (SEGMENT_MONTH, "month"))


def period_of(dialect: str, grain: str, row: str) -> str:
    """The SQL of a coarser table's period of a finest row (``row`` names it)."""
    if grain == "day":
        return f"{row}.day"
    if dialect == "sqlite":
        # SQLAlchemy keeps a date on SQLite as 'YYYY-MM-DD', which date() reads and writes.
        return f"date({row}.day, 'start of month')"
    return f"CAST(date_trunc('month', CAST({row}.day AS timestamp)) AS date)"


def _where(dialect: str, grain: str, row: str) -> str:
    return " AND ".join(
        [f"{grain} = {period_of(dialect, grain, row)}", *(f"{f} = {row}.{f}" for f in FIELDS)]
    )


def _add(dialect: str, table: str, grain: str) -> str:
    """Add NEW's counts to its coarser row, creating the row if need be."""
    columns = ", ".join([grain, *FIELDS, *COUNTERS])
    values = ", ".join(
        [
            period_of(dialect, grain, "NEW"),
            *(f"NEW.{f}" for f in FIELDS),
            *(f"NEW.{c}" for c in COUNTERS),
        ]
    )
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join([grain, *FIELDS])}) DO UPDATE SET {sets}"
    )


def _change(dialect: str, table: str, grain: str, by: str, row: str) -> str:
    """Change a coarser row by an expression of each counter (the row exists: it was added)."""
    sets = ", ".join(f"{c} = {c} {by.format(c=c)}" for c in COUNTERS)
    return f"UPDATE {table} SET {sets} WHERE {_where(dialect, grain, row)}"


def _same_key(dialect: str) -> str:
    columns = ("day", *FIELDS)
    if dialect == "sqlite":
        return " AND ".join(f"OLD.{c} IS NEW.{c}" for c in columns)
    old = ", ".join(f"OLD.{c}" for c in columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    return f"ROW({old}) IS NOT DISTINCT FROM ROW({new})"


def create_statements(dialect: str) -> list[str]:
    """The statements that make the triggers keeping the coarser tables, for one database."""
    grains = [(t.name, g) for t, g in GRAINS]
    delta = "+ (NEW.{c} - OLD.{c})"
    subtract = "- OLD.{c}"
    if dialect == "sqlite":

        def body(*statements: str) -> str:
            return "BEGIN\n  " + ";\n  ".join(statements) + ";\nEND"

        on = "ON funnel_rollup FOR EACH ROW"
        same = _same_key(dialect)
        return [
            f"CREATE TRIGGER funnel_rollup_grains_insert AFTER INSERT {on}\n"
            + body(*(_add(dialect, t, g) for t, g in grains)),
            f"CREATE TRIGGER funnel_rollup_grains_update AFTER UPDATE {on}\nWHEN {same}\n"
            + body(*(_change(dialect, t, g, delta, "NEW") for t, g in grains)),
            f"CREATE TRIGGER funnel_rollup_grains_move AFTER UPDATE {on}\nWHEN NOT ({same})\n"
            + body(
                *(_change(dialect, t, g, subtract, "OLD") for t, g in grains),
                *(_add(dialect, t, g) for t, g in grains),
            ),
            f"CREATE TRIGGER funnel_rollup_grains_delete AFTER DELETE {on}\n"
            + body(*(_change(dialect, t, g, subtract, "OLD") for t, g in grains)),
        ]

    def block(statements: list[str]) -> str:
        return "".join(f"    {s};\n" for s in statements)

    function = (
        f"CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"  IF TG_OP = 'UPDATE' AND {_same_key(dialect)} THEN\n"
        + block([_change(dialect, t, g, delta, "NEW") for t, g in grains])
        + "    RETURN NULL;\n  END IF;\n"
        "  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
        + block([_change(dialect, t, g, subtract, "OLD") for t, g in grains])
        + "  END IF;\n  IF TG_OP IN ('UPDATE', 'INSERT') THEN\n"
        + block([_add(dialect, t, g) for t, g in grains])
        + "  END IF;\n  RETURN NULL;\nEND\n$$"
    )
    trigger = (
        f"CREATE TRIGGER {PG_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON funnel_rollup "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
    )
    return [function, trigger]


def drop_statements(dialect: str) -> list[str]:
    """The statements that remove the triggers (before the tables go)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGER_NAMES]
    return [
        f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON funnel_rollup",
        f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
    ]


def _listen() -> None:
    """Make ``metadata.create_all`` build the triggers as the migration does, per database."""
    for dialect in ("sqlite", "postgresql"):
        for statement in create_statements(dialect):
            sa.event.listen(
                FunnelRollup.__table__,
                "after_create",
                sa.DDL(statement.replace("%", "%%")).execute_if(dialect=dialect),
            )
        for statement in drop_statements(dialect):
            sa.event.listen(
                FunnelRollup.__table__,
                "before_drop",
                sa.DDL(statement).execute_if(dialect=dialect),
            )


_listen()
