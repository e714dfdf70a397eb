"""The quality team's work queue and what is done to a case: notes, reassignment, closing.

Quality users and admins edit cases, managers view them (DESIGN.md's role table). Only
the case's owner and admins see the customer's phone and e-mail, and each time they do
it is audited, like every change. A case's history is its audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from survey import audit, clock, stamped
from survey.extensions import db
from survey.models import AuditEvent, BusinessLine, CaseNote, FollowUpCase, User
from survey.models.followup import CASE_OUTCOMES

VIEWS = ("open", "mine", "unassigned", "overdue", "closed")
EDITORS = ("admin", "quality")
MAX_NOTE = 2000
PAGE_SIZE = 50


class CaseError(ValueError):
    """A change to a case that cannot be made; the message says why, in the user's language."""


@dataclass(frozen=True)
class QueueFilter:
    """Which cases the queue shows: a view and, optionally, one business line (its code)."""

    view: str = "open"
    business_line: str = ""

    @classmethod
    def read(cls, args: Any) -> QueueFilter:
        view = args.get("view", "open")
        line = (args.get("line") or "").strip()[:40]
        return cls(view if view in VIEWS else "open", line)


def can_edit(user: User) -> bool:
    """Quality users and admins edit cases; managers only view them."""
    return user.role in EDITORS


def can_see_contact(user: User, case: FollowUpCase) -> bool:
    """Only the case's owner and admins see the customer's phone and e-mail."""
    return user.role == "admin" or (user.role == "quality" and case.owner_id == user.id)


def queue(user: User, flt: QueueFilter, now: datetime | None = None) -> list[FollowUpCase]:
    """The cases of one view, overdue first (open cases by due time), at most a page."""
    now = now or clock.now()
    query = sa.select(FollowUpCase).options(
        selectinload(FollowUpCase.owner), selectinload(FollowUpCase.business_line)
    )
    if flt.view == "closed":
        query = query.where(FollowUpCase.state == "closed").order_by(
            FollowUpCase.closed_at.desc(), FollowUpCase.id.desc()
        )
    else:
        query = query.where(FollowUpCase.state == "open")
        if flt.view == "mine":
            query = query.where(FollowUpCase.owner_id == user.id)
        elif flt.view == "unassigned":
            query = query.where(FollowUpCase.owner_id.is_(None))
        elif flt.view == "overdue":
            query = query.where(FollowUpCase.due_at <= now)
        # The earliest due first: the overdue ones lead, the most overdue at the top.
        query = query.order_by(FollowUpCase.due_at, FollowUpCase.id)
    if flt.business_line:
        query = query.join(BusinessLine, FollowUpCase.business_line_id == BusinessLine.id).where(
            BusinessLine.code == flt.business_line
        )
    return list(db.session.scalars(query.limit(PAGE_SIZE)))


def counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """How many open cases each view of the queue holds."""
    now = now or clock.now()
    is_open = FollowUpCase.state == "open"
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(is_open),
            sa.func.count().filter(is_open, FollowUpCase.owner_id == user.id),
            sa.func.count().filter(is_open, FollowUpCase.owner_id.is_(None)),
            sa.func.count().filter(is_open, FollowUpCase.due_at <= now),
        ).select_from(FollowUpCase)
    ).one()
    return dict(zip(("open", "mine", "unassigned", "overdue"), map(int, row), strict=True))


# Built once: every staff page asks it, and building the statement cost more than running it.
_OWN_OPEN_CASES = (
    sa.select(sa.func.count())
    .select_from(FollowUpCase)
    .where(FollowUpCase.state == "open", FollowUpCase.owner_id == sa.bindparam("owner"))
)


# The same count as a column of the user's row: the sign-in's load reads it with the user
# (survey.auth.service.load_user), so a staff page needs no statement of its own for it.
OPEN_CASES_OF_USER = (
    sa.select(sa.func.count())
    .select_from(FollowUpCase)
    .where(FollowUpCase.state == "open", FollowUpCase.owner_id == User.id)
    .correlate(User)
    .scalar_subquery()
)


def nav_count(user: User) -> int:
    """The open cases a user owns, for the count beside "Follow-ups" in the navigation.

    The count read with the user at the start of the request serves until this request
    writes anything, commits or rolls back (a case opened, closed or given to someone else
    here); after that it is counted again.
    """
    read = g.get("_open_cases") if has_app_context() else None
    if read is not None and read[0] == user.id:
        return read[1]
    return int(db.session.scalar(_OWN_OPEN_CASES, {"owner": user.id}) or 0)


