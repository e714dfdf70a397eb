"""Sign-in, sign-out, password change, throttling, and sessions that end."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey.auth import service
from survey.models import User
from tests.fixtures.access import FAST_HASH, PASSWORD, sign_in

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_staff_member_signs_in_and_lands_on_the_dashboard(client, make_user):
    make_user("quality", email="li.na@bank.example")
    response = sign_in(client, "Li.Na@bank.example ", headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/", headers=EN)
    assert page.status_code == 200
    assert b"li.na@bank.example" in page.data and b"Sign out" in page.data


def test_sign_in_records_when_the_user_last_signed_in(client, make_user, db):
    user = make_user("manager")
    assert user.last_login_at is None
    sign_in(client, user.email)
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None


def test_wrong_password_shows_the_reason_and_signs_nobody_in(client, make_user):
    make_user("admin")
    response = sign_in(client, "admin@bank.example", "not the password", headers=EN)
    assert response.status_code == 200
    assert b"E-mail address or password is wrong." in response.data
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, make_user):
    make_user("admin")
    response = sign_in(client, "nobody@bank.example", "whatever-it-is", headers=ZH)
    assert response.status_code == 200
    assert "电子邮箱或密码错误。" in response.get_data(as_text=True)


def test_deactivated_account_cannot_sign_in(client, make_user):
    make_user("admin", active=False)
    response = sign_in(client, "admin@bank.example", headers=EN)
    assert response.status_code == 200
    assert b"E-mail address or password is wrong." in response.data


def test_passwords_are_stored_only_as_hashes(app, db):
    service.create_user("wang.fang@bank.example", "quality", "a long enough secret")
    db.session.commit()
    user = db.session.scalar(sa.select(User).where(User.email == "wang.fang@bank.example"))
    assert "a long enough secret" not in user.password_hash
    assert user.password_hash.split(":")[0] in ("scrypt", "pbkdf2")
    assert user.check_password("a long enough secret")
    assert not user.check_password("a long enough secreT")


def test_anonymous_visitor_is_sent_to_sign_in_and_back_again(client, make_user):
    make_user("admin")
    response = client.get("/dev/outbox")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    response = client.post(
        response.headers["Location"], data={"email": "admin@bank.example", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/dev/outbox"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/\r\nLocation: https://evil.example",
        "/\t/evil.example",
    ],
)
def test_next_parameter_never_leads_off_the_site(client, make_user, target):
    make_user("admin")
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": "admin@bank.example", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_signed_in_user_opening_sign_in_goes_to_the_dashboard(client_as):
    client = client_as("manager")
    response = client.get("/auth/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_out_ends_the_session_and_says_so(client_as):
    client = client_as("quality")
    response = client.post("/auth/logout", headers=EN, follow_redirects=True)
    assert response.request.path == "/auth/login"
    assert b"You are signed out." in response.data
    assert client.get("/").status_code == 302


def test_sign_out_is_not_a_link(client_as):
    client = client_as("quality")
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_deactivated_user_is_signed_out_on_the_next_request(client_as, db):
    client = client_as("manager")
    assert client.get("/").status_code == 200
    user = db.session.scalar(sa.select(User).where(User.role == "manager"))
    user.active = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_bumped_session_version_signs_out_every_session(client_as, db):
    client = client_as("admin")
    assert client.get("/").status_code == 200
    user = db.session.scalar(sa.select(User).where(User.role == "admin"))
    user.session_version += 1
    db.session.commit()
    assert client.get("/").status_code == 302


def test_password_change_keeps_this_session_and_ends_the_others(app, client_as, db):
    here = client_as("quality")
    elsewhere = app.test_client()
    sign_in(elsewhere, "quality@bank.example")
    response = here.post(
        "/auth/password",
        data={"current": PASSWORD, "new": "a brand new secret", "confirm": "a brand new secret"},
        headers=EN,
        follow_redirects=True,
    )
    assert b"Your password is changed." in response.data
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, "quality@bank.example", PASSWORD).status_code == 200
    assert sign_in(fresh, "quality@bank.example", "a brand new secret").status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "reason"),
    [
        ("wrong password!", "a brand new secret", "a brand new secret", "not your current"),
        (PASSWORD, "short", "short", "at least 10 characters"),
        (PASSWORD, "a brand new secret", "another new secret", "The two passwords differ."),
    ],
)
def test_password_change_refuses_bad_input_and_changes_nothing(
    client_as, db, current, new, confirm, reason
):
    client = client_as("admin")
    response = client.post(
        "/auth/password", data={"current": current, "new": new, "confirm": confirm}, headers=EN
    )
    assert response.status_code == 200
    assert reason.encode() in response.data
    user = db.session.scalar(sa.select(User).where(User.role == "admin"))
    db.session.refresh(user)
    assert user.check_password(PASSWORD) and user.session_version == 1
    assert client.get("/").status_code == 200


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_eleventh_failed_sign_in_in_a_minute_is_refused_in_the_users_language(client, make_user):
    make_user("admin")
    for _attempt in range(10):
        response = sign_in(client, "admin@bank.example", "guessing-again", headers=ZH)
        assert response.status_code == 200
    response = sign_in(client, "admin@bank.example", PASSWORD, headers=ZH)
    assert response.status_code == 429
    assert "尝试次数过多，请稍候再试。" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers
    english = sign_in(client, "admin@bank.example", PASSWORD, headers=EN)
    assert english.status_code == 429
    assert b"Too many attempts" in english.data


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_an_account_is_locked_for_the_hour_after_30_failures_spread_over_minutes(
    app, make_user, monkeypatch
):
    """Ten failures a minute, each minute from another address: the 31st attempt in the hour
    is refused, even with the right password, and an hour later the account opens again."""
    import time

    make_user("admin")
    start = time.time()
    now = [start]
    monkeypatch.setattr(time, "time", lambda: now[0])
    for minute in range(3):
        now[0] = start + 61 * minute
        client = app.test_client()
        address = {"REMOTE_ADDR": f"10.0.0.{minute + 1}"}
        for _attempt in range(10):
            response = client.post(
                "/auth/login",
                data={"email": "admin@bank.example", "password": "guessing"},
                environ_base=address,
            )
            assert response.status_code == 200
    now[0] = start + 61 * 3
    locked = app.test_client().post(
        "/auth/login",
        data={"email": "admin@bank.example", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
        headers=EN,
    )
    assert locked.status_code == 429 and b"Too many attempts" in locked.data
    now[0] = start + 3600 + 61 * 3
    assert sign_in(app.test_client(), "admin@bank.example").status_code == 302


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_successful_sign_ins_do_not_use_up_the_attempts(app, make_user):
    make_user("admin")
    for _attempt in range(12):
        assert sign_in(app.test_client(), "admin@bank.example").status_code == 302


def test_user_chooses_their_language_and_every_page_follows_it(client_as, db):
    client = client_as("manager")
    response = client.post("/auth/profile", data={"locale": "en"}, headers=ZH)
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.role == "manager"))
    assert user.locale == "en"
    page = client.get("/auth/profile", headers=ZH)  # the setting beats the browser
    assert b"Your account" in page.data and b"Change password" in page.data
    assert b"manager" in page.data


def test_profile_refuses_a_language_we_do_not_have(client_as, db):
    client = client_as("manager")
    response = client.post("/auth/profile", data={"locale": "fr"}, headers=EN)
    assert response.status_code == 200
    assert b"Not a valid choice" in response.data
    user = db.session.scalar(sa.select(User).where(User.role == "manager"))
    assert user.locale is None


def test_sign_ins_and_failed_ones_are_in_the_audit_trail_without_the_password(
    client, make_user, db
):
    from survey.models import AuditEvent

    user = make_user("quality", email="li@bank.example")
    assert sign_in(client, "li@bank.example", "wrong-password-1").status_code == 200
    assert sign_in(client, "nobody@bank.example", "guess-1").status_code == 200
    assert sign_in(client, "LI@bank.example").status_code == 302
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    trail = [(e.action, e.actor_user_id, e.after["email"], e.ip) for e in events]
    assert trail[-3:] == [
        ("auth.sign_in_failed", None, "li@bank.example", "127.0.0.1"),
        ("auth.sign_in_failed", None, "nobody@bank.example", "127.0.0.1"),
        ("auth.sign_in", user.id, "li@bank.example", "127.0.0.1"),
    ]
    for event in events:
        for secret in ("wrong-password-1", "guess-1", PASSWORD):
            assert secret not in str(event.before) + str(event.after)


def test_failed_sign_ins_are_counted_across_processes_in_redis(tmp_path, run_id):
    """Two web processes share the sign-in limits through Redis (as at scale): 6 + 4 failures
    in one minute, split across them, and the 11th attempt anywhere is refused."""
    import os
    import subprocess
    import sys

    import redis

    from tests.conftest import REDIS_URL

    prefix = f"survey_{run_id}_signin"
    env = {
        **os.environ,
        "SURVEY_INSTANCE_PATH": str(tmp_path / "instance"),
        "SURVEY_RATELIMIT_STORAGE_URL": REDIS_URL,
    }
    survey = os.path.join(os.path.dirname(sys.executable), "survey")
    subprocess.run([survey, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    # The account's hash is the tests' cheap one: each of the eleven failures checks it, and
    # the product's own hash takes about a second a check on a loaded machine.
    account = (
        f"HASH = {FAST_HASH!r}\n"
        "from werkzeug.security import generate_password_hash\n"
        "from survey import create_app\n"
        "from survey.extensions import db\n"
        "from survey.models import User\n"
        "with create_app().app_context():\n"
        "    user = User(email='admin@bank.example', role='admin')\n"
        "    user.password_hash = generate_password_hash('a-long-password-2026', method=HASH)\n"
        "    db.session.add(user)\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", account], env=env, check=True, capture_output=True,
                   timeout=120)  # fmt: skip
    env["SIGN_IN_PREFIX"] = prefix
    attempt = (
        "import os, sys\n"
        "from survey import create_app\n"
        "app = create_app({'RATELIMIT_STORAGE_OPTIONS': {'key_prefix': os.environ['SIGN_IN_PREFIX']},"
        " 'TESTING': True, 'WTF_CSRF_ENABLED': False})\n"
        "client = app.test_client()\n"
        "codes = [client.post('/auth/login', data={'email': 'admin@bank.example',"
        " 'password': 'wrong'}).status_code for _ in range(int(sys.argv[1]))]\n"
        "print(' '.join(map(str, codes)))\n"
    )
    try:
        first = subprocess.run([sys.executable, "-c", attempt, "6"], env=env, check=True,
                               capture_output=True, text=True, timeout=120).stdout.split()  # fmt: skip
        second = subprocess.run([sys.executable, "-c", attempt, "5"], env=env, check=True,
                                capture_output=True, text=True, timeout=120).stdout.split()  # fmt: skip
    finally:
        store = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)
    assert first == ["200"] * 6
    assert second == ["200"] * 4 + ["429"]  # the other process's failures counted here


def _as_a_new_request_finds_it(db) -> None:
    """Empty the test's session, as each served request's own session starts."""
    db.session.commit()
    db.session.expunge_all()


def test_the_user_a_request_starts_with_is_saved_when_the_page_changes_it(client_as, db):
    """The signed-in user read at the start of a request is the session's own: a change the
    request makes to it (here the language switch) is written, and nothing else is."""
    client = client_as("quality")
    user = db.session.scalar(sa.select(User))
    user.locale = "en"
    _as_a_new_request_finds_it(db)
    before = db.session.execute(sa.select(User.__table__)).one()._asdict()
    _as_a_new_request_finds_it(db)
    page = client.get("/?lang=zh").get_data(as_text=True)
    assert "<h1>客户满意度</h1>" in page and "quality@bank.example" in page
    _as_a_new_request_finds_it(db)
    after = db.session.execute(sa.select(User.__table__)).one()._asdict()
    assert after == {**before, "locale": "zh"}


@pytest.mark.parametrize("change", ["deactivated", "session_version"])
def test_a_user_read_afresh_by_a_request_is_signed_out_once_deactivated_or_bumped(
    client_as, db, change
):
    client = client_as("manager")
    _as_a_new_request_finds_it(db)
    assert client.get("/").status_code == 200
    values = {"active": False} if change == "deactivated" else {"session_version": 2}
    db.session.execute(sa.update(User).values(**values))
    _as_a_new_request_finds_it(db)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_an_unknown_user_in_a_session_is_signed_out(client_as, db):
    client = client_as("quality")
    _as_a_new_request_finds_it(db)
    with client.session_transaction() as session:
        session["_user_id"] = "987654:1"
    assert client.get("/").status_code == 302
