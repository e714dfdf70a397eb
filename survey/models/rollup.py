"""Pre-aggregated answer counts per day and segment; dashboards and the scores API read these.

Segment columns hold 0 or '' for "none" rather than NULL, so the unique key
that upserts rely on behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db

SEGMENT_COLUMNS = (
    "day",
    "kind",
    "dimension",
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",
    "survey_channel",
    "category",
    "interaction_type",
)


class Rollup(db.Model):
    __tablename__ = "rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The day in the bank's zone (SURVEY_TIMEZONE) on which the answer arrived.
    day: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(20))  # rating_5 | nps_0_10 | ces_7
    dimension: Mapped[str] = mapped_column(sa.String(20), default="")
    business_line_id: Mapped[int] = mapped_column(default=0)
    team_id: Mapped[int] = mapped_column(default=0)
    agent_id: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(sa.String(10), default="")  # of the interaction
    survey_channel: Mapped[str] = mapped_column(sa.String(10), default="")
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    interaction_type: Mapped[str] = mapped_column(sa.String(10), default="")
    n: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_sq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # rating_5: 4–5; nps_0_10: promoters 9–10; ces_7: 5–7.
    top: Mapped[int] = mapped_column(default=0)
    # rating_5: 1–2; nps_0_10: detractors 0–6; ces_7: 1–3.
    bottom: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        sa.UniqueConstraint(*SEGMENT_COLUMNS, name="uq_rollup_segment"),
        sa.Index("ix_rollup_day_kind", "day", "kind"),
    )
