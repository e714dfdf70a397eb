"""periodic jobs: a lease, so exactly one worker runs them however many there are

Revision ID: c4e7a2d91f05
Revises: b8d1f4a7c2e9
Create Date: 2026-12-06 09:20:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "c4e7a2d91f05"
down_revision = "b8d1f4a7c2e9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "periodic_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("until", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_lease")),
    )


def downgrade():
    op.drop_table("periodic_lease")
