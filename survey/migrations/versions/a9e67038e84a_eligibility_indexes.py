"""dispatch: indexes that keep each eligibility check and the sweep's expiry flat in history

The frequency window asks for a customer's invitations sent (or scheduled) since a
moment and for what reached their addresses; the sweep expires sent invitations
whose link lapsed. Each is now a range on an index instead of a scan. The
customer's own index is folded into the wider one that starts with it.

Revision ID: a9e67038e84a
Revises: 4a62ca67f02d
Create Date: 2026-12-02 09:00:00

"""

from alembic import op

revision = "a9e67038e84a"
down_revision = "4a62ca67f02d"
branch_labels = None
depends_on = None


def upgrade():
    # CREATE and DROP INDEX need no table copy, even in batch mode on SQLite.
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invitation_customer_sent_scheduled",
            ["customer_id", "sent_at", "scheduled_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_invitation_state_expires_at", ["state", "expires_at"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_invitation_customer_id"))

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_address_created_at", ["address", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_address_created_at")

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitation_customer_id"), ["customer_id"], unique=False
        )
        batch_op.drop_index("ix_invitation_state_expires_at")
        batch_op.drop_index("ix_invitation_customer_sent_scheduled")
