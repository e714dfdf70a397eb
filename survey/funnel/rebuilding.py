"""Count the whole funnel again from the invitations and suppressions: after a restore, a fix or a load.

``survey.funnel.keeping`` keeps the funnel rollup in step as each invitation changes;
this module empties it and counts everything once more, either by reading each
invitation's facts (``rebuild``, both databases: it also corrects each invitation's
record of what it counted) or, on PostgreSQL, by the records the invitations keep, in
one statement on the server (``rebuild_from_records``, as the demo loader uses it).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from survey.extensions import db
from survey.funnel import stages
from survey.models import Interaction, Invitation, funnel_grains
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS, SUPPRESSION_REASONS, FunnelRollup

log = logging.getLogger(__name__)

_TABLE = FunnelRollup.__table__
_FACTS = stages.facts()

TableDone = Callable[[int, float], None]


# Told after each day is written: the rows read so far and the day just written.
Progress = Callable[[int, date], None]


def rebuild(
    session: Session | None = None,
    done: TableDone | None = None,
    progress: Progress | None = None,
) -> int:
    """Empty the funnel rollup and count every invitation and suppression again; commit.

    Also sets each invitation's record of what it counted, where it had drifted. Returns
    the rollup's rows. Run it when nothing else is writing (after a restore, a fix or the
    demo load): on PostgreSQL it locks the rollup while it works.
    """
    session = session or db.session()
    started = time.perf_counter()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE funnel_rollup IN SHARE ROW EXCLUSIVE MODE"))
    # The coarser tables first: the finest rows' DELETE trigger then finds nothing to
    # subtract from, and their INSERT trigger counts each row once as it goes back in.
    present = sa.inspect(session.connection())
    for table, _grain in funnel_grains.GRAINS:
        # A migration older than the coarser tables (7f3b2d9e4a61) rebuilds before they exist.
        if present.has_table(table.name):
            session.execute(sa.delete(table))
    session.execute(sa.delete(FunnelRollup))
    # Both streams in the order of their day, so a day's rows are written once the next day
    # begins and memory holds one day's totals and one batch of corrections, whatever the
    # history's size (the demo's 10,000,000 answers need it).
    invited = session.execute(
        _FACTS.order_by(Invitation.created_at, Invitation.id).execution_options(yield_per=BATCH)
    )
    suppressed = session.execute(
        sa.select(
            Interaction.id,
            Interaction.created_at,
            Interaction.suppression_reason,
            *stages.segment_columns(),
        )
        .outerjoin(Invitation, Invitation.interaction_id == Interaction.id)
        .where(Invitation.id.is_(None), Interaction.suppression_reason.is_not(None))
        .order_by(Interaction.created_at, Interaction.id)
        .execution_options(yield_per=BATCH)
    )
    totals: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    drifted: list[dict[str, Any]] = []
    written = 0
    day = None
    both = heapq.merge(
        ((row.created_at, True, row) for row in invited),
        ((row.created_at, False, row) for row in suppressed),
        key=lambda item: item[0],
    )
    read = 0
    for created_at, is_invitation, row in both:
        row_day = stages.cohort_day(created_at)
        if row_day != day:
            written += _write_totals(session, totals)
            if progress and day is not None:
                progress(read, day)
            day = row_day
        read += 1
        if is_invitation:
            channel, reached = stages.channel_of(row), stages.stages_of(row)
            key = stages.key_of(row, channel)
            counts = totals[tuple(key[c] for c in SEGMENT_COLUMNS)]
            for name in stages.counts_of(reached):
                counts[name] += 1
            if (row.funnel_channel, row.funnel_stages) != (channel, reached):
                drifted.append({"b_id": row.id, "b_channel": channel, "b_stages": reached})
                if len(drifted) >= BATCH:
                    _correct(session, drifted)
            continue
        name = f"suppressed_{row.suppression_reason}"
        if name in COUNTERS:
            key = (row_day, "", *(getattr(row, f) for f in stages.INTERACTION_FIELDS), 0)
            totals[key][name] += 1
    written += _write_totals(session, totals)
    _correct(session, drifted)
    if progress and day is not None:
        progress(read, day)
    session.commit()
    if done:
        done(written, time.perf_counter() - started)
    log.info("funnel rebuilt: %d rows", written)
    return written


BATCH = 5000


def rebuild_from_records(session: Session | None = None) -> int:
    """Count every invitation by the record it keeps, and every suppression, on the server; commit.

    PostgreSQL only. The same rows as :func:`rebuild` when every invitation's record
    (``funnel_channel``, ``funnel_stages``) is what ``rebuild`` would set it to, as the
    demo loader writes it: one INSERT … SELECT … GROUP BY instead of reading every
    invitation's facts into Python. The coarser tables are summed from the finest with
    the trigger off, as its row-by-row upserts would have added them up. Returns the rows.

    :raises RuntimeError: when an invitation has no record (nothing is written then).
    """
    session = session or db.session()
    if session.get_bind().dialect.name != "postgresql":
        raise NotImplementedError("rebuild_from_records runs on PostgreSQL; use rebuild()")
    from survey import settings

    started = time.perf_counter()
    session.execute(sa.text("LOCK TABLE funnel_rollup IN SHARE ROW EXCLUSIVE MODE"))
    unrecorded = session.scalar(
        sa.select(Invitation.id).where(Invitation.funnel_channel.is_(None)).limit(1)
    )
    if unrecorded is not None:
        raise RuntimeError(f"invitation {unrecorded} has no funnel record: use rebuild()")
    session.execute(
        sa.text(f"ALTER TABLE funnel_rollup DISABLE TRIGGER {funnel_grains.PG_TRIGGER}")
    )
    for table, _grain in funnel_grains.GRAINS:
        session.execute(sa.delete(table))
    session.execute(sa.delete(FunnelRollup))
    session.execute(_FROM_RECORDS, {"zone": settings.bank_zone()})
    for table, grain in funnel_grains.GRAINS:
        session.execute(_summed_into(table, grain))
    session.execute(sa.text(f"ALTER TABLE funnel_rollup ENABLE TRIGGER {funnel_grains.PG_TRIGGER}"))
    written = session.scalar(sa.select(sa.func.count()).select_from(FunnelRollup)) or 0
    session.commit()
    log.info(
        "funnel rebuilt from the records: %d rows in %.1f s", written, time.perf_counter() - started
    )
    return written


def _from_records() -> sa.TextClause:
    """PostgreSQL's INSERT of the finest rows: a step's counter sums its bit over the cohort."""
    segment = ", ".join(
        [
            "COALESCE(x.business_line_id, 0)",
            "COALESCE(x.team_id, 0)",
            "COALESCE(x.agent_id, 0)",
            "COALESCE(x.channel, '')",
            "COALESCE(x.type, '')",
            "COALESCE(x.category, '')",
            "COALESCE(x.complaint_cause, '')",
        ]
    )
    reasons = ", ".join(f"'{reason}'" for reason in SUPPRESSION_REASONS)
    suppressed_bits = " ".join(
        f"WHEN '{reason}' THEN {stages.BIT[f'suppressed_{reason}']}"
        for reason in SUPPRESSION_REASONS
    )
    sums = ", ".join(f"SUM((bits >> {i}) & 1)" for i in range(len(COUNTERS)))
    key = ", ".join(SEGMENT_COLUMNS)
    return sa.text(
        f"INSERT INTO funnel_rollup ({key}, {', '.join(COUNTERS)}) "
        f"SELECT {key}, {sums} FROM ("
        f"SELECT CAST(timezone(:zone, i.created_at) AS date) AS day, "
        f"i.funnel_channel AS survey_channel, {segment}, v.survey_id, i.funnel_stages AS bits "
        "FROM invitation i JOIN interaction x ON x.id = i.interaction_id "
        "JOIN survey_version v ON v.id = i.survey_version_id "
        "UNION ALL "
        f"SELECT CAST(timezone(:zone, x.created_at) AS date), '', {segment}, 0, "
        f"CASE x.suppression_reason {suppressed_bits} END "
        f"FROM interaction x WHERE x.suppression_reason IN ({reasons}) "
        "AND NOT EXISTS (SELECT FROM invitation i WHERE i.interaction_id = x.id)"
        # Stored in day order, as the scores' rollups are (survey.scoring.rebuilding).
        f") AS facts ({key}, bits) GROUP BY {key} ORDER BY {key}"
    )


def _summed_into(table: sa.Table, grain: str) -> sa.TextClause:
    """The INSERT that sums the finest rows into a coarser table, as its trigger adds them."""
    fields = ", ".join(funnel_grains.FIELDS)
    period = funnel_grains.period_of("postgresql", grain, "funnel_rollup")
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    return sa.text(
        f"INSERT INTO {table.name} ({grain}, {fields}, {', '.join(COUNTERS)}) "
        f"SELECT {period}, {fields}, {sums} FROM funnel_rollup GROUP BY {period}, {fields} "
        f"ORDER BY {period}, {fields}"
    )


_FROM_RECORDS = _from_records()


def _write_totals(session: Session, totals: dict[tuple[Any, ...], dict[str, int]]) -> int:
    """Insert the rows added up so far (one day's) and forget them; return how many."""
    rows = [{**dict(zip(SEGMENT_COLUMNS, key, strict=True)), **c} for key, c in totals.items()]
    for first in range(0, len(rows), 1000):
        session.connection().execute(sa.insert(_TABLE), rows[first : first + 1000])
    totals.clear()
    return len(rows)


def _correct(session: Session, drifted: list[dict[str, Any]]) -> None:
    """Set the invitations' record of what they counted where it had drifted; empty the list.

    Safe while the facts are still being read: they were sorted before the first row came
    (no index gives their order), so the read does not see these updates.
    """
    if not drifted:
        return
    table = Invitation.__table__
    session.connection().execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            funnel_channel=sa.bindparam("b_channel"),
            funnel_stages=sa.bindparam("b_stages"),
            updated_at=table.c.updated_at,
        ),
        drifted,
    )
    drifted.clear()


__all__ = ["rebuild", "rebuild_from_records"]
