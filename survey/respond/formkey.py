"""The customer's forms carry a value bound to their link, not to a session cookie.

The token in the address is the customer's access; a form on their page proves it came
from that page by a keyed hash (the app's secret key) of the token and what the form
does. Nobody without the link can make one, and it needs no cookie, so in-app mail
browsers that keep none can answer too. Staff forms keep Flask-WTF's session token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from flask import current_app

FIELD = "form_key"
ANSWER = "answer"
UNSUBSCRIBE = "unsubscribe"


def form_key(token: str, purpose: str) -> str:
    """Return the value a form for ``purpose`` on the page of ``token`` carries."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = f"survey.respond/{purpose}/{token}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def accepts(token: str, purpose: str, form: Mapping[str, str]) -> bool:
    """Whether a posted form carries the value of this token and purpose.

    Checked wherever Flask-WTF checks staff forms (``WTF_CSRF_ENABLED``, on unless a test
    that is not about forgery turns it off).
    """
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    given = form.get(FIELD) or ""
    expected = form_key(token, purpose)
    return len(given) <= 128 and hmac.compare_digest(expected.encode(), given.encode())
