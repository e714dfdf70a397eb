"""The rows of each export: a scores table, or one row per counted response."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import masking, settings
from survey.extensions import db
from survey.models import (
    Agent,
    Answer,
    BusinessLine,
    Choice,
    Interaction,
    Invitation,
    Question,
    Response,
    Survey,
    SurveyVersion,
    Team,
)
from survey.scoring import queries
from survey.scoring.queries import ScoreQuery

# Responses read per statement: memory holds one batch and its answers, whatever the total.
BATCH = 1000
SCORE_FIELDS = (
    "n",
    "csat",
    "csat_low",
    "csat_high",
    "mean",
    "mean_low",
    "mean_high",
    "nps_n",
    "nps",
    "nps_moe",
    "ces_n",
    "ces",
)


def score_table(query: ScoreQuery) -> tuple[list[str], list[list[Any]]]:
    """Return the header and rows of the scores the API gives for the same query."""
    groups = queries.scores(query, int(settings.get("min_n")))
    extra: list[str] = []
    for group in groups:
        for name in _flat(group):
            if name not in SCORE_FIELDS and not name.startswith("key.") and name not in extra:
                extra.append(name)
    header = [*query.group_by, *SCORE_FIELDS, *extra]
    rows = []
    for group in groups:
        flat = _flat(group)
        rows.append(
            [group["key"].get(name) for name in query.group_by]
            + [flat.get(name) for name in (*SCORE_FIELDS, *extra)]
        )
    return header, rows


def _flat(group: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested comparison fields as dotted columns (``previous.csat``)."""
    flat: dict[str, Any] = {}
    for name, value in group.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        elif not isinstance(value, list):
            flat[f"{prefix}{name}"] = value
    return flat


SEGMENT_HEADER = (
    ("response", lambda: _("Response")),
    ("counted_at", lambda: _("Counted at (bank time)")),
    ("state", lambda: _("State")),
    ("survey", lambda: _("Survey")),
    ("survey_name", lambda: _("Survey name")),
    ("version", lambda: _("Version")),
    ("survey_channel", lambda: _("Survey channel")),
    ("business_line", lambda: _("Business line")),
    ("team", lambda: _("Team")),
    ("agent", lambda: _("Agent")),
    ("channel", lambda: _("Interaction channel")),
    ("type", lambda: _("Interaction type")),
    ("category", lambda: _("Category")),
    ("cause", lambda: _("Complaint cause")),
)


def response_header(query: ScoreQuery) -> tuple[list[str], list[str]]:
    """Return the column titles and the question keys, one column per key, in key order."""
    keys = db.session.scalars(
        sa.select(Question.key)
        .join(SurveyVersion, Question.version_id == SurveyVersion.id)
        .where(*_survey_condition(query))
        .distinct()
        .order_by(Question.key)
    ).all()
    titles = [title() for _name, title in SEGMENT_HEADER]
    return titles + list(keys), list(keys)


def response_rows(query: ScoreQuery, keys: list[str], batch: int = BATCH) -> Iterator[list[Any]]:
    """Yield one row per counted response in the query's days and segments, a batch at a time.

    Keyset pagination on the response id: each batch is one bounded read of responses and
    one of their answers, so memory stays flat however many responses match.
    """
    zone = ZoneInfo(settings.bank_zone())
    conditions = _response_conditions(query, zone)
    column = {key: i for i, key in enumerate(keys)}
    after = 0
    while True:
        found = db.session.execute(
            _RESPONSES.where(Response.id > after, *conditions).order_by(Response.id).limit(batch)
        ).all()
        if not found:
            return
        after = found[-1].id
        answers = _answers([r.id for r in found])
        for row in found:
            values: list[Any] = [None] * len(keys)
            for key, value in answers.get(row.id, ()):
                if key in column:
                    values[column[key]] = value
            yield [
                row.id,
                row.counted_at.astimezone(zone).replace(tzinfo=None),
                row.state,
                row.survey_id,
                row.survey_name,
                row.version,
                row.survey_channel,
                row.business_line,
                row.team,
                row.agent,
                row.channel,
                row.type,
                row.category,
                row.cause,
                *values,
            ]
        if len(found) < batch:
            return


def response_count(query: ScoreQuery) -> int:
    """Return how many rows ``response_rows`` would yield for the query (one counting read)."""
    conditions = _response_conditions(query, ZoneInfo(settings.bank_zone()))
    counted = _RESPONSES.with_only_columns(sa.func.count(Response.id)).where(*conditions)
    return int(db.session.scalar(counted) or 0)


