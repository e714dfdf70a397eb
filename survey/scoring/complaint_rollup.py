"""Keep and read the complaints rollup: stamped cases and their answers, added up by day.

A resolved case stamped with its outcomes (survey.scoring.complaint_outcomes) counts in
``complaint_rollup`` (survey.models.complaint_rollup) under its stamp's basis, the day it
was opened in the bank's zone, its segment and its outcomes; its counted complaint-handling
answers count there too. Exact, and counted once (DESIGN.md rule 5), because every change
is made in the transaction that makes it:

- ``move``: a post changes a case's key (resolves it, or re-assesses its cause or its
  first-contact resolution): the case and every answer about it leave the old key and
  join the new one (survey.dispatch.cases);
- ``add_response``: a counted response about a stamped case adds its answers
  (survey.scoring.rollup.apply_response);
- ``rebuild``: everything again from the cases and answers (``survey rollup rebuild``, and
  after a restamp: the settings service, ``survey rollup restamp-complaints``, the demo).

The complaints figures read the rows of the current basis for the period's days
(``stamped``) and work out the rest (open cases, and any stamped under other settings)
one by one: the cost of a period grows with its days, not with the history.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey import settings
from survey.models import (
    Answer,
    ComplaintCase,
    ComplaintRollup,
    Interaction,
    Invitation,
    Question,
    Response,
    SurveyVersion,
)
from survey.models.complaint_rollup import COUNT_COLUMNS, KEY_COLUMNS
from survey.models.response import COUNTED_STATES
from survey.scoring import compare, complaints
from survey.scoring.rollup import BOTTOM_TO, TOP_FROM

DIMENSION = "complaint_handling"
# A stamped case's place in the rollup: basis, day, business line, team, category, cause,
# first contact (0/1) and its three outcomes (KEY_COLUMNS but the survey and its channel).
Key = tuple[str, date, int, int, str, str, int, str, str, str]
# Counts by stored key (KEY_COLUMNS), in COUNT_COLUMNS order.
Sums = dict[tuple[Any, ...], list[int]]
# What rebuild inserts at a time.
BATCH = 2000

CASE_FACTS = (
    ComplaintCase.outcomes_basis,
    ComplaintCase.opened_at,
    ComplaintCase.created_at,
    ComplaintCase.business_line_id,
    ComplaintCase.team_id,
    ComplaintCase.category,
    ComplaintCase.cause,
    ComplaintCase.resolved_first_contact,
    ComplaintCase.first_reply_outcome,
    ComplaintCase.final_outcome,
    ComplaintCase.regulator_outcome,
)
_VALUE = Answer.value_int
_TOP, _BOTTOM = TOP_FROM["rating_5"], BOTTOM_TO["rating_5"]
_SUMS = (
    sa.func.count(),
    sa.func.sum(_VALUE),
    sa.func.sum(_VALUE * _VALUE),
    sa.func.sum(sa.case((_VALUE >= _TOP, 1), else_=0)),
    sa.func.sum(sa.case((_VALUE <= _BOTTOM, 1), else_=0)),
)
_ANSWERED_IN = (SurveyVersion.survey_id, sa.func.coalesce(Response.survey_channel, ""))
# The answers the complaints figures count (as survey.scoring.complaint_cases does).
_COUNTED = (
    Question.kind == "rating_5",
    Question.dimension == DIMENSION,
    Response.state.in_(COUNTED_STATES),
    _VALUE.is_not(None),
)


def _answers_of_cases(*columns: Any) -> sa.Select[Any]:
    return (
        sa.select(*columns, *_ANSWERED_IN, *_SUMS)
        .select_from(ComplaintCase)
        .join(Interaction, Interaction.complaint_case_id == ComplaintCase.id)
        .join(Invitation, Invitation.interaction_id == Interaction.id)
        .join(Response, Response.invitation_id == Invitation.id)
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
        .where(*_COUNTED)
        .group_by(*columns, *_ANSWERED_IN)
    )


# One case's counted answers, by survey and survey channel.
_CASE_ANSWERS = _answers_of_cases().where(ComplaintCase.id == sa.bindparam("case_key"))
# One response's counted answers with its stamped case's facts (nothing for any other).
_RESPONSE_ANSWERS = _answers_of_cases(*CASE_FACTS).where(
    Answer.response_id == sa.bindparam("response_key"),
    ComplaintCase.outcomes_basis.is_not(None),
)


def key_of(
    basis: str | None,
    opened_at: datetime | None,
    created_at: datetime | None,
    business_line_id: int | None,
    team_id: int | None,
    category: str | None,
    cause: str | None,
    resolved_first_contact: bool | None,
    first_reply_outcome: str | None,
    final_outcome: str | None,
    regulator_outcome: str | None,
    zone: ZoneInfo,
) -> Key | None:
    """A case's key from its facts (as ``CASE_FACTS`` lists them); None: not stamped."""
    opened = opened_at or created_at
    if (
        basis is None
        or opened is None
        or None
        in (
            first_reply_outcome,
            final_outcome,
            regulator_outcome,
        )
    ):
        return None
    return (
        basis,
        _aware(opened).astimezone(zone).date(),
        business_line_id or 0,
        team_id or 0,
        category or "",
        cause or "",
        int(resolved_first_contact is True),
        str(first_reply_outcome),
        str(final_outcome),
        str(regulator_outcome),
    )


