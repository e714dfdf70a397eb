"""The designer's entries in the audit trail: every change to a survey or a dispatch rule.

Each entry is added to the session of the change it describes, so both are
committed together or not at all (``survey.audit.record``).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_login import current_user

from survey import audit
from survey.extensions import db
from survey.models import SurveyVersion, User


def _actor(user_id: int | None) -> User | str:
    """Who made the change: the user named, else the signed-in user, else the system.

    The designer's services run inside a manager's request; the demo loader and
    tests call them without one, and their changes are the system's.
    """
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None:
            return user
    if has_request_context() and current_user.is_authenticated:
        return db.session.get(User, current_user.id) or "system"
    return "system"


def record(
    action: str,
    entity: str,
    entity_id: object,
    *,
    user_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one audit entry for a designer change; the caller commits it with the change."""
    audit.record(_actor(user_id), action, entity, entity_id, before=before, after=after)


def version_change(
    action: str,
    version: SurveyVersion,
    *,
    user_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record a change to one version of a survey, naming the survey and the version number."""
    db.session.flush()  # a new version needs its id before it can be named
    where = {"survey_id": version.survey_id, "number": version.number}
    record(
        action,
        "survey_version",
        version.id,
        user_id=user_id,
        before=before,
        after={**where, **(after or {})},
    )
