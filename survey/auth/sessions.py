"""How long a staff sign-in lasts: at most SURVEY_SESSION_HOURS, and SURVEY_SESSION_IDLE_MINUTES
without a request ends it sooner (a shared branch PC left signed in).

The times are kept in the signed session cookie and read from the one clock, so a
test can move time; a customer's page never has a staff session and is not touched.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, flash, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from survey import clock
from survey.models import User

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# Flask-Login's key for the signed-in user in the session.
USER_KEY = "_user_id"
# Stamp the last request at most this often: each stamp re-signs the cookie.
STAMP_EVERY = timedelta(seconds=60)


def start(user: User) -> None:
    """Sign a user in for at most the configured hours."""
    login_user(user)
    session.permanent = True
    now = clock.now().timestamp()
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def init_app(app: Flask) -> None:
    """End a sign-in that is too old or was left idle, before the request uses it."""

    @app.before_request
    def _end_stale_sign_in() -> None:
        if USER_KEY not in session:
            return
        now = clock.now().timestamp()
        config = current_app.config
        idle = float(config.get("SURVEY_SESSION_IDLE_MINUTES") or 30) * 60
        longest = float(config.get("SURVEY_SESSION_HOURS") or 12) * 3600
        signed_in_at = session.get(SIGNED_IN_AT)
        seen_at = session.get(SEEN_AT)
        if signed_in_at is None or seen_at is None:
            # A sign-in from before these limits: they start now.
            session[SIGNED_IN_AT] = session[SEEN_AT] = now
            return
        if now - seen_at > idle or now - signed_in_at > longest:
            logout_user()
            session.pop(SIGNED_IN_AT, None)
            session.pop(SEEN_AT, None)
            hours, minutes = format(longest / 3600, "g"), format(idle / 60, "g")
            if now - signed_in_at > longest:
                flash(
                    _("You were signed out: a sign-in lasts at most %(hours)s hours.", hours=hours)
                )
            else:
                flash(
                    _(
                        "You were signed out after %(minutes)s minutes without activity.",
                        minutes=minutes,
                    )
                )
            return
        if now - seen_at >= STAMP_EVERY.total_seconds():
            session[SEEN_AT] = now
