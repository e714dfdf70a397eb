"""Pre-aggregated answer counts per period and segment ("cuboids"); dashboards and the API read these.

Segment columns hold 0 or '' for "none" rather than NULL, so the unique key
that upserts rely on behaves the same on SQLite and PostgreSQL.

Each cuboid is one table: a time grain (the bank's day, ISO week starting
Monday, calendar month or calendar quarter, all in SURVEY_TIMEZONE) and a subset
of the segment fields. ``Rollup`` is the finest (day × every field); the others
hold the same counts summed over the fields they leave out. A day-grain table
also stores the day's week (its Monday) and month (its first day), so weeks and
months are grouped in SQL. Which table answers a query is survey.scoring.planner's choice.

Why these grains (the queries the dashboards and the API make):

- ``rollup_bank_day`` / ``rollup_bank_month`` (kind × dimension): the overview's
  headline, by-dimension and weekly trend over 30, 90 and 365 days touch a few
  rows a day (a few a month for whole months) instead of every segment.
- ``rollup_team_week`` (business line, team): the breakdown business line → team
  and team × week; a year is 52 weeks × teams. ``rollup_team_day`` gives the same
  fields the days at the ends of a range that is not whole weeks (team × week over
  90 days read those edges from ``rollup_segment_day``: 8× faster than raw answers at
  1M where the others were 19–150×).
- ``rollup_agent_quarter`` / ``rollup_agent_month`` / ``rollup_agent_week`` (business
  line, team, agent): the agent ranking over a quarter or a year (quarters, then
  months, then weeks, then days at the ends) and agents by week, without the
  channel/category/survey fan-out that makes the finest table hold ~5 answers a row.
  A year of agents read 12 months of every agent, so its rows grew with agents ×
  months; at 10M answers (2.2× the agents of 1M) that made it 1.5–1.6× the 1M time,
  the PostgreSQL side reading the extra rows. Whole quarters read a third of them.
- ``rollup_channel_month`` / ``rollup_channel_day`` (business line, interaction channel,
  survey channel): the breakdown by channel and by survey channel, bank-wide or for one
  business line, each against the rest and by dimension. At 1M answers they hold 254
  rows a month and 180 a day where the segment tables hold 3,300 and 1,050 (category,
  type, survey and cause multiply them), which made those four reads most of the
  breakdown's time; their month table also answers business lines by month in fewer
  rows than the team weeks.
- ``rollup_segment_day`` / ``rollup_segment_month`` (every field but agent): the
  breakdowns by channel, survey channel, category, type, cause and survey, and
  any filter on them; agents multiply rows the most, so leaving them out is the
  largest saving that still answers these.
- ``rollup`` (day × every field): anything else, and the day-grain edges of a
  range that is not whole weeks or months when nothing coarser has the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db

# Every segment field a count is kept by (besides its period), finest first to coarsest.
SEGMENT_FIELDS = (
    "kind",  # rating_5 | nps_0_10 | ces_7
    "dimension",
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",  # of the interaction
    "survey_channel",  # where it was answered
    "category",
    "interaction_type",
    "survey_id",  # of the answered version
    "cause",  # the complaint's cause; '' when none
)
# The finest table's key.
SEGMENT_COLUMNS = ("day", *SEGMENT_FIELDS)
COUNT_COLUMNS = ("n", "total", "total_sq", "top", "bottom")
GRAINS = ("day", "week", "month", "quarter")
# The period columns a table of each grain stores (the first is in its key).
PERIOD_COLUMNS = {
    "day": ("day", "week", "month"),
    "week": ("week",),
    "month": ("month",),
    "quarter": ("quarter",),
}

# PostgreSQL fills each page of a rollup table to this percentage, leaving the rest for
# updates in place: a submission mostly adds to rows that exist, and an update that finds
# room on its page writes no index entry (a heap-only tuple). See migration f6c2a9e4b1d3.
FILLFACTOR = 70

_STRING_LENGTHS = {
    "kind": 20,
    "dimension": 20,
    "channel": 10,
    "survey_channel": 10,
    "category": 20,
    "interaction_type": 10,
    "cause": 20,
}


class Rollup(db.Model):
    """The finest cuboid: one kind of scale answer on one day in one full segment."""

    __tablename__ = "rollup"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The day in the bank's zone (SURVEY_TIMEZONE) on which the answer was counted.
    day: Mapped[date] = mapped_column(sa.Date)
    week: Mapped[date] = mapped_column(sa.Date)  # the Monday of day's ISO week
    month: Mapped[date] = mapped_column(sa.Date)  # the first of day's month
    kind: Mapped[str] = mapped_column(sa.String(20))
    dimension: Mapped[str] = mapped_column(sa.String(20), default="")
    business_line_id: Mapped[int] = mapped_column(default=0)
    team_id: Mapped[int] = mapped_column(default=0)
    agent_id: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(sa.String(10), default="")
    survey_channel: Mapped[str] = mapped_column(sa.String(10), default="")
    category: Mapped[str] = mapped_column(sa.String(20), default="")
    interaction_type: Mapped[str] = mapped_column(sa.String(10), default="")
    survey_id: Mapped[int] = mapped_column(default=0)
    cause: Mapped[str] = mapped_column(sa.String(20), default="")
    n: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_sq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # rating_5: 4–5; nps_0_10: promoters 9–10; ces_7: 5–7.
    top: Mapped[int] = mapped_column(default=0)
    # rating_5: 1–2; nps_0_10: detractors 0–6; ces_7: 1–3.
    bottom: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        # Its key's first columns (day, kind) also serve the reads by day.
        sa.UniqueConstraint(*SEGMENT_COLUMNS, name="uq_rollup_segment"),
        {"postgresql_with": {"fillfactor": FILLFACTOR}},
    )


@dataclass(frozen=True)
class Cuboid:
    """One rollup table: its time grain and the segment fields it keeps."""

    name: str
    grain: str
    fields: tuple[str, ...]
    # Rows a period of this table is guessed to hold at scale (the 1M-answer probe had 570
    # finest rows a day), for ranking plans only: any plan gives the same numbers.
    rows_per_period: int
    table: sa.Table

    @property
    def key(self) -> tuple[str, ...]:
        return (self.grain, *self.fields)


# The rows a score reads when it neither groups nor filters by dimension (survey.scoring.
# queries): the overall 5-point question, and NPS and CES whatever their dimension. Written
# out as SQL text so that the reads, which name the same values inline, match it.
HEADLINE = "kind <> 'rating_5' OR dimension = 'overall'"


def _table(name: str, grain: str, fields: tuple[str, ...], headline: bool = False) -> sa.Table:
    """One cuboid's table; ``headline`` adds an index of its periods' headline rows.

    That index serves the reads over many periods of a table that holds every dimension
    (a year of agents by month, a quarter of teams by week): without it PostgreSQL scanned
    the whole table, every period and every dimension, for the third of it asked for.
    """
    columns: list[sa.Column] = [sa.Column("id", sa.Integer, primary_key=True)]
    columns += [sa.Column(c, sa.Date, nullable=False) for c in PERIOD_COLUMNS[grain]]
    for field in fields:
        kind = sa.String(_STRING_LENGTHS[field]) if field in _STRING_LENGTHS else sa.Integer()
        columns.append(sa.Column(field, kind, nullable=False))
    columns += [
        sa.Column(c, sa.BigInteger if c.startswith("total") else sa.Integer, nullable=False)
        for c in COUNT_COLUMNS
    ]
    return sa.Table(
        name,
        db.metadata,
        *columns,
        sa.UniqueConstraint(grain, *fields, name=f"uq_{name}_segment"),
        *([_headline_index(name, grain)] if headline else []),
        postgresql_with={"fillfactor": FILLFACTOR},
    )


def _headline_index(name: str, grain: str) -> sa.Index:
    where = sa.text(HEADLINE)
    return sa.Index(f"ix_{name}_headline", grain, postgresql_where=where, sqlite_where=where)


def _cuboid(
    name: str, grain: str, fields: tuple[str, ...], rows_per_period: int, headline: bool = False
) -> Cuboid:
    return Cuboid(name, grain, fields, rows_per_period, _table(name, grain, fields, headline))


_BANK = ("kind", "dimension")
_TEAM = (*_BANK, "business_line_id", "team_id")
_NO_AGENT = tuple(f for f in SEGMENT_FIELDS if f != "agent_id")
_CHANNEL = (*_BANK, "business_line_id", "channel", "survey_channel")

# Every rollup table, coarsest first; each is kept in the transaction that counts a response.
CUBOIDS: tuple[Cuboid, ...] = (
    _cuboid("rollup_bank_month", "month", _BANK, 8),
    _cuboid("rollup_bank_day", "day", _BANK, 8),
    _cuboid("rollup_team_week", "week", _TEAM, 120, headline=True),
    _cuboid("rollup_team_day", "day", _TEAM, 60),
    _cuboid("rollup_channel_month", "month", _CHANNEL, 300),
    _cuboid("rollup_channel_day", "day", _CHANNEL, 100),
    _cuboid("rollup_agent_quarter", "quarter", (*_TEAM, "agent_id"), 8_000, headline=True),
    _cuboid("rollup_agent_month", "month", (*_TEAM, "agent_id"), 3_500, headline=True),
    _cuboid("rollup_agent_week", "week", (*_TEAM, "agent_id"), 1_000, headline=True),
    _cuboid("rollup_segment_month", "month", _NO_AGENT, 5_000),
    _cuboid("rollup_segment_day", "day", _NO_AGENT, 350),
    Cuboid("rollup", "day", SEGMENT_FIELDS, 600, Rollup.__table__),
)
FINEST = CUBOIDS[-1]
