"""Drivers: which dimensions are most closely associated with overall satisfaction.

Per response, each dimension's 5-point answer is paired with the same response's
overall 5-point answer; Pearson's r over those pairs, with its n and 95% Fisher-z
interval, is that dimension's association. It is a correlation, not a cause.

Unlike the scores this reads answers (a correlation needs the pairs), so it is
bounded and cached: at most the latest ``LIMIT`` counted responses matching the
filters are read, by one GROUP BY that returns six sums per dimension, and the
result is kept in the process until new answers are counted (a cheap watermark
on the response table says so).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from survey import settings
from survey.extensions import db
from survey.models import Answer, Interaction, Invitation, Question, Response, SurveyVersion
from survey.models.survey import DIMENSIONS
from survey.scoring import formulas, queries, stats
from survey.scoring.queries import ScoreQuery

# The latest counted responses a drivers request reads, at most.
LIMIT = 200_000
# Distinct filter sets one process keeps results for.
CACHE_SIZE = 128
# How much earlier than the latest count a count may be stamped and still be seen
# (a transaction that stamped its time and committed after another's): far longer
# than any transaction, far shorter than the history a full count would walk.
RECENT = timedelta(hours=1)
OVERALL = "overall"
RATED_DIMENSIONS = tuple(d for d in DIMENSIONS if d != OVERALL)

# Each filter of queries.parse() and the column of a response's rows it reads. A new
# filter is one line here (tests/test_drivers.py checks none is missing).
FILTER_COLUMNS: dict[str, Any] = {
    "business_line": Interaction.business_line_id,
    "team": Interaction.team_id,
    "agent": Interaction.agent_id,
    "channel": Interaction.channel,
    "survey_channel": Response.survey_channel,
    "category": Interaction.category,
    "type": Interaction.type,
    "cause": Interaction.complaint_cause,
    # Surveys are asked by id; a response names the version it answered (see _conditions).
    "survey": Response.survey_version_id,
}
# Not a filter of responses: which dimensions to report.
DIMENSION_FILTER = "dimension"


@dataclass(frozen=True)
class Driver:
    """One dimension's association with overall satisfaction; r is None when it cannot be told."""

    dimension: str
    n: int
    r: float | None
    r_low: float | None
    r_high: float | None


@dataclass(frozen=True)
class Drivers:
    """The drivers on some filters, and how many responses they were read from."""

    n_responses: int
    drivers: tuple[Driver, ...]


@dataclass(frozen=True)
class Watermark:
    """What changes whenever a response is counted, read from indexes without a scan.

    ``last_counted_at`` moves with every count stamped now (completions, closings);
    ``last_id`` with every response inserted already counted (a bulk load with past
    times); ``recent`` counts the responses counted within ``RECENT`` of the latest,
    so that a count stamped a little earlier but committed later (two workers) is seen.
    """

    last_counted_at: datetime | None
    last_id: int | None
    recent: int


class _Cache:
    """A bounded, thread-safe map from a filter set to (watermark, result), least recently used out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Watermark, Drivers]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, watermark: Watermark) -> Drivers | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != watermark:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, watermark: Watermark, result: Drivers) -> None:
        with self._lock:
            self._entries[key] = (watermark, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def _cache() -> _Cache:
    """The app's cache: one per app (per process in production, per test app in tests)."""
    cache = current_app.extensions.get("survey.drivers")
    if cache is None:
        cache = current_app.extensions.setdefault("survey.drivers", _Cache(CACHE_SIZE))
    return cache


def watermark() -> Watermark:
    """Read the watermark: two index look-ups and a count over the latest ``RECENT`` of counts."""
    counted = Response.counted_at.is_not(None)
    last, last_id = db.session.execute(
        sa.select(
            sa.select(sa.func.max(Response.counted_at)).where(counted).scalar_subquery(),
            sa.select(sa.func.max(Response.id)).where(counted).scalar_subquery(),
        )
    ).one()
    recent = 0
    if last is not None:
        recent = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Response)
            .where(Response.counted_at >= last - RECENT)
        )
    return Watermark(last, last_id, int(recent or 0))


