"""Languages: zh and en, chosen by ?lang=, the user's setting, the language cookie, then
Accept-Language.

A staff member's choice is kept in a cookie of its own, set only by the response to the
switch (or the profile form), not in the session: every staff response re-sends the session
cookie, so a slower page asked before the switch would otherwise carry the old language back.
Customers' pages set no cookie at all: their links carry ``?lang=``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept

from survey import settings
from survey.auth.sessions import USER_KEY
from survey.extensions import babel, db
from survey.security import is_public_request

LANGUAGES = ("zh", "en")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
COOKIE = "survey_lang"
COOKIE_DAYS = 365


def select_locale() -> str:
    """Pick the language of this request."""
    if not has_request_context():
        # The CLI speaks the operator's language (SURVEY_LANG, else LANG); the worker
        # chooses each customer's language with force_locale.
        return terminal_language()
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    if may_be_signed_in() and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES and not is_public_request():
        return chosen
    return browser_language(request.accept_languages)


def browser_language(accepted: LanguageAccept) -> str:
    """The language a request's Accept-Language header asks for, else the default.

    What decides a request with neither ``?lang=`` nor a cookie: every API call.
    """
    return accepted.best_match(LANGUAGES) or current_app.config["BABEL_DEFAULT_LOCALE"]


def may_be_signed_in() -> bool:
    """Whether this request can have a signed-in user: it sent a cookie, or signed in just now.

    Staff are known by their session cookie (or Flask-Login's remember cookie); a request
    with no cookie at all (every API call, a health check) is nobody's, told without
    loading a user.
    """
    return bool(request.environ.get("HTTP_COOKIE")) or USER_KEY in session


def catalogue() -> Any:
    """This request's catalogue, looked up once per language it speaks.

    flask-babel finds the catalogue again for every string (context, locale, cache key:
    about 17 µs each, and a dashboard page shows a few hundred strings). The one found is
    kept beside the locale flask-babel chose for the request (``force_locale`` swaps that
    locale object, so a string inside it gets that language's catalogue, and the request's
    own again after it).
    """
    try:
        state = g._flask_babel
        locale, found = state.survey_translations
        if locale is state.babel_locale:
            return found
    except (AttributeError, RuntimeError):  # no request or app yet, or nothing kept yet
        pass
    found = get_translations()
    state = getattr(g, "_flask_babel", None) if g else None
    if state is not None and getattr(state, "babel_locale", None) is not None:
        state.survey_translations = (state.babel_locale, found)
    return found


def gettext(string: str, **variables: Any) -> str:
    """Translate a string as flask_babel.gettext does, with the request's catalogue kept."""
    text = catalogue().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """A label translated when shown, in the language of the request that shows it."""
    return LazyString(gettext, string, **variables)


def remember(code: str) -> None:
    """Keep a staff member's language choice: this response sets the language cookie."""
    g.survey_lang_chosen = code


def chosen_language() -> str | None:
    """The language this browser chose last (the cookie), if any."""
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else None


def _set_cookie(response: Response) -> Response:
    code = g.pop("survey_lang_chosen", None)
    if code is not None and request.cookies.get(COOKIE) != code:
        response.set_cookie(
            COOKIE,
            code,
            max_age=COOKIE_DAYS * 24 * 3600,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    return response


def terminal_language() -> str:
    """Return zh or en for messages printed to an operator's terminal (English unless asked)."""
    wanted = (os.environ.get("SURVEY_LANG") or os.environ.get("LANG") or "")[:2].lower()
    return wanted if wanted in LANGUAGES else "en"


def remember_switch() -> None:
    """Keep a signed-in user's language choice from the switch, so their setting agrees with it."""
    if not request.query_string:
        return  # no ?lang= (nor any other argument to parse)
    asked = request.args.get("lang")
    if asked not in LANGUAGES or is_public_request():
        return  # a customer's page keeps ?lang= in its links instead of a cookie
    remember(asked)
    # Only a setting the user made is updated: without one, the session already decides.
    if current_user.is_authenticated and current_user.locale not in (None, asked):
        current_user.locale = asked
        db.session.commit()


def current_language() -> str:
    """Return 'zh' or 'en' for the current request."""
    return str(get_locale() or "zh")


def url_with_lang(code: str) -> str:
    """Return this page's address with ?lang= set, keeping the path and every other parameter."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    pairs.append(("lang", code))
    return request.path + "?" + urlencode(pairs)


def viewer_time(at: datetime) -> str:
    """Show an instant in the viewer's zone (their own setting, else the bank's)."""
    zone = getattr(current_user, "timezone", None) or settings.bank_zone()
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def init_app(app: Flask) -> None:
    translations = app.root_path + "/translations"
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=translations)
    # Templates translate through the kept catalogue (flask-babel installed its own callables).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.before_request(remember_switch)
    app.after_request(_set_cookie)
    app.jinja_env.globals.update(
        current_language=current_language,
        url_with_lang=url_with_lang,
        viewer_time=viewer_time,
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
    )
