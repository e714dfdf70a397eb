"""Rebuild every rollup table with set-based SQL: the finest from answers, the rest from it.

Summing the finest table (a few answers a row) is much cheaper than joining five
tables of answers again, and it gives the coarser tables exactly the finest's counts.
Called through ``survey.scoring.rollup.rebuild``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from survey import settings
from survey.models import (
    Answer,
    ComplaintRollup,
    Interaction,
    Invitation,
    Question,
    Response,
    SurveyVersion,
)
from survey.models.rollup import (
    COUNT_COLUMNS,
    CUBOIDS,
    FINEST,
    PERIOD_COLUMNS,
    SEGMENT_FIELDS,
    Cuboid,
    Rollup,
)
from survey.scoring import complaint_rollup
from survey.scoring.rollup import (
    BOTTOM_TO,
    ROLLED_KINDS,
    TOP_FROM,
    Progress,
    TableDone,
    local_day,
    month_of,
    week_of,
)

# Days one INSERT … SELECT covers. SQLite walks the counted-time index, so small batches cost
# nothing; PostgreSQL prefers hashing whole tables, so it gets fewer, larger batches.
DAYS_PER_BATCH = {"sqlite": 31, "postgresql": 183}


def rebuild_all(
    session: Session,
    progress: Progress | None,
    days_per_batch: int | None,
    tables: TableDone,
    cuboids: tuple[Cuboid, ...] = CUBOIDS,
) -> int:
    """Empty the rollup tables (every one by default), recompute them, commit; return the answers counted.

    The finest table is always among them: the others are summed from it.
    """
    cuboids = tuple(c for c in cuboids if c is not FINEST) + (FINEST,)
    dialect = session.get_bind().dialect.name
    days_per_batch = days_per_batch or DAYS_PER_BATCH.get(dialect, 31)
    if dialect == "postgresql":
        # Responses completing meanwhile wait for the rebuild instead of being counted twice or lost.
        names = ", ".join(c.table.name for c in cuboids)
        session.execute(sa.text(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE"))
    for cuboid in cuboids:
        session.execute(sa.delete(cuboid.table))
    started = time.perf_counter()
    done = _rebuild_finest(session, dialect, days_per_batch, progress)
    rows = session.scalar(sa.select(sa.func.count()).select_from(FINEST.table))
    tables(FINEST.name, rows or 0, time.perf_counter() - started)
    for cuboid in cuboids:
        if cuboid is FINEST:
            continue
        started = time.perf_counter()
        session.execute(coarser_insert(cuboid))
        rows = session.scalar(sa.select(sa.func.count()).select_from(cuboid.table))
        tables(cuboid.name, rows or 0, time.perf_counter() - started)
    # A migration older than the complaints rollup (b8d1f4a7c2e9) rebuilds before it exists.
    if sa.inspect(session.connection()).has_table(ComplaintRollup.__tablename__):
        started = time.perf_counter()
        complaint_rollup.rebuild(session)
        rows = session.scalar(sa.select(sa.func.count()).select_from(ComplaintRollup))
        tables(ComplaintRollup.__tablename__, rows or 0, time.perf_counter() - started)
    session.commit()
    return done


def _rebuild_finest(
    session: Session, dialect: str, days_per_batch: int, progress: Progress | None
) -> int:
    first, last = session.execute(
        sa.select(sa.func.min(Response.counted_at), sa.func.max(Response.counted_at)).where(
            Response.counted_at.is_not(None)
        )
    ).one()
    if first is None:
        if progress:
            progress(0, 0)
        return 0
    total = session.scalar(_rolled_answers(sa.select(sa.func.count())))
    zone = ZoneInfo(settings.bank_zone())
    done = 0
    for days in _batches(local_day(first, zone.key), local_day(last, zone.key), days_per_batch):
        session.execute(_insert_days(days, zone, native_zones=dialect == "postgresql"))
        done += session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Rollup.n), 0)).where(
                Rollup.day >= days[0], Rollup.day <= days[-1]
            )
        )
        if progress:
            progress(done, total or 0)
    return done


class QuarterOf(sa.sql.expression.FunctionElement[date]):
    """The first day of the quarter of a column of first days of months (SQL's ``month``)."""

    type = sa.Date()
    inherit_cache = True
    name = "quarter_of"


@compiles(QuarterOf, "postgresql")
def _quarter_of_postgresql(element: QuarterOf, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('quarter', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(QuarterOf, "sqlite")
def _quarter_of_sqlite(element: QuarterOf, compiler: Any, **kw: Any) -> str:
    # SQLite keeps dates as ISO text; the first of a month moved back 0, 1 or 2 months.
    month = compiler.process(element.clauses, **kw)
    return (
        f"date({month}, '-' || ((CAST(strftime('%m', {month}) AS INTEGER) - 1) % 3) || ' months')"
    )


def _period(source: sa.Table, name: str) -> sa.ColumnElement[Any]:
    """A period column of the finest table; a quarter, which it does not keep, from its month."""
    if name == "quarter":
        return QuarterOf(source.c.month).label("quarter")
    return source.c[name]


def coarser_insert(cuboid: Cuboid) -> sa.Insert:
    """Build the INSERT … SELECT … GROUP BY that fills a coarser table from the finest."""
    source = FINEST.table
    period = [_period(source, c) for c in PERIOD_COLUMNS[cuboid.grain]]
    segment = [source.c[f] for f in cuboid.fields]
    grouped = (
        sa.select(*period, *segment, *(sa.func.sum(source.c[c]).label(c) for c in COUNT_COLUMNS))
        .group_by(*period, *segment)
        # Stored in the order of their periods, as live counting appends them: a read of a
        # range of periods then finds its rows on neighbouring pages (a hash aggregate hands
        # groups over in no order, and at 10M answers that cost a page a row).
        .order_by(*period, *segment)
    )
    names = [*PERIOD_COLUMNS[cuboid.grain], *cuboid.fields, *COUNT_COLUMNS]
    return sa.insert(cuboid.table).from_select(names, grouped)


def _batches(first: date, last: date, size: int) -> Iterable[list[date]]:
    day = first
    while day <= last:
        batch = [day + timedelta(days=i) for i in range(size) if day + timedelta(days=i) <= last]
        yield batch
        day = batch[-1] + timedelta(days=1)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which a day begins in a zone (DST-aware)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)


def _rolled_answers(select: sa.Select[Any]) -> sa.Select[Any]:
    """Join a select to the answers that the rollup counts."""
    return (
        select.select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .where(
            Response.counted_at.is_not(None),
            Question.kind.in_(ROLLED_KINDS),
            Answer.value_int.is_not(None),
        )
    )


def _kind_case(limits: dict[str, int], top: bool) -> sa.Case[Any]:
    return sa.case(
        *(
            (
                sa.and_(
                    Question.kind == kind,
                    Answer.value_int >= limit if top else Answer.value_int <= limit,
                ),
                1,
            )
            for kind, limit in limits.items()
        ),
        else_=0,
    )


def _insert_days(days: list[date], zone: ZoneInfo, native_zones: bool = False) -> sa.Insert:
    """Build the INSERT … SELECT … GROUP BY that rolls up the answers counted on some days."""
    starts = [day_start(day, zone) for day in days]
    end = day_start(days[-1] + timedelta(days=1), zone)
    bounds = [*starts[1:], end]
    day: sa.ColumnElement[Any]
    if native_zones:
        # PostgreSQL knows the zone database: timestamptz AT TIME ZONE gives the local time.
        day = sa.cast(sa.func.timezone(zone.key, Response.counted_at), sa.Date)
    else:
        # SQLite knows no zones: a CASE over the days' UTC bounds, exact across DST changes.
        day = sa.case(
            *(
                (Response.counted_at < bound, sa.literal(d, sa.Date()))
                for d, bound in zip(days, bounds, strict=True)
            ),
        )
    rows = _rolled_answers(
        sa.select(
            day.label("day"),
            Question.kind.label("kind"),
            sa.func.coalesce(Question.dimension, "").label("dimension"),
            sa.func.coalesce(Interaction.business_line_id, 0).label("business_line_id"),
            sa.func.coalesce(Interaction.team_id, 0).label("team_id"),
            sa.func.coalesce(Interaction.agent_id, 0).label("agent_id"),
            Interaction.channel.label("channel"),
            sa.func.coalesce(Response.survey_channel, "").label("survey_channel"),
            sa.func.coalesce(Interaction.category, "").label("category"),
            Interaction.type.label("interaction_type"),
            SurveyVersion.survey_id.label("survey_id"),
            sa.func.coalesce(Interaction.complaint_cause, "").label("cause"),
            Answer.value_int.label("value"),
            _kind_case(TOP_FROM, top=True).label("top"),
            _kind_case(BOTTOM_TO, top=False).label("bottom"),
        )
    ).where(Response.counted_at >= starts[0], Response.counted_at < end)
    # Grouped in an outer query: PostgreSQL cannot tell that a CASE with bound
    # parameters in GROUP BY is the one in the select list.
    inner = rows.subquery("rolled")
    segment = [inner.c.day, *(inner.c[name] for name in SEGMENT_FIELDS)]
    week: sa.ColumnElement[Any]
    month: sa.ColumnElement[Any]
    if native_zones:
        week = sa.cast(sa.func.date_trunc("week", inner.c.day), sa.Date)
        month = sa.cast(sa.func.date_trunc("month", inner.c.day), sa.Date)
    else:
        week = sa.case({d: sa.literal(week_of(d), sa.Date()) for d in days}, value=inner.c.day)
        month = sa.case({d: sa.literal(month_of(d), sa.Date()) for d in days}, value=inner.c.day)
    grouped = (
        sa.select(
            *segment,
            week.label("week"),
            month.label("month"),
            sa.func.count().label("n"),
            sa.func.sum(inner.c.value).label("total"),
            sa.func.sum(inner.c.value * inner.c.value).label("total_sq"),
            sa.func.sum(inner.c.top).label("top"),
            sa.func.sum(inner.c.bottom).label("bottom"),
        )
        .group_by(*segment)
        .order_by(*segment)
    )  # in day order, as coarser_insert says why
    names = ["day", *SEGMENT_FIELDS, "week", "month", *COUNT_COLUMNS]
    return sa.insert(Rollup).from_select(names, grouped)
