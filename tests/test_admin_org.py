"""Admins keep business lines, teams and agents (named in zh and en); a move keeps history."""

from __future__ import annotations

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
        f"/admin/org/teams/{team_id}/agents",
        data={"agent-code": "A1042", "agent-name_zh": "李雷", "agent-name_en": "Li Lei"},
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
        "name_zh": "李雷",
        "name_en": "Li Lei",
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


def test_a_nul_character_in_a_name_is_refused_and_writes_nothing(admin_client):
    response = _line(admin_client, zh="个人\x00金融")
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusinessLine)) == 0


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
        f"/admin/org/teams/{old}/agents",
        data={"agent-code": "A1", "agent-name_zh": "甲", "agent-name_en": "A"},
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
        f"/admin/org/agents/{agent.id}",
        data={"name_zh": "甲", "name_en": "A", "team": new, "active": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).team_id == new
    assert db.session.get(Interaction, before_move.id).team_id == old
    (event,) = audit_log("agent.move")
    assert (event.before, event.after) == ({"team": "old-team"}, {"team": "new-team"})


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


def test_an_agent_needs_both_names_and_shows_the_one_in_the_viewers_language(
    admin_client, audit_log
):
    _line(admin_client)
    _team(admin_client)
    team_id = _team_id("personal-complaints")
    missing = admin_client.post(
        f"/admin/org/teams/{team_id}/agents",
        data={"agent-code": "A7", "agent-name_zh": "王芳", "agent-name_en": ""},
        headers=EN,
    )
    assert missing.status_code == 400
    assert "This field is required." in missing.get_data(as_text=True)
    assert db.session.scalar(sa.select(Agent.id)) is None
    admin_client.post(
        f"/admin/org/teams/{team_id}/agents",
        data={"agent-code": "A7", "agent-name_zh": "王芳", "agent-name_en": "Wang Fang"},
    )
    english = admin_client.get(f"/admin/org/teams/{team_id}", headers=EN).get_data(as_text=True)
    chinese = admin_client.get(
        f"/admin/org/teams/{team_id}", headers={"Accept-Language": "zh"}
    ).get_data(as_text=True)
    assert "Wang Fang" in english and "王芳" not in english
    assert "王芳" in chinese and "Wang Fang" not in chinese
    assert [e.action for e in audit_log()][-1] == "agent.create"


def test_renaming_an_agent_records_both_names_before_and_after(admin_client, audit_log):
    _line(admin_client)
    _team(admin_client)
    team_id = _team_id("personal-complaints")
    admin_client.post(
        f"/admin/org/teams/{team_id}/agents",
        data={"agent-code": "A7", "agent-name_zh": "王芳", "agent-name_en": "Wang Fang"},
    )
    agent = db.session.scalar(sa.select(Agent))
    response = admin_client.post(
        f"/admin/org/agents/{agent.id}",
        data={"name_zh": "王芳芳", "name_en": "Fanny Wang", "team": team_id, "active": "y"},
    )
    assert response.status_code == 302
    (event,) = audit_log("agent.update")
    assert event.before == {"name_zh": "王芳", "name_en": "Wang Fang"}
    assert event.after == {"name_zh": "王芳芳", "name_en": "Fanny Wang"}


def test_an_agent_the_api_introduced_is_listed_by_code_until_named(admin_client):
    from survey.admin.services import org

    _line(admin_client)
    _team(admin_client)
    team = db.session.get(Team, _team_id("personal-complaints"))
    db.session.add(Agent(code="A1042", team=team, name_zh="", name_en=""))
    db.session.commit()
    page = admin_client.get(f"/admin/org/teams/{team.id}", headers=EN).get_data(as_text=True)
    assert "A1042" in page and "(not named yet)" in page
    assert [a.name("en") for a in org.agents_of(team)] == ["A1042"]


def test_the_migration_gives_each_agent_its_one_name_in_both_languages(tmp_path):
    """Upgrading a database made before agents had two names keeps the name in both."""
    from flask_migrate import downgrade, upgrade

    from survey import create_app

    url = "sqlite:///" + str(tmp_path / "old.sqlite3")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t", "SURVEY_QUEUE_URL": "memory://",
         "INSTANCE_PATH": str(tmp_path)}
    )  # fmt: skip
    with app.app_context():
        upgrade(revision="c3a1f0e2d5b8")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO business_line (id, code, name_zh, name_en, active) "
                    "VALUES (1, 'p', '个人', 'Personal', true)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO team (id, code, business_line_id, function, name_zh, name_en, "
                    "active) VALUES (1, 't', 1, 'inquiry', '组', 'Team', true)"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO agent (id, code, team_id, name, active) "
                    "VALUES (1, 'A1', 1, '王芳', true)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            row = connection.execute(sa.text("SELECT name_zh, name_en FROM agent")).one()
        assert tuple(row) == ("王芳", "王芳")
        downgrade(revision="c3a1f0e2d5b8")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT name FROM agent")).scalar() == "王芳"
        db.engine.dispose()
