"""Organisation settings (DESIGN.md): kept by the admin, read everywhere, with defaults here."""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from sqlalchemy.orm import Session

from survey import stamped
from survey.extensions import db
from survey.models import Setting

DEFAULTS: dict[str, Any] = {
    "bank_name_zh": "示例银行",
    "bank_name_en": "Example Bank",
    "sms_signature": "【示例银行】",
    # Two-way SMS to mainland China numbers: only when the bank's SMS route receives replies
    # (Twilio's does not), else they get the link and an unsubscribe link.
    "sms_two_way_mainland": False,
    "default_timezone": "Asia/Shanghai",
    "allowed_hours_start": "08:00",
    "allowed_hours_end": "21:00",
    "frequency_window_days": 30,
    "min_n": 5,
    "link_lifetime_hours": 72,
    # A partial response (answers given, survey not finished) is closed and counted after
    # this many hours without an answer, or when its link expires, whichever is first.
    "partial_close_hours": 24,
    # The provider's pace per sender, across every worker (0: no limit). A Twilio long code
    # sends about 1 segment a second, a short code about 100; voice about 1 call a second.
    "sms_segments_per_second": 1.0,
    "calls_per_second": 1.0,
    "emails_per_second": 10.0,
    # How long an SMS may wait in the provider's queue (never past its link's life).
    "sms_validity_hours": 4,
    "publish_needs_approval": False,  # a second manager approves each survey publication
    "holidays": [],  # ISO dates that are not working days
    "makeup_workdays": [],  # ISO weekend dates that are working days
    # The working day, in the bank's zone: follow-up cases are due in working hours.
    "working_hours_start": "09:00",
    "working_hours_end": "18:00",
    # Follow-up of very unhappy customers (survey/followup/): a case opens, when the customer
    # agrees to be called, for a response at or below one of these scores (-1: that rule is
    # off) or with a comment containing one of the keywords.
    "followup_overall_max": 2,  # the overall 5-point rating
    "followup_nps_max": 3,  # likelihood to recommend, 0-10
    "followup_complaint_max": 2,  # complaint handling, 5-point
    "followup_keywords": [],
    # A case is due this many working hours after it opens (the working day above).
    "followup_due_hours": 24,
    # round_robin: the next quality user in turn; business_line: the line's own people
    # (followup_line_owners, lines like "personal: a@bank.cn, b@bank.cn"), in turn.
    "followup_assignment": "round_robin",
    "followup_line_owners": [],
    # The bank's complaint-handling commitments (the complaints dashboard and the report):
    # a first reply within so many hours, the final result within so many working days,
    # and the regulator's limit in calendar days.
    "complaint_first_reply_hours": 24,
    "complaint_final_working_days": 5,
    "complaint_regulator_days": 15,
    # PII retention (survey/retention.py): names, contact details and comments older than
    # this many days are removed every night; 0 keeps them. Needs SURVEY_RETENTION_KEY.
    "pii_retention_days": 0,
}


def _stored() -> dict[str, Any]:
    """Return the stored settings, read once per app context (a request, a task).

    An intake or a send asks for half a dozen settings; one read of the small table
    serves them all. ``put`` forgets the copy, so a change is seen at once in the
    context that made it, and in every other from its next request or task.
    """
    if not has_app_context():
        return _read()
    stored = g.get("_survey_settings")
    if stored is None:
        # The process's copy under the config stamp (survey.stamped), which a change committed
        # anywhere moves; a transaction that changed them reads what it wrote.
        changed = db.session().info.get(_CHANGED)
        stored = _read() if changed else stamped.kept("settings", None, _read)
        g._survey_settings = stored
    return stored


def _read() -> dict[str, Any]:
    return {k: v for k, v in db.session.execute(sa.select(Setting.key, Setting.value))}


# Customers' pages (``use_kept_copy``) read the settings from a copy kept by this process
# for a few seconds, by database: a page then costs no statement for the bank's name or
# the follow-up rules. A change saved here is seen at once (``put`` drops the copy, and
# so does the commit or rollback of the transaction that changed it); one saved by
# another process reaches these pages within KEPT_SECONDS. Staff pages read every request.
KEPT_SECONDS = 10.0
_kept: dict[str, tuple[float, dict[str, Any]]] = {}
_kept_lock = threading.Lock()
_CHANGED = "survey.settings.changed"
_monotonic = time.monotonic  # how old the kept copy is (tests move it)


def use_kept_copy() -> None:
    """Have this request read the settings from the process's kept copy (customers' pages)."""
    if not has_app_context() or "_survey_settings" in g:
        return
    # A request that has no session yet changed nothing: none is made just to ask.
    if db.session.registry.has() and db.session().info.get(_CHANGED):
        return  # this transaction changed them: read what it wrote
    from survey.respond.versions import database_name  # the URL rendered once per engine

    url = database_name()
    now = _monotonic()
    with _kept_lock:
        kept = _kept.get(url)
    if kept is None or now - kept[0] > KEPT_SECONDS:
        kept = (now, _read())
        with _kept_lock:
            _kept[url] = kept
    g._survey_settings = kept[1]


def forget() -> None:
    """Drop this context's copy of the settings (and the process's), so the next read goes to the database."""
    with _kept_lock:
        _kept.clear()
    stamped.forget()
    if has_app_context():
        g.pop("_survey_settings", None)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_after_change(session: Session) -> None:
    # A value kept while the change was on its way (read before it, by another request)
    # is dropped once the change is committed, or once it is rolled back.
    if session.info.pop(_CHANGED, False):
        with _kept_lock:
            _kept.clear()


def get(key: str) -> Any:
    """Return a setting's value, or its default."""
    if key not in DEFAULTS:
        raise KeyError(key)
    value = _stored().get(key)
    return DEFAULTS[key] if value is None else value


def all_settings() -> dict[str, Any]:
    """Return every setting, defaults filled in."""
    stored = _stored()
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def put(key: str, value: Any, user_id: int | None = None) -> None:
    """Store a setting (the caller validates and commits)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    forget()
    db.session().info[_CHANGED] = True
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value, updated_by_id=user_id))
    else:
        row.value = value
        row.updated_by_id = user_id


def bank_zone() -> str:
    """The bank's zone, in which dashboard days are counted (SURVEY_TIMEZONE)."""
    return current_app.config["SURVEY_TIMEZONE"]
