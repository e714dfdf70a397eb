"""comments: on SQLite, indexes that hold each comment's text and overall score

A search that finds nothing, and the lowest scores first, read every comment of the
window (the newest 100,000 in the filters). Along the (level, counted time) indexes
each of those is a lookup of its table row: at 1,000,000 comments that took SQLite
0.4–0.7 s under load. These indexes hold what the browser reads (overall score, text),
so SQLite answers from the index alone, in the order it reads. The agent's stays
without: an agent's window is a few thousand comments. The price is room: about 120 MB
each at 1,000,000 comments (the table is 156 MB, the file 2.0 GB before them, 2.3 GB after).

SQLite only: PostgreSQL answers the same questions within its goal (bench/RESULTS.md)
and refuses an index entry over about 2,700 bytes, which a long comment would be.

Revision ID: 5e1d7c3a9b48
Revises: 7b3e9f1a2c64
Create Date: 2026-12-06 14:30:00

"""

from alembic import op

revision = "5e1d7c3a9b48"
down_revision = "7b3e9f1a2c64"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_comment_counted_at_text": ["counted_at", "id", "overall", "text"],
    "ix_comment_business_line_counted_at_text": [
        "business_line_id",
        "counted_at",
        "id",
        "overall",
        "text",
    ],
    "ix_comment_team_counted_at_text": ["team_id", "counted_at", "id", "overall", "text"],
}


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, columns in INDEXES.items():
        op.create_index(name, "comment", columns, unique=False)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.drop_index(name, table_name="comment")
