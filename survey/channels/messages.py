"""The SMS, e-mail and voice texts of an invitation, in the customer's language.

The texts are written here in both languages rather than looked up in the
staff catalogue: they follow the customer's language, not the viewer's, their
length decides SMS segments (70 Chinese characters each), and the opt-out
keyword differs per language. The survey designer's previews reuse these.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from survey import settings
from survey.channels import scripts
from survey.channels.base import Message
from survey.channels.signature import signed_sms, sms_signature
from survey.channels.trust import sms_trust_line, trust_line
from survey.models import Invitation, Question

__all__ = ["signed_sms", "sms_signature"]  # re-exported: the designer's test send frames with them

RATING_LABELS = {
    "zh": ("非常不满意", "不满意", "一般", "满意", "非常满意"),
    "en": ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"),
}


def survey_link(invitation: Invitation, score: int | None = None) -> str:
    """Return the customer's link to the survey; ``score`` pre-selects the first rating."""
    link = f"{current_app.config['SURVEY_PUBLIC_URL']}/s/{invitation.token}"
    return link if score is None else f"{link}?score={score}"


def unsubscribe_link(invitation: Invitation) -> str:
    """Return the customer's link to stop further surveys (it outlives the survey)."""
    return f"{current_app.config['SURVEY_PUBLIC_URL']}/u/{invitation.unsubscribe_token}"


def _lang(invitation: Invitation) -> str:
    return "en" if invitation.locale == "en" else "zh"


def render(invitation: Invitation, channel: str, to: str) -> Message:
    """Render the message for one survey channel."""
    if channel == "sms":
        if sms_mode(invitation, to) == "two_way":
            body = scripts.two_way_messages(invitation.version, _lang(invitation))[0]
        else:
            body = sms_text(invitation, mainland=not replies_reach_us(to))
        return Message(channel="sms", to=to, body=body, invitation_id=invitation.id)
    if channel == "email":
        return email_message(invitation, to)
    if channel == "voice":
        return Message(
            channel="voice",
            to=to,
            body=voice_script(invitation),
            twiml_url=voice_url(invitation),
            invitation_id=invitation.id,
        )
    raise ValueError(f"unknown survey channel {channel!r}")


# The reminder says it is one, first thing, and still says how to stop.
REMINDER_PREFIX = {"zh": "提醒：", "en": "Reminder: "}
REMINDER_SMS = {
    "zh": "提醒：您还没有评价近期的服务，只需一分钟：{link}",
    "en": "Reminder: you have not rated our recent service yet. It takes a minute: {link}",
}
MAINLAND_REMINDER_TEMPLATES = {
    "zh": "{signature}提醒：{bank}诚邀您评价近期服务：{link} {trust} 退订：{unsubscribe}",
    "en": "{signature} Reminder: {bank} would like your rating of our recent service: {link} "
    "{trust} Opt out: {unsubscribe}",
}


def reminder(invitation: Invitation, channel: str, to: str) -> Message:
    """Render the one reminder for a survey channel: marked as a reminder, with how to stop.

    An SMS reminder is always a link (a reply to it could not tell which question it
    answers); a phone reminder is the call again.
    """
    lang = _lang(invitation)
    if channel == "sms":
        link = survey_link(invitation)
        if replies_reach_us(to):
            body = signed_sms(REMINDER_SMS[lang].format(link=link), lang, trust=True)
        else:
            body = MAINLAND_REMINDER_TEMPLATES[lang].format(
                signature=sms_signature(lang),
                bank=settings.get(f"bank_name_{lang}"),
                link=link,
                trust=sms_trust_line(lang),
                unsubscribe=unsubscribe_link(invitation),
            )
        return Message(channel="sms", to=to, body=body, invitation_id=invitation.id)
    if channel == "email":
        return email_message(invitation, to, reminder=True)
    message = render(invitation, channel, to)
    return replace(message, body=REMINDER_PREFIX[lang] + message.body)


def voice_url(invitation: Invitation) -> str:
    """Return the absolute URL Twilio asks for the call's first TwiML."""
    return f"{current_app.config['SURVEY_PUBLIC_URL']}/webhooks/twilio/voice/{invitation.id}"


def replies_reach_us(phone: str) -> bool:
    """Whether an SMS reply from this number reaches us.

    Twilio cannot receive replies from mainland China (+86) numbers, so they get
    link mode and an unsubscribe link, unless the bank's SMS route allows replies
    (the organisation setting ``sms_two_way_mainland``).
    """
    return not phone.startswith("+86") or bool(settings.get("sms_two_way_mainland"))


def sms_mode(invitation: Invitation, phone: str) -> str:
    """Return how this invitation's SMS to this number goes: ``two_way`` or ``link``."""
    if (
        invitation.sms_mode == "two_way"
        and replies_reach_us(phone)
        and scripts.sms_questions(invitation.version)
    ):
        return "two_way"
    return "link"


# The link SMS to mainland China numbers, which carriers accept only as a registered
# template: the signature, the bank's name and the two links are all that vary.
MAINLAND_TEMPLATES = {
    "zh": "{signature}感谢您联系{bank}，请花一分钟评价本次服务：{link} {trust} 退订：{unsubscribe}",
    "en": "{signature} Thank you for contacting {bank}. Please rate our service: {link} "
    "{trust} Opt out: {unsubscribe}",
}


