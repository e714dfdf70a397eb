"""Only Twilio may call the webhooks: its signature, for our public URL, from our account.

Twilio signs each request with the account's auth token over the full URL it
called and the posted parameters (``X-Twilio-Signature``). The URL is rebuilt
from ``SURVEY_PUBLIC_URL`` plus the path and query, not from the request's own
host, so the check holds behind a proxy and a signature made for another URL
fails. A request that fails gets 403 and changes nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def signed_url() -> str:
    """The URL Twilio signed: our public base, the path and the query string as received."""
    base = current_app.config["SURVEY_PUBLIC_URL"].rstrip("/")
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def is_from_twilio() -> bool:
    """Whether the current request carries a valid signature from our Twilio account."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    params = request.form.to_dict(flat=True)
    if not RequestValidator(token).validate(signed_url(), params, signature):
        return False
    account = current_app.config.get("TWILIO_ACCOUNT_SID")
    return not account or request.form.get("AccountSid") == account


def twilio_signed(view: F) -> F:
    """Refuse a webhook request that Twilio did not sign for this URL (403, nothing changes)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not is_from_twilio():
            log.warning("refused an unsigned or mis-signed webhook to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]
