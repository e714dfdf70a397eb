"""Logs an operator can search: one JSON object a line (SURVEY_LOG_FORMAT=json), a request id.

Every request gets an id — the load balancer's ``X-Request-ID`` when it sends a sane
one, else a new one — returned in the response's ``X-Request-ID`` and put on every
log line written while the request runs. A task the request enqueues carries the id
to the worker (``tasks.SurveyHuey.enqueue``), so a send is found by the request that
caused it.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

_request_id: ContextVar[str | None] = ContextVar("survey_request_id", default=None)
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Attributes every LogRecord has; anything else on a record is an extra worth showing.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def new_request_id() -> str:
    """A fresh id: 16 hex digits, unique enough to find a request's lines (not a secret)."""
    # Python's generator, not the system's (``secrets``): no system call a request, and
    # each process reseeds it after a fork, so gunicorn's workers do not repeat each other.
    return f"{random.getrandbits(64):016x}"


def current_request_id() -> str | None:
    """Return the id of the request (or task) this code runs for, if any."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Any:
    """Set the id for the code that runs next in this context; returns a token to reset it."""
    return _request_id.set(value)


def reset_request_id(token: Any) -> None:
    _request_id.reset(token)


def request_id_of(environ: dict[str, Any]) -> str:
    """The id a request goes by: the one its client sent (X-Request-ID), if sane, else a new one."""
    offered = environ.get("HTTP_X_REQUEST_ID", "")
    return offered if offered and SANE_ID.fullmatch(offered) else new_request_id()


@contextmanager
def request_id_bound(environ: dict[str, Any]) -> Iterator[str]:
    """Inside, log lines carry the request's id (``request_id_of``): for a layer before Flask."""
    request_id = request_id_of(environ)
    token = bind_request_id(request_id)
    try:
        yield request_id
    finally:
        reset_request_id(token)


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line and not key.startswith("_"):
                line[key] = (
                    value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
                )
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure(level: int, style: str) -> None:
    """Send the root logger's lines to stderr as text or JSON, each with its request id."""
    root = logging.getLogger()
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO when first imported (by `survey db …`,
    # after this handler exists): set-up chatter, not the migration's own lines.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    handler = next((h for h in root.handlers if getattr(h, "_survey", False)), None)
    if handler is None:
        if root.handlers:
            # Someone (pytest, gunicorn) set up logging already: add our field to theirs.
            for existing in root.handlers:
                if not any(isinstance(f, RequestIdFilter) for f in existing.filters):
                    existing.addFilter(RequestIdFilter())
            return
        handler = logging.StreamHandler()
        handler._survey = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if style == "json" else logging.Formatter(TEXT_FORMAT))


_audit_listening = False


def _log_audit_events_when_committed() -> None:
    """Write each audit event to the log (logger ``survey.audit``) once its change commits.

    The database keeps the trail the admin reads; the log gives it to the bank's log
    collector as well, with the request id of the change. A rolled-back change logs nothing.
    """
    global _audit_listening
    if _audit_listening:
        return
    _audit_listening = True
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from survey.models import AuditEvent

    audit_log = logging.getLogger("survey.audit")

    @event.listens_for(Session, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        fresh = [obj for obj in session.new if isinstance(obj, AuditEvent)]
        if fresh:
            session.info.setdefault("survey_audit_events", []).extend(fresh)

    @event.listens_for(Session, "after_commit")
    def _write(session: Session) -> None:
        for audit in session.info.pop("survey_audit_events", []):
            audit_log.info(
                "audit %s %s %s by %s",
                audit.action,
                audit.entity_type,
                audit.entity_id or "-",
                audit.actor_label,
                extra={
                    "request_id": _request_id.get() or "-",
                    "audit_action": audit.action,
                    "audit_entity": audit.entity_type,
                    "audit_entity_id": audit.entity_id,
                    "audit_actor": audit.actor_label,
                    "audit_ip": audit.ip,
                    "audit_after": json.dumps(audit.after, ensure_ascii=False, default=str),
                },
            )

    @event.listens_for(Session, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop("survey_audit_events", None)


def init_app(app: Flask) -> None:
    """Give every request an id, on its log lines and in its response; log the audit trail."""
    _log_audit_events_when_committed()

    @app.before_request
    def _take_request_id() -> None:
        value = request_id_of(request.environ)
        g.request_id = value
        g._request_id_token = bind_request_id(value)

    @app.after_request
    def _give_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _forget_request_id(_error: BaseException | None) -> None:
        token = g.pop("_request_id_token", None)
        if token is not None:
            reset_request_id(token)
