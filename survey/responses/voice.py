"""The phone callback: what the call says at each step, and what each key press records.

Twilio asks for the call's first step when the customer picks up, and for the
next one each time a ``<Gather>`` ends; /dev/outbox walks the same steps when
an admin answers a call as the customer. Each question is asked once more on
silence or a wrong key, then the call moves on; ``#`` alone skips an optional
question; ``*`` at any point stops survey calls (an opt-out, recorded as
``keypad``). Answers are stored as they are given, so a hang-up keeps them.

A step is recorded under the call and the step's place (question and try) in
the transaction that acts on it: Twilio's retry of the same request gets the
same step back and records nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa

from survey import clock
from survey.channels import scripts
from survey.dispatch import status
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Delivery, InboundEvent, Invitation, Question
from survey.responses import answers, optouts, replies

VOICE = "voice"
TIMEOUT_SECONDS = 6


@dataclass(frozen=True)
class Gather:
    """Collect keys after (and while) saying the question; then ask for ``question``/``attempt``."""

    question: int  # position among the voice questions
    attempt: int  # 0 the first time it is asked, 1 when repeated
    num_digits: int
    finish_on_key: str = "#"
    timeout: int = TIMEOUT_SECONDS


@dataclass(frozen=True)
class Step:
    """One turn of the call: sentences to say, then keys to gather, or the end of the call."""

    lang: str
    say: list[str] = field(default_factory=list)
    gather: Gather | None = None
    hangup: bool = False

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> Step:
        data = json.loads(text)
        gather = Gather(**data["gather"]) if data.get("gather") else None
        return cls(lang=data["lang"], say=data["say"], gather=gather, hangup=data["hangup"])


def _lang(invitation: Invitation | None) -> str:
    return "en" if invitation is not None and invitation.locale == "en" else "zh"


def start(invitation_id: int, call_id: str, answered_by: str | None = None) -> Step:
    """The call's first step, when it is picked up: who calls, why, the first question."""
    invitation = db.session.get(Invitation, invitation_id)
    lang = _lang(invitation)
    if invitation is None:
        return Step(lang, [scripts.voice_reply("closed", lang)], hangup=True)
    recorded = _recorded(call_id, "start")
    if recorded is not None:
        return Step.loads(recorded.answer)
    delivery = _delivery(invitation, call_id)
    if (answered_by or "").startswith("machine") or answered_by == "fax":
        # Nobody to answer: hang up, and let the dispatcher try the next channel.
        if delivery is not None:
            status.record_machine(delivery)
        return _remember(invitation, call_id, "start", answered_by or "", Step(lang, hangup=True))
    state = answers.state_of(invitation)
    if state != "open":
        said = scripts.voice_reply("done" if state == "completed" else "closed", lang)
        return _remember(invitation, call_id, "start", "", Step(lang, [said], hangup=True))
    funnel.call_answered(invitation)
    opening = scripts.voice_opening(invitation.version, lang)
    questions = scripts.voice_questions(invitation.version)
    given = answers.given_values(answers.response_of(invitation))
    first = _next(questions, None, given, skip_answered=True)
    if first is None:
        step = _end(invitation, questions, lang, [opening])
        return _remember(invitation, call_id, "start", "", step)
    step = _ask(questions, first, lang, attempt=0, before=[opening])
    return _remember(invitation, call_id, "start", "", step)


def gather(
    invitation_id: int,
    call_id: str,
    question_index: int,
    attempt: int,
    digits: str | None,
    finished_on_key: str | None,
) -> Step:
    """Act on the keys pressed for one question and return the next step of the call."""
    invitation = db.session.get(Invitation, invitation_id)
    lang = _lang(invitation)
    if invitation is None:
        return Step(lang, [scripts.voice_reply("closed", lang)], hangup=True)
    place = f"{question_index}:{attempt}"
    recorded = _recorded(call_id, place)
    if recorded is not None:
        return Step.loads(recorded.answer)
    pressed = f"{digits or ''}|{finished_on_key or ''}"
    questions = scripts.voice_questions(invitation.version)
    # One step past the last question is the consent step ("press 1 if we may call you").
    if not 0 <= question_index <= len(questions) or attempt not in (0, 1):
        return Step(lang, [scripts.voice_reply("goodbye", lang)], hangup=True)
    if answers.state_of(invitation) != "open":
        said = scripts.voice_reply("closed", lang)
        return _remember(invitation, call_id, place, pressed, Step(lang, [said], hangup=True))
    if question_index == len(questions):
        step = _consent(invitation, questions, lang, attempt, digits, finished_on_key, call_id)
        return _remember(invitation, call_id, place, pressed, step)
    question = questions[question_index]
    keys = replies.parse_keypad(
        question.kind, digits, finished_on_key, len(question.choices), question.required
    )
    delivery = _delivery(invitation, call_id)
    if keys.state == "stop":
        _stop_calls(invitation, delivery, call_id)
        step = Step(lang, [scripts.voice_reply("stopped", lang)], hangup=True)
        return _remember(invitation, call_id, place, pressed, step)
    if keys.state in ("silence", "invalid") and attempt == 0:
        step = _ask(
            questions, question, lang, attempt=1, before=[scripts.voice_reply("again", lang)]
        )
        return _remember(invitation, call_id, place, pressed, step)
    response = answers.response_of(invitation)
    if keys.state == "answer":
        value = _value(question, keys.value)
        try:
            response = answers.record(invitation, question, value, VOICE, lang, clock.now())
        except answers.ResponseClosed:
            # Closed as a partial a moment ago: counted as it was; thank and hang up.
            db.session.rollback()
            step = Step(lang, [scripts.voice_reply("done", lang)], hangup=True)
            return _remember(invitation, call_id, place, pressed, step)
        if delivery is not None:
            status.record_answered(delivery)
    following = _next(questions, question, answers.given_values(response))
    if following is None:
        step = _end(invitation, questions, lang, [])
        return _remember(invitation, call_id, place, pressed, step)
    step = _ask(questions, following, lang, attempt=0)
    return _remember(invitation, call_id, place, pressed, step)


