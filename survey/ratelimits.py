"""Which requests the web rate limits look at: those of the blueprints that carry a limit.

Flask-Limiter works out, on every request, which limits apply to its view (the view's,
its blueprint's, the defaults, the application's, the meta limits): about a fifth of a
health check's whole cost, and the same on every API call, although only the staff
sign-in (``auth``) and the customers' links (``respond``) carry limits. Every other
request is exempt at once, through a request filter, Flask-Limiter's documented way to
exempt a request. A limit put on a view of another blueprint must add its blueprint here.

An app configured with limits for every route (``RATELIMIT_DEFAULT``,
``RATELIMIT_APPLICATION`` or ``RATELIMIT_META``) keeps the limiter looking at every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request

from survey import ratelimit_memory  # noqa: F401  registers survey-memory:// with limits
from survey.extensions import limiter

LIMITED_BLUEPRINTS = frozenset({"auth", "respond"})
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")
_KEY = "survey.ratelimits.limited_blueprints"
_filtering = False


def carries_no_limit() -> bool:
    """Whether this request's view can meet no limit, so the limiter need not look."""
    limited = current_app.extensions.get(_KEY)
    return limited is not None and request.blueprint not in limited


def limited_blueprints(config: Mapping[str, Any]) -> frozenset[str] | None:
    """The blueprints the limiter looks at; None for all, when limits apply to every route."""
    return None if any(config.get(name) for name in APP_WIDE_LIMITS) else LIMITED_BLUEPRINTS


def init_app(app: Flask) -> None:
    """Bind the limiter; exempt the blueprints without limits unless limits apply app-wide."""
    global _filtering
    app.extensions[_KEY] = limited_blueprints(app.config)
    if not _filtering:  # the limiter is one object for every app of the process
        limiter.request_filter(carries_no_limit)
        _filtering = True
    limiter.init_app(app)
