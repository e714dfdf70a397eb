"""response funnel: its rollup, and what each invitation has counted in it

Revision ID: 7f3b2d9e4a61
Revises: 840616f42b9a
Create Date: 2026-12-06 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7f3b2d9e4a61"
down_revision = "840616f42b9a"
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
KEY = (
    "day",
    "survey_channel",
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",
    "interaction_type",
    "category",
    "cause",
    "survey_id",
)


def upgrade():
    op.create_table(
        "funnel_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("survey_channel", sa.String(length=10), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("interaction_type", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_rollup")),
        sa.UniqueConstraint(*KEY, name="uq_funnel_rollup_segment"),
    )
    with op.batch_alter_table("funnel_rollup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_funnel_rollup_day_survey_channel", ["day", "survey_channel"], unique=False
        )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funnel_channel", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("funnel_stages", sa.Integer(), nullable=False, server_default="0")
        )
    _rebuild_if_invited()


def _rebuild_if_invited() -> None:
    """Fill the funnel from the interactions and invitations so far (none on a new database)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM interaction LIMIT 1")).first() is None:
        return
    # The product's own rebuild, in this migration's transaction: what the table holds at
    # this revision. A later revision that changes it rebuilds it again.
    from sqlalchemy.orm import Session

    from survey.funnel.rebuilding import rebuild

    with Session(bind=bind) as session:
        rebuild(session=session)


def downgrade():
    # Not in batch mode: SQLite (3.35 on) drops a plain column in place, where a batch would
    # copy the invitation table, which its deliveries and responses refer to.
    op.drop_column("invitation", "funnel_stages")
    op.drop_column("invitation", "funnel_channel")
    with op.batch_alter_table("funnel_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_funnel_rollup_day_survey_channel")
    op.drop_table("funnel_rollup")
