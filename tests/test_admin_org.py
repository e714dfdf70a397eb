"""Admins keep business lines, teams and agents; moving an agent keeps their history; CSV import."""

from __future__ import annotations

import io

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import Agent, BusinessLine, Interaction, Team

EN = {"Accept-Language": "en"}


def _line(client, code="personal", zh="个人金融", en="Personal banking"):
    return client.post(
        "/admin/org/lines",
        data={"line-code": code, "line-name_zh": zh, "line-name_en": en},
        headers=EN,
    )


def _team(client, code="personal-complaints", function="complaint", line_code="personal"):
    line = db.session.scalar(sa.select(BusinessLine).where(BusinessLine.code == line_code))
    return client.post(
        "/admin/org/teams",
        data={
            "team-code": code,
            "team-business_line": line.id,
            "team-function": function,
            "team-name_zh": "个人投诉",
            "team-name_en": "Personal complaints",
        },
        headers=EN,
    )


def _team_id(code: str) -> int:
    return db.session.scalar(sa.select(Team.id).where(Team.code == code))


def test_an_admin_builds_a_business_line_a_team_and_an_agent_each_on_record(
    admin_client, audit_log
):
    assert _line(admin_client).status_code == 302
    assert _team(admin_client).status_code == 302
    team_id = _team_id("personal-complaints")
    response = admin_client.post(
        f"/admin/org/teams/{team_id}/agents", data={"agent-code": "A1042", "agent-name": "李雷"}
    )
    assert response.status_code == 302
    page = admin_client.get("/admin/org", headers=EN).get_data(as_text=True)
    assert "Personal banking" in page and "Personal complaints" in page and "Complaints" in page
    assert [e.action for e in audit_log()] == [
        "business_line.create",
        "team.create",
        "agent.create",
    ]
    assert audit_log("agent.create")[0].after == {
        "code": "A1042",
        "name": "李雷",
        "team": "personal-complaints",
        "active": True,
    }


def test_a_duplicate_or_malformed_code_is_refused_beside_the_field(admin_client, audit_log):
    _line(admin_client)
    again = _line(admin_client)
    assert again.status_code == 400
    assert "A business line with this code exists already." in again.get_data(as_text=True)
    bad = _line(admin_client, code="has space")
    assert "Use letters, digits" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusinessLine)) == 1
    assert len(audit_log()) == 1


def test_renaming_and_deactivating_a_team_records_before_and_after(admin_client, audit_log):
    _line(admin_client)
    _team(admin_client)
    team_id = _team_id("personal-complaints")
    response = admin_client.post(
        f"/admin/org/teams/{team_id}",
        data={
            "team-function": "inquiry",
            "team-name_zh": "个人咨询",
            "team-name_en": "Personal inquiries",
        },
    )
    assert response.status_code == 302
    (event,) = audit_log("team.update")
    assert event.before == {
        "function": "complaint",
        "name_zh": "个人投诉",
        "name_en": "Personal complaints",
        "active": True,
    }
    assert event.after == {
        "function": "inquiry",
        "name_zh": "个人咨询",
        "name_en": "Personal inquiries",
        "active": False,
    }


