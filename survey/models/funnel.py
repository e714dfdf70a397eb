"""The response funnel's rollup: invitations counted by how far each got, per day and segment.

One row per bank day (SURVEY_TIMEZONE), survey channel and the dashboard's segment fields;
the counters say how many invitations of that cohort reached each step. Kept in the
transaction of every change an invitation goes through (survey.funnel.keeping), never
read by scanning invitations; rebuilt from the raw rows by ``survey rollup rebuild-funnel``.

Cohort rule: every count of an invitation lands on the bank's day the invitation was made
(an interaction suppressed before one was made: the day it was taken in), whenever the
step itself happened, so the rates within one period are those of one group of customers
(a survey made on the 30th and answered on the 2nd counts on the 30th). Segment columns hold 0 or '' for "none", as in ``rollup``, so the unique key that
upserts rely on behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db

# Why an interaction got no survey, or an invitation was cancelled unsent (dispatch/decide.py).
SUPPRESSION_REASONS = (
    "no_rule",
    "sampled_out",
    "opted_out",
    "frequency",
    "open_complaint",
    "no_contact",
)
SUPPRESSION_COUNTERS = tuple(f"suppressed_{reason}" for reason in SUPPRESSION_REASONS)
# Every counter, in the order an invitation's stages are kept as bits (survey.funnel.stages).
COUNTERS = (
    "invited",
    *SUPPRESSION_COUNTERS,
    "sent",
    "failed",
    "delivered",
    "opened",
    "started",
    "completed",
    "closed_partial",
    "opted_out",
    "reminded",
    "completed_after_reminder",
)
SEGMENT_COLUMNS = (
    "day",
    "survey_channel",  # the channel the invitation went out on (planned first, until sent)
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",  # of the interaction
    "interaction_type",
    "category",
    "cause",
    "survey_id",
)


class FunnelRollup(db.Model):
    """How many invitations of one day's cohort, in one segment, reached each step."""

    __tablename__ = "funnel_rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    # '' for interactions suppressed before an invitation (and so a channel) existed.
    survey_channel: Mapped[str] = mapped_column(sa.String(10), default="")
    business_line_id: Mapped[int] = mapped_column(default=0)
    team_id: Mapped[int] = mapped_column(default=0)
    agent_id: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(sa.String(10), default="")
    interaction_type: Mapped[str] = mapped_column(sa.String(10), default="")
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    cause: Mapped[str] = mapped_column(sa.String(20), default="")
    survey_id: Mapped[int] = mapped_column(default=0)
    invited: Mapped[int] = mapped_column(default=0)
    suppressed_no_rule: Mapped[int] = mapped_column(default=0)
    suppressed_sampled_out: Mapped[int] = mapped_column(default=0)
    suppressed_opted_out: Mapped[int] = mapped_column(default=0)
    suppressed_frequency: Mapped[int] = mapped_column(default=0)
    suppressed_open_complaint: Mapped[int] = mapped_column(default=0)
    suppressed_no_contact: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    started: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    closed_partial: Mapped[int] = mapped_column(default=0)
    opted_out: Mapped[int] = mapped_column(default=0)
    reminded: Mapped[int] = mapped_column(default=0)
    completed_after_reminder: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        sa.UniqueConstraint(*SEGMENT_COLUMNS, name="uq_funnel_rollup_segment"),
        sa.Index("ix_funnel_rollup_day_survey_channel", "day", "survey_channel"),
    )
