"""The survey link's first step served in front of Flask, for the links nobody has answered yet.

A customer opens ``/s/<token>`` from a message and answers its first question: most
requests to a survey link are those two, on a link with no answer yet, and what they get
is the same for every customer but for their token, unsubscribe token and form key:
a published version's first step (``kept``), then the redirect to its second step.
Measured in-process (bench/RESULTS.md, branch survey-fast), Flask's request cycle with
this app's hooks costs about twice a bare Flask endpoint's whole request before the view
runs, so the issue's goals (half the bare rate for a page, a quarter for an answer) are
out of reach inside it. This WSGI layer answers those two cases itself and hands every
other request to Flask.

It answers only what Flask already answered the same way. The first time Flask serves
a first step of a version (in a language, with a bank name, under a query of at most
``lang=``), or the redirect after a first answer (to a given next step), the view marks
the request (``offer``) and this layer keeps the page or redirect cut around the
customer's values together with the status and headers Flask sent (its CSP,
Referrer-Policy, Cache-Control, nosniff, frame options: everything its hooks set). A
later request of another unanswered link at the same place is answered from that, with
its own values and a request id of its own; it is counted in the same rate limits in
Flask-Limiter's own storage under Flask-Limiter's keys (with its headers) and in the
metrics by its route; the first visit is noted for the process's next batch of opens
(``opens``, as the view's ``service.open_page`` notes it: nothing is written in the
request), a first answer by ``answers.begin_with`` (the hold, the response, the answer and the funnel,
as ``record`` writes them) in one transaction committed before the 303. Its statements are
the services' own Core statements, prepared once and run on the driver's cursor of a
connection the layer keeps (``own_line``, ``survey.prepared``). Anything else, or any doubt (a link answered, closed, unknown,
a draft, a refused form key or answer, a later step, the one tap, a limit reached, a
database error or a response begun meanwhile, a language only the browser's header
decides), goes to Flask, which answers as it always did.

``SURVEY_FAST_FIRST_STEP = False`` turns the layer off.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from flask_limiter.constants import ConfigVars, HeaderNames
from limits import RateLimitItem, parse
from sqlalchemy.exc import SQLAlchemyError

from survey import clock, logs, settings
from survey.i18n import LANGUAGES
from survey.respond import formkey, kept, opens, own_line, service, versions
from survey.respond.steps import applicable
from survey.responses import answers

_log = logging.getLogger(__name__)
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
MAX_FORM = 16 * 1024  # a step's form is a few hundred bytes; a text answer at most 2,000 characters

StartResponse = Callable[..., Any]


class Entry:
    """A first step as Flask answered it: the page cut around the values, status and headers."""

    __slots__ = ("page", "status", "headers", "location")

    def __init__(
        self,
        page: kept.Page,
        status: str,
        headers: list[tuple[str, str]],
        location: kept.Page | None = None,
    ) -> None:
        self.page = page
        self.status = status
        self.headers = headers
        self.location = location  # a step's redirect: its Location cut around the token


def page_key(version_id: int, locale: str, bank_name: str, script_root: str, query: str) -> tuple:
    """Everything a first step shows but the customer's own values (and the database)."""
    return (versions.database_name(), version_id, locale, bank_name, script_root, query)


def offer(
    environ: dict[str, Any], key: Hashable, page: kept.Page, location: kept.Page | None = None
) -> None:
    """Mark a request whose answer may be kept here under ``key``: a first step's page, or the
    redirect after its answer (``location`` its Location, both cut around the token)."""
    environ[ENVIRON_KEY] = (key, page, location)


def answer_key(
    version_id: int, locale: str, script_root: str, query: str, step: str, next_step: str
) -> tuple:
    """Everything the redirect after a first answer shows but the token (and the database)."""
    return (
        "answer",
        versions.database_name(),
        version_id,
        locale,
        script_root,
        query,
        step,
        next_step,
    )


