"""Step pages kept once rendered: each customer gets the page a render would give them, never another's."""

from __future__ import annotations

import pytest

from survey.respond import formkey, kept
from tests.test_respond_steps import STEPS, step


def _page(client, path: str) -> str:
    reply = client.get(path)
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def _rendered(client, path: str) -> str:
    """The page as the template renders it, with nothing kept."""
    kept.forget()
    page = _page(client, path)
    kept.forget()
    return page


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
@pytest.mark.parametrize("query", ["", "?lang=zh", "?lang=en&q=wait_time", "?score=4"])
def test_a_kept_page_is_the_page_a_render_gives_that_customer(app, client, invite, query):
    first, second = invite(locale="en"), invite(locale="en")
    _page(client, f"/s/{first.token}{query}")  # rendered and kept
    assert len(kept._pages) == 1
    from_kept = _page(client, f"/s/{second.token}{query}")
    assert from_kept == _rendered(client, f"/s/{second.token}{query}")
    with app.test_request_context():
        key = formkey.form_key(second.token, formkey.ANSWER)
    assert second.token in from_kept and key in from_kept
    assert second.unsubscribe_token in from_kept
    assert first.token not in from_kept and first.unsubscribe_token not in from_kept


def test_a_customer_further_on_gets_their_own_progress_and_answers(client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    _page(client, f"/s/{first.token}")
    for key, value in STEPS[:2]:
        assert step(client, second, key, value).status_code == 303
    page = _page(client, f"/s/{second.token}?lang=en")
    assert 'name="step" value="products"' in page
    assert "Your answers so far" in page
    assert page == _rendered(client, f"/s/{second.token}?lang=en")


def test_a_step_refused_with_an_error_is_rendered_not_kept(client, invite):
    invitation = invite(locale="en")
    refused = step(client, invitation, "attitude", "9")
    assert refused.status_code == 400
    assert not kept._pages


def test_a_value_that_cannot_be_cut_safely_keeps_nothing():
    assert kept.cut("<a href='/s/x'>", ("x", "y", "z")) is None  # too short to be a token
    token, other, key = "A" * 43, "B" * 43, "c" * 64
    assert kept.cut(f"<p>{token}</p><p>{key}</p>", (token, other, key)) is None  # one missing
    page = kept.cut(f"<a href='/s/{token}'>{other}</a><i>{key}</i>{token}", (token, other, key))
    filled = page.fill(("T" * 43, "U" * 43, "k" * 64))
    assert filled == f"<a href='/s/{'T' * 43}'>{'U' * 43}</a><i>{'k' * 64}</i>{'T' * 43}"