def test_moving_an_agent_keeps_past_interactions_with_their_old_team(admin_client, audit_log):
    _line(admin_client)
    _team(admin_client, code="old-team")
    _team(admin_client, code="new-team", function="inquiry")
    old, new = _team_id("old-team"), _team_id("new-team")
    admin_client.post(
        f"/admin/org/teams/{old}/agents", data={"agent-code": "A1", "agent-name": "A"}
    )
    agent = db.session.scalar(sa.select(Agent).where(Agent.code == "A1"))
    from survey.models import Customer

    customer = Customer(external_id="C-1")
    db.session.add(customer)
    db.session.flush()
    before_move = Interaction(
        external_id="CALL-1",
        occurred_at=clock.now(),
        channel="phone",
        type="inquiry",
        customer_id=customer.id,
        team_id=old,
        agent_id=agent.id,
    )
    db.session.add(before_move)
    db.session.commit()
    response = admin_client.post(
        f"/admin/org/agents/{agent.id}", data={"name": "A", "team": new, "active": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).team_id == new
    assert db.session.get(Interaction, before_move.id).team_id == old
    (event,) = audit_log("agent.move")
    assert (event.before, event.after) == ({"team": "old-team"}, {"team": "new-team"})


def test_csv_import_keeps_good_rows_and_reports_each_bad_row_by_line(admin_client, audit_log):
    _line(admin_client)
    _team(admin_client, code="t1")
    _team(admin_client, code="t-off")
    admin_client.post(
        f"/admin/org/teams/{_team_id('t-off')}",
        data={"team-function": "complaint", "team-name_zh": "停", "team-name_en": "Off"},
    )
    admin_client.post(
        f"/admin/org/teams/{_team_id('t1')}/agents", data={"agent-code": "A9", "agent-name": "Old"}
    )
    csv_text = (
        "code,name,team_code\n"
        "A1,王芳,t1\n"  # line 2: new
        "A2,,t1\n"  # line 3: no name
        "A3,李雷,nope\n"  # line 4: unknown team
        "A1,重复,t1\n"  # line 5: repeated code
        "bad code,X,t1\n"  # line 6: malformed code
        "A4,韩梅梅,t-off\n"  # line 7: deactivated team
        "\n"
        "A9,New name,t1\n"  # line 9: update
    )
    response = admin_client.post(
        "/admin/org/agents/import",
        data={"file": (io.BytesIO(csv_text.encode("gb18030")), "agents.csv")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1 agents added, 1 updated, 0 unchanged, 5 rows not imported" in page
    errors = {
        line: reason
        for line, reason in [
            (3, "The name is empty."),
            (4, "There is no team with the code nope."),
            (5, "The code A1 is already on line 2."),
            (6, "Use letters, digits"),
            (7, "The team t-off is deactivated."),
        ]
    }
    for line, reason in errors.items():
        assert f"<td>{line}</td>" in page and reason in page
    agents = {a.code: a.name for a in db.session.scalars(sa.select(Agent))}
    assert agents == {"A1": "王芳", "A9": "New name"}
    (summary,) = audit_log("agent.import")
    assert summary.after["created"] == 1 and summary.after["errors"] == 5
    assert summary.after["created_codes"] == ["A1"]
    assert audit_log("agent.update")[0].after == {"name": "New name"}


def test_csv_import_without_the_right_header_changes_nothing(admin_client, audit_log):
    response = admin_client.post(
        "/admin/org/agents/import",
        data={"file": (io.BytesIO(b"id,who\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 400
    assert "missing: code, name, team_code" in response.get_data(as_text=True)
    assert audit_log() == []


def test_the_import_page_answers_its_script_with_the_result_fragment(admin_client):
    _line(admin_client)
    _team(admin_client, code="t1")
    response = admin_client.post(
        "/admin/org/agents/import",
        data={"file": (io.BytesIO(b"code,name,team_code\nA1,x,t1\n"), "a.csv")},
        content_type="multipart/form-data",
        headers={**EN, "X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    assert "1 agents added" in response.get_json()["html"]


def test_renaming_and_deactivating_a_business_line_is_recorded(admin_client, audit_log):
    _line(admin_client)
    line = db.session.scalar(sa.select(BusinessLine))
    response = admin_client.post(
        f"/admin/org/lines/{line.id}", data={"name_zh": "个人银行", "name_en": "Retail banking"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (line.name_en, line.active) == ("Retail banking", False)
    (event,) = audit_log("business_line.update")
    assert event.after == {"name_zh": "个人银行", "name_en": "Retail banking", "active": False}


def test_a_large_csv_file_is_imported_with_its_counts(admin_client):
    _line(admin_client)
    _team(admin_client, code="t1")
    rows = "".join(f"A{n:05d},坐席{n},t1\n" for n in range(3000))
    response = admin_client.post(
        "/admin/org/agents/import",
        data={"file": (io.BytesIO(("code,name,team_code\n" + rows).encode()), "big.csv")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert "3000 agents added, 0 updated, 0 unchanged, 0 rows not imported" in response.get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agent)) == 3000
