"""Only admins reach the admin pages: others get 403, strangers are sent to sign in; forms need CSRF."""

from __future__ import annotations

import pytest

from tests.fixtures.admin import csrf_token_on

ADMIN_GETS = [
    "/admin/",
    "/admin/users",
    "/admin/users/invite",
    "/admin/users/1",
    "/admin/api-keys",
    "/admin/api-keys/new",
    "/admin/org",
    "/admin/org/lines/1",
    "/admin/org/teams/1",
    "/admin/org/agents/1",
    "/admin/org/agents/import",
    "/admin/org/imports/1",
    "/admin/org/imports/1.json",
    "/admin/settings",
    "/admin/audit",
    "/admin/undelivered",
]
ADMIN_POSTS = [
    "/admin/users/invite",
    "/admin/users/1/role",
    "/admin/users/1/deactivate",
    "/admin/users/1/reactivate",
    "/admin/users/1/password-link",
    "/admin/api-keys/new",
    "/admin/api-keys/1/revoke",
    "/admin/org/lines",
    "/admin/org/lines/1",
    "/admin/org/teams",
    "/admin/org/teams/1",
    "/admin/org/teams/1/agents",
    "/admin/org/agents/1",
    "/admin/org/agents/import",
    "/admin/settings",
    "/admin/undelivered/1/send-again",
]


def test_every_admin_route_is_listed_here(app):
    routes = {
        rule.rule.replace("<int:user_id>", "1")
        .replace("<int:key_id>", "1")
        .replace("<int:line_id>", "1")
        .replace("<int:team_id>", "1")
        .replace("<int:agent_id>", "1")
        .replace("<int:job_id>", "1")
        .replace("<int:delivery_id>", "1")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
    }
    assert routes == set(ADMIN_GETS) | set(ADMIN_POSTS)


@pytest.mark.parametrize("role", ["manager", "quality"])
def test_managers_and_quality_staff_are_refused_every_admin_page(client_as, role):
    client = client_as(role)
    for path in ADMIN_GETS:
        assert client.get(path).status_code == 403, path
    for path in ADMIN_POSTS:
        assert client.post(path, data={"role": "admin"}).status_code == 403, path


def test_strangers_are_sent_to_sign_in(client):
    for path in ADMIN_GETS + ADMIN_POSTS:
        response = client.get(path) if path in ADMIN_GETS else client.post(path)
        assert response.status_code == 302, path
        assert "/auth/login" in response.headers["Location"], path


def test_admins_see_the_admin_links_and_others_do_not(admin_client, client_as):
    page = admin_client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for label in ("Users", "API keys", "Organisation", "Settings", "Audit"):
        assert f">{label}</a>" in page
    manager = (
        client_as("manager").get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    )
    assert ">API keys</a>" not in manager


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_an_admin_form_without_its_csrf_token_changes_nothing(admin_client_csrf, audit_log):
    response = admin_client_csrf.post(
        "/admin/users/invite", data={"email": "x@bank.example", "role": "manager"}
    )
    assert response.status_code == 400
    assert audit_log() == []


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_an_admin_form_with_its_csrf_token_works(admin_client_csrf, audit_log):
    token = csrf_token_on(admin_client_csrf, "/admin/users/invite")
    response = admin_client_csrf.post(
        "/admin/users/invite",
        data={"email": "x@bank.example", "role": "manager", "csrf_token": token},
    )
    assert response.status_code == 200
    assert len(audit_log("user.invite")) == 1


def test_the_set_password_page_is_public_but_needs_a_live_link(client):
    response = client.get("/account/password/not-a-real-token", headers={"Accept-Language": "en"})
    assert response.status_code == 410
    assert client.post("/account/password/x", data={"password": "0123456789ab"}).status_code == 410
