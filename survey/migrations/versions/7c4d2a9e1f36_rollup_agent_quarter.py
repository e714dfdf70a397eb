"""rollup: business line × team × agent by calendar quarter

A year of agents read twelve months of every agent from ``rollup_agent_month``: its
rows grew with agents × months, and at ten million answers (2.2 times the agents of
one million) the ranking took 1.5–1.6 times as long as at one million, the database
reading the extra rows. Four whole quarters hold a third of them; the planner reads
quarters where a range holds whole ones (survey.scoring.planner).

Derived data: filled here from ``rollup_agent_month`` (the same fields; a quarter is
the sum of its three months, which is what ``survey rollup rebuild`` gives from the
finest table), in this migration's transaction, stored in the order of its quarters.

Revision ID: 7c4d2a9e1f36
Revises: 6b2e9d4c1a85
Create Date: 2026-12-07 19:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c4d2a9e1f36"
down_revision = "6b2e9d4c1a85"
branch_labels = None
depends_on = None

NAME = "rollup_agent_quarter"
_FIELDS = ("kind", "dimension", "business_line_id", "team_id", "agent_id")
_STRINGS = {"kind": 20, "dimension": 20}
_COUNTS = ("n", "total", "total_sq", "top", "bottom")
# As survey.models.rollup has them.
FILLFACTOR = 70
HEADLINE = "kind <> 'rating_5' OR dimension = 'overall'"
# The first day of the quarter of ``month`` (a first of a month), as each database writes it.
QUARTER_OF_MONTH = {
    "postgresql": "CAST(date_trunc('quarter', month) AS DATE)",
    "sqlite": "date(month, '-' || ((CAST(strftime('%m', month) AS INTEGER) - 1) % 3) || ' months')",
}


def upgrade():
    columns = [sa.Column("id", sa.Integer(), nullable=False)]
    columns.append(sa.Column("quarter", sa.Date(), nullable=False))
    columns += [
        sa.Column(
            f, sa.String(length=_STRINGS[f]) if f in _STRINGS else sa.Integer(), nullable=False
        )
        for f in _FIELDS
    ]
    columns += [
        sa.Column(c, sa.BigInteger() if c.startswith("total") else sa.Integer(), nullable=False)
        for c in _COUNTS
    ]
    op.create_table(
        NAME,
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{NAME}")),
        sa.UniqueConstraint("quarter", *_FIELDS, name=f"uq_{NAME}_segment"),
        postgresql_with={"fillfactor": FILLFACTOR},
    )
    where = sa.text(HEADLINE)
    op.create_index(
        f"ix_{NAME}_headline", NAME, ["quarter"], postgresql_where=where, sqlite_where=where
    )
    quarter = QUARTER_OF_MONTH[op.get_bind().dialect.name]
    fields = ", ".join(_FIELDS)
    sums = ", ".join(f"SUM({c})" for c in _COUNTS)
    op.execute(
        f"INSERT INTO {NAME} (quarter, {fields}, {', '.join(_COUNTS)}) "
        f"SELECT {quarter} AS quarter, {fields}, {sums} FROM rollup_agent_month "
        f"GROUP BY 1, {fields} ORDER BY 1, {fields}"
    )


def downgrade():
    op.drop_index(f"ix_{NAME}_headline", table_name=NAME)
    op.drop_table(NAME)
