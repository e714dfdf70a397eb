"""Answering a survey on the web: what a token opens, checking the answers, storing them once.

Rule 2: only POSTs store answers: ``submit`` (every answer in one post) here, and
each step of the one-question-a-screen page in ``steps``. Rule 4: a token opens one
survey, until it expires or is answered, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from survey import clock
from survey.extensions import db
from survey.followup.rules import Rules
from survey.models import Invitation, Question, Response, SurveyVersion
from survey.respond import opens, versions
from survey.responses import answers
from survey.responses.answers import CLOSED_STATES, PageState, state_of

WEB = "web"
MAX_TEXT = 2000
SCALES: dict[str, range] = {
    "rating_5": range(1, 6),
    "nps_0_10": range(0, 11),
    "ces_7": range(1, 8),
}
YES_NO = {"yes": 1, "no": 0}

__all__ = ["CLOSED_STATES", "PageState", "state_of"]

# What a customer's link shows: the survey, or why it no longer can.
LinkState = Literal["open", "completed", "expired", "cancelled"]


@dataclass
class Outcome:
    """What became of a submission: saved, refused with errors, or too late."""

    state: Literal["saved", "invalid", "completed", "closed", "consent"]
    errors: dict[str, str] = field(default_factory=dict)


# Built once: a request only binds the token (building it anew cost more than running it).
_BY_TOKEN = (
    sa.select(Invitation)
    .outerjoin(Response, Response.invitation_id == Invitation.id)
    .options(contains_eager(Invitation.response))
    .where(Invitation.token == sa.bindparam("token"))
)


def find(token: str) -> Invitation | None:
    """Return the invitation a survey token opens, or None.

    One statement reads the invitation with its response; the version, its questions and
    choices come from the process's copy of the published version (``versions``): a page
    reads them from there (``version_of``, ``asked_on_the_web``). Completing a response
    puts them in the request's session first (``versions.attach_whole``), for the code
    that reaches them through it.
    """
    if not token or len(token) > 64:
        return None
    return db.session.scalar(_BY_TOKEN, {"token": token})


@dataclass(frozen=True, slots=True)
class ResponseSeen:
    """The response a survey page's visit found: its id and state."""

    id: int
    state: str


@dataclass(slots=True)
class Visit:
    """An invitation of a published version as its survey page's GET reads it: columns, no ORM object.

    It answers what the page asks of an invitation (``state_of``, ``link_state``,
    ``steps``, the templates, the funnel's ``open_link``) by the same names.
    """

    id: int
    token: str
    unsubscribe_token: str
    survey_version_id: int
    locale: str
    state: str
    completed_at: datetime | None
    expires_at: datetime
    opened_at: datetime | None
    sent_at: datetime | None
    funnel_stages: int
    funnel_channel: str | None
    interaction_id: int
    created_at: datetime
    response: ResponseSeen | None

    @property
    def version(self) -> SurveyVersion:
        """The kept published version (shared: read it, never change it)."""
        kept = versions.cached(self.survey_version_id)
        assert kept is not None, "a visit is made only for a published version"
        return kept


_INVITATION = Invitation.__table__
_RESPONSE = Response.__table__
_VISIT_COLUMNS = [f.name for f in fields(Visit) if f.name != "response"]
_VISIT_WIDTH = len(_VISIT_COLUMNS)
# Built once, run as Core: one row, read into a Visit, no ORM object built.
_VISIT = (
    sa.select(
        *(_INVITATION.c[name] for name in _VISIT_COLUMNS),
        _RESPONSE.c.id.label("response_id"),
        _RESPONSE.c.state.label("response_state"),
    )
    .select_from(_INVITATION.outerjoin(_RESPONSE, _RESPONSE.c.invitation_id == _INVITATION.c.id))
    .where(_INVITATION.c.token == sa.bindparam("token"))
)


