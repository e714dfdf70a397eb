"""Keep the rollup tables: one counted response at a time, or all of them rebuilt.

A response counts once (DESIGN.md rule 5): completed, or closed while partial, with
the questions it answered; it counts on the bank's day of ``counted_at``.

A rollup row holds the counts and sums of one kind of scale answer in one period
and segment; there is one table per cuboid (survey.models.rollup.CUBOIDS).
``apply_response`` adds a response to every table in the caller's transaction, so a
score never counts an answer that was rolled back; ``rebuild`` recomputes the finest
table from answers and each coarser one from the finest, with set-based SQL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey import settings
from survey.extensions import db
from survey.models import Answer, Interaction, Invitation, Question, Response, SurveyVersion
from survey.models.rollup import (
    COUNT_COLUMNS,
    CUBOIDS,
    PERIOD_COLUMNS,
    SEGMENT_FIELDS,
    Cuboid,
    Rollup,
)
from survey.scoring import comment_index

ROLLED_KINDS = ("rating_5", "nps_0_10", "ces_7")
# An answer counts as "top" at or above, and as "bottom" at or below, these values.
TOP_FROM = {"rating_5": 4, "nps_0_10": 9, "ces_7": 5}
BOTTOM_TO = {"rating_5": 2, "nps_0_10": 6, "ces_7": 3}

Progress = Callable[[int, int], None]
# Told each table's name, rows and seconds once it is rebuilt.
TableDone = Callable[[str, int, float], None]

__all__ = ["ROLLED_KINDS", "Rollup", "apply_response", "local_day", "rebuild"]


def local_day(at: datetime, zone: str | None = None) -> date:
    """Return the day in the bank's zone (or the given zone) on which an instant falls."""
    return at.astimezone(ZoneInfo(zone or settings.bank_zone())).date()


def week_of(day: date) -> date:
    """Return the Monday of a day's ISO week."""
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    """Return the first day of a day's month."""
    return day.replace(day=1)


def quarter_of(day: date) -> date:
    """Return the first day of a day's calendar quarter (1 January, April, July or October)."""
    return date(day.year, day.month - (day.month - 1) % 3, 1)


def periods(day: date) -> dict[str, date]:
    """Return a day's period columns: the day, its week's Monday, its month's first day."""
    return {"day": day, "week": week_of(day), "month": month_of(day)}


def _segment_select() -> sa.Select[Any]:
    """The counted time, segment and value of each scale answer of one response."""
    return (
        sa.select(
            Response.counted_at,
            Question.kind,
            sa.func.coalesce(Question.dimension, "").label("dimension"),
            sa.func.coalesce(Interaction.business_line_id, 0).label("business_line_id"),
            sa.func.coalesce(Interaction.team_id, 0).label("team_id"),
            sa.func.coalesce(Interaction.agent_id, 0).label("agent_id"),
            Interaction.channel,
            sa.func.coalesce(Response.survey_channel, "").label("survey_channel"),
            sa.func.coalesce(Interaction.category, "").label("category"),
            Interaction.type.label("interaction_type"),
            SurveyVersion.survey_id,
            sa.func.coalesce(Interaction.complaint_cause, "").label("cause"),
            Answer.value_int,
            # Not a segment: whether the complaints rollup has anything to add (None: no).
            Interaction.complaint_case_id,
        )
        .select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .where(
            Answer.response_id == sa.bindparam("response_id"),
            Question.kind.in_(ROLLED_KINDS),
            Answer.value_int.is_not(None),
        )
    )


_RESPONSE_ANSWERS = _segment_select()


