"""Versions: publishing freezes a draft, edits go to a new draft, answers keep their version."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.designer import service
from survey.extensions import db
from survey.models import (
    AuditEvent,
    Customer,
    Interaction,
    Invitation,
    Response,
    SurveyVersion,
)


def _form(version: SurveyVersion, **extra) -> dict:
    return {"lock_version": str(version.lock_version), **extra}


def test_publishing_freezes_the_draft_and_records_who_and_when(
    manager_client, make_survey, manager
):
    survey = make_survey()
    draft = survey.versions[0]
    response = manager_client.post(f"/designer/surveys/{survey.id}/publish", data=_form(draft))
    assert response.status_code == 302
    db.session.expire_all()
    version = db.session.get(SurveyVersion, draft.id)
    assert version.state == "published"
    assert version.published_by_id == manager.id
    assert version.published_at is not None
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "survey.publish"))
    assert [e.entity_id for e in events] == [str(version.id)]
    history = manager_client.get(f"/designer/surveys/{survey.id}/versions").get_data(as_text=True)
    assert "manager@bank.example" in history


def test_a_published_version_cannot_be_edited_in_place(manager_client, make_survey, manager):
    survey = make_survey(publish=True, by=manager)
    live = survey.versions[0]
    question = live.questions[0]
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/{question.id}",
        data=_form(live, kind="rating_5", text_zh="改了", text_en="Changed", ask_web="y"),
    )
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(SurveyVersion, live.id).questions[0].text_en == question.text_en


def test_editing_a_published_survey_starts_a_new_draft_copying_the_live_version(
    manager_client, make_survey, manager
):
    survey = make_survey(publish=True, by=manager)
    live = survey.versions[0]
    assert manager_client.post(f"/designer/surveys/{survey.id}/draft").status_code == 302
    db.session.expire_all()
    versions = db.session.get(type(survey), survey.id).versions
    assert [(v.number, v.state) for v in versions] == [(1, "published"), (2, "draft")]
    draft = versions[1]
    assert [q.key for q in draft.questions] == [q.key for q in live.questions]
    assert [q.text_zh for q in draft.questions] == [q.text_zh for q in live.questions]
    first = draft.questions[0]
    manager_client.post(
        f"/designer/surveys/{survey.id}/questions/{first.id}",
        data=_form(
            draft,
            kind="rating_5",
            dimension="attitude",
            text_zh="新问题",
            text_en="New wording",
            required="y",
            ask_web="y",
            ask_sms="y",
            ask_voice="y",
        ),
    )
    db.session.expire_all()
    assert db.session.get(SurveyVersion, live.id).questions[0].text_en != "New wording"
    assert db.session.get(SurveyVersion, draft.id).questions[0].text_en == "New wording"


def test_publishing_the_new_draft_retires_the_old_version(make_survey, manager):
    survey = make_survey(publish=True, by=manager)
    draft = service.start_draft(survey)
    db.session.flush()
    service.publish(draft, manager.id)
    db.session.commit()
    db.session.expire_all()
    states = [(v.number, v.state) for v in db.session.get(type(survey), survey.id).versions]
    assert states == [(1, "retired"), (2, "published")]
    assert db.session.get(type(survey), survey.id).published().number == 2


def test_old_responses_keep_the_version_they_answered(make_survey, manager):
    survey = make_survey(publish=True, by=manager)
    v1 = survey.versions[0]
    customer = Customer(external_id="C-1")
    interaction = Interaction(
        external_id="CALL-1",
        occurred_at=clock.now(),
        channel="phone",
        type="inquiry",
        customer=customer,
    )
    invitation = Invitation(
        interaction=interaction,
        customer=customer,
        version=v1,
        token="t" * 43,
        unsubscribe_token="u" * 43,
        scheduled_at=clock.now(),
        expires_at=clock.now() + timedelta(days=3),
    )
    db.session.add(Response(invitation=invitation, version=v1, survey_channel="web", locale="zh"))
    db.session.commit()
    draft = service.start_draft(survey)
    db.session.flush()
    service.save_question(
        draft,
        draft.lock_version,
        {
            "kind": "yes_no",
            "dimension": None,
            "text_zh": "新增",
            "text_en": "Added",
            "required": True,
            "ask_web": True,
            "ask_sms": True,
            "ask_voice": True,
            "condition": None,
            "choices": [],
        },
    )
    service.publish(draft, manager.id)
    db.session.commit()
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response))
    assert response.version.number == 1
    assert response.invitation.version.number == 1
    assert len(response.version.questions) == len(v1.questions)


def test_publishing_needs_both_languages(manager_client, make_survey):
    survey = make_survey()
    draft = survey.versions[0]
    draft.questions[1].text_en = ""
    db.session.commit()
    response = manager_client.post(f"/designer/surveys/{survey.id}/publish", data=_form(draft))
    assert response.status_code == 400
    assert "Question 2 needs its text in both Chinese and English" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(SurveyVersion, draft.id).state == "draft"


def test_diff_shows_added_removed_and_changed_questions(manager_client, make_survey, manager):
    survey = make_survey(publish=True, by=manager)
    draft = service.start_draft(survey)
    db.session.flush()
    draft.questions[0].text_en = "How friendly were we?"
    service.delete_question(draft, draft.lock_version, draft.questions[-1])
    service.save_question(
        draft,
        draft.lock_version,
        {
            "kind": "yes_no",
            "dimension": None,
            "text_zh": "问题解决了吗？",
            "text_en": "Was it solved?",
            "required": True,
            "ask_web": True,
            "ask_sms": True,
            "ask_voice": True,
            "condition": None,
            "choices": [],
        },
    )
    db.session.commit()
    page = manager_client.get(f"/designer/surveys/{survey.id}/diff?from=1&to=2").get_data(
        as_text=True
    )
    assert "Question added" in page and "Was it solved?" in page
    assert (
        "Question removed" in page and "Is there anything else you would like to tell us?" in page
    )
    assert "How friendly were we?" in page


@pytest.mark.app_config()
def test_publishing_with_approval_needs_a_second_manager(
    make_survey, make_user, signed_in, manager
):
    from survey import settings

    settings.put("publish_needs_approval", True)
    db.session.commit()
    survey = make_survey()
    draft = survey.versions[0]
    first = signed_in(manager)
    first.post(f"/designer/surveys/{survey.id}/publish", data=_form(draft))
    db.session.expire_all()
    draft = db.session.get(SurveyVersion, draft.id)
    assert draft.state == "draft" and draft.publish_requested_by_id == manager.id
    first.post(f"/designer/surveys/{survey.id}/publish", data=_form(draft))
    db.session.expire_all()
    assert db.session.get(SurveyVersion, draft.id).state == "draft"
    second_manager = make_user("manager", email="second@bank.example")
    signed_in(second_manager).post(f"/designer/surveys/{survey.id}/publish", data=_form(draft))
    db.session.expire_all()
    version = db.session.get(SurveyVersion, draft.id)
    assert version.state == "published"
    assert version.published_by_id == second_manager.id
