"""A test send: the draft as customers will get it, to the manager's own addresses, via the outbox."""

from __future__ import annotations

from datetime import timedelta

from survey import clock, settings
from survey.channels import messages, scripts
from survey.designer import trail
from survey.extensions import db
from survey.models import Customer, Invitation, OutboxMessage, SurveyVersion
from survey.models.invitation import new_token

TEST_MARK = {"zh": "【测试】", "en": "[TEST] "}
# In an SMS the mark follows the signature, which must stay first, and is not in 【】,
# which carriers read as a signature.
SMS_TEST_MARK = {"zh": "（测试）", "en": "[TEST] "}


def _marked_sms(text: str, lang: str) -> str:
    signature = messages.sms_signature(lang)
    if lang == "en":
        signature += " "
    return signature + SMS_TEST_MARK[lang] + text.removeprefix(signature)


def send(version: SurveyVersion, lang: str, email: str, phone: str | None) -> int:
    """Write the e-mail, the link SMS and the two-way SMS to the outbox; return how many.

    Nothing is stored as an invitation, so a test send never counts against a
    customer or a score; the audit trail records who sent it, and where. The
    caller commits.
    """
    # A stand-in invitation, never stored, so the real renderers produce the real texts.
    invitation = Invitation(
        token=new_token(),
        unsubscribe_token=new_token(),
        locale=lang,
        expires_at=clock.now() + timedelta(hours=int(settings.get("link_lifetime_hours"))),
    )
    invitation.version = version
    invitation.customer = Customer(external_id="test", name="", locale=lang)
    mail = messages.email_message(invitation, email)
    rows = [
        OutboxMessage(
            channel="email",
            to=email,
            subject=TEST_MARK[lang] + mail.subject,
            body=mail.body,
            html=mail.html,
        )
    ]
    if phone:
        texts = [
            messages.sms_text(invitation, mainland=True),
            messages.sms_text(invitation),
            *scripts.two_way_messages(version, lang),
        ]
        rows += [
            OutboxMessage(channel="sms", to=phone, subject="", body=_marked_sms(t, lang))
            for t in texts
        ]
    db.session.add_all(rows)
    trail.version_change(
        "survey.test_send",
        version,
        after={"lang": lang, "email": email, "phone": phone, "messages": len(rows)},
    )
    return len(rows)
