"""complaints: complaint cases, the posts that belong to them, and the survey about each

Interactions with the same ``complaint.case_id`` are one case; the case holds its
progress (opened, first reply, resolved) and the one invitation about its resolution.
Complaints stored before this revision are not back-filled into cases: they carry no
case id, and the open-complaint check keeps matching them by ``opened_at``.

Revision ID: d5c8e1a2b3f4
Revises: f1c0b7a2e9d4
Create Date: 2026-12-06 05:00:00

"""

import sqlalchemy as sa
from alembic import op

from survey.orm import UTCDateTime

revision = "d5c8e1a2b3f4"
down_revision = "f1c0b7a2e9d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "complaint_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_reply_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_first_contact", sa.Boolean(), nullable=True),
        sa.Column("cause", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
            name=op.f("fk_complaint_case_business_line_id_business_line"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_complaint_case_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_complaint_case_team_id_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_case")),
        sa.UniqueConstraint("case_id", name=op.f("uq_complaint_case_case_id")),
    )
    with op.batch_alter_table("complaint_case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_case_customer_resolved", ["customer_id", "resolved_at"], unique=False
        )

    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaint_case_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_interaction_complaint_case_id"), ["complaint_case_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_interaction_complaint_case_id_complaint_case"),
            "complaint_case",
            ["complaint_case_id"],
            ["id"],
        )

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaint_case_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_invitation_complaint_case_id"), ["complaint_case_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invitation_complaint_case_id_complaint_case"),
            "complaint_case",
            ["complaint_case_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invitation_complaint_case_id_complaint_case"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_invitation_complaint_case_id"), type_="unique")
        batch_op.drop_column("complaint_case_id")

    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_interaction_complaint_case_id_complaint_case"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_interaction_complaint_case_id"))
        batch_op.drop_column("complaint_case_id")

    with op.batch_alter_table("complaint_case", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_case_customer_resolved")

    op.drop_table("complaint_case")