def apply_response(response: Response) -> int:
    """Add a counted response's scale answers to every rollup table; return how many were added.

    Call it once per response, in the transaction that completes or closes it (the one
    that set its ``counted_at``): one read of its answers, then one multi-row upsert
    per table (on PostgreSQL one statement for all of them and the comments). Its
    comments go into the comments index in the same transaction
    (survey.scoring.comment_index), and, when its interaction belongs to a complaint
    case, its complaint-handling answers into the complaints rollup
    (survey.scoring.complaint_rollup); a response about no case reads nothing for it.
    """
    session = db.session
    identity = sa.inspect(response).identity
    response_id = identity[0] if identity else response.id
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One round trip: the database indexes the comments, sums the answers and
        # upserts every table itself, and says whether the response is about a case.
        sql, constants = _in_one_statement_sql(connection.dialect)
        added, case_id = connection.exec_driver_sql(
            sql, {**constants, "response_id": response_id, "zone": settings.bank_zone()}
        ).one()
        if case_id is not None:
            _add_complaint(session, response_id)
        if not added:
            _refuse_uncounted(response_id)
        return int(added or 0)
    # Its comments become searchable in the same transaction as its scores count.
    comment_index.add_response(response_id, session)
    found = session.execute(_RESPONSE_ANSWERS, {"response_id": response_id}).mappings().all()
    if not found:
        _refuse_uncounted(response_id)
        return 0
    if found[0]["counted_at"] is None:
        raise ValueError("only a counted (completed or closed) response is rolled up")
    first = found[0]
    if first["complaint_case_id"] is not None:
        _add_complaint(session, response_id)
    day = local_day(first["counted_at"])
    segment = {
        **periods(day),
        "quarter": quarter_of(day),  # which only the quarter tables keep
        **{name: first[name] for name in SEGMENT_FIELDS if name not in ("kind", "dimension")},
    }
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for answer in found:
        kind, value = answer["kind"], answer["value_int"]
        counts = sums.setdefault((kind, answer["dimension"]), dict.fromkeys(COUNT_COLUMNS, 0))
        counts["n"] += 1
        counts["total"] += value
        counts["total_sq"] += value * value
        counts["top"] += int(value >= TOP_FROM[kind])
        counts["bottom"] += int(value <= BOTTOM_TO[kind])
    # In key order, so two transactions upserting the same rows lock them in the same order.
    rows = [
        {**segment, "kind": kind, "dimension": dimension, **counts}
        for (kind, dimension), counts in sorted(sums.items())
    ]
    # Within one response the segment is fixed, so every table gets one row per
    # (kind, dimension): the same counts under a shorter key. Dates go as ISO text
    # (SQLite's driver takes them so), each value picked by its compiled position.
    plain = [{name: _plain(value) for name, value in row.items()} for row in rows]
    for sql, picks in _upserts(connection.dialect, len(rows)):
        connection.exec_driver_sql(sql, tuple(plain[i][name] for i, name in picks))
    return sum(row["n"] for row in rows)


def _add_complaint(session: Session, response_id: int) -> None:
    """An answer about a stamped complaint case counts in the complaints figures."""
    from survey.scoring import complaint_rollup

    complaint_rollup.add_response(session, response_id)


def _refuse_uncounted(response_id: int) -> None:
    counted_at = db.session.scalar(sa.select(Response.counted_at).where(Response.id == response_id))
    if counted_at is None:
        raise ValueError("only a counted (completed or closed) response is rolled up")


_COMPILED: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}


def _in_one_statement_sql(dialect: sa.Dialect) -> tuple[str, dict[str, Any]]:
    """Compile, once, PostgreSQL's apply statement: its SQL and its constant parameters.

    Executed as SQL text (``exec_driver_sql``) rather than as a construct: looking the
    construct up in SQLAlchemy's statement cache and processing its parameters and result
    took about a quarter of a submission's rollup work (0.9 of 3.4 ms). The caller adds
    ``response_id`` and ``zone`` to the constants.
    """
    key = (dialect.name, dialect.driver)
    if key not in _COMPILED:
        statement = _in_one_statement().params(response_id=0, zone="UTC")
        # The IN list of kinds written out as one parameter per kind, as an execution would.
        expanded = statement.compile(dialect=dialect).construct_expanded_state()
        constants = dict(expanded.parameters)
        for name in ("response_id", "zone"):
            constants.pop(name)
        _COMPILED[key] = (expanded.statement, constants)
    return _COMPILED[key]


@functools.cache
def _in_one_statement() -> sa.Select[Any]:
    """Build, once, PostgreSQL's apply: a CTE sums one response's answers, one per table upserts.

    Rows go in key order, so concurrent submissions lock shared rows in the same order.
    Another CTE indexes the response's comments (comment_index's INSERT … SELECT). Returns
    one row: the answers added, and the interaction's complaint case (None: none, or no
    scale answer, so nothing for the complaints rollup either). Parameters:
    ``response_id`` and the bank's ``zone``.
    """
    answered = _RESPONSE_ANSWERS.where(Response.counted_at.is_not(None)).subquery("answered")
    local = sa.func.timezone(sa.bindparam("zone", type_=sa.String()), answered.c.counted_at)
    value = answered.c.value_int
    fields = [answered.c[f] for f in SEGMENT_FIELDS]
    counted = (
        sa.select(
            sa.cast(local, sa.Date).label("day"),
            sa.cast(sa.func.date_trunc("week", local), sa.Date).label("week"),
            sa.cast(sa.func.date_trunc("month", local), sa.Date).label("month"),
            sa.cast(sa.func.date_trunc("quarter", local), sa.Date).label("quarter"),
            *fields,
            sa.func.count().label("n"),
            sa.func.sum(value).label("total"),
            sa.func.sum(value * value).label("total_sq"),
            sa.func.sum(_limit_case(answered.c.kind, value, TOP_FROM, top=True)).label("top"),
            sa.func.sum(_limit_case(answered.c.kind, value, BOTTOM_TO, top=False)).label("bottom"),
            # One response has one interaction: its case, the same on every row.
            sa.func.max(answered.c.complaint_case_id).label("complaint_case_id"),
        )
        # One response has one counted_at: grouping by it groups by its day and its periods.
        .group_by(answered.c.counted_at, *fields)
        .cte("counted")
    )
    statement = sa.select(
        sa.func.coalesce(sa.func.sum(counted.c.n), 0), sa.func.max(counted.c.complaint_case_id)
    ).add_cte(comment_index.add_one().cte("comments"))
    for k, cuboid in enumerate(CUBOIDS):
        key = [counted.c[c] for c in (*PERIOD_COLUMNS[cuboid.grain], *cuboid.fields)]
        rows = (
            sa.select(*key, *(sa.func.sum(counted.c[c]).label(c) for c in COUNT_COLUMNS))
            .group_by(*key)
            .order_by(*key)
        )
        table = cuboid.table
        upsert = postgresql.insert(table).from_select(_columns(cuboid), rows)
        upsert = upsert.on_conflict_do_update(
            index_elements=list(cuboid.key),
            set_={c: table.c[c] + upsert.excluded[c] for c in COUNT_COLUMNS},
        )
        statement = statement.add_cte(upsert.cte(f"t{k}"))
    return statement


