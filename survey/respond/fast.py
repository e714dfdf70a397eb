"""The survey page's first step served in front of Flask, for the links nobody has answered yet.

A customer opens ``/s/<token>`` from a message: most such GETs are the first visit of a
link with no answer yet, and the page they get is a published version's first step,
the same for every customer but for their token, unsubscribe token and form key
(``kept``). Measured in-process (bench/RESULTS.md, branch survey-fast), Flask's request
cycle with this app's hooks costs about twice a bare Flask endpoint's whole request
before the view runs, so the issue's goal (half the bare rate) is out of reach inside
it. This WSGI layer answers that one case itself and hands every other request to Flask.

It answers only what Flask already answered the same way: the first time Flask serves
a first step of a version (in a language, with a bank name, under a query of at most
``lang=``), the view marks the request (``offer``), and this layer keeps the page cut
around the customer's values together with the status and headers Flask sent (its
CSP, Referrer-Policy, Cache-Control, nosniff, frame options: everything its hooks
set). A later GET of another unanswered link at the same place is answered from that,
with its own values, a request id of its own, the same rate limits counted in
Flask-Limiter's own storage under Flask-Limiter's keys (and its headers), the first
visit recorded by the same service call the view makes (``service.open_page``), and
the request counted in the metrics by its route. Anything else, or any doubt (a link
answered, closed, unknown, a draft, a limit reached, a database error, a language
that only the browser's header decides), goes to Flask, which answers as it always
did: its error pages, 404/410, completed and cancelled pages, 429.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from flask import Flask
from flask_limiter.constants import HeaderNames
from limits import RateLimitItem, parse
from sqlalchemy.exc import SQLAlchemyError

from survey import logs, settings
from survey.i18n import LANGUAGES
from survey.respond import formkey, kept, service, versions

ENVIRON_KEY = "survey.respond.fast"
# What this layer read of a link it then left to Flask: the view need not read it again.
SEEN_KEY = "survey.respond.fast.seen"
ROUTE = "/s/<token>"
ENDPOINT = "respond.survey"
# What a token is made of (``secrets.token_urlsafe``); another path is Flask's to answer.
_PATH = re.compile(r"/s/([A-Za-z0-9_-]{20,64})")
# The queries a first step is answered for here: none, or only the page's language.
QUERIES = frozenset({"", *(f"lang={code}" for code in LANGUAGES)})
# Headers a request sets for itself: never kept, made anew for each answer.
_PER_REQUEST = frozenset({"content-length", "x-request-id", "set-cookie", "retry-after"})
SANE_ID = logs.SANE_ID

StartResponse = Callable[..., Any]


class Entry:
    """A first step as Flask answered it: the page cut around the values, status and headers."""

    __slots__ = ("page", "status", "headers")

    def __init__(self, page: kept.Page, status: str, headers: list[tuple[str, str]]) -> None:
        self.page = page
        self.status = status
        self.headers = headers


def page_key(version_id: int, locale: str, bank_name: str, script_root: str, query: str) -> tuple:
    """Everything a first step shows but the customer's own values (and the database)."""
    return (versions.database_name(), version_id, locale, bank_name, script_root, query)


def offer(environ: dict[str, Any], key: Hashable, page: kept.Page) -> None:
    """Mark a request whose answer (a first step, kept under ``key``) may be kept here."""
    environ[ENVIRON_KEY] = (key, page)


