"""comments: an index of free-text answers for the comments browser, filled from the answers

One row per text answer of a counted response, with the response's segment, survey,
overall score and counted time (survey.models.comment). Derived data, like the
rollups: it is filled here from the answers counted so far, in this migration's
transaction, and kept current as responses are counted.

Revision ID: 3e8b6d0f2a71
Revises: 7f3b2d9e4a61
Create Date: 2026-12-06 11:10:00

"""

import sqlalchemy as sa
from alembic import op

from survey.orm import UTCDateTime

revision = "3e8b6d0f2a71"
down_revision = "7f3b2d9e4a61"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("counted_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("business_line_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("survey_channel", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("cause", sa.String(length=20), nullable=True),
        sa.Column("overall", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["answer.id"], name=op.f("fk_comment_id_answer")),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name=op.f("fk_comment_response_id_response")
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_comment_survey_id_survey")
        ),
        sa.ForeignKeyConstraint(
            ["business_line_id"],
            ["business_line.id"],
            name=op.f("fk_comment_business_line_id_business_line"),
        ),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_comment_team_id_team")),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_comment_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comment_response_id"), ["response_id"], unique=False)
        batch_op.create_index("ix_comment_counted_at", ["counted_at", "id"], unique=False)
        batch_op.create_index(
            "ix_comment_business_line_counted_at",
            ["business_line_id", "counted_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_comment_team_counted_at", ["team_id", "counted_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_comment_agent_counted_at", ["agent_id", "counted_at", "id"], unique=False
        )
    _fill()


def _fill() -> None:
    """Index the comments counted so far (none on a new database), with the product's query."""
    from survey.scoring import comment_index

    comment_index.rebuild(op.get_bind())


def downgrade():
    op.drop_table("comment")
