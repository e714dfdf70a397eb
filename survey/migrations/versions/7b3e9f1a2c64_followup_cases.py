"""follow-up cases: consent on the response, the case with its owner, due time and notes

Revision ID: 7b3e9f1a2c64
Revises: 3e8b6d0f2a71
Create Date: 2026-12-06 10:49:19.479665

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

# revision identifiers, used by Alembic.
revision = "7b3e9f1a2c64"
down_revision = "3e8b6d0f2a71"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "followup_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("opened_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", survey.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("notified_owner_id", sa.Integer(), nullable=True),
        sa.Column("overdue_notified_at", survey.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'closed') = (outcome IS NOT NULL AND closed_at IS NOT NULL)",
            name=op.f("ck_followup_case_closed_with_outcome"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('reached_resolved', 'reached_unresolved', 'not_reached', 'declined')",
            name=op.f("ck_followup_case_outcome"),
        ),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_followup_case_state")),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
            name=op.f("fk_followup_case_business_line_id_business_line"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_followup_case_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user_account.id"], name=op.f("fk_followup_case_owner_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name=op.f("fk_followup_case_response_id_response")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_case")),
        sa.UniqueConstraint("response_id", name=op.f("uq_followup_case_response_id")),
    )
    with op.batch_alter_table("followup_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_followup_case_business_line_id"), ["business_line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_followup_case_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_followup_case_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_followup_case_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "followup_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"], name=op.f("fk_followup_note_author_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["followup_case.id"], name=op.f("fk_followup_note_case_id_followup_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_note")),
    )
    with op.batch_alter_table("followup_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_note_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_consent", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("followup_asked_at", survey.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("followup_no_case_reason", sa.String(length=12), nullable=True)
        )
        batch_op.create_check_constraint(
            "followup_no_case_reason",
            "followup_no_case_reason IS NULL OR followup_no_case_reason IN ('declined', 'not_asked', 'unanswered')",
        )


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_response_followup_no_case_reason"), type_="check")
        batch_op.drop_column("followup_no_case_reason")
        batch_op.drop_column("followup_asked_at")
        batch_op.drop_column("followup_consent")

    with op.batch_alter_table("followup_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_note_case_id"))

    op.drop_table("followup_note")
    with op.batch_alter_table("followup_case", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_case_state_due_at")
        batch_op.drop_index(batch_op.f("ix_followup_case_owner_id"))
        batch_op.drop_index(batch_op.f("ix_followup_case_customer_id"))
        batch_op.drop_index(batch_op.f("ix_followup_case_business_line_id"))

    op.drop_table("followup_case")
