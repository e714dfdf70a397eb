"""CSRF: every cookie-authenticated form needs this site's token; keys and signatures do not."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from survey.models import User
from tests.fixtures.access import PASSWORD

pytestmark = pytest.mark.app_config(WTF_CSRF_ENABLED=True)

EN = {"Accept-Language": "en"}
REFUSED = b"This form was sent without a valid security token"
# Blueprints authenticated by a Bearer key or a Twilio signature, never by a cookie.
EXEMPT_BLUEPRINTS = {"api", "webhooks"}
# Single views that must take a POST without a token, and why.
EXEMPT_VIEWS = {
    # RFC 8058: mail clients post List-Unsubscribe=One-Click with no token; the view checks the
    # CSRF token itself for every other POST.
    "respond.unsubscribe",
}


def _token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _signed_in(client: FlaskClient, email: str) -> FlaskClient:
    token = _token(client, "/auth/login")
    response = client.post(
        "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def test_sign_in_without_a_token_is_refused_and_signs_nobody_in(client, make_user):
    make_user("admin")
    response = client.post(
        "/auth/login", data={"email": "admin@bank.example", "password": PASSWORD}, headers=EN
    )
    assert response.status_code == 400
    assert REFUSED in response.data and b"Nothing was changed." in response.data
    assert client.get("/").status_code == 302


def test_refusal_is_explained_in_chinese_too(client, make_user):
    make_user("admin")
    response = client.post(
        "/auth/login",
        data={"email": "admin@bank.example", "password": PASSWORD},
        headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert response.status_code == 400
    assert "未做任何更改" in response.get_data(as_text=True)


def test_sign_in_with_the_token_works(client, make_user):
    make_user("admin")
    _signed_in(client, "admin@bank.example")
    assert client.get("/").status_code == 200


def test_sign_out_without_a_token_is_refused_and_the_user_stays_signed_in(client, make_user):
    make_user("manager")
    _signed_in(client, "manager@bank.example")
    response = client.post("/auth/logout", headers=EN)
    assert response.status_code == 400 and REFUSED in response.data
    assert client.get("/").status_code == 200


def test_sign_out_with_the_token_from_the_page_works(client, make_user):
    make_user("manager")
    _signed_in(client, "manager@bank.example")
    token = _token(client, "/")  # the sign-out button in the header carries it
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_without_a_token_changes_nothing(client, make_user, db):
    make_user("quality")
    _signed_in(client, "quality@bank.example")
    new = "another long secret"
    response = client.post(
        "/auth/password", data={"current": PASSWORD, "new": new, "confirm": new}, headers=EN
    )
    assert response.status_code == 400
    user = db.session.scalar(sa.select(User).where(User.role == "quality"))
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_every_form_route_refuses_a_post_without_a_token(app, client, make_user):
    """Staff and customer forms alike; only the key- and signature-authenticated ones are exempt."""
    make_user("admin")
    _signed_in(client, "admin@bank.example")
    unprotected = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if "POST" not in (rule.methods or ()) or blueprint in EXEMPT_BLUEPRINTS:
            continue
        if rule.endpoint in EXEMPT_VIEWS:
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?\w+>", "1", rule.rule)
        response = client.post(path, headers=EN)
        if response.status_code != 400 or REFUSED not in response.data:
            unprotected.append((rule.endpoint, path, response.status_code))
    assert not unprotected, f"POST routes that accept a request without a CSRF token: {unprotected}"


def test_api_and_webhook_posts_need_no_csrf_token(app, client):
    """Bearer keys and Twilio signatures authenticate these: they answer 401/403, not the 400."""
    checked = 0
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if "POST" not in (rule.methods or ()) or blueprint not in EXEMPT_BLUEPRINTS:
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?\w+>", "1", rule.rule)
        response = client.post(path, json={}, headers=EN)
        assert response.status_code in (401, 403), (rule.endpoint, response.status_code)
        assert REFUSED not in response.data
        checked += 1
    assert checked, "no API or webhook POST routes to check"
