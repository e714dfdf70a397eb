"""responses that opened no follow-up case, by day: a partial index for the overview's figures

Revision ID: a9d3c5e7f1b2
Revises: 5e1d7c3a9b48
Create Date: 2026-12-06 15:05:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a9d3c5e7f1b2"
down_revision = "5e1d7c3a9b48"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(
            "ix_response_no_case_counted_at",
            ["counted_at", "followup_no_case_reason"],
            unique=False,
            sqlite_where=sa.text("followup_no_case_reason IS NOT NULL"),
            postgresql_where=sa.text("followup_no_case_reason IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_no_case_counted_at")