def case_key(case: ComplaintCase) -> Key | None:
    """Where a case counts in the rollup as it stands in the session (None: nowhere)."""
    return key_of(*(getattr(case, c.key) for c in CASE_FACTS), zone=_zone())


def move(session: Session, case_id: int | None, before: Key | None, after: Key | None) -> None:
    """Move a case, and its counted answers, from one key to another (None: not counted)."""
    if before == after:
        return
    with session.no_autoflush:
        answers = (
            [] if case_id is None else session.execute(_CASE_ANSWERS, {"case_key": case_id}).all()
        )
        sums: Sums = {}
        _moved(sums, before, after, answers)
        _upsert(session, sums)


def move_cases(session: Session, moves: dict[int, tuple[Key | None, Key | None]]) -> None:
    """Move cases, and their counted answers, each from its first key to its second.

    One read of every moved case's answers and one upsert (in chunks) for them all: the
    restamp's batch (survey.scoring.complaint_outcomes.restamp).
    """
    moved = sorted(case_id for case_id, (before, after) in moves.items() if before != after)
    if not moved:
        return
    answers: dict[int, list[Any]] = {case_id: [] for case_id in moved}
    for case_id, *answered in session.execute(
        _answers_of_cases(ComplaintCase.id).where(ComplaintCase.id.in_(moved))
    ):
        answers[case_id].append(answered)
    sums: Sums = {}
    for case_id in moved:
        _moved(sums, *moves[case_id], answers[case_id])
    _upsert(session, sums)


def _moved(sums: Sums, before: Key | None, after: Key | None, answers: Iterable[Any]) -> None:
    """Add to ``sums`` a case leaving ``before`` and joining ``after``, with its answers."""
    answers = list(answers)
    for key, sign in ((before, -1), (after, 1)):
        if key is None:
            continue
        _add(sums, key, 0, "", (sign, 0, 0, 0, 0, 0))
        for survey_id, channel, *counts in answers:
            _add(sums, key, survey_id, channel, (0, *(sign * int(v) for v in counts)))


def add_response(session: Session, response_id: int) -> None:
    """Add a just counted response's complaint-handling answers, if its case is stamped."""
    found = session.execute(_RESPONSE_ANSWERS, {"response_key": response_id}).all()
    zone = _zone()
    sums: Sums = {}
    for row in found:
        key = key_of(*row[: len(CASE_FACTS)], zone=zone)
        survey_id, channel, *counts = row[len(CASE_FACTS) :]
        if key is not None:
            _add(sums, key, survey_id, channel, (0, *(int(v) for v in counts)))
    _upsert(session, sums)


