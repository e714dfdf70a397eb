"""Writing a decided interaction, its invitation and its funnel count as plain statements.

Intake builds the interaction and its invitation as ORM objects, since the decision
reads them, but most posts need none of what the unit of work gives: the rows are new,
nothing else points at them, and nothing is read back. The ORM's flush of the two
(dependency sort, attribute history, one INSERT each) cost about a quarter of a post's
CPU, inside the write transaction, which on SQLite holds the database's one write lock.
Here each is one Core ``INSERT … RETURNING id`` built once and bound to the objects'
values, and the objects, never added to the session, are only told their ids. On
PostgreSQL the two inserts and the rollup's upsert are one statement: one round trip.

Posts that join a complaint case or name an agent we do not know yet stay on the ORM
path (``direct`` says which): those rows are linked to others that the session tracks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from survey import prepared
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Interaction, Invitation
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS, FunnelRollup

if TYPE_CHECKING:
    from survey.dispatch.intake import InteractionInput

_INTERACTION = Interaction.__table__
_INVITATION = Invitation.__table__
_ROLLUP = FunnelRollup.__table__
_ROLLUP_COLUMNS = (*SEGMENT_COLUMNS, *COUNTERS)

# Every column a new row sets, bound by name: one statement shape, compiled once.
_INTERACTION_COLUMNS = (
    "external_id",
    "occurred_at",
    "channel",
    "type",
    "business_line_id",
    "team_id",
    "agent_id",
    "category",
    "wait_seconds",
    "customer_id",
    "complaint_opened_at",
    "complaint_first_reply_at",
    "complaint_resolved_at",
    "complaint_resolved_first_contact",
    "complaint_cause",
    "payload_digest",
    "suppression_reason",
    "created_at",
)
_INVITATION_COLUMNS = (
    "interaction_id",
    "customer_id",
    "survey_version_id",
    "rule_id",
    "channels",
    "sms_mode",
    "sms_misses",
    "locale",
    "token",
    "unsubscribe_token",
    "state",
    "scheduled_at",
    "expires_at",
    "created_at",
    "updated_at",
    "funnel_channel",
    "funnel_stages",
)


def _values(table: sa.Table, columns: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
    """Each column bound to a parameter of its name (with a prefix, for one statement of two)."""
    return {name: sa.bindparam(prefix + name, type_=table.c[name].type) for name in columns}


# SQLite: one statement a row, and the rollup's guarded UPDATE (survey.funnel.keeping).
_INSERT_INTERACTION = (
    sa.insert(_INTERACTION)
    .values(_values(_INTERACTION, _INTERACTION_COLUMNS))
    .returning(_INTERACTION.c.id)
)
_INSERT_INVITATION = (
    sa.insert(_INVITATION)
    .values(_values(_INVITATION, _INVITATION_COLUMNS))
    .returning(_INVITATION.c.id)
)


def _written_together(invites: bool, counters: tuple[str, ...]) -> sa.Select:
    """PostgreSQL: the interaction, its invitation and the rollup row in one statement.

    One round trip instead of three: data-modifying CTEs, the invitation pointing at the
    interaction's new id, the rollup's upsert (its counters added) run to completion
    whether read or not. Built once for each shape (with or without an invitation, which
    counter).
    """
    interaction = (
        sa.insert(_INTERACTION)
        .values(_values(_INTERACTION, _INTERACTION_COLUMNS, "interaction_"))
        .returning(_INTERACTION.c.id)
        .cte("new_interaction")
    )
    ids: list[Any] = [interaction.c.id]
    if invites:
        values = _values(_INVITATION, _INVITATION_COLUMNS, "invitation_")
        values["interaction_id"] = sa.select(interaction.c.id).scalar_subquery()
        invitation = (
            sa.insert(_INVITATION).values(values).returning(_INVITATION.c.id).cte("new_invitation")
        )
        ids.append(sa.select(invitation.c.id).scalar_subquery())
    rollup = postgresql.insert(_ROLLUP).values(_values(_ROLLUP, _ROLLUP_COLUMNS, "rollup_"))
    rollup = rollup.on_conflict_do_update(
        index_elements=list(SEGMENT_COLUMNS),
        set_={name: _ROLLUP.c[name] + rollup.excluded[name] for name in counters},
    )
    return sa.select(*ids).add_cte(rollup.cte("added"))


_WRITTEN_TOGETHER: dict[tuple[bool, tuple[str, ...]], sa.Select] = {}


def direct(data: InteractionInput) -> bool:
    """Whether a post's rows can be written as plain INSERTs (no case to join, no new agent)."""
    has_case = data.complaint is not None and data.complaint.case_id is not None
    new_agent = data.agent_id is None and bool(data.new_agent_code) and data.team_id is not None
    return not has_case and not new_agent


def insert(
    interaction: Interaction,
    invitation: Invitation | None,
    counted: tuple[dict[str, Any], dict[str, int]] | None,
) -> None:
    """Write the new interaction (and invitation) kept out of the session, and their counts.

    The objects are given their ids. The session is flushed first: a new customer record
    or address of the post is written there, so the interaction can point at it.

    :param counted: the funnel rollup's key and counts (``keeping.intake_counts``).
    """
    session = db.session()
    session.flush()
    connection = session.connection()
    interaction.customer_id = interaction.customer.id
    if invitation is not None:
        invitation.customer_id = interaction.customer_id
        invitation.updated_at = invitation.created_at
        invitation.sms_misses = 0  # the column's default, applied by a flush (none here)
    if counted is not None and connection.dialect.name == "postgresql":
        _insert_together(connection, interaction, invitation, counted)
        return
    if counted is not None:
        funnel.add_counts(session, *counted)
    values = {name: getattr(interaction, name) for name in _INTERACTION_COLUMNS}
    [(interaction.id,)] = prepared.run_on(connection, _INSERT_INTERACTION, values).rows
    if invitation is None:
        return
    invitation.interaction_id = interaction.id
    values = {name: getattr(invitation, name) for name in _INVITATION_COLUMNS}
    [(invitation.id,)] = prepared.run_on(connection, _INSERT_INVITATION, values).rows


def _insert_together(
    connection: sa.Connection,
    interaction: Interaction,
    invitation: Invitation | None,
    counted: tuple[dict[str, Any], dict[str, int]],
) -> None:
    key, counts = counted
    counters = tuple(sorted(name for name, value in counts.items() if value))
    shape = (invitation is not None, counters)
    statement = _WRITTEN_TOGETHER.get(shape)
    if statement is None:
        statement = _WRITTEN_TOGETHER[shape] = _written_together(*shape)
    params = {f"interaction_{n}": getattr(interaction, n) for n in _INTERACTION_COLUMNS}
    if invitation is not None:
        params.update(
            (f"invitation_{n}", getattr(invitation, n))
            for n in _INVITATION_COLUMNS
            if n != "interaction_id"
        )
    params.update((f"rollup_{n}", value) for n, value in key.items())
    params.update((f"rollup_{n}", counts.get(n, 0)) for n in COUNTERS)
    [ids] = prepared.run_on(connection, statement, params).rows
    interaction.id = ids[0]
    if invitation is not None:
        invitation.interaction_id = interaction.id
        invitation.id = ids[1]
