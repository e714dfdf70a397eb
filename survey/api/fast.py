"""A posted interaction taken in front of Flask, for the common post: new, valid, no complaint case.

The bank's systems post interactions all day (``POST /api/v1/interactions``); nearly
every post is a new interaction of a known agent, without a complaint case, from a
client that sends no cookie and no query. Flask's request cycle with this app's hooks
(request id, NUL check, CSRF, session, limiter filter, Talisman, the API's body limit,
metrics) costs such a post a few tenths of a millisecond of CPU (bench/RESULTS.md,
branch intake-path); this WSGI layer takes those posts itself and hands every other
request to Flask.

It runs the view's own steps, not a copy of them: the key (``auth.service.bearer_key``,
``note_use``), the body (``bodies.parse_json``), the validation
(``schemas.parse_interaction``), the intake (``intake.take_in``: decide before writing,
``BEGIN IMMEDIATE`` and the writers' turn on SQLite, the replay, the queue hint after
the commit) and the answer (``results.interaction_result``, as ``jsonify`` writes it, in
the language Accept-Language asks for). Its status line and headers are those Flask
sent for an earlier such post (everything its hooks set: Talisman's, Cache-Control,
Content-Type), kept when the view offered them (``offer``), with a request id of its
own; it counts the request in the metrics under the view's route.

Anything else, or any doubt, is Flask's, which answers as it always did: a missing,
unknown or out-of-scope key, a body that is not JSON, too large, chunked, or refused by
the validation (its problem JSON), a complaint block, an agent new to us, a replay whose
answer was never kept, a replay with another body, a database that stayed busy, a
query string, a cookie, app-wide rate limits (``ratelimits``), or an error here. None of
these has written anything when it is handed over (the key's last use aside, which
Flask's own pass then finds recorded).

``SURVEY_FAST_INTAKE = False`` turns the layer off.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask_babel import force_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_options_header

from survey import i18n, logs, ratelimits
from survey.api import bodies, results, schemas
from survey.auth.service import bearer_key, note_use
from survey.busy import DatabaseBusy
from survey.dispatch import intake, intake_rows
from survey.dispatch.cases import CaseConflict
from survey.extensions import db
from survey.ops.metrics import request_counter

_log = logging.getLogger(__name__)
PATH = "/api/v1/interactions"
ROUTE = PATH  # the URL rule the metrics count it under
SCOPE = "interactions"
OFFERED = "survey.api.fast.offered"
# Headers a response sets for itself: never kept, made anew for each answer.
_PER_REQUEST = frozenset({"content-length", "x-request-id", "set-cookie"})

StartResponse = Callable[..., Any]


def offer(environ: dict[str, Any]) -> None:
    """Mark a post the view answered with its result: its status and headers may be kept."""
    environ[OFFERED] = True


def _takes(environ: dict[str, Any]) -> bool:
    """Whether a request is one this layer may take: a plain JSON post with its length."""
    if (
        environ.get("REQUEST_METHOD") != "POST"
        or environ.get("PATH_INFO") != PATH
        or environ.get("QUERY_STRING")
        or environ.get("HTTP_COOKIE")
    ):
        return False
    mimetype = parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()
    length = environ.get("CONTENT_LENGTH") or ""
    return (
        mimetype == "application/json"
        and length.isdigit()
        and 0 < int(length) <= bodies.API_MAX_BODY_BYTES
    )


def _headers_key(environ: dict[str, Any], status: str) -> tuple[str, str, str]:
    """What the kept headers of an answer depend on: its status, the scheme, the mount point."""
    return (status, environ.get("wsgi.url_scheme", "http"), environ.get("SCRIPT_NAME", ""))


class Intake:
    """WSGI middleware: a new interaction taken in without Flask's request cycle."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # Flask's status line and headers for a post's answer (201, or 200 for a replay).
        self.kept: dict[tuple[str, str, str], tuple[str, list[tuple[str, str]]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not _takes(environ) or not self._on():
            return self.wsgi_app(environ, start_response)
        if _headers_key(environ, "201") in self.kept:
            answer = self._answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self._through_flask(environ, start_response)

    def _on(self) -> bool:
        """Whether the layer is on: the setting, and no rate limit Flask-Limiter would count."""
        config = self.app.config
        limited = ratelimits.limited_blueprints(config)  # None: every route is limited
        return (
            bool(config.get("SURVEY_FAST_INTAKE", True))
            and limited is not None
            and ("api" not in limited)
        )

    def _through_flask(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Let Flask answer; keep its status and headers when the view offered them."""

        def keeping(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            names = {name.lower() for name, _value in headers}
            offered = environ.pop(OFFERED, False)
            if offered and status[:4] in ("201 ", "200 ") and "set-cookie" not in names:
                own = [(n, v) for n, v in headers if n.lower() not in _PER_REQUEST]
                self.kept[_headers_key(environ, status[:3])] = (status, own)
            return start_response(status, headers, *rest)

        return self.wsgi_app(environ, keeping)

    def _answer(self, environ: dict[str, Any]) -> tuple[str, list, bytes] | None:
        """The status, headers and body of a post taken in here, or None: Flask answers."""
        length = int(environ["CONTENT_LENGTH"])
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # Flask reads the same when it answers
        if len(raw) != length:
            return None
        with logs.request_id_bound(environ) as request_id, self.app.app_context():
            try:
                return self._take_in(environ, raw, request_id)
            except (bodies.BodyProblem, intake.ReplayConflict, CaseConflict, DatabaseBusy):
                db.session.rollback()  # Flask says what is wrong, in its words
            except Exception:  # noqa: BLE001 - a bug here must not cost the bank its post
                # Nothing was committed (take_in commits last): Flask takes the post anew.
                _log.exception("interaction taken in by Flask after an error in front of it")
                db.session.rollback()
            return None

    def _take_in(
        self, environ: dict[str, Any], raw: bytes, request_id: str
    ) -> tuple[str, list, bytes] | None:
        key = bearer_key(environ.get("HTTP_AUTHORIZATION", ""))
        if key is None or not key.has_scope(SCOPE):
            return None  # 401 or 403
        note_use(key)
        data, _errors = schemas.parse_interaction(bodies.parse_json(raw))
        if data is None or data.complaint is not None or not intake_rows.direct(data):
            return None  # a 400, a complaint, or an agent to add: Flask's
        kept = self.kept.get(_headers_key(environ, "200"))
        outcome = intake.take_in(data)
        if not outcome.created and kept is None:
            return None  # a replay (nothing written): Flask answers it, and its answer is kept
        status, headers = self.kept[_headers_key(environ, "201")] if outcome.created else kept
        accepted = LanguageAccept(parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE")))
        with force_locale(i18n.browser_language(accepted)):
            body = self.app.json.response(results.interaction_result(outcome)).get_data()
        request_counter(ROUTE, "POST", int(status[:3])).inc()
        return (
            status,
            [*headers, ("Content-Length", str(len(body))), ("X-Request-ID", request_id)],
            body,
        )


def install(app: Flask) -> Intake:
    """Put the intake layer in front of the app's WSGI callable (inside ProxyFix, if any)."""
    layer = Intake(app, app.wsgi_app)
    app.wsgi_app = layer  # type: ignore[method-assign]
    app.extensions["survey.api.fast"] = layer
    return layer
