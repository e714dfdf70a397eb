"""The audit trail: append-only, browsable by who, what and when, shown in the viewer's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from survey import audit, clock
from survey.extensions import db
from survey.models import AuditEvent, User

EN = {"Accept-Language": "en"}
# 16:30 in London on 29 November is 00:30 on 30 November in Shanghai.
LATE_EVENING_UTC = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)


def _event(actor: str, action: str, entity: str, at: datetime) -> None:
    clock.freeze(at)
    audit.record(actor, action, entity, 1, {"x": 1}, {"x": 2})
    db.session.commit()


def test_an_audit_event_cannot_be_changed_or_deleted(app):
    event = audit.record("cli", "user.invite", "user", 7, None, {"email": "a@b.c"})
    db.session.commit()
    event.action = "something else"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.action)) == "user.invite"


def test_the_audit_page_lists_changes_in_the_bank_zone_by_default(admin_client):
    _event("someone@bank.example", "team.create", "team", LATE_EVENING_UTC)
    page = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "someone@bank.example" in page and "added a team" in page
    assert "2026-11-30 00:30:00" in page and "Asia/Shanghai" in page


def test_the_audit_page_uses_the_viewer_s_own_zone_when_they_set_one(admin_client, admin):
    admin.timezone = "Europe/London"
    db.session.commit()
    _event("someone@bank.example", "team.create", "team", LATE_EVENING_UTC)
    page = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "2026-11-29 16:30:00" in page and "Europe/London" in page


def test_the_audit_page_filters_by_who_what_and_days_in_the_viewer_zone(admin_client):
    _event("alice@bank.example", "team.create", "team", LATE_EVENING_UTC)
    _event("bob@bank.example", "apikey.create", "api_key", datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    clock.unfreeze()

    def shown(query: str) -> set[str]:
        page = admin_client.get("/admin/audit?" + query, headers=EN).get_data(as_text=True)
        return {who for who in ("alice@", "bob@") if who in page}

    assert shown("") == {"alice@", "bob@"}
    assert shown("actor=ALICE") == {"alice@"}
    assert shown("entity_type=api_key") == {"bob@"}
    assert shown("date_from=2026-11-30") == {"alice@"}  # 00:30 in Shanghai is the 30th
    assert shown("date_to=2026-11-29") == {"bob@"}
    assert shown("date_from=not-a-date") == {"alice@", "bob@"}


def test_the_audit_page_pages_through_many_events(admin_client):
    clock.freeze(LATE_EVENING_UTC)
    for n in range(audit.PAGE_SIZE + 3):
        audit.record(f"u{n:03d}@bank.example", "team.create", "team", n)
    db.session.commit()
    first = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "Older" in first and "u052@" in first and "u000@" not in first
    second = admin_client.get("/admin/audit?page=2", headers=EN).get_data(as_text=True)
    assert "u000@" in second and "Newer" in second


def test_a_user_s_page_shows_their_history(admin_client, make_user):
    user = make_user("quality", email="q@bank.example")
    admin_client.post(f"/admin/users/{user.id}/role", data={"role": "manager"})
    page = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "changed a role" in page and "root@bank.example" in page


def test_record_accepts_a_user_or_a_label(app, make_user):
    user = make_user("admin", email="a@bank.example")
    by_user = audit.record(user, "settings.update", "settings")
    by_cli = audit.record("cli", "apikey.create", "api_key", 3)
    db.session.commit()
    assert (by_user.actor_user_id, by_user.actor_label) == (user.id, "a@bank.example")
    assert (by_cli.actor_user_id, by_cli.actor_label, by_cli.entity_id) == (None, "cli", "3")
    assert db.session.get(User, user.id) is not None


def test_the_chinese_audit_trail_names_actions_things_and_fields_in_chinese(admin_client):
    audit.record(
        "li@bank.example",
        "survey.publish",
        "survey_version",
        7,
        {"state": "draft"},
        {"survey_id": 3, "number": 1, "state": "published"},
    )
    audit.record("root@bank.example", "export.responses", "export", None, None, {"format": "csv"})
    db.session.commit()
    page = admin_client.get("/admin/audit", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    for shown in ("发布了问卷", "问卷版本", "状态", "已发布", "草稿", "导出了答卷", "格式"):
        assert shown in text, shown
    shown_text = re.sub(r'value="[^"]*"', "", text)  # option values stay codes
    for raw in ("survey.publish", "survey_version", "published", "state", "export.responses"):
        assert raw not in shown_text, raw
    english = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "published a survey version" in english and "Survey version" in english


def test_the_audit_filter_s_days_are_typed_as_year_month_day_in_any_language(admin_client):
    page = admin_client.get("/admin/audit", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert 'type="date"' not in text  # Chrome would show mm/dd/yyyy on a Chinese page
    assert text.count('placeholder="YYYY-MM-DD"') == 2
    bad = admin_client.get(
        "/admin/audit?date_from=11/29/2026", headers={"Accept-Language": "zh-CN"}
    )
    assert bad.status_code == 200
    assert "2026-11-29" in bad.get_data(as_text=True)  # the error shows the form wanted
