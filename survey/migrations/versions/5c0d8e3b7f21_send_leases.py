"""dispatch: a lease on every claimed send, so a dead worker's sends are taken over in seconds

A send 'sending' was taken over only 10 minutes after its last stamp. Now the
worker that claims it holds a lease it renews while it works; the sweep takes
over sends whose lease ran out, found through an index of the sends' lease ends.
Sends already 'sending' get the lease their old rule gave them.

Revision ID: 5c0d8e3b7f21
Revises: d5c8e1a2b3f4
Create Date: 2026-12-06 05:00:00

"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "5c0d8e3b7f21"
down_revision = "d5c8e1a2b3f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", survey.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_invitation_sending_lease_until",
            ["state", "lease_until"],
            unique=False,
            sqlite_where=sa.text("state = 'sending'"),
            postgresql_where=sa.text("state = 'sending'"),
        )
    invitation = sa.table(
        "invitation",
        sa.column("id", sa.Integer),
        sa.column("state", sa.String),
        sa.column("updated_at", survey.orm.UTCDateTime(timezone=True)),
        sa.column("lease_until", survey.orm.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(invitation.c.id, invitation.c.updated_at).where(invitation.c.state == "sending")
    ).all()
    for row_id, updated_at in rows:
        connection.execute(
            invitation.update()
            .where(invitation.c.id == row_id)
            .values(lease_until=updated_at + timedelta(minutes=10))
        )


def downgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_sending_lease_until")
        batch_op.drop_column("lease_until")
