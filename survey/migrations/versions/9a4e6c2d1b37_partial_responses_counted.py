"""responses: a state and the time each was counted, so a partial left unfinished counts once

A response was counted only when completed. Now a partial one is closed after the
organisation's idle hours or when its link expires and counted then, with what it
answered. ``state`` says which (partial, completed, closed_partial); ``counted_at``
is when it was rolled up. A check constraint ties the two, so a response leaves
'partial' (and is counted) once. Completed responses count from their completion.

Revision ID: 9a4e6c2d1b37
Revises: 5c0d8e3b7f21
Create Date: 2026-12-06 06:00:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "9a4e6c2d1b37"
down_revision = "5c0d8e3b7f21"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), server_default="partial", nullable=False)
        )
        batch_op.add_column(
            sa.Column("counted_at", survey.orm.UTCDateTime(timezone=True), nullable=True)
        )
    response = sa.table(
        "response",
        sa.column("state", sa.String),
        sa.column("completed_at", survey.orm.UTCDateTime(timezone=True)),
        sa.column("counted_at", survey.orm.UTCDateTime(timezone=True)),
    )
    op.execute(
        response.update()
        .where(response.c.completed_at.is_not(None))
        .values(state="completed", counted_at=response.c.completed_at)
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_response_counted_at"), ["counted_at"], unique=False)
        batch_op.create_index("ix_response_state_updated_at", ["state", "updated_at"], unique=False)
        batch_op.create_check_constraint(
            "state", sa.text("state IN ('partial', 'completed', 'closed_partial')")
        )
        batch_op.create_check_constraint(
            "counted_once", sa.text("(state = 'partial') = (counted_at IS NULL)")
        )


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_response_counted_once"), type_="check")
        batch_op.drop_constraint(op.f("ck_response_state"), type_="check")
        batch_op.drop_index("ix_response_state_updated_at")
        batch_op.drop_index(op.f("ix_response_counted_at"))
        batch_op.drop_column("counted_at")
        batch_op.drop_column("state")
