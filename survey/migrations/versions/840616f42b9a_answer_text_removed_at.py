"""PII retention: when a comment's text was removed

Revision ID: 840616f42b9a
Revises: 884da216ecdf
Create Date: 2026-12-06 11:30:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "840616f42b9a"
down_revision = "884da216ecdf"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("answer") as batch_op:
        batch_op.add_column(
            sa.Column("text_removed_at", survey.orm.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("answer") as batch_op:
        batch_op.drop_column("text_removed_at")
