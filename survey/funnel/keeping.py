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

import logging
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from survey import clock, prepared
from survey.extensions import db
from survey.funnel import stages
from survey.models import (
    Agent,
    Delivery,
    Interaction,
    Invitation,
    Response,
    SurveyVersion,
)
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS, FunnelRollup

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
# Not opened yet, or opened later than this visit (a later visit's batch written first,
# ``survey.respond.opens``): a link's ``opened_at`` is its earliest visit.
_OPEN = (
    sa.update(_INVITATION)
    .where(
        _INVITATION.c.id == sa.bindparam("invitation_id"),
        sa.or_(
            _INVITATION.c.opened_at.is_(None),
            _INVITATION.c.opened_at > sa.bindparam("now"),
        ),
    )
    .values(opened_at=sa.bindparam("now"), updated_at=sa.bindparam("now"))
)


def open_link(invitation: Any, now: datetime) -> bool:
    """Note the first GET of a survey link: opened (and so delivered), once; the caller commits.

    ``invitation`` is an Invitation, or a survey page's ``Visit`` of one (the same columns).

    The survey page's fast way, two statements: the guarded UPDATE that sets ``opened_at``
    also moves the funnel record from what the page read, and the rollup row is found by
    its key. When the record was not what the page read, the usual ``track`` counts it.
    Returns False when nothing was counted: opened already, at this time or earlier (an
    earlier ``now`` than the stored one, as a batch of visits may bring, is stored and
    counts nothing new), or an answer counted it.
    """
    if open_link_on(db.session.connection(), invitation, now):
        return True
    # Opened meanwhile, or its record moved since the page read it: the slow way.
    opened = db.session.connection().execute(_OPEN, {"invitation_id": invitation.id, "now": now})
    if opened.rowcount != 1:
        return False
    _note(invitation, opened_at=now)
    return track(invitation.id)


def open_link_on(connection: sa.Connection, invitation: Any, now: datetime) -> bool:
    """``open_link``'s fast way alone, on this connection: True when it counted the first visit.

    False, with nothing written, when the link was opened meanwhile, never counted, or its
    record moved since it was read: the caller takes ``open_link``'s usual way.
    """
    opening = _opening(invitation, now)
    if opening is None:
        return False
    known, channel = opening["known"], opening["known_channel"]
    added = _opening_adds(known)
    if added and connection.dialect.name == "postgresql":
        # One statement, so one round trip (and, outside a transaction, one of its own).
        statement = _OPENING_IN_ONE.get(added)
        if statement is None:
            statement = _OPENING_IN_ONE[added] = _opening_in_one(added)
        row = connection.execute(
            statement, {**opening, **rollup_key(invitation, channel)}
        ).one_or_none()
        if row is None or row[0] != 1:
            return False
        _note(invitation, opened_at=now, funnel_stages=opening["reached"])
        return True
    added_now = mark_opened_on(connection, invitation, now)
    if added_now is None:
        return False
    if added_now:
        add_to_invitations_row(invitation, channel, added_now, connection)
    return True


def mark_opened_on(
    connection: sa.Connection, invitation: Any, now: datetime
) -> tuple[str, ...] | None:
    """``open_link_on``'s guarded UPDATE alone: the counters its rollup row must add, or None.

    None, with nothing written, when the link was opened meanwhile, never counted, or its
    record moved since it was read. The caller adds the counters (``add_to_invitations_row``)
    in the same transaction: a batch of visits moves every link first, then their rows.
    """
    opening = _opening(invitation, now)
    if opening is None:
        return None
    if connection.execute(_OPEN_FAST, opening).rowcount != 1:
        return None
    _note(invitation, opened_at=now, funnel_stages=opening["reached"])
    return _opening_adds(opening["known"])


_OPENING_BITS = stages.BIT["opened"] | stages.BIT["delivered"]


def _opening_adds(known: int) -> tuple[str, ...]:
    """The counters a first visit adds to a link counted as ``known``."""
    return tuple(name for name in ("opened", "delivered") if not known & stages.BIT[name])


def _opening(invitation: Any, now: datetime) -> dict[str, Any] | None:
    """The guarded move's parameters (``_OPEN_FAST``) for a first visit, or None when the
    link was never counted in the funnel (no channel) or never sent."""
    known, channel = invitation.funnel_stages or 0, invitation.funnel_channel
    if channel is None or invitation.sent_at is None:
        return None
    return {
        "invitation_id": invitation.id,
        "known": known,
        "known_channel": channel,
        "now": now,
        "reached": known | _OPENING_BITS,
    }


