"""How every survey SMS is framed: the bank's signature first, the body, how to stop last.

Chinese carriers require the registered 【signature】; they accept it at either
end, and putting it first in every message, link and two-way alike, keeps the
product consistent. Where replies reach us the stop line is a keyword; where
they cannot (mainland China numbers, which Twilio cannot receive replies from)
it is a short unsubscribe link. A survey's first message (the invitation, the
reminder) also says what the bank never asks, just before how to stop.
"""

from __future__ import annotations

from survey import settings
from survey.channels.trust import sms_trust_line

SMS_STOP = {"zh": "回复TD退订", "en": "Reply STOP to opt out"}
SMS_STOP_LINK = {"zh": "退订：{link}", "en": "Opt out: {link}"}


def sms_signature(lang: str) -> str:
    """The bank's SMS signature: the registered 【…】 one in Chinese, the bank's name in English."""
    if lang == "zh":
        return settings.get("sms_signature")
    return f"[{settings.get('bank_name_en')}]"


def stop_line(lang: str, unsubscribe_link: str | None = None) -> str:
    """How to stop: the keyword to reply, or the unsubscribe link where replies cannot reach us."""
    if unsubscribe_link:
        return SMS_STOP_LINK[lang].format(link=unsubscribe_link)
    return SMS_STOP[lang]


def signed_sms(
    body: str, lang: str, unsubscribe_link: str | None = None, trust: bool = False
) -> str:
    """Frame one survey SMS as every one is sent: the signature, the body, how to stop.

    ``trust`` adds the short anti-fraud line before the stop line (invitations, reminders).
    """
    stop = stop_line(lang, unsubscribe_link)
    if trust:
        stop = f"{sms_trust_line(lang)} {stop}"
    if lang == "zh":
        return f"{sms_signature(lang)}{body} {stop}"
    return f"{sms_signature(lang)} {body} {stop}"
