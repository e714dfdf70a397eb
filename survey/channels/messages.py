"""The SMS, e-mail and voice texts of an invitation, in the customer's language.

The texts are written here in both languages rather than looked up in the
staff catalogue: they follow the customer's language, not the viewer's, their
length decides SMS segments (70 Chinese characters each), and the opt-out
keyword differs per language. The survey designer's previews reuse these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from survey import settings
from survey.channels.base import Message
from survey.models import Invitation, Question

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
        return Message(channel="sms", to=to, body=sms_text(invitation))
    if channel == "email":
        return email_message(invitation, to)
    if channel == "voice":
        return Message(channel="voice", to=to, body=voice_script(invitation))
    raise ValueError(f"unknown survey channel {channel!r}")


SMS_STOP = {"zh": "回复TD退订", "en": "Reply STOP to opt out"}


def sms_signature(lang: str) -> str:
    """The bank's SMS signature: the registered 【…】 one in Chinese, the bank's name in English."""
    if lang == "zh":
        return settings.get("sms_signature")
    return f"[{settings.get('bank_name_en')}]"


def signed_sms(body: str, lang: str) -> str:
    """Frame one survey SMS as every one is sent: the signature first, then the body, then how to stop.

    Chinese carriers accept the 【signature】 at either end; putting it first in
    every message, link and two-way alike, keeps the product consistent.
    """
    if lang == "zh":
        return f"{sms_signature(lang)}{body} {SMS_STOP[lang]}"
    return f"{sms_signature(lang)} {body} {SMS_STOP[lang]}"


def sms_text(invitation: Invitation) -> str:
    """Return the SMS: the bank's signature, one sentence, the link, how to stop."""
    link = survey_link(invitation)
    if _lang(invitation) == "zh":
        return signed_sms(f"您好，感谢您近期联系我们。请花一分钟评价本次服务：{link}", "zh")
    return signed_sms(
        f"Thank you for contacting us. Please rate our service in one minute: {link}", "en"
    )


def voice_script(invitation: Invitation) -> str:
    """Return the whole phone callback, a line per thing said, as the designer previews it."""
    # Imported here: scripts frames its two-way SMS with this module's signed_sms.
    from survey.channels import scripts

    opening, prompts, thanks = scripts.voice_script(invitation.version, _lang(invitation))
    return "\n".join([opening, *(p.text for p in prompts), *([thanks] if thanks else [])])


def first_rating(invitation: Invitation) -> Question | None:
    """Return the first 5-point question, the one the e-mail's buttons answer."""
    return next((q for q in invitation.version.questions if q.kind == "rating_5"), None)


def email_message(invitation: Invitation, to: str) -> Message:
    """Return the e-mail: subject, plain text, HTML with one-click ratings, unsubscribe headers."""
    context = _email_context(invitation)
    template = current_app.jinja_env.get_template("channels/email.html")
    unsubscribe = unsubscribe_link(invitation)
    return Message(
        channel="email",
        to=to,
        subject=context["subject"],
        body=_email_text(context),
        html=template.render(**context),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
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
        c["sender"],
        "",
        f"{c['stop']} {c['unsubscribe']}: {c['unsubscribe_link']}",
    ]
    return "\n".join(lines)


def _customer_time(invitation: Invitation, at: datetime) -> str:
    zone = invitation.customer.timezone or settings.get("default_timezone")
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
