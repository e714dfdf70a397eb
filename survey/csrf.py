"""Changing the secret key without signing everyone out or breaking open forms.

Flask reads a session cookie signed with any key in ``SECRET_KEY_FALLBACKS``
(``SURVEY_SECRET_KEY_FALLBACKS``: the keys being retired, comma-separated) and signs
new cookies with the new ``SECRET_KEY``. Flask-WTF checks a form's anti-forgery value
against the current key only, so a form that was open while the key changed would be
refused: ``RotatingCSRFProtect`` accepts a value an old key signed for this session
by signing the same session token again with the current key before the check.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_wtf.csrf import CSRFProtect, generate_csrf, validate_csrf
from wtforms import ValidationError


def fallback_keys(raw: Any) -> list[str]:
    """Read the retired keys from configuration: a list, or a comma-separated string."""
    if not raw:
        return []
    if isinstance(raw, str):
        return [key.strip() for key in raw.split(",") if key.strip()]
    return [str(key) for key in raw]


class RotatingCSRFProtect(CSRFProtect):
    """CSRF protection that also takes values signed with a retired secret key."""

    def init_app(self, app: Flask) -> None:
        """Check every write as Flask-WTF does, without its look-up of exemptions on reads.

        Flask-WTF's own hook asks whether the view or its blueprint is exempt before it
        looks at the method, on every request (a GET is never checked). Its documented
        alternative is used instead: ``WTF_CSRF_CHECK_DEFAULT = False`` and
        ``protect()`` called from a hook of ours, in the same place among the hooks,
        for the methods it checks (``WTF_CSRF_METHODS``), the exemptions applied.
        """
        checks_every_view = app.config.get("WTF_CSRF_CHECK_DEFAULT", True)
        app.config["WTF_CSRF_CHECK_DEFAULT"] = False
        super().init_app(app)
        if not checks_every_view:
            return
        methods = app.config["WTF_CSRF_METHODS"]

        @app.before_request
        def csrf_protect_writes() -> None:
            if request.method in methods and app.config["WTF_CSRF_ENABLED"]:
                self.protect(apply_exemptions=True)

    def _get_csrf_token(self) -> str | None:
        token = super()._get_csrf_token()
        retired = current_app.config.get("SECRET_KEY_FALLBACKS") or []
        if not token or not retired:
            return token
        try:
            validate_csrf(token)
            return token
        except ValidationError:
            pass
        for key in retired:
            try:
                validate_csrf(token, secret_key=key)
            except ValidationError:
                continue
            # Signed by a retired key for this very session: the same token, signed anew
            # (not the one this request may have cached in g, signed earlier).
            g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
            return generate_csrf()
        return token
