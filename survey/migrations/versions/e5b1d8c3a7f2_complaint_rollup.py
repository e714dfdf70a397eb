"""complaints rollup: stamped cases and their answers by opening day; open cases' partial index

Revision ID: e5b1d8c3a7f2
Revises: b3f8d2c6e1a9
Create Date: 2026-12-06 17:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5b1d8c3a7f2"
down_revision = "b3f8d2c6e1a9"
branch_labels = None
depends_on = None

KEY_COLUMNS = (
    "basis",
    "grain",
    "day",
    "business_line_id",
    "team_id",
    "category",
    "cause",
    "first_contact",
    "first_reply_outcome",
    "final_outcome",
    "regulator_outcome",
    "survey_id",
    "survey_channel",
)


def upgrade():
    op.create_table(
        "complaint_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("first_contact", sa.Integer(), nullable=False),
        sa.Column("first_reply_outcome", sa.String(length=6), nullable=False),
        sa.Column("final_outcome", sa.String(length=6), nullable=False),
        sa.Column("regulator_outcome", sa.String(length=6), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("survey_channel", sa.String(length=10), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("total_sq", sa.BigInteger(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("bottom", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_rollup")),
        sa.UniqueConstraint(*KEY_COLUMNS, name="uq_complaint_rollup_segment"),
    )
    op.create_index(
        "ix_complaint_case_unstamped",
        "complaint_case",
        ["opened_at", "created_at"],
        unique=False,
        sqlite_where=sa.text("outcomes_basis IS NULL"),
        postgresql_where=sa.text("outcomes_basis IS NULL"),
    )
    _add_up_stamped_cases()


def _add_up_stamped_cases() -> None:
    """Add up the cases stamped so far (none on a new database), in the bank's zone."""
    from flask import current_app
    from sqlalchemy.orm import Session

    from survey.scoring import complaint_rollup

    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM complaint_case LIMIT 1")).first() is None:
        return
    with Session(bind=bind) as session:
        complaint_rollup.rebuild(session, current_app.config["SURVEY_TIMEZONE"])
        session.flush()


def downgrade():
    op.drop_index("ix_complaint_case_unstamped", table_name="complaint_case")
    op.drop_table("complaint_rollup")
