"""Keep the Rollup table: one counted response at a time, or all of it rebuilt from answers.

A response counts once (DESIGN.md rule 5): completed, or closed while partial, with
the questions it answered; it counts on the bank's day of ``counted_at``.

A rollup row holds the counts and sums of one kind of scale answer on one day
(in the bank's zone) in one segment. ``apply_response`` adds a response in the
caller's transaction, so a score never counts an answer that was rolled back;
``rebuild`` recomputes everything with set-based SQL, for bulk loads and repairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from survey import settings
from survey.extensions import db
from survey.models import Answer, Interaction, Invitation, Question, Response, Rollup
from survey.models.rollup import SEGMENT_COLUMNS

ROLLED_KINDS = ("rating_5", "nps_0_10", "ces_7")
# An answer counts as "top" at or above, and as "bottom" at or below, these values.
TOP_FROM = {"rating_5": 4, "nps_0_10": 9, "ces_7": 5}
BOTTOM_TO = {"rating_5": 2, "nps_0_10": 6, "ces_7": 3}
COUNT_COLUMNS = ("n", "total", "total_sq", "top", "bottom")

Progress = Callable[[int, int], None]


def local_day(at: datetime, zone: str | None = None) -> date:
    """Return the day in the bank's zone (or the given zone) on which an instant falls."""
    return at.astimezone(ZoneInfo(zone or settings.bank_zone())).date()


def apply_response(response: Response) -> int:
    """Add a counted response's scale answers to the rollup; return how many were added.

    Call it once per response, in the transaction that completes or closes it (the one
    that set its ``counted_at``).
    """
    if response.counted_at is None:
        raise ValueError("only a counted (completed or closed) response is rolled up")
    interaction = response.invitation.interaction
    segment = {
        "day": local_day(response.counted_at),
        "business_line_id": interaction.business_line_id or 0,
        "team_id": interaction.team_id or 0,
        "agent_id": interaction.agent_id or 0,
        "channel": interaction.channel or "",
        "survey_channel": response.survey_channel or "",
        "category": interaction.category or "",
        "interaction_type": interaction.type or "",
    }
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for answer in response.answers:
        kind = answer.question.kind
        if kind not in ROLLED_KINDS or answer.value_int is None:
            continue
        value = answer.value_int
        counts = sums.setdefault(
            (kind, answer.question.dimension or ""), dict.fromkeys(COUNT_COLUMNS, 0)
        )
        counts["n"] += 1
        counts["total"] += value
        counts["total_sq"] += value * value
        counts["top"] += int(value >= TOP_FROM[kind])
        counts["bottom"] += int(value <= BOTTOM_TO[kind])
    rows = [
        {**segment, "kind": kind, "dimension": dimension, **counts}
        for (kind, dimension), counts in sums.items()
    ]
    _upsert(rows)
    return sum(row["n"] for row in rows)


def _upsert(rows: list[dict[str, Any]]) -> None:
    """Insert rows, or add their counts to the rows already there for the same segment."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Rollup.__table__
    statement = insert(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=list(SEGMENT_COLUMNS),
        set_={name: table.c[name] + statement.excluded[name] for name in COUNT_COLUMNS},
    )
    db.session.execute(statement)


# Days one INSERT … SELECT covers. SQLite walks the counted-time index, so small batches cost
# nothing; PostgreSQL prefers hashing whole tables, so it gets fewer, larger batches.
DAYS_PER_BATCH = {"sqlite": 31, "postgresql": 183}


def rebuild(progress: Progress | None = None, days_per_batch: int | None = None) -> int:
    """Empty the rollup and recompute it from every counted response; commit; return the answers counted.

    :param progress: called as ``progress(done, total)`` (answers) after each batch of days.
    :param days_per_batch: how many of the bank's days one INSERT … SELECT covers.
    """
    session = db.session
    dialect = session.get_bind().dialect.name
    days_per_batch = days_per_batch or DAYS_PER_BATCH.get(dialect, 31)
    if dialect == "postgresql":
        # Responses completing meanwhile wait for the rebuild instead of being counted twice or lost.
        session.execute(sa.text("LOCK TABLE rollup IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(sa.delete(Rollup))
    first, last = session.execute(
        sa.select(sa.func.min(Response.counted_at), sa.func.max(Response.counted_at)).where(
            Response.counted_at.is_not(None)
        )
    ).one()
    if first is None:
        session.commit()
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
            progress(done, total)
    session.commit()
    return done


def _batches(first: date, last: date, size: int) -> Iterable[list[date]]:
    day = first
    while day <= last:
        batch = [day + timedelta(days=i) for i in range(size) if day + timedelta(days=i) <= last]
        yield batch
        day = batch[-1] + timedelta(days=1)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which a day begins in a zone (DST-aware)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _rolled_answers(select: sa.Select[Any]) -> sa.Select[Any]:
    """Join a select to the answers that the rollup counts."""
    return (
        select.select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .where(
            Response.counted_at.is_not(None),
            Question.kind.in_(ROLLED_KINDS),
            Answer.value_int.is_not(None),
        )
    )


def _kind_case(limits: dict[str, int], compare: Callable[[Any, int], Any]) -> sa.Case[Any]:
    return sa.case(
        *(
            (sa.and_(Question.kind == kind, compare(Answer.value_int, limit)), 1)
            for kind, limit in limits.items()
        ),
        else_=0,
    )


def _insert_days(days: list[date], zone: ZoneInfo, native_zones: bool = False) -> sa.Insert:
    """Build the INSERT … SELECT … GROUP BY that rolls up the answers completed on some days."""
    starts = [_day_start(day, zone) for day in days]
    end = _day_start(days[-1] + timedelta(days=1), zone)
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
            Response.survey_channel.label("survey_channel"),
            sa.func.coalesce(Interaction.category, "").label("category"),
            Interaction.type.label("interaction_type"),
            Answer.value_int.label("value"),
            _kind_case(TOP_FROM, lambda value, limit: value >= limit).label("top"),
            _kind_case(BOTTOM_TO, lambda value, limit: value <= limit).label("bottom"),
        )
    ).where(Response.counted_at >= starts[0], Response.counted_at < end)
    # Grouped in an outer query: PostgreSQL cannot tell that a CASE with bound
    # parameters in GROUP BY is the one in the select list.
    inner = rows.subquery("rolled")
    segment = [inner.c[name] for name in SEGMENT_COLUMNS]
    grouped = sa.select(
        *segment,
        sa.func.count().label("n"),
        sa.func.sum(inner.c.value).label("total"),
        sa.func.sum(inner.c.value * inner.c.value).label("total_sq"),
        sa.func.sum(inner.c.top).label("top"),
        sa.func.sum(inner.c.bottom).label("bottom"),
    ).group_by(*segment)
    return sa.insert(Rollup).from_select([*SEGMENT_COLUMNS, *COUNT_COLUMNS], grouped)
