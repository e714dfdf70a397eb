"""What the API answers: a posted interaction's result and an invitation with its deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from survey.dispatch.intake import InvitationPlan, Outcome
from survey.models import Invitation


def iso(at: datetime | None) -> str | None:
    """Return an instant as ISO 8601 with its offset."""
    return at.isoformat() if at is not None else None


def interaction_result(outcome: Outcome) -> dict[str, Any]:
    """Return the answer to a posted interaction (the same for its replays)."""
    invitation = outcome.invitation
    return {
        "id": outcome.interaction_id,
        "invitation": None if invitation is None else _planned(invitation),
        "suppression_reason": outcome.suppression_reason,
    }


def _planned(invitation: InvitationPlan) -> dict[str, Any]:
    planned: dict[str, Any] = {
        "id": invitation.id,
        "channel": invitation.channel,
        "state": invitation.state,
        "scheduled_at": iso(invitation.scheduled_at),
        "waits_for_allowed_hours": invitation.held_for_allowed_hours is not None,
    }
    held = invitation.held_for_allowed_hours
    if held is not None:
        from zoneinfo import ZoneInfo

        local = invitation.scheduled_at.astimezone(ZoneInfo(held.zone))
        planned["note"] = _(
            "It is outside the customer's allowed hours (%(start)s–%(end)s, %(zone)s): "
            "the survey waits and goes at %(at)s, their time.",
            start=held.start,
            end=held.end,
            zone=held.zone,
            at=local.strftime("%Y-%m-%d %H:%M"),
        )
    return planned


def invitation_detail(invitation: Invitation) -> dict[str, Any]:
    """Return an invitation's state and deliveries for GET /api/v1/invitations/<id>."""
    return {
        "id": invitation.id,
        "state": invitation.state,
        "channel": invitation.channel,
        "scheduled_at": iso(invitation.scheduled_at),
        "sent_at": iso(invitation.sent_at),
        "completed_at": iso(invitation.completed_at),
        "expires_at": iso(invitation.expires_at),
        "reminder_due_at": iso(invitation.reminder_due_at),
        "suppression_reason": invitation.suppression_reason,
        "failure_reason": invitation.failure_reason,
        "survey_version": {"id": invitation.version.id, "number": invitation.version.number},
        "deliveries": [
            {
                "id": d.id,
                "channel": d.channel,
                "provider": d.provider,
                "provider_id": d.provider_id,
                "state": d.state,
                "purpose": d.purpose,
                "attempt": d.attempt,
                "error": d.error,
                "error_code": d.error_code,
                "created_at": iso(d.created_at),
                "updated_at": iso(d.updated_at),
            }
            for d in invitation.deliveries
        ],
    }
