"""complaint cases: an index on the opening time, the complaints dashboard's period

Revision ID: a7d3c5e9f214
Revises: e2b7c4d9a6f3
Create Date: 2026-12-06 11:00:00

"""

from alembic import op

revision = "a7d3c5e9f214"
down_revision = "e2b7c4d9a6f3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("complaint_case", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_case_opened_at", ["opened_at"], unique=False)


def downgrade():
    with op.batch_alter_table("complaint_case", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_case_opened_at")
