"""Improvement actions recorded: the form checked field by field, each change audited, roles.

How an action is judged from the rollups and marked on the trends is tests/test_actions_judged.py.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import ImprovementAction

Z = 1.959963984540054
EN = {"Accept-Language": "en"}


# --- the form ----------------------------------------------------------------------------


def _form(**changes: str) -> dict[str, str]:
    return {
        "title_zh": "投诉处理流程优化",
        "title_en": "Complaint process change",
        "kind": "process_change",
        "target": "team:corporate-complaints",
        "started_on": "2026-11-10",
        "window_days": "30",
        "description_zh": "",
        "description_en": "Second-level review of every complaint.",
        **changes,
    }


@pytest.mark.parametrize("role", ["admin", "manager", "quality"])
def test_each_dashboard_role_records_an_action_on_record(role, scoring_org, client_as, audit_log):
    clock.freeze(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    client = client_as(role)
    response = client.post("/actions/new", data=_form(), headers=EN)
    assert response.status_code == 302
    action = db.session.scalar(sa.select(ImprovementAction))
    assert response.headers["Location"].endswith(f"/actions/{action.id}")
    assert (action.target_kind, action.target_code, action.window_days) == (
        "team",
        "corporate-complaints",
        30,
    )
    (event,) = audit_log("action.create")
    assert event.actor_label == f"{role}@bank.example"
    assert event.after["started_on"] == "2026-11-10"
    assert event.after["title_zh"] == "投诉处理流程优化"


def test_changing_an_action_records_what_changed(scoring_org, client_as, audit_log):
    client = client_as("quality")
    client.post("/actions/new", data=_form(), headers=EN)
    action = db.session.scalar(sa.select(ImprovementAction))
    form = client.get(f"/actions/{action.id}/edit", headers=EN).get_data(as_text=True)
    assert 'value="2026-11-10"' in form and "selected" in form
    response = client.post(
        f"/actions/{action.id}/edit", data=_form(started_on="2026-11-12", window_days="14")
    )
    assert response.status_code == 302
    (event,) = audit_log("action.update")
    assert event.before == {"started_on": "2026-11-10", "window_days": 30}
    assert event.after == {"started_on": "2026-11-12", "window_days": 14}
    client.post(f"/actions/{action.id}/edit", data=_form(started_on="2026-11-12", window_days="14"))
    assert len(audit_log("action.update")) == 1  # saving nothing new records nothing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title_zh": " "}, "title_zh", "Enter the title in Chinese."),
        ({"title_en": ""}, "title_en", "Enter the title in English."),
        ({"started_on": "11/10/2026"}, "started_on", "Use a date like 2026-11-29."),
        ({"started_on": "2000-06-01"}, "started_on", "Use a day from 2000-12-31 to"),
        (
            {"target": "team:no-such-team"},
            "target",
            "Choose a target from the list: this one does not exist.",
        ),
        ({"target": "dimension:overall"}, "target", "Choose one of the four rated dimensions."),
        ({"target": "nonsense"}, "target", "Choose the business line, team, agent"),
        ({"kind": "party"}, "kind", "Not a valid choice"),
        ({"window_days": "0"}, "window_days", "Use a whole number of days from 1 to 365."),
        ({"title_en": "x" * 201}, "title_en", "200"),
    ],
)
def test_a_wrong_field_is_refused_beside_it_and_nothing_is_saved(
    changes, field, message, scoring_org, client_as, audit_log
):
    response = client_as("manager").post("/actions/new", data=_form(**changes), headers=EN)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in html.unescape(error.group(1)), page[:3000]
    assert db.session.scalar(sa.select(sa.func.count(ImprovementAction.id))) == 0
    assert audit_log("action.create") == []


def test_a_wrong_field_is_explained_in_chinese(scoring_org, client_as):
    page = client_as("quality").post("/actions/new?lang=zh", data=_form(title_zh=""))
    assert page.status_code == 400
    assert 'id="title_zh-error">请输入中文标题。' in page.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app, scoring_org):
    client = app.test_client()
    for path in ("/actions", "/actions/new"):
        assert "/auth/login" in client.get(path).headers["Location"]
    assert "/auth/login" in client.post("/actions/new", data=_form()).headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(ImprovementAction.id))) == 0


def test_an_unknown_action_is_not_found(client_as, db):
    assert client_as("quality").get("/actions/999").status_code == 404
