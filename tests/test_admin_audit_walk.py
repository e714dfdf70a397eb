"""Every change to users, keys, organisation and settings is on record, whoever makes it, however.

The walk below posts to every form route of the admin pages, the set-password link and the
signed-in user's own account pages; a new form route fails the walk until it is added here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient

from survey.admin.services import users as user_service
from survey.extensions import db
from survey.models import Agent, ApiKey, AuditEvent, BusinessLine, Team, User
from tests.fixtures.access import PASSWORD
from tests.fixtures.admin import settings_form

# Sign-in and sign-out change no one's account (the sign-in time is kept on the account, not
# in the trail). The language is a display preference that the switch in every page header
# changes too, so it is left out of the trail. The designer has tests/test_designer_audit.py.
NOT_CHANGES = {"auth.login", "auth.logout", "auth.profile"}
# Form routes whose audit event is checked where what they act on can be built: sending an
# e-mail in doubt again needs an SMTP send cut by a crash (tests/test_admin_undelivered.py).
AUDITED_ELSEWHERE = {"admin.send_again"}
WALKED_BLUEPRINTS = ("admin.", "account.", "auth.")


def _id(model, **where) -> int:
    return db.session.scalar(sa.select(model.id).filter_by(**where))


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _set_password_link(admin: User, email: str) -> str:
    token = user_service.reset_password(admin, _user(email))
    db.session.commit()
    return f"/account/password/{token}"


def _walk(admin: User, own: FlaskClient, guest: FlaskClient) -> list[tuple[str, Callable]]:
    """Each form route with a change it should record, in an order that builds what it needs."""
    csv_file = "code,name_zh,name_en,team_code\nA2,乙,B,t1\n".encode()
    return [
        ("admin.create_business_line", lambda c: c.post(
            "/admin/org/lines",
            data={"line-code": "p", "line-name_zh": "个人", "line-name_en": "Personal"})),
        ("admin.edit_business_line", lambda c: c.post(
            f"/admin/org/lines/{_id(BusinessLine, code='p')}",
            data={"name_zh": "个人金融", "name_en": "Personal banking", "active": "y"})),
        ("admin.create_team", lambda c: c.post("/admin/org/teams", data={
            "team-code": "t1", "team-business_line": _id(BusinessLine, code="p"),
            "team-function": "inquiry", "team-name_zh": "咨询", "team-name_en": "Inquiries"})),
        ("admin.team", lambda c: c.post(f"/admin/org/teams/{_id(Team, code='t1')}", data={
            "team-function": "complaint", "team-name_zh": "投诉", "team-name_en": "Complaints",
            "team-active": "y"})),
        ("admin.create_agent", lambda c: c.post(
            f"/admin/org/teams/{_id(Team, code='t1')}/agents",
            data={"agent-code": "A1", "agent-name_zh": "甲", "agent-name_en": "A"})),
        ("admin.agent", lambda c: c.post(f"/admin/org/agents/{_id(Agent, code='A1')}", data={
            "name_zh": "甲一", "name_en": "A One", "team": _id(Team, code="t1"), "active": "y"})),
        ("admin.import_agents_page", lambda c: c.post(
            "/admin/org/agents/import", data={"file": (io.BytesIO(csv_file), "a.csv")},
            content_type="multipart/form-data")),
        ("admin.settings", lambda c: c.post(
            "/admin/settings", data=settings_form(sms_segments_per_second="2"))),
        ("admin.invite_user", lambda c: c.post(
            "/admin/users/invite",
            data={"email": "new@bank.example", "name": "新", "role": "quality"})),
        ("admin.change_role", lambda c: c.post(
            f"/admin/users/{_user('new@bank.example').id}/role", data={"role": "manager"})),
        ("admin.password_link", lambda c: c.post(
            f"/admin/users/{_user('new@bank.example').id}/password-link")),
        ("account.set_password", lambda c: guest.post(
            _set_password_link(admin, "new@bank.example"),
            data={"password": "a long new secret", "confirm": "a long new secret"})),
        ("admin.deactivate_user", lambda c: c.post(
            f"/admin/users/{_user('new@bank.example').id}/deactivate")),
        ("admin.reactivate_user", lambda c: c.post(
            f"/admin/users/{_user('new@bank.example').id}/reactivate")),
        ("admin.new_api_key", lambda c: c.post(
            "/admin/api-keys/new", data={"name": "call centre", "scopes": ["interactions"]})),
        ("admin.revoke_api_key", lambda c: c.post(
            f"/admin/api-keys/{_id(ApiKey, name='call centre')}/revoke")),
        ("auth.password", lambda c: own.post("/auth/password", data={
            "current": PASSWORD, "new": "another long secret",
            "confirm": "another long secret"})),
    ]  # fmt: skip


def _events() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def test_every_successful_change_through_a_form_writes_an_audit_event(
    app, admin_client, admin, client_as
):
    own = client_as("quality")  # a staff member changing their own account
    guest = app.test_client()
    walk = _walk(admin, own, guest)
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint.startswith(WALKED_BLUEPRINTS)
    }
    walked = {endpoint for endpoint, _step in walk}
    assert posts - NOT_CHANGES - AUDITED_ELSEWHERE == walked, "walk every route"
    for endpoint, step in walk:
        before = _events()
        response = step(admin_client)
        assert response.status_code in (200, 302, 303), (endpoint, response.status_code)
        body = response.get_data(as_text=True)
        assert not re.search(r'class="error"', body), (endpoint, "the form refused the change")
        db.session.expire_all()
        assert _events() > before, f"{endpoint} changed something without an audit event"


def test_accounts_and_keys_made_on_the_command_line_are_on_record_as_cli(runner, audit_log):
    made = runner.invoke(
        args=["user", "create", "ops@bank.example", "--role", "admin", "--password", "x" * 12]
    )
    assert made.exit_code == 0, made.output
    key = runner.invoke(args=["apikey", "create", "call centre", "--scope", "scores"])
    assert key.exit_code == 0, key.output
    user_event, key_event = audit_log()
    assert (user_event.actor_label, user_event.action) == ("cli", "user.create")
    assert user_event.after == {
        "email": "ops@bank.example",
        "name": "",
        "role": "admin",
        "active": True,
    }
    assert (key_event.actor_label, key_event.action) == ("cli", "apikey.create")
    assert key_event.after["name"] == "call centre" and key_event.after["scopes"] == ["scores"]
    assert key.stdout.strip().splitlines()[-1] not in str(key_event.after)  # never the key


def test_a_refused_command_line_account_leaves_no_record(runner, audit_log):
    result = runner.invoke(
        args=["user", "create", "ops@bank.example", "--role", "admin", "--password", "short"]
    )
    assert result.exit_code != 0
    assert audit_log() == []