def drivers(query: ScoreQuery, min_n: int, limit: int = LIMIT) -> Drivers:
    """Return each dimension's correlation with the overall rating on the query's days and filters.

    Read from the cache while no response has been counted since; otherwise from the
    answers of the latest ``limit`` counted responses matching the filters. A dimension's r
    is None below max(4, min_n) pairs or when either rating does not vary.
    """
    key = (
        query.date_from,
        query.date_to,
        tuple(sorted((name, tuple(sorted(values))) for name, values in query.filters.items())),
        settings.bank_zone(),
        min_n,
        limit,
    )
    # The watermark is read before the answers: a response counted in between is in the
    # result but not in the mark, so the next request recomputes (never the other way).
    mark = watermark()
    cached = _cache().get(key, mark)
    if cached is not None:
        return cached
    result = _compute(query, min_n, limit)
    _cache().put(key, mark, result)
    return result


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _conditions(query: ScoreQuery) -> list[Any]:
    zone = ZoneInfo(settings.bank_zone())
    conditions: list[Any] = [
        Response.counted_at >= _day_start(query.date_from, zone),
        Response.counted_at < _day_start(query.date_to + timedelta(days=1), zone),
    ]
    for name, values in query.filters.items():
        if name == DIMENSION_FILTER:
            continue
        if name in queries.CODED:
            model = queries.CODED[name]
            values = tuple(db.session.scalars(sa.select(model.id).where(model.code.in_(values))))
        elif name == "survey":
            surveys = tuple(int(value) for value in values)
            conditions.append(
                Response.survey_version_id.in_(
                    sa.select(SurveyVersion.id).where(SurveyVersion.survey_id.in_(surveys))
                )
            )
            continue
        conditions.append(FILTER_COLUMNS[name].in_(values))
    return conditions


def _compute(query: ScoreQuery, min_n: int, limit: int) -> Drivers:
    latest = sa.select(Response.id.label("response_id"))
    filtered = [FILTER_COLUMNS[name] for name in query.filters if name != DIMENSION_FILTER]
    if any(getattr(column, "table", None) is not Response.__table__ for column in filtered):
        # Only a filter on the interaction (or invitation) needs their rows.
        latest = latest.join(Invitation, Response.invitation_id == Invitation.id).join(
            Interaction, Invitation.interaction_id == Interaction.id
        )
    latest = (
        latest.where(*_conditions(query))
        .order_by(Response.counted_at.desc(), Response.id.desc())
        .limit(limit)
        .cte("latest")
    )
    dimensions = query.filters.get(DIMENSION_FILTER) or RATED_DIMENSIONS
    dimensions = tuple(d for d in dimensions if d != OVERALL)

    overall_answer, overall_question = aliased(Answer), aliased(Question)
    answer, question = aliased(Answer), aliased(Question)
    x = answer.value_int
    y = overall_answer.value_int
    sums = (
        sa.select(
            question.dimension,
            sa.func.count(),
            sa.func.sum(x),
            sa.func.sum(y),
            sa.func.sum(x * x),
            sa.func.sum(y * y),
            sa.func.sum(x * y),
        )
        .select_from(latest)
        .join(overall_answer, overall_answer.response_id == latest.c.response_id)
        .join(overall_question, overall_question.id == overall_answer.question_id)
        .join(answer, answer.response_id == latest.c.response_id)
        .join(question, question.id == answer.question_id)
        .where(
            overall_question.kind == "rating_5",
            overall_question.dimension == OVERALL,
            overall_answer.value_int.is_not(None),
            question.kind == "rating_5",
            question.dimension.in_(dimensions),
            answer.value_int.is_not(None),
        )
        .group_by(question.dimension)
    )
    # The responses read, counted in the same statement: the latest set is found once.
    nulls = [sa.null()] * 5
    read = sa.select(sa.literal(None, sa.String).label("dimension"), sa.func.count(), *nulls)
    statement = sa.union_all(sums, read.select_from(latest))
    found = {}
    n_responses = 0
    for row in db.session.execute(statement):
        if row[0] is None:
            n_responses = int(row[1])
        else:
            found[row[0]] = [int(v or 0) for v in row[1:]]
    result = []
    for dimension in dimensions:
        n, *moments = found.get(dimension, [0, 0, 0, 0, 0, 0])
        correlation = stats.pearson(n, *moments) if formulas.enough(n, min_n) else None
        result.append(
            Driver(
                dimension,
                n,
                correlation.r if correlation else None,
                correlation.low if correlation else None,
                correlation.high if correlation else None,
            )
        )
    # Strongest association first; the ones that cannot be told last, in the usual order.
    result.sort(key=lambda d: (d.r is None, -(d.r or 0.0)))
    return Drivers(int(n_responses), tuple(result))
