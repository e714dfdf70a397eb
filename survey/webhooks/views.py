"""Twilio webhooks: inbound SMS, the call's TwiML steps, and status callbacks.

Each view checks Twilio's signature, reads the form, calls a service and
renders TwiML; the services record what came in once, so Twilio's retries
change nothing twice.
"""

from __future__ import annotations

from flask import Response, request

from survey import busy
from survey.dispatch import status
from survey.responses import sms, voice
from survey.webhooks import bp, twiml
from survey.webhooks.security import twilio_signed

XML = "text/xml; charset=utf-8"


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml", content_type=XML)


def _field(name: str, limit: int = 200) -> str:
    """A short field Twilio fills (a number, a SID, a status), or "" when it is not one.

    Twilio never puts control characters in them; a value that has one (NUL, which
    PostgreSQL cannot even compare) is treated as missing, so it is answered like a
    request without it and changes nothing.
    """
    value = (request.form.get(name) or "").strip()[:limit]
    return "" if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) else value


@bp.route("/twilio/sms", methods=["POST"])
@twilio_signed
def inbound_sms():
    """Answer an SMS from a customer: a keyword, the answer to the question awaited, or help."""
    sender, message_id = _field("From", 40), _field("MessageSid")
    if not sender or not message_id:
        return _xml(twiml.message(None))
    # Twilio does not post a message again after an error: contention is waited out here.
    turn = busy.retry_when_busy(
        lambda: sms.handle(sender, request.form.get("Body") or "", message_id)
    )
    return _xml(twiml.message(turn.reply))


@bp.route("/twilio/status", methods=["POST"])
@twilio_signed
def status_callback():
    """Record what Twilio says became of a message or a call; always acknowledge."""
    if request.form.get("CallSid") and not request.form.get("MessageSid"):
        busy.retry_when_busy(
            lambda: status.call_status(
                _field("CallSid"), _field("CallStatus", 40), _field("AnsweredBy", 40) or None
            )
        )
    else:
        busy.retry_when_busy(
            lambda: status.message_status(
                _field("MessageSid"),
                _field("MessageStatus", 40) or _field("SmsStatus", 40),
                _field("ErrorCode", 20) or None,
            )
        )
    return Response(status=204)


@bp.route("/twilio/voice/<int:invitation_id>", methods=["POST"])
@twilio_signed
def voice_call(invitation_id: int):
    """Start the call when it is picked up: greet, then ask the first question."""
    step = busy.retry_when_busy(
        lambda: voice.start(invitation_id, _field("CallSid"), _field("AnsweredBy", 40) or None)
    )
    return _xml(twiml.call_step(step, invitation_id))


@bp.route("/twilio/voice/<int:invitation_id>/gather", methods=["POST"])
@twilio_signed
def voice_gather(invitation_id: int):
    """Take the keys pressed for one question and say what comes next."""
    question = request.args.get("q", type=int)
    attempt = request.args.get("attempt", type=int)
    if question is None or attempt is None:
        return _xml(twiml.call_step(voice.Step("zh", hangup=True), invitation_id))
    step = busy.retry_when_busy(
        lambda: voice.gather(
            invitation_id,
            _field("CallSid"),
            question,
            attempt,
            request.form.get("Digits"),
            request.form.get("FinishedOnKey"),
        )
    )
    return _xml(twiml.call_step(step, invitation_id))
