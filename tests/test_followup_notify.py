"""The owner of a follow-up case is e-mailed once when it becomes theirs and once when it is
overdue: through SMTP when configured, else the outbox; marked before sending, never twice."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.followup import notify, service
from survey.models import OutboxMessage
from tests.test_followup_cases import SATURDAY_NIGHT, quality, unhappy  # noqa: F401


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_new_case_is_mailed_to_its_owner_once_through_the_outbox(unhappy, quality):  # noqa: F811
    quality[0].locale = "en"
    db.session.commit()
    case = unhappy()
    assert notify.send_due() == 1
    [mail] = _outbox()
    assert mail.to == "q1@bank.example" and mail.channel == "email"
    assert mail.subject == f"Follow-up case {case.id} is yours"
    assert f"http://survey.test/followups/{case.id}" in mail.body
    assert notify.send_due() == 0 and len(_outbox()) == 1


def test_a_reassigned_case_is_mailed_to_the_new_owner(unhappy, quality):  # noqa: F811
    case = unhappy()
    notify.send_due()
    service.reassign(quality[0], case, quality[1].id)
    db.session.commit()
    assert notify.send_due() == 1
    assert [m.to for m in _outbox()] == ["q1@bank.example", "q2@bank.example"]
    assert _outbox()[1].subject == f"回访工单 {case.id} 已分配给您"  # q2 has no language: zh


def test_an_overdue_case_is_mailed_once_when_it_becomes_overdue(unhappy, quality):  # noqa: F811
    clock.freeze(SATURDAY_NIGHT)
    unhappy()
    notify.send_due()
    clock.freeze(datetime(2026, 12, 2, 6, 59, tzinfo=UTC))
    assert notify.send_due() == 0
    clock.freeze(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
    assert notify.send_due() == 1
    assert notify.send_due() == 0
    assert len(_outbox()) == 2


def test_a_notice_marked_before_a_crash_is_never_sent_again(unhappy, quality):  # noqa: F811
    case = unhappy()
    # The worker marked the notice, then died before sending it.
    assert notify._claim(case.id, "new", clock.now())
    assert notify.send_due() == 0 and _outbox() == []


def test_with_smtp_configured_the_notice_goes_by_email(app, smtp_server, unhappy, quality):  # noqa: F811
    app.config.update(SURVEY_SMTP_URL=smtp_server.url, SURVEY_MAIL_FROM="survey@bank.example")
    case = unhappy()
    assert notify.send_due() == 1
    (mail,) = smtp_server.handler.messages()
    assert mail["To"] == "q1@bank.example"
    assert str(case.id) in mail["Subject"]
    assert _outbox() == []