def read_with_user(user_id: int, open_cases: int) -> None:
    """Keep for this request the open-case count the sign-in's load read with the user."""
    g._open_cases = (user_id, int(open_cases))


# Counted again after the request's next flush, commit or rollback, as the stamp is read again.
stamped.read_until_write("_open_cases")


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _count_again_after_a_write(state: sa.orm.ORMExecuteState) -> None:
    # A bulk UPDATE or DELETE (a statement, not a changed object) is no flush.
    if not state.is_select and has_app_context():
        g.pop("_open_cases", None)


def cases_of(response_ids: list[int]) -> dict[int, FollowUpCase]:
    """The follow-up case of each of these responses that has one, by response id."""
    if not response_ids:
        return {}
    found = db.session.scalars(
        sa.select(FollowUpCase).where(FollowUpCase.response_id.in_(response_ids))
    )
    return {case.response_id: case for case in found}


def get(case_id: int) -> FollowUpCase | None:
    return db.session.get(FollowUpCase, case_id)


def assignable() -> list[User]:
    """The users a case can be given to: active quality users."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == "quality", User.active.is_(True))
            .order_by(User.name, User.email)
        )
    )


def history(case: FollowUpCase) -> list[AuditEvent]:
    """Everything that happened to the case, oldest first (its audit trail)."""
    return audit.events_for("followup_case", case.id)


@dataclass(frozen=True)
class Contact:
    phone: str | None
    email: str | None


def show_contact(user: User, case: FollowUpCase) -> Contact:
    """The customer's phone and e-mail for the owner or an admin, recorded in the audit trail.

    :raises PermissionError: anyone else asks.
    """
    if not can_see_contact(user, case):
        raise PermissionError("contact details are for the case's owner and admins")
    phone, email = case.customer.address("phone"), case.customer.address("email")
    audit.record(user, "followup.view_contact", "followup_case", case.id, None, {"viewed": True})
    return Contact(phone.value if phone else None, email.value if email else None)


def add_note(user: User, case: FollowUpCase, body: str) -> CaseNote:
    """Add a note to a case (the caller commits)."""
    _editable(user, case)
    text = (body or "").strip()
    if not text:
        raise CaseError(_("Write the note first."))
    if len(text) > MAX_NOTE:
        raise CaseError(_("Please keep a note under %(n)d characters.", n=MAX_NOTE))
    note = CaseNote(case=case, author_id=user.id, body=text, created_at=clock.now())
    db.session.add(note)
    case.updated_at = clock.now()
    db.session.flush()
    audit.record(user, "followup.note", "followup_case", case.id, None, {"note": note.id})
    return note


def reassign(user: User, case: FollowUpCase, owner_id: int | None) -> None:
    """Give the case to another quality user (the caller commits)."""
    _editable(user, case)
    owner = db.session.get(User, owner_id) if owner_id else None
    if owner is None or owner.role != "quality" or not owner.active:
        raise CaseError(_("Choose an active quality user."))
    if owner.id == case.owner_id:
        return
    before = case.owner.email if case.owner else None
    case.owner_id = owner.id
    case.updated_at = clock.now()
    audit.record(
        user,
        "followup.reassign",
        "followup_case",
        case.id,
        {"owner": before},
        {"owner": owner.email},
    )


def close(user: User, case: FollowUpCase, outcome: str, note: str = "") -> None:
    """Close the case with its outcome, and an optional last note (the caller commits)."""
    _editable(user, case)
    if outcome not in CASE_OUTCOMES:
        raise CaseError(_("Choose the outcome of the follow-up."))
    if note.strip():
        add_note(user, case, note)
    now = clock.now()
    case.state, case.outcome, case.closed_at, case.updated_at = "closed", outcome, now, now
    audit.record(
        user,
        "followup.close",
        "followup_case",
        case.id,
        {"state": "open"},
        {"state": "closed", "outcome": outcome, "on_time": now <= case.due_at},
    )


def _editable(user: User, case: FollowUpCase) -> None:
    if not can_edit(user):
        raise PermissionError("managers view cases; quality users and admins edit them")
    if case.state != "open":
        raise CaseError(_("This case is closed."))
