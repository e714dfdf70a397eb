"""Languages: zh and en, chosen by ?lang=, the user's setting, the session, then Accept-Language."""

from __future__ import annotations

import os
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from survey import settings
from survey.extensions import babel, db
from survey.security import is_public_request

LANGUAGES = ("zh", "en")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def select_locale() -> str:
    """Pick the language of this request."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        # The CLI speaks the operator's language (SURVEY_LANG, else LANG); the worker
        # chooses each customer's language with force_locale.
        return terminal_language()
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        if not is_public_request():
            session["lang"] = asked
        return asked
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or default


def terminal_language() -> str:
    """Return zh or en for messages printed to an operator's terminal (English unless asked)."""
    wanted = (os.environ.get("SURVEY_LANG") or os.environ.get("LANG") or "")[:2].lower()
    return wanted if wanted in LANGUAGES else "en"


def remember_switch() -> None:
    """Keep a signed-in user's language choice from the switch, so their setting agrees with it."""
    asked = request.args.get("lang")
    if asked not in LANGUAGES or is_public_request():
        return  # a customer's page keeps ?lang= in its links instead of a session
    session["lang"] = asked
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
    app.before_request(remember_switch)
    app.jinja_env.globals.update(
        current_language=current_language,
        url_with_lang=url_with_lang,
        viewer_time=viewer_time,
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
    )