def rebuild(session: Session, zone: str | None = None) -> int:
    """Empty the complaints rollup and add up every stamped case again; return the cases.

    :param zone: the bank's zone (a migration passes its own; the app's by default).

    The cases and their answers are read in the order they were opened, so the day rows
    are added up a few days at a time (at most about ``BATCH`` keys held), and the month
    rows are then summed from the day rows on the server: what is held does not grow with
    the history (issue 11).
    """
    table = ComplaintRollup.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Posts and answers arriving meanwhile wait instead of being counted twice or lost.
        session.execute(sa.text(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(sa.delete(table))
    found = ZoneInfo(zone or settings.bank_zone())
    stamped = ComplaintCase.outcomes_basis.is_not(None)
    in_order = (
        sa.func.coalesce(ComplaintCase.opened_at, ComplaintCase.created_at),
        ComplaintCase.id,
    )
    days = _DaySums(session)
    cases = 0
    counted = sa.select(*CASE_FACTS).where(stamped).order_by(*in_order)
    for row in session.execute(counted.execution_options(yield_per=BATCH)):
        key = key_of(*row, zone=found)
        if key is not None:
            days.add(key, 0, "", (1, 0, 0, 0, 0, 0))
            cases += 1
    answered = _answers_of_cases(ComplaintCase.id, *CASE_FACTS).where(stamped).order_by(*in_order)
    for row in session.execute(answered.execution_options(yield_per=BATCH)):
        key = key_of(*row[1 : 1 + len(CASE_FACTS)], zone=found)
        survey_id, channel, *counts = row[1 + len(CASE_FACTS) :]
        if key is not None:
            days.add(key, survey_id, channel, (0, *(int(v) for v in counts)))
    days.write()
    session.execute(_months_from_days(dialect))
    return cases


class _DaySums:
    """Counts by day-grain key, written (added to the stored rows) a few days at a time.

    Rows come in the order their cases were opened, so a day's keys are complete once a
    later day is seen; writing adds (an upsert) all the same, so a day seen again, or a
    case and its answers read in two passes, still count exactly.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sums: Sums = {}
        self.day: date | None = None

    def add(self, key: Key, survey_id: int, channel: str, counts: Iterable[int]) -> None:
        basis, day, *segment = key
        if day != self.day:
            if len(self.sums) >= BATCH:
                self.write()
            self.day = day
        stored = (basis, "day", day, *segment, survey_id, channel)
        kept = self.sums.setdefault(stored, [0] * len(COUNT_COLUMNS))
        for i, value in enumerate(counts):
            kept[i] += value

    def write(self) -> None:
        _upsert(self.session, self.sums)
        self.sums = {}


def _months_from_days(dialect: str) -> sa.Insert:
    """Add up the day rows into month rows (the day column: the month's first day)."""
    table = ComplaintRollup.__table__
    day = table.c.day
    month: sa.ColumnElement[Any]
    if dialect == "postgresql":
        month = sa.cast(sa.func.date_trunc("month", sa.cast(day, sa.DateTime)), sa.Date)
    else:
        month = sa.func.date(day, "start of month")
    segment = [table.c[c] for c in KEY_COLUMNS[3:]]
    grouped = (
        sa.select(
            table.c.basis,
            sa.literal("month", sa.String()),
            month.label("month"),
            *segment,
            *(sa.func.sum(table.c[c]) for c in COUNT_COLUMNS),
        )
        .where(table.c.grain == "day")
        .group_by(table.c.basis, month, *segment)
    )
    return sa.insert(table).from_select([*KEY_COLUMNS, *COUNT_COLUMNS], grouped)


def forget_other_bases(session: Session, current: str) -> None:
    """Remove the rows of other bases than ``current`` once no case counts under them."""
    table = ComplaintRollup.__table__
    if session.get_bind().dialect.name == "postgresql":
        # A post stamping a case under an old basis meanwhile waits, then counts anew.
        session.execute(sa.text(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE"))
    else:  # the write lock first, so the check below and the delete see the same cases
        session.execute(sa.delete(table).where(sa.false()))
    stale = sa.select(ComplaintCase.id).where(
        ComplaintCase.outcomes_basis.is_not(None), ComplaintCase.outcomes_basis != current
    )
    if session.scalar(stale.limit(1)) is None:
        session.execute(sa.delete(table).where(table.c.basis != current))


def stale_bases(session: Session, current: str) -> bool:
    """Whether any case counts under another basis than ``current`` (two probes of the key)."""
    basis = ComplaintRollup.basis
    for other in (basis < current, basis > current):
        if session.scalar(sa.select(basis).where(other).limit(1)) is not None:
            return True
    return False


def stamped(
    session: Session,
    current: str,
    first: date,
    last: date,
    segment: dict[str, Sequence[Any]],
    survey_ids: Sequence[int] | None,
    survey_channels: Sequence[str] | None,
) -> tuple[list[complaints.Decided], dict[tuple[str, str, str], compare.Counts]]:
    """The stamped cases opened on these days, by their facts, and their answers by outcomes.

    :param segment: the case filters, as the rollup stores them (ids; '' for none).
    :param survey_ids: only answers to these surveys count (None: any).
    :param survey_channels: only answers on these survey channels count (None: any).
    """
    r = ComplaintRollup
    answered: list[Any] = []
    if survey_ids is not None:
        answered.append(r.survey_id.in_(survey_ids))
    if survey_channels is not None:
        answered.append(r.survey_channel.in_(survey_channels))
    # A row counting cases has no answers: only the answer rows need narrowing.
    answers = [
        sa.case((sa.and_(*answered), r.__table__.c[c]), else_=0).label(c)
        if answered
        else r.__table__.c[c]
        for c in COUNT_COLUMNS[1:]
    ]
    keys = (
        r.category,
        r.cause,
        r.first_contact,
        r.first_reply_outcome,
        r.final_outcome,
        r.regulator_outcome,
    )
    rows = _rows_of(current, first, last, segment, (*keys, r.cases, *answers)).subquery("rows")
    grouped = [rows.c[key.key] for key in keys]
    statement = sa.select(*grouped, *(sa.func.sum(rows.c[c]) for c in COUNT_COLUMNS)).group_by(
        *grouped
    )
    decided: list[complaints.Decided] = []
    ratings: dict[tuple[str, str, str], compare.Counts] = {}
    for category, cause, first_contact, o1, o2, o3, cases, *sums in session.execute(statement):
        outcomes = (o1, o2, o3)
        if int(cases or 0):
            decided.append(
                complaints.Decided(
                    int(cases), category or None, cause or None, bool(first_contact), outcomes
                )
            )
        counts = compare.Counts(*(int(v or 0) for v in sums))
        if counts.n:
            ratings[outcomes] = ratings.get(outcomes, compare.EMPTY) + counts
    return decided, ratings


def stamped_cases(
    session: Session, current: str, first: date, last: date, segment: dict[str, Sequence[Any]]
) -> int:
    """How many stamped cases were opened on these days (a year earlier's, say): their rows only."""
    r = ComplaintRollup
    rows = _rows_of(current, first, last, segment, (r.cases,), r.survey_id == 0).subquery("rows")
    return int(session.scalar(sa.select(sa.func.sum(rows.c.cases))) or 0)


def _rows_of(
    current: str,
    first: date,
    last: date,
    segment: dict[str, Sequence[Any]],
    columns: Sequence[Any],
    *more: Any,
) -> sa.CompoundSelect:
    """The rows of the current basis covering the days first…last, in the segment.

    One branch per range, each a range of the unique key (basis, grain, day): SQLite
    would read all of a basis' rows for an OR of the ranges.
    """
    r = ComplaintRollup
    return sa.union_all(
        *(
            sa.select(*columns).where(
                r.basis == current,
                r.grain == grain,
                r.day >= start,
                r.day <= end,
                *(r.__table__.c[name].in_(values) for name, values in segment.items()),
                *more,
            )
            for grain, start, end in periods(first, last)
        )
    )


def periods(first: date, last: date) -> list[tuple[str, date, date]]:
    """Cover the days first…last with month rows for whole months and day rows for the rest.

    Returns (grain, first, last) ranges of the stored ``day`` column (a month's first day).
    """
    month_first = first if first.day == 1 else _next_month(first)
    after_last = _next_month(last)  # the first of the month after last's
    month_last = after_last if last == after_last - timedelta(days=1) else last.replace(day=1)
    # Months month_first … (month_last excluded) are whole inside the range.
    if month_first >= month_last:
        return [("day", first, last)]
    found = [("month", month_first, _previous_month(month_last))]
    if first < month_first:
        found.append(("day", first, month_first - timedelta(days=1)))
    if month_last <= last:
        found.append(("day", month_last, last))
    return found


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _add(sums: Sums, key: Key, survey_id: int, channel: str, counts: Iterable[int]) -> None:
    """Add counts under a key, at both grains: its day, and its month (the day its first)."""
    basis, day, *segment = key
    added = list(counts)
    for grain, period in (("day", day), ("month", day.replace(day=1))):
        stored = (basis, grain, period, *segment, survey_id, channel)
        kept = sums.setdefault(stored, [0] * len(COUNT_COLUMNS))
        for i, value in enumerate(added):
            kept[i] += value


def _rows(sums: Sums) -> list[dict[str, Any]]:
    # In key order, so two transactions adding to the same rows lock them in the same order.
    return [
        dict(zip((*KEY_COLUMNS, *COUNT_COLUMNS), (*key, *counts), strict=True))
        for key, counts in sorted(sums.items(), key=lambda item: tuple(map(str, item[0])))
    ]


def _upsert(session: Session, sums: Sums) -> None:
    if not sums:
        return
    # One statement for every call, its rows as parameter sets: compiled once and cached
    # (a multi-row VALUES is compiled anew each time: most of a 500-case restamp batch).
    session.execute(_upsert_statement(session.get_bind().dialect.name), _rows(sums))


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    table = ComplaintRollup.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    )


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.bank_zone())


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