class FirstStep:
    """WSGI middleware: an unanswered link's first step and first answer, without Flask's request cycle."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._limits: tuple[RateLimitItem, RateLimitItem] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (
            kept.any_first_step()
            and method in ("GET", "POST")
            and environ.get("QUERY_STRING", "") in QUERIES
            and self.app.config.get("SURVEY_FAST_FIRST_STEP", True)
        ):
            found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if found is not None:
                if method == "GET":
                    answer = self._answer(environ, found.group(1), self._page_in_context)
                else:
                    answer = self._answer(environ, found.group(1), self._step_in_context)
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
            if offered is not None:
                key, page, location = offered
                wanted = "303 " if location is not None else "200 "
                names = {name.lower() for name, _value in headers}
                if status.startswith(wanted) and "set-cookie" not in names:
                    own = _PER_REQUEST | self._limit_header_names() | {"location"}
                    kept_headers = [(n, v) for n, v in headers if n.lower() not in own]
                    kept.keep_first_step(key, Entry(page, status, kept_headers, location))
            return start_response(status, headers, *rest)

        return self.wsgi_app(environ, keeping)

    def _answer(
        self, environ: dict[str, Any], token: str, answer: Callable[..., Any]
    ) -> tuple[str, list, bytes] | None:
        """The status, headers and body for this token, or None: Flask answers."""
        with logs.request_id_bound(environ) as request_id:
            try:
                with self.app.app_context():
                    return answer(environ, token, request_id)
            except Exception:  # noqa: BLE001 - a bug here must not cost the customer the page
                # Flask answers instead (after a commit, it finds the visit or the answer
                # stored and answers as for a second press); the log says what happened here.
                _log.exception("survey link answered by Flask after an error in front of it")
                environ.pop(SEEN_KEY, None)
                own_line.roll_back_all()  # nothing this request began stays open
                return None

    def _page_in_context(
        self, environ: dict[str, Any], token: str, request_id: str
    ) -> tuple[str, list, bytes] | None:
        connection = own_line.connection()
        try:
            visit = service.visit_on(connection, token)
            if visit is None or isinstance(visit, service.Visit):
                environ[SEEN_KEY] = (token, visit)  # plain data (a draft's is left to Flask)
            if not isinstance(visit, service.Visit) or visit.response is not None:
                return own_line.rolled_back(connection)
            query = environ.get("QUERY_STRING", "")
            locale = query[5:] if query else visit.locale
            if locale not in LANGUAGES or service.link_state(visit) != "open":
                # The browser's language, or a state page: Flask's.
                return own_line.rolled_back(connection)
            settings.use_kept_copy()
            bank_name = settings.get(f"bank_name_{locale}")
            key = page_key(
                visit.survey_version_id, locale, bank_name, environ.get("SCRIPT_NAME", ""), query
            )
            entry = kept.first_step(key)
            if entry is None:
                return own_line.rolled_back(connection)
            limit_headers = self._count_limits(environ, token)
            if limit_headers is None:  # over a limit: Flask counts it and answers the 429
                return own_line.rolled_back(connection)
            environ.pop(SEEN_KEY, None)  # from here on, Flask reads the link anew
            connection.rollback()  # nothing written in the request
            if visit.opened_at is None:
                opens.note(self.app, visit, clock.now())  # the first visit: written in a batch
            values = (
                visit.token,
                visit.unsubscribe_token,
                formkey.form_key(visit.token, formkey.ANSWER),
            )
            body = entry.page.fill(values).encode()
        except (SQLAlchemyError, connection.errors):
            environ.pop(SEEN_KEY, None)
            connection.drop()  # a fresh one next time
            return None  # Flask meets the database again and says what it must
        headers = [
            *entry.headers,
            *limit_headers,
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
        ]
        _count_request(entry.status)
        return entry.status, headers, body

    def _step_in_context(
        self, environ: dict[str, Any], token: str, request_id: str
    ) -> tuple[str, list, bytes] | None:
        """A first answer on an unanswered link, stored, and the redirect to the next step."""
        from survey.extensions import db

        form = _read_form(environ)
        if form is None or form.get("go", "next") != "next" or "one_click" in form:
            return None
        connection = own_line.connection()
        try:
            visit = service.visit_on(connection, token)
            if not isinstance(visit, service.Visit) or visit.response is not None:
                return own_line.rolled_back(connection)
            query = environ.get("QUERY_STRING", "")
            locale = query[5:] if query else visit.locale
            if locale not in LANGUAGES or service.link_state(visit) != "open":
                return own_line.rolled_back(connection)
            if not formkey.accepts(token, formkey.ANSWER, form):
                return own_line.rolled_back(connection)  # Flask refuses it, in the customer's words
            questions = versions.questions(visit)
            asked = applicable(questions, {})
            step = form.get("step", "")
            if not asked or asked[0].key != step:
                return own_line.rolled_back(connection)
            question = asked[0]
            value, error = service.parse_answer(question, form.get(f"q_{step}", ""))
            if error or value is None:
                return own_line.rolled_back(connection)
            after = applicable(questions, {step: answers.comparable(question, value)})
            if len(after) < 2 or after[0] is not question:
                # The last step completes the response: Flask's.
                return own_line.rolled_back(connection)
            key = answer_key(
                visit.survey_version_id,
                locale,
                environ.get("SCRIPT_NAME", ""),
                query,
                step,
                after[1].key,
            )
            entry = kept.first_step(key)
            if entry is None or entry.location is None:
                return own_line.rolled_back(connection)
            limit_headers = self._count_limits(environ, token)
            if limit_headers is None:
                return own_line.rolled_back(connection)
            now = clock.now()
            if answers.begin_with(visit, question, value, service.WEB, locale, now, connection):
                connection.commit()  # one short transaction: hold, response, answer, funnel
            else:
                # Closed meanwhile, or its funnel record not what was read: the usual way,
                # through the request's session (which counts the funnel as ``record`` does).
                connection.rollback()
                if not answers.begin_with(visit, question, value, service.WEB, locale, now):
                    own_line.rolled_back(connection)
                    db.session.rollback()
                    return None  # closed meanwhile: Flask says so
                db.session.commit()
        except (
            SQLAlchemyError,
            connection.errors,
        ):  # begun meanwhile by another tab, or the database
            db.session.rollback()
            return own_line.rolled_back(connection)  # Flask's
        _count_answer()
        body = entry.page.fill((token,)).encode()
        headers = [
            *entry.headers,
            ("Location", entry.location.fill((token,))),
            *limit_headers,
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
        ]
        _count_request(entry.status, "POST")
        return entry.status, headers, body

    def _limit_header_names(self) -> frozenset[str]:
        return frozenset(name.lower() for name in _limit_settings(self.app)[2].values())

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
        key_prefix, headers_enabled, names = _limit_settings(self.app)
        prefix = [key_prefix] if key_prefix else []
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
        if not headers_enabled:
            return []
        reset_at = int(reset + 1)
        return [
            (names[HeaderNames.LIMIT], str(per_token.amount)),
            (names[HeaderNames.REMAINING], str(remaining)),
            (names[HeaderNames.RESET], str(reset_at)),
            (names[HeaderNames.RETRY_AFTER], str(int(reset_at - time.time()))),
        ]


def _limit_settings(app: Flask) -> tuple[str, bool, dict[HeaderNames, str]]:
    """The key prefix, whether headers are sent, and their names: Flask-Limiter's configuration.

    Our ``Limiter`` takes none of these as arguments (``survey.extensions``), so it reads
    them from the app's configuration under these documented names, with these defaults;
    ``tests/test_respond_fast.py`` checks the headers sent here equal Flask-Limiter's.
    """
    config = app.config
    names = {
        HeaderNames.LIMIT: config.get(ConfigVars.HEADER_LIMIT, HeaderNames.LIMIT.value),
        HeaderNames.REMAINING: config.get(ConfigVars.HEADER_REMAINING, HeaderNames.REMAINING.value),
        HeaderNames.RESET: config.get(ConfigVars.HEADER_RESET, HeaderNames.RESET.value),
        HeaderNames.RETRY_AFTER: config.get(
            ConfigVars.HEADER_RETRY_AFTER, HeaderNames.RETRY_AFTER.value
        ),
    }
    return (
        config.get(ConfigVars.KEY_PREFIX, ""),
        bool(config.get(ConfigVars.HEADERS_ENABLED, False)),
        names,
    )


def seen(environ: dict[str, Any], token: str) -> tuple[bool, Any]:
    """What this layer read of the link before leaving the request to Flask: (read, visit or None)."""
    found = environ.pop(SEEN_KEY, None)
    if found is None or found[0] != token:
        return False, None
    return True, found[1]


def _count_request(status: str, method: str = "GET") -> None:
    _counter("requests", method, status[:3]).inc()


def _count_answer() -> None:
    _counter("answers").inc()


# The metrics' children this layer counts in, by their labels: asking the metric for them
# (``labels``) each request costs more than counting.
_counters: dict[tuple[str, ...], Any] = {}


def _counter(*key: str) -> Any:
    found = _counters.get(key)
    if found is None:
        from survey.ops.metrics import ANSWERS, REQUESTS

        if key[0] == "answers":
            found = ANSWERS.labels(service.WEB)
        else:
            found = REQUESTS.labels(ROUTE, key[1], key[2])
        _counters[key] = found
    return found


def _read_form(environ: dict[str, Any]) -> dict[str, str] | None:
    """The posted form's fields (the first of each name), or None: Flask reads it.

    Read only when it is a small URL-encoded body of a known length; the body is put back,
    so Flask reads the same when this layer leaves the request to it.
    """
    kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if kind != "application/x-www-form-urlencoded" or not 0 < length <= MAX_FORM:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            return None  # refused by Flask (errors.refuse_nul_characters)
        form.setdefault(name, value)
    return form


def install(app: Flask) -> FirstStep:
    """Put the first-step layer in front of the app's WSGI callable (inside ProxyFix, if any)."""
    layer = FirstStep(app, app.wsgi_app)
    app.wsgi_app = layer  # type: ignore[method-assign]
    app.extensions["survey.respond.fast"] = layer
    return layer