def _limit_case(kind: Any, value: Any, limits: dict[str, int], top: bool) -> sa.Case[Any]:
    return sa.case(
        *(
            (sa.and_(kind == name, value >= limit if top else value <= limit), 1)
            for name, limit in limits.items()
        ),
        else_=0,
    )


def _columns(cuboid: Cuboid) -> tuple[str, ...]:
    return (*PERIOD_COLUMNS[cuboid.grain], *cuboid.fields, *COUNT_COLUMNS)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


Compiled = tuple[str, tuple[tuple[int, str], ...]]
_UPSERTS: dict[tuple[str, str, int], list[Compiled]] = {}


def _upserts(dialect: sa.Dialect, count: int) -> list[Compiled]:
    """Compile, once per number of rows, the INSERT … ON CONFLICT that adds counts to each table.

    SQLAlchemy compiles a multi-row VALUES statement anew on every execution (it is not
    cached), which cost more than the database's work; this SQL is compiled once, for a
    positional paramstyle (SQLite's qmark; PostgreSQL applies in one statement instead,
    ``_in_one_statement``). Returns each statement's SQL and, for each of its parameters
    in order, the row (0…count-1) and the column whose value it takes.
    """
    key = (dialect.name, dialect.driver, count)
    if key not in _UPSERTS:
        _UPSERTS[key] = [_compile(dialect, k, cuboid, count) for k, cuboid in enumerate(CUBOIDS)]
    return _UPSERTS[key]


def _compile(dialect: sa.Dialect, k: int, cuboid: Cuboid, count: int) -> Compiled:
    table = cuboid.table
    picks = {f"t{k}_{c}_{i}": (i, c) for c in _columns(cuboid) for i in range(count)}
    statement = sqlite.insert(table).values(
        [{c: sa.bindparam(f"t{k}_{c}_{i}") for c in _columns(cuboid)} for i in range(count)]
    )
    statement = statement.on_conflict_do_update(
        index_elements=list(cuboid.key),
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    )
    compiled = statement.compile(dialect=dialect)
    if not compiled.positional:  # PostgreSQL never comes here (see apply_response)
        raise NotImplementedError(f"{dialect.name}: rollups are applied in one statement there")
    return str(compiled), tuple(picks[name] for name in compiled.positiontup)


def rebuild(
    progress: Progress | None = None,
    days_per_batch: int | None = None,
    *,
    tables: TableDone | None = None,
    session: Session | None = None,
    only: Collection[str] | None = None,
) -> int:
    """Empty every rollup table and recompute it; commit; return the answers counted.

    The finest table is recomputed from every counted response, a batch of days at a
    time; each coarser one from the finest with one INSERT … SELECT … GROUP BY.

    :param progress: called as ``progress(done, total)`` (answers) after each batch of days.
    :param days_per_batch: how many of the bank's days one INSERT … SELECT covers.
    :param tables: called as ``tables(name, rows, seconds)`` as each table is done.
    :param session: the session to work in (a migration's); the app's by default.
    :param only: the names of the tables to rebuild (the finest, which the others are summed
        from, always is); every table by default. A migration names the tables of its own
        revision, where later ones do not exist yet.
    """
    from survey.scoring import rebuilding

    cuboids = CUBOIDS if only is None else tuple(c for c in CUBOIDS if c.name in only)
    return rebuilding.rebuild_all(
        session or db.session, progress, days_per_batch, tables or (lambda *_: None), cuboids
    )
