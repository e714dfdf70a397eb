"""Read complaint cases and their complaint-handling answers for the complaints figures.

Cases are counted once each (not per post), on the day they were opened in the bank's
zone (a case posted without an opening time counts from its first post). The filters
of the scores API apply to cases as follows (``APPLIES``):

- business line, team, category and cause: the case's own (set by its first post;
  the cause as last assessed);
- agent and interaction channel: a case counts when any of its posts was with that
  agent or on that channel;
- survey and survey channel: the cases are all counted; only the satisfaction
  figures are narrowed to answers to that survey or on that channel.

Interaction type and dimension are no filters here (every case is a complaint, and its
satisfaction is the complaint-handling dimension); asking for them is an error.

``report`` reads the resolved cases from the complaints rollup and adds the open ones up
in SQL (survey.scoring.complaint_open); ``report_from_cases``, for the post filters the
rollup does not keep, reads every case opened in the period (``ix_complaint_case_opened_at``).
What is worked out one by one (cases stamped under other settings, until a restamp) is read
as rows, with one grouped row per case that was answered about, reached by the indexed path
case → post → invitation → response → answer. A period is bounded by the cases opened in
it, not by the history.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import clock, settings, workcal
from survey.extensions import db
from survey.models import (
    Answer,
    ComplaintCase,
    Interaction,
    Invitation,
    Question,
    Response,
    SurveyVersion,
)
from survey.models.interaction import CATEGORIES, CAUSES
from survey.models.response import COUNTED_STATES
from survey.scoring import (
    compare,
    complaint_open,
    complaint_outcomes,
    complaint_rollup,
    complaints,
    queries,
)
from survey.scoring.queries import ScoreQuery
from survey.scoring.rollup import BOTTOM_TO, TOP_FROM

DIMENSION = "complaint_handling"
# The scores API's parameters that apply to complaint cases, and how.
CASE_FILTERS = ("business_line", "team", "category", "cause")
POST_FILTERS = ("agent", "channel")
ANSWER_FILTERS = ("survey", "survey_channel")
APPLIES = CASE_FILTERS + POST_FILTERS + ANSWER_FILTERS
PARAMETERS = ("from", "to", *APPLIES)


def parse(args: dict[str, str]) -> ScoreQuery:
    """Read the days and filters of a complaints request; raise QueryError naming every bad one."""
    errors = [
        {"field": name, "message": _("Not a filter of complaint cases.")}
        for name in args
        if name in queries.FILTER_FIELDS and name not in APPLIES
    ]
    errors += [
        {"field": name, "message": _("Unknown parameter.")}
        for name in args
        if name not in queries.FILTER_FIELDS and name not in PARAMETERS
    ]
    try:
        query = queries.parse({k: v for k, v in args.items() if k in PARAMETERS})
    except queries.QueryError as error:
        errors += error.errors
        query = None
    if errors or query is None:
        raise queries.QueryError(errors)
    return query


def check(query: ScoreQuery) -> list[dict[str, str]]:
    """The errors of a score query (a dashboard page's) that filters cases on what they lack."""
    return [
        {"field": name, "message": _("Not a filter of complaint cases.")}
        for name in query.filters
        if name not in APPLIES
    ]


def limits() -> complaints.Limits:
    """The commitments' limits the admin keeps."""
    return complaints.Limits(
        first_reply_hours=int(settings.get("complaint_first_reply_hours")),
        final_working_days=int(settings.get("complaint_final_working_days")),
        regulator_days=int(settings.get("complaint_regulator_days")),
    )


def report(
    query: ScoreQuery, min_n: int, now: datetime | None = None
) -> complaints.ComplaintReport:
    """Return the complaint figures for the query's days and filters, as they stand at ``now``.

    Resolved cases stamped under today's settings come from the complaints rollup, a few
    rows a day (survey.scoring.complaint_rollup); the cases still open are added up in SQL
    by their outcomes at ``now`` (survey.scoring.complaint_open); any resolved case not
    stamped under today's settings (until a restamp) is worked out one by one. A year
    earlier, only the cases are counted. A filter on the posts' agents or channels, which
    the rollup does not keep, is answered from the cases themselves.
    """
    if any(name in query.filters for name in POST_FILTERS):
        return report_from_cases(query, min_n, now)
    zone = ZoneInfo(settings.bank_zone())
    found_limits, calendar = limits(), workcal.from_settings()
    current = complaint_outcomes.basis(found_limits, calendar)
    ids = _stored_values(query)
    segment = {
        column: tuple("" if v is None else v for v in ids[name])
        for name, column in (
            ("business_line", "business_line_id"),
            ("team", "team_id"),
            ("category", "category"),
            ("cause", "cause"),
        )
        if name in ids
    }
    surveys = tuple(int(v) for v in query.filters["survey"]) if "survey" in query.filters else None
    channels = tuple(query.filters.get("survey_channel", ())) or None
    now = now or clock.now()
    decided, ratings = complaint_rollup.stamped(
        db.session, current, query.date_from, query.date_to, segment, surveys, channels
    )
    conditions = _case_conditions(query, query.date_from, query.date_to, zone, ids)
    unstamped = ComplaintCase.outcomes_basis.is_(None)
    # The open cases add up in SQL at now; the resolved ones never stamped (a restamp is
    # due), and any stamped under other settings while there are any, are worked out one
    # by one (a restamp leaves none).
    still_open, open_ratings = complaint_open.tally(
        [*conditions, unstamped, ComplaintCase.resolved_at.is_(None)],
        found_limits,
        calendar,
        now,
        functools.partial(_answers, query),
    )
    others = [unstamped, ComplaintCase.resolved_at.is_not(None)]
    stale = complaint_rollup.stale_bases(db.session, current)
    if stale:
        others = [sa.or_(sa.and_(*others), ComplaintCase.outcomes_basis != current)]
    live = _cases(query, [*conditions, *others])
    # A year earlier only the number of cases counts: the rollup's, and the others'.
    before_from, before_to = complaints.year_earlier(query.date_from, query.date_to)
    earlier = complaint_rollup.stamped_cases(db.session, current, before_from, before_to, segment)
    not_rolled_up = (
        sa.or_(unstamped, ComplaintCase.outcomes_basis != current) if stale else unstamped
    )
    earlier_total = earlier + _count(query, before_from, before_to, zone, ids, [not_rolled_up])
    return complaints.report(
        live,
        date_from=query.date_from,
        date_to=query.date_to,
        year_earlier_total=earlier_total,
        limits=found_limits,
        calendar=calendar,
        now=now,
        min_n=min_n,
        categories=CATEGORIES,
        causes=CAUSES,
        decided=decided,
        decided_ratings=ratings,
        still_open=still_open,
        open_ratings=open_ratings,
    )


def report_from_cases(
    query: ScoreQuery, min_n: int, now: datetime | None = None
) -> complaints.ComplaintReport:
    """The complaint figures from the cases and answers themselves, not the complaints rollup.

    Resolved cases stamped under today's settings are added up in SQL by their stamps,
    the others worked out one by one; the cost grows with the cases in the period.
    """
    zone = ZoneInfo(settings.bank_zone())
    found_limits, calendar = limits(), workcal.from_settings()
    conditions = _case_conditions(query, query.date_from, query.date_to, zone)
    # Resolved cases stamped under today's settings add up in the database; the others
    # (open ones, whose pending depends on now, and any stamped under other settings) are
    # worked out one by one.
    current = complaint_outcomes.basis(found_limits, calendar)
    stamped = sa.and_(
        ComplaintCase.resolved_at.is_not(None), ComplaintCase.outcomes_basis == current
    )
    unstamped = sa.or_(
        ComplaintCase.resolved_at.is_(None),
        ComplaintCase.outcomes_basis.is_(None),
        ComplaintCase.outcomes_basis != current,
    )
    before_from, before_to = complaints.year_earlier(query.date_from, query.date_to)
    return complaints.report(
        _cases(query, [*conditions, unstamped]),
        date_from=query.date_from,
        date_to=query.date_to,
        year_earlier_total=_count(query, before_from, before_to, zone),
        limits=found_limits,
        calendar=calendar,
        now=now or clock.now(),
        min_n=min_n,
        categories=CATEGORIES,
        causes=CAUSES,
        decided=_decided([*conditions, stamped]),
        decided_ratings=_decided_ratings(query, [*conditions, stamped]),
    )


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _opened_between(first: date, last: date, zone: ZoneInfo) -> Any:
    """Cases opened on these days (the bank's zone); without an opening time, first posted."""
    start, end = _day_start(first, zone), _day_start(last + timedelta(days=1), zone)
    return sa.or_(
        sa.and_(ComplaintCase.opened_at >= start, ComplaintCase.opened_at < end),
        sa.and_(
            ComplaintCase.opened_at.is_(None),
            ComplaintCase.created_at >= start,
            ComplaintCase.created_at < end,
        ),
    )


def _case_conditions(
    query: ScoreQuery,
    first: date,
    last: date,
    zone: ZoneInfo,
    ids: dict[str, tuple[Any, ...]] | None = None,
) -> list[Any]:
    conditions: list[Any] = [_opened_between(first, last, zone)]
    ids = _stored_values(query) if ids is None else ids
    for name, column in (
        ("business_line", ComplaintCase.business_line_id),
        ("team", ComplaintCase.team_id),
        ("category", ComplaintCase.category),
        ("cause", ComplaintCase.cause),
    ):
        if name in ids:
            conditions.append(column.in_(ids[name]))
    for name, column in (("agent", Interaction.agent_id), ("channel", Interaction.channel)):
        if name in ids:
            conditions.append(
                sa.exists().where(
                    Interaction.complaint_case_id == ComplaintCase.id, column.in_(ids[name])
                )
            )
    return conditions


def _stored_values(query: ScoreQuery) -> dict[str, tuple[Any, ...]]:
    """Each filter's values as the tables store them: ids for organisation codes."""
    values: dict[str, tuple[Any, ...]] = {}
    for name, accepted in query.filters.items():
        if name in queries.CODED:
            ids = queries.ids_by_code(name)
            values[name] = tuple(ids[code] for code in accepted if code in ids)
        else:
            values[name] = tuple(accepted)
    return values


def _count(
    query: ScoreQuery,
    first: date,
    last: date,
    zone: ZoneInfo,
    ids: dict[str, tuple[Any, ...]] | None = None,
    more: tuple[Any, ...] | list[Any] = (),
) -> int:
    statement = sa.select(sa.func.count(ComplaintCase.id)).where(
        *_case_conditions(query, first, last, zone, ids), *more
    )
    return int(db.session.scalar(statement) or 0)


def _decided(conditions: list[Any]) -> list[complaints.Decided]:
    """The stamped resolved cases, counted by category, cause, first contact and outcomes."""
    first_contact = ComplaintCase.resolved_first_contact.is_(True)
    keys = (
        ComplaintCase.category,
        ComplaintCase.cause,
        first_contact,
        ComplaintCase.first_reply_outcome,
        ComplaintCase.final_outcome,
        ComplaintCase.regulator_outcome,
    )
    rows = db.session.execute(
        sa.select(sa.func.count(), *keys).where(*conditions).group_by(*keys)
    ).all()
    return [
        complaints.Decided(
            int(cases), category, cause, bool(first), (first_reply, final, regulator)
        )
        for cases, category, cause, first, first_reply, final, regulator in rows
    ]


def _cases(query: ScoreQuery, conditions: list[Any]) -> list[complaints.Case]:
    rows = db.session.execute(
        sa.select(
            ComplaintCase.id,
            ComplaintCase.opened_at,
            ComplaintCase.created_at,
            ComplaintCase.first_reply_at,
            ComplaintCase.resolved_at,
            ComplaintCase.resolved_first_contact,
            ComplaintCase.category,
            ComplaintCase.cause,
        ).where(*conditions)
    ).all()
    if not rows:  # as a rule, once every resolved case is stamped: no answers to look for
        return []
    ratings = _ratings(query, conditions)
    return [
        complaints.Case(
            opened_at=opened or created,
            first_reply_at=first_reply,
            resolved_at=resolved,
            resolved_first_contact=first_contact,
            category=category,
            cause=cause,
            ratings=ratings.get(case_id, compare.EMPTY),
        )
        for case_id, opened, created, first_reply, resolved, first_contact, category, cause in rows
    ]


def _ratings(query: ScoreQuery, case_conditions: list[Any]) -> dict[int, compare.Counts]:
    """Each case's counted complaint-handling 5-point answers: n, Σ, Σ², top, bottom."""
    rows = db.session.execute(_answers(query, case_conditions, Interaction.complaint_case_id)).all()
    return {case_id: _counts(row) for case_id, *row in rows}


def _decided_ratings(
    query: ScoreQuery, case_conditions: list[Any]
) -> dict[tuple[str, str, str], compare.Counts]:
    """The stamped cases' counted complaint-handling answers, by the cases' outcomes."""
    outcomes = (
        ComplaintCase.first_reply_outcome,
        ComplaintCase.final_outcome,
        ComplaintCase.regulator_outcome,
    )
    statement = _answers(query, case_conditions, *outcomes).join(
        ComplaintCase, ComplaintCase.id == Interaction.complaint_case_id
    )
    rows = db.session.execute(statement).all()
    return {(first, final, regulator): _counts(row) for first, final, regulator, *row in rows}


def _counts(row: Any) -> compare.Counts:
    n, total, total_sq, tops, bottoms = row
    return compare.Counts(int(n), int(total), int(total_sq), int(tops), int(bottoms))


def _answers(query: ScoreQuery, case_conditions: list[Any], *keys: Any) -> sa.Select[Any]:
    """The counted complaint-handling 5-point answers to the chosen cases' posts, by ``keys``.

    From the cases opened in the period to their posts, invitations, responses and
    answers, each by an index: never the other way round (SQLite would otherwise start
    from every counted response by state, the whole history).
    """
    value = Answer.value_int
    top = sa.case((value >= TOP_FROM["rating_5"], 1), else_=0)
    bottom = sa.case((value <= BOTTOM_TO["rating_5"], 1), else_=0)
    # Its own complaint_case: not the one _decided_ratings joins outside.
    chosen = sa.select(ComplaintCase.id).where(*case_conditions).correlate(None)
    state = Response.state
    if db.engine.dialect.name == "sqlite":
        state = sa.literal_column(f"+{Response.__tablename__}.state")  # not by its index
    conditions: list[Any] = [
        Interaction.complaint_case_id.in_(chosen),
        Question.kind == "rating_5",
        Question.dimension == DIMENSION,
        state.in_(COUNTED_STATES),
        value.is_not(None),
    ]
    if "survey" in query.filters:
        surveys = tuple(int(v) for v in query.filters["survey"])
        conditions.append(
            Response.survey_version_id.in_(
                sa.select(SurveyVersion.id).where(SurveyVersion.survey_id.in_(surveys))
            )
        )
    if "survey_channel" in query.filters:
        conditions.append(Response.survey_channel.in_(query.filters["survey_channel"]))
    return (
        sa.select(
            *keys,
            sa.func.count(),
            sa.func.sum(value),
            sa.func.sum(value * value),
            sa.func.sum(top),
            sa.func.sum(bottom),
        )
        .select_from(Interaction)
        .join(Invitation, Invitation.interaction_id == Interaction.id)
        .join(Response, Response.invitation_id == Invitation.id)
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .where(*conditions)
        .group_by(*keys)
    )