def _stop_calls(invitation: Invitation, delivery: Delivery | None, call_id: str) -> None:
    """Star on the keypad: the customer and the number called opt out of every channel."""
    source = f"call:{call_id}"
    if delivery is None:
        optouts.opt_out("keypad", source, customer=invitation.customer)
        return
    optouts.refuse_from_address("phone", delivery.address, "keypad", source, invitation.customer)


def _next(
    questions: list[Question],
    after: Question | None,
    given: dict,
    skip_answered: bool = False,
) -> Question | None:
    current = after
    while True:
        found = answers.next_question(questions, current, given)
        if found is None or not (skip_answered and found.key in given):
            return found
        current = found


def _ask(questions: list[Question], question: Question, lang: str, attempt: int, before=()) -> Step:
    prompt = scripts.voice_prompt(question, lang)
    digits = 2 if prompt.key_presses > 1 else 1
    gather = Gather(question=questions.index(question), attempt=attempt, num_digits=digits)
    return Step(lang, [*before, prompt.text], gather=gather)


def _end(invitation: Invitation, questions: list[Question], lang: str, before: list[str]) -> Step:
    """After the last question: ask for consent when a follow-up rule matches, else complete."""
    response = answers.response_of(invitation)
    if response is None or not response.answers:
        return Step(lang, [*before, scripts.voice_reply("goodbye", lang)], hangup=True)
    if answers.wants_consent(response):
        # The completing step asks it; the step is recorded (and this committed) with it.
        answers.mark_consent_asked(response)
        return _ask_consent(questions, lang, 0, [*before, scripts.voice_reply("consent", lang)])
    return _complete(invitation, lang, before, None)


def _ask_consent(questions: list[Question], lang: str, attempt: int, say: list[str]) -> Step:
    gather = Gather(question=len(questions), attempt=attempt, num_digits=1)
    return Step(lang, say, gather=gather)


def _consent(
    invitation: Invitation,
    questions: list[Question],
    lang: str,
    attempt: int,
    digits: str | None,
    finished_on_key: str | None,
    call_id: str,
) -> Step:
    """Act on the key pressed at "press 1 if we may call you": complete with the answer."""
    keys = replies.parse_keypad("yes_no", digits, finished_on_key)
    if keys.state == "stop":
        _stop_calls(invitation, _delivery(invitation, call_id), call_id)
        return Step(lang, [scripts.voice_reply("stopped", lang)], hangup=True)
    if keys.state != "answer":
        if attempt == 0:
            again = [scripts.voice_reply("again", lang), scripts.voice_reply("consent", lang)]
            return _ask_consent(questions, lang, 1, again)
        return _complete(invitation, lang, [], None)  # asked twice, no answer: no call
    return _complete(invitation, lang, [], keys.value == 1)


def _complete(invitation: Invitation, lang: str, before: list[str], consent: bool | None) -> Step:
    """Complete the response (with the customer's consent, if given), thank, hang up."""
    thanks = invitation.version.thanks(lang).strip() or scripts.voice_reply("thanks", lang)
    # complete() commits the answers with the completion (or rolls back when the web
    # finished first); the step is recorded after it either way.
    if not answers.complete(invitation, VOICE, lang, consent=consent):
        return Step(lang, [scripts.voice_reply("done", lang)], hangup=True)
    return Step(lang, [*before, thanks], hangup=True)


def _value(question: Question, value: int | str | None):
    if question.kind == "single_choice" and isinstance(value, int):
        return question.choices[value - 1]
    return value


def _delivery(invitation: Invitation, call_id: str) -> Delivery | None:
    return next((d for d in invitation.deliveries if d.provider_id == call_id), None)


def _key(call_id: str, place: str) -> str:
    return f"{call_id}:{place}"[:200]


def _recorded(call_id: str, place: str) -> InboundEvent | None:
    return db.session.scalar(
        sa.select(InboundEvent).where(
            InboundEvent.kind == VOICE, InboundEvent.key == _key(call_id, place)
        )
    )


def _remember(invitation: Invitation, call_id: str, place: str, pressed: str, step: Step) -> Step:
    """Record the step with what it changed, once; a repeat that won the race answers instead."""
    db.session.add(
        InboundEvent(
            kind=VOICE,
            key=_key(call_id, place),
            invitation_id=invitation.id,
            body=replies.storable(pressed, 200),
            answer=step.dumps(),
        )
    )
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        again = _recorded(call_id, place)
        if again is not None:
            return Step.loads(again.answer)
    return step
