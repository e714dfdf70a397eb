"""Keep the funnel rollup in step with every invitation, in the transaction that changes it.

Each invitation records what it has counted so far (``funnel_channel`` and the
``funnel_stages`` bits). ``track`` reads its steps from its raw rows again
(survey.funnel.stages), and when they differ moves the record with a guarded UPDATE (the
stored bits must still be what was read) and adds the difference to the rollup. So a step
counts exactly once: a repeated status callback, a second GET of the page or a retried
task finds nothing new; of two transactions racing, the second finds the record moved and
reads again. A send that falls back to another channel moves its counts to that channel.

Call ``track`` after the change and before the commit; it flushes the session first.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from survey import clock
from survey.extensions import db
from survey.funnel import stages
from survey.models import (
    Agent,
    Delivery,
    Interaction,
    Invitation,
    Response,
    SurveyVersion,
    funnel_grains,
)
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS, SUPPRESSION_REASONS, FunnelRollup

log = logging.getLogger(__name__)

_TABLE = FunnelRollup.__table__
_INVITATION = Invitation.__table__
_FACTS = stages.facts()
# Built once: ``track`` binds the invitation (building them anew cost more than running them).
_FACTS_OF = _FACTS.where(Invitation.id == sa.bindparam("invitation_id"))
# Core, on the table: the ORM's bulk UPDATE would copy the statement and key it anew each run.
_MOVE = (
    sa.update(_INVITATION)
    .where(
        _INVITATION.c.id == sa.bindparam("invitation_id"),
        _INVITATION.c.funnel_stages == sa.bindparam("was_stages"),
        _INVITATION.c.funnel_channel.is_not_distinct_from(sa.bindparam("was_channel")),
    )
    # The row's own updated_at stays: it stamps a worker's claim (dispatch/sending.py).
    .values(
        funnel_channel=sa.bindparam("to_channel"),
        funnel_stages=sa.bindparam("to_stages"),
        updated_at=_INVITATION.c.updated_at,
    )
)
# Reading again after losing a race more often than this is a fault, not contention.
_TRIES = 5


def track(invitation: Invitation | int, session: Session | None = None) -> bool:
    """Count what an invitation reached since it was last counted; return whether anything moved."""
    session = session or db.session()
    session.flush()
    invitation_id = invitation if isinstance(invitation, int) else invitation.id
    for _ in range(_TRIES):
        row = session.execute(_FACTS_OF, {"invitation_id": invitation_id}).one_or_none()
        if row is None:
            return False
        channel, reached = stages.channel_of(row), stages.stages_of(row)
        if (row.funnel_channel, row.funnel_stages) == (channel, reached):
            return False
        moved = session.connection().execute(
            _MOVE,
            {
                "invitation_id": invitation_id,
                "was_stages": row.funnel_stages,
                "was_channel": row.funnel_channel,
                "to_channel": channel,
                "to_stages": reached,
            },
        )
        if moved.rowcount != 1:
            continue  # counted meanwhile by another transaction: read what it left
        _remember(session, invitation_id, channel, reached)
        new = stages.counts_of(reached)
        if row.funnel_channel is None:
            _add(session, stages.key_of(row, channel), new)
        elif row.funnel_channel == channel:
            old = stages.counts_of(row.funnel_stages)
            difference = {c: new.get(c, 0) - old.get(c, 0) for c in COUNTERS}
            _add(session, stages.key_of(row, channel), difference)
        else:
            old = stages.counts_of(row.funnel_stages)
            _add(session, stages.key_of(row, row.funnel_channel), {c: -v for c, v in old.items()})
            _add(session, stages.key_of(row, channel), new)
        return True
    raise RuntimeError(f"invitation {invitation_id}: its funnel record kept moving")


def hold_before_closing(response_id: int) -> None:
    """Lock a response's invitation before the response is closed (PostgreSQL; SQLite has one writer).

    Completing locks the invitation, then the response; closing counts the funnel on the
    invitation after the response. Taking the invitation first in both keeps a completion
    and a closing racing each other from waiting on each other.
    """
    db.session.execute(
        sa.select(Invitation.id)
        .join(Response, Response.invitation_id == Invitation.id)
        .where(Response.id == response_id)
        .with_for_update(of=Invitation)
    )


def reached(invitation: Invitation, step: str) -> bool:
    """Whether the invitation, as this session knows it, was counted as reaching a step."""
    return bool((invitation.funnel_stages or 0) & stages.BIT[step])


def _remember(session: Session, invitation_id: int, channel: str, reached: int) -> None:
    """Tell a loaded invitation what was stored, so the session does not hold a stale record."""
    identity = sa.inspect(Invitation).identity_key_from_primary_key((invitation_id,))
    loaded = session.identity_map.get(identity)
    if loaded is not None:
        set_committed_value(loaded, "funnel_channel", channel)
        set_committed_value(loaded, "funnel_stages", reached)


def count_intake(
    interaction: Interaction, invitation: Invitation | None, survey_id: int | None = None
) -> None:
    """Count a posted interaction: its invitation, or why it got none. The caller commits.

    Both are new and not flushed yet: they are counted from what the session holds, by
    the same definitions ``track`` reads from the rows (a new invitation reached only
    "invited"), and the invitation is inserted with its funnel record already set, so
    nothing is read back or updated. The counts go in before the inserts; the caller
    flushes them in the same transaction.

    :param survey_id: the survey of the invitation's version (its rollup key).
    """
    counted = intake_counts(interaction, invitation, survey_id)
    if counted is not None:
        _add(db.session(), *counted)


def intake_counts(
    interaction: Interaction, invitation: Invitation | None, survey_id: int | None = None
) -> tuple[dict[str, Any], dict[str, int]] | None:
    """What ``count_intake`` adds (the rollup row's key, the counts), for a caller that writes it.

    Sets the invitation's funnel record as ``count_intake`` does; None: nothing to count.
    """
    session = db.session()
    if any(isinstance(row, Agent) for row in session.new):
        # An agent first named by this post: its id is part of the rollup's key.
        session.flush()
    if interaction.created_at is None:
        interaction.created_at = clock.now()
    if invitation is not None:
        if invitation.created_at is None:
            invitation.created_at = interaction.created_at
        assert survey_id is not None, "an invitation is counted under its survey"
        facts = _new_invitation_facts(interaction, invitation, survey_id)
        channel, reached = stages.channel_of(facts), stages.stages_of(facts)
        invitation.funnel_channel, invitation.funnel_stages = channel, reached
        return stages.key_of(facts, channel), stages.counts_of(reached)
    reason = interaction.suppression_reason
    if reason is None:
        return None
    key = {
        "day": stages.cohort_day(interaction.created_at),
        "survey_channel": "",
        "business_line_id": interaction.business_line_id or 0,
        "team_id": interaction.team_id or 0,
        "agent_id": interaction.agent_id or 0,
        "channel": interaction.channel or "",
        "interaction_type": interaction.type or "",
        "category": interaction.category or "",
        "cause": interaction.complaint_cause or "",
        "survey_id": 0,
    }
    return key, {f"suppressed_{reason}": 1}


def add_counts(session: Session, key: dict[str, Any], counts: dict[str, int]) -> None:
    """Add counts to one rollup row (``intake_counts``'s), creating it if need be."""
    _add(session, key, counts)


def _new_invitation_facts(
    interaction: Interaction, invitation: Invitation, survey_id: int
) -> SimpleNamespace:
    """The row ``stages.facts()`` would read for a new invitation, from the unflushed objects.

    Nothing points at it yet (no delivery, response, reminder); an opt-out counts only
    against a sent invitation, and this one is not sent.
    """
    return SimpleNamespace(
        sent_channel=invitation.channel,
        channels=invitation.channels,
        state=invitation.state,
        suppression_reason=invitation.suppression_reason,
        sent_at=invitation.sent_at,
        opened_at=invitation.opened_at,
        created_at=invitation.created_at,
        response_state=None,
        reached=False,
        opted_out=False,
        reminded=False,
        reminded_before_start=False,
        business_line_id=interaction.business_line_id or 0,
        team_id=interaction.team_id or 0,
        agent_id=interaction.agent_id or 0,
        channel=interaction.channel or "",
        interaction_type=interaction.type or "",
        category=interaction.category or "",
        cause=interaction.complaint_cause or "",
        survey_id=survey_id,
    )


# Built once, on the tables (Core): a first visit binds its values. Statements on the mapped
# classes would go through the ORM's bulk UPDATE and work out their cache key on every run,
# which cost more than running them; a Core statement's key is worked out once.
_OPEN_FAST = (
    sa.update(_INVITATION)
    .where(
        _INVITATION.c.id == sa.bindparam("invitation_id"),
        _INVITATION.c.opened_at.is_(None),
        _INVITATION.c.funnel_stages == sa.bindparam("known"),
        _INVITATION.c.funnel_channel == sa.bindparam("known_channel"),
    )
    .values(
        opened_at=sa.bindparam("now"),
        updated_at=sa.bindparam("now"),
        funnel_stages=sa.bindparam("reached"),
    )
)
_OPEN = (
    sa.update(_INVITATION)
    .where(_INVITATION.c.id == sa.bindparam("invitation_id"), _INVITATION.c.opened_at.is_(None))
    .values(opened_at=sa.bindparam("now"), updated_at=sa.bindparam("now"))
)


def open_link(invitation: Any, now: datetime) -> bool:
    """Note the first GET of a survey link: opened (and so delivered), once; the caller commits.

    ``invitation`` is an Invitation, or a survey page's ``Visit`` of one (the same columns).

    The survey page's fast way, two statements: the guarded UPDATE that sets ``opened_at``
    also moves the funnel record from what the page read, and the rollup row is found by
    its key. When the record was not what the page read, the usual ``track`` counts it.
    Returns False when it had been opened already (nothing counted).
    """
    if open_link_on(db.session.connection(), invitation, now):
        return True
    # Opened meanwhile, or its record moved since the page read it: the slow way.
    opened = db.session.connection().execute(_OPEN, {"invitation_id": invitation.id, "now": now})
    if opened.rowcount != 1:
        return False
    _note(invitation, opened_at=now)
    track(invitation.id)
    return True


def open_link_on(connection: sa.Connection, invitation: Any, now: datetime) -> bool:
    """``open_link``'s fast way alone, on this connection: True when it counted the first visit.

    False, with nothing written, when the link was opened meanwhile, never counted, or its
    record moved since it was read: the caller takes ``open_link``'s usual way.
    """
    bits = stages.BIT["opened"] | stages.BIT["delivered"]
    known, channel = invitation.funnel_stages or 0, invitation.funnel_channel
    if channel is None or invitation.sent_at is None:
        return False
    opening = {
        "invitation_id": invitation.id,
        "known": known,
        "known_channel": channel,
        "now": now,
        "reached": known | bits,
    }
    added = tuple(name for name in ("opened", "delivered") if not known & stages.BIT[name])
    if added and connection.dialect.name == "postgresql":
        # One statement, so one round trip (and, outside a transaction, one of its own).
        statement = _OPENING_IN_ONE.get(added)
        if statement is None:
            statement = _OPENING_IN_ONE[added] = _opening_in_one(added)
        row = connection.execute(
            statement, {**opening, **_rollup_key(invitation, channel)}
        ).one_or_none()
        if row is None or row[0] != 1:
            return False
        _note(invitation, opened_at=now, funnel_stages=known | bits)
        return True
    opened = connection.execute(_OPEN_FAST, opening)
    if opened.rowcount != 1:
        return False
    _note(invitation, opened_at=now, funnel_stages=known | bits)
    if added:
        _add_to_invitations_row(invitation, channel, added, connection)
    return True


def _opening_in_one(added: tuple[str, ...]) -> sa.Select:
    """PostgreSQL: ``_OPEN_FAST`` and the rollup row's UPDATE as one statement of two CTEs.

    The row is counted only when the link was opened by this statement; it answers how
    many links it opened (1, or 0 when ``open_link``'s usual way must count it).
    """
    opened = _OPEN_FAST.returning(_INVITATION.c.id).cte("opened")
    counted = (
        _adding_one(added)
        .where(sa.exists(sa.select(opened.c.id)))
        .returning(_TABLE.c.day)
        .cte("counted")
    )
    return sa.select(sa.select(sa.func.count()).select_from(opened).scalar_subquery()).add_cte(
        counted
    )


_OPENING_IN_ONE: dict[tuple[str, ...], sa.Select] = {}


def _rollup_key(invitation: Any, channel: str) -> dict[str, Any]:
    """The parameters that find the rollup row an invitation is counted in (``_adding_one``)."""
    return {
        "key_interaction_id": invitation.interaction_id,
        "key_day": stages.cohort_day(invitation.created_at),
        "key_channel": channel,
        "version_id": invitation.survey_version_id,
    }


def _note(invitation: Any, **written: Any) -> None:
    """Tell the invitation what was written: a loaded one as committed, a survey page's visit plainly."""
    for name, value in written.items():
        if isinstance(invitation, Invitation):
            set_committed_value(invitation, name, value)
        else:
            setattr(invitation, name, value)


def _adding_one(counters: tuple[str, ...]) -> sa.Update:
    """The UPDATE that adds one to these counters of the rollup row an invitation is counted in."""
    interaction = Interaction.__table__.c
    version = SurveyVersion.__table__.c
    segment = sa.select(*stages.segment_columns(interaction)).where(
        # Not named as a column: in ``_opening_in_one`` it would be read as one to SET.
        interaction.id == sa.bindparam("key_interaction_id")
    )
    survey = sa.select(version.survey_id).where(version.id == sa.bindparam("version_id"))
    return (
        sa.update(_TABLE)
        .where(
            _TABLE.c.day == sa.bindparam("key_day"),
            _TABLE.c.survey_channel == sa.bindparam("key_channel"),
            _TABLE.c.survey_id == survey.scalar_subquery(),
            sa.tuple_(*(_TABLE.c[name] for name in stages.INTERACTION_FIELDS)).in_(segment),
        )
        .values({name: _TABLE.c[name] + 1 for name in counters})
    )


_ADDING_ONE: dict[tuple[str, ...], sa.Update] = {}


def _add_to_invitations_row(
    invitation: Any, channel: str, added: tuple[str, ...], connection: sa.Connection
) -> None:
    """Add one to counters of the rollup row an invitation is counted in, found by its key in one statement."""
    statement = _ADDING_ONE.get(added)
    if statement is None:
        statement = _ADDING_ONE[added] = _adding_one(added)
    connection.execute(statement, _rollup_key(invitation, channel))


_BEGUN = ("started", "opened", "delivered")


def response_begun(invitation: Invitation) -> None:
    """Count an invitation whose response this transaction began: started (so opened, delivered).

    The way ``open_link`` counts a first visit: the guarded UPDATE moves the funnel record
    from what the session read to that plus these steps (an answer changes no other fact),
    and the rollup row is found by its key. When the record was not what the session read,
    or the invitation was never counted, ``track`` reads it all; so does a caller that did
    not begin the response. Call it after the flush, before the commit.
    """
    if not response_begun_on(db.session.connection(), invitation):
        track(invitation)


def response_begun_on(connection: sa.Connection, invitation: Any) -> bool:
    """``response_begun``'s fast way alone, on this connection: True when it counted the start.

    False, with nothing written, when the invitation was never counted, counted as started
    already, or its record moved since it was read: the caller takes the usual way (``track``).
    """
    known, channel = invitation.funnel_stages or 0, invitation.funnel_channel
    if channel is None or invitation.sent_at is None or known & stages.BIT["started"]:
        return False
    bits = sum(stages.BIT[name] for name in _BEGUN)
    moved = connection.execute(
        _MOVE,
        {
            "invitation_id": invitation.id,
            "was_stages": known,
            "was_channel": channel,
            "to_channel": channel,
            "to_stages": known | bits,
        },
    )
    if moved.rowcount != 1:
        return False
    _note(invitation, funnel_stages=known | bits)
    added = tuple(name for name in _BEGUN if not known & stages.BIT[name])
    _add_to_invitations_row(invitation, channel, added, connection)
    return True


def delivery_reported(delivery: Delivery) -> None:
    """Count what a provider's report (a status callback, a call's outcome) moved; the caller commits.

    A two-way SMS is opened when it is delivered: the customer answers in the thread.
    """
    from survey.channels import messages

    invitation = delivery.invitation
    if (
        delivery.state == "delivered"
        and delivery.channel == "sms"
        and delivery.purpose == "invitation"
        and invitation.opened_at is None
        and invitation.channel == "sms"
        and messages.sms_mode(invitation, delivery.address) == "two_way"
    ):
        invitation.opened_at = clock.now()
    track(invitation)


def call_answered(invitation: Invitation) -> None:
    """Count a survey call picked up by a person: opened (and so delivered); the caller commits."""
    if invitation.opened_at is None:
        invitation.opened_at = clock.now()
    track(invitation)


def customer_opted_out(customer_id: int, at: datetime) -> None:
    """Count an opt-out against the customer's invitations whose link was open at the time."""
    ids = db.session.scalars(
        sa.select(Invitation.id).where(
            Invitation.customer_id == customer_id,
            Invitation.sent_at <= at,
            Invitation.expires_at > at,
        )
    ).all()
    for invitation_id in ids:
        track(invitation_id)


def _add(session: Session, key: dict[str, Any], counts: dict[str, int]) -> None:
    """Add counts (negative ones too) to one rollup row, creating it if need be.

    The row's triggers add the same to the coarser tables (survey.models.funnel_grains).
    """
    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    row = {**key, **{name: counts.get(name, 0) for name in COUNTERS}}
    if session.get_bind().dialect.name == "sqlite":
        # Not an UPSERT: SQLite before 3.45.3 may give an UPDATE trigger fired by one wrong
        # OLD values ("rarely", says its release log), and the triggers subtract OLD. The
        # UPDATE takes SQLite's one write lock, so no one inserts the row in between.
        adding = {f"add_{name}": value for name, value in counts.items()}
        keyed = {f"key_{name}": value for name, value in key.items()}
        updated = session.execute(_adding(tuple(sorted(counts))), {**keyed, **adding})
        if updated.rowcount == 0:
            # Built once, bound to the row: a statement built with its values (a new row
            # each day and segment) cost more than its run.
            session.execute(_INSERT_ROW, row)
        return
    session.connection().execute(_upserting(tuple(sorted(counts))), row)


_INSERT_ROW = sa.insert(_TABLE)
_UPSERTING: dict[tuple[str, ...], sa.Insert] = {}


def _upserting(counters: tuple[str, ...]) -> sa.Insert:
    """PostgreSQL's INSERT of one rollup row that adds these counters to the row if it is there; built once each."""
    statement = _UPSERTING.get(counters)
    if statement is None:
        insert = postgresql.insert(_TABLE)
        statement = _UPSERTING[counters] = insert.on_conflict_do_update(
            index_elements=list(SEGMENT_COLUMNS),
            set_={name: _TABLE.c[name] + insert.excluded[name] for name in counters},
        )
    return statement


_ADDING: dict[tuple[str, ...], sa.Update] = {}


def _adding(counters: tuple[str, ...]) -> sa.Update:
    """SQLite's UPDATE of one rollup row by its key, adding to these counters; built once each."""
    statement = _ADDING.get(counters)
    if statement is None:
        statement = _ADDING[counters] = (
            sa.update(_TABLE)
            # Bound names differ from the columns': an UPDATE keeps those for its SET clause.
            .where(*(_TABLE.c[name] == sa.bindparam(f"key_{name}") for name in SEGMENT_COLUMNS))
            .values({name: _TABLE.c[name] + sa.bindparam(f"add_{name}") for name in counters})
        )
    return statement


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
        f") AS facts ({key}, bits) GROUP BY {key}"
    )


def _summed_into(table: sa.Table, grain: str) -> sa.TextClause:
    """The INSERT that sums the finest rows into a coarser table, as its trigger adds them."""
    fields = ", ".join(funnel_grains.FIELDS)
    period = funnel_grains.period_of("postgresql", grain, "funnel_rollup")
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    return sa.text(
        f"INSERT INTO {table.name} ({grain}, {fields}, {', '.join(COUNTERS)}) "
        f"SELECT {period}, {fields}, {sums} FROM funnel_rollup GROUP BY {period}, {fields}"
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


__all__ = [
    "hold_before_closing",
    "call_answered",
    "count_intake",
    "customer_opted_out",
    "delivery_reported",
    "open_link",
    "rebuild",
    "rebuild_from_records",
    "reached",
    "response_begun",
    "track",
]