def _response_conditions(query: ScoreQuery, zone: ZoneInfo) -> list[Any]:
    """Counted in the query's days (the bank's zone), in its segments."""
    start = datetime.combine(query.date_from, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(query.date_to + timedelta(days=1), time.min, tzinfo=zone)
    return [
        Response.counted_at.is_not(None),
        Response.counted_at >= start,
        Response.counted_at < end.astimezone(UTC),
        *_segment_conditions(query),
    ]


_RESPONSES = (
    sa.select(
        Response.id,
        Response.counted_at,
        Response.state,
        SurveyVersion.survey_id,
        Survey.name.label("survey_name"),
        SurveyVersion.number.label("version"),
        Response.survey_channel,
        BusinessLine.code.label("business_line"),
        Team.code.label("team"),
        Agent.code.label("agent"),
        Interaction.channel,
        Interaction.type,
        Interaction.category,
        Interaction.complaint_cause.label("cause"),
    )
    .select_from(Response)
    .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
    .join(Survey, SurveyVersion.survey_id == Survey.id)
    .join(Invitation, Response.invitation_id == Invitation.id)
    .join(Interaction, Invitation.interaction_id == Interaction.id)
    .outerjoin(BusinessLine, Interaction.business_line_id == BusinessLine.id)
    .outerjoin(Team, Interaction.team_id == Team.id)
    .outerjoin(Agent, Interaction.agent_id == Agent.id)
)


def _answers(response_ids: list[int]) -> dict[int, list[tuple[str, Any]]]:
    """Each response's answers as (question key, value): a number, a choice's value, or text."""
    found = db.session.execute(
        sa.select(
            Answer.response_id,
            Question.key,
            Answer.value_int,
            Answer.value_text,
            Choice.value,
            Answer.text_removed_at,
        )
        .join(Question, Answer.question_id == Question.id)
        .outerjoin(Choice, Answer.choice_id == Choice.id)
        .where(Answer.response_id.in_(response_ids))
    ).all()
    answers: dict[int, list[tuple[str, Any]]] = {}
    for response_id, key, number, text, choice, removed_at in found:
        if choice is not None:
            value: Any = choice
        elif number is not None:
            value = number
        elif removed_at is not None:
            # PII retention took the text: say so, rather than look like an empty answer.
            value = _("(removed after the retention period)")
        else:
            value = masking.for_viewer(text)
        answers.setdefault(response_id, []).append((key, value))
    return answers


# Filter field -> the column it reads, for the filters a response row can answer.
_COLUMNS: dict[str, Any] = {
    "channel": Interaction.channel,
    "survey_channel": Response.survey_channel,
    "category": Interaction.category,
    "type": Interaction.type,
    "cause": Interaction.complaint_cause,
}
_CODED: dict[str, tuple[Any, Any]] = {
    "business_line": (BusinessLine, Interaction.business_line_id),
    "team": (Team, Interaction.team_id),
    "agent": (Agent, Interaction.agent_id),
}


def _segment_conditions(query: ScoreQuery) -> list[Any]:
    """The query's filters on a response's segment (a dimension filter does not apply)."""
    conditions: list[Any] = list(_survey_condition(query))
    for name, values in query.filters.items():
        if name in _COLUMNS:
            conditions.append(_COLUMNS[name].in_(values))
        elif name in _CODED:
            model, column = _CODED[name]
            conditions.append(column.in_(sa.select(model.id).where(model.code.in_(values))))
    return conditions


def _survey_condition(query: ScoreQuery) -> list[Any]:
    surveys = query.filters.get("survey")
    return [SurveyVersion.survey_id.in_([int(v) for v in surveys])] if surveys else []


def describe(query: ScoreQuery) -> dict[str, Any]:
    """The query as the audit trail records it."""
    return {
        "from": query.date_from.isoformat(),
        "to": query.date_to.isoformat(),
        "group_by": list(query.group_by),
        "filters": {name: list(values) for name, values in query.filters.items()},
    }


COMPLAINT_HEADER = ["table", "row", "measure", "value"]


def complaint_table(figures: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Return the complaints page's tables, one figure a row, from GET /api/v1/complaints' body."""
    rows: list[list[Any]] = [
        ["period", "", "from", figures["from"]],
        ["period", "", "to", figures["to"]],
        ["period", "", "as_of", figures["as_of"]],
        ["period", "", "min_n", figures["min_n"]],
    ]
    rows += [["cases", "", name, value] for name, value in figures["cases"].items()]
    rows += [["year_earlier", "", k, v] for k, v in figures["year_earlier"].items()]
    for table in ("by_category", "by_cause"):
        for share in figures[table]:
            key = share["key"] or ""
            rows += [[table, key, "cases", share["cases"]], [table, key, "share", share["share"]]]
    for commitment in figures["commitments"]:
        rows += [
            ["commitments", commitment["commitment"], name, value]
            for name, value in commitment.items()
            if name != "commitment"
        ]
    rows += [["first_contact", "", k, v] for k, v in figures["first_contact"].items()]
    rows += [["satisfaction", "", k, v] for k, v in figures["satisfaction"].items()]
    for compared in figures["met_versus_missed"]:
        for name, value in _flat(compared).items():
            if name != "commitment":
                rows.append(["met_versus_missed", compared["commitment"], name, value])
    return COMPLAINT_HEADER, rows


def as_args(query: ScoreQuery) -> dict[str, str]:
    """The query as the URL parameters ``queries.parse`` reads back, its days fixed."""
    args = {"from": query.date_from.isoformat(), "to": query.date_to.isoformat()}
    args.update({name: ",".join(values) for name, values in query.filters.items()})
    return args
