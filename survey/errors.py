"""Error pages in the viewer's language, and problem JSON under /api/."""

from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

from survey.security import is_public_request


def _wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str = "", **extra: object):
    """Return an RFC 9457 problem response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def handle_http_error(error: HTTPException):
    """Show an HTTP error as a page, or as problem JSON to API clients."""
    status = error.code or 500
    if _wants_problem_json():
        response = problem(status, error.name, error.description or "")
        response.headers.update(_retry_after(error))
        return response
    messages = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Nothing you entered was lost; please try again."),
        503: _("We are very busy right now. Nothing was saved; please try again in a moment."),
    }
    message = messages.get(status, error.description or error.name)
    if is_public_request():
        # A customer's page: their layout, and no way into the staff side.
        from survey.respond.views import error_page

        return error_page(status, message), status, _retry_after(error)
    return (
        render_template("error.html", status=status, message=message),
        status,
        _retry_after(error),
    )


def _retry_after(error: HTTPException) -> dict[str, str]:
    """Keep a 503's or 429's Retry-After, which the page and problem JSON would drop."""
    return {k: v for k, v in error.get_headers() if k.lower() == "retry-after"}


def handle_unexpected(error: Exception):
    """Log an unexpected error and answer 500 without a stack trace."""
    from flask import current_app

    from survey import busy
    from survey.extensions import db

    # A failed flush leaves the session unusable, and the error page reads from it too.
    db.session.rollback()
    if busy.is_busy(error):
        # SQLite's lock outlasted the busy timeout on a path that does not retry: nothing
        # was saved, and the client is told to come back, not that we broke.
        current_app.logger.warning(
            "database busy on %s %s: %s", request.method, request.path, error
        )
        return handle_http_error(busy.DatabaseBusy())
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_nul_characters() -> None:
    """Refuse a request whose address or form carries NUL: nobody types it, PostgreSQL cannot store it.

    JSON bodies are checked field by field where they are read, so the API names the field.
    Twilio's webhooks are let through: a customer's SMS is answered in TwiML whatever it
    holds, and the webhook services keep only what can be stored.
    """
    if request.blueprint == "webhooks":
        return
    values = [request.path]
    if request.query_string:  # no query, no arguments to parse
        values.extend(request.args.values())
    if request.environ.get("CONTENT_TYPE") and request.mimetype in FORM_TYPES:
        # Only these are parsed into request.form; for any other body it is empty, and
        # asking for it would still run the form parser's set-up (a JSON post, a GET).
        values.extend(request.form.values())
    if any("\x00" in value for value in values):
        abort(400)


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
