"""Languages: complete catalogues, how a request's language is chosen, and the switch."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask

from survey.models import User

SURVEY = Path(__file__).resolve().parents[1] / "survey"
CATALOGUE = SURVEY / "translations" / "{lang}" / "LC_MESSAGES" / "messages.po"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _catalogue(lang: str):
    with open(str(CATALOGUE).format(lang=lang), "rb") as f:
        return read_po(f, locale=lang)


def _source_msgids() -> set[str]:
    """Extract the messages of the code and templates, as scripts/i18n.sh extract does."""
    with open(SURVEY / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
    found = extract_from_dir(str(SURVEY), method_map, options_map, keywords=keywords)
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def _msgid(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_zh_catalogue_has_no_untranslated_or_fuzzy_message():
    catalogue = _catalogue("zh")
    untranslated = [
        m.id
        for m in catalogue
        if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not untranslated, f"messages without a Chinese translation: {untranslated}"
    assert not fuzzy, f"fuzzy translations to check: {fuzzy}"


def test_zh_translations_keep_every_placeholder():
    problems = [(m.id, errors) for m, errors in _catalogue("zh").check() if errors]
    assert not problems


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_catalogue_has_every_message_of_the_source(lang):
    missing = sorted(_source_msgids() - {_msgid(m) for m in _catalogue(lang) if m.id})
    assert not missing, (
        f"messages in the code but not in translations/{lang} (run scripts/i18n.sh all, "
        f"then translate): {missing}"
    )


@pytest.mark.parametrize(
    ("headers", "expected", "html_lang"),
    [
        (ZH, "登录", 'lang="zh-CN"'),
        (EN, "Sign in", 'lang="en"'),
        ({"Accept-Language": "zh-TW,zh;q=0.8"}, "登录", 'lang="zh-CN"'),
        ({"Accept-Language": "fr-FR,fr;q=0.9"}, "登录", 'lang="zh-CN"'),
        ({}, "登录", 'lang="zh-CN"'),
    ],
    ids=["zh-CN", "en-US", "zh-TW", "fr-only-gets-the-default", "no-header-gets-the-default"],
)
def test_browser_language_decides_for_a_visitor(client, headers, expected, html_lang):
    page = client.get("/auth/login", headers=headers).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in page
    assert f"<html {html_lang}>" in page


def test_lang_parameter_wins_and_is_remembered(client):
    assert "<h1>Sign in</h1>" in client.get("/auth/login?lang=en", headers=ZH).get_data(True)
    assert "<h1>Sign in</h1>" in client.get("/auth/login", headers=ZH).get_data(True)
    assert "<h1>登录</h1>" in client.get("/auth/login?lang=zh", headers=EN).get_data(True)
    assert "<h1>登录</h1>" in client.get("/auth/login", headers=EN).get_data(True)


def test_an_unknown_lang_parameter_is_ignored(client):
    assert "<h1>Sign in</h1>" in client.get("/auth/login?lang=xx", headers=EN).get_data(True)


def test_signed_in_users_setting_beats_the_session_and_the_browser(client_as, db):
    client = client_as("admin")
    client.get("/?lang=zh")  # the session says zh
    user = db.session.scalar(sa.select(User))
    user.locale = "en"
    db.session.commit()
    page = client.get("/", headers=ZH).get_data(as_text=True)
    assert "<h1>Customer satisfaction</h1>" in page


def test_switching_language_updates_a_users_saved_setting(client_as, db):
    client = client_as("quality")
    user = db.session.scalar(sa.select(User))
    user.locale = "en"
    db.session.commit()
    page = client.get("/?lang=zh").get_data(as_text=True)
    assert "<h1>客户满意度</h1>" in page and "质检" in page
    assert "<h1>客户满意度</h1>" in client.get("/", headers=EN).get_data(True)
    db.session.refresh(user)
    assert user.locale == "zh"


def test_user_without_a_setting_follows_the_session(client_as, db):
    client = client_as("manager")
    assert "经理" in client.get("/", headers=ZH).get_data(True)
    client.get("/?lang=en")
    assert "<h1>Customer satisfaction</h1>" in client.get("/", headers=ZH).get_data(True)
    assert db.session.scalar(sa.select(User)).locale is None


def test_a_slower_earlier_response_cannot_switch_the_language_back(app, client_as, db):
    """A page asked before the switch can answer after it, re-sending the session as it was
    then; the choice must survive that (a browser test once flipped back to English)."""
    client = client_as("manager")
    client.get("/?lang=zh")
    name = app.config["SESSION_COOKIE_NAME"]
    as_it_was = client.get_cookie(name).value  # what the slower page's response carries
    assert "<h1>Customer satisfaction</h1>" in client.get("/?lang=en").get_data(True)
    client.set_cookie(name, as_it_was)  # ... arriving after the switch's response
    assert "<h1>Customer satisfaction</h1>" in client.get("/", headers=ZH).get_data(True)


def _switch(page: str, code: str) -> tuple[str, list[tuple[str, str]]]:
    """Return the path and query of the page's link to the language ``code``."""
    match = re.search(rf'<a [^>]*href="([^"]+)"[^>]*hreflang="{code}"', page)
    assert match, f"no link to {code} on the page"
    parts = urlsplit(html.unescape(match.group(1)))
    return parts.path, parse_qsl(parts.query)