def _opening_in_one(added: tuple[str, ...]) -> sa.Select:
    """PostgreSQL: ``_OPEN_FAST`` and the rollup row's UPDATE as one statement of two CTEs.

    The row is counted only when the link was opened by this statement; it answers how
    many links it opened (1, or 0 when ``open_link``'s usual way must count it).
    """
    opened = _OPEN_FAST.returning(_INVITATION.c.id).cte("opened")
    counted = (
        adding_one(added)
        .where(sa.exists(sa.select(opened.c.id)))
        .returning(_TABLE.c.day)
        .cte("counted")
    )
    return sa.select(sa.select(sa.func.count()).select_from(opened).scalar_subquery()).add_cte(
        counted
    )


_OPENING_IN_ONE: dict[tuple[str, ...], sa.Select] = {}


def open_links_on(connection: Any, visits: list[Any]) -> set[int]:
    """PostgreSQL: ``open_link_on`` for many first visits in one statement; the links it counted.

    Every link is moved by the same guarded UPDATE (not opened, its funnel record what was
    read), and each rollup row those moves reach gets their summed counts once, so a batch
    of visits is one statement, one transaction, and a row's triggers fire once a batch,
    not once a link. A link not in the answer was refused, with nothing written for it:
    the caller takes ``open_link``'s usual way for it.
    """
    columns: dict[str, list[Any]] = {name: [] for name in _BATCH_ARRAYS}
    for visit in visits:
        opening = _opening(visit, visit.opened_at)
        if opening is None:
            continue
        known, channel = opening["known"], opening["known_channel"]
        added = _opening_adds(known)
        key = rollup_key(visit, channel)
        for name, value in (
            ("ids", visit.id),
            ("known", known),
            ("channels", channel),
            ("nows", visit.opened_at),
            ("reached", opening["reached"]),
            ("days", key["key_day"]),
            ("interactions", visit.interaction_id),
            ("versions", visit.survey_version_id),
            ("add_opened", int("opened" in added)),
            ("add_delivered", int("delivered" in added)),
        ):
            columns[name].append(value)
    if not columns["ids"]:
        return set()
    row = connection.execute(_opening_batch(), columns).one_or_none()
    opened = set(row[0] or ()) if row is not None else set()
    for visit in visits:
        if visit.id in opened:
            _note(
                visit, opened_at=visit.opened_at, funnel_stages=visit.funnel_stages | _OPENING_BITS
            )
    return opened


_BATCH_ARRAYS = {
    "ids": sa.Integer,
    "known": sa.Integer,
    "channels": sa.String,
    "nows": sa.DateTime(timezone=True),
    "reached": sa.Integer,
    "days": sa.Date,
    "interactions": sa.Integer,
    "versions": sa.Integer,
    "add_opened": sa.Integer,
    "add_delivered": sa.Integer,
}
_OPENING_BATCH: list[sa.Select] = []


