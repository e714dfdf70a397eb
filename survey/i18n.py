"""Languages: zh and en, chosen by ?lang=, the user's setting, the session, then Accept-Language."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import get_locale
from flask_login import current_user

from survey.extensions import babel

LANGUAGES = ("zh", "en")


def select_locale() -> str:
    """Pick the language of this request."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return (
        request.accept_languages.best_match(LANGUAGES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def current_language() -> str:
    """Return 'zh' or 'en' for the current request."""
    return str(get_locale() or "zh")


def init_app(app: Flask) -> None:
    translations = app.root_path + "/translations"
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=translations)
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
