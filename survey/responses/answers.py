"""The one way in for answers: a web form, an SMS reply and a keypad press all end here.

Answers are stored as they are given, in the invitation's one response; a
response is completed once, by whichever channel gives its last answer, and
rolled up in that same transaction (rule 5). Until then it is partial: a
customer who answered two questions by SMS and stopped keeps those answers,
and finishing on the web replaces only the answers the web asked again.

A partial response left idle is closed and counted with what it answered
(survey/responses/partials.py). Completing and closing both move the response
out of 'partial' with a conditional UPDATE, so whichever comes first counts it
and the other does nothing. A closed partial takes no more answers: a late SMS
reply, keypad press or web form is refused politely, with the "already
answered, thank you" the customer would get after completing, and the scores
do not move.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from survey import clock
from survey.extensions import db
from survey.followup import cases, rules
from survey.funnel import keeping as funnel
from survey.models import Answer, Choice, Invitation, Question, Response
from survey.models.response import COUNTED_STATES
from survey.responses import first_answer
from survey.scoring import rollup

CLOSED_STATES = ("expired", "cancelled")
PageState = Literal["open", "closed", "completed"]


class ResponseClosed(Exception):
    """An answer came for a response already counted (completed, or closed while partial)."""


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda value, allowed: value in allowed,
    "not_in": lambda value, allowed: value not in allowed,
}


def state_of(invitation: Invitation) -> PageState:
    """Say whether the customer can still answer, has answered, or is too late."""
    if invitation.state == "completed" or invitation.completed_at is not None:
        return "completed"
    if invitation.state in CLOSED_STATES or clock.now() >= invitation.expires_at:
        return "closed"
    if _counted(invitation):
        # A partial closed after the idle hours: its answers were counted; thank, don't ask.
        return "completed"
    return "open"


def _counted(invitation: Invitation) -> bool:
    # The response is often read with the invitation already (the survey page's one statement).
    response = invitation.response
    return response is not None and response.state in COUNTED_STATES


def condition_holds(condition: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool:
    """Whether a question's condition on an earlier answer holds (no condition: it does)."""
    if not condition:
        return True
    compare = _OPERATORS.get(str(condition.get("op", "==")))
    earlier = values.get(condition.get("question", ""))
    if compare is None or earlier is None:
        return False
    try:
        return bool(compare(earlier, condition.get("value")))
    except TypeError:  # a condition comparing a number with text holds for no answer
        return False


def comparable(question: Question, value: Any) -> Any:
    """The value a condition compares: the number, 1/0 for yes/no, the choice's value."""
    if isinstance(value, Choice):
        return value.value
    return value


def response_of(invitation: Invitation) -> Response | None:
    """Return the invitation's response, partial or complete, or None."""
    return db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))


def given_values(response: Response | None) -> dict[str, Any]:
    """Return the answers stored so far, by question key, as conditions compare them."""
    if response is None:
        return {}
    values: dict[str, Any] = {}
    for answer in response.answers:
        question = answer.question
        if answer.choice is not None:
            values[question.key] = answer.choice.value
        elif answer.value_int is not None:
            values[question.key] = answer.value_int
        elif answer.value_text is not None:
            values[question.key] = answer.value_text
    return values


def next_question(
    questions: list[Question], after: Question | None, values: Mapping[str, Any]
) -> Question | None:
    """Return the first question after ``after`` (or the first of all) whose condition holds."""
    start = (
        0
        if after is None
        else next((i + 1 for i, q in enumerate(questions) if q.id == after.id), len(questions))
    )
    for question in questions[start:]:
        if condition_holds(question.condition, values):
            return question
    return None


def _start(invitation: Invitation, channel: str, locale: str, now: datetime) -> Response:
    response, _new = _started(invitation, channel, locale, now)
    return response


def _started(
    invitation: Invitation, channel: str, locale: str, now: datetime, as_loaded: bool = False
) -> tuple[Response, bool]:
    """The invitation's response, begun now if it has none; and whether it was begun now.

    :param as_loaded: take the response read with the invitation (the survey page's one
        statement) as it is, when it was: one begun meanwhile by another tab or channel
        then makes the insert fail on the unique invitation, and the caller reads again.
    """
    loaded = as_loaded and "response" in sa.inspect(invitation).dict
    response = invitation.response if loaded else response_of(invitation)
    if response is not None:
        return response, False
    response = Response(
        invitation=invitation,
        survey_version_id=invitation.survey_version_id,
        started_at=now,
        survey_channel=channel,
        locale=locale,
    )
    db.session.add(response)
    db.session.flush()
    return response, True


