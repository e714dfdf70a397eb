"""Follow-up cases: assignment, due time on the working calendar, the work queue, and who
sees the customer's phone and e-mail (only the owner and admins, each view audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.extensions import db
from survey.followup import cases as case_rules
from survey.followup import service
from survey.models import AuditEvent, FollowUpCase, Invitation
from survey.responses import answers
from tests.fixtures.access import sign_in

UNHAPPY = {"attitude": 2, "wait_time": 2, "products": 3, "overall": 1, "nps": 2}
# Saturday 28 November 2026, 22:00 in Shanghai.
SATURDAY_NIGHT = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@pytest.fixture
def unhappy(invite):
    """Complete an unhappy response for a new customer, who agrees to be called; its case."""

    def make(agent: str = "A1001", consent: bool | None = True, **extra) -> FollowUpCase | None:
        invitation: Invitation = invite(agent=agent, **extra)
        by_key = {q.key: q for q in invitation.version.questions}
        given = {by_key[k]: v for k, v in UNHAPPY.items()}
        assert answers.complete(invitation, "web", invitation.locale, given, consent=consent)
        return db.session.scalar(
            sa.select(FollowUpCase).where(FollowUpCase.customer_id == invitation.customer_id)
        )

    return make


@pytest.fixture
def quality(make_user):
    return [make_user("quality", f"q{n}@bank.example", name=f"Quality {n}") for n in (1, 2)]


# -- assignment ----------------------------------------------------------------------------


def test_cases_go_to_each_quality_user_in_turn_never_to_managers_or_admins(
    unhappy, quality, make_user
):
    make_user("manager")
    make_user("admin")
    owners = [unhappy().owner.email for _ in range(3)]
    assert owners == ["q1@bank.example", "q2@bank.example", "q1@bank.example"]


def test_without_an_active_quality_user_a_case_waits_unassigned(unhappy, make_user):
    make_user("quality", "gone@bank.example", active=False)
    case = unhappy()
    assert case is not None and case.owner_id is None
    admin = make_user("admin")
    flt = service.QueueFilter(view="unassigned")
    assert [c.id for c in service.queue(admin, flt)] == [case.id]


def test_by_business_line_a_case_goes_to_its_lines_people_and_other_lines_to_everyone(
    unhappy, quality
):
    settings.put("followup_assignment", "business_line")
    settings.put("followup_line_owners", ["personal: q2@bank.example"])
    db.session.commit()
    assert [unhappy("A1001").owner.email for _ in range(2)] == ["q2@bank.example"] * 2
    # The corporate line names nobody: every quality user in turn (after q2 comes q1).
    assert unhappy("A2001").owner.email == "q1@bank.example"


def test_a_case_opens_only_with_consent_and_records_why_not_otherwise(unhappy, quality):
    assert unhappy(consent=False) is None
    assert unhappy(consent=None) is None
    reasons = db.session.scalars(
        sa.select(sa.text("followup_no_case_reason")).select_from(sa.table("response"))
    ).all()
    assert sorted(reasons) == ["declined", "not_asked"]


def test_the_rules_follow_the_settings_an_admin_keeps(unhappy, quality):
    settings.put("followup_overall_max", -1)
    settings.put("followup_nps_max", 1)
    db.session.commit()
    assert unhappy() is None  # overall 1 no longer counts; NPS 2 is above 1
    settings.put("followup_nps_max", 2)
    db.session.commit()
    assert unhappy().triggers == ["nps"]


# -- due and overdue ------------------------------------------------------------------------


def test_a_case_is_due_24_working_hours_later_and_overdue_after(unhappy, quality):
    clock.freeze(SATURDAY_NIGHT)
    case = unhappy()
    # Monday 9 h, Tuesday 9 h, Wednesday 6 h: Wednesday 2 December at 15:00 in Shanghai.
    assert case.due_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    clock.freeze(datetime(2026, 12, 2, 6, 59, tzinfo=UTC))
    assert not case.overdue(clock.now())
    clock.freeze(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
    assert case.overdue(clock.now())
    assert service.counts(quality[0])["overdue"] == 1


def test_holidays_and_the_working_day_move_the_due_time(unhappy, quality):
    settings.put("holidays", ["2026-11-30"])
    settings.put("working_hours_start", "10:00")
    settings.put("working_hours_end", "16:00")
    settings.put("followup_due_hours", 8)
    db.session.commit()
    clock.freeze(SATURDAY_NIGHT)
    case = unhappy()
    # Monday is a holiday; Tuesday 10-16 (6 h), Wednesday 10-12: 12:00 Shanghai.
    assert case.due_at == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def test_the_queue_lists_overdue_cases_first_then_by_due_time(unhappy, quality):
    clock.freeze(SATURDAY_NIGHT)
    first = unhappy()
    clock.freeze(SATURDAY_NIGHT + timedelta(days=3))  # Tuesday 22:00
    second = unhappy()
    clock.freeze(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # the first is overdue now
    listed = service.queue(quality[0], service.QueueFilter())
    assert [c.id for c in listed] == [first.id, second.id]
    assert [c.id for c in service.queue(quality[0], service.QueueFilter("overdue"))] == [first.id]
    mine = service.queue(quality[1], service.QueueFilter("mine"))
    assert [c.id for c in mine] == [second.id]


def test_the_queue_filters_by_business_line(unhappy, quality):
    personal = unhappy("A1001")
    unhappy("A2001")
    listed = service.queue(quality[0], service.QueueFilter("open", "personal"))
    assert [c.id for c in listed] == [personal.id]


# -- the pages, and who sees what ------------------------------------------------------------


def _client(app, user):
    client = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    client.get("/?lang=en")
    return client


PHONE = "+85291110000"


@pytest.fixture
def people(make_user, quality):
    return {
        "owner": quality[0],
        "other_quality": quality[1],
        "manager": make_user("manager"),
        "admin": make_user("admin"),
    }


@pytest.mark.parametrize(
    ("who", "sees_button", "contact_status"),
    [
        ("owner", True, 200),
        ("admin", True, 200),
        ("other_quality", False, 403),
        ("manager", False, 403),
    ],
)
def test_only_the_owner_and_admins_see_the_phone_and_email_and_each_view_is_audited(
    app, unhappy, people, who, sees_button, contact_status
):
    case = unhappy(phone=PHONE)
    assert case.owner_id == people["owner"].id
    client = _client(app, people[who])
    page = client.get(f"/followups/{case.id}").get_data(as_text=True)
    assert PHONE not in page  # never on the page itself
    assert ("Show phone and e-mail" in page) is sees_button
    shown = client.post(f"/followups/{case.id}/contact")
    assert shown.status_code == contact_status
    views = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "followup.view_contact")
    ).all()
    if contact_status == 200:
        assert PHONE in shown.get_data(as_text=True)
        assert [v.actor_label for v in views] == [people[who].email]
    else:
        assert PHONE not in shown.get_data(as_text=True) and views == []


def test_managers_view_cases_but_cannot_change_them(app, unhappy, people):
    case = unhappy()
    client = _client(app, people["manager"])
    assert client.get("/followups").status_code == 200
    page = client.get(f"/followups/{case.id}").get_data(as_text=True)
    assert "Add note" not in page and "Close case" not in page
    assert client.post(f"/followups/{case.id}/note", data={"body": "x"}).status_code == 403
    assert (
        client.post(f"/followups/{case.id}/close", data={"outcome": "not_reached"}).status_code
        == 403
    )
    db.session.expire_all()
    assert case.notes == [] and case.state == "open"


def test_a_quality_user_notes_reassigns_and_closes_a_case_and_its_history_says_so(
    app, unhappy, people
):
    clock.freeze(SATURDAY_NIGHT)
    case = unhappy()
    client = _client(app, people["owner"])
    queue = client.get("/followups?view=mine").get_data(as_text=True)
    assert f"/followups/{case.id}" in queue
    assert 'data-testid="followup-count">1<' in queue

    noted = client.post(f"/followups/{case.id}/note", data={"body": "打过电话，客户在开会"})
    assert noted.status_code == 303
    empty = client.post(f"/followups/{case.id}/note", data={"body": "  "})
    assert empty.status_code == 400 and "Write the note first." in empty.get_data(as_text=True)
    moved = client.post(
        f"/followups/{case.id}/assign", data={"owner": str(people["other_quality"].id)}
    )
    assert moved.status_code == 303
    wrong = client.post(f"/followups/{case.id}/close", data={"outcome": "fixed"})
    assert wrong.status_code == 400
    closed = client.post(
        f"/followups/{case.id}/close", data={"outcome": "reached_resolved", "note": "已解决"}
    )
    assert closed.status_code == 303
    db.session.expire_all()
    assert case.state == "closed" and case.outcome == "reached_resolved"
    assert [n.body for n in case.notes] == ["打过电话，客户在开会", "已解决"]
    assert case.owner_id == people["other_quality"].id
    page = client.get(f"/followups/{case.id}").get_data(as_text=True)
    for said in ("Case opened", "Note added", "Reassigned", "Closed"):
        assert said in page
    actions = [e.action for e in service.history(case)]
    assert actions == [
        "followup.open",
        "followup.note",
        "followup.reassign",
        "followup.note",
        "followup.close",
    ]


def test_a_case_is_never_opened_twice_for_one_response(unhappy, quality):
    case = unhappy()
    again = case_rules.open_case(case.response, ["overall"], clock.now())
    assert again.id == case.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase)) == 1
