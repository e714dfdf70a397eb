"""The complaints figures of resolved, stamped cases, pre-added by the day the cases were opened.

One row per stamping basis (survey.scoring.complaint_outcomes), grain and period (the
case's opening day in the bank's zone, and again its month, so that a year reads twelve
months' rows and the days at its ends), case segment (business line, team, category,
cause), first-contact resolution and outcome of each commitment. A row with ``survey_id`` 0 counts cases
(``cases``); a row with a survey holds the counted complaint-handling 5-point answers of
those cases' posts, answered to that survey on that survey channel (n, Σ, Σ², top, bottom),
so the survey filters narrow the satisfaction figures only, as they do case by case.

Segment columns hold 0 or '' for "none", as the answer rollups do, so the unique key that
upserts rely on behaves the same on SQLite and PostgreSQL. Kept in the transaction that
changes a case or counts an answer (survey.scoring.complaint_rollup).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db

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
COUNT_COLUMNS = ("cases", "n", "total", "total_sq", "top", "bottom")


class ComplaintRollup(db.Model):
    """Resolved cases opened on one day in one segment with one set of outcomes, and their answers."""

    __tablename__ = "complaint_rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    basis: Mapped[str] = mapped_column(sa.String(16))
    # "day": the cases opened on ``day``; "month": those opened in the month ``day`` begins.
    grain: Mapped[str] = mapped_column(sa.String(5))
    day: Mapped[date] = mapped_column(sa.Date)
    business_line_id: Mapped[int] = mapped_column(default=0)
    team_id: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    cause: Mapped[str] = mapped_column(sa.String(20), default="")
    first_contact: Mapped[int] = mapped_column(default=0)  # 1: resolved at the first contact
    first_reply_outcome: Mapped[str] = mapped_column(sa.String(6))
    final_outcome: Mapped[str] = mapped_column(sa.String(6))
    regulator_outcome: Mapped[str] = mapped_column(sa.String(6))
    survey_id: Mapped[int] = mapped_column(default=0)  # 0: the row counts cases
    survey_channel: Mapped[str] = mapped_column(sa.String(10), default="")
    cases: Mapped[int] = mapped_column(default=0)
    n: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_sq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    top: Mapped[int] = mapped_column(default=0)
    bottom: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint(*KEY_COLUMNS, name="uq_complaint_rollup_segment"),)
