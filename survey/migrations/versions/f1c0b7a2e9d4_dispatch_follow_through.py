"""dispatch: retries, reminders, and why an invitation ended

A delivery says which try on its channel it was (``attempt``) and whether it was
the invitation or its reminder (``purpose``); a try the provider certainly did
not take is ``retrying``. An invitation keeps when its one reminder is due, and
why it was cancelled (``suppression_reason``) or failed (``failure_reason``). A
rule says where its reminder goes (``reminder_channel``: same or next).

Revision ID: f1c0b7a2e9d4
Revises: a9e67038e84a
Create Date: 2026-12-06 05:00:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "f1c0b7a2e9d4"
down_revision = "a9e67038e84a"
branch_labels = None
depends_on = None

OLD_DELIVERY_STATES = (
    "sending", "sent", "held", "accepted", "scheduled", "queued", "delivered", "undelivered",
    "failed", "canceled", "unknown", "ringing", "in_progress", "answered", "unanswered", "busy",
    "no_answer", "machine",
)  # fmt: skip
NEW_DELIVERY_STATES = (*OLD_DELIVERY_STATES, "retrying")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=10), nullable=False, server_default="invitation")
        )
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        batch_op.drop_constraint(op.f("ck_delivery_state"), type_="check")
        batch_op.create_check_constraint("state", sa.text(_in("state", NEW_DELIVERY_STATES)))
        batch_op.create_check_constraint(
            "purpose", sa.text(_in("purpose", ("invitation", "reminder")))
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("purpose", server_default=None)
        batch_op.alter_column("attempt", server_default=None)

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminder_due_at", survey.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("suppression_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("failure_reason", sa.Text(), nullable=True))
        batch_op.create_index("ix_invitation_reminder_due_at", ["reminder_due_at"], unique=False)

    with op.batch_alter_table("dispatch_rule", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reminder_channel", sa.String(length=10), nullable=False, server_default="same"
            )
        )
        batch_op.create_check_constraint(
            "reminder_channel", sa.text(_in("reminder_channel", ("same", "next")))
        )
    with op.batch_alter_table("dispatch_rule", schema=None) as batch_op:
        batch_op.alter_column("reminder_channel", server_default=None)


def downgrade():
    with op.batch_alter_table("dispatch_rule", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_dispatch_rule_reminder_channel"), type_="check")
        batch_op.drop_column("reminder_channel")

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_reminder_due_at")
        batch_op.drop_column("failure_reason")
        batch_op.drop_column("suppression_reason")
        batch_op.drop_column("reminder_due_at")

    op.execute("UPDATE delivery SET state = 'held' WHERE state = 'retrying'")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_delivery_purpose"), type_="check")
        batch_op.drop_constraint(op.f("ck_delivery_state"), type_="check")
        batch_op.create_check_constraint("state", sa.text(_in("state", OLD_DELIVERY_STATES)))
        batch_op.drop_column("attempt")
        batch_op.drop_column("purpose")