def record(
    invitation: Invitation,
    question: Question,
    value: Any,
    channel: str,
    locale: str,
    now: datetime | None = None,
    as_loaded: bool = False,
) -> Response:
    """Store one answer to one question (replacing an earlier one) in the partial response.

    ``value`` is an int for scales and yes/no, a ``Choice``, or the text. The
    caller commits, together with what it records about the channel's step.

    :param as_loaded: the response read with the invitation is current; a caller that
        says so reads again and retries on ``IntegrityError`` (see ``_started``).
    :raises ResponseClosed: the response was counted meanwhile (closed, or completed
        elsewhere); nothing is stored, so the counted figures stay as they are.
    """
    now = now or clock.now()
    response, begun = _started(invitation, channel, locale, now, as_loaded)
    if not begun:
        # Stamping the activity only while partial also holds the row (PostgreSQL), so a
        # closing that comes meanwhile waits, and counts this answer too. (A response begun
        # in this transaction is partial, stamped, and no other transaction sees it yet.)
        touched = db.session.execute(
            sa.update(Response)
            .where(Response.id == response.id, Response.state == "partial")
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if touched.rowcount != 1:
            raise ResponseClosed(response.id)
        db.session.execute(
            sa.delete(Answer).where(
                Answer.response_id == response.id, Answer.question_id == question.id
            )
        )
        db.session.expire(response, ["answers"])
    db.session.add(_answer(response, question, value, now))
    response.survey_channel = channel
    response.locale = locale
    if invitation.opened_at is None:
        invitation.opened_at = now
    db.session.flush()
    if begun:
        funnel.response_begun(invitation)
    elif not funnel.reached(invitation, "started"):
        funnel.track(invitation)
    return response


def taking_answers(
    invitation_id: int | sa.BindParameter[int],
    now: datetime | sa.BindParameter[datetime],
    of: Any = Invitation,
) -> tuple[sa.ColumnElement[bool], ...]:
    """The guard an answer's hold and the completion share: the invitation still takes answers.

    :param of: the mapped class, or its table's columns for a Core statement.
    """
    return (
        of.id == invitation_id,
        # Each state compared in turn, not NOT IN: the same test, and a statement the survey
        # link's first answer can run prepared (``survey.prepared``: no expanding list).
        *(of.state != state for state in ("completed", *CLOSED_STATES)),
        of.completed_at.is_(None),
        of.expires_at > now,
    )


# Built once: an answer binds its invitation and time (building it anew cost more than running it).
# Core, on the table: the ORM's bulk UPDATE would copy it and work out its cache key each run.
_INVITATION = Invitation.__table__
_HOLD = (
    sa.update(_INVITATION)
    .where(*taking_answers(sa.bindparam("invitation_id"), sa.bindparam("now"), _INVITATION.c))
    .values(
        opened_at=sa.func.coalesce(
            _INVITATION.c.opened_at,
            sa.bindparam("opened_now", type_=_INVITATION.c.opened_at.type),
        )
    )
)


def hold_open(invitation: Invitation, now: datetime | None = None) -> bool:
    """Lock the invitation for an answer while it is still open; False when it is not.

    A guarded update, like ``complete``'s claim: on PostgreSQL it holds the row until the
    caller commits, so an answer recorded now and a completion racing it are one after
    the other, and an answer never lands in a response completed in the meantime.
    """
    now = now or clock.now()
    db.session.flush()  # what the session holds goes first, as before an ORM statement
    held = db.session.connection().execute(
        _HOLD, {"invitation_id": invitation.id, "now": now, "opened_now": now}
    )
    if held.rowcount != 1:
        return False
    if invitation.opened_at is None:
        # What the statement stored (unless a first visit stored its own a moment ago):
        # the answer that follows need not write it again.
        set_committed_value(invitation, "opened_at", now)
    return True


_RESPONSE = Response.__table__
_ANSWER = Answer.__table__
_BEGIN = sa.insert(_RESPONSE)
_FIRST_ANSWER = sa.insert(_ANSWER)


def begin_with(
    invitation: Any,
    question: Question,
    value: Any,
    channel: str,
    locale: str,
    now: datetime,
    connection: sa.Connection | None = None,
) -> bool:
    """Begin the response of an invitation that has none, with its first answer; the caller commits.

    What ``hold_open`` and ``record`` do for a first answer, as Core statements on plain
    columns (``invitation`` may be a survey page's ``Visit``): the guarded hold (opened
    too), the response row, the answer row, the funnel's "started". False, with nothing
    written, when the invitation no longer takes answers. A response begun meanwhile (another
    tab, another channel) makes the insert fail on the unique invitation (``IntegrityError``):
    the caller rolls back and takes the usual way, which reads it.

    On a ``connection`` of the caller's own (not the session's), everything is written on
    it (``first_answer``: one statement on PostgreSQL, four on SQLite), and False also says
    that the funnel could not be counted the fast way: nothing was written, and the caller
    rolls back and takes the usual way.
    """
    own = connection is not None
    if own and connection.dialect.name == "postgresql":
        # One statement, one round trip (``first_answer``), rather than seven.
        columns = answer_columns(question, value, now)
        return first_answer.begin_in_one(connection, invitation, columns, channel, locale, now)
    if own:
        # The hold and the funnel's move as one UPDATE: four statements rather than five.
        columns = answer_columns(question, value, now)
        return first_answer.begin_in_four(connection, invitation, columns, channel, locale, now)
    connection = db.session.connection()
    held = connection.execute(
        _HOLD, {"invitation_id": invitation.id, "now": now, "opened_now": now}
    )
    if held.rowcount != 1:
        return False
    begin_response(
        connection, invitation, answer_columns(question, value, now), channel, locale, now
    )
    funnel.response_begun(invitation)
    return True


def begin_response(
    connection: Any,
    invitation: Any,
    columns: dict[str, Any],
    channel: str,
    locale: str,
    now: datetime,
) -> None:
    """Insert the held invitation's response, partial, and its first answer (``columns``)."""
    begun = connection.execute(
        _BEGIN,
        {
            "invitation_id": invitation.id,
            "survey_version_id": invitation.survey_version_id,
            "started_at": now,
            "updated_at": now,
            "survey_channel": channel,
            "locale": locale,
            "state": "partial",
        },
    )
    connection.execute(_FIRST_ANSWER, {"response_id": begun.inserted_primary_key[0], **columns})


def forget(invitation: Invitation, question: Question) -> None:
    """Remove the answer to one question from the partial response (left blank when asked again).

    The caller commits.
    """
    response = response_of(invitation)
    if response is None:
        return
    db.session.execute(
        sa.delete(Answer).where(
            Answer.response_id == response.id, Answer.question_id == question.id
        )
    )
    db.session.expire(response, ["answers"])


def complete(
    invitation: Invitation,
    channel: str,
    locale: str,
    answers: Mapping[Question, Any] | None = None,
    now: datetime | None = None,
    consent: bool | None = None,
) -> bool:
    """Complete the invitation's response with these last answers, roll it up, and commit.

    Each question in ``answers`` replaces its earlier answer; one mapped to None
    (asked again and left blank) loses it. ``consent`` is the customer's answer to
    "may we call you about this?", asked in this completing step when a follow-up rule
    matches: in the same transaction, a case opens, or the response records why not.

    Returns False, changing nothing, when it was completed already (by another
    channel, or a racing submission) or is closed: the first completion stands.
    """
    now = now or clock.now()
    # The state change is the guard: of two completions racing, one updates the row
    # and the other finds it completed (PostgreSQL makes it wait for the first).
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(*taking_answers(invitation.id, now))
        .values(
            state="completed",
            completed_at=now,
            opened_at=invitation.opened_at or now,
            sms_question_key=None,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    try:
        response = _start(invitation, channel, locale, now)
        if answers:
            db.session.execute(
                sa.delete(Answer).where(
                    Answer.response_id == response.id,
                    Answer.question_id.in_([q.id for q in answers]),
                )
            )
            db.session.expire(response, ["answers"])
            for question, value in answers.items():
                if value is not None:
                    db.session.add(_answer(response, question, value, now))
        response.survey_channel = channel
        response.locale = locale
        db.session.flush()
        # Counted once: a closing that got here first (the sweep) leaves nothing to complete.
        counted = db.session.execute(
            sa.update(Response)
            .where(Response.id == response.id, Response.state == "partial")
            .values(state="completed", completed_at=now, counted_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount != 1:
            db.session.rollback()
            return False
        db.session.expire(response)
        rollup.apply_response(response)
        funnel.track(invitation.id)
        cases.settle(response, consent, now)
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another channel completed it in the meantime: the first answer stands.
        db.session.rollback()
        return False
    db.session.refresh(invitation)
    return True


def wants_consent(response: Response | None) -> bool:
    """Whether the answers so far meet a follow-up rule: the completing step asks for consent."""
    return bool(rules.response_triggers(response))


def mark_consent_asked(response: Response, now: datetime | None = None) -> None:
    """Note that the consent question was put to the customer (the caller commits)."""
    if response.followup_asked_at is None:
        response.followup_asked_at = now or clock.now()


def _answer(response: Response, question: Question, value: Any, now: datetime) -> Answer:
    return Answer(response_id=response.id, **answer_columns(question, value, now))


def answer_columns(question: Question, value: Any, now: datetime) -> dict[str, Any]:
    """The columns of an answer row but its response: the question, when, and the value's column."""
    columns: dict[str, Any] = {"question_id": question.id, "answered_at": now}
    if isinstance(value, Choice):
        columns["choice_id"] = value.id
    elif question.kind == "text":
        columns["value_text"] = str(value)
    else:
        columns["value_int"] = int(value)
    return columns
