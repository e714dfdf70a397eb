"""Each resolved complaint case's outcomes against the commitments, kept on the case.

Once a case is resolved, whether it met each commitment no longer depends on the
clock: only on its own times, the limits and the working calendar. So the outcome
of each commitment ("met" or "missed") is stored on the case when it is resolved
(``stamp``, in the transaction that resolves it), together with a fingerprint of the
limits and calendar it was worked out under (``basis``). The complaints figures add up
the cases whose fingerprint is the current one in SQL (``GROUP BY``), and work out the
rest one by one as before: the cases still open (pending depends on now), and any case
stamped under other settings. A change of limits, holidays, make-up days or the bank's
zone thus never shows a wrong figure; ``restamp`` re-stamps the cases so that the
figures are fast again: a worker runs it after the settings service saves a change of
those settings, and the minute sweep whenever it finds cases under another basis
(``restamp_due``: after a change of SURVEY_TIMEZONE, or a restamp cut short). ``refresh``
does the same in the caller's one transaction (the demo loader and a migration).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from survey.models import ComplaintCase
from survey.scoring import complaints
from survey.workcal import WorkCalendar

# What refresh reads and writes at a time.
BATCH = 2000
# What restamp changes in one transaction: on SQLite the write lock is held meanwhile.
RESTAMP_BATCH = 500


def basis(limits: complaints.Limits, calendar: WorkCalendar) -> str:
    """A fingerprint of everything a resolved case's outcomes depend on besides its times."""
    facts = [
        calendar.zone.key,
        sorted(d.isoformat() for d in calendar.holidays),
        sorted(d.isoformat() for d in calendar.makeup),
        limits.first_reply_hours,
        limits.final_working_days,
        limits.regulator_days,
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


def decided(
    opened_at: datetime,
    first_reply_at: datetime | None,
    resolved_at: datetime,
    limits: complaints.Limits,
    calendar: WorkCalendar,
) -> tuple[str, str, str]:
    """The outcomes of a resolved case, in complaints.COMMITMENTS order (never pending)."""
    case = complaints.Case(
        opened_at=opened_at, first_reply_at=first_reply_at, resolved_at=resolved_at
    )
    # Resolved: every commitment is done, so ``now`` decides nothing.
    found = complaints.outcomes(case, limits, calendar, now=resolved_at)
    return found["first_reply"], found["final"], found["regulator"]


def stamp(case: ComplaintCase, limits: complaints.Limits, calendar: WorkCalendar) -> None:
    """Store a case's outcomes if it is resolved (and clear them if it is not)."""
    opened = case.opened_at or case.created_at
    if case.resolved_at is None or opened is None:
        case.first_reply_outcome = case.final_outcome = case.regulator_outcome = None
        case.outcomes_basis = None
        return
    (case.first_reply_outcome, case.final_outcome, case.regulator_outcome) = decided(
        opened, case.first_reply_at, case.resolved_at, limits, calendar
    )
    case.outcomes_basis = basis(limits, calendar)


def refresh(
    session: Session,
    limits: complaints.Limits,
    calendar: WorkCalendar,
    table: sa.Table | None = None,
) -> int:
    """Re-stamp every resolved case stamped under other settings (or never); return how many.

    :param table: the complaint_case table to use (a migration passes its own).
    """
    cases = ComplaintCase.__table__ if table is None else table
    current = basis(limits, calendar)
    stale = sa.and_(
        cases.c.resolved_at.is_not(None),
        sa.or_(cases.c.outcomes_basis.is_(None), cases.c.outcomes_basis != current),
    )
    done, after = 0, 0
    while True:
        stamped = _stamp_batch(session, cases, stale, current, after, limits, calendar)
        if not stamped:
            break
        done += len(stamped)
        after = stamped[-1]
    if table is None and done:
        # The complaints rollup counts cases by their stamps: added up again, in this transaction.
        from survey.scoring import complaint_rollup

        complaint_rollup.rebuild(session, calendar.zone.key)
    return done


def _stamp_batch(
    session: Session,
    cases: sa.Table,
    stale: sa.ColumnElement[bool],
    current: str,
    after: int,
    limits: complaints.Limits,
    calendar: WorkCalendar,
) -> list[int]:
    """Stamp the next batch of stale cases after id ``after``; return their ids."""
    rows = session.execute(
        sa.select(
            cases.c.id,
            cases.c.opened_at,
            cases.c.created_at,
            cases.c.first_reply_at,
            cases.c.resolved_at,
        )
        .where(stale, cases.c.id > after)
        .order_by(cases.c.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return []
    _store(session, cases, current, list(_stamps(rows, limits, calendar)))
    return [row.id for row in rows]


def _store(
    session: Session, cases: sa.Table, current: str, stamps: list[dict[str, object]]
) -> None:
    """Write each case's outcomes (``_stamps``) and the basis they were worked out under."""
    session.execute(
        sa.update(cases)
        .where(cases.c.id == sa.bindparam("case_key"))
        .values(
            first_reply_outcome=sa.bindparam("first"),
            final_outcome=sa.bindparam("final"),
            regulator_outcome=sa.bindparam("regulator"),
            outcomes_basis=current,
        ),
        stamps,
        execution_options={"synchronize_session": False},
    )


def _stamps(
    rows: Iterable[sa.Row], limits: complaints.Limits, calendar: WorkCalendar
) -> Iterable[dict[str, object]]:
    for row in rows:
        first, final, regulator = decided(
            _aware(row.opened_at or row.created_at),
            None if row.first_reply_at is None else _aware(row.first_reply_at),
            _aware(row.resolved_at),
            limits,
            calendar,
        )
        yield {"case_key": row.id, "first": first, "final": final, "regulator": regulator}


def _aware(instant: datetime) -> datetime:
    """A migration's plain table returns SQLite's naive UTC times: give them their zone."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def restamp_due(session: Session, limits: complaints.Limits, calendar: WorkCalendar) -> bool:
    """Whether any resolved case is stamped under other settings, or not at all (a few probes)."""
    from survey.scoring import complaint_rollup

    if complaint_rollup.stale_bases(session, basis(limits, calendar)):
        return True
    never = sa.select(ComplaintCase.id).where(
        ComplaintCase.outcomes_basis.is_(None), ComplaintCase.resolved_at.is_not(None)
    )
    return session.scalar(never.limit(1)) is not None


def restamp(
    session: Session,
    limits: complaints.Limits,
    calendar: WorkCalendar,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-stamp every resolved case stamped under other settings (or never), batch by batch.

    Each batch commits together with its cases' moves in the complaints rollup, from the
    key of the old stamp to the key of the new one, so the figures are exact after every
    commit (cases not reached yet are worked out one by one meanwhile) and no transaction
    holds the database for long. A batch's cases are read under the write lock (SQLite) or
    locked (PostgreSQL): a post that resolves or re-assesses one of them waits, then sees
    the new stamp. Last, the rollup's rows of other bases, empty by then, are removed.
    Returns how many cases were stamped; ``progress`` is told the running total.
    """
    from survey.scoring import complaint_rollup

    current = basis(limits, calendar)
    zone = calendar.zone
    facts = complaint_rollup.CASE_FACTS
    stale = sa.and_(
        ComplaintCase.resolved_at.is_not(None),
        sa.or_(ComplaintCase.outcomes_basis.is_(None), ComplaintCase.outcomes_basis != current),
    )
    postgresql = session.get_bind().dialect.name == "postgresql"
    cases = ComplaintCase.__table__
    done = after = 0
    while True:
        if not postgresql:
            # Take SQLite's write lock before reading (BEGIN IMMEDIATE comes with the first
            # write): the facts read are then the ones this batch changes.
            session.execute(sa.update(cases).where(sa.false()).values(id=cases.c.id))
        batch = (
            sa.select(
                ComplaintCase.id, ComplaintCase.first_reply_at, ComplaintCase.resolved_at, *facts
            )
            .where(stale, ComplaintCase.id > after)
            .order_by(ComplaintCase.id)
            .limit(RESTAMP_BATCH)
        )
        rows = session.execute(batch.with_for_update() if postgresql else batch).all()
        if not rows:
            session.rollback()
            break
        stamps = list(_stamps(rows, limits, calendar))
        _store(session, cases, current, stamps)
        moves = {}
        for row, stamp in zip(rows, stamps, strict=True):
            was = tuple(row[3:])
            now = (current, *was[1:8], stamp["first"], stamp["final"], stamp["regulator"])
            moves[row.id] = (
                complaint_rollup.key_of(*was, zone=zone),
                complaint_rollup.key_of(*now, zone=zone),
            )
        complaint_rollup.move_cases(session, moves)
        session.commit()
        done += len(rows)
        after = rows[-1].id
        if progress:
            progress(done)
    complaint_rollup.forget_other_bases(session, current)
    session.commit()
    return done
