"""The web survey one question at a time: each step a POST that saves as the customer goes.

A customer who leaves comes back where they left off, on the web or after answering
the first questions by SMS or keypad: every answer is in the invitation's one
response (``responses.answers``). Each step is saved with ``answers.record`` as a
partial answer; the step that has no question after it completes the response with
``answers.complete``, once. Which questions apply (conditions on earlier answers) is
decided here, from the stored answers, whatever the page sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.followup.rules import Rules
from survey.models import Answer, Invitation, Question
from survey.respond import versions
from survey.respond.service import WEB, asked_on_the_web, keep, parse_answer, preselection
from survey.responses import answers
from survey.responses.answers import state_of


@dataclass
class Step:
    """One screen of the survey: its question, where it stands, and what was answered."""

    question: Question
    number: int  # among the questions that apply, from 1
    total: int
    value: str  # the stored (or posted) answer as the form shows it; "" when none
    previous: Question | None
    last: bool
    answered: list[tuple[Question, str]] = field(default_factory=list)


# The step after the last question when a follow-up rule matches: may the bank call?
CONSENT_STEP = "followup-consent"


@dataclass
class ConsentStep:
    """The completing step that asks whether the bank may call about the answers."""

    previous: Question
    value: str  # "yes", "no", or "" when not chosen


@dataclass
class StepOutcome:
    """What became of a step: saved (go to ``next_key``), refused, finished, or too late."""

    state: Literal["saved", "invalid", "finished", "completed", "closed"]
    next_key: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def applicable(questions: list[Question], values: Mapping[str, Any]) -> list[Question]:
    """Return the questions asked, given the answers: an unasked one's old answer counts for nothing."""
    seen: dict[str, Any] = {}
    asked: list[Question] = []
    for question in questions:
        if answers.condition_holds(question.condition, seen):
            asked.append(question)
            if question.key in values:
                seen[question.key] = values[question.key]
    return asked


_ANSWERS = (
    sa.select(Answer.question_id, Answer.choice_id, Answer.value_int, Answer.value_text)
    .where(Answer.response_id == sa.bindparam("response_id"))
    .order_by(Answer.id)
)


def stored_values(invitation: Invitation) -> dict[str, Any]:
    """Return the answers stored so far, from any channel, by question key.

    The response came with the invitation (``service.find``); after a commit or a rollback
    it is read again. Its answers are read as plain rows and named by the kept version's
    questions and choices (``versions``): no object is loaded for them.
    """
    response = invitation.response
    known = versions.lookup(invitation)
    if response is None or known is None:
        return answers.given_values(response)
    questions, choices = known
    values: dict[str, Any] = {}
    rows = db.session.execute(_ANSWERS, {"response_id": response.id})
    for question_id, choice_id, value_int, value_text in rows:
        question = questions.get(question_id)
        if question is None:
            continue
        if choice_id is not None:
            values[question.key] = choices[choice_id].value
        elif value_int is not None:
            values[question.key] = value_int
        elif value_text is not None:
            values[question.key] = value_text
    return values


def _resume_point(asked: list[Question], values: Mapping[str, Any]) -> Question:
    """The question after the furthest one answered (an optional one skipped stays skipped)."""
    furthest = max((i for i, q in enumerate(asked) if q.key in values), default=-1)
    after = next((q for q in asked[furthest + 1 :] if q.key not in values), None)
    missed = next((q for q in asked if q.required and q.key not in values), None)
    return after or missed or asked[-1]


def form_value(question: Question, value: Any) -> str:
    """Return a stored answer as the form posts it (yes/no as "yes"/"no")."""
    if value is None:
        return ""
    if question.kind == "yes_no":
        return "yes" if value == 1 else "no"
    return str(value)


def shown_answer(question: Question, value: Any, locale: str) -> str:
    """Return a stored answer as the customer reads it in the list of their answers."""
    if question.kind == "yes_no":
        return _("Yes") if value == 1 else _("No")
    if question.kind == "single_choice":
        choice = next((c for c in question.choices if c.value == value), None)
        return choice.label(locale) if choice else str(value)
    if question.kind == "text":
        text = str(value)
        return text if len(text) <= 80 else text[:79] + "…"
    return str(value)


def step_at(
    invitation: Invitation, key: str | None, locale: str, posted: str | None = None
) -> Step:
    """Return the step of question ``key`` if it applies now, else where the customer left off."""
    questions = asked_on_the_web(invitation)
    values = stored_values(invitation)
    asked = applicable(questions, values)
    question = next((q for q in asked if q.key == key), None) or _resume_point(asked, values)
    index = asked.index(question)
    return Step(
        question=question,
        number=index + 1,
        total=len(asked),
        value=posted if posted is not None else form_value(question, values.get(question.key)),
        previous=asked[index - 1] if index > 0 else None,
        last=index == len(asked) - 1,
        answered=[
            (q, shown_answer(q, values[q.key], locale))
            for q in asked
            if q.key in values and q.key != question.key
        ],
    )


