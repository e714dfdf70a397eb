"""A test send: the draft as customers will get it, to the manager's own addresses, via the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from survey import clock, settings
from survey.channels import messages, registry, scripts
from survey.channels.base import Message
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


@dataclass
class SendReport:
    """Where a test send went: messages left in the outbox, sent by a real provider, refused."""

    outbox: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.outbox + self.sent + len(self.failed)


def send(version: SurveyVersion, lang: str, email: str, phone: str | None) -> SendReport:
    """Send the e-mail, the link SMS and the two-way SMS to the manager, as customers get them.

    Each goes through the channel that would carry it to a customer: the real
    provider (Twilio, SMTP) when configured, else the outbox. Nothing is stored as
    an invitation or a delivery, so a test send never counts against a customer or
    a score; the audit trail records who sent it, and where. The caller commits.
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
    outgoing = [replace(mail, subject=TEST_MARK[lang] + mail.subject)]
    if phone:
        texts = [
            messages.sms_text(invitation, mainland=True),
            messages.sms_text(invitation),
            *scripts.two_way_messages(version, lang),
        ]
        outgoing += [Message(channel="sms", to=phone, body=_marked_sms(t, lang)) for t in texts]
    report = SendReport()
    for message in outgoing:
        _send_one(message, report)
    trail.version_change(
        "survey.test_send",
        version,
        after={
            "lang": lang,
            "email": email,
            "phone": phone,
            "messages": report.total,
            "failed": report.failed,
        },
    )
    return report


def _send_one(message: Message, report: SendReport) -> None:
    if registry.provider_for(message.channel) == "outbox":
        db.session.add(
            OutboxMessage(
                channel=message.channel,
                to=message.to,
                subject=message.subject,
                body=message.body,
                html=message.html,
            )
        )
        report.outbox += 1
        return
    # No delivery row: a test send is nobody's invitation (the provider's own id is enough).
    result = registry.channel_for(message.channel).send(0, message)
    if result.ok:
        report.sent += 1
    else:
        report.failed.append(f"{message.channel} {message.to}: {result.error}")
