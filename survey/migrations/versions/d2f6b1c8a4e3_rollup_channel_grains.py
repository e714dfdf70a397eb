"""rollup: business line × interaction channel × survey channel by day and by month

Two coarser rollup tables (survey.models.rollup.CUBOIDS) for the breakdown by channel
and by survey channel: the segment tables answered those from every category, type,
survey and cause. Derived data: each is filled here from the finest table ``rollup``
(one INSERT … SELECT … GROUP BY, the sums ``survey rollup rebuild`` would give), in
this migration's transaction.

Revision ID: d2f6b1c8a4e3
Revises: e5b1d8c3a7f2
Create Date: 2026-12-06 17:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d2f6b1c8a4e3"
down_revision = "e5b1d8c3a7f2"
branch_labels = None
depends_on = None

_FIELDS = ("kind", "dimension", "business_line_id", "channel", "survey_channel")
_STRINGS = {"kind": 20, "dimension": 20, "channel": 10, "survey_channel": 10}
_COUNTS = ("n", "total", "total_sq", "top", "bottom")
_PERIODS = {"day": ("day", "week", "month"), "month": ("month",)}
# As this revision declares them: name, grain.
TABLES = (("rollup_channel_month", "month"), ("rollup_channel_day", "day"))


def _create(name: str, grain: str) -> None:
    columns = [sa.Column("id", sa.Integer(), nullable=False)]
    columns += [sa.Column(c, sa.Date(), nullable=False) for c in _PERIODS[grain]]
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
        name,
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(grain, *_FIELDS, name=f"uq_{name}_segment"),
    )


def _fill(name: str, grain: str) -> None:
    """Sum the finest table's rows into one new table (nothing on a new database)."""
    key = ", ".join((*_PERIODS[grain], *_FIELDS))
    sums = ", ".join(f"SUM({c})" for c in _COUNTS)
    op.execute(
        f"INSERT INTO {name} ({key}, {', '.join(_COUNTS)}) "
        f"SELECT {key}, {sums} FROM rollup GROUP BY {key}"
    )


def upgrade():
    for name, grain in TABLES:
        _create(name, grain)
        _fill(name, grain)


def downgrade():
    for name, _grain in reversed(TABLES):
        op.drop_table(name)