def one_click(invitation: Invitation, score: str | None) -> tuple[str, str] | None:
    """Return (question key, value) an e-mail's rating button chose, when it can be saved.

    Shown, never stored (rule 2): the customer saves it with one tap, a POST.
    """
    questions = asked_on_the_web(invitation)
    chosen = preselection(questions, score)
    if not chosen:
        return None
    key, value = next(iter(chosen.items()))
    if key not in {q.key for q in applicable(questions, stored_values(invitation))}:
        return None
    return key, value


def save(invitation: Invitation, key: str, form: Mapping[str, str], go: str, locale: str):
    """Save one step's answer and say where to go; the last step completes the response."""
    try:
        return _save(invitation, key, form, go, locale)
    except IntegrityError:
        # Two tabs began the response at the same moment: the other's row is there now.
        db.session.rollback()
        return _save(invitation, key, form, go, locale)


def _save(
    invitation: Invitation, key: str, form: Mapping[str, str], go: str, locale: str
) -> StepOutcome:
    state = state_of(invitation)
    if state != "open":
        return StepOutcome(state)
    questions = asked_on_the_web(invitation)
    values = stored_values(invitation)
    asked = applicable(questions, values)
    question = next((q for q in asked if q.key == key), None)
    if question is None:
        # Not a question of this survey, or one whose condition does not hold: nothing
        # is stored, whatever a page without its script (or a forged one) sent.
        return StepOutcome("saved", next_key=_resume_point(asked, values).key)
    value, error = parse_answer(question, form.get(f"q_{question.key}", ""))

    if go == "back":
        if value is not None and not keep(invitation, {question: value}, locale):
            return StepOutcome(state_of(invitation))
        values = _with(values, question, value)
        asked = applicable(questions, values)
        index = asked.index(question)
        return StepOutcome("saved", next_key=asked[max(index - 1, 0)].key)

    if error or (value is None and question.required):
        return StepOutcome("invalid", errors={key: error or _("Please answer this question.")})
    values = _with(values, question, value, blank_removes=True)
    asked = applicable(questions, values)
    index = asked.index(question)
    if index + 1 < len(asked):
        if not keep(invitation, {question: value}, locale):
            return StepOutcome(state_of(invitation))
        return StepOutcome("saved", next_key=asked[index + 1].key)

    missing = next((q for q in asked if q.required and q.key not in values), None)
    if missing is not None:  # came to the last step past a required question
        if not keep(invitation, {question: value}, locale):
            return StepOutcome(state_of(invitation))
        return StepOutcome("saved", next_key=missing.key)
    if _meets_a_rule(asked, values):
        # The completing step asks for consent: keep this answer, then ask it.
        if not keep(invitation, {question: value}, locale, asking_consent=True):
            return StepOutcome(state_of(invitation))
        return StepOutcome("saved", next_key=CONSENT_STEP)
    # The last step: its answer, and no answer to a question that no longer applies.
    last: dict[Question, Any] = {q: None for q in questions if q not in asked}
    last[question] = value
    versions.attach_whole(invitation)  # what completing reaches through the session
    if not answers.complete(invitation, WEB, locale, last):
        return StepOutcome(state_of(invitation))
    return StepOutcome("finished")


def _with(
    values: Mapping[str, Any], question: Question, value: Any, blank_removes: bool = False
) -> dict[str, Any]:
    changed = dict(values)
    if value is not None:
        changed[question.key] = answers.comparable(question, value)
    elif blank_removes:
        changed.pop(question.key, None)
    return changed


def _meets_a_rule(asked: list[Question], values: Mapping[str, Any]) -> bool:
    return bool(
        Rules.from_settings().triggers((q, values[q.key]) for q in asked if q.key in values)
    )


def consent_step(invitation: Invitation) -> ConsentStep | None:
    """The consent step, when every question asked is answered and a follow-up rule matches."""
    questions = asked_on_the_web(invitation)
    values = stored_values(invitation)
    asked = applicable(questions, values)
    if not asked or any(q.required and q.key not in values for q in asked):
        return None
    if not _meets_a_rule(asked, values):
        return None
    return ConsentStep(previous=asked[-1], value="")


def save_consent(invitation: Invitation, form: Mapping[str, str], go: str, locale: str):
    """Complete the response with the customer's answer to "may we call you?"."""
    state = state_of(invitation)
    if state != "open":
        return StepOutcome(state)
    questions = asked_on_the_web(invitation)
    values = stored_values(invitation)
    asked = applicable(questions, values)
    missing = next((q for q in asked if q.required and q.key not in values), None)
    if missing is not None:
        return StepOutcome("saved", next_key=missing.key)
    if go == "back":
        return StepOutcome("saved", next_key=asked[-1].key)
    unasked: dict[Question, Any] = {q: None for q in questions if q not in asked}
    consent: bool | None = None
    if _meets_a_rule(asked, values):
        raw = form.get("consent", "")
        if raw not in ("yes", "no"):
            return StepOutcome("invalid", errors={CONSENT_STEP: _("Please answer yes or no.")})
        consent = raw == "yes"
    versions.attach_whole(invitation)  # what completing reaches through the session
    if not answers.complete(invitation, WEB, locale, unasked, consent=consent):
        return StepOutcome(state_of(invitation))
    return StepOutcome("finished")