def _opening_batch() -> sa.Select:
    """``open_links_on``'s statement: the guarded moves, then each reached rollup row once."""
    if _OPENING_BATCH:
        return _OPENING_BATCH[0]
    arrays = [
        sa.cast(sa.bindparam(name), postgresql.ARRAY(kind)) for name, kind in _BATCH_ARRAYS.items()
    ]
    visits = (
        sa.func.unnest(*arrays)
        .table_valued(
            "id",
            "known",
            "channel",
            "now",
            "reached",
            "day",
            "interaction_id",
            "version_id",
            "add_opened",
            "add_delivered",
        )
        .render_derived(name="visit")
    )
    invitation = _INVITATION.c
    moved = (
        sa.update(_INVITATION)
        .where(
            invitation.id == visits.c.id,
            invitation.opened_at.is_(None),
            invitation.funnel_stages == visits.c.known,
            invitation.funnel_channel == visits.c.channel,
        )
        .values(opened_at=visits.c.now, updated_at=visits.c.now, funnel_stages=visits.c.reached)
        .returning(
            invitation.id,
            visits.c.day,
            visits.c.channel,
            visits.c.interaction_id,
            visits.c.version_id,
            visits.c.add_opened,
            visits.c.add_delivered,
        )
        .cte("moved")
    )
    interaction = Interaction.__table__.c
    version = SurveyVersion.__table__.c
    segment = stages.segment_columns(interaction)
    sums = (
        sa.select(
            moved.c.day,
            moved.c.channel.label("survey_channel"),
            version.survey_id,
            *segment,
            sa.func.sum(moved.c.add_opened).label("opened"),
            sa.func.sum(moved.c.add_delivered).label("delivered"),
        )
        .select_from(moved)
        .join(Interaction.__table__, interaction.id == moved.c.interaction_id)
        .join(SurveyVersion.__table__, version.id == moved.c.version_id)
        .group_by(moved.c.day, moved.c.channel, version.survey_id, *segment)
        .having(sa.func.sum(moved.c.add_opened + moved.c.add_delivered) > 0)
        .cte("sums")
    )
    counted = (
        sa.update(_TABLE)
        .where(
            _TABLE.c.day == sums.c.day,
            _TABLE.c.survey_channel == sums.c.survey_channel,
            _TABLE.c.survey_id == sums.c.survey_id,
            *(_TABLE.c[name] == sums.c[name] for name in stages.INTERACTION_FIELDS),
        )
        .values(
            opened=_TABLE.c.opened + sums.c.opened, delivered=_TABLE.c.delivered + sums.c.delivered
        )
        .returning(_TABLE.c.id)
        .cte("counted")
    )
    statement = sa.select(
        sa.select(sa.func.array_agg(moved.c.id)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(counted).scalar_subquery(),
    )
    _OPENING_BATCH.append(statement)
    return statement


def rollup_key(invitation: Any, channel: str) -> dict[str, Any]:
    """The parameters that find the rollup row an invitation is counted in (``adding_one``)."""
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


def adding_one(counters: tuple[str, ...]) -> sa.Update:
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


def add_to_invitations_row(
    invitation: Any, channel: str, added: tuple[str, ...], connection: sa.Connection
) -> None:
    """Add one to counters of the rollup row an invitation is counted in, found by its key in one statement."""
    statement = _ADDING_ONE.get(added)
    if statement is None:
        statement = _ADDING_ONE[added] = adding_one(added)
    connection.execute(statement, rollup_key(invitation, channel))


BEGUN = ("started", "opened", "delivered")
BEGUN_BITS = sum(stages.BIT[name] for name in BEGUN)


def start_to_count(invitation: Any) -> tuple[int, str] | None:
    """The funnel stages and channel a guarded move counts the response's start from.

    None when the fast way cannot count it: the invitation was never counted, never sent,
    or was counted as started already.
    """
    known, channel = invitation.funnel_stages or 0, invitation.funnel_channel
    if channel is None or invitation.sent_at is None or known & stages.BIT["started"]:
        return None
    return known, channel


def newly_begun(known: int) -> tuple[str, ...]:
    """The steps a response's start adds to an invitation already counted as ``known``."""
    return tuple(name for name in BEGUN if not known & stages.BIT[name])


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
    start = start_to_count(invitation)
    if start is None:
        return False
    known, channel = start
    moved = connection.execute(
        _MOVE,
        {
            "invitation_id": invitation.id,
            "was_stages": known,
            "was_channel": channel,
            "to_channel": channel,
            "to_stages": known | BEGUN_BITS,
        },
    )
    if moved.rowcount != 1:
        return False
    _note(invitation, funnel_stages=known | BEGUN_BITS)
    add_to_invitations_row(invitation, channel, newly_begun(known), connection)
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
        connection = session.connection()
        updated = prepared.run_on(connection, _adding(tuple(sorted(counts))), {**keyed, **adding})
        if updated.rowcount == 0:
            # Built once, bound to the row: a statement built with its values (a new row
            # each day and segment) cost more than its run.
            prepared.run_on(connection, _INSERT_ROW, row, keys=tuple(row))
        return
    prepared.run_on(session.connection(), _upserting(tuple(sorted(counts))), row, keys=tuple(row))


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


__all__ = [
    "hold_before_closing",
    "call_answered",
    "count_intake",
    "customer_opted_out",
    "delivery_reported",
    "open_link",
    "reached",
    "response_begun",
    "track",
]
