"""Keep the comments index (survey.models.comment): one counted response at a time, or all.

``add_response`` runs in the transaction that counts a response (rollup.apply_response),
so a comment is searchable exactly when its scores count; ``rebuild`` recomputes the
whole index with one INSERT … SELECT (the migration that made it, the demo loader and
``survey rollup rebuild``).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from survey.extensions import db
from survey.models import (
    Answer,
    Comment,
    Interaction,
    Invitation,
    Question,
    Response,
    SurveyVersion,
)

COLUMNS = (
    "id",
    "response_id",
    "counted_at",
    "survey_id",
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",
    "survey_channel",
    "type",
    "category",
    "cause",
    "overall",
    "text",
)


def _overall() -> sa.ScalarSelect[Any]:
    """A response's overall score: its 5-point answer on the overall dimension."""
    rated, asked = aliased(Answer), aliased(Question)
    return (
        sa.select(sa.func.min(rated.value_int))
        .join(asked, rated.question_id == asked.id)
        .where(
            rated.response_id == Response.id,
            asked.dimension == "overall",
            asked.kind == "rating_5",
        )
        .scalar_subquery()
    )


def _comments() -> sa.Select[Any]:
    """Every text answer of a counted response, as the index holds it."""
    return (
        sa.select(
            Answer.id,
            Response.id,
            Response.counted_at,
            SurveyVersion.survey_id,
            Interaction.business_line_id,
            Interaction.team_id,
            Interaction.agent_id,
            Interaction.channel,
            Response.survey_channel,
            Interaction.type,
            Interaction.category,
            Interaction.complaint_cause,
            _overall(),
            Answer.value_text,
        )
        .select_from(Answer)
        .join(Question, Answer.question_id == Question.id)
        .join(Response, Answer.response_id == Response.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .where(
            Question.kind == "text",
            Response.counted_at.is_not(None),
            Answer.value_text.is_not(None),
            Answer.value_text != "",
        )
    )


def add_response(response_id: int, session: Session | Connection | None = None) -> int:
    """Index a counted response's comments, in the caller's transaction; return how many."""
    session = session or db.session
    return session.execute(add_one(), {"response_id": response_id}).rowcount or 0


@functools.cache
def add_one() -> sa.Insert:
    """Build, once, the INSERT … SELECT of one response's comments (``response_id``).

    Built per call it cost more than the database's work (the aliases and joins are
    constructed and their cache key computed anew): most of a submission's rollup work.
    PostgreSQL's rollup runs it as a CTE of its one statement (rollup._in_one_statement).
    """
    one = _comments().where(Answer.response_id == sa.bindparam("response_id"))
    # The table, not the ORM class: the ORM reads a parameter dict as rows to insert.
    return sa.insert(Comment.__table__).from_select(COLUMNS, one)


def rebuild(session: Session | Connection | None = None) -> int:
    """Empty the index and fill it again from every counted response; return its rows.

    The caller commits (a migration's transaction, the demo's, the rebuild command's).
    """
    session = session or db.session
    session.execute(sa.delete(Comment))
    session.execute(sa.insert(Comment).from_select(COLUMNS, _comments()))
    return session.scalar(sa.select(sa.func.count()).select_from(Comment)) or 0