def visit(token: str) -> Visit | Invitation | None:
    """Return what a GET of the survey page needs of the invitation a token opens, or None.

    One Core statement: a ``Visit`` when its version is published (kept by ``versions``);
    otherwise the invitation itself (``find``), whose draft version the page reads as usual.
    """
    if not token or len(token) > 64:
        return None
    seen = visit_on(db.session.connection(), token)
    return find(token) if seen is False else seen


def visit_on(connection: sa.Connection, token: str) -> Visit | Literal[False] | None:
    """``visit``'s one statement on this connection: the ``Visit``, None when no invitation
    has this token, False when its version is not published (read it with ``find``)."""
    if not token or len(token) > 64:
        return None
    row = connection.execute(_VISIT, {"token": token}).one_or_none()
    if row is None:
        return None
    if versions.cached(row.survey_version_id) is None:
        return False
    response = (
        None if row.response_id is None else ResponseSeen(row.response_id, row.response_state)
    )
    return Visit(*row[:_VISIT_WIDTH], response=response)


def version_of(invitation: Invitation | Visit) -> SurveyVersion:
    """Return the invitation's version to read (its title, intro, thanks): the kept one if published."""
    return versions.cached(invitation.survey_version_id) or invitation.version


def find_by_unsubscribe_token(token: str) -> Invitation | None:
    """Return the invitation an unsubscribe token belongs to, or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Invitation).where(Invitation.unsubscribe_token == token))


def link_state(invitation: Invitation) -> LinkState:
    """Say what the survey link shows: the survey, thanks for answering, or why it closed."""
    state = state_of(invitation)
    if state == "closed":
        return "cancelled" if invitation.state == "cancelled" else "expired"
    return state


def open_page(invitation: Invitation | Visit) -> LinkState:
    """Note the first time an open survey is looked at (not an answer) and return its state.

    Nothing is written in the request: the visit is written with the process's next batch
    of first visits (``survey.respond.opens``, which says what a crash may lose).
    """
    state = link_state(invitation)
    if state == "open" and invitation.opened_at is None:
        opens.note(current_app, invitation, clock.now())
    return state


def web_questions(version: SurveyVersion) -> list[Question]:
    """Return the questions this version asks on the web, in order."""
    return [q for q in version.questions if q.ask_web]


def asked_on_the_web(invitation: Invitation) -> list[Question]:
    """Return the questions the invitation's survey asks on the web (kept per version)."""
    return versions.questions(invitation)


def preselection(questions: list[Question], score: str | None) -> dict[str, str]:
    """Turn an e-mail button's ?score=N into a pre-selected first rating (shown, not stored)."""
    first = next((q for q in questions if q.kind in SCALES), None)
    if first is None or score is None or not _is_number(score.strip()):
        return {}
    if int(score) not in SCALES[first.kind]:
        return {}
    return {first.key: str(int(score))}


def _is_number(raw: str) -> bool:
    # ASCII only: str.isdigit() also accepts "²", which int() refuses (a 500, not a form error).
    return raw.isascii() and raw.isdigit()


def visible_keys(questions: list[Question], form: Mapping[str, str]) -> set[str]:
    """Return the keys of the questions asked, given the answers so far (conditions)."""
    values: dict[str, Any] = {}
    shown: set[str] = set()
    for question in questions:
        if answers.condition_holds(question.condition, values):
            shown.add(question.key)
            value, _error = parse_answer(question, form.get(_field(question), ""))
            if value is not None:
                values[question.key] = answers.comparable(question, value)
    return shown


def _field(question: Question) -> str:
    return f"q_{question.key}"