class FirstStep:
    """WSGI middleware: the first step of an unanswered link, answered without Flask's request cycle."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._limits: tuple[RateLimitItem, RateLimitItem] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            kept.any_first_step()
            and environ.get("REQUEST_METHOD") == "GET"
            and environ.get("QUERY_STRING", "") in QUERIES
            and self.app.config.get("SURVEY_FAST_FIRST_STEP", True)
        ):
            found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if found is not None:
                answer = self._answer(environ, found.group(1))
                if answer is not None:
                    status, headers, body = answer
                    start_response(status, headers)
                    return [body]
        return self._through_flask(environ, start_response)

    def _through_flask(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Let Flask answer; keep its answer when the view offered it and it is one to keep."""

        def keeping(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            offered = environ.pop(ENVIRON_KEY, None)
            if offered is not None and status.startswith("200 "):
                names = {name.lower() for name, _value in headers}
                if "set-cookie" not in names:
                    key, page = offered
                    limit_names = self._limit_header_names()
                    kept_headers = [
                        (name, value)
                        for name, value in headers
                        if name.lower() not in _PER_REQUEST and name.lower() not in limit_names
                    ]
                    kept.keep_first_step(key, Entry(page, status, kept_headers))
            return start_response(status, headers, *rest)

        return self.wsgi_app(environ, keeping)

    def _answer(self, environ: dict[str, Any], token: str) -> tuple[str, list, bytes] | None:
        """The first step's status, headers and body for this token, or None: Flask answers."""
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if SANE_ID.fullmatch(offered) else secrets.token_hex(8)
        bound = logs.bind_request_id(request_id)
        try:
            with self.app.app_context():
                return self._answer_in_context(environ, token, request_id)
        finally:
            logs.reset_request_id(bound)

    def _answer_in_context(
        self, environ: dict[str, Any], token: str, request_id: str
    ) -> tuple[str, list, bytes] | None:
        from survey.extensions import db

        try:
            visit = service.visit(token)
            if visit is None or isinstance(visit, service.Visit):
                environ[SEEN_KEY] = (token, visit)  # plain data (a draft's is an ORM object)
            if visit is None or not isinstance(visit, service.Visit) or visit.response is not None:
                return _rolled_back(db)
            query = environ.get("QUERY_STRING", "")
            locale = query[5:] if query else visit.locale
            if locale not in LANGUAGES or service.link_state(visit) != "open":
                return _rolled_back(db)  # the browser's language, or a state page: Flask's
            settings.use_kept_copy()
            bank_name = settings.get(f"bank_name_{locale}")
            key = page_key(
                visit.survey_version_id, locale, bank_name, environ.get("SCRIPT_NAME", ""), query
            )
            entry = kept.first_step(key)
            if entry is None:
                return _rolled_back(db)
            limit_headers = self._count_limits(environ, token)
            if limit_headers is None:  # over a limit: Flask counts it and answers the 429
                return _rolled_back(db)
            environ.pop(SEEN_KEY, None)  # from here on, Flask reads the link anew
            service.open_page(visit)  # the first visit, as the view records it
            values = (
                visit.token,
                visit.unsubscribe_token,
                formkey.form_key(visit.token, formkey.ANSWER),
            )
            body = entry.page.fill(values).encode()
        except SQLAlchemyError:
            environ.pop(SEEN_KEY, None)
            return _rolled_back(db)  # Flask meets the database again and says what it must
        headers = [
            *entry.headers,
            *limit_headers,
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
        ]
        _count_request(entry.status)
        return entry.status, headers, body

    def _limit_header_names(self) -> frozenset[str]:
        from survey.extensions import limiter

        mapping = getattr(limiter, "_header_mapping", None) or {}
        return frozenset(str(name).lower() for name in mapping.values())

    def _count_limits(self, environ: dict[str, Any], token: str) -> list[tuple[str, str]] | None:
        """Count this request in the survey route's limits as Flask-Limiter would; None when over one.

        The same limits (``views.PER_ADDRESS`` shared as "public-address", ``views.PER_TOKEN``
        on the route), the same keys and storage, so a link's 31st request in a minute is
        refused whichever way its 30 others went; the headers Flask-Limiter adds, the
        per-token limit's.
        """
        from survey.extensions import limiter

        if not limiter.enabled:
            return []
        if self._limits is None:
            from survey.respond.views import PER_ADDRESS, PER_TOKEN

            self._limits = (parse(PER_ADDRESS), parse(PER_TOKEN))
        per_address, per_token = self._limits
        prefix = [limiter._key_prefix] if limiter._key_prefix else []
        address_args = [*prefix, environ.get("REMOTE_ADDR") or "127.0.0.1", "public-address"]
        token_args = [*prefix, token, ENDPOINT]
        try:
            storage = limiter.limiter
            if not storage.test(per_address, *address_args) or not storage.test(
                per_token, *token_args
            ):
                return None
            if not storage.hit(per_address, *address_args) or not storage.hit(
                per_token, *token_args
            ):
                return None
            reset, remaining = storage.get_window_stats(per_token, *token_args)
        except Exception:  # noqa: BLE001 - storage unreachable: Flask-Limiter decides, as always
            return None
        if not limiter._headers_enabled:
            return []
        names = limiter._header_mapping
        reset_at = int(reset + 1)
        return [
            (names[HeaderNames.LIMIT], str(per_token.amount)),
            (names[HeaderNames.REMAINING], str(remaining)),
            (names[HeaderNames.RESET], str(reset_at)),
            (names[HeaderNames.RETRY_AFTER], str(int(reset_at - time.time()))),
        ]


def seen(environ: dict[str, Any], token: str) -> tuple[bool, Any]:
    """What this layer read of the link before leaving the request to Flask: (read, visit or None)."""
    found = environ.pop(SEEN_KEY, None)
    if found is None or found[0] != token:
        return False, None
    return True, found[1]


def _rolled_back(db: Any) -> None:
    db.session.rollback()
    return None


def _count_request(status: str) -> None:
    from survey.ops.metrics import REQUESTS

    REQUESTS.labels(ROUTE, "GET", status.split(" ", 1)[0]).inc()


def install(app: Flask) -> FirstStep:
    """Put the first-step layer in front of the app's WSGI callable (inside ProxyFix, if any)."""
    layer = FirstStep(app, app.wsgi_app)
    app.wsgi_app = layer  # type: ignore[method-assign]
    app.extensions["survey.respond.fast"] = layer
    return layer
