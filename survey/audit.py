"""The audit trail: record every change an admin (or anyone) makes, and read it back.

``record`` adds the event to the session of the change it describes, so the
change and its record are committed together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import has_request_context, request

from survey import clock
from survey.extensions import db
from survey.models import AuditEvent, User

PAGE_SIZE = 50


def record(
    actor: User | str | None,
    action: str,
    entity: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event for a change (the caller commits it with the change).

    :param actor: the signed-in user, or a label such as ``"cli"`` or ``"system"``.
    :param action: what happened, e.g. ``"user.invite"``.
    :param entity: the kind of thing changed, e.g. ``"user"``.
    :param entity_id: which one; stored as text.
    :param before: the fields that changed, as they were (JSON-able).
    :param after: the same fields, as they are now.
    """
    if isinstance(actor, User):
        actor_id, label = actor.id, actor.email
    else:
        actor_id, label = None, actor or "system"
    event = AuditEvent(
        at=clock.now(),
        actor_user_id=actor_id,
        actor_label=label,
        action=action,
        entity_type=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Keep only the keys whose values differ, so a record shows what actually changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page is asked to show; dates are days in the viewer's zone."""

    actor: str = ""
    entity_type: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def search(flt: AuditFilter, zone: ZoneInfo, page: int = 1) -> tuple[list[AuditEvent], bool]:
    """Return one page of events matching the filter, newest first, and whether more follow."""
    query = sa.select(AuditEvent)
    if flt.actor:
        query = query.where(AuditEvent.actor_label.ilike(f"%{flt.actor.strip()}%"))
    if flt.entity_type:
        query = query.where(AuditEvent.entity_type == flt.entity_type)
    if flt.date_from:
        query = query.where(AuditEvent.at >= _day_start(flt.date_from, zone))
    if flt.date_to:
        query = query.where(AuditEvent.at < _day_start(flt.date_to + timedelta(days=1), zone))
    page = max(page, 1)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    rows = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def entity_types() -> list[str]:
    """Return the kinds of things that have audit events, for the filter's choices."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)
        )
    )


def events_for(entity: str, entity_id: object) -> list[AuditEvent]:
    """Return the history of one thing, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
