"""Complaint cases: the posts that share a ``complaint.case_id``, and the case's progress.

The complaint system posts a case again, under a new external_id, as it moves on:
first reply, resolution. Each post is recorded as an interaction of the case, and
what it adds is recorded on the case. Progress only moves forward:

- a field the post leaves out (or sends as null) is no news: the case keeps what it has,
  so a post without ``resolved_at`` never reopens a resolved case;
- a time the case has recorded (opened, first reply, resolved) is not changed: a post
  giving another one is refused as a conflict naming the field, and nothing is stored
  (a complaint reopened in the complaint system is a new case there, and here);
- a first reply or resolution before the case was opened is refused the same way;
- ``cause`` and ``resolved_first_contact`` are assessments: the latest given stands;
- a case belongs to one customer: the same case id for another customer is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import clock, workcal
from survey.extensions import db
from survey.models import ComplaintCase, Customer, Interaction
from survey.scoring import complaint_cases, complaint_outcomes, complaint_rollup

if TYPE_CHECKING:
    from survey.dispatch.intake import ComplaintInput

TIMES = ("opened_at", "first_reply_at", "resolved_at")
ASSESSMENTS = ("resolved_first_contact", "cause")


@dataclass(frozen=True)
class CaseProblem:
    field: str  # as the API names it: complaint.resolved_at
    message: str


class CaseConflict(ValueError):
    """A post contradicts its complaint case as recorded; nothing of it may be stored."""

    def __init__(self, problems: list[CaseProblem]) -> None:
        super().__init__(", ".join(p.field for p in problems))
        self.problems = problems


# Built once, run bound (intake is the hot path): the case by the complaint system's id.
_CASE_BY_CASE_ID = sa.select(ComplaintCase).where(ComplaintCase.case_id == sa.bindparam("case_id"))


def record(
    interaction: Interaction,
    complaint: ComplaintInput,
    customer: Customer,
    business_line_id: int | None,
    team_id: int | None,
) -> bool:
    """Attach a post to its case (creating it on its first post) and record its progress.

    Nothing is flushed: the case is read, then changed or added in the session.

    :returns: whether the case was resolved before this post, i.e. its survey was decided
        already (by the post that resolved it).
    :raises CaseConflict: the post contradicts the case; the caller rolls back.
    """
    assert complaint.case_id is not None
    case = db.session.scalar(_CASE_BY_CASE_ID, {"case_id": complaint.case_id})
    if case is None:
        case = ComplaintCase(
            case_id=complaint.case_id,
            customer=customer,
            category=interaction.category,
            business_line_id=business_line_id,
            team_id=team_id,
            # Set here rather than at the flush: a case without an opening time counts from it.
            created_at=clock.now(),
            **{name: getattr(complaint, name) for name in TIMES + ASSESSMENTS},
        )
        db.session.add(case)
        interaction.complaint_case = case
        _stamp(case)
        # A case resolved on its first post counts in the complaints rollup at once.
        complaint_rollup.move(db.session, None, None, complaint_rollup.case_key(case))
        return False
    if case.customer_id != customer.id:
        raise CaseConflict(
            [
                CaseProblem(
                    "complaint.case_id",
                    _("This complaint case belongs to another customer."),
                )
            ]
        )
    _check(case, complaint)
    was_resolved = case.resolved_at is not None
    counted_under = complaint_rollup.case_key(case)
    for name in TIMES + ASSESSMENTS:
        value = getattr(complaint, name)
        if value is not None:
            setattr(case, name, value)
    interaction.complaint_case = case
    _stamp(case)
    # Resolved, or re-assessed: the case and its answers move in the complaints rollup.
    complaint_rollup.move(db.session, case.id, counted_under, complaint_rollup.case_key(case))
    return was_resolved


def _stamp(case: ComplaintCase) -> None:
    """Store a resolved case's outcomes, in the transaction that resolves it (or adds to it)."""
    if case.resolved_at is not None:
        complaint_outcomes.stamp(case, complaint_cases.limits(), workcal.from_settings())


def _check(case: ComplaintCase, complaint: ComplaintInput) -> None:
    problems = []
    for name in TIMES:
        given: datetime | None = getattr(complaint, name)
        recorded: datetime | None = getattr(case, name)
        if given is not None and recorded is not None and given != recorded:
            problems.append(
                CaseProblem(
                    f"complaint.{name}",
                    _(
                        "The case recorded %(recorded)s; a time once recorded is not changed "
                        "(a reopened complaint is a new case).",
                        recorded=recorded.isoformat(),
                    ),
                )
            )
    if problems:
        raise CaseConflict(problems)
    opened = complaint.opened_at or case.opened_at
    for name in ("first_reply_at", "resolved_at"):
        given = getattr(complaint, name)
        if given is not None and opened is not None and given < opened:
            problems.append(
                CaseProblem(
                    f"complaint.{name}",
                    _(
                        "Must not be before the case was opened (%(opened)s).",
                        opened=opened.isoformat(),
                    ),
                )
            )
    if problems:
        raise CaseConflict(problems)
