"""A customer's link on its own: no cookie needed, what each state of the link shows, trust."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.models import Invitation, OptOut, Response
from tests.test_respond import FULL

pytestmark = pytest.mark.app_config(WTF_CSRF_ENABLED=True)

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
TRUST_ZH = "示例银行不会在调查中索取密码、验证码或银行卡号"
TRUST_EN = "Example Bank never asks for passwords, verification codes or card numbers in a survey."


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _form_key(page: str) -> str:
    match = re.search(r'name="form_key" value="([^"]+)"', page)
    assert match, "no form key on the page"
    return match.group(1)


def _no_staff_traces(reply) -> None:
    page = reply.get_data(as_text=True)
    assert "Set-Cookie" not in reply.headers, reply.headers.get("Set-Cookie")
    assert "/auth/login" not in page and 'href="/"' not in page
    assert "dashboard" not in page


@pytest.fixture
def cookieless(app):
    """A browser that keeps no cookies, like some in-app mail browsers."""
    return app.test_client(use_cookies=False)


def test_a_browser_without_cookies_answers_the_survey(cookieless, db, invite):
    invitation = invite(locale="en")
    page = cookieless.get(f"/s/{invitation.token}")
    assert page.status_code == 200
    _no_staff_traces(page)
    key = _form_key(page.get_data(as_text=True))
    reply = cookieless.post(f"/s/{invitation.token}", data={**FULL, "form_key": key})
    assert reply.status_code == 200 and "Thank you" in reply.get_data(as_text=True)
    _no_staff_traces(reply)
    assert _count(db, Response) == 1


def test_a_browser_without_cookies_unsubscribes(cookieless, db, invite):
    invitation = invite(locale="en")
    page = cookieless.get(f"/u/{invitation.unsubscribe_token}")
    _no_staff_traces(page)
    key = _form_key(page.get_data(as_text=True))
    reply = cookieless.post(f"/u/{invitation.unsubscribe_token}", data={"form_key": key})
    assert reply.status_code == 200 and "You are unsubscribed" in reply.get_data(as_text=True)
    _no_staff_traces(reply)
    assert _count(db, OptOut) == 3


def test_a_language_switch_on_a_customer_page_sets_no_cookie_and_carries_on(cookieless, invite):
    invitation = invite(locale="zh")
    page = cookieless.get(f"/s/{invitation.token}?lang=en")
    assert "Set-Cookie" not in page.headers
    text = page.get_data(as_text=True)
    assert "How did we do?" in text
    # The form and the unsubscribe link keep the language without a session.
    assert re.search(r'<form method="post" action="/s/[^"]+\?lang=en"', text)
    assert re.search(r'href="/u/[^"]+\?lang=en"', text)


def test_a_form_key_of_another_link_or_form_is_refused_and_stores_nothing(client, db, invite):
    invitation, other = invite(locale="en"), invite(locale="en")
    others_key = _form_key(client.get(f"/s/{other.token}").get_data(as_text=True))
    unsubscribe_key = _form_key(
        client.get(f"/u/{invitation.unsubscribe_token}").get_data(as_text=True)
    )
    for forged in ("", others_key, unsubscribe_key, "0" * 64, "é" * 64):
        reply = client.post(f"/s/{invitation.token}", data={**FULL, "form_key": forged})
        assert reply.status_code == 400, forged
        page = reply.get_data(as_text=True)
        assert "Nothing was saved" in page and "open the link in your message again" in page
        _no_staff_traces(reply)
    assert _count(db, Response) == 0
    survey_key = _form_key(client.get(f"/s/{invitation.token}").get_data(as_text=True))
    refused = client.post(f"/u/{invitation.unsubscribe_token}", data={"form_key": survey_key})
    assert refused.status_code == 400 and _count(db, OptOut) == 0


def test_the_refusal_is_explained_in_chinese_too(client, invite):
    invitation = invite(locale="zh")
    reply = client.post(f"/s/{invitation.token}", data=FULL, headers=ZH)
    assert reply.status_code == 400
    assert "未保存任何内容" in reply.get_data(as_text=True)


# What each state of a link shows, on both routes.


def test_an_unknown_link_is_not_found_on_both_routes_in_both_languages(cookieless):
    for path in ("/s/AAAAAAAAAAAAAAAAAAAAAAAA", "/u/AAAAAAAAAAAAAAAAAAAAAAAA"):
        english = cookieless.get(path, headers=EN)
        assert english.status_code == 404
        assert "This survey link is not valid" in english.get_data(as_text=True)
        _no_staff_traces(english)
        chinese = cookieless.get(path, headers=ZH)
        assert chinese.status_code == 404 and "问卷链接无效" in chinese.get_data(as_text=True)
        assert cookieless.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 404


def _states(db, invite):
    """One invitation in each state a customer can meet after it was sent."""
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    expired = invite(locale="en", lifetime=timedelta(hours=1))
    cancelled = invite(locale="en")
    completed = invite(locale="en")
    cancelled.state = "cancelled"
    completed.state, completed.completed_at = "completed", clock.now()
    db.session.commit()
    clock.advance(timedelta(hours=2))
    return expired, cancelled, completed


SECRETS_OF_THE_INVITATION = ("How did we do?", "attitude of the staff", "C-", "CALL-")


def test_each_closed_state_has_its_own_page_that_reveals_no_survey(client, db, invite):
    expired, cancelled, completed = _states(db, invite)
    pages = {
        "expired": (expired, 410, "This survey has closed"),
        "cancelled": (cancelled, 410, "This survey is no longer needed"),
        "completed": (completed, 200, "You have already answered this survey"),
    }
    for name, (invitation, status, text) in pages.items():
        reply = client.get(f"/s/{invitation.token}", headers=EN)
        assert reply.status_code == status, name
        page = reply.get_data(as_text=True)
        assert text in page and TRUST_EN in page
        # The link's own token is on the page (the language switch); random, it may hold "C-".
        shown = page.replace(invitation.token, "<token>")
        assert not any(secret in shown for secret in SECRETS_OF_THE_INVITATION), name
        _no_staff_traces(reply)


def test_each_closed_state_is_explained_in_chinese(client, db, invite):
    expired, cancelled, completed = _states(db, invite)
    for invitation, text in (
        (expired, "此问卷已关闭"),
        (cancelled, "此问卷已无需填写"),
        (completed, "您已填写过此问卷"),
    ):
        page = client.get(f"/s/{invitation.token}?lang=zh").get_data(as_text=True)
        assert text in page and TRUST_ZH in page


def test_a_form_opened_before_the_link_closed_stores_nothing_after(client, db, invite):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    expired = invite(locale="en", lifetime=timedelta(hours=1))
    cancelled, completed = invite(locale="en"), invite(locale="en")
    keys = {
        i.token: _form_key(client.get(f"/s/{i.token}").get_data(as_text=True))
        for i in (expired, cancelled, completed)
    }
    cancelled.state = "cancelled"
    completed.state, completed.completed_at = "completed", clock.now()
    db.session.commit()
    clock.advance(timedelta(hours=2))
    for invitation, status, text in (
        (expired, 410, "This survey has closed"),
        (cancelled, 410, "This survey is no longer needed"),
        (completed, 409, "You have already answered this survey"),
    ):
        data = {**FULL, "form_key": keys[invitation.token]}
        reply = client.post(f"/s/{invitation.token}", data=data, headers=EN)
        assert reply.status_code == status and text in reply.get_data(as_text=True)
        assert 'name="form_key"' not in reply.get_data(as_text=True)
    assert _count(db, Response) == 0


def test_the_unsubscribe_link_works_in_every_state_of_the_survey(client, db, invite):
    for invitation in _states(db, invite):
        page = client.get(f"/u/{invitation.unsubscribe_token}", headers=EN)
        assert page.status_code == 200 and "Stop receiving surveys?" in page.get_data(True)
        key = _form_key(page.get_data(as_text=True))
        reply = client.post(f"/u/{invitation.unsubscribe_token}", data={"form_key": key})
        assert reply.status_code == 200 and "You are unsubscribed" in reply.get_data(True)
        again = client.get(f"/u/{invitation.unsubscribe_token}?lang=zh").get_data(True)
        assert "您已退订" in again and TRUST_ZH in again
    assert {o.customer_id for o in db.session.scalars(sa.select(OptOut))} >= {
        i.customer_id for i in db.session.scalars(sa.select(Invitation))
    }


# Trust.


def test_every_customer_page_says_what_the_bank_never_asks_with_its_name(client, invite):
    invitation = invite(locale="zh")
    for path in (f"/s/{invitation.token}", f"/u/{invitation.unsubscribe_token}", "/s/nothing"):
        chinese = client.get(path, headers=ZH).get_data(as_text=True)
        assert TRUST_ZH in chinese and "示例银行" in chinese, path
        english = client.get(path + "?lang=en").get_data(as_text=True)
        assert TRUST_EN in english and "Example Bank" in english, path