def mainland_template(lang: str, link: str = "{link}", unsubscribe: str = "{unsubscribe}") -> str:
    """The registered mainland link SMS in one language (placeholders left in by default)."""
    return MAINLAND_TEMPLATES[lang].format(
        signature=sms_signature(lang),
        bank=settings.get(f"bank_name_{lang}"),
        link=link,
        trust=sms_trust_line(lang),
        unsubscribe=unsubscribe,
    )


def sms_text(invitation: Invitation, mainland: bool = False) -> str:
    """Return the link-mode SMS: the signature, one sentence, the link, how to stop.

    To a number whose replies cannot reach us (``mainland``), the fixed mainland
    template, with an unsubscribe link instead of a keyword to reply.
    """
    lang = _lang(invitation)
    link = survey_link(invitation)
    if mainland:
        return mainland_template(lang, link, unsubscribe_link(invitation))
    if lang == "zh":
        return signed_sms(
            f"您好，感谢您近期联系我们。请花一分钟评价本次服务：{link}", "zh", trust=True
        )
    return signed_sms(
        f"Thank you for contacting us. Please rate our service in one minute: {link}",
        "en",
        trust=True,
    )


def voice_script(invitation: Invitation) -> str:
    """Return the whole phone callback, a line per thing said, as the designer previews it."""
    opening, prompts, thanks = scripts.voice_script(invitation.version, _lang(invitation))
    return "\n".join([opening, *(p.text for p in prompts), *([thanks] if thanks else [])])


def first_rating(invitation: Invitation) -> Question | None:
    """Return the first 5-point question, the one the e-mail's buttons answer."""
    return next((q for q in invitation.version.questions if q.kind == "rating_5"), None)


def email_message(invitation: Invitation, to: str, reminder: bool = False) -> Message:
    """Return the e-mail: subject, plain text, HTML with one-click ratings, unsubscribe headers."""
    context = _email_context(invitation)
    if reminder:
        prefix = REMINDER_PREFIX[context["lang"]]
        context["subject"] = prefix + context["subject"]
        context["greeting"] = f"{prefix}{context['greeting']}"
    template = current_app.jinja_env.get_template("channels/email.html")
    unsubscribe = unsubscribe_link(invitation)
    return Message(
        channel="email",
        to=to,
        invitation_id=invitation.id,
        subject=context["subject"],
        body=_email_text(context),
        html=template.render(**context),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Also tells the SMTP channel which of the bank's names to sign the From with.
            "Content-Language": "zh-CN" if context["lang"] == "zh" else "en",
        },
    )


def _email_context(invitation: Invitation) -> dict[str, Any]:
    lang = _lang(invitation)
    version = invitation.version
    name = invitation.customer.name.strip()
    question = first_rating(invitation)
    ratings = (
        [
            {"score": n, "label": RATING_LABELS[lang][n - 1], "url": survey_link(invitation, n)}
            for n in range(1, 6)
        ]
        if question
        else []
    )
    expires = _customer_time(invitation, invitation.expires_at)
    if lang == "zh":
        bank = settings.get("bank_name_zh")
        words = {
            "subject": f"{bank}：请评价您近期的服务体验",
            "greeting": f"尊敬的{name}，您好：" if name else "尊敬的客户，您好：",
            "open": "打开问卷",
            "or_open": "或打开完整问卷：",
            "expires": f"此链接有效期至 {expires}。",
            "stop": "不想再收到满意度调查？",
            "unsubscribe": "退订",
            "sender": bank,
            "trust": trust_line("zh", bank),
        }
    else:
        bank = settings.get("bank_name_en")
        words = {
            "subject": f"{bank}: how did we do?",
            "greeting": f"Dear {name}," if name else "Dear customer,",
            "open": "Open the survey",
            "or_open": "Or open the whole survey:",
            "expires": f"This link works until {expires}.",
            "stop": "Rather not get satisfaction surveys?",
            "unsubscribe": "Unsubscribe",
            "sender": bank,
            "trust": trust_line("en", bank),
        }
    return {
        **words,
        "lang": lang,
        "intro": version.intro(lang),
        "question": question.text(lang) if question else "",
        "ratings": ratings,
        "link": survey_link(invitation),
        "unsubscribe_link": unsubscribe_link(invitation),
    }


def _email_text(c: dict[str, Any]) -> str:
    lines = [c["greeting"], "", c["intro"], ""]
    if c["ratings"]:
        lines += [c["question"]]
        lines += [f"  {r['score']} {r['label']}: {r['url']}" for r in c["ratings"]]
        lines += [""]
        lines += [c["or_open"], c["link"]]
    else:
        lines += [f"{c['open']}: {c['link']}"]
    lines += [
        c["expires"],
        "",
        c["trust"],
        "",
        c["sender"],
        "",
        f"{c['stop']} {c['unsubscribe']}: {c['unsubscribe_link']}",
    ]
    return "\n".join(lines)


def _customer_time(invitation: Invitation, at: datetime) -> str:
    zone = invitation.customer.timezone or settings.get("default_timezone")
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
