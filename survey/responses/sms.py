"""Two-way SMS: read a customer's reply, record it, and say what comes next.

The same code answers Twilio's inbound webhook and a reply typed at
/dev/outbox. A reply is first a keyword (STOP and its forms opt out of every
channel; START opts back in only a number that is opted out; HELP says who we
are), else the answer to the question the invitation is waiting on: recorded
through the one answer service, then the next question (conditions decide), or
the thanks once the last is answered. A reply we cannot read gets one re-ask
naming the valid range; a second miss gets the link to finish on the web.

Each inbound message is recorded under its message id in the same transaction
as its effects, so a webhook Twilio repeats changes nothing twice and gets the
same answer back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa

from survey import addresses, clock
from survey.channels import messages, scripts
from survey.channels.signature import signed_sms
from survey.extensions import db
from survey.models import Delivery, InboundEvent, Invitation, Question
from survey.responses import answers, optouts, replies

log = logging.getLogger(__name__)

SMS = "sms"
# What the invitation awaits once the questions are answered and a follow-up rule matched.
CONSENT_KEY = "__followup_consent__"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Turn:
    """What our side says back to one inbound SMS (already signed), and about which invitation."""

    reply: str
    invitation_id: int | None


def handle(from_number: str, body: str, message_id: str) -> Turn:
    """Act once on an inbound SMS from a number and return what to answer; commits.

    :param from_number: the sender in E.164, as Twilio posts ``From``.
    :param body: the text as received: any script, any length, any characters.
    :param message_id: Twilio's ``MessageSid`` (or the outbox's own id): a repeat is a no-op.
    """
    earlier = _recorded(message_id)
    if earlier is not None:
        return Turn(earlier.answer, earlier.invitation_id)
    waiting = _waiting_invitation(from_number)
    latest = waiting or _latest_invitation(from_number)
    lang = _language(latest, from_number, body)
    invitation_id, text = _act(from_number, body, message_id, waiting, latest, lang)
    reply = signed_sms(text, lang)
    if not _record(message_id, from_number, body, invitation_id, reply):
        # Another process took the same message first; its answer stands.
        again = _recorded(message_id)
        if again is not None:
            return Turn(again.answer, again.invitation_id)
    return Turn(reply, invitation_id)


def _act(
    number: str,
    body: str,
    message_id: str,
    waiting: Invitation | None,
    latest: Invitation | None,
    lang: str,
) -> tuple[int | None, str]:
    """Do what the message asks; return the invitation it concerned and the unsigned reply."""
    kind = replies.keyword(body)
    latest_id = latest.id if latest else None
    if kind == "stop":
        optouts.refuse_from_address(
            "phone",
            number,
            "keyword",
            f"sms:{replies.normalise(body)[:20]}:{message_id}",
            latest.customer if latest else None,
        )
        _stop_waiting(number)
        log.info("SMS opt-out from a number (invitation %s)", latest_id)
        return latest_id, scripts.sms_reply("stopped", lang)
    if kind == "start":
        address = addresses.find_address("phone", number)
        if address is not None and optouts.address_opted_out(address.id):
            optouts.opt_in(address)
            return latest_id, scripts.sms_reply("started", lang)
        # Not opted out: YES is an answer to a yes/no question, like any other reply.
    if kind == "help":
        return latest_id, scripts.sms_reply("help", lang)
    if waiting is None:
        return latest_id, _nothing_waiting(latest, lang)
    if answers.state_of(waiting) != "open":
        waiting.sms_question_key = None
        return waiting.id, _nothing_waiting(waiting, lang)
    return waiting.id, _answer(waiting, body, lang)


def _answer(invitation: Invitation, body: str, lang: str) -> str:
    if invitation.sms_question_key == CONSENT_KEY:
        return _consent(invitation, body, lang)
    questions = scripts.sms_questions(invitation.version)
    question = next((q for q in questions if q.key == invitation.sms_question_key), None)
    if question is None:  # the awaited question is gone from the version: nothing to answer
        invitation.sms_question_key = None
        return _nothing_waiting(invitation, lang)
    choices = [(c.value, c.label_zh, c.label_en) for c in question.choices]
    reply = replies.parse_sms_answer(question.kind, body, choices, question.required)
    if reply.state == "invalid":
        invitation.sms_misses += 1
        if invitation.sms_misses == 1:
            return scripts.sms_reply("reask", lang, how=scripts.sms_how(question, lang))
        return scripts.sms_reply("web", lang, link=messages.survey_link(invitation))
    now = clock.now()
    response = answers.response_of(invitation)
    if reply.state == "answer":
        value = _value(question, reply.value)
        try:
            response = answers.record(invitation, question, value, SMS, lang, now)
        except answers.ResponseClosed:
            # Closed as a partial a moment ago (idle hours): counted as it was; say so.
            invitation_id = invitation.id
            db.session.rollback()
            invitation = db.session.get_one(Invitation, invitation_id)
            invitation.sms_question_key = None
            return _nothing_waiting(invitation, lang)
    following = answers.next_question(questions, question, answers.given_values(response))
    if following is not None:
        invitation.sms_question_key = following.key
        invitation.sms_misses = 0
        number = questions.index(following) + 1
        return scripts.sms_question_text(following, lang, number, len(questions))
    if answers.wants_consent(response):
        # The completing step: may the bank call about this? The reply completes it.
        answers.mark_consent_asked(response, now)
        invitation.sms_question_key = CONSENT_KEY
        invitation.sms_misses = 0
        return scripts.sms_reply("consent", lang)
    return _finish(invitation, lang)


def _consent(invitation: Invitation, body: str, lang: str) -> str:
    """Read the reply to "may we call you?": 1 (or yes) completes with consent, 2 without."""
    reply = replies.parse_sms_answer("yes_no", body)
    if reply.state != "answer":
        invitation.sms_misses += 1
        return scripts.sms_reply("consent_again", lang)
    return _finish(invitation, lang, consent=reply.value == 1)


def _finish(invitation: Invitation, lang: str, consent: bool | None = None) -> str:
    """Complete the response with the last SMS answer; the thanks, or why it was not needed."""
    thanks = invitation.version.thanks(lang).strip() or scripts.sms_reply("thanks", lang)
    invitation_id = invitation.id
    # complete() commits (or rolls back when the web finished it first); the inbound
    # record is written after it, in its own transaction, either way.
    if answers.complete(invitation, SMS, lang, consent=consent):
        return thanks
    invitation = db.session.get_one(Invitation, invitation_id)
    return _nothing_waiting(invitation, lang)


def _value(question: Question, value: int | str | None):
    if question.kind == "single_choice":
        return next(c for c in question.choices if c.value == value)
    return value


def _nothing_waiting(invitation: Invitation | None, lang: str) -> str:
    if invitation is None:
        return scripts.sms_reply("unknown", lang)
    state = answers.state_of(invitation)
    if state == "completed":
        return scripts.sms_reply("done", lang)
    if state == "closed":
        return scripts.sms_reply("closed", lang)
    return scripts.sms_reply("unknown", lang)


def _stop_waiting(number: str) -> None:
    """After STOP, no question is awaited from this number any more."""
    ids = _sms_invitation_ids(number)
    if ids:
        db.session.execute(
            sa.update(Invitation)
            .where(Invitation.id.in_(ids), Invitation.sms_question_key.is_not(None))
            .values(sms_question_key=None)
            .execution_options(synchronize_session=False)
        )


def _sms_invitation_ids(number: str) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Delivery.invitation_id).where(
                Delivery.channel == SMS,
                Delivery.address.in_(addresses.stored_forms("phone", number)),
            )
        )
    )


def _waiting_invitation(number: str) -> Invitation | None:
    """The most recent invitation sent to this number that awaits an SMS answer."""
    return db.session.scalar(
        sa.select(Invitation)
        .join(Delivery, Delivery.invitation_id == Invitation.id)
        .where(
            Delivery.channel == SMS,
            Delivery.address == number,
            Invitation.sms_question_key.is_not(None),
            Invitation.state == "sent",
        )
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
        .limit(1)
    )


def _latest_invitation(number: str) -> Invitation | None:
    """The most recent invitation this number got by SMS, whatever became of it."""
    return db.session.scalar(
        sa.select(Invitation)
        .join(Delivery, Delivery.invitation_id == Invitation.id)
        .where(
            Delivery.channel == SMS,
            # Its SMS of long ago have the number's pseudonym (retention): STOP still finds
            # the customer it reached.
            Delivery.address.in_(addresses.stored_forms("phone", number)),
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )


def _language(invitation: Invitation | None, number: str, body: str) -> str:
    """Answer in the customer's language; a stranger in the script they wrote in."""
    if invitation is not None:
        return "en" if invitation.locale == "en" else "zh"
    if CJK.search(body or "") or number.startswith("+86"):
        return "zh"
    return "en"


def _recorded(message_id: str) -> InboundEvent | None:
    return db.session.scalar(
        sa.select(InboundEvent).where(InboundEvent.kind == SMS, InboundEvent.key == message_id)
    )


def _record(message_id: str, number: str, body: str, invitation_id: int | None, reply: str) -> bool:
    """Write the inbound record with everything the message changed; False if a repeat won."""
    db.session.add(
        InboundEvent(
            kind=SMS,
            key=message_id,
            invitation_id=invitation_id,
            address=number[:254],
            body=replies.storable(body),
            answer=reply,
        )
    )
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False
    return True
