"""Response headers and cookies: what every page tells the browser to allow.

Flask-Talisman sets the headers. Every page allows only this site's own origin, no
inline script, and no framing; staff pages may also use inline styles (plotly draws
with them), customers' pages may not. A customer's link carries their token, so no page
sends a referrer, and no page is kept in a cache. HSTS and secure cookies follow
``SURVEY_PUBLIC_URL``: on https they are on, so ``http://127.0.0.1:5000`` keeps working.

Customers' pages never set the staff session cookie: their token is their access, and
some in-app mail browsers keep no cookies at all.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from survey.extensions import talisman

# Blueprints whose pages customers open from a message, with no account and no cookie.
PUBLIC_BLUEPRINTS = frozenset({"respond"})
PUBLIC_PATHS = ("/s/", "/u/")
# Files served as they are, which browsers may keep: only pages are "no-store".
ASSET_ENDPOINTS = frozenset({"static", "dashboard.plotly_js"})

_OWN_ORIGIN: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}
PUBLIC_CSP: dict[str, str] = dict(_OWN_ORIGIN)
STAFF_CSP: dict[str, str] = {**_OWN_ORIGIN, "style-src": "'self' 'unsafe-inline'"}
# The designer's preview shows the customer's page in a frame of the designer's own page.
FRAMED_BY_OWN_PAGES_CSP: dict[str, str] = {**STAFF_CSP, "frame-ancestors": "'self'"}

PERMISSIONS_POLICY = "browsing-topics=()"

# Session cookies whose signature this process checked (StaffOnlySessionInterface), and how
# many it keeps before it starts again (a few per signed-in staff member and minute).
_VERIFIED = "survey.verified_sessions"
_VERIFIED_MOST = 10_000

public_page = talisman(content_security_policy=PUBLIC_CSP, frame_options="DENY")
framed_by_own_pages = talisman(
    content_security_policy=FRAMED_BY_OWN_PAGES_CSP, frame_options="SAMEORIGIN"
)


def is_public_request() -> bool:
    """Whether this request is for a customer's page (a survey or unsubscribe link)."""
    if not has_request_context():
        return False
    return request.blueprint in PUBLIC_BLUEPRINTS or request.path.startswith(PUBLIC_PATHS)


def served_over_https(app: Flask) -> bool:
    return str(app.config.get("SURVEY_PUBLIC_URL") or "").lower().startswith("https://")


class StaffOnlySessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, never read nor saved on a customer's page.

    A customer's page starts from an empty session whatever cookie came (a staff member
    may open a survey link in the browser they work in): it is not the staff member's
    page, and checking the cookie's signature on every survey page costs for nothing.
    """

    def open_session(self, app: Flask, request: Any) -> Any:
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            # No cookie at all (the API, health checks, a first visit), seen without parsing
            # a header: the same empty session as below, at once.
            return self.session_class()
        if is_public_request():
            return self.session_class()
        cookie = request.cookies.get(self.get_cookie_name(app))
        if app.secret_key and not cookie:
            # No cookie came (the API, health checks, a first visit): Flask would build
            # the signing serializer (a key derivation) only to hand back an empty session.
            return self.session_class()
        if not app.secret_key:
            return super().open_session(app, request)
        return self._verified(app, cookie)

    def _verified(self, app: Flask, cookie: str) -> Any:
        """The session a cookie holds, its signature checked once a process (Flask's ``loads``).

        A staff member's cookie stays the same from request to request (it is signed anew at
        most once a minute, survey/auth/sessions.py), and checking its signature again gives
        the same answer: what it said is kept, under a digest of the cookie and the keys that
        checked it, and its age is checked against the session's lifetime on every request,
        as Flask does. Each request gets its own copy of the data.
        """
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        kept = app.extensions.setdefault(_VERIFIED, {})
        digest = hashlib.sha256(cookie.encode()).digest()
        found = kept.get(digest)
        if found is None or found[0] != keys:
            serializer = self.get_signing_serializer(app)
            try:
                data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if len(kept) >= _VERIFIED_MOST:
                kept.clear()
            found = kept[digest] = (keys, int(signed_at.timestamp()), self.serializer.dumps(data))
            return self.session_class(data)
        age = int(time.time()) - found[1]  # itsdangerous's own clock and rule
        if age > max_age or age < 0:
            kept.pop(digest, None)
            return self.session_class()
        return self.session_class(self.serializer.loads(found[2]))

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not session and not session.modified:
            # No cookie to send or delete: Flask would work out every cookie attribute
            # first, then only add this.
            if session.accessed and not is_public_request():
                vary_on_cookie(response)
            return
        if is_public_request():
            return
        super().save_session(app, session, response)


def vary_on_cookie(response: Response) -> None:
    """Add ``Cookie`` to the response's Vary header, as ``response.vary.add`` does."""
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        # What the line above writes on a response without the header, without parsing one.
        response.headers["Vary"] = "Cookie"


def _never_store_pages(response: Response) -> Response:
    # Pages hold a customer's token or a staff member's data; assets may be cached.
    if request.endpoint not in ASSET_ENDPOINTS:
        if "Cache-Control" in response.headers:
            response.cache_control.no_store = True
        else:
            # What the line above writes on a response without the header, without parsing one.
            response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    https = served_over_https(app)
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https
    app.session_interface = StaffOnlySessionInterface()
    talisman.init_app(
        app,
        # The proxy in front redirects http to https; HSTS keeps browsers there.
        force_https=False,
        strict_transport_security=https,
        session_cookie_secure=False,  # set above, from the public address
        frame_options="DENY",
        content_security_policy=STAFF_CSP,
        referrer_policy="no-referrer",
        # Talisman's own default, as the header's text: not joined from a dict each request.
        permissions_policy=PERMISSIONS_POLICY,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    app.after_request(_never_store_pages)
