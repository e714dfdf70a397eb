"""Complaint cases: posts sharing a complaint.case_id are one case, surveyed once, when resolved."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.dispatch import sending
from survey.extensions import db
from survey.models import ComplaintCase, Interaction, Invitation
from tests.fixtures.dispatch import interaction_body

NOON = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
OPENED = "2026-11-02T09:00:00+08:00"
REPLIED = "2026-11-02T15:00:00+08:00"
RESOLVED = "2026-11-04T10:00:00+08:00"


def _complaint_body(external_id: str, case_id: str | None = "CMP-2026-0042", **block) -> dict:
    complaint = {"case_id": case_id, **block} if case_id else dict(block)
    return interaction_body(
        external_id=external_id,
        type="complaint",
        team="personal-complaints",
        complaint=complaint,
    )


@pytest.fixture
def post_case(post_interaction):
    """Post a complaint of case CMP-2026-0042 at a moment (the clock stops there)."""

    def post(at: datetime, external_id: str, expect: int = 201, **block):
        clock.freeze(at)
        body = _complaint_body(external_id, **block)
        body["occurred_at"] = at.isoformat()
        response = post_interaction(body)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    return post


@pytest.fixture
def resolved_rule(make_org, make_default_rule, make_published_survey):
    """A rule for resolved complaints first (its own survey), the default rule after it."""
    make_org()
    rule = make_default_rule(
        make_published_survey(),
        name="Resolved complaints",
        filters={"type": ["complaint"], "complaint_state": ["resolved"]},
    )
    make_default_rule()
    return rule


def _case() -> ComplaintCase:
    db.session.rollback()
    return db.session.scalars(sa.select(ComplaintCase)).one()


def _invitations() -> list[Invitation]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Invitation)))


def test_the_first_post_of_a_case_creates_the_case(post_case, dispatch_ready):
    answer = post_case(NOON, "CMP-42-OPEN", opened_at=OPENED, cause="process")
    assert answer["suppression_reason"] == "open_complaint"
    case = _case()
    assert case.case_id == "CMP-2026-0042"
    assert case.customer.external_id == "C-88231"
    assert case.opened_at == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert (case.first_reply_at, case.resolved_at) == (None, None)
    assert (case.cause, case.category) == ("process", "credit_card")
    assert case.business_line.code == "personal" and case.team.code == "personal-complaints"
    assert [i.external_id for i in case.interactions] == ["CMP-42-OPEN"]


def test_later_posts_under_new_external_ids_record_the_cases_progress(post_case, dispatch_ready):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    post_case(NOON + timedelta(hours=6), "CMP-42-REPLY", first_reply_at=REPLIED)
    post_case(
        NOON + timedelta(days=2),
        "CMP-42-DONE",
        resolved_at=RESOLVED,
        resolved_first_contact=False,
        cause="system",
    )
    case = _case()
    assert case.opened_at == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert case.first_reply_at == datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    assert case.resolved_at == datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    assert case.resolved_first_contact is False and case.cause == "system"
    assert [i.external_id for i in case.interactions] == [
        "CMP-42-OPEN",
        "CMP-42-REPLY",
        "CMP-42-DONE",
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintCase)) == 1


def test_the_survey_held_while_the_case_is_open_goes_out_once_about_its_resolution(
    post_case, resolved_rule
):
    opened = post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    replied = post_case(NOON + timedelta(hours=6), "CMP-42-REPLY", first_reply_at=REPLIED)
    assert opened["suppression_reason"] == replied["suppression_reason"] == "open_complaint"
    assert _invitations() == []

    resolved = post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    assert resolved["suppression_reason"] is None
    assert resolved["invitation"]["state"] == "scheduled"
    [invitation] = _invitations()
    assert invitation.id == resolved["invitation"]["id"]
    # About the resolution: the resolving post, by the resolved-complaints rule, for the case.
    assert invitation.interaction.external_id == "CMP-42-DONE"
    assert invitation.rule_id == resolved_rule.id
    assert invitation.complaint_case.case_id == "CMP-2026-0042"


def test_a_replay_of_the_resolving_post_answers_the_same_and_invites_once(post_case, resolved_rule):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    first = post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    replay = post_case(NOON + timedelta(days=2), "CMP-42-DONE", expect=200, resolved_at=RESOLVED)
    assert replay == first
    assert len(_invitations()) == 1


def test_a_second_resolving_post_of_the_case_makes_no_second_invitation(post_case, resolved_rule):
    # A window of one day: only the case, not the frequency window, holds the second one.
    settings.put("frequency_window_days", 1)
    db.session.commit()
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    again = post_case(NOON + timedelta(days=9), "CMP-42-DONE-AGAIN", resolved_at=RESOLVED)
    assert again["invitation"] is None and again["suppression_reason"] == "frequency"
    [invitation] = _invitations()
    assert invitation.interaction.external_id == "CMP-42-DONE"


def test_a_case_resolved_at_its_first_post_is_surveyed_then_and_only_then(post_case, resolved_rule):
    first = post_case(NOON, "CMP-42", opened_at=OPENED, resolved_at=REPLIED)
    assert first["suppression_reason"] is None
    note = post_case(NOON + timedelta(hours=1), "CMP-42-NOTE", resolved_first_contact=True)
    assert note["suppression_reason"] == "frequency"
    [invitation] = _invitations()
    assert invitation.complaint_case.resolved_first_contact is True


def test_a_post_that_would_move_a_resolution_back_is_a_conflict_naming_the_field(
    post_case, post_interaction, dispatch_ready
):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    refused = post_case(
        NOON + timedelta(days=3),
        "CMP-42-MOVED",
        expect=409,
        opened_at="2026-11-01T09:00:00+08:00",
        resolved_at="2026-11-05T10:00:00+08:00",
    )
    assert refused["status"] == 409
    assert {e["field"] for e in refused["errors"]} == {
        "complaint.opened_at",
        "complaint.resolved_at",
    }
    db.session.rollback()
    assert (
        db.session.scalar(sa.select(Interaction).where(Interaction.external_id == "CMP-42-MOVED"))
        is None
    )
    assert _case().resolved_at == datetime(2026, 11, 4, 2, 0, tzinfo=UTC)


def test_a_post_without_a_resolution_does_not_reopen_a_resolved_case(post_case, dispatch_ready):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    late = post_case(NOON + timedelta(days=3), "CMP-42-LATE-REPLY", first_reply_at=REPLIED)
    assert late["suppression_reason"] == "frequency"
    case = _case()
    assert case.resolved_at is not None and case.first_reply_at is not None


def test_a_reply_or_resolution_before_the_case_opened_is_a_conflict(post_case, dispatch_ready):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    refused = post_case(
        NOON + timedelta(hours=1),
        "CMP-42-EARLY",
        expect=409,
        resolved_at="2026-11-01T10:00:00+08:00",
    )
    assert [e["field"] for e in refused["errors"]] == ["complaint.resolved_at"]
    assert _case().resolved_at is None


def test_a_case_id_of_another_customer_is_a_conflict(post_case, post_interaction, dispatch_ready):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    body = _complaint_body("CMP-42-OTHER", resolved_at=REPLIED)
    body["occurred_at"] = NOON.isoformat()
    body["customer"] = {"external_id": "C-OTHER", "phone": "+8613900139000"}
    refused = post_interaction(body)
    assert refused.status_code == 409, refused.get_json()
    assert refused.content_type == "application/problem+json"
    assert [e["field"] for e in refused.get_json()["errors"]] == ["complaint.case_id"]


def test_resolving_one_case_does_not_release_a_survey_while_another_is_open(
    post_case, resolved_rule
):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    post_case(NOON, "CMP-43-OPEN", case_id="CMP-2026-0043", opened_at=OPENED)
    first = post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    assert first["suppression_reason"] == "open_complaint"
    second = post_case(
        NOON + timedelta(days=3),
        "CMP-43-DONE",
        case_id="CMP-2026-0043",
        resolved_at="2026-11-05T10:00:00+08:00",
    )
    assert second["suppression_reason"] is None
    [invitation] = _invitations()
    assert invitation.complaint_case.case_id == "CMP-2026-0043"


def test_an_open_complaint_without_a_case_id_still_holds_a_resolved_case(post_case, resolved_rule):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    post_case(NOON, "OLD-CMP-1", case_id=None, opened_at="2026-10-30T09:00:00+08:00")
    resolved = post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    assert resolved["suppression_reason"] == "open_complaint"


def test_the_send_still_holds_the_cases_survey_when_another_complaint_opens(
    post_case, resolved_rule
):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    resolved = post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    invitation_id = resolved["invitation"]["id"]
    post_case(
        NOON + timedelta(days=2, minutes=1),
        "CMP-44-OPEN",
        case_id="CMP-2026-0044",
        opened_at="2026-11-04T10:00:00+08:00",
    )
    assert sending.send_invitation(invitation_id) == "cancelled"


def test_the_send_of_a_resolved_cases_survey_is_not_held_by_its_own_open_posts(
    post_case, resolved_rule
):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    resolved = post_case(NOON + timedelta(days=2), "CMP-42-DONE", resolved_at=RESOLVED)
    assert sending.send_invitation(resolved["invitation"]["id"]) == "sent"


def test_two_resolving_posts_of_a_case_at_once_make_one_invitation(
    app, post_case, resolved_rule, api_key
):
    post_case(NOON, "CMP-42-OPEN", opened_at=OPENED)
    clock.freeze(NOON + timedelta(days=2))
    barrier = threading.Barrier(2)
    answers: list = []

    def resolve(external_id: str) -> None:
        body = _complaint_body(external_id, resolved_at=RESOLVED)
        body["occurred_at"] = (NOON + timedelta(days=2)).isoformat()
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                response = app.test_client().post(
                    "/api/v1/interactions",
                    json=body,
                    headers={"Authorization": f"Bearer {api_key}"},
                )
                answers.append((response.status_code, response.get_json()))
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=resolve, args=(external_id,))
        for external_id in ("CMP-42-DONE-CRM", "CMP-42-DONE-CALLS")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [status for status, _ in answers] == [201, 201]
    reasons = sorted(str(answer["suppression_reason"]) for _, answer in answers)
    assert reasons == ["None", "frequency"]
    [invitation] = _invitations()
    assert invitation.complaint_case.case_id == "CMP-2026-0042"
