"""A staff sign-in ends after its hours or when left idle, and survives a change of secret key,
open forms included."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from survey import clock
from tests.fixtures.access import PASSWORD, sign_in

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def signed_in(app, client, make_user):
    clock.freeze(NOW)
    make_user("admin", "admin@bank.example")
    if app.config.get("WTF_CSRF_ENABLED"):
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = client.post(
            "/auth/login",
            data={"email": "admin@bank.example", "password": PASSWORD, "csrf_token": token},
        )
    else:
        answer = sign_in(client, "admin@bank.example")
    assert answer.status_code == 302
    return client


def _is_signed_in(client) -> bool:
    return client.get("/admin/users").status_code == 200


def test_a_sign_in_survives_activity_within_the_idle_limit(signed_in):
    for minutes in (20, 40, 60, 80):
        clock.freeze(NOW + timedelta(minutes=minutes))
        assert _is_signed_in(signed_in)


def test_a_sign_in_left_idle_ends_and_says_why(signed_in):
    clock.freeze(NOW + timedelta(minutes=31))
    answer = signed_in.get("/admin/users?lang=en")
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]
    page = signed_in.get(answer.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in page
    assert not _is_signed_in(signed_in)


def test_a_sign_in_ends_after_its_hours_however_active(signed_in):
    for minutes in range(20, 12 * 60, 20):
        clock.freeze(NOW + timedelta(minutes=minutes))
        assert _is_signed_in(signed_in), minutes
    clock.freeze(NOW + timedelta(hours=12, minutes=1))
    assert not _is_signed_in(signed_in)


@pytest.mark.app_config(SURVEY_SESSION_IDLE_MINUTES=5, SURVEY_SESSION_HOURS=1)
def test_the_limits_are_settings(signed_in):
    clock.freeze(NOW + timedelta(minutes=6))
    assert not _is_signed_in(signed_in)


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_a_new_secret_key_keeps_people_signed_in_and_their_open_forms_working(app, signed_in):
    form = signed_in.get("/admin/settings").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token, "the settings form carries an anti-forgery value"
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-brand-new-secret-key"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert _is_signed_in(signed_in)  # the cookie signed with the old key is still read
    posted = signed_in.post("/admin/settings", data={"csrf_token": token.group(1), "min_n": "7"})
    assert posted.status_code != 400, posted.get_data(as_text=True)[:500]
    # Once the old key is gone, a value it signed is refused (the cookie was signed anew).
    app.config["SECRET_KEY_FALLBACKS"] = []
    again = signed_in.post("/admin/settings", data={"csrf_token": token.group(1), "min_n": "8"})
    assert again.status_code == 400


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_a_form_value_signed_with_an_unknown_key_is_still_refused(app, signed_in):
    app.config["SECRET_KEY_FALLBACKS"] = ["an-old-key-that-signed-nothing"]
    posted = signed_in.post("/admin/settings", data={"csrf_token": "forged.value", "min_n": "7"})
    assert posted.status_code == 400


def test_the_password_is_not_what_keeps_a_session(signed_in):
    assert PASSWORD  # the fixture signs in with it; the session never stores it
    with signed_in.session_transaction() as session:
        assert PASSWORD not in str(dict(session))


def _session_cookie_set(app, answer) -> bool:
    name = app.config["SESSION_COOKIE_NAME"]
    return any(c.startswith(f"{name}=") for c in answer.headers.getlist("Set-Cookie"))


def test_a_page_re_signs_the_session_cookie_only_when_it_stamps_the_sign_in(app, signed_in):
    """Within a minute of the last stamp a page leaves the cookie as it is (signing it again
    costs every page, and a slower page's old cookie could land after a newer one); the
    minute's stamp re-signs it, so an active sign-in keeps a fresh cookie."""
    signed_in.get("/admin/users")  # its first form keeps a CSRF token in the session
    clock.freeze(NOW + timedelta(seconds=30))
    assert not _session_cookie_set(app, signed_in.get("/admin/users"))
    assert not _session_cookie_set(app, signed_in.get("/?lang=en"))
    clock.freeze(NOW + timedelta(seconds=61))
    assert _session_cookie_set(app, signed_in.get("/admin/users"))
    clock.freeze(NOW + timedelta(seconds=90))
    assert not _session_cookie_set(app, signed_in.get("/admin/users"))
    assert _is_signed_in(signed_in)


def _lifetime_later(monkeypatch, hours: float) -> None:
    """Move the clock the cookie's signature is dated by (itsdangerous reads ``time.time``)."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + hours * 3600)


@pytest.mark.app_config(SURVEY_SESSION_IDLE_MINUTES=24 * 60, SURVEY_SESSION_HOURS=1)
def test_a_session_cookie_read_before_still_ends_with_its_lifetime(signed_in, monkeypatch):
    """A cookie whose signature was checked on an earlier request is still refused once it is
    older than the session's lifetime, as a cookie seen for the first time is."""
    assert _is_signed_in(signed_in)
    assert _is_signed_in(signed_in)
    _lifetime_later(monkeypatch, 0.9)
    assert _is_signed_in(signed_in)
    _lifetime_later(monkeypatch, 1.1)
    assert not _is_signed_in(signed_in)


def test_a_session_cookie_read_before_is_refused_once_its_key_is_gone(app, signed_in):
    assert _is_signed_in(signed_in)
    app.config["SECRET_KEY"] = "a-brand-new-secret-key"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert not _is_signed_in(signed_in)


def test_a_session_cookie_changed_by_one_character_is_refused(app, signed_in):
    assert _is_signed_in(signed_in)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = signed_in.get_cookie(name).value
    signed, signature = cookie.rsplit(".", 1)  # the signature's first character: all data bits
    forged = f"{signed}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    signed_in.set_cookie(name, forged)
    assert not _is_signed_in(signed_in)
    signed_in.set_cookie(name, cookie)
    assert _is_signed_in(signed_in)


def test_each_request_gets_its_own_copy_of_a_session_read_before(app, signed_in):
    """What one request puts in its session never shows in another's that had the same cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = signed_in.get_cookie(name).value
    headers = {"Cookie": f"{name}={cookie}"}
    interface = app.session_interface
    with app.test_request_context("/admin/users", headers=headers) as first:
        one = interface.open_session(app, first.request)
        one["_flashes"] = [("message", "only this request's")]
        one["signed_in_at"] = 0
    with app.test_request_context("/admin/users", headers=headers) as second:
        two = interface.open_session(app, second.request)
        assert "_flashes" not in two and two["signed_in_at"] != 0
        assert not two.modified
