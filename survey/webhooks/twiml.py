"""TwiML, the XML Twilio reads back from our webhooks: a reply SMS, or the call's next step."""

from __future__ import annotations

from flask import current_app, url_for
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from survey.responses.voice import Step

# Mandarin and English neural voices Twilio offers for <Say>.
VOICES = {"zh": ("cmn-CN", "Polly.Zhiyu"), "en": ("en-US", "Polly.Joanna")}


def message(text: str | None) -> str:
    """Answer an inbound SMS with one message (or with nothing)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def _absolute(endpoint: str, **values: object) -> str:
    # Twilio signs the URL it calls; our public base keeps that the URL the check rebuilds.
    base = current_app.config["SURVEY_PUBLIC_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


def call_step(step: Step, invitation_id: int) -> str:
    """Say the step's sentences, then gather keys for its question, or hang up."""
    language, voice = VOICES[step.lang]
    response = VoiceResponse()
    if step.gather is None:
        for sentence in step.say:
            response.say(sentence, language=language, voice=voice)
        response.hangup()
        return str(response)
    g = step.gather
    gather = response.gather(
        input="dtmf",
        num_digits=g.num_digits,
        finish_on_key=g.finish_on_key,
        timeout=g.timeout,
        action=_absolute(
            "webhooks.voice_gather", invitation_id=invitation_id, q=g.question, attempt=g.attempt
        ),
        method="POST",
        action_on_empty_result=True,
    )
    # Said inside <Gather>, so a key pressed while it speaks answers at once.
    for sentence in step.say:
        gather.say(sentence, language=language, voice=voice)
    return str(response)