def parse_answer(question: Question, raw: str) -> tuple[Any, str | None]:
    """Return (value, error) for one posted field; value None when unanswered or wrong."""
    raw = (raw or "").strip()
    if question.kind == "text":
        if len(raw) > MAX_TEXT:
            return None, _("Please keep this under %(n)d characters.", n=MAX_TEXT)
        return (raw or None), None
    if not raw:
        return None, None
    if question.kind in SCALES:
        scale = SCALES[question.kind]
        if _is_number(raw) and int(raw) in scale:
            return int(raw), None
        return None, _(
            "Please choose a number from %(low)d to %(high)d.", low=scale[0], high=scale[-1]
        )
    if question.kind == "yes_no":
        if raw in YES_NO:
            return YES_NO[raw], None
        return None, _("Please answer yes or no.")
    choice = next((c for c in question.choices if c.value == raw), None)
    if choice is None:
        return None, _("Please choose one of the options.")
    return choice, None


def check(
    questions: list[Question], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate every posted answer; return (values by question key, errors by question key).

    A question whose condition does not hold is neither required nor stored.
    """
    values: dict[str, Any] = {}
    comparable: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in questions:
        if not answers.condition_holds(question.condition, comparable):
            continue
        value, error = parse_answer(question, form.get(_field(question), ""))
        if error:
            errors[question.key] = error
        elif value is None:
            if question.required:
                errors[question.key] = _("Please answer this question.")
        else:
            values[question.key] = value
            comparable[question.key] = answers.comparable(question, value)
    return values, errors


def submit(invitation: Invitation, form: Mapping[str, str], locale: str) -> Outcome:
    """Store a customer's web answers once, complete the invitation and roll them up; commit."""
    state = state_of(invitation)
    if state != "open":
        return Outcome(state)
    questions = asked_on_the_web(invitation)
    values, errors = check(questions, form)
    if errors:
        return Outcome("invalid", errors)

    by_key = {q.key: q for q in questions}
    # A response begun on another channel (a partial SMS reply) is finished here: the
    # web form asked its questions again, so its answers replace the partial ones to
    # those; answers to questions the web does not ask are kept.
    given = {by_key[key]: value for key, value in values.items()}
    asked_again = {q: given.get(q) for q in questions}
    # A form that carries the consent question (consent=yes|no) answers it. Without it, a
    # response that meets a follow-up rule is not completed: its answers are kept and the
    # consent step asks "may we call you?", as the last step of the paged survey does.
    consent = YES_NO.get(form.get("consent", ""))
    if consent is None and meets_a_followup_rule(given.items()):
        if not keep(invitation, asked_again, locale, asking_consent=True):
            return Outcome(state_of(invitation))
        return Outcome("consent")
    versions.attach_whole(invitation)  # what completing reaches through the session
    if not answers.complete(
        invitation, WEB, locale, asked_again, consent=None if consent is None else consent == 1
    ):
        return Outcome(state_of(invitation))
    return Outcome("saved")


def meets_a_followup_rule(given: Iterable[tuple[Question, Any]]) -> bool:
    """Whether these answers (question, value as parsed) meet one of the follow-up rules."""
    return bool(
        Rules.from_settings().triggers(
            (question, answers.comparable(question, value))
            for question, value in given
            if value is not None
        )
    )


def keep(
    invitation: Invitation,
    given: Mapping[Question, Any],
    locale: str,
    asking_consent: bool = False,
) -> bool:
    """Record answers (None: forget one left blank) while the survey is open; commit.

    False, with nothing changed, when the survey is no longer open (completed, expired, or
    closed as a partial a moment ago, in which case it is counted as it was).
    """
    for attempt in range(2):
        if not answers.hold_open(invitation):
            db.session.rollback()
            return False
        try:
            response = None
            for question, value in given.items():
                if value is None:
                    answers.forget(invitation, question)
                else:
                    response = answers.record(
                        invitation, question, value, WEB, locale, as_loaded=attempt == 0
                    )
            if asking_consent and response is not None:
                answers.mark_consent_asked(response)
        except answers.ResponseClosed:
            db.session.rollback()
            return False
        except IntegrityError:
            # Another tab began the response after this page read it: read it, once more.
            db.session.rollback()
            if attempt:
                raise
            continue
        db.session.commit()
        return True
    return False
