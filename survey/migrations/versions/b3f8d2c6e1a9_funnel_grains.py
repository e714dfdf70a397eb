"""response funnel: coarser rollups without the agent (by day, by month), kept by triggers

Revision ID: b3f8d2c6e1a9
Revises: c7e2a9d4f6b8
Create Date: 2026-12-06 17:40:00

The triggers' text is this revision's own (not imported from the models), so a later change
to them needs a revision of its own; tests/test_funnel_grains.py checks that what this chain
makes equals what ``metadata.create_all`` makes.
"""

import sqlalchemy as sa
from alembic import op

revision = "b3f8d2c6e1a9"
down_revision = "c7e2a9d4f6b8"
branch_labels = None
depends_on = None

COUNTERS = (
    "invited",
    "suppressed_no_rule",
    "suppressed_sampled_out",
    "suppressed_opted_out",
    "suppressed_frequency",
    "suppressed_open_complaint",
    "suppressed_no_contact",
    "sent",
    "failed",
    "delivered",
    "opened",
    "started",
    "completed",
    "closed_partial",
    "opted_out",
    "reminded",
    "completed_after_reminder",
)
FIELDS = (
    "survey_channel",
    "business_line_id",
    "team_id",
    "channel",
    "interaction_type",
    "category",
    "cause",
    "survey_id",
)
STRINGS = {"survey_channel": 10, "channel": 10, "interaction_type": 10, "category": 20, "cause": 20}
GRAINS = (("funnel_rollup_segment_day", "day"), ("funnel_rollup_segment_month", "month"))
SQLITE_TRIGGERS = (
    "funnel_rollup_grains_insert",
    "funnel_rollup_grains_update",
    "funnel_rollup_grains_move",
    "funnel_rollup_grains_delete",
)


def _period(dialect, grain, row):
    if grain == "day":
        return f"{row}.day"
    if dialect == "sqlite":
        return f"date({row}.day, 'start of month')"
    return f"CAST(date_trunc('month', CAST({row}.day AS timestamp)) AS date)"


def _where(dialect, grain, row):
    return " AND ".join(
        [f"{grain} = {_period(dialect, grain, row)}", *(f"{f} = {row}.{f}" for f in FIELDS)]
    )


def _add(dialect, table, grain):
    columns = ", ".join([grain, *FIELDS, *COUNTERS])
    values = ", ".join(
        [
            _period(dialect, grain, "NEW"),
            *(f"NEW.{f}" for f in FIELDS),
            *(f"NEW.{c}" for c in COUNTERS),
        ]
    )
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join([grain, *FIELDS])}) DO UPDATE SET {sets}"
    )


def _change(dialect, table, grain, by, row):
    sets = ", ".join(f"{c} = {c} {by.format(c=c)}" for c in COUNTERS)
    return f"UPDATE {table} SET {sets} WHERE {_where(dialect, grain, row)}"


def _same_key(dialect):
    columns = ("day", *FIELDS)
    if dialect == "sqlite":
        return " AND ".join(f"OLD.{c} IS NEW.{c}" for c in columns)
    old = ", ".join(f"OLD.{c}" for c in columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    return f"ROW({old}) IS NOT DISTINCT FROM ROW({new})"


def _create_statements(dialect):
    delta = "+ (NEW.{c} - OLD.{c})"
    subtract = "- OLD.{c}"
    if dialect == "sqlite":

        def body(*statements):
            return "BEGIN\n  " + ";\n  ".join(statements) + ";\nEND"

        on = "ON funnel_rollup FOR EACH ROW"
        same = _same_key(dialect)
        return [
            f"CREATE TRIGGER funnel_rollup_grains_insert AFTER INSERT {on}\n"
            + body(*(_add(dialect, t, g) for t, g in GRAINS)),
            f"CREATE TRIGGER funnel_rollup_grains_update AFTER UPDATE {on}\nWHEN {same}\n"
            + body(*(_change(dialect, t, g, delta, "NEW") for t, g in GRAINS)),
            f"CREATE TRIGGER funnel_rollup_grains_move AFTER UPDATE {on}\nWHEN NOT ({same})\n"
            + body(
                *(_change(dialect, t, g, subtract, "OLD") for t, g in GRAINS),
                *(_add(dialect, t, g) for t, g in GRAINS),
            ),
            f"CREATE TRIGGER funnel_rollup_grains_delete AFTER DELETE {on}\n"
            + body(*(_change(dialect, t, g, subtract, "OLD") for t, g in GRAINS)),
        ]

    def block(statements):
        return "".join(f"    {s};\n" for s in statements)

    function = (
        "CREATE FUNCTION funnel_rollup_grains() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"  IF TG_OP = 'UPDATE' AND {_same_key(dialect)} THEN\n"
        + block([_change(dialect, t, g, delta, "NEW") for t, g in GRAINS])
        + "    RETURN NULL;\n  END IF;\n"
        "  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
        + block([_change(dialect, t, g, subtract, "OLD") for t, g in GRAINS])
        + "  END IF;\n  IF TG_OP IN ('UPDATE', 'INSERT') THEN\n"
        + block([_add(dialect, t, g) for t, g in GRAINS])
        + "  END IF;\n  RETURN NULL;\nEND\n$$"
    )
    trigger = (
        "CREATE TRIGGER funnel_rollup_grains AFTER INSERT OR UPDATE OR DELETE ON funnel_rollup "
        "FOR EACH ROW EXECUTE FUNCTION funnel_rollup_grains()"
    )
    return [function, trigger]


def upgrade():
    for table, grain in GRAINS:
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column(grain, sa.Date(), nullable=False),
            *(
                sa.Column(
                    f,
                    sa.String(length=STRINGS[f]) if f in STRINGS else sa.Integer(),
                    nullable=False,
                )
                for f in FIELDS
            ),
            *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTERS),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint(grain, *FIELDS, name=f"uq_{table}_segment"),
        )
    dialect = op.get_bind().dialect.name
    # What the funnel holds so far, summed; from here on the triggers keep them.
    for table, grain in GRAINS:
        period = _period(dialect, grain, "funnel_rollup")
        keys = ", ".join(FIELDS)
        sums = ", ".join(f"sum({c})" for c in COUNTERS)
        op.execute(
            f"INSERT INTO {table} ({grain}, {keys}, {', '.join(COUNTERS)}) "
            f"SELECT {period}, {keys}, {sums} FROM funnel_rollup GROUP BY {period}, {keys}"
        )
    for statement in _create_statements(dialect):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS funnel_rollup_grains ON funnel_rollup")
        op.execute("DROP FUNCTION IF EXISTS funnel_rollup_grains()")
    for table, _grain in reversed(GRAINS):
        op.drop_table(table)
