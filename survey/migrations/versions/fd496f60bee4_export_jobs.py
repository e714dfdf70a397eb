"""exports: large exports prepared in the background, with their progress and file

Revision ID: fd496f60bee4
Revises: a7d3c5e9f214
Create Date: 2026-12-06 11:00:00

"""

import sqlalchemy as sa
from alembic import op

import survey.orm

revision = "fd496f60bee4"
down_revision = "a7d3c5e9f214"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "export_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("download_name", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", survey.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", survey.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", survey.orm.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('responses')", name=op.f("ck_export_job_kind")),
        sa.CheckConstraint("format IN ('csv', 'xlsx')", name=op.f("ck_export_job_format")),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed', 'expired')",
            name=op.f("ck_export_job_state"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_export_job_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
    )
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.create_index(
            "ix_export_job_created_by_id_created_at", ["created_by_id", "created_at"]
        )
        batch_op.create_index("ix_export_job_state_heartbeat_at", ["state", "heartbeat_at"])
        batch_op.create_index(batch_op.f("ix_export_job_expires_at"), ["expires_at"])


def downgrade():
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_job_expires_at"))
        batch_op.drop_index("ix_export_job_state_heartbeat_at")
        batch_op.drop_index("ix_export_job_created_by_id_created_at")
    op.drop_table("export_job")