def test_language_switch_keeps_the_path_and_the_other_parameters(client):
    page = client.get("/no/such/page?lang=en&score=4&tag=a&tag=b").get_data(as_text=True)
    assert _switch(page, "zh") == (
        "/no/such/page",
        [("score", "4"), ("tag", "a"), ("tag", "b"), ("lang", "zh")],
    )


def test_language_switch_on_a_survey_link_keeps_the_preselected_score(client):
    page = client.get("/s/abc?score=4", headers=ZH).get_data(as_text=True)
    path, query = _switch(page, "en")
    assert path == "/s/abc"
    assert sorted(query) == [("lang", "en"), ("score", "4")]


def test_language_switch_is_on_the_sign_in_page(client):
    page = client.get("/auth/login?next=%2Fdev%2Foutbox", headers=ZH).get_data(True)
    assert _switch(page, "en") == ("/auth/login", [("next", "/dev/outbox"), ("lang", "en")])
    assert ">English</a>" in page


@pytest.mark.parametrize(
    ("headers", "message"),
    [(ZH, "页面不存在。"), (EN, "This page does not exist.")],
    ids=["zh", "en"],
)
def test_missing_page_is_explained_in_the_visitors_language(client, headers, message):
    response = client.get("/no/such/page", headers=headers)
    assert response.status_code == 404
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "message"),
    [(ZH, "您无权访问此页面。"), (EN, "You do not have access to this page.")],
    ids=["zh", "en"],
)
def test_forbidden_page_is_explained_in_the_users_language(client_as, headers, message):
    response = client_as("quality").get("/dev/outbox", headers=headers)
    assert response.status_code == 403
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "message"),
    [(ZH, "系统出现问题"), (EN, "Something went wrong on our side.")],
    ids=["zh", "en"],
)
def test_server_error_page_is_in_the_visitors_language_without_a_trace(
    app: Flask, client, headers, message, caplog
):
    @app.get("/test-only/broken")
    def broken():
        """Fail the way a bug would."""
        raise RuntimeError("secret internals")

    response = client.get("/test-only/broken", headers=headers)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert message in page
    assert "secret internals" not in page and "Traceback" not in page


def test_a_failed_database_write_still_gets_the_error_page(app: Flask, client_as):
    from survey.extensions import db
    from survey.models import BusinessLine

    @app.get("/test-only/failed-write")
    def failed_write():
        """Fail inside a flush, leaving the session needing a rollback."""
        db.session.add_all([BusinessLine(code="dup", name_zh="甲", name_en="A") for _ in range(2)])
        db.session.flush()

    response = client_as("admin").get("/test-only/failed-write", headers=EN)
    assert response.status_code == 500
    assert "Something went wrong on our side." in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_extraction_finds_every_message_the_catalogue_translates(lang):
    """A template the extraction cannot parse (a tag of our own it does not know) is skipped
    without a word, and `scripts/i18n.sh update` would then drop its translations: the
    survey page's "Next" went back to English in Chinese that way."""
    gone = sorted({_msgid(m) for m in _catalogue(lang) if m.id} - _source_msgids())
    assert not gone, f"translated but no longer found in the source: {gone}"


def test_a_string_inside_force_locale_is_in_that_language_and_after_it_in_the_requests(app):
    """Templates and lazy labels keep the request's catalogue; force_locale still switches it."""
    from flask import render_template_string
    from flask_babel import force_locale

    from survey.i18n import lazy_gettext

    label = lazy_gettext("Sign in")
    page = '{{ _("Sign in") }}|{{ label }}'
    with app.test_request_context("/?lang=zh"):
        assert render_template_string(page, label=label) == "登录|登录"
        with force_locale("en"):
            assert render_template_string(page, label=label) == "Sign in|Sign in"
            assert str(label) == "Sign in"
        assert render_template_string(page, label=label) == "登录|登录"
        assert str(label) == "登录"
