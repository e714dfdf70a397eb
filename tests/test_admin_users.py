"""Admins invite staff, change roles, deactivate and reactivate them, and reset passwords; all on record."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import PasswordLink, User
from tests.fixtures.access import PASSWORD, sign_in

EN = {"Accept-Language": "en"}


def _link_path(html: str) -> str:
    match = re.search(r'value="http://survey\.test(/account/password/[^"]+)"', html)
    assert match, "the page shows the set-password link"
    return match.group(1)


def _invite(client, email="new@bank.example", role="manager"):
    response = client.post(
        "/admin/users/invite", data={"email": email, "name": "王芳", "role": role}
    )
    assert response.status_code == 200
    return response


def test_invite_creates_an_account_without_password_and_shows_a_one_time_link(
    admin_client, audit_log
):
    response = _invite(admin_client)
    html = response.get_data(as_text=True)
    path = _link_path(html)
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    user = db.session.scalar(sa.select(User).where(User.email == "new@bank.example"))
    assert user.role == "manager" and user.password_hash is None
    link = db.session.scalar(sa.select(PasswordLink))
    assert token not in link.token_hash, "only the token's hash is stored"
    (event,) = audit_log("user.invite")
    assert event.actor_label == "root@bank.example"
    assert event.after == {
        "email": "new@bank.example",
        "name": "王芳",
        "role": "manager",
        "active": True,
    }
    assert "new@bank.example" in admin_client.get("/admin/users").get_data(as_text=True)


def test_inviting_an_existing_address_says_so_beside_the_field_and_creates_nothing(
    admin_client, audit_log
):
    response = admin_client.post(
        "/admin/users/invite", data={"email": "ROOT@bank.example", "role": "manager"}, headers=EN
    )
    assert response.status_code == 200
    assert "An account with this e-mail address exists already." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert audit_log() == []


def test_the_invited_user_sets_a_password_once_and_signs_in(app, admin_client, audit_log):
    path = _link_path(_invite(admin_client).get_data(as_text=True))
    guest = app.test_client()
    assert guest.get(path, headers=EN).status_code == 200
    short = guest.post(path, data={"password": "short", "confirm": "short"}, headers=EN)
    assert "A password needs at least 10 characters." in short.get_data(as_text=True)
    done = guest.post(path, data={"password": "a long new secret", "confirm": "a long new secret"})
    assert done.status_code == 302 and "/auth/login" in done.headers["Location"]
    assert sign_in(guest, "new@bank.example", "a long new secret").status_code == 302
    again = app.test_client().get(path, headers=EN)
    assert again.status_code == 410, "a used link does not work twice"
    assert [e.actor_label for e in audit_log("user.password_set")] == ["new@bank.example"]


def test_an_expired_link_is_refused(app, admin_client):
    path = _link_path(_invite(admin_client).get_data(as_text=True))
    clock.freeze(clock.now() + timedelta(days=8))
    response = app.test_client().get(path, headers=EN)
    assert response.status_code == 410
    assert "Ask your administrator for a new link." in response.get_data(as_text=True)


def test_changing_a_role_is_recorded_with_before_and_after(admin_client, make_user, audit_log):
    user = make_user("quality", email="q@bank.example")
    response = admin_client.post(f"/admin/users/{user.id}/role", data={"role": "manager"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "manager"
    (event,) = audit_log("user.role")
    assert (event.before, event.after, event.entity_id) == (
        {"role": "quality"},
        {"role": "manager"},
        str(user.id),
    )


def test_the_last_admin_cannot_demote_or_deactivate_themselves(admin_client, admin, audit_log):
    admin_client.post(f"/admin/users/{admin.id}/role", data={"role": "manager"})
    admin_client.post(f"/admin/users/{admin.id}/deactivate")
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.active
    assert audit_log() == []


def test_a_deactivated_user_is_signed_out_on_their_next_request(
    app, admin_client, make_user, audit_log
):
    manager = make_user("manager", email="m@bank.example")
    session = app.test_client()
    assert sign_in(session, manager.email).status_code == 302
    assert session.get("/", headers=EN).status_code == 200
    assert admin_client.post(f"/admin/users/{manager.id}/deactivate").status_code == 302
    response = session.get("/", headers=EN)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert sign_in(session, manager.email).status_code != 302, "nor can they sign in again"
    (event,) = audit_log("user.deactivate")
    assert event.after == {"active": False}


def test_a_reactivated_user_signs_in_again(app, admin_client, make_user, audit_log):
    manager = make_user("manager", email="m@bank.example", active=False)
    admin_client.post(f"/admin/users/{manager.id}/reactivate")
    assert sign_in(app.test_client(), manager.email).status_code == 302
    assert len(audit_log("user.reactivate")) == 1


def test_a_password_reset_link_replaces_older_links_and_ends_sessions_when_used(
    app, admin_client, make_user, audit_log
):
    manager = make_user("manager", email="m@bank.example")
    session = app.test_client()
    sign_in(session, manager.email)
    first = _link_path(
        admin_client.post(f"/admin/users/{manager.id}/password-link").get_data(as_text=True)
    )
    second = _link_path(
        admin_client.post(f"/admin/users/{manager.id}/password-link").get_data(as_text=True)
    )
    guest = app.test_client()
    assert guest.get(first).status_code == 410, "the newer link replaces the older"
    guest.post(second, data={"password": "another long secret", "confirm": "another long secret"})
    assert session.get("/").status_code == 302, "the old session ended with the new password"
    assert sign_in(app.test_client(), manager.email, PASSWORD).status_code != 302
    assert sign_in(app.test_client(), manager.email, "another long secret").status_code == 302
    assert len(audit_log("user.password_link")) == 2
