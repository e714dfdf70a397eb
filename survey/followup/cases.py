"""Opening follow-up cases: in the transaction that counts the response and records consent.

When a response is counted (completed on any channel, or closed as a partial) and its
answers meet a follow-up rule, either the customer agreed to be called and a case opens,
owned by a quality user and due a number of working hours later, or the response records
why no case opened: the customer declined, was never asked, or never answered the
question. The move out of 'partial' happens once (survey/responses/answers.py), and a
response has at most one case (a unique column): never twice for one response.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from survey import audit, clock, settings, workcal
from survey.extensions import db
from survey.followup import rules
from survey.models import BusinessLine, FollowUpCase, Response, User


def settle(
    response: Response, consent: bool | None, now: datetime | None = None
) -> FollowUpCase | None:
    """Open the response's case, or record why none opened; in the caller's transaction.

    :param consent: the customer's answer to "may we call you?", None when there is none.
    :returns: the case opened, or None.
    """
    now = now or clock.now()
    if consent is not None:
        response.followup_consent = consent
    met = rules.response_triggers(response)
    if not met:
        return None
    if consent:
        return open_case(response, met, now)
    if consent is False:
        response.followup_no_case_reason = "declined"
    elif response.followup_asked_at is not None:
        response.followup_no_case_reason = "unanswered"
    else:
        response.followup_no_case_reason = "not_asked"
    return None


def open_case(response: Response, met: list[str], now: datetime) -> FollowUpCase:
    """Open a case for a response (once: an existing case is returned as it is)."""
    existing = db.session.scalar(
        sa.select(FollowUpCase).where(FollowUpCase.response_id == response.id)
    )
    if existing is not None:
        return existing
    invitation = response.invitation
    line_id = invitation.interaction.business_line_id if invitation.interaction else None
    owner = owner_for(line_id)
    case = FollowUpCase(
        response_id=response.id,
        customer_id=invitation.customer_id,
        business_line_id=line_id,
        owner_id=owner.id if owner else None,
        triggers=met,
        state="open",
        opened_at=now,
        due_at=due_time(now),
        updated_at=now,
    )
    db.session.add(case)
    db.session.flush()
    audit.record(
        "system",
        "followup.open",
        "followup_case",
        case.id,
        None,
        {"response": response.id, "owner": owner.email if owner else None, "triggers": met},
    )
    return case


def due_time(opened_at: datetime) -> datetime:
    """When a case opened now is due: the set working hours later, on the working calendar."""
    hours = int(settings.get("followup_due_hours"))
    return workcal.from_settings().add_working_hours(opened_at, hours)


def line_owner_emails() -> dict[str, list[str]]:
    """The quality users named for each business line (settings ``followup_line_owners``)."""
    named: dict[str, list[str]] = {}
    for line in settings.get("followup_line_owners"):
        code, _colon, people = str(line).partition(":")
        named[code.strip()] = [e.strip() for e in people.split(",") if e.strip()]
    return named


def _quality_users(emails: list[str] | None = None) -> list[int]:
    query = sa.select(User.id).where(User.role == "quality", User.active.is_(True))
    if emails is not None:
        query = query.where(User.email.in_(emails))
    return sorted(db.session.scalars(query))


def owner_for(business_line_id: int | None) -> User | None:
    """The quality user a new case goes to: the next in turn, among the line's own people
    when cases are assigned by business line (and the line names any), else among all.

    None when there is no active quality user: the case waits in "unassigned".
    """
    candidates: list[int] = []
    if settings.get("followup_assignment") == "business_line" and business_line_id is not None:
        code = db.session.scalar(
            sa.select(BusinessLine.code).where(BusinessLine.id == business_line_id)
        )
        emails = line_owner_emails().get(code or "")
        if emails:
            candidates = _quality_users(emails)
    if not candidates:
        candidates = _quality_users()
    if not candidates:
        return None
    last = db.session.scalar(
        sa.select(FollowUpCase.owner_id)
        .where(FollowUpCase.owner_id.in_(candidates))
        .order_by(FollowUpCase.id.desc())
        .limit(1)
    )
    after = [c for c in candidates if last is not None and c > last]
    return db.session.get(User, after[0] if after else candidates[0])
