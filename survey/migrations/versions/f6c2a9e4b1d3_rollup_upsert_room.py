"""rollup: room on each page for in-place updates, headline indexes, no second index on days

A submission adds its counts to every rollup table (survey.scoring.rollup.apply_response),
mostly by updating rows that exist. On PostgreSQL an update that changes no indexed
column can stay on its page without touching any index (a heap-only tuple), but only if
the page has room: on tables written full (fillfactor 100) up to nine updates in ten went
to another page, with a new entry in each of the table's indexes (a freshly loaded demo;
fewer where the updated rows sat on the last, part-filled pages). Here every rollup table
keeps 30 % of each page free (fillfactor 70). It applies to pages written from now on:
new days, weeks and months, which are the rows submissions update, and every page of a
table ``survey rollup rebuild`` writes again.

``ix_rollup_day_kind`` (day, kind) repeated the first two columns of the finest table's
unique key (``uq_rollup_segment``: day, kind, …), which serves the same reads, while every
new row paid for both.

``ix_<table>_headline`` on the agent tables (by month, by week) and the team weeks: an
index of each period's rows that a score reads when it does not ask for dimensions (the
overall 5-point question, NPS and CES: survey.models.rollup.HEADLINE). A year of agents
by month read the whole table, every month it holds and every dimension, where a third
of a year's rows are wanted; at ten million answers that table holds two years.

Revision ID: f6c2a9e4b1d3
Revises: d2f6b1c8a4e3
Create Date: 2026-12-07 03:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f6c2a9e4b1d3"
down_revision = "d2f6b1c8a4e3"
branch_labels = None
depends_on = None

# As this revision has them (survey.models.rollup.CUBOIDS).
TABLES = (
    "rollup_bank_month",
    "rollup_bank_day",
    "rollup_team_week",
    "rollup_team_day",
    "rollup_channel_month",
    "rollup_channel_day",
    "rollup_agent_month",
    "rollup_agent_week",
    "rollup_segment_month",
    "rollup_segment_day",
    "rollup",
)
FILLFACTOR = 70
# name, period column; the predicate as survey.models.rollup.HEADLINE writes it.
HEADLINED = (
    ("rollup_team_week", "week"),
    ("rollup_agent_month", "month"),
    ("rollup_agent_week", "week"),
)
HEADLINE = "kind <> 'rating_5' OR dimension = 'overall'"


def upgrade():
    with op.batch_alter_table("rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_day_kind")
    where = sa.text(HEADLINE)
    for name, period in HEADLINED:
        op.create_index(
            f"ix_{name}_headline", name, [period], postgresql_where=where, sqlite_where=where
        )
    if op.get_bind().dialect.name == "postgresql":
        for name in TABLES:
            op.execute(f"ALTER TABLE {name} SET (fillfactor = {FILLFACTOR})")


def downgrade():
    for name, _period in reversed(HEADLINED):
        op.drop_index(f"ix_{name}_headline", table_name=name)
    if op.get_bind().dialect.name == "postgresql":
        for name in TABLES:
            op.execute(f"ALTER TABLE {name} RESET (fillfactor)")
    with op.batch_alter_table("rollup", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_day_kind", ["day", "kind"], unique=False)
