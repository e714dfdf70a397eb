"""Dispatch rules: an ordered list, edited safely, showing what each would have matched lately."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import BusinessLine, Customer, DispatchRule, Interaction, Team


def _rule_form(survey_id: int, **fields) -> dict:
    data = {
        "name": "Complaints by SMS",
        "survey_id": str(survey_id),
        "delay_minutes": "30",
        "channel_1": "sms",
        "channel_2": "email",
        "channel_3": "",
        "sms_mode": "link",
        "sample_percent": "50",
        "reminder_hours": "24",
        "link_lifetime_hours": "72",
        "active": "y",
    }
    data.update(fields)
    return data


def _interaction(n: int, days_ago: int, **fields) -> Interaction:
    return Interaction(
        external_id=f"CALL-{n}",
        occurred_at=clock.now() - timedelta(days=days_ago),
        customer=Customer(external_id=f"C-{n}"),
        **{"channel": "phone", "type": "inquiry", **fields},
    )


def test_a_rule_is_saved_with_its_filters_channels_and_sample(manager_client, make_survey):
    survey = make_survey(publish=True)
    data = _rule_form(survey.id)
    data["type"] = ["complaint"]
    data["category"] = ["credit_card", "loan"]
    assert manager_client.post("/designer/rules/new", data=data).status_code == 302
    rule = db.session.scalar(sa.select(DispatchRule))
    assert rule.filters["type"] == ["complaint"]
    assert rule.filters["category"] == ["credit_card", "loan"]
    assert rule.channels == ["sms", "email"]
    assert rule.sample_rate == 0.5 and rule.delay_minutes == 30 and rule.reminder_hours == 24


def test_a_rules_reminder_can_go_on_the_next_channel_and_its_card_says_so(
    manager_client, make_survey
):
    survey = make_survey(publish=True)
    data = _rule_form(survey.id, reminder_channel="next")
    assert manager_client.post("/designer/rules/new", data=data).status_code == 302
    rule = db.session.scalar(sa.select(DispatchRule))
    assert (rule.reminder_hours, rule.reminder_channel) == (24, "next")
    page = manager_client.get("/designer/rules", headers={"Accept-Language": "zh-CN"})
    assert "24 小时后提醒 （下一渠道）" in page.get_data(as_text=True)
    form = manager_client.get(f"/designer/rules/{rule.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="reminder_channel"[^>]*value="next"', form)


def test_a_rule_form_without_a_reminder_channel_keeps_the_same_channel(manager_client, make_survey):
    survey = make_survey(publish=True)
    assert manager_client.post("/designer/rules/new", data=_rule_form(survey.id)).status_code == 302
    assert db.session.scalar(sa.select(DispatchRule.reminder_channel)) == "same"


def test_rule_errors_are_shown_beside_their_fields_and_nothing_is_saved(
    manager_client, make_survey
):
    survey = make_survey(publish=True)
    response = manager_client.post(
        "/designer/rules/new",
        data=_rule_form(
            survey.id, sample_percent="150", reminder_hours="80", link_lifetime_hours="72"
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="sample_percent-error"' in page
    assert "A reminder must come before the link expires." in page
    assert db.session.scalar(sa.select(sa.func.count(DispatchRule.id))) == 0


def test_rules_are_reordered_with_buttons_and_paused(manager_client, make_survey):
    survey = make_survey(publish=True)
    for name in ("First", "Second"):
        manager_client.post("/designer/rules/new", data=_rule_form(survey.id, name=name))
    second = db.session.scalar(sa.select(DispatchRule).where(DispatchRule.name == "Second"))
    manager_client.post(f"/designer/rules/{second.id}/arrange", data={"action": "up"})
    manager_client.post(f"/designer/rules/{second.id}/arrange", data={"action": "toggle"})
    db.session.expire_all()
    names = db.session.scalars(sa.select(DispatchRule.name).order_by(DispatchRule.position)).all()
    assert names == ["Second", "First"]
    assert db.session.get(DispatchRule, second.id).active is False
    page = manager_client.get("/designer/rules").get_data(as_text=True)
    assert page.index("Second") < page.index("First")
    assert "paused" in page


def test_rules_page_shows_the_organisation_window_and_hours(manager_client):
    page = manager_client.get("/designer/rules").get_data(as_text=True)
    assert "30 days" in page and "08:00–21:00" in page


def test_rule_reach_counts_the_last_30_days_and_names_the_earlier_rule_that_takes_some(
    manager_client, make_survey
):
    survey = make_survey(publish=True)
    line = BusinessLine(code="personal", name_zh="个人", name_en="Personal")
    team = Team(
        code="cc-complaints",
        business_line=line,
        function="complaint",
        name_zh="投诉",
        name_en="Complaints",
    )
    db.session.add_all(
        [
            _interaction(1, 1, type="complaint", business_line=line, team=team),
            _interaction(2, 2, type="complaint", business_line=line),
            _interaction(3, 3, type="inquiry"),
            _interaction(4, 40, type="complaint"),  # too old to count
        ]
    )
    db.session.add_all(
        [
            DispatchRule(
                position=1,
                name="Complaint team",
                survey=survey,
                filters={"team": ["cc-complaints"]},
                channels=["sms"],
            ),
            DispatchRule(
                position=2,
                name="All complaints",
                survey=survey,
                filters={"type": ["complaint"]},
                channels=["sms"],
            ),
            DispatchRule(
                position=3, name="Everything", survey=survey, filters={}, channels=["email"]
            ),
        ]
    )
    db.session.commit()
    page = manager_client.get("/designer/rules").get_data(as_text=True)
    assert "Would have matched 1 of the last 30 days' interactions; it decides 1." in page
    assert "Would have matched 2 of the last 30 days' interactions; it decides 1." in page
    assert "1 of them go to the earlier rule “Complaint team”." in page
    assert "Would have matched 3 of the last 30 days' interactions; it decides 1." in page
    assert "1 of them go to the earlier rule “All complaints”." in page


def test_rule_filters_and_channels_are_named_in_the_viewers_language(manager_client, make_survey):
    survey = make_survey(publish=True)
    line = BusinessLine(code="personal", name_zh="个人金融", name_en="Personal banking")
    team = Team(
        code="cc-complaints",
        business_line=line,
        function="complaint",
        name_zh="信用卡投诉组",
        name_en="Card complaints",
    )
    rule = DispatchRule(
        position=1,
        name="Card complaints",
        survey=survey,
        filters={
            "type": ["complaint"],
            "business_line": ["personal"],
            "team": ["cc-complaints"],
            "category": ["credit_card"],
            "channel": ["phone"],
        },
        channels=["sms", "email"],
    )
    db.session.add_all([line, team, rule])
    db.session.commit()

    english = manager_client.get("/designer/rules").get_data(as_text=True)
    for shown in (
        "Interaction type: Complaint",
        "Business line: Personal banking",
        "Team: Card complaints",
        "Category: Credit card",
        "Interaction channel: Phone",
        "SMS → E-mail",
    ):
        assert shown in english
    assert "type: complaint" not in english and "cc-complaints" not in english

    chinese = manager_client.get("/designer/rules", headers={"Accept-Language": "zh"})
    page = chinese.get_data(as_text=True)
    assert "交互类型: 投诉" in page and "信用卡" in page
    assert "个人金融" in page and "信用卡投诉组" in page
    assert "Personal banking" not in page and "personal," not in page


def test_a_rule_for_resolved_complaints_is_saved_shown_and_edited_in_both_languages(
    manager_client, make_survey
):
    survey = make_survey(publish=True)
    form = manager_client.get("/designer/rules/new").get_data(as_text=True)
    assert "Complaint state" in form and "Resolved" in form
    data = _rule_form(survey.id, name="Resolved complaints")
    data["type"] = ["complaint"]
    data["complaint_state"] = ["resolved"]
    assert manager_client.post("/designer/rules/new", data=data).status_code == 302
    rule = db.session.scalar(sa.select(DispatchRule))
    assert rule.filters["complaint_state"] == ["resolved"]

    english = manager_client.get("/designer/rules").get_data(as_text=True)
    assert "Complaint state: Resolved" in english
    chinese = manager_client.get("/designer/rules", headers={"Accept-Language": "zh"})
    assert "投诉状态: 已解决" in chinese.get_data(as_text=True)
    edit = manager_client.get(f"/designer/rules/{rule.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="complaint_state"[^>]*value="resolved"', edit)


def test_rule_reach_tells_open_complaints_from_resolved_ones(manager_client, make_survey):
    survey = make_survey(publish=True)
    resolved_at = clock.now() - timedelta(days=1)
    db.session.add_all(
        [
            _interaction(1, 2, type="complaint"),
            _interaction(2, 1, type="complaint", complaint_resolved_at=resolved_at),
            _interaction(3, 1, type="complaint", complaint_resolved_at=resolved_at),
            _interaction(4, 1, type="inquiry"),
        ]
    )
    db.session.add(
        DispatchRule(
            position=1,
            name="Resolved complaints",
            survey=survey,
            filters={"complaint_state": ["resolved"]},
            channels=["sms"],
        )
    )
    db.session.commit()
    page = manager_client.get("/designer/rules").get_data(as_text=True)
    assert "Would have matched 2 of the last 30 days' interactions; it decides 2." in page


def test_the_rule_form_calls_its_name_a_rule_name_in_chinese(manager_client):
    page = manager_client.get("/designer/rules/new", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "规则名称" in text and "姓名" not in text
