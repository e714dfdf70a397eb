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
# Customers' forms: no session, so no session token; the form carries a value bound to the
# link's token and the form's purpose (survey/respond/formkey.py). Each view, and which of the
# invitation's tokens its address takes.
TOKEN_BOUND_VIEWS = {
    "respond.survey": "token",
    # RFC 8058: mail clients post List-Unsubscribe=One-Click with nothing else; every other POST
    # needs the link's form key.
    "respond.unsubscribe": "unsubscribe_token",
}
CUSTOMER_REFUSED = b"Nothing was saved"


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
        if rule.endpoint in TOKEN_BOUND_VIEWS:
            continue  # the walk below, with a real link
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


def _path_with_a_real_link(app, rule, invitation) -> str:
    token = getattr(invitation, TOKEN_BOUND_VIEWS[rule.endpoint])
    with app.test_request_context():
        return app.url_for(rule.endpoint, token=token)


def test_every_customer_form_refuses_a_post_without_its_links_form_key(app, db, client, invite):
    """A real link, so the refusal is the form key's and not a 404; nothing stored, no cookie."""
    from survey.models import OptOut, Response

    invitation, other = invite(locale="en"), invite(locale="en")
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.endpoint.rpartition(".")[0] != "respond":
            continue
        assert rule.endpoint in TOKEN_BOUND_VIEWS, f"a customer form the walk does not know: {rule}"
        path = _path_with_a_real_link(app, rule, invitation)
        page = client.get(path).get_data(as_text=True)
        assert 'name="csrf_token"' not in page  # no session token on a customer's page
        key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
        borrowed = re.search(
            r'name="form_key" value="([^"]+)"',
            client.get(_path_with_a_real_link(app, rule, other)).get_data(as_text=True),
        ).group(1)
        for forged in ({}, {"form_key": ""}, {"form_key": borrowed}, {"form_key": key[:-1]}):
            response = client.post(path, data={"q_overall": "1", **forged}, headers=EN)
            assert response.status_code == 400, (rule.endpoint, forged)
            assert CUSTOMER_REFUSED in response.data and "Set-Cookie" not in response.headers
        checked.append(rule.endpoint)
    assert sorted(checked) == sorted(TOKEN_BOUND_VIEWS)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OptOut)) == 0
