"""The comments index: one row per free-text answer of a counted response, for the browser.

A comment's segment, survey, overall score and counted time live on five tables
(answer, response, survey version, invitation, interaction); a search that joined them
for each of 100,000 comments took seconds on SQLite. Like the rollups, this table is
written in the transaction that counts the response (survey.scoring.comment_index,
called by rollup.apply_response) and rebuilt with them, so the browser reads one table
along one index. ``text`` is the customer's text as given: it is masked when shown
(survey.masking.for_viewer), never here, so a case owner can still read it whole.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db


class Comment(db.Model):
    __tablename__ = "comment"

    # The answer's own id: one row per text answer, found again by it.
    id: Mapped[int] = mapped_column(sa.ForeignKey("answer.id"), primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("response.id"), index=True)
    counted_at: Mapped[datetime]
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id"))
    business_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("business_line.id"))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("team.id"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))
    survey_channel: Mapped[str] = mapped_column(sa.String(10))
    type: Mapped[str] = mapped_column(sa.String(10))
    category: Mapped[str | None] = mapped_column(sa.String(20))
    cause: Mapped[str | None] = mapped_column(sa.String(20))
    # The response's 5-point answer on the overall dimension, for "lowest first".
    overall: Mapped[int | None]
    text: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (
        # Newest first, and the window a search reads; one per organisation level, so a
        # filter on a small team reads that team's comments, not the whole bank's.
        sa.Index("ix_comment_counted_at", "counted_at", "id"),
        sa.Index("ix_comment_business_line_counted_at", "business_line_id", "counted_at", "id"),
        sa.Index("ix_comment_team_counted_at", "team_id", "counted_at", "id"),
        sa.Index("ix_comment_agent_counted_at", "agent_id", "counted_at", "id"),
        # SQLite: the same orders holding what a search and the lowest-first order read,
        # so a window of 100,000 comments is read from the index, not row by row from
        # the table (migration 5e1d7c3a9b48 says why; PostgreSQL needs none).
        *(
            sa.Index(f"ix_comment{level}_counted_at_text", *columns, "overall", "text").ddl_if(
                dialect="sqlite"
            )
            for level, columns in (
                ("", ("counted_at", "id")),
                ("_business_line", ("business_line_id", "counted_at", "id")),
                ("_team", ("team_id", "counted_at", "id")),
            )
        ),
    )
