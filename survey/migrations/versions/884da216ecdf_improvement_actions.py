"""improvement actions: what the bank changed, where and from when, judged before and after

Revision ID: 884da216ecdf
Revises: fd496f60bee4
Create Date: 2026-12-06 11:00:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "884da216ecdf"
down_revision = "fd496f60bee4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "improvement_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_code", sa.String(length=60), nullable=False),
        sa.Column("description_zh", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('training', 'process_change', 'system_fix', 'product_change')",
            name=op.f("ck_improvement_action_kind"),
        ),
        sa.CheckConstraint(
            "target_kind IN ('business_line', 'team', 'agent', 'category', 'dimension')",
            name=op.f("ck_improvement_action_target_kind"),
        ),
        sa.CheckConstraint(
            "window_days BETWEEN 1 AND 365", name=op.f("ck_improvement_action_window_days")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_improvement_action_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_action")),
    )
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_improvement_action_started_on"), ["started_on"], unique=False
        )


def downgrade():
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_improvement_action_started_on"))
    op.drop_table("improvement_action")
