"""rollup: survey and cause in every segment, and coarser tables (grains) beside the finest

The finest table ``rollup`` gains the survey of the answered version and the
complaint's cause, and stores each day's ISO week (its Monday) and month (its first
day). Seven coarser tables keep the same counts by fewer fields or by week or month
(survey.models.rollup.CUBOIDS). Rollups are derived data: the old table is dropped,
and every table is rebuilt here from the answers, in this migration's transaction,
so a deploy never serves numbers without the new fields.

Revision ID: b8d1f4a7c2e9
Revises: 9a4e6c2d1b37
Create Date: 2026-12-06 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b8d1f4a7c2e9"
down_revision = "9a4e6c2d1b37"
branch_labels = None
depends_on = None

_STRINGS = {
    "kind": 20,
    "dimension": 20,
    "channel": 10,
    "survey_channel": 10,
    "category": 20,
    "interaction_type": 10,
    "cause": 20,
}
_ALL = (
    "kind",
    "dimension",
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",
    "survey_channel",
    "category",
    "interaction_type",
    "survey_id",
    "cause",
)
_NO_AGENT = tuple(f for f in _ALL if f != "agent_id")
_TEAM = ("kind", "dimension", "business_line_id", "team_id")
# As this revision declares them: name, grain, fields.
TABLES = (
    ("rollup_bank_month", "month", ("kind", "dimension")),
    ("rollup_bank_day", "day", ("kind", "dimension")),
    ("rollup_team_week", "week", _TEAM),
    ("rollup_team_day", "day", _TEAM),
    ("rollup_agent_month", "month", (*_TEAM, "agent_id")),
    ("rollup_agent_week", "week", (*_TEAM, "agent_id")),
    ("rollup_segment_month", "month", _NO_AGENT),
    ("rollup_segment_day", "day", _NO_AGENT),
    ("rollup", "day", _ALL),
)
_PERIODS = {"day": ("day", "week", "month"), "week": ("week",), "month": ("month",)}


def _create(name: str, grain: str, fields: tuple[str, ...]) -> None:
    columns = [sa.Column("id", sa.Integer(), nullable=False)]
    columns += [sa.Column(c, sa.Date(), nullable=False) for c in _PERIODS[grain]]
    columns += [
        sa.Column(
            f, sa.String(length=_STRINGS[f]) if f in _STRINGS else sa.Integer(), nullable=False
        )
        for f in fields
    ]
    columns += [
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("total_sq", sa.BigInteger(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("bottom", sa.Integer(), nullable=False),
    ]
    op.create_table(
        name,
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(grain, *fields, name=f"uq_{name}_segment"),
    )


def upgrade():
    op.drop_table("rollup")
    for name, grain, fields in TABLES:
        _create(name, grain, fields)
    with op.batch_alter_table("rollup", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_day_kind", ["day", "kind"], unique=False)
    _rebuild_if_answered()


def _rebuild_if_answered() -> None:
    """Fill every table from the answers counted so far (none on a new database)."""
    bind = op.get_bind()
    counted = bind.execute(
        sa.text("SELECT 1 FROM response WHERE counted_at IS NOT NULL LIMIT 1")
    ).first()
    if counted is None:
        return
    # The product's own rebuild, in this migration's transaction: it is what the tables
    # hold at this revision. A later revision that changes them rebuilds them again.
    from sqlalchemy.orm import Session

    from survey.scoring.rollup import rebuild

    with Session(bind=bind) as session:
        # Only this revision's tables: the ones later revisions add do not exist yet.
        rebuild(session=session, only=[name for name, _grain, _fields in TABLES])


def downgrade():
    for name, _grain, _fields in reversed(TABLES):
        op.drop_table(name)
    op.create_table(
        "rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(
            sa.Column(
                f, sa.String(length=_STRINGS[f]) if f in _STRINGS else sa.Integer(), nullable=False
            )
            for f in _ALL[:9]
        ),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("total_sq", sa.BigInteger(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("bottom", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup")),
        sa.UniqueConstraint("day", *_ALL[:9], name="uq_rollup_segment"),
    )
    with op.batch_alter_table("rollup", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_day_kind", ["day", "kind"], unique=False)
    # The old table is derived data too: `survey rollup rebuild` at the older revision fills it.
