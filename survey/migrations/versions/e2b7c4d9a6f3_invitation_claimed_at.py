"""invitation.claimed_at: the claim a worker checks is still its own just before it sends

Revision ID: e2b7c4d9a6f3
Revises: c4e7a2d91f05
Create Date: 2026-12-06 12:00:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "e2b7c4d9a6f3"
down_revision = "c4e7a2d91f05"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("claimed_at", survey.orm.UTCDateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("claimed_at")
