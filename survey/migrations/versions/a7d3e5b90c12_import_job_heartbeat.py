"""import jobs: a heartbeat, so an interrupted import is found and resumed

Revision ID: a7d3e5b90c12
Revises: e4f2a9c61d07
Create Date: 2026-11-29 21:30:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "a7d3e5b90c12"
down_revision = "e4f2a9c61d07"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "updated_at",
                survey.orm.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.alter_column("updated_at", server_default=None)


def downgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
